//! The registration gate through real calls: CommitRegistration's happy path, every refusal,
//! duplicates across subjects, and two servers racing on one database.

use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::StatusExt;
use verify_identity::{
    audit::{self, EventType},
    contract::pb,
};

use crate::helpers::{Backend, TestApp, hold_request, register_for, spawn_app, spawn_app_with};

on_both_backends!(
    a_register_decision_commits_and_a_repeat_returns_the_original,
    every_refusal_is_failed_precondition_with_its_reason_and_audited,
    a_decision_older_than_the_commit_ttl_is_expired,
    a_malformed_commit_is_invalid_argument_and_not_audited,
    a_number_committed_for_a_sibling_is_refused_at_commit_and_held_at_verify,
    a_subject_with_a_committed_number_is_refused_another,
    a_subject_id_spelled_another_way_is_the_same_subject_and_a_hidden_character_is_refused,
    two_servers_racing_to_commit_one_number_for_two_subjects_let_exactly_one_win,
);

const INSURER: &str = "32130011";
const NUMBER: &str = "402718593027";

fn commit_request(
    verification_id: &str,
    subject: &str,
    number: &str,
) -> pb::CommitRegistrationRequest {
    pb::CommitRegistrationRequest {
        verification_id: verification_id.into(),
        insurer_number: INSURER.into(),
        subject_id: subject.into(),
        individual_number: number.into(),
    }
}

/// Decides `request` and returns its verification id.
async fn verified(app: &TestApp, request: pb::VerifyRequest) -> pb::VerifyResponse {
    app.client
        .clone()
        .verify(request)
        .await
        .unwrap()
        .into_inner()
}

async fn commit(
    app: &TestApp,
    request: pb::CommitRegistrationRequest,
) -> Result<pb::CommitRegistrationResponse, Status> {
    app.client
        .clone()
        .commit_registration(request)
        .await
        .map(tonic::Response::into_inner)
}

/// The ErrorInfo reason of a FAILED_PRECONDITION refusal.
fn refusal_reason(status: &Status) -> String {
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    let info = status.get_error_details().error_info().cloned();
    let info = info.expect("an ErrorInfo detail");
    assert_eq!(info.domain, "verifyidentity.v1");
    info.reason
}

/// Every event of the stopped app's store, after checking that the chains are intact.
pub(crate) async fn stored_events(app: &TestApp) -> Vec<audit::NewEvent> {
    let report = crate::audit_report(&app.db.url).await;
    assert!(report.first_broken.is_none(), "{report:?}");
    let store = audit::connect(&app.db.url).await.unwrap();
    let events = store.read_chains().await.unwrap();
    store.close().await;
    events.into_iter().map(|e| e.event).collect()
}

/// The stored refusal ids: the domain's, which are the contract's reasons in lower case.
fn refusal_reasons(events: &[audit::NewEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            audit::NewEvent::CommitRefused(r) => Some(r.reason.id().to_owned()),
            _ => None,
        })
        .collect()
}

