//! The conformance suite: what every audit backend must do, written once.
//!
//! Each test takes an `Arc<dyn AuditBackend>` on a fresh, empty store. The runners at the end
//! (`sqlite_suite`, always; `postgres_suite`, ignored unless asked for) are generated from one
//! list, so both backends always run the same tests.

use std::{
    sync::Arc,
    time::{Duration, UNIX_EPOCH},
};

use crate::audit::{
    AppendOutcome, AuditBackend, AuditError, AuditWriter, ChainState, CommitAccepted,
    CommitRefused, ComparisonRow, Decided, FingerprintKey, HoldResolved, NewEvent, verify_store,
};
use crate::domain::{
    Field, MatchClass, Stage,
    gate::{CommitRefusal, DecisionKind, HoldReason, Resolution},
    number::IndividualNumber,
    subject::SubjectKind,
};

const INSURER: &str = "12345678";
const OTHER_INSURER: &str = "87654321";

/// A register decision for a synthetic case, with fingerprints of a synthetic number.
fn decided(insurer: &str, request_id: &str, verification_id: &str) -> Decided {
    let key = FingerprintKey::from_secret(vec![0x42; 32]);
    let number = IndividualNumber::parse("123456789018").expect("a synthetic valid number");
    Decided {
        // Whole microseconds, so the event reads back equal.
        occurred_at: UNIX_EPOCH + Duration::from_micros(1_750_000_000_123_456),
        caller: "registration-service".into(),
        insurer_number: insurer.into(),
        subject_id: format!("subject-of-{request_id}"),
        subject_kind: SubjectKind::Dependent,
        request_id: request_id.into(),
        verification_id: verification_id.into(),
        policy_version: "default-2023-05".into(),
        decision: DecisionKind::Register,
        comparisons: vec![
            ComparisonRow {
                stage: Stage::DeclaredVsQuery,
                field: Field::KanjiName,
                class: MatchClass::Variant,
                rules: vec!["kanji.variant".into(), "space".into()],
                candidate_index: 0,
            },
            ComparisonRow {
                stage: Stage::QueryVsCandidate,
                field: Field::BirthDate,
                class: MatchClass::Notation,
                rules: vec!["date.era".into()],
                candidate_index: 0,
            },
        ],
        hold_reasons: vec![],
        fields_to_complete: vec![],
        selected_candidate: Some(0),
        register_by: Some(UNIX_EPOCH + Duration::new(1_750_432_000, 5)),
        number_fingerprint: Some(key.fingerprint_number(&number)),
        request_fingerprint: Some(key.fingerprint(request_id.as_bytes())),
    }
}

/// [`decided`] as an event.
fn decision(insurer: &str, request_id: &str, verification_id: &str) -> NewEvent {
    NewEvent::Decided(decided(insurer, request_id, verification_id))
}

/// A hold of `d`.
fn held(d: Decided) -> NewEvent {
    NewEvent::Decided(Decided {
        decision: DecisionKind::Hold,
        hold_reasons: vec![HoldReason::FieldDiffers],
        selected_candidate: None,
        number_fingerprint: None,
        ..d
    })
}

/// An event that is neither a decision, a commit nor a resolution (it never claims an
/// idempotency key, a registration or a hold), about `verification_id`.
fn other_event(caller: &str, verification_id: &str) -> NewEvent {
    let d = decided(INSURER, "", verification_id);
    NewEvent::CommitRefused(CommitRefused {
        occurred_at: d.occurred_at,
        caller: caller.into(),
        insurer_number: d.insurer_number,
        subject_id: d.subject_id,
        verification_id: d.verification_id,
        reason: CommitRefusal::NumberMismatch,
        number_fingerprint: d.number_fingerprint,
        request_fingerprint: None,
    })
}

fn appended_id(outcome: &AppendOutcome) -> i64 {
    match outcome {
        AppendOutcome::Appended { id } => *id,
        other => panic!("expected an append, got {other:?}"),
    }
}

fn duplicate_of(verification_id: &str) -> AppendOutcome {
    AppendOutcome::DuplicateRequest {
        existing_verification_id: verification_id.into(),
    }
}

async fn count_events(backend: &dyn AuditBackend) -> usize {
    backend.read_chains().await.expect("read chains").len()
}

pub(super) async fn events_are_appended_and_read_back_unchanged(backend: Arc<dyn AuditBackend>) {
    let mut chain = ChainState::new();
    let held = NewEvent::Decided(Decided {
        decision: DecisionKind::Hold,
        hold_reasons: vec![HoldReason::FieldDiffers, HoldReason::MultipleCandidates],
        selected_candidate: None,
        number_fingerprint: None,
        register_by: None,
        ..decided(INSURER, "r-2", "v-2")
    });
    let events = vec![
        decision(INSURER, "r-1", "v-1"),
        held,
        other_event("c-1", "v-1"),
    ];
    let outcomes = backend
        .append_batch(&mut chain, &events)
        .await
        .expect("append");
    assert_eq!(outcomes.len(), 3);
    let ids: Vec<i64> = outcomes.iter().map(appended_id).collect();
    assert!(
        ids[0] < ids[1] && ids[1] < ids[2],
        "ids follow the batch order: {ids:?}"
    );
    assert_eq!(chain.next_seq(), 4);

    let found = backend
        .find_verification(INSURER, "v-1")
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(found.event, events[0]);
    assert_eq!(
        (found.id, found.seq, found.writer_id.as_str()),
        (ids[0], 1, chain.writer_id())
    );
    let by_request = backend
        .find_by_request(INSURER, "r-2")
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(by_request.event, events[1]);
    assert_eq!(by_request.seq, 2);

    let all = backend.read_chains().await.unwrap();
    let stored: Vec<&NewEvent> = all.iter().map(|s| &s.event).collect();
    assert_eq!(stored, events.iter().collect::<Vec<_>>());
    assert_eq!(all[2].hash, *chain.last_hash());
    let report = verify_store(&*backend).await.unwrap();
    assert_eq!((report.events_checked, report.chains), (3, 1));
    assert!(report.is_intact(), "{report:?}");
    backend.ping().await.expect("ping");
}

