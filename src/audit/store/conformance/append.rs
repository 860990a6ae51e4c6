//! Appending and reading back: batches, the group-commit writer, failures.

use super::*;

pub(super) async fn events_are_appended_and_read_back_unchanged(backend: Arc<dyn TestBackend>) {
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

pub(super) async fn unknown_ids_are_not_found(backend: Arc<dyn TestBackend>) {
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
    backend: Arc<dyn TestBackend>,
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
    backend: Arc<dyn TestBackend>,
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
    backend: Arc<dyn TestBackend>,
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

pub(super) async fn a_batch_larger_than_one_statement_is_stored_whole(
    backend: Arc<dyn TestBackend>,
) {
    let mut chain = ChainState::new();
    let n = crate::audit::store::sql::ROWS_PER_STATEMENT + 150;
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

pub(super) async fn a_failed_transaction_commits_nothing_and_the_chain_stays_usable(
    backend: Arc<dyn TestBackend>,
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

pub(super) async fn a_closed_store_fails_closed(backend: Arc<dyn TestBackend>) {
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
