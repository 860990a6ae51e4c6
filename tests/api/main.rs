#![allow(missing_docs)] // test scenarios are documented by their names

//! The service through a real gRPC client over a socket, on SQLite (always) and PostgreSQL
//! (`#[ignore]`d; run with `--include-ignored` and `VERIFY_IDENTITY_TEST_POSTGRES_URL`).
//! Each test gets its own server on 127.0.0.1:0 and its own database or schema.

mod helpers;

/// Runs the listed process-level scenarios (in `process`) on both backends.
macro_rules! on_both_backends_process {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::helpers::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "needs PostgreSQL"]
                async fn $name() {
                    super::$name(crate::helpers::Backend::Postgres).await;
                }
            )*
        }
    };
}

mod checkpoints;
mod connections;
mod db_faults;
mod faults;
mod files;
mod keys;
mod odd_requests;
mod process;
mod reflection;
mod replicas;
mod tables;

use std::time::Duration;

use futures::StreamExt;
use helpers::{Backend, hold_request, register_request, return_request, spawn_app, spawn_app_with};
use tonic::Code;
use tonic_types::StatusExt;
use verify_identity::{audit, contract::pb};

/// Runs every listed scenario on both backends.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "needs PostgreSQL"]
                async fn $name() {
                    super::$name(super::Backend::Postgres).await;
                }
            )*
        }
    };
}

mod access;
mod console;
mod export;
mod gate;
mod history;
mod hold_stats;
mod holds;
mod ids;
mod pki;
mod refusals;
mod triage;

on_both_backends!(
    every_decision_kind_is_returned_and_recorded,
    bad_input_is_invalid_argument_naming_the_field,
    an_oversized_message_is_out_of_range,
    a_repeated_request_returns_the_original_and_writes_nothing,
    a_reused_request_id_with_other_content_is_already_exists,
    a_batch_answers_in_order_and_survives_bad_items,
    a_batch_client_that_stops_reading_does_not_make_the_server_buffer,
    get_verification_returns_the_stored_decision_to_its_insurer_only,
    health_and_reflection_work_without_the_proto,
    a_lost_database_fails_closed_and_turns_health_off,
    an_edited_row_is_found_by_audit_verify,
);

async fn audit_report(url: &str) -> audit::chain::VerifyReport {
    let store = audit::connect(url).await.unwrap();
    audit::verify::verify_store(store.as_ref()).await.unwrap()
}

