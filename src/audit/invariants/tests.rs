use std::time::Duration;

use super::*;
use crate::audit::store::hold_facts::{CandidateRow, HoldFactRow};
use crate::audit::store::open_holds::OpenHoldRow;
use crate::audit::store::subject_decisions::SubjectDecisionRow;
use crate::audit::{ChainState, CommitAccepted, Decided, HoldResolved, StoredEvent, tests_support};
use crate::domain::gate::Resolution;

/// Stores `events` as one chain, ids from 1.
fn stored(events: Vec<NewEvent>) -> Vec<StoredEvent> {
    let mut chain = ChainState::new();
    events
        .into_iter()
        .enumerate()
        .map(|(i, event)| {
            let (seq, hash) = chain.push(&event);
            StoredEvent {
                id: i as i64 + 1,
                writer_id: chain.writer_id().to_owned(),
                seq,
                hash,
                event,
                legacy: None,
            }
        })
        .collect()
}

fn decision(request: &str, verification: &str) -> NewEvent {
    NewEvent::Decided(Decided {
        request_id: request.into(),
        verification_id: verification.into(),
        ..tests_support::decided()
    })
}

fn commit(subject: &str, number: u8, verification: &str) -> NewEvent {
    let d = tests_support::decided();
    NewEvent::CommitAccepted(CommitAccepted {
        occurred_at: d.occurred_at + Duration::from_secs(1),
        caller: d.caller,
        insurer_number: d.insurer_number,
        subject_id: subject.into(),
        verification_id: verification.into(),
        commit_id: format!("c-{verification}"),
        number_fingerprint: tests_support::fingerprint(number),
        request_fingerprint: None,
    })
}

fn resolution(verification: &str) -> NewEvent {
    let d = tests_support::decided();
    NewEvent::HoldResolved(HoldResolved {
        occurred_at: d.occurred_at + Duration::from_secs(2),
        caller: "desk".into(),
        insurer_number: d.insurer_number,
        subject_id: d.subject_id,
        verification_id: verification.into(),
        resolution: Resolution::Withdrawn,
        operator_id: "op".into(),
        note: String::new(),
        replaced_by_verification_id: String::new(),
        cause: None,
    })
}

