//! The gate's tables against a tamperer: rows deleted behind the store's back do not let a
//! second decision, commit or resolution through, `verify_store_and_tables` names what is
//! gone, and no conflict clause rewrites a row.

use super::*;
use crate::audit::{
    checkpoint::check::Expectations,
    invariants::{Finding, GateTable, TablesReport},
    verify::verify_store_and_tables,
};

/// The tables a tamperer deletes from, each with its append-only guard removed first (the
/// guard is named alike on both backends; only the way to remove it differs).
pub(super) async fn delete_rows_behind_the_stores_back(backend: &dyn TestBackend, table: &str) {
    let sqlite = format!("DROP TRIGGER IF EXISTS {table}_no_delete");
    if backend.execute_raw(&sqlite).await.is_err() {
        let postgres = format!("ALTER TABLE {table} DISABLE TRIGGER USER");
        backend.execute_raw(&postgres).await.expect(&postgres);
    }
    let delete = format!("DELETE FROM {table}");
    assert!(backend.execute_raw(&delete).await.expect(&delete) > 0);
}

/// The tables' verdict on `backend`, which must hold intact chains.
pub(super) async fn tables_report(backend: &dyn AuditBackend) -> TablesReport {
    let (chains, tables) = verify_store_and_tables(backend, &mut Expectations::default())
        .await
        .expect("the store reads back");
    assert!(chains.is_intact(), "{chains:?}");
    tables
}

/// A registered number, a decided request and a closed hold: (the register decision, the
/// commit, the hold, the resolution) as appended.
async fn a_store_with_one_of_each_claim(backend: &dyn TestBackend) -> Vec<i64> {
    let mut chain = ChainState::new();
    let hold = decided(INSURER, "r-2", "v-2");
    let outcomes = backend
        .append_batch(
            &mut chain,
            &[
                NewEvent::Decided(register_decision("s-1", "123456789018", "r-1")),
                commit(INSURER, "s-1", "123456789018", "v-r-1"),
                held(hold),
                resolution(INSURER, "v-2"),
            ],
        )
        .await
        .unwrap();
    outcomes.iter().map(appended_id).collect()
}

pub(super) async fn deleted_rows_let_no_second_decision_commit_or_resolution_through(
    backend: Arc<dyn TestBackend>,
) {
    let ids = a_store_with_one_of_each_claim(&*backend).await;
    assert!(tables_report(&*backend).await.is_intact());
    for table in ["verification_requests", "registrations", "hold_resolutions"] {
        delete_rows_behind_the_stores_back(&*backend, table).await;
    }

    let mut chain = ChainState::new();
    let outcomes = backend
        .append_batch(
            &mut chain,
            &[
                // The request id again, with other content.
                held(decided(INSURER, "r-1", "v-9")),
                // The number for another subject; another number for the subject.
                commit(INSURER, "s-2", "123456789018", "v-8"),
                commit(INSURER, "s-1", "983205673214", "v-7"),
                // A register decision for another subject with the number.
                NewEvent::Decided(register_decision("s-2", "123456789018", "r-6")),
                // The closed hold, closed again.
                resolution(INSURER, "v-2"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(outcomes[0], duplicate_of("v-r-1"));
    for (outcome, subject) in outcomes[1..3].iter().zip(["s-1", "s-1"]) {
        match outcome {
            AppendOutcome::RegistrationTaken { existing } => {
                assert_eq!(existing.subject_id, subject);
                assert_eq!(existing.verification_id, "v-r-1");
            }
            other => panic!("expected the registration the chain holds, got {other:?}"),
        }
    }
    assert!(
        matches!(&outcomes[3], AppendOutcome::RegisteredElsewhere { registrations }
            if registrations.iter().all(|r| r.verification_id == "v-r-1")),
        "{:?}",
        outcomes[3]
    );
    assert_eq!(outcomes[4], AppendOutcome::AlreadyResolved);

    // A replay still finds its decision, and the closed hold stays off the queue.
    let replay = backend.find_by_request(INSURER, "r-1").await.unwrap();
    assert_eq!(replay.map(|e| e.id), Some(ids[0]));
    assert!(
        backend
            .list_open_holds(INSURER, 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let registrations = backend
        .find_registrations(
            INSURER,
            &FingerprintKey::from_secret(vec![0x42; 32])
                .fingerprint_number(&IndividualNumber::parse("123456789018").unwrap()),
            "s-2",
        )
        .await
        .unwrap();
    assert_eq!(registrations.len(), 1, "the chain's commit, once");

    // Nothing was admitted, so the chain records each fact once: what verify names is the
    // rows that are gone.
    let report = tables_report(&*backend).await;
    assert_eq!(
        report.findings,
        vec![
            Finding::MissingRow {
                table: GateTable::VerificationRequests,
                event_id: ids[0]
            },
            Finding::MissingRow {
                table: GateTable::VerificationRequests,
                event_id: ids[2]
            },
            Finding::MissingRow {
                table: GateTable::Registrations,
                event_id: ids[1]
            },
            Finding::MissingRow {
                table: GateTable::HoldResolutions,
                event_id: ids[3]
            },
        ]
    );
}

pub(super) async fn no_conflict_clause_rewrites_a_row_of_the_gates_tables(
    backend: Arc<dyn TestBackend>,
) {
    a_store_with_one_of_each_claim(&*backend).await;
    let before = tables_report(&*backend).await;
    assert!(before.is_intact(), "{:?}", before.findings);
    let statements = [
        "INSERT INTO verification_requests (insurer_number, request_id, verification_id) \
         VALUES ('12345678', 'r-1', 'v-forged') \
         ON CONFLICT (insurer_number, request_id) DO UPDATE SET verification_id = 'v-forged'",
        "UPDATE verification_requests SET verification_id = 'v-forged'",
        "DELETE FROM verification_requests",
        "INSERT INTO registrations (insurer_number, number_fp_key_id, number_fp, subject_id, \
         verification_id, committed_at_us) SELECT insurer_number, number_fp_key_id, number_fp, \
         's-forged', verification_id, committed_at_us FROM registrations WHERE true \
         ON CONFLICT (insurer_number, number_fp) DO UPDATE SET subject_id = 's-forged'",
        "UPDATE registrations SET subject_id = 's-forged'",
        "DELETE FROM registrations",
        "INSERT INTO hold_resolutions (insurer_number, verification_id, resolved_at_us) \
         VALUES ('12345678', 'v-2', 1) \
         ON CONFLICT (insurer_number, verification_id) DO UPDATE SET resolved_at_us = 1",
        "UPDATE hold_resolutions SET resolved_at_us = 1",
        "DELETE FROM hold_resolutions",
        "UPDATE audit_events SET decision = 'hold'",
        "DELETE FROM audit_events",
    ];
    for sql in statements {
        // Refused (an error naming the guard), or nothing written (SQLite's BEFORE INSERT
        // guard skips the row whose key exists, as the service's own claims expect).
        match backend.execute_raw(sql).await {
            Err(message) => assert!(message.contains("append-only"), "{sql}: {message}"),
            Ok(changed) => assert_eq!(changed, 0, "{sql}"),
        }
    }
    assert_eq!(tables_report(&*backend).await, before);
}
