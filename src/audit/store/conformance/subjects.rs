//! The history of a subject (migrations 0010): every decision about one subject of one
//! insurer and every event that followed each, in row order, and nothing of another subject
//! or another insurer; `audit verify` rebuilds the table and finds a row deleted behind the
//! store's back.

use super::*;
use crate::audit::{HoldAssigned, invariants::GateTable};

/// [`decided`] about `subject`.
fn about(subject: &str, insurer: &str, request: &str, verification: &str) -> Decided {
    Decided {
        subject_id: subject.into(),
        ..decided(insurer, request, verification)
    }
}

pub(super) async fn a_subjects_history_is_its_decisions_and_what_followed_each_in_order(
    backend: Arc<dyn TestBackend>,
) {
    let mut chain = ChainState::new();
    let assigned = NewEvent::HoldAssigned(HoldAssigned {
        occurred_at: UNIX_EPOCH + Duration::from_secs(1_750_000_000),
        caller: "clerk".into(),
        insurer_number: INSURER.into(),
        subject_id: "s-1".into(),
        verification_id: "v-1".into(),
        assignee: "sato".into(),
    });
    let events = [
        held(about("s-1", INSURER, "r-1", "v-1")),
        // Another subject of the same insurer, and the same subject id at another insurer.
        held(about("s-2", INSURER, "r-2", "v-2")),
        held(about("s-1", OTHER_INSURER, "r-3", "v-3")),
        assigned,
        NewEvent::Decided(about("s-1", INSURER, "r-4", "v-4")),
        resolution(INSURER, "v-1"),
        resolution(INSURER, "v-2"),
        commit(INSURER, "s-1", "123456789018", "v-4"),
    ];
    let outcomes = backend.append_batch(&mut chain, &events).await.unwrap();
    let ids: Vec<i64> = outcomes.iter().map(appended_id).collect();

    let history = backend.subject_history(INSURER, "s-1", 100).await.unwrap();
    let got: Vec<(i64, &str, &str)> = history
        .iter()
        .map(|e| {
            (
                e.id,
                e.event.event_type().as_str(),
                e.event.verification_id(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (ids[0], "verification.decided", "v-1"),
            (ids[3], "hold.assigned", "v-1"),
            (ids[4], "verification.decided", "v-4"),
            (ids[5], "hold.resolved", "v-1"),
            (ids[7], "commit.accepted", "v-4"),
        ]
    );
    // At most `limit`, the oldest first.
    let first_two = backend.subject_history(INSURER, "s-1", 2).await.unwrap();
    assert_eq!(first_two.len(), 2);
    assert_eq!(first_two[1].id, ids[3]);
    // Never across insurers, and nothing for a subject never decided about.
    let other = backend
        .subject_history(OTHER_INSURER, "s-1", 100)
        .await
        .unwrap();
    assert_eq!(other.len(), 1);
    assert_eq!(other[0].event.verification_id(), "v-3");
    assert!(
        backend
            .subject_history(INSURER, "nobody", 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        backend
            .subject_history(OTHER_INSURER, "s-2", 100)
            .await
            .unwrap()
            .is_empty()
    );

    // The table is the chain's: intact now, and a deleted row is named.
    let report = tables_report(&*backend).await;
    assert!(report.is_intact(), "{:?}", report.findings);
    backend
        .execute_raw("DELETE FROM subject_decisions WHERE verification_id = 'v-4'")
        .await
        .unwrap();
    let report = tables_report(&*backend).await;
    assert_eq!(
        report.findings,
        [crate::audit::invariants::Finding::MissingRow {
            table: GateTable::SubjectDecisions,
            event_id: ids[4],
        }]
    );
}
