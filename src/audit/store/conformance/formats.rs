//! Logs that mix rows of the first release (format 1) with canonical ones (format 2).

use super::*;

/// Where format 1 rows are written: into today's schema, or into the first release's schema
/// (hex hashes, no format column) before the upgrade migration has run.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Schema {
    /// Today's.
    Today,
    /// The first release's.
    BeforeUpgrade,
}

/// The statements the first release would have run to store `events` (format 1) in the chain
/// `writer_id`, with the idempotency keys, registrations and closed holds beside them; and the
/// chain's end. `blob` spells a byte string for the database at hand.
pub(super) fn format_1_statements(
    writer_id: &str,
    events: &[NewEvent],
    schema: Schema,
    blob: &dyn Fn(&[u8]) -> String,
) -> (Vec<String>, ChainState) {
    use crate::audit::{event::comparisons, event::legacy};
    let q = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let opt = |s: Option<&str>| s.map_or("NULL".to_string(), q);
    let hash_literal = |h: &[u8]| match schema {
        Schema::Today => blob(h),
        Schema::BeforeUpgrade => q(&hex::encode(h)),
    };
    let (format_column, format_value) = match schema {
        Schema::Today => ("format, ", "1, "),
        Schema::BeforeUpgrade => ("", ""),
    };
    let mut statements = Vec::new();
    let mut prev = crate::audit::chain::GENESIS;
    for (i, e) in events.iter().enumerate() {
        let seq = i as i64 + 1;
        let row = legacy::from_event(e);
        let hash = legacy::event_hash(&prev, writer_id, seq, &row);
        let fp = |f: Option<&crate::audit::Fingerprint>| {
            (
                opt(f.map(|f| f.key_id.as_str())),
                opt(f.map(|f| f.mac_hex.as_str())),
            )
        };
        let (number_key, number_mac) = fp(row.number_fingerprint.as_ref());
        let (request_key, request_mac) = fp(row.request_fingerprint.as_ref());
        statements.push(format!(
            "INSERT INTO audit_events ({format_column}writer_id, seq, event_type, occurred_at_us, \
             insurer_number, verification_id, decision, hash, caller, subject_id, subject_kind, \
             request_id, policy_version, comparisons, hold_reasons, number_fp_key_id, number_fp, \
             request_fp_key_id, request_fp, response, prev_hash, reason) VALUES ({format_value}{}, \
             {seq}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {number_key}, \
             {number_mac}, {request_key}, {request_mac}, {}, {}, {})",
            q(writer_id),
            q(row.event_type.as_str()),
            row.occurred_at_us,
            q(&row.insurer_number),
            q(&row.verification_id),
            opt(row.decision.as_deref()),
            hash_literal(&hash),
            q(&row.caller),
            q(&row.subject_id),
            q(&row.subject_kind),
            q(&row.request_id),
            q(&row.policy_version),
            q(&comparisons::encode(&row.comparisons).unwrap()),
            q(&serde_json::to_string(&row.hold_reasons).unwrap()),
            blob(&row.response),
            hash_literal(&prev),
            opt(row.reason.as_deref()),
        ));
        match e {
            NewEvent::Decided(d) => statements.push(format!(
                "INSERT INTO verification_requests (insurer_number, request_id, \
                 verification_id, request_fp_key_id, request_fp) VALUES ({}, {}, {}, \
                 {request_key}, {request_mac})",
                q(&d.insurer_number),
                q(&d.request_id),
                q(&d.verification_id)
            )),
            NewEvent::CommitAccepted(c) => statements.push(format!(
                "INSERT INTO registrations (insurer_number, number_fp_key_id, number_fp, \
                 subject_id, verification_id, committed_at_us) VALUES ({}, {number_key}, \
                 {number_mac}, {}, {}, {})",
                q(&c.insurer_number),
                q(&c.subject_id),
                q(&c.verification_id),
                row.occurred_at_us
            )),
            NewEvent::HoldResolved(r) => statements.push(format!(
                "INSERT INTO hold_resolutions (insurer_number, verification_id, \
                 resolved_at_us) VALUES ({}, {}, {})",
                q(&r.insurer_number),
                q(&r.verification_id),
                row.occurred_at_us
            )),
            _ => {}
        }
        prev = hash;
    }
    let end = ChainState::resume(writer_id.to_string(), events.len() as i64 + 1, prev);
    (statements, end)
}

/// Writes `events` as the first release would have (format 1) into today's schema.
async fn write_format_1(
    backend: &dyn TestBackend,
    writer_id: &str,
    events: &[NewEvent],
) -> ChainState {
    let blob = |b: &[u8]| backend.blob_literal(b);
    let (statements, end) = format_1_statements(writer_id, events, Schema::Today, &blob);
    for sql in statements {
        assert_eq!(backend.execute_raw(&sql).await, Ok(1), "{sql}");
    }
    end
}