pub(super) async fn unknown_ids_are_not_found(backend: Arc<dyn AuditBackend>) {
    let mut chain = ChainState::new();
    backend
        .append_batch(&mut chain, &[other_event("r-1", "v-1")])
        .await
        .unwrap();
    assert_eq!(
        backend.find_verification(INSURER, "v-nope").await.unwrap(),
        None
    );
    assert_eq!(
        backend.find_by_request(INSURER, "r-nope").await.unwrap(),
        None
    );
    // A commit event carries a verification id but is not a decision.
    assert_eq!(
        backend.find_verification(INSURER, "v-1").await.unwrap(),
        None
    );
    assert_eq!(backend.find_by_request(INSURER, "r-1").await.unwrap(), None);
}

pub(super) async fn concurrent_callers_are_each_answered_after_their_batch_commits(
    backend: Arc<dyn AuditBackend>,
) {
    let (handle, task) = AuditWriter::spawn(backend.clone(), 16, 8);
    let callers: Vec<_> = (0..40)
        .map(|i| {
            let handle = handle.clone();
            tokio::spawn(async move {
                handle
                    .append(decision(INSURER, &format!("r-{i}"), &format!("v-{i}")))
                    .await
            })
        })
        .collect();
    let mut ids = Vec::new();
    for (i, caller) in callers.into_iter().enumerate() {
        let outcome = caller.await.expect("caller task").expect("append");
        let id = appended_id(&outcome);
        // Answered means committed: the event is readable right away.
        let found = backend
            .find_verification(INSURER, &format!("v-{i}"))
            .await
            .unwrap();
        assert_eq!(found.map(|s| s.id), Some(id));
        ids.push(id);
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 40);
    let writer_id = handle.writer_id().to_string();
    drop(handle);
    task.await
        .expect("the writer stops once every handle is dropped");
    let all = backend.read_chains().await.unwrap();
    assert!(all.iter().all(|s| s.writer_id == writer_id));
    let report = verify_store(&*backend).await.unwrap();
    assert_eq!((report.events_checked, report.chains), (40, 1));
    assert!(report.is_intact(), "{report:?}");
}

pub(super) async fn dropping_every_handle_flushes_the_queue_before_the_writer_stops(
    backend: Arc<dyn AuditBackend>,
) {
    let (handle, task) = AuditWriter::spawn(backend.clone(), 64, 4);
    let callers: Vec<_> = (0..20)
        .map(|i| {
            let handle = handle.clone();
            tokio::spawn(async move { handle.append(other_event(&format!("r-{i}"), "v")).await })
        })
        .collect();
    drop(handle);
    for caller in callers {
        appended_id(&caller.await.unwrap().expect("append"));
    }
    task.await.unwrap();
    assert_eq!(count_events(&*backend).await, 20);
}

pub(super) async fn an_invalid_event_fails_alone_and_its_batch_mates_are_stored(
    backend: Arc<dyn AuditBackend>,
) {
    let (handle, task) = AuditWriter::spawn(backend.clone(), 16, 16);
    let bad = NewEvent::Decided(Decided {
        caller: "bad\0caller".into(),
        ..decided(INSURER, "r-bad", "v-bad")
    });
    let (a, b, c) = tokio::join!(
        handle.append(decision(INSURER, "r-1", "v-1")),
        handle.append(bad),
        handle.append(decision(INSURER, "r-2", "v-2")),
    );
    appended_id(&a.unwrap());
    assert!(matches!(b, Err(AuditError::Invalid(_))), "{b:?}");
    appended_id(&c.unwrap());
    // The backend refuses it too, whoever calls it.
    let bad = NewEvent::Decided(Decided {
        subject_id: "\0".into(),
        ..decided(INSURER, "r-3", "v-3")
    });
    let refused = backend.append_batch(&mut ChainState::new(), &[bad]).await;
    assert!(
        matches!(refused, Err(AuditError::Invalid(_))),
        "{refused:?}"
    );
    drop(handle);
    task.await.unwrap();
    assert_eq!(count_events(&*backend).await, 2);
}

pub(super) async fn a_repeated_request_is_a_duplicate_of_the_original_and_writes_nothing(
    backend: Arc<dyn AuditBackend>,
) {
    let mut chain = ChainState::new();
    let first = backend
        .append_batch(&mut chain, &[decision(INSURER, "r-1", "v-1")])
        .await;
    appended_id(&first.unwrap()[0]);
    let state_before = chain.clone();
    let again = backend
        .append_batch(&mut chain, &[decision(INSURER, "r-1", "v-2")])
        .await;
    assert_eq!(again.unwrap(), vec![duplicate_of("v-1")]);
    assert_eq!(
        chain, state_before,
        "a duplicate takes no place in the chain"
    );
    assert_eq!(count_events(&*backend).await, 1);
    assert_eq!(
        backend.find_verification(INSURER, "v-2").await.unwrap(),
        None
    );

    // Through the writer, from another chain, as a second replica would see it.
    let (handle, task) = AuditWriter::spawn(backend.clone(), 4, 4);
    let outcome = handle
        .append(decision(INSURER, "r-1", "v-3"))
        .await
        .unwrap();
    assert_eq!(outcome, duplicate_of("v-1"));
    drop(handle);
    task.await.unwrap();
    assert_eq!(count_events(&*backend).await, 1);
}

pub(super) async fn duplicates_within_one_batch_and_across_batches_name_the_first_decision(
    backend: Arc<dyn AuditBackend>,
) {
    let mut chain = ChainState::new();
    let batch = [
        decision(INSURER, "r-1", "v-1"),
        decision(INSURER, "r-1", "v-2"),
        decision(INSURER, "r-2", "v-3"),
        decision(INSURER, "r-1", "v-4"),
    ];
    let outcomes = backend.append_batch(&mut chain, &batch).await.unwrap();
    appended_id(&outcomes[0]);
    assert_eq!(outcomes[1], duplicate_of("v-1"));
    appended_id(&outcomes[2]);
    assert_eq!(outcomes[3], duplicate_of("v-1"));

    // A later batch: a stored key twice, and a new key twice.
    let batch = [
        decision(INSURER, "r-2", "v-5"),
        decision(INSURER, "r-3", "v-6"),
        decision(INSURER, "r-2", "v-7"),
        decision(INSURER, "r-3", "v-8"),
    ];
    let outcomes = backend.append_batch(&mut chain, &batch).await.unwrap();
    assert_eq!(outcomes[0], duplicate_of("v-3"));
    appended_id(&outcomes[1]);
    assert_eq!(outcomes[2], duplicate_of("v-3"));
    assert_eq!(outcomes[3], duplicate_of("v-6"));

    assert_eq!(count_events(&*backend).await, 3);
    let report = verify_store(&*backend).await.unwrap();
    assert!(
        report.is_intact() && report.events_checked == 3,
        "{report:?}"
    );
}