/// The rows the service claims for `events`, and their lookup columns.
fn rows_of(events: &[StoredEvent]) -> GateTables {
    let mut tables = GateTables::default();
    for e in events {
        match &e.event {
            NewEvent::Decided(d) => {
                tables.requests.push(RequestRow {
                    insurer_number: d.insurer_number.clone(),
                    request_id: d.request_id.clone(),
                    verification_id: d.verification_id.clone(),
                });
                tables.lookups.push(LookupRow {
                    id: e.id,
                    event_type: "verification.decided".into(),
                    insurer_number: d.insurer_number.clone(),
                    request_id: Some(d.request_id.clone()),
                    subject_id: None,
                    number_fp_key_id: None,
                    number_fp: None,
                });
            }
            NewEvent::CommitAccepted(c) => {
                tables.registrations.push(Registration {
                    insurer_number: c.insurer_number.clone(),
                    number_fingerprint: c.number_fingerprint.clone(),
                    subject_id: c.subject_id.clone(),
                    verification_id: c.verification_id.clone(),
                    committed_at: c.occurred_at,
                });
                tables.lookups.push(LookupRow {
                    id: e.id,
                    event_type: "commit.accepted".into(),
                    insurer_number: c.insurer_number.clone(),
                    request_id: None,
                    subject_id: Some(c.subject_id.clone()),
                    number_fp_key_id: Some(c.number_fingerprint.key_id.clone()),
                    number_fp: Some(c.number_fingerprint.mac_hex.clone()),
                });
            }
            NewEvent::HoldResolved(r) => {
                tables.resolutions.push(ResolutionRow {
                    insurer_number: r.insurer_number.clone(),
                    verification_id: r.verification_id.clone(),
                    resolved_at_us: micros_since_epoch(r.occurred_at),
                });
                tables.open_holds.retain(|h| {
                    (&h.insurer_number, &h.verification_id)
                        != (&r.insurer_number, &r.verification_id)
                });
            }
            NewEvent::HoldAssigned(a) => {
                for h in &mut tables.open_holds {
                    if (&h.insurer_number, &h.verification_id)
                        == (&a.insurer_number, &a.verification_id)
                    {
                        h.assignee = a.assignee.clone();
                    }
                }
            }
            _ => {}
        }
        if let NewEvent::Decided(d) = &e.event {
            tables.open_holds.extend(OpenHoldRow::of(e.id, d));
            tables.hold_facts.extend(HoldFactRow::of(e.id, d));
        }
        if let NewEvent::HoldResolved(r) = &e.event {
            let back = events
                .iter()
                .filter_map(|e| e.event.as_decided())
                .find(|d| {
                    (&d.insurer_number, &d.verification_id)
                        == (&r.insurer_number, &r.replaced_by_verification_id)
                })
                .and_then(|d| d.number_fingerprint.clone())
                .filter(|_| r.resolution == Resolution::Requeried);
            for h in tables.hold_facts.iter_mut().filter(|h| {
                (&h.insurer_number, &h.verification_id) == (&r.insurer_number, &r.verification_id)
                    && h.resolution.is_none()
            }) {
                h.resolve(r, back.clone());
            }
        }
        tables
            .subject_decisions
            .extend(SubjectDecisionRow::of(e.id, &e.event));
    }
    // The candidates are rows of their own table.
    for h in &mut tables.hold_facts {
        for (key_id, mac) in std::mem::take(&mut h.candidates) {
            tables.hold_candidates.push(CandidateRow {
                hold_id: h.hold_id,
                key_id,
                mac,
            });
        }
    }
    tables.hold_facts.sort_by(|a, b| {
        (&a.insurer_number, &a.verification_id, a.hold_id).cmp(&(
            &b.insurer_number,
            &b.verification_id,
            b.hold_id,
        ))
    });
    tables
}

fn check(events: &[StoredEvent], tables: GateTables) -> Vec<Finding> {
    let mut facts = Facts::default();
    events.iter().for_each(|e| facts.observe(e));
    facts.check(tables).findings
}

fn a_log() -> Vec<StoredEvent> {
    stored(vec![
        decision("r-1", "v-1"),
        commit("s-1", 1, "v-1"),
        decision("r-2", "v-2"),
        resolution("v-2"),
        decision("r-3", "v-3"),
        commit("s-3", 3, "v-3"),
    ])
}

#[test]
fn tables_the_service_wrote_are_intact() {
    let log = a_log();
    let report = {
        let mut facts = Facts::default();
        log.iter().for_each(|e| facts.observe(e));
        facts.check(rows_of(&log))
    };
    assert!(report.is_intact(), "{:?}", report.findings);
    assert_eq!(report.facts, [3, 2, 1]);
    assert_eq!(report.rows, [3, 2, 1, 5]);
}

#[test]
fn a_deleted_row_of_each_table_is_a_missing_row_naming_its_event() {
    let log = a_log();
    let mut tables = rows_of(&log);
    tables.requests.remove(1);
    tables.registrations.remove(0);
    tables.resolutions.clear();
    assert_eq!(
        check(&log, tables),
        vec![
            Finding::MissingRow {
                table: GateTable::VerificationRequests,
                event_id: 3
            },
            Finding::MissingRow {
                table: GateTable::Registrations,
                event_id: 2
            },
            Finding::MissingRow {
                table: GateTable::HoldResolutions,
                event_id: 4
            },
        ]
    );
}

#[test]
fn a_second_commit_of_one_number_after_its_row_was_deleted_is_recorded_twice() {
    // s-1's row was deleted, then the number was committed again for s-9: the table holds
    // the second commit's row only.
    let mut events: Vec<NewEvent> = a_log().into_iter().map(|e| e.event).collect();
    events.push(commit("s-9", 1, "v-9"));
    let log = stored(events);
    let mut tables = rows_of(&log);
    tables.registrations.remove(0);
    assert_eq!(
        check(&log, tables),
        vec![
            Finding::MissingRow {
                table: GateTable::Registrations,
                event_id: 2
            },
            Finding::RecordedTwice {
                table: GateTable::Registrations,
                what: Twice::Number,
                first: 2,
                again: 7
            },
        ]
    );
}