async fn every_decision_kind_is_returned_and_recorded(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let cases = [
        (register_request("r-1"), pb::Decision::Register, 0),
        (hold_request("h-1"), pb::Decision::Hold, -1),
        (return_request("t-1"), pb::Decision::Return, -1),
    ];
    for (request, decision, selected) in cases {
        let response = app.client.verify(request).await.unwrap().into_inner();
        assert_eq!(response.decision(), decision);
        assert_eq!(response.selected_candidate, selected);
        assert!(!response.verification_id.is_empty());
        assert!(response.decided_at.is_some());
        // Received 2026-11-18 20:06:40 in Japan: due at the end of the fifth day after,
        // 2026-11-24T00:00+09:00.
        assert_eq!(response.register_by.unwrap().seconds, 1_795_446_000);
    }
    let hold = app
        .client
        .verify(hold_request("h-2"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        hold.hold_reasons().collect::<Vec<_>>(),
        [pb::HoldReason::FieldDiffers]
    );
    let ret = app
        .client
        .verify(return_request("t-2"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        ret.fields_to_complete().collect::<Vec<_>>(),
        [pb::Field::Address]
    );
    app.stop().await;
    let report = audit_report(&app.db.url).await;
    assert_eq!(report.events_checked, 5);
    assert!(report.first_broken.is_none());
    app.finish().await;
}

async fn bad_input_is_invalid_argument_naming_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut client = app.client.clone();
    let mut no_ids = register_request("");
    no_ids.insurer_number.clear();
    let mut short_insurer = register_request("b-2");
    short_insurer.insurer_number = "3213001".into();
    let mut letters = register_request("b-3");
    letters.candidates[0].individual_number = "40271859302X".into();
    let mut control = register_request("b-4");
    control.declared.as_mut().unwrap().kanji_name = "髙橋\u{0}一郎".into();
    let mut long = register_request("b-5");
    long.query.as_mut().unwrap().address = "東".repeat(400);
    let mut many = register_request("b-6");
    many.candidates = vec![many.candidates[0].clone(); 50];
    let cases = [
        (no_ids, vec!["request_id", "insurer_number"]),
        (short_insurer, vec!["insurer_number"]),
        (letters, vec!["candidates[0].individual_number"]),
        (control, vec!["declared.kanji_name"]),
        (long, vec!["query.address"]),
        (many, vec!["candidates"]),
    ];
    for (request, fields) in cases {
        let status = client.verify(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{fields:?}");
        let violations = status
            .get_details_bad_request()
            .expect("BadRequest details")
            .field_violations;
        let named: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(named, fields);
        assert!(!status.message().contains("髙橋"));
    }
    app.finish().await;
}

async fn an_oversized_message_is_out_of_range(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut request = register_request("big-1");
    request.subject_id = "x".repeat(300 * 1024);
    let status = app.client.clone().verify(request).await.unwrap_err();
    assert_eq!(status.code(), Code::OutOfRange);
    app.finish().await;
}

async fn a_repeated_request_returns_the_original_and_writes_nothing(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let first = app
        .client
        .verify(register_request("same-1"))
        .await
        .unwrap()
        .into_inner();
    let again = app
        .client
        .verify(register_request("same-1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first, again);
    // Concurrent repeats land in one batch or several: all get the original.
    let mut calls = Vec::new();
    for _ in 0..8 {
        let mut c = app.client.clone();
        calls.push(tokio::spawn(async move {
            c.verify(register_request("same-2"))
                .await
                .unwrap()
                .into_inner()
        }));
    }
    let ids: std::collections::HashSet<String> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(|r| r.unwrap().verification_id)
        .collect();
    assert_eq!(ids.len(), 1);
    app.stop().await;
    assert_eq!(audit_report(&app.db.url).await.events_checked, 2);
    app.finish().await;
}

async fn a_reused_request_id_with_other_content_is_already_exists(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut client = app.client.clone();
    client.verify(register_request("reuse-1")).await.unwrap();
    let status = client.verify(hold_request("reuse-1")).await.unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists);
    // Another insurer may use the same key.
    let mut other = register_request("reuse-1");
    other.insurer_number = "06139999".into();
    client.verify(other).await.unwrap();
    app.finish().await;
}

async fn a_batch_answers_in_order_and_survives_bad_items(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let mut requests = Vec::new();
    for i in 0..60 {
        let id = format!("batch-{i}");
        requests.push(match i % 4 {
            0 => register_request(&id),
            1 => hold_request(&id),
            2 => return_request(&id),
            _ => {
                let mut bad = register_request(&id);
                bad.insurer_number = "bad".into();
                bad
            }
        });
    }
    let responses: Vec<pb::VerifyResponse> = app
        .client
        .verify_batch(futures::stream::iter(requests))
        .await
        .unwrap()
        .into_inner()
        .map(|r| r.unwrap())
        .collect()
        .await;
    assert_eq!(responses.len(), 60);
    for (i, r) in responses.iter().enumerate() {
        assert_eq!(r.request_id, format!("batch-{i}"));
        match i % 4 {
            0 => assert_eq!(r.decision(), pb::Decision::Register),
            1 => assert_eq!(r.decision(), pb::Decision::Hold),
            2 => assert_eq!(r.decision(), pb::Decision::Return),
            _ => {
                let error = r.error.as_ref().expect("item error");
                assert_eq!(error.code, Code::InvalidArgument as i32);
                assert_eq!(error.field_violations[0].field, "insurer_number");
                assert!(r.verification_id.is_empty());
            }
        }
    }
    app.stop().await;
    assert_eq!(audit_report(&app.db.url).await.events_checked, 45);
    app.finish().await;
}

async fn a_batch_client_that_stops_reading_does_not_make_the_server_buffer(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.batch_in_flight = 4).await;
    let pulled = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = pulled.clone();
    let (hang_up, hung_up) = tokio::sync::oneshot::channel::<()>();
    let requests = futures::stream::iter(0..20_000)
        .map(move |i| {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            register_request(&format!("bp-{i}"))
        })
        .take_until(hung_up);
    // A client with HTTP/2's default 64 KiB receive windows, so that what it leaves unread is
    // small and what remains is the server's own read-ahead.
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", app.addr))
        .unwrap()
        .initial_stream_window_size(65_535)
        .initial_connection_window_size(65_535)
        .connect()
        .await
        .unwrap();
    let mut client = pb::verify_identity_client::VerifyIdentityClient::new(channel);
    let mut responses = client.verify_batch(requests).await.unwrap().into_inner();
    // Read one response, then stop reading. The server may still work through what HTTP/2
    // flow control let in; then it must stop pulling requests.
    responses.message().await.unwrap().unwrap();
    let mut last = usize::MAX;
    let mut stable = false;
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(700)).await;
        let now = pulled.load(std::sync::atomic::Ordering::SeqCst);
        if now == last {
            stable = true;
            break;
        }
        last = now;
    }
    assert!(stable, "server kept reading while the client did not");
    // Bounded by the flow-control windows plus the in-flight limit, not by the 20,000 offered.
    assert!(last < 3_000, "server read {last} requests ahead");
    // Reading again resumes the batch, in order.
    for i in 1..200 {
        let r = responses.message().await.unwrap().unwrap();
        assert_eq!(r.request_id, format!("bp-{i}"));
        assert!(r.error.is_none());
    }
    // Hanging up cancels the rest of the batch; the server then stops cleanly.
    let _ = hang_up.send(());
    drop(responses);
    drop(client);
    app.finish().await;
}