pub(super) async fn only_decisions_claim_request_ids(backend: Arc<dyn AuditBackend>) {
    let mut chain = ChainState::new();
    let batch = [
        decision(INSURER, "r-1", "v-1"),
        other_event("r-1", "v-1"),
        other_event("r-1", "v-1"),
    ];
    let outcomes = backend.append_batch(&mut chain, &batch).await.unwrap();
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, AppendOutcome::Appended { .. })),
        "{outcomes:?}"
    );
}

pub(super) async fn different_insurers_may_reuse_a_request_id(backend: Arc<dyn AuditBackend>) {
    let mut chain = ChainState::new();
    let batch = [
        decision(INSURER, "r-1", "v-1"),
        decision(OTHER_INSURER, "r-1", "v-2"),
    ];
    let outcomes = backend.append_batch(&mut chain, &batch).await.unwrap();
    appended_id(&outcomes[0]);
    appended_id(&outcomes[1]);
    let again = [decision(OTHER_INSURER, "r-1", "v-3")];
    let outcomes = backend.append_batch(&mut chain, &again).await.unwrap();
    assert_eq!(outcomes, vec![duplicate_of("v-2")]);
}

pub(super) async fn lookups_never_cross_insurers(backend: Arc<dyn AuditBackend>) {
    let mut chain = ChainState::new();
    backend
        .append_batch(&mut chain, &[decision(INSURER, "r-1", "v-1")])
        .await
        .unwrap();
    assert!(
        backend
            .find_verification(INSURER, "v-1")
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        backend
            .find_verification(OTHER_INSURER, "v-1")
            .await
            .unwrap(),
        None
    );
    assert!(
        backend
            .find_by_request(INSURER, "r-1")
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        backend.find_by_request(OTHER_INSURER, "r-1").await.unwrap(),
        None
    );
}

pub(super) async fn a_batch_larger_than_one_statement_is_stored_whole(
    backend: Arc<dyn AuditBackend>,
) {
    let mut chain = ChainState::new();
    let n = crate::audit::sql::ROWS_PER_STATEMENT + 150;
    let batch: Vec<NewEvent> = (0..n)
        .map(|i| decision(INSURER, &format!("r-{i}"), &format!("v-{i}")))
        .collect();
    let outcomes = backend.append_batch(&mut chain, &batch).await.unwrap();
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, AppendOutcome::Appended { .. }))
    );
    // The same keys again: every one a duplicate, found across statement chunks.
    let batch: Vec<NewEvent> = (0..n)
        .map(|i| decision(INSURER, &format!("r-{i}"), &format!("w-{i}")))
        .collect();
    let outcomes = backend.append_batch(&mut chain, &batch).await.unwrap();
    assert!(
        outcomes
            .iter()
            .enumerate()
            .all(|(i, o)| *o == duplicate_of(&format!("v-{i}")))
    );
    let report = verify_store(&*backend).await.unwrap();
    assert_eq!(report.events_checked, n as u64);
    assert!(report.is_intact(), "{report:?}");
}

pub(super) async fn the_database_refuses_updates_and_deletes(backend: Arc<dyn AuditBackend>) {
    let mut chain = ChainState::new();
    backend
        .append_batch(&mut chain, &[decision(INSURER, "r-1", "v-1")])
        .await
        .unwrap();
    let refused = [
        "UPDATE audit_events SET decision = 'hold'",
        "DELETE FROM audit_events",
        "UPDATE verification_requests SET verification_id = 'v-forged'",
        "DELETE FROM verification_requests",
        // An upsert is an update in disguise.
        "INSERT INTO verification_requests (insurer_number, request_id, verification_id) \
         VALUES ('12345678', 'r-1', 'v-forged') \
         ON CONFLICT (insurer_number, request_id) DO UPDATE SET verification_id = 'v-forged'",
    ];
    for sql in refused {
        let result = backend.execute_raw(sql).await;
        let message = result.expect_err(sql);
        assert!(message.contains("append-only"), "{sql}: {message}");
    }
    let stored = backend
        .find_by_request(INSURER, "r-1")
        .await
        .unwrap()
        .expect("still there");
    assert_eq!(stored.event.decision(), Some(DecisionKind::Register));
    assert_eq!(stored.event.verification_id(), "v-1");
    assert!(verify_store(&*backend).await.unwrap().is_intact());
}

pub(super) async fn verification_names_exactly_the_event_edited_behind_the_stores_back(
    backend: Arc<dyn AuditBackend>,
) {
    let mut chain = ChainState::new();
    let batch: Vec<NewEvent> = (0..5)
        .map(|i| decision(INSURER, &format!("r-{i}"), &format!("v-{i}")))
        .collect();
    let outcomes = backend.append_batch(&mut chain, &batch).await.unwrap();
    let target = appended_id(&outcomes[2]);
    backend.drop_append_only_triggers().await;
    let sql = format!("UPDATE audit_events SET decision = 'hold' WHERE id = {target}");
    assert_eq!(backend.execute_raw(&sql).await, Ok(1));
    let report = verify_store(&*backend).await.unwrap();
    assert_eq!(report.events_checked, 5);
    let broken = report.first_broken.expect("the edit is detected");
    assert_eq!((broken.id, broken.seq), (target, 3));
    assert_eq!(broken.writer_id, chain.writer_id());
}