#[test]
fn a_reused_request_id_and_a_second_resolution_are_recorded_twice() {
    let mut events: Vec<NewEvent> = a_log().into_iter().map(|e| e.event).collect();
    events.push(decision("r-2", "v-8"));
    events.push(resolution("v-2"));
    events.push(commit("s-1", 7, "v-7"));
    let log = stored(events);
    let mut tables = rows_of(&log);
    // The service could only have written them after the first rows were deleted.
    tables.requests.remove(1);
    tables.resolutions.remove(0);
    tables.registrations.remove(0);
    let findings = check(&log, tables);
    for expected in [
        Finding::RecordedTwice {
            table: GateTable::VerificationRequests,
            what: Twice::Request,
            first: 3,
            again: 7,
        },
        Finding::RecordedTwice {
            table: GateTable::HoldResolutions,
            what: Twice::Resolution,
            first: 4,
            again: 8,
        },
        Finding::RecordedTwice {
            table: GateTable::Registrations,
            what: Twice::Subject,
            first: 2,
            again: 9,
        },
    ] {
        assert!(findings.contains(&expected), "{expected:?} in {findings:?}");
    }
}

#[test]
fn a_forged_row_is_unsupported_and_an_edited_row_disagrees() {
    let log = a_log();
    let mut tables = rows_of(&log);
    tables.requests.push(RequestRow {
        insurer_number: "12345678".into(),
        request_id: "r-forged".into(),
        verification_id: "v-1".into(),
    });
    tables.registrations[1].subject_id = "someone-else".into();
    tables.resolutions[0].resolved_at_us += 1;
    assert_eq!(
        check(&log, tables),
        vec![
            Finding::RowDisagrees {
                table: GateTable::Registrations,
                row: 2,
                event_id: 6
            },
            Finding::RowDisagrees {
                table: GateTable::HoldResolutions,
                row: 1,
                event_id: 4
            },
            Finding::UnsupportedRow {
                table: GateTable::VerificationRequests,
                row: 4
            },
        ]
    );
}

#[test]
fn lookup_columns_that_are_not_the_events_content_are_found_and_absent_ones_are_not() {
    let log = a_log();
    let mut tables = rows_of(&log);
    // Event 1's columns were never written (a format 2 event from before they existed).
    tables.lookups.remove(0);
    // Event 2's number column was pointed at another number, event 3's at another request.
    tables.lookups[0].number_fp = Some(hex::encode([9u8; 32]));
    tables.lookups[1].request_id = Some("r-1".into());
    assert_eq!(
        check(&log, tables),
        vec![
            Finding::RowDisagrees {
                table: GateTable::LookupColumns,
                row: 1,
                event_id: 2
            },
            Finding::RowDisagrees {
                table: GateTable::LookupColumns,
                row: 2,
                event_id: 3
            },
        ]
    );
}

#[test]
fn findings_name_tables_kinds_and_ids_but_never_a_value() {
    let mut events: Vec<NewEvent> = a_log().into_iter().map(|e| e.event).collect();
    events.push(commit("s-9", 1, "v-9"));
    let log = stored(events);
    let mut tables = rows_of(&log);
    tables.registrations.remove(0);
    tables.requests[0].verification_id = "v-x".into();
    tables.lookups[1].subject_id = Some("s-x".into());
    let printed: Vec<String> = check(&log, tables)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        printed.contains(&"registrations: MISSING ROW: commit event id 2 has no row".to_owned()),
        "{printed:?}"
    );
    assert!(
        printed.contains(
            &"registrations: RECORDED TWICE: commit event ids 2 and 7 both commit one number of \
          one insurer"
                .to_owned()
        )
    );
    assert!(
        printed.contains(
            &"verification_requests: ROW DISAGREES: row 1 (ORDER BY insurer_number, request_id) \
          is not what decision event id 1 records under its key"
                .to_owned()
        )
    );
    let fingerprint = tests_support::fingerprint(1).mac_hex;
    for line in &printed {
        for value in [
            "s-1",
            "s-9",
            "s-x",
            "r-1",
            "v-x",
            "12345678",
            fingerprint.as_str(),
        ] {
            assert!(!line.contains(value), "{line} shows {value}");
        }
    }
}

