//! The registration gate's rules in the store: registrations, refusals, holds.

use super::*;

fn taken_by(outcome: &AppendOutcome) -> (&str, &str) {
    match outcome {
        AppendOutcome::RegistrationTaken { existing } => {
            (&existing.subject_id, &existing.verification_id)
        }
        other => panic!("expected a taken registration, got {other:?}"),
    }
}

pub(super) async fn a_number_or_subject_is_registered_once_per_insurer(
    backend: Arc<dyn TestBackend>,
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
    backend: Arc<dyn TestBackend>,
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
    backend: Arc<dyn TestBackend>,
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

pub(super) async fn the_database_refuses_changes_to_registrations(backend: Arc<dyn TestBackend>) {
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
    backend: Arc<dyn TestBackend>,
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

pub(super) async fn open_holds_are_listed_oldest_first_until_resolved_once(
    backend: Arc<dyn TestBackend>,
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

    // Every insurer's, for the managers' gauges: the same rule, by insurer and row, page by
    // page. OTHER_INSURER (87654321) sorts after INSURER.
    let every = |insurer: &'static str, after: i64, limit: i64| {
        let backend = backend.clone();
        async move {
            backend
                .list_all_open_holds(insurer, after, limit)
                .await
                .unwrap()
                .into_iter()
                .map(|e| (e.id, e.event.verification_id().to_owned()))
                .collect::<Vec<_>>()
        }
    };
    let everyone = every("", 0, 10).await;
    let ids: Vec<&str> = everyone.iter().map(|(_, v)| v.as_str()).collect();
    assert_eq!(ids, ["v-1", "v-4", "v-5"]);
    assert_eq!(every(INSURER, everyone[0].0, 1).await, everyone[1..2]);
    assert_eq!(every(INSURER, everyone[1].0, 10).await, everyone[2..]);
    assert_eq!(every(OTHER_INSURER, everyone[2].0, 10).await, []);
    assert!(verify_store(&*backend).await.unwrap().is_intact());
}