pub(super) async fn a_deleted_event_is_detected_at_the_next_one(backend: Arc<dyn AuditBackend>) {
    let mut chain = ChainState::new();
    let batch: Vec<NewEvent> = (0..4)
        .map(|i| other_event(&format!("r-{i}"), "v"))
        .collect();
    let ids: Vec<i64> = backend
        .append_batch(&mut chain, &batch)
        .await
        .unwrap()
        .iter()
        .map(appended_id)
        .collect();
    backend.drop_append_only_triggers().await;
    let sql = format!("DELETE FROM audit_events WHERE id = {}", ids[1]);
    assert_eq!(backend.execute_raw(&sql).await, Ok(1));
    let report = verify_store(&*backend).await.unwrap();
    assert_eq!(report.events_checked, 3);
    assert_eq!(report.first_broken.map(|b| b.id), Some(ids[2]));
}

pub(super) async fn two_writers_interleaving_on_one_database_both_verify(
    backend: Arc<dyn AuditBackend>,
) {
    let mut a = ChainState::new();
    let mut b = ChainState::new();
    for i in 0..6 {
        let chain = if i % 2 == 0 { &mut a } else { &mut b };
        let batch = [
            decision(INSURER, &format!("r-{i}"), &format!("v-{i}")),
            other_event("c", "v"),
        ];
        backend.append_batch(chain, &batch).await.unwrap();
    }
    // And truly concurrently, through two writers.
    let (ha, ta) = AuditWriter::spawn(backend.clone(), 8, 4);
    let (hb, tb) = AuditWriter::spawn(backend.clone(), 8, 4);
    let calls = (0..20).map(|i| {
        let handle = if i % 2 == 0 { ha.clone() } else { hb.clone() };
        async move {
            handle
                .append(decision(INSURER, &format!("w-{i}"), &format!("x-{i}")))
                .await
        }
    });
    for outcome in futures::future::join_all(calls).await {
        appended_id(&outcome.unwrap());
    }
    drop((ha, hb));
    ta.await.unwrap();
    tb.await.unwrap();
    let report = verify_store(&*backend).await.unwrap();
    assert_eq!((report.events_checked, report.chains), (32, 4));
    assert!(report.is_intact(), "{report:?}");
}

pub(super) async fn replicas_racing_on_one_request_id_store_exactly_one_decision(
    backend: Arc<dyn AuditBackend>,
) {
    let (ha, ta) = AuditWriter::spawn(backend.clone(), 8, 4);
    let (hb, tb) = AuditWriter::spawn(backend.clone(), 8, 4);
    for i in 0..10 {
        let request = format!("r-{i}");
        let (a, b) = tokio::join!(
            ha.append(decision(INSURER, &request, &format!("a-{i}"))),
            hb.append(decision(INSURER, &request, &format!("b-{i}"))),
        );
        let winner = backend
            .find_by_request(INSURER, &request)
            .await
            .unwrap()
            .expect("one");
        let winner = winner.event.verification_id().to_owned();
        let outcomes = [a.unwrap(), b.unwrap()];
        let appended = outcomes
            .iter()
            .filter(|o| matches!(o, AppendOutcome::Appended { .. }));
        assert_eq!(appended.count(), 1, "{outcomes:?}");
        assert!(outcomes.contains(&duplicate_of(&winner)), "{outcomes:?}");
    }
    drop((ha, hb));
    ta.await.unwrap();
    tb.await.unwrap();
    let report = verify_store(&*backend).await.unwrap();
    assert_eq!(report.events_checked, 10);
    assert!(report.is_intact(), "{report:?}");
}

pub(super) async fn a_failed_transaction_commits_nothing_and_the_chain_stays_usable(
    backend: Arc<dyn AuditBackend>,
) {
    let mut chain = ChainState::new();
    // A copy that misses the next commit, as after a lost acknowledgement.
    let mut stale = chain.clone();
    backend
        .append_batch(&mut chain, &[decision(INSURER, "r-1", "v-1")])
        .await
        .unwrap();

    let batch = [decision(INSURER, "r-2", "v-2"), other_event("c-2", "v-2")];
    let failed = backend.append_batch(&mut stale, &batch).await;
    assert!(
        matches!(failed, Err(AuditError::Unavailable(_))),
        "{failed:?}"
    );
    assert!(stale.is_uncertain());
    assert_eq!(stale.next_seq(), 1, "the chain does not advance on failure");
    // The whole transaction rolled back, including the idempotency key it had claimed.
    assert_eq!(backend.find_by_request(INSURER, "r-2").await.unwrap(), None);
    assert_eq!(count_events(&*backend).await, 1);

    // The next batch re-reads the chain's end and continues it.
    let outcomes = backend.append_batch(&mut stale, &batch).await.unwrap();
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, AppendOutcome::Appended { .. })),
        "{outcomes:?}"
    );
    assert_eq!((stale.next_seq(), stale.is_uncertain()), (4, false));
    let report = verify_store(&*backend).await.unwrap();
    assert_eq!((report.events_checked, report.chains), (3, 1));
    assert!(report.is_intact(), "{report:?}");
}

pub(super) async fn a_closed_store_fails_closed(backend: Arc<dyn AuditBackend>) {
    let (handle, task) = AuditWriter::spawn(backend.clone(), 4, 4);
    appended_id(
        &handle
            .append(decision(INSURER, "r-1", "v-1"))
            .await
            .unwrap(),
    );
    backend.close().await;
    let refused = handle.append(decision(INSURER, "r-2", "v-2")).await;
    assert!(
        matches!(refused, Err(AuditError::Unavailable(_))),
        "{refused:?}"
    );
    assert!(matches!(
        backend.ping().await,
        Err(AuditError::Unavailable(_))
    ));
    let lookup = backend.find_verification(INSURER, "v-1").await;
    assert!(
        matches!(lookup, Err(AuditError::Unavailable(_))),
        "{lookup:?}"
    );
    drop(handle);
    task.await.unwrap();
}

/// A commit of `number` for `subject` under `verification_id`.
fn commit(insurer: &str, subject: &str, number: &str, verification_id: &str) -> NewEvent {
    let key = FingerprintKey::from_secret(vec![0x42; 32]);
    let number = IndividualNumber::parse(number).expect("a synthetic valid number");
    let d = decided(insurer, "", verification_id);
    NewEvent::CommitAccepted(CommitAccepted {
        occurred_at: d.occurred_at,
        caller: d.caller,
        insurer_number: d.insurer_number,
        subject_id: subject.into(),
        verification_id: d.verification_id,
        commit_id: format!("commit-of-{verification_id}"),
        number_fingerprint: key.fingerprint_number(&number),
        request_fingerprint: d.request_fingerprint,
    })
}

