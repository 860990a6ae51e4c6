//! The chain against a tamperer, and several writers on one database.

use super::*;

pub(super) async fn the_database_refuses_updates_and_deletes(backend: Arc<dyn TestBackend>) {
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
        // Refused, or (SQLite's guard against a replaced row, migrations 0007) nothing written.
        match backend.execute_raw(sql).await {
            Err(message) => assert!(message.contains("append-only"), "{sql}: {message}"),
            Ok(changed) => assert_eq!(changed, 0, "{sql}"),
        }
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
    backend: Arc<dyn TestBackend>,
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

pub(super) async fn a_deleted_event_is_detected_at_the_next_one(backend: Arc<dyn TestBackend>) {
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
    backend: Arc<dyn TestBackend>,
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

pub(super) async fn chain_heads_name_the_newest_event_of_every_chain(
    backend: Arc<dyn TestBackend>,
) {
    assert_eq!(backend.chain_heads().await.unwrap(), vec![]);
    let (mut a, mut b) = (ChainState::new(), ChainState::new());
    for i in 0..3 {
        let events = [other_event(&format!("a-{i}"), "v")];
        backend.append_batch(&mut a, &events).await.unwrap();
    }
    let events = [other_event("b-0", "v")];
    backend.append_batch(&mut b, &events).await.unwrap();
    let heads = backend.chain_heads().await.unwrap();
    let stored = backend.read_chains().await.unwrap();
    let mut expected: Vec<_> = [&a, &b]
        .iter()
        .map(|chain| {
            let last = stored
                .iter()
                .filter(|e| e.writer_id == chain.writer_id())
                .max_by_key(|e| e.seq)
                .unwrap();
            crate::audit::checkpoint::ChainHead {
                writer_id: last.writer_id.clone(),
                seq: last.seq,
                hash: last.hash,
                occurred_at_us: crate::audit::micros_since_epoch(last.event.occurred_at()),
            }
        })
        .collect();
    expected.sort_by(|x, y| x.writer_id.cmp(&y.writer_id));
    assert_eq!(heads, expected);
    assert_eq!(
        heads.iter().map(|h| h.seq).max(),
        Some(3),
        "chain a's head is its third event"
    );
}
