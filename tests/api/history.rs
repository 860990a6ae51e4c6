//! SubjectHistory through real calls: a subject's decisions and what followed each, in order,
//! of its own insurer only; an unknown subject (or another insurer's) is NOT_FOUND.

use tonic::Code;
use verify_identity::contract::pb::{self, subject_history_event::Event};

use crate::helpers::{
    Backend, TestApp, hold_request, register_for, register_request, spawn_app, violated_fields,
};

on_both_backends!(
    a_subjects_history_is_every_decision_assignment_resolution_and_commit_in_order,
    a_subject_of_another_insurer_or_of_nobody_is_not_found,
);

const INSURER: &str = "32130011";
const ELSEWHERE: &str = "06139999";
const SUBJECT: &str = "1234-567-01";

async fn verified(app: &TestApp, request: pb::VerifyRequest) -> String {
    let response = app.client.clone().verify(request).await.unwrap();
    response.into_inner().verification_id
}

async fn history(
    app: &TestApp,
    insurer: &str,
    subject: &str,
) -> Result<pb::SubjectHistoryResponse, tonic::Status> {
    let request = pb::SubjectHistoryRequest {
        insurer_number: insurer.into(),
        subject_id: subject.into(),
    };
    let response = app.client.clone().subject_history(request).await?;
    Ok(response.into_inner())
}

async fn a_subjects_history_is_every_decision_assignment_resolution_and_commit_in_order(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let mut client = app.client.clone();
    let held = verified(&app, hold_request("h-1")).await;
    // Another subject of the insurer, and the same subject id at another insurer.
    verified(
        &app,
        register_for("r-sibling", "1234-567-02", "402718593027"),
    )
    .await;
    let mut elsewhere = register_request("r-elsewhere");
    elsewhere.insurer_number = ELSEWHERE.into();
    verified(&app, elsewhere).await;
    client
        .assign_hold(pb::AssignHoldRequest {
            verification_id: held.clone(),
            insurer_number: INSURER.into(),
            assignee: "sato".into(),
        })
        .await
        .unwrap();
    let later = verified(&app, register_request("r-later")).await;
    client
        .resolve_hold(pb::ResolveHoldRequest {
            verification_id: held.clone(),
            insurer_number: INSURER.into(),
            resolution: pb::Resolution::Requeried.into(),
            operator_id: "sato".into(),
            note: "called the person".into(),
            replaced_by_verification_id: later.clone(),
            cause: pb::HoldCause::NotationOrVariant.into(),
        })
        .await
        .unwrap();
    let commit = |number: &str| pb::CommitRegistrationRequest {
        verification_id: later.clone(),
        insurer_number: INSURER.into(),
        subject_id: SUBJECT.into(),
        individual_number: number.into(),
    };
    let refused = client.commit_registration(commit("123456789018")).await;
    assert_eq!(refused.unwrap_err().code(), Code::FailedPrecondition);
    let accepted = client
        .commit_registration(commit("402718593027"))
        .await
        .unwrap()
        .into_inner();

    let answer = history(&app, INSURER, SUBJECT).await.unwrap();
    assert!(!answer.truncated);
    let events: Vec<(&str, &Event)> = answer
        .events
        .iter()
        .map(|e| (e.verification_id.as_str(), e.event.as_ref().unwrap()))
        .collect();
    assert_eq!(events.len(), 6, "{events:?}");
    assert_eq!(events[0].0, held);
    match events[0].1 {
        Event::Decided(d) => {
            assert_eq!(d.decision(), pb::Decision::Hold);
            assert!(!d.hold_reasons.is_empty());
            assert_ne!(d.risk_class(), pb::RiskClass::Unspecified);
        }
        other => panic!("a decision first, got {other:?}"),
    }
    assert_eq!(
        events[1],
        (
            held.as_str(),
            &Event::Assigned(pb::SubjectHistoryAssigned {
                assignee: "sato".into()
            })
        )
    );
    match events[2] {
        (id, Event::Decided(d)) if id == later => {
            assert_eq!(d.decision(), pb::Decision::Register);
            assert!(d.hold_reasons.is_empty());
        }
        other => panic!("the later decision third, got {other:?}"),
    }
    assert_eq!(
        events[3],
        (
            held.as_str(),
            &Event::Resolved(pb::SubjectHistoryResolved {
                resolution: pb::Resolution::Requeried.into(),
                cause: pb::HoldCause::NotationOrVariant.into(),
                replaced_by_verification_id: later.clone(),
            })
        )
    );
    assert_eq!(
        events[4],
        (
            later.as_str(),
            &Event::CommitRefused(pb::SubjectHistoryCommitRefused {
                reason: "NUMBER_MISMATCH".into()
            })
        )
    );
    assert_eq!(
        events[5],
        (
            later.as_str(),
            &Event::CommitAccepted(pb::SubjectHistoryCommitAccepted {
                commit_id: accepted.commit_id
            })
        )
    );
    assert_eq!(answer.events[3].actor, "sato");
    // Oldest first, and the note (free text) is not part of a history.
    let times: Vec<_> = answer
        .events
        .iter()
        .map(|e| e.occurred_at.unwrap())
        .map(|t| (t.seconds, t.nanos))
        .collect();
    assert!(times.is_sorted(), "{times:?}");
    assert!(!format!("{answer:?}").contains("called the person"));
    app.finish().await;
}

async fn a_subject_of_another_insurer_or_of_nobody_is_not_found(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut elsewhere = register_request("r-elsewhere");
    elsewhere.insurer_number = ELSEWHERE.into();
    verified(&app, elsewhere).await;
    for (insurer, subject) in [(INSURER, SUBJECT), (INSURER, "9999-999-99")] {
        let status = history(&app, insurer, subject).await.unwrap_err();
        assert_eq!(status.code(), Code::NotFound, "{insurer} {subject}");
    }
    let theirs = history(&app, ELSEWHERE, SUBJECT).await.unwrap();
    assert_eq!(theirs.events.len(), 1);
    let status = history(&app, INSURER, "").await.unwrap_err();
    assert_eq!(violated_fields(&status), ["subject_id"]);
    let status = history(&app, "not-an-insurer", SUBJECT).await.unwrap_err();
    assert_eq!(violated_fields(&status), ["insurer_number"]);
    app.finish().await;
}