fn taken_by(outcome: &AppendOutcome) -> (&str, &str) {
    match outcome {
        AppendOutcome::RegistrationTaken { existing } => {
            (&existing.subject_id, &existing.verification_id)
        }
        other => panic!("expected a taken registration, got {other:?}"),
    }
}

pub(super) async fn a_number_or_subject_is_registered_once_per_insurer(
    backend: Arc<dyn AuditBackend>,
) {
    let mut chain = ChainState::new();
    let first = commit(INSURER, "s-1", "123456789018", "v-1");
    let outcomes = backend
        .append_batch(
            &mut chain,
            &[
                first.clone(),
                // The same number for a sibling, in the same batch: the first wins.
                commit(INSURER, "s-2", "123456789018", "v-2"),
            ],
        )
        .await
        .unwrap();
    appended_id(&outcomes[0]);
    assert_eq!(taken_by(&outcomes[1]), ("s-1", "v-1"));
    let later = backend
        .append_batch(
            &mut chain,
            &[
                // Another number for the same subject, in a later batch.
                commit(INSURER, "s-1", "983205673214", "v-3"),
                // Another insurer keeps its own registrations.
                commit(OTHER_INSURER, "s-2", "123456789018", "v-4"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(taken_by(&later[0]), ("s-1", "v-1"));
    appended_id(&later[1]);

    let fp = first.number_fingerprint().cloned().unwrap();
    let found = backend
        .find_registrations(INSURER, &fp, "s-nobody")
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].subject_id, "s-1");
    assert_eq!(found[0].number_fingerprint, fp);
    assert_eq!(found[0].committed_at, first.occurred_at());
    // Only the appended commits are events; the refused claims wrote nothing.
    assert_eq!(count_events(&*backend).await, 2);
}

/// A register decision for `subject` with a synthetic `number`.
fn register_decision(subject: &str, number: &str, request_id: &str) -> Decided {
    let key = FingerprintKey::from_secret(vec![0x42; 32]);
    let number = IndividualNumber::parse(number).expect("a synthetic valid number");
    Decided {
        subject_id: subject.into(),
        number_fingerprint: Some(key.fingerprint_number(&number)),
        ..decided(INSURER, request_id, &format!("v-{request_id}"))
    }
}

fn registered_elsewhere(outcome: &AppendOutcome) -> Vec<(&str, &str)> {
    match outcome {
        AppendOutcome::RegisteredElsewhere { registrations } => registrations
            .iter()
            .map(|r| (r.subject_id.as_str(), r.verification_id.as_str()))
            .collect(),
        other => panic!("expected a decision refused for its registrations, got {other:?}"),
    }
}

pub(super) async fn a_register_decision_contradicting_a_registration_is_not_written(
    backend: Arc<dyn AuditBackend>,
) {
    let mut chain = ChainState::new();
    backend
        .append_batch(&mut chain, &[commit(INSURER, "s-1", "123456789018", "v-1")])
        .await
        .unwrap();
    let other_subject = register_decision("s-2", "123456789018", "r-a");
    let other_number = register_decision("s-1", "983205673214", "r-b");
    let outcomes = backend
        .append_batch(
            &mut chain,
            &[
                // The registered number, for a sibling: refused.
                NewEvent::Decided(other_subject.clone()),
                // The registered subject, with another number: refused.
                NewEvent::Decided(other_number),
                // The registered subject with its own number (a re-check): stored.
                NewEvent::Decided(register_decision("s-1", "123456789018", "r-c")),
                // An unrelated subject and number: stored.
                NewEvent::Decided(register_decision("s-3", "983205673214", "r-d")),
                // A hold for the sibling is not a register decision: stored.
                held(register_decision("s-2", "123456789018", "r-e")),
            ],
        )
        .await
        .unwrap();
    assert_eq!(registered_elsewhere(&outcomes[0]), [("s-1", "v-1")]);
    assert_eq!(registered_elsewhere(&outcomes[1]), [("s-1", "v-1")]);
    for outcome in &outcomes[2..] {
        appended_id(outcome);
    }
    // A refused decision claimed no idempotency key: the same request, decided again as a
    // hold, is stored under it.
    let again = backend
        .append_batch(&mut chain, &[held(other_subject)])
        .await
        .unwrap();
    appended_id(&again[0]);
    // Another insurer's registrations are not in view.
    let elsewhere = NewEvent::Decided(Decided {
        insurer_number: OTHER_INSURER.into(),
        ..register_decision("s-2", "123456789018", "r-f")
    });
    appended_id(
        &backend
            .append_batch(&mut chain, &[elsewhere])
            .await
            .unwrap()[0],
    );
    assert_eq!(count_events(&*backend).await, 6);
    assert!(verify_store(&*backend).await.unwrap().is_intact());
}

pub(super) async fn a_refusal_reason_is_stored_and_covered_by_the_chain(
    backend: Arc<dyn AuditBackend>,
) {
    let mut chain = ChainState::new();
    let refused = other_event("registration-service", "v-1");
    let events = [decision(INSURER, "r-1", "v-1"), refused.clone()];
    backend.append_batch(&mut chain, &events).await.unwrap();
    let stored = backend.find_events(INSURER, "v-1").await.unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].event, events[0]);
    assert_eq!(stored[1].event, refused);
    assert!(
        backend
            .find_events(OTHER_INSURER, "v-1")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(verify_store(&*backend).await.unwrap().is_intact());

    backend.drop_append_only_triggers().await;
    let sql = format!(
        "UPDATE audit_events SET occurred_at_us = occurred_at_us + 1 WHERE id = {}",
        stored[1].id
    );
    assert_eq!(backend.execute_raw(&sql).await, Ok(1));
    let report = verify_store(&*backend).await.unwrap();
    assert_eq!(report.first_broken.expect("edit found").id, stored[1].id);
}

