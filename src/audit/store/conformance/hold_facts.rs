//! The hold facts tables (migrations 0011): what HoldStats groups, written with the events,
//! and held against the chain by `audit verify`.

use super::*;
use crate::audit::{
    Fingerprint,
    invariants::{Finding, GateTable},
    store::hold_groups::HoldGroup,
};
use crate::domain::hold_cause::HoldCause;

const NUMBER_A: &str = "123456789018";
const NUMBER_B: &str = "983205673214";

fn fingerprint(number: &str) -> Fingerprint {
    FingerprintKey::from_secret(vec![0x42; 32])
        .fingerprint_number(&IndividualNumber::parse(number).expect("a synthetic valid number"))
}

/// A hold of subject `s-{n}` whose one candidate had `candidate`.
fn hold_with(n: u32, candidate: Fingerprint) -> NewEvent {
    let d = decided(INSURER, &format!("r-{n}"), &format!("v-{n}"));
    held(Decided {
        subject_id: format!("s-{n}"),
        candidate_fingerprints: vec![Some(candidate)],
        ..d
    })
}

/// The resolution of hold `v-{n}` as `how`, re-queried as `replaced_by`.
fn resolved(n: u32, how: Resolution, replaced_by: &str) -> NewEvent {
    let NewEvent::HoldResolved(r) = resolution(INSURER, &format!("v-{n}")) else {
        unreachable!()
    };
    NewEvent::HoldResolved(HoldResolved {
        subject_id: format!("s-{n}"),
        resolution: how,
        replaced_by_verification_id: replaced_by.into(),
        cause: Some(HoldCause::NotationOrVariant),
        ..r
    })
}

/// Five holds: re-queried with the candidate's number back, re-queried with another, the
/// number from the person committed later as the candidate's, re-queried with a number under
/// a key none of its candidates is under, and one still open.
async fn five_holds(backend: &dyn TestBackend) -> Vec<AppendOutcome> {
    let a = fingerprint(NUMBER_A);
    let other_key = Fingerprint {
        key_id: "another-key".into(),
        ..a.clone()
    };
    let mut chain = ChainState::new();
    let events = vec![
        hold_with(1, a.clone()),
        hold_with(2, a.clone()),
        hold_with(3, a.clone()),
        hold_with(4, other_key),
        hold_with(5, a.clone()),
        NewEvent::Decided(register_decision("s-1", NUMBER_A, "x-1")),
        NewEvent::Decided(register_decision("s-2", NUMBER_B, "x-2")),
        resolved(1, Resolution::Requeried, "v-x-1"),
        resolved(2, Resolution::Requeried, "v-x-2"),
        resolved(3, Resolution::NumberFromPerson, ""),
        resolved(4, Resolution::Requeried, "v-x-1"),
    ];
    let mut outcomes = backend.append_batch(&mut chain, &events).await.unwrap();
    // The number from the person is committed after its hold was closed.
    let later = [commit(INSURER, "s-3", NUMBER_A, "v-c-3")];
    outcomes.extend(backend.append_batch(&mut chain, &later).await.unwrap());
    outcomes
}

/// The groups of [`five_holds`], as (resolution, same number, holds), sorted.
async fn endings(backend: &dyn AuditBackend) -> Vec<(Option<String>, Option<i64>, i64)> {
    let groups: Vec<HoldGroup> = backend
        .hold_groups(Some(INSURER), 0, i64::MAX, 0)
        .await
        .unwrap();
    let mut found: Vec<_> = groups
        .iter()
        .map(|g| (g.resolution.clone(), g.same_number, g.holds))
        .collect();
    found.sort();
    found
}

pub(super) async fn hold_groups_tell_whether_the_candidates_number_came_back(
    backend: Arc<dyn TestBackend>,
) {
    let outcomes = five_holds(&*backend).await;
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, AppendOutcome::Appended { .. }))
    );
    let requeried = Some("requeried".to_owned());
    assert_eq!(
        endings(&*backend).await,
        vec![
            (None, None, 1),
            (Some("number_from_person".into()), Some(1), 1),
            (requeried.clone(), None, 1),
            (requeried.clone(), Some(0), 1),
            (requeried, Some(1), 1),
        ]
    );
    let all = backend.hold_groups(None, 0, i64::MAX, 0).await.unwrap();
    assert_eq!(all.iter().map(|g| g.holds).sum::<i64>(), 5);
    let none = backend
        .hold_groups(Some(OTHER_INSURER), 0, i64::MAX, 0)
        .await
        .unwrap();
    assert!(none.is_empty());
    assert!(tables_report(&*backend).await.is_intact());
}

pub(super) async fn verify_names_hold_facts_that_are_not_what_the_chain_says(
    backend: Arc<dyn TestBackend>,
) {
    let outcomes = five_holds(&*backend).await;
    let first_hold = appended_id(&outcomes[0]);
    for sql in [
        "UPDATE hold_facts SET cause = 'other' WHERE verification_id = 'v-1'",
        "INSERT INTO hold_candidates (hold_id, key_id, mac) VALUES (999999, 'k', 'ff')",
    ] {
        assert_eq!(backend.execute_raw(sql).await.expect(sql), 1, "{sql}");
    }
    let report = tables_report(&*backend).await;
    assert_eq!(
        report.findings,
        vec![
            Finding::RowDisagrees {
                table: GateTable::HoldFacts,
                row: 1,
                event_id: first_hold
            },
            Finding::UnsupportedRow {
                table: GateTable::HoldCandidates,
                row: 6
            },
        ]
    );
}
