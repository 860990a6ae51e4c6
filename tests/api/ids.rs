//! Ids at the edge: oversized or control-character ids on every id-taking RPC are refused as
//! `INVALID_ARGUMENT` naming the field, and a refusal stores nothing of them.

use tonic::Code;
use tonic_types::StatusExt;
use verify_identity::grpc::pb;

use crate::helpers::{Backend, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_control_character_ids_are_refused_and_nothing_is_stored() {
    let mut app = spawn_app(Backend::Sqlite).await;
    let mut client = app.client.clone();
    let huge = "v".repeat(125 * 1024);
    let controls = "\u{1}\u{7}\u{1b}".repeat(40 * 1024);
    let fields = |status: tonic::Status| -> Vec<String> {
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        let details = status.get_error_details();
        let bad = details.bad_request().expect("a BadRequest detail");
        bad.field_violations
            .iter()
            .map(|v| v.field.clone())
            .collect()
    };

    let commit = client
        .commit_registration(pb::CommitRegistrationRequest {
            verification_id: huge.clone(),
            insurer_number: "32130011".into(),
            subject_id: controls.clone(),
            individual_number: "123456789018".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(fields(commit), ["verification_id", "subject_id"]);

    let get = client
        .get_verification(pb::GetVerificationRequest {
            verification_id: huge.clone(),
            insurer_number: "32130011".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(fields(get), ["verification_id"]);

    let resolve = client
        .resolve_hold(pb::ResolveHoldRequest {
            verification_id: controls.clone(),
            insurer_number: "32130011".into(),
            resolution: pb::Resolution::Withdrawn.into(),
            operator_id: "op-1".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(fields(resolve).contains(&"verification_id".to_owned()));

    app.stop().await;
    let report = crate::audit_report(&app.db.url).await;
    assert_eq!(report.events_checked, 0, "a refused call stored something");
    app.finish().await;
}