pub(super) async fn the_database_refuses_changes_to_registrations(backend: Arc<dyn AuditBackend>) {
    let mut chain = ChainState::new();
    backend
        .append_batch(&mut chain, &[commit(INSURER, "s-1", "123456789018", "v-1")])
        .await
        .unwrap();
    for sql in [
        "UPDATE registrations SET subject_id = 's-forged'",
        "DELETE FROM registrations",
    ] {
        let message = backend.execute_raw(sql).await.expect_err(sql);
        assert!(message.contains("append-only"), "{sql}: {message}");
    }
}

pub(super) async fn replicas_racing_to_commit_one_number_register_it_exactly_once(
    backend: Arc<dyn AuditBackend>,
) {
    let (ha, ta) = AuditWriter::spawn(backend.clone(), 8, 4);
    let (hb, tb) = AuditWriter::spawn(backend.clone(), 8, 4);
    let numbers = [
        "123456789018",
        "983205673214",
        "111111111118",
        "123456789000",
    ];
    for (i, number) in numbers.into_iter().enumerate() {
        let (a, b) = tokio::join!(
            ha.append(commit(
                INSURER,
                &format!("a-{i}"),
                number,
                &format!("va-{i}")
            )),
            hb.append(commit(
                INSURER,
                &format!("b-{i}"),
                number,
                &format!("vb-{i}")
            )),
        );
        let outcomes = [a.unwrap(), b.unwrap()];
        let appended = outcomes
            .iter()
            .filter(|o| matches!(o, AppendOutcome::Appended { .. }))
            .count();
        assert_eq!(appended, 1, "{outcomes:?}");
    }
    drop((ha, hb));
    ta.await.unwrap();
    tb.await.unwrap();
    let report = verify_store(&*backend).await.unwrap();
    assert_eq!(report.events_checked, 4);
    assert!(report.is_intact(), "{report:?}");
}

/// A resolution of the hold `verification_id`.
fn resolution(insurer: &str, verification_id: &str) -> NewEvent {
    let d = decided(insurer, "", verification_id);
    NewEvent::HoldResolved(HoldResolved {
        occurred_at: d.occurred_at,
        caller: "operator-desk".into(),
        insurer_number: d.insurer_number,
        subject_id: d.subject_id,
        verification_id: d.verification_id,
        resolution: Resolution::Withdrawn,
        operator_id: "op-1".into(),
        note: "withdrawn by the employer".into(),
        replaced_by_verification_id: String::new(),
    })
}

pub(super) async fn open_holds_are_listed_oldest_first_until_resolved_once(
    backend: Arc<dyn AuditBackend>,
) {
    let mut chain = ChainState::new();
    let hold = |request: &str, verification: &str| held(decided(INSURER, request, verification));
    let events = [
        hold("r-1", "v-1"),
        decision(INSURER, "r-2", "v-2"),
        hold("r-3", "v-3"),
        hold("r-4", "v-4"),
        held(decided(OTHER_INSURER, "r-5", "v-5")),
    ];
    backend.append_batch(&mut chain, &events).await.unwrap();
    let open = |after: i64, limit: i64| {
        let backend = backend.clone();
        async move {
            let holds = backend
                .list_open_holds(INSURER, after, limit)
                .await
                .unwrap();
            holds
                .into_iter()
                .map(|e| (e.id, e.event.verification_id().to_owned()))
                .collect::<Vec<_>>()
        }
    };
    let all = open(0, 10).await;
    let ids: Vec<&str> = all.iter().map(|(_, v)| v.as_str()).collect();
    assert_eq!(ids, ["v-1", "v-3", "v-4"]);
    let rest = open(all[0].0, 1).await;
    assert_eq!(rest, all[1..2]);

    let outcomes = backend
        .append_batch(
            &mut chain,
            &[resolution(INSURER, "v-3"), resolution(INSURER, "v-3")],
        )
        .await
        .unwrap();
    appended_id(&outcomes[0]);
    assert_eq!(outcomes[1], AppendOutcome::AlreadyResolved);
    let again = backend
        .append_batch(&mut chain, &[resolution(INSURER, "v-3")])
        .await
        .unwrap();
    assert_eq!(again, [AppendOutcome::AlreadyResolved]);
    let ids: Vec<String> = open(0, 10).await.into_iter().map(|(_, v)| v).collect();
    assert_eq!(ids, ["v-1", "v-4"]);
    assert!(verify_store(&*backend).await.unwrap().is_intact());
}

/// Writes `events` as the first release would have (format 1) into the chain `writer_id`,
/// with the idempotency keys and registrations it wrote beside them; returns the chain's end.
async fn write_format_1(
    backend: &dyn AuditBackend,
    writer_id: &str,
    events: &[NewEvent],
) -> ChainState {
    use crate::audit::{comparisons, legacy};
    let q = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let opt = |s: Option<&str>| s.map_or("NULL".to_string(), q);
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
        let sql = format!(
            "INSERT INTO audit_events (format, writer_id, seq, event_type, occurred_at_us, \
             insurer_number, verification_id, decision, hash, caller, subject_id, subject_kind, \
             request_id, policy_version, comparisons, hold_reasons, number_fp_key_id, number_fp, \
             request_fp_key_id, request_fp, response, prev_hash, reason) VALUES (1, {}, {seq}, \
             {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {number_key}, {number_mac}, \
             {request_key}, {request_mac}, {}, {}, {})",
            q(writer_id),
            q(row.event_type.as_str()),
            row.occurred_at_us,
            q(&row.insurer_number),
            q(&row.verification_id),
            opt(row.decision.as_deref()),
            backend.blob_literal(&hash),
            q(&row.caller),
            q(&row.subject_id),
            q(&row.subject_kind),
            q(&row.request_id),
            q(&row.policy_version),
            q(&comparisons::encode(&row.comparisons).unwrap()),
            q(&serde_json::to_string(&row.hold_reasons).unwrap()),
            backend.blob_literal(&row.response),
            backend.blob_literal(&prev),
            opt(row.reason.as_deref()),
        );
        assert_eq!(backend.execute_raw(&sql).await, Ok(1), "{sql}");
        match e {
            NewEvent::Decided(d) => {
                let sql = format!(
                    "INSERT INTO verification_requests (insurer_number, request_id, \
                     verification_id, request_fp_key_id, request_fp) VALUES ({}, {}, {}, {request_key}, {request_mac})",
                    q(&d.insurer_number),
                    q(&d.request_id),
                    q(&d.verification_id)
                );
                assert_eq!(backend.execute_raw(&sql).await, Ok(1), "{sql}");
            }
            NewEvent::CommitAccepted(c) => {
                let sql = format!(
                    "INSERT INTO registrations (insurer_number, number_fp_key_id, number_fp, \
                     subject_id, verification_id, committed_at_us) VALUES ({}, {number_key}, \
                     {number_mac}, {}, {}, {})",
                    q(&c.insurer_number),
                    q(&c.subject_id),
                    q(&c.verification_id),
                    row.occurred_at_us
                );
                assert_eq!(backend.execute_raw(&sql).await, Ok(1), "{sql}");
            }
            NewEvent::HoldResolved(r) => {
                let sql = format!(
                    "INSERT INTO hold_resolutions (insurer_number, verification_id, \
                     resolved_at_us) VALUES ({}, {}, {})",
                    q(&r.insurer_number),
                    q(&r.verification_id),
                    row.occurred_at_us
                );
                assert_eq!(backend.execute_raw(&sql).await, Ok(1), "{sql}");
            }
            _ => {}
        }
        prev = hash;
    }
    ChainState::resume(writer_id.to_string(), events.len() as i64 + 1, prev)
}