fn hold(request: &str, verification: &str) -> NewEvent {
    NewEvent::Decided(Decided {
        request_id: request.into(),
        verification_id: verification.into(),
        decision: crate::domain::gate::DecisionKind::Hold,
        hold_reasons: vec![crate::domain::gate::HoldReason::FieldDiffers],
        number_fingerprint: None,
        ..tests_support::decided()
    })
}

fn assigned(verification: &str, who: &str) -> NewEvent {
    let d = tests_support::decided();
    NewEvent::HoldAssigned(crate::audit::HoldAssigned {
        occurred_at: d.occurred_at + Duration::from_secs(2),
        caller: "clerk".into(),
        insurer_number: d.insurer_number,
        subject_id: d.subject_id,
        verification_id: verification.into(),
        assignee: who.into(),
    })
}

#[test]
fn the_open_holds_table_is_rebuilt_from_holds_assignments_and_resolutions() {
    let log = stored(vec![
        hold("r-1", "v-1"),
        hold("r-2", "v-2"),
        assigned("v-2", "sato"),
        assigned("v-2", "ito"),
        hold("r-3", "v-3"),
        resolution("v-3"),
    ]);
    let tables = rows_of(&log);
    assert_eq!(tables.open_holds.len(), 2);
    assert_eq!(tables.open_holds[1].assignee, "ito");
    assert_eq!(check(&log, rows_of(&log)), vec![]);

    // A deleted row, an edited assignee, a row for the resolved hold.
    let mut tables = rows_of(&log);
    tables.open_holds.remove(0);
    tables.open_holds[0].assignee = "sato".into();
    let mut resolved = tables.open_holds[0].clone();
    resolved.verification_id = "v-3".into();
    resolved.hold_id = 5;
    tables.open_holds.push(resolved);
    assert_eq!(
        check(&log, tables),
        vec![
            Finding::MissingRow {
                table: GateTable::OpenHolds,
                event_id: 1
            },
            Finding::RowDisagrees {
                table: GateTable::OpenHolds,
                row: 1,
                event_id: 2
            },
            Finding::UnsupportedRow {
                table: GateTable::OpenHolds,
                row: 2
            },
        ]
    );
    // The risk class and the deadline are part of the row.
    let mut tables = rows_of(&log);
    tables.open_holds[0].risk_rank += 1;
    tables.open_holds[1].register_by_us = None;
    assert_eq!(check(&log, tables).len(), 2);
}

#[test]
fn the_subject_decisions_table_is_rebuilt_from_every_decision() {
    let log = stored(vec![
        hold("r-1", "v-1"),
        hold("r-2", "v-2"),
        resolution("v-2"),
        hold("r-3", "v-3"),
    ]);
    let tables = rows_of(&log);
    assert_eq!(tables.subject_decisions.len(), 3);
    assert_eq!(check(&log, rows_of(&log)), vec![]);

    // A deleted row, a row moved to another subject, a row no decision supports.
    let mut tables = rows_of(&log);
    tables.subject_decisions.remove(0);
    tables.subject_decisions[0].subject_id = "someone else".into();
    let mut forged = tables.subject_decisions[0].clone();
    forged.verification_id = "v-9".into();
    forged.decision_id = 9;
    tables.subject_decisions.push(forged);
    assert_eq!(
        check(&log, tables),
        vec![
            Finding::MissingRow {
                table: GateTable::SubjectDecisions,
                event_id: 1
            },
            Finding::RowDisagrees {
                table: GateTable::SubjectDecisions,
                row: 1,
                event_id: 2
            },
            Finding::UnsupportedRow {
                table: GateTable::SubjectDecisions,
                row: 3
            },
        ]
    );
}