async fn a_register_decision_commits_and_a_repeat_returns_the_original(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let decided = verified(&app, register_for("c-1", "s-1", NUMBER)).await;
    assert_eq!(decided.decision(), pb::Decision::Register);
    let request = commit_request(&decided.verification_id, "s-1", NUMBER);
    let first = commit(&app, request.clone()).await.unwrap();
    assert!(!first.commit_id.is_empty());
    assert!(first.committed_at.is_some());
    // The number may be written in another notation: it is compared by fingerprint.
    let mut spaced = request.clone();
    spaced.individual_number = "4027 1859 3027".into();
    assert_eq!(commit(&app, spaced).await.unwrap(), first);
    assert_eq!(commit(&app, request).await.unwrap(), first);

    let record = app
        .client
        .clone()
        .get_verification(pb::GetVerificationRequest {
            verification_id: decided.verification_id.clone(),
            insurer_number: INSURER.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(record.state(), pb::VerificationState::Committed);
    assert_eq!(record.committed_at, first.committed_at);

    app.stop().await;
    let events = stored_events(&app).await;
    let types: Vec<EventType> = events.iter().map(|e| e.event_type()).collect();
    // Repeats write nothing.
    assert_eq!(
        types,
        [EventType::VerificationDecided, EventType::CommitAccepted]
    );
    app.finish().await;
}

async fn every_refusal_is_failed_precondition_with_its_reason_and_audited(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let register = verified(&app, register_for("r-1", "s-1", NUMBER)).await;
    let hold = verified(&app, hold_request("h-1")).await;
    let id = register.verification_id.as_str();
    let mut other_insurer = commit_request(id, "s-1", NUMBER);
    other_insurer.insurer_number = "06139999".into();
    let cases = [
        (
            commit_request("no-such-verification", "s-1", NUMBER),
            "VERIFICATION_NOT_FOUND",
        ),
        (other_insurer, "VERIFICATION_NOT_FOUND"),
        (commit_request(id, "s-2", NUMBER), "SUBJECT_MISMATCH"),
        (
            commit_request(&hold.verification_id, "1234-567-01", NUMBER),
            "NOT_REGISTER",
        ),
        (commit_request(id, "s-1", "983205673214"), "NUMBER_MISMATCH"),
    ];
    for (request, reason) in &cases {
        let status = commit(&app, request.clone()).await.unwrap_err();
        assert_eq!(refusal_reason(&status), *reason);
        assert!(!status.message().contains("983205673214"));
    }
    // None of the refusals used up the decision.
    commit(&app, commit_request(id, "s-1", NUMBER))
        .await
        .unwrap();

    app.stop().await;
    let events = stored_events(&app).await;
    let expected: Vec<String> = cases.iter().map(|(_, r)| r.to_lowercase()).collect();
    assert_eq!(refusal_reasons(&events), expected);
    for e in &events {
        let debug = format!("{e:?}");
        assert!(!debug.contains(NUMBER) && !debug.contains("983205673214"));
    }
    app.finish().await;
}

async fn a_decision_older_than_the_commit_ttl_is_expired(backend: Backend) {
    let mut app = spawn_app_with(backend, |s| s.commit_ttl = Duration::from_millis(1)).await;
    let decided = verified(&app, register_for("e-1", "s-1", NUMBER)).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let status = commit(
        &app,
        commit_request(&decided.verification_id, "s-1", NUMBER),
    )
    .await
    .unwrap_err();
    assert_eq!(refusal_reason(&status), "EXPIRED");
    app.stop().await;
    assert_eq!(refusal_reasons(&stored_events(&app).await), ["expired"]);
    app.finish().await;
}

async fn a_malformed_commit_is_invalid_argument_and_not_audited(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let status = commit(
        &app,
        pb::CommitRegistrationRequest {
            verification_id: String::new(),
            insurer_number: "1".into(),
            subject_id: String::new(),
            individual_number: "983205673210".into(),
        },
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let details = status.get_error_details();
    let fields: Vec<&str> = details
        .bad_request()
        .expect("BadRequest")
        .field_violations
        .iter()
        .map(|v| v.field.as_str())
        .collect();
    assert_eq!(
        fields,
        [
            "verification_id",
            "subject_id",
            "insurer_number",
            "individual_number"
        ]
    );
    assert!(!format!("{status:?}").contains("983205673210"));
    app.stop().await;
    assert!(stored_events(&app).await.is_empty());
    app.finish().await;
}

async fn a_number_committed_for_a_sibling_is_refused_at_commit_and_held_at_verify(
    backend: Backend,
) {
    let mut app = spawn_app(backend).await;
    // Both decided before either commits: only the commit can catch the duplicate.
    let parent = verified(&app, register_for("p-1", "parent", NUMBER)).await;
    let child = verified(&app, register_for("c-1", "child", NUMBER)).await;
    assert_eq!(child.decision(), pb::Decision::Register);
    commit(
        &app,
        commit_request(&parent.verification_id, "parent", NUMBER),
    )
    .await
    .unwrap();
    let status = commit(
        &app,
        commit_request(&child.verification_id, "child", NUMBER),
    )
    .await
    .unwrap_err();
    assert_eq!(
        refusal_reason(&status),
        "NUMBER_REGISTERED_TO_ANOTHER_SUBJECT"
    );
    // Decided after the commit: held at once.
    let again = verified(&app, register_for("c-2", "child", NUMBER)).await;
    assert_eq!(again.decision(), pb::Decision::Hold);
    assert_eq!(again.selected_candidate, -1);
    assert_eq!(
        again.hold_reasons().collect::<Vec<_>>(),
        [pb::HoldReason::NumberRegisteredToAnotherSubject]
    );
    // Another insurer's registrations are its own.
    let mut elsewhere = register_for("c-3", "child", NUMBER);
    elsewhere.insurer_number = "06139999".into();
    assert_eq!(
        verified(&app, elsewhere).await.decision(),
        pb::Decision::Register
    );
    app.stop().await;
    assert_eq!(
        refusal_reasons(&stored_events(&app).await),
        ["number_registered_to_another_subject"]
    );
    app.finish().await;
}

async fn a_subject_with_a_committed_number_is_refused_another(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = verified(&app, register_for("n-1", "s-1", NUMBER)).await;
    let second = verified(&app, register_for("n-2", "s-1", "983205673214")).await;
    commit(&app, commit_request(&first.verification_id, "s-1", NUMBER))
        .await
        .unwrap();
    let status = commit(
        &app,
        commit_request(&second.verification_id, "s-1", "983205673214"),
    )
    .await
    .unwrap_err();
    assert_eq!(refusal_reason(&status), "SUBJECT_HAS_ANOTHER_NUMBER");
    let again = verified(&app, register_for("n-3", "s-1", "983205673214")).await;
    assert_eq!(
        again.hold_reasons().collect::<Vec<_>>(),
        [pb::HoldReason::SubjectHasAnotherNumber]
    );
    app.finish().await;
}

async fn two_servers_racing_to_commit_one_number_for_two_subjects_let_exactly_one_win(
    backend: Backend,
) {
    let mut app = spawn_app(backend).await;
    let mut replica = app.spawn_replica().await;
    let numbers = [
        "123456789018",
        "983205673214",
        "111111111118",
        "123456789000",
    ];
    for (round, number) in numbers.into_iter().enumerate() {
        let (a, b) = (format!("a-{round}"), format!("b-{round}"));
        let va = verified(&app, register_for(&a, &a, number)).await;
        let vb = verified(&replica, register_for(&b, &b, number)).await;
        let (ra, rb) = tokio::join!(
            commit(&app, commit_request(&va.verification_id, &a, number)),
            commit(&replica, commit_request(&vb.verification_id, &b, number)),
        );
        let (winner, loser) = match (ra, rb) {
            (Ok(w), Err(l)) | (Err(l), Ok(w)) => (w, l),
            other => panic!("exactly one commit must win: {other:?}"),
        };
        assert!(!winner.commit_id.is_empty());
        assert_eq!(
            refusal_reason(&loser),
            "NUMBER_REGISTERED_TO_ANOTHER_SUBJECT"
        );
    }
    replica.stop().await;
    app.stop().await;
    let events = stored_events(&app).await;
    let count = |t: EventType| events.iter().filter(|e| e.event_type() == t).count();
    assert_eq!(count(EventType::CommitAccepted), numbers.len());
    assert_eq!(count(EventType::CommitRefused), numbers.len());
    // The command line agrees: every gate event is in an intact chain.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_verify-identity"))
        .args(["audit", "verify", "--database", &app.db.url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    app.finish().await;
}

async fn a_subject_id_spelled_another_way_is_the_same_subject_and_a_hidden_character_is_refused(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let first = verified(&app, register_for("c-0", "S10", NUMBER)).await;
    commit(&app, commit_request(&first.verification_id, "S10", NUMBER))
        .await
        .unwrap();
    // Each spelling is the same person: a fresh number for it is held, never registered, and
    // a commit of it is refused.
    let fresh = "983205673214";
    for (i, spelling) in ["S10 ", " S10", "Ｓ10", "s10", "\u{3000}S10"]
        .iter()
        .enumerate()
    {
        let again = verified(&app, register_for(&format!("c-{}", i + 1), spelling, fresh)).await;
        assert_eq!(
            again.hold_reasons().collect::<Vec<_>>(),
            [pb::HoldReason::SubjectHasAnotherNumber],
            "{spelling:?}"
        );
    }
    let other = verified(&app, register_for("c-9", "S11", fresh)).await;
    let status = commit(&app, commit_request(&other.verification_id, "s10", fresh))
        .await
        .unwrap_err();
    assert_eq!(refusal_reason(&status), "SUBJECT_MISMATCH", "{status:?}");
    // Characters that print as nothing are refused, naming the field.
    for hidden in ["S10\u{200B}", "S10\u{00AD}", "\u{FEFF}S10", "S10\u{E0020}"] {
        let status = app
            .client
            .clone()
            .verify(register_for("c-h", hidden, fresh))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{hidden:?}");
        assert_eq!(crate::helpers::violated_fields(&status), ["subject_id"]);
    }
    app.finish().await;
}