pub(super) async fn a_log_mixing_both_formats_loads_verifies_and_is_continued(
    backend: Arc<dyn AuditBackend>,
) {
    let old_hold = Decided {
        selected_candidate: None,
        register_by: Some(UNIX_EPOCH + Duration::new(1_000_000_000, 7)),
        ..decided(INSURER, "r-old-2", "v-old-2")
    };
    let old_events = vec![
        decision(INSURER, "r-old-1", "v-old-1"),
        held(old_hold),
        commit(INSURER, "subject-of-r-old-1", "123456789018", "v-old-1"),
        other_event("registration-service", "v-old-2"),
        resolution(INSURER, "v-old-2"),
        held(decided(INSURER, "r-old-3", "v-old-3")),
    ];
    let writer = "0190aaaa-0000-7000-8000-000000000001";
    let mut old_chain = write_format_1(&*backend, writer, &old_events).await;

    // Everything reads back as today's events, from both formats.
    let all = backend.read_chains().await.unwrap();
    let formats: Vec<i32> = all.iter().map(|e| e.format()).collect();
    assert_eq!(formats, [1; 6]);
    let read: Vec<&NewEvent> = all.iter().map(|e| &e.event).collect();
    assert_eq!(read, old_events.iter().collect::<Vec<_>>());
    assert!(verify_store(&*backend).await.unwrap().is_intact());

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

/// Generates one runner module per backend from one list of tests.
///
/// Each runner builds a fresh store, runs the test, cleans up even if it panicked, then
/// re-raises the panic.
macro_rules! runners {
    ($($test:ident),* $(,)?) => {
        mod sqlite_suite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let db = super::harness::SqliteDb::new().await;
                    let backend = db.backend.clone();
                    db.run(super::$test(backend)).await;
                }
            )*
        }

        mod postgres_suite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "needs PostgreSQL"]
                async fn $test() {
                    let db = super::harness::PostgresDb::new().await;
                    let backend = db.backend.clone();
                    db.run(super::$test(backend)).await;
                }
            )*
        }
    };
}

runners!(
    events_are_appended_and_read_back_unchanged,
    unknown_ids_are_not_found,
    concurrent_callers_are_each_answered_after_their_batch_commits,
    dropping_every_handle_flushes_the_queue_before_the_writer_stops,
    an_invalid_event_fails_alone_and_its_batch_mates_are_stored,
    a_repeated_request_is_a_duplicate_of_the_original_and_writes_nothing,
    duplicates_within_one_batch_and_across_batches_name_the_first_decision,
    only_decisions_claim_request_ids,
    different_insurers_may_reuse_a_request_id,
    lookups_never_cross_insurers,
    a_batch_larger_than_one_statement_is_stored_whole,
    the_database_refuses_updates_and_deletes,
    verification_names_exactly_the_event_edited_behind_the_stores_back,
    a_deleted_event_is_detected_at_the_next_one,
    two_writers_interleaving_on_one_database_both_verify,
    replicas_racing_on_one_request_id_store_exactly_one_decision,
    a_failed_transaction_commits_nothing_and_the_chain_stays_usable,
    a_closed_store_fails_closed,
    a_number_or_subject_is_registered_once_per_insurer,
    a_register_decision_contradicting_a_registration_is_not_written,
    a_refusal_reason_is_stored_and_covered_by_the_chain,
    the_database_refuses_changes_to_registrations,
    replicas_racing_to_commit_one_number_register_it_exactly_once,
    open_holds_are_listed_oldest_first_until_resolved_once,
    a_log_mixing_both_formats_loads_verifies_and_is_continued,
);

/// Fresh stores for the runners, and tests that only one backend can express.
mod harness {
    use std::{future::Future, panic::AssertUnwindSafe, path::PathBuf, sync::Arc};

    use futures::FutureExt;
    use sqlx::Connection;

    use crate::audit::{self, AuditBackend, AuditError};

    /// Runs `test`, then `cleanup`, then re-raises the test's panic if it had one.
    async fn run_then(test: impl Future<Output = ()>, cleanup: impl Future<Output = ()>) {
        let outcome = AssertUnwindSafe(test).catch_unwind().await;
        cleanup.await;
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }

    /// A SQLite file in a directory of its own under the system temp dir.
    pub(super) struct SqliteDb {
        pub(super) backend: Arc<dyn AuditBackend>,
        dir: PathBuf,
    }

    impl SqliteDb {
        pub(super) async fn new() -> Self {
            let dir = std::env::temp_dir().join(format!(
                "verify-identity-audit-{}",
                uuid::Uuid::now_v7().simple()
            ));
            // A directory that does not exist yet: connecting creates it.
            let url = format!("sqlite://{}", dir.join("var/audit.sqlite").display());
            let backend = audit::connect(&url)
                .await
                .expect("open a fresh SQLite store");
            SqliteDb { backend, dir }
        }