/// A log of every kind of event, as the first release would have stored it.
pub(super) fn first_release_log() -> Vec<NewEvent> {
    let old_hold = Decided {
        selected_candidate: None,
        register_by: Some(UNIX_EPOCH + Duration::new(1_000_000_000, 7)),
        ..decided(INSURER, "r-old-2", "v-old-2")
    };
    vec![
        decision(INSURER, "r-old-1", "v-old-1"),
        held(old_hold),
        commit(INSURER, "subject-of-r-old-1", "123456789018", "v-old-1"),
        other_event("registration-service", "v-old-2"),
        resolution(INSURER, "v-old-2"),
        held(decided(INSURER, "r-old-3", "v-old-3")),
    ]
}

/// After the upgrade migration: the first release's rows read back as `events`, verify, and
/// a new writer continues the log.
pub(super) async fn rows_read_back_and_verify_after_the_upgrade(
    backend: &dyn AuditBackend,
    events: &[NewEvent],
) {
    let all = backend.read_chains().await.unwrap();
    assert!(all.iter().all(|e| e.format() == 1));
    let read: Vec<&NewEvent> = all.iter().map(|e| &e.event).collect();
    assert_eq!(read, events.iter().collect::<Vec<_>>());
    let mut chain = ChainState::new();
    let outcome = backend
        .append_batch(&mut chain, &[decision(INSURER, "r-old-1", "v-new")])
        .await
        .unwrap();
    assert_eq!(outcome, [duplicate_of("v-old-1")]);
    backend
        .append_batch(&mut chain, &[held(decided(INSURER, "r-new", "v-new"))])
        .await
        .unwrap();
    let report = verify_store(backend).await.unwrap();
    assert_eq!((report.events_checked, report.chains), (7, 2));
    assert!(report.is_intact(), "{report:?}");
}

pub(super) async fn a_log_mixing_both_formats_loads_verifies_and_is_continued(
    backend: Arc<dyn TestBackend>,
) {
    let old_events = first_release_log();
    let writer = "0190aaaa-0000-7000-8000-000000000001";
    let mut old_chain = write_format_1(&*backend, writer, &old_events).await;

    // Everything reads back as today's events, from both formats.
    let all = backend.read_chains().await.unwrap();
    let formats: Vec<i32> = all.iter().map(|e| e.format()).collect();
    assert_eq!(formats, [1; 6]);
    let read: Vec<&NewEvent> = all.iter().map(|e| &e.event).collect();
    assert_eq!(read, old_events.iter().collect::<Vec<_>>());
    assert!(verify_store(&*backend).await.unwrap().is_intact());
    // Their key ids are found from their columns, as a store upgraded from then is scanned.
    let page = backend.key_ids_page(0, 100).await.unwrap();
    let key_ids: std::collections::BTreeSet<String> = old_events
        .iter()
        .flat_map(|e| [e.number_fingerprint(), e.request_fingerprint()])
        .flatten()
        .map(|f| f.key_id.clone())
        .collect();
    assert!(!key_ids.is_empty());
    assert_eq!((page.key_ids, page.rows), (key_ids, 6));

    // A new writer, and the old chain continued in format 2.
    let mut new_chain = ChainState::new();
    let outcomes = backend
        .append_batch(
            &mut new_chain,
            &[
                held(decided(INSURER, "r-new-1", "v-new-1")),
                // An old request id is still a duplicate of its old decision.
                decision(INSURER, "r-old-1", "v-new-2"),
                // A register decision contradicting an old registration is refused.
                NewEvent::Decided(register_decision("s-other", "123456789018", "r-new-3")),
                // An old hold closes once.
                resolution(INSURER, "v-old-2"),
            ],
        )
        .await
        .unwrap();
    appended_id(&outcomes[0]);
    assert_eq!(outcomes[1], duplicate_of("v-old-1"));
    assert!(matches!(
        outcomes[2],
        AppendOutcome::RegisteredElsewhere { .. }
    ));
    assert_eq!(outcomes[3], AppendOutcome::AlreadyResolved);
    backend
        .append_batch(
            &mut old_chain,
            &[held(decided(INSURER, "r-new-4", "v-new-4"))],
        )
        .await
        .unwrap();
    let report = verify_store(&*backend).await.unwrap();
    assert_eq!((report.events_checked, report.chains), (8, 2));
    assert!(report.is_intact(), "{report:?}");

    let old = backend
        .find_by_request(INSURER, "r-old-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((old.format(), &old.event), (1, &old_events[0]));
    let holds = backend.list_open_holds(INSURER, 0, 10).await.unwrap();
    let held_ids: Vec<&str> = holds.iter().map(|e| e.event.verification_id()).collect();
    assert_eq!(held_ids, ["v-old-3", "v-new-1", "v-new-4"]);
    let events = backend.find_events(INSURER, "v-old-2").await.unwrap();
    assert_eq!(events.len(), 3);

    // An edit of a format 1 row is found at that row.
    backend.drop_append_only_triggers().await;
    let sql = format!(
        "UPDATE audit_events SET caller = 'someone-else' WHERE id = {}",
        all[3].id
    );
    assert_eq!(backend.execute_raw(&sql).await, Ok(1));
    let broken = verify_store(&*backend).await.unwrap().first_broken.unwrap();
    assert_eq!(broken.id, all[3].id);
}
