//! Idempotency keys: one decision per (insurer, request id), across batches and replicas.

use super::*;

pub(super) async fn a_repeated_request_is_a_duplicate_of_the_original_and_writes_nothing(
    backend: Arc<dyn TestBackend>,
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
    backend: Arc<dyn TestBackend>,
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

pub(super) async fn only_decisions_claim_request_ids(backend: Arc<dyn TestBackend>) {
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

pub(super) async fn different_insurers_may_reuse_a_request_id(backend: Arc<dyn TestBackend>) {
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

pub(super) async fn lookups_never_cross_insurers(backend: Arc<dyn TestBackend>) {
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

pub(super) async fn replicas_racing_on_one_request_id_store_exactly_one_decision(
    backend: Arc<dyn TestBackend>,
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