        pub(super) async fn run(self, test: impl Future<Output = ()>) {
            let SqliteDb { backend, dir } = self;
            run_then(test, async move {
                backend.close().await;
                let _ = std::fs::remove_dir_all(&dir);
            })
            .await;
        }
    }

    /// A schema of its own in the database named by `VERIFY_IDENTITY_TEST_POSTGRES_URL`.
    pub(super) struct PostgresDb {
        pub(super) backend: Arc<dyn AuditBackend>,
        url: String,
        schema: String,
    }

    impl PostgresDb {
        pub(super) async fn new() -> Self {
            // Loud, not skipped: these tests run only when asked for, and a run that asked for
            // them must not pass without a database.
            let url = std::env::var("VERIFY_IDENTITY_TEST_POSTGRES_URL").unwrap_or_else(|_| {
                panic!(
                    "VERIFY_IDENTITY_TEST_POSTGRES_URL is not set: the PostgreSQL suite was \
                     requested (--ignored) but has no database, e.g. \
                     postgres://postgres@127.0.0.1:5432/test"
                )
            });
            let schema = format!("t_{}", uuid::Uuid::now_v7().simple());
            let mut admin = sqlx::PgConnection::connect(&url)
                .await
                .expect("connect to PostgreSQL");
            sqlx::query(&format!("CREATE SCHEMA {schema}"))
                .execute(&mut admin)
                .await
                .expect("create a test schema");
            admin.close().await.expect("close");
            let separator = if url.contains('?') { '&' } else { '?' };
            let scoped = format!("{url}{separator}options[search_path]={schema}");
            let backend = audit::connect(&scoped)
                .await
                .expect("open a fresh PostgreSQL store");
            PostgresDb {
                backend,
                url,
                schema,
            }
        }

        pub(super) async fn run(self, test: impl Future<Output = ()>) {
            let PostgresDb {
                backend,
                url,
                schema,
            } = self;
            run_then(test, async move {
                backend.close().await;
                let mut admin = sqlx::PgConnection::connect(&url).await.expect("connect");
                sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                    .execute(&mut admin)
                    .await
                    .expect("drop the test schema");
            })
            .await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_refuses_insert_or_replace_which_would_delete_around_the_trigger() {
        let db = SqliteDb::new().await;
        let backend = db.backend.clone();
        db.run(async move {
            let mut chain = audit::ChainState::new();
            let event = super::decision(super::INSURER, "r-1", "v-1");
            backend.append_batch(&mut chain, &[event]).await.unwrap();
            for sql in [
                "INSERT OR REPLACE INTO verification_requests \
                 (insurer_number, request_id, verification_id) VALUES ('12345678', 'r-1', 'x')",
                "REPLACE INTO audit_events SELECT * FROM audit_events",
            ] {
                let message = backend.execute_raw(sql).await.expect_err(sql);
                assert!(message.contains("append-only"), "{sql}: {message}");
            }
            assert!(audit::verify_store(&*backend).await.unwrap().is_intact());
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs PostgreSQL"]
    async fn postgres_refuses_truncate() {
        let db = PostgresDb::new().await;
        let backend = db.backend.clone();
        db.run(async move {
            let mut chain = audit::ChainState::new();
            let event = super::decision(super::INSURER, "r-1", "v-1");
            backend.append_batch(&mut chain, &[event]).await.unwrap();
            for table in ["audit_events", "verification_requests"] {
                let sql = format!("TRUNCATE {table}");
                let message = backend.execute_raw(&sql).await.expect_err(&sql);
                assert!(message.contains("append-only"), "{sql}: {message}");
            }
            assert!(audit::verify_store(&*backend).await.unwrap().is_intact());
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_sqlite_connection_commits_durably_in_wal_mode() {
        let db = SqliteDb::new().await;
        let backend = db.backend.clone();
        db.run(async move {
            let sql = "SELECT (SELECT synchronous FROM pragma_synchronous) || ',' || \
                       (SELECT journal_mode FROM pragma_journal_mode) || ',' || \
                       (SELECT recursive_triggers FROM pragma_recursive_triggers) || ',' || \
                       (SELECT foreign_keys FROM pragma_foreign_keys)";
            // Several at once, so that several pooled connections answer.
            let answers = futures::future::join_all((0..4).map(|_| backend.fetch_text(sql))).await;
            for answer in answers {
                // synchronous = 2 is FULL.
                assert_eq!(answer.as_deref(), Ok("2,wal,1,1"));
            }
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs PostgreSQL"]
    async fn every_postgres_connection_commits_durably() {
        let db = PostgresDb::new().await;
        let backend = db.backend.clone();
        db.run(async move {
            let sql = "SELECT current_setting('synchronous_commit')";
            let answers = futures::future::join_all((0..4).map(|_| backend.fetch_text(sql))).await;
            for answer in answers {
                assert_eq!(answer.as_deref(), Ok("on"));
            }
        })
        .await;
    }

    #[tokio::test]
    async fn an_in_memory_sqlite_store_is_refused_because_it_is_not_durable() {
        for url in ["sqlite::memory:", "sqlite://audit.sqlite?mode=memory"] {
            let refused = audit::connect(url).await.err();
            assert!(matches!(refused, Some(AuditError::Config(_))), "{url}");
        }
    }

    #[tokio::test]
    async fn an_unknown_scheme_is_a_configuration_error() {
        let refused = audit::connect("mysql://localhost/audit").await.err();
        assert!(matches!(refused, Some(AuditError::Config(_))));
    }

    #[tokio::test]
    async fn an_unreachable_postgres_is_unavailable_and_the_error_holds_no_url() {
        let url = "postgres://someone:secret-password@127.0.0.1:9/audit";
        match audit::connect(url).await {
            Err(e @ AuditError::Unavailable(_)) => {
                assert!(!e.to_string().contains("secret-password"), "{e}");
            }
            other => panic!("expected Unavailable, got {:?}", other.err()),
        }
    }
}