async fn get_verification_returns_the_stored_decision_to_its_insurer_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut client = app.client.clone();
    let decided = client
        .verify(hold_request("get-1"))
        .await
        .unwrap()
        .into_inner();
    let record = client
        .get_verification(pb::GetVerificationRequest {
            verification_id: decided.verification_id.clone(),
            insurer_number: "32130011".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(record.verification.as_ref(), Some(&decided));
    assert_eq!(record.state(), pb::VerificationState::Held);
    assert_eq!(record.subject_id, "1234-567-01");
    assert_eq!(record.request_id, "get-1");
    assert_eq!(record.subject_kind(), pb::SubjectKind::Member);
    let other = client
        .get_verification(pb::GetVerificationRequest {
            verification_id: decided.verification_id.clone(),
            insurer_number: "06139999".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(other.code(), Code::NotFound);
    let bad = client
        .get_verification(pb::GetVerificationRequest {
            verification_id: String::new(),
            insurer_number: "1".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    app.finish().await;
}

async fn health_and_reflection_work_without_the_proto(backend: Backend) {
    use tonic_health::pb::{
        HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
    };
    let app = spawn_app(backend).await;
    let mut health = HealthClient::new(app.channel.clone());
    for service in ["", "verifyidentity.v1.VerifyIdentity"] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status();
        assert_eq!(status, ServingStatus::Serving, "{service:?}");
    }
    for v1 in [true, false] {
        let services = list_services(&app.channel, v1).await;
        assert!(
            services.contains(&"verifyidentity.v1.VerifyIdentity".to_owned()),
            "{services:?}"
        );
        assert!(
            services.contains(&"grpc.health.v1.Health".to_owned()),
            "{services:?}"
        );
    }
    app.finish().await;
}

/// Lists the services through one version of the reflection API. v1 and v1alpha are two sets
/// of generated types with the same shape, hence a macro rather than a generic function.
macro_rules! list_services_via {
    ($version:ident, $channel:expr) => {{
        use tonic_reflection::pb::$version::{
            ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
            server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
        };
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut client = ServerReflectionClient::new($channel.clone());
        let mut stream = client
            .server_reflection_info(futures::stream::iter([request]))
            .await
            .unwrap()
            .into_inner();
        match stream
            .message()
            .await
            .unwrap()
            .unwrap()
            .message_response
            .unwrap()
        {
            MessageResponse::ListServicesResponse(list) => {
                list.service.into_iter().map(|s| s.name).collect()
            }
            other => panic!("unexpected {other:?}"),
        }
    }};
}

async fn list_services(channel: &tonic::transport::Channel, v1: bool) -> Vec<String> {
    if v1 {
        list_services_via!(v1, channel)
    } else {
        list_services_via!(v1alpha, channel)
    }
}

async fn a_lost_database_fails_closed_and_turns_health_off(backend: Backend) {
    use tonic_health::pb::{
        HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
    };
    let app = spawn_app(backend).await;
    let mut client = app.client.clone();
    client.verify(register_request("ok-1")).await.unwrap();
    app.db.break_it().await;
    let status = client.verify(register_request("lost-1")).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert!(!status.message().contains("髙橋"));
    let mut health = HealthClient::new(app.channel.clone());
    let mut not_serving = false;
    for _ in 0..30 {
        let s = health
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .status();
        if s == ServingStatus::NotServing {
            not_serving = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(not_serving, "health still SERVING with the database gone");
    app.finish().await;
}

async fn an_edited_row_is_found_by_audit_verify(backend: Backend) {
    let mut app = spawn_app(backend).await;
    for i in 0..5 {
        app.client
            .verify(hold_request(&format!("tamper-{i}")))
            .await
            .unwrap();
    }
    app.stop().await;
    assert!(audit_report(&app.db.url).await.first_broken.is_none());
    // The schema refuses the edit while its guard is in place …
    assert!(
        app.db
            .execute("UPDATE audit_events SET decision = 'register'")
            .await
            .is_err()
    );
    assert!(app.db.execute("DELETE FROM audit_events").await.is_err());
    // … and the chain finds it when the guard was removed first.
    app.db.tamper_with_first_event().await;
    let report = audit_report(&app.db.url).await;
    let broken = report.first_broken.expect("tampering detected");
    assert_eq!(broken.seq, 1);
    // The command line says the same, with a non-zero exit.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_verify-identity"))
        .args(["audit", "verify", "--database", &app.db.url])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("BROKEN") && stdout.contains(&format!("id {}", broken.id)),
        "{stdout}"
    );
    app.finish().await;
}
