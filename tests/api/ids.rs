//! Ids at the edge: oversized or control-character ids on every id-taking RPC are refused as
//! `INVALID_ARGUMENT` naming the field (each id of each RPC, table-driven), and a refusal stores
//! nothing of them.

use futures::StreamExt;
use tonic::Code;
use tonic_types::StatusExt;
use verify_identity::contract::pb;

use crate::helpers::{Backend, register_request, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_control_character_ids_are_refused_and_nothing_is_stored() {
    let mut app = spawn_app(Backend::Sqlite).await;
    let mut client = app.client.clone();
    let huge = "v".repeat(125 * 1024);
    let controls = "\u{1}\u{7}\u{1b}".repeat(40 * 1024);
    let fields = |status: tonic::Status| crate::helpers::violated_fields(&status);

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

/// A value too long for any id or note, and one with a control character a note refuses too.
fn hostile_values() -> [(&'static str, String); 2] {
    [
        ("oversized", "v".repeat(100 * 1024)),
        ("control character", "op-1\r\u{1b}[2J".into()),
    ]
}

/// One request of every RPC with `field` set to `value`, every other field valid.
#[derive(Clone, Copy, Debug)]
enum Rpc {
    Verify,
    VerifyBatch,
    Commit,
    Get,
    Resolve,
    List,
}

/// Every id-like field of every RPC.
const FIELDS: &[(Rpc, &str)] = &[
    (Rpc::Verify, "request_id"),
    (Rpc::Verify, "insurer_number"),
    (Rpc::Verify, "subject_id"),
    (Rpc::VerifyBatch, "request_id"),
    (Rpc::VerifyBatch, "subject_id"),
    (Rpc::Commit, "verification_id"),
    (Rpc::Commit, "insurer_number"),
    (Rpc::Commit, "subject_id"),
    (Rpc::Commit, "individual_number"),
    (Rpc::Get, "verification_id"),
    (Rpc::Get, "insurer_number"),
    (Rpc::Resolve, "verification_id"),
    (Rpc::Resolve, "insurer_number"),
    (Rpc::Resolve, "operator_id"),
    (Rpc::Resolve, "note"),
    (Rpc::Resolve, "replaced_by_verification_id"),
    (Rpc::List, "insurer_number"),
    (Rpc::List, "page_token"),
];

/// The violated fields of a call with `field` set to `value`.
async fn violated(
    app: &crate::helpers::TestApp,
    rpc: Rpc,
    field: &str,
    value: &str,
) -> Vec<String> {
    let mut client = app.client.clone();
    let set = |name: &str, default: &str| {
        if name == field {
            value.to_owned()
        } else {
            default.to_owned()
        }
    };
    let from_status = |status: tonic::Status| -> Vec<String> {
        assert_eq!(
            status.code(),
            Code::InvalidArgument,
            "{rpc:?} {field}: {status:?}"
        );
        let details = status.get_error_details();
        let bad = details.bad_request().expect("a BadRequest detail");
        bad.field_violations
            .iter()
            .map(|v| v.field.clone())
            .collect()
    };
    let verify = || {
        let mut r = register_request(&set("request_id", "req-1"));
        r.insurer_number = set("insurer_number", "32130011");
        r.subject_id = set("subject_id", "1234-567-01");
        r
    };
    match rpc {
        Rpc::Verify => from_status(client.verify(verify()).await.unwrap_err()),
        Rpc::VerifyBatch => {
            let mut responses = client
                .verify_batch(futures::stream::iter(vec![verify()]))
                .await
                .unwrap()
                .into_inner();
            let item = responses.next().await.unwrap().unwrap();
            let error = item.error.expect("an item error");
            assert_eq!(error.code, Code::InvalidArgument as i32, "{field}");
            error
                .field_violations
                .into_iter()
                .map(|v| v.field)
                .collect()
        }
        Rpc::Commit => from_status(
            client
                .commit_registration(pb::CommitRegistrationRequest {
                    verification_id: set("verification_id", "v-1"),
                    insurer_number: set("insurer_number", "32130011"),
                    subject_id: set("subject_id", "1234-567-01"),
                    individual_number: set("individual_number", "402718593027"),
                })
                .await
                .unwrap_err(),
        ),
        Rpc::Get => from_status(
            client
                .get_verification(pb::GetVerificationRequest {
                    verification_id: set("verification_id", "v-1"),
                    insurer_number: set("insurer_number", "32130011"),
                })
                .await
                .unwrap_err(),
        ),
        Rpc::Resolve => from_status(
            client
                .resolve_hold(pb::ResolveHoldRequest {
                    verification_id: set("verification_id", "v-1"),
                    insurer_number: set("insurer_number", "32130011"),
                    resolution: pb::Resolution::Requeried.into(),
                    operator_id: set("operator_id", "op-1"),
                    note: set("note", "called back"),
                    replaced_by_verification_id: set("replaced_by_verification_id", "v-2"),
                    ..Default::default()
                })
                .await
                .unwrap_err(),
        ),
        Rpc::List => from_status(
            client
                .list_holds(pb::ListHoldsRequest {
                    insurer_number: set("insurer_number", "32130011"),
                    page_token: set("page_token", ""),
                    ..Default::default()
                })
                .await
                .unwrap_err(),
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_id_of_every_rpc_is_bounded_and_free_of_control_characters_and_nothing_is_stored() {
    let mut app = spawn_app(Backend::Sqlite).await;
    for &(rpc, field) in FIELDS {
        for (what, value) in hostile_values() {
            let fields = violated(&app, rpc, field, &value).await;
            assert_eq!(fields, [field], "{rpc:?} with an {what} {field}");
        }
    }
    app.stop().await;
    let report = crate::audit_report(&app.db.url).await;
    assert_eq!(report.events_checked, 0, "a refused call stored something");
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verify_without_a_subject_is_refused_naming_it_and_nothing_is_stored() {
    let app = spawn_app(Backend::Sqlite).await;
    let mut client = app.client.clone();
    // Without the subject no duplicate check can run, and a register decision could never be
    // committed: it must not be decided at all.
    let mut no_subject = register_request("no-subject");
    no_subject.subject_id = String::new();
    let status = client.verify(no_subject).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(crate::helpers::violated_fields(&status), ["subject_id"]);

    let mut blank_subject = register_request("blank-subject");
    blank_subject.subject_id = "   ".into();
    let status = client.verify(blank_subject).await.unwrap_err();
    assert_eq!(crate::helpers::violated_fields(&status), ["subject_id"]);

    let mut no_kind = register_request("no-kind");
    no_kind.subject_kind = pb::SubjectKind::Unspecified.into();
    let status = client.verify(no_kind).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(crate::helpers::violated_fields(&status), ["subject_kind"]);
    let details = status.get_error_details();
    let description = &details.bad_request().unwrap().field_violations[0].description;
    assert!(description.contains("SUBJECT_KIND_MEMBER"), "{description}");

    // The same in a batch: the item is refused, the stream goes on.
    let mut item = register_request("batch-no-subject");
    item.subject_id = String::new();
    let answers: Vec<_> = client
        .verify_batch(futures::stream::iter([item, register_request("batch-ok")]))
        .await
        .unwrap()
        .into_inner()
        .collect()
        .await;
    let first = answers[0].as_ref().unwrap();
    let error = first.error.as_ref().expect("the item is refused");
    assert_eq!(error.code, Code::InvalidArgument as i32);
    assert_eq!(error.field_violations[0].field, "subject_id");
    assert_eq!(
        answers[1].as_ref().unwrap().decision(),
        pb::Decision::Register
    );
    let stored = crate::gate::stored_events(&app).await;
    assert_eq!(stored.len(), 1, "only the valid item is stored");
    app.finish().await;
}
