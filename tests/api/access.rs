//! Who may do what, through real calls: each RPC for each role, wrong and missing tokens,
//! callers outside their insurers, the audit trail of every refusal, TLS and mTLS, and the
//! settings the server refuses to start with.

use futures::StreamExt;
use sha2::{Digest, Sha256};
use tonic::{Code, Status};
use verify_identity::{
    audit::{EventType, NewEvent},
    config::{CallerConfig, Role, Settings, TlsSettings},
    contract::pb,
    server::{self, StartError},
};

use crate::{
    gate::stored_events,
    helpers::{
        Backend, TestApp, TestDatabase, register_request, settings_for, spawn_app_tls,
        spawn_app_with, with_token,
    },
    pki::Pki,
};

on_both_backends!(
    each_rpc_is_allowed_to_its_roles_and_denied_to_the_others,
    a_wrong_or_missing_token_is_unauthenticated_and_health_stays_open,
    a_caller_outside_its_insurers_is_permission_denied_even_per_batch_item,
    every_denial_is_an_access_denied_event_without_the_token_and_the_chain_verifies,
    hold_stats_without_insurers_count_only_the_callers_own,
);

const INSURER: &str = "32130011";
const OTHER_INSURER: &str = "99999999";
pub(crate) const REGISTRAR: &str = "registrar-token-7f3a";
const OPERATOR: &str = "operator-token-91c2";
const AUDITOR: &str = "auditor-token-0d5e";

fn caller(name: &str, token: &str, role: Role) -> CallerConfig {
    CallerConfig {
        name: name.into(),
        token_sha256: Some(hex::encode(Sha256::digest(token.as_bytes()))),
        client_cert_sha256: None,
        client_cert_cn: None,
        insurers: vec![INSURER.into()],
        roles: vec![role],
    }
}

/// One caller per role, each for [`INSURER`] only.
pub(crate) fn secured(settings: &mut Settings) {
    settings.callers = vec![
        caller("registration-system", REGISTRAR, Role::Registrar),
        caller("operator-desk", OPERATOR, Role::Operator),
        caller("audit-office", AUDITOR, Role::Auditor),
    ];
}

const RPCS: [&str; 8] = [
    "Verify",
    "VerifyBatch",
    "CommitRegistration",
    "ResolveHold",
    "ListHolds",
    "GetVerification",
    "HoldStats",
    "SubjectHistory",
];

/// Calls `rpc` for `insurer` with `token` (none when `None`); `Ok` unless the call fails
/// as a whole. Requests are well formed, so an allowed call fails only with a gate answer
/// such as NOT_FOUND.
async fn call(app: &TestApp, rpc: &str, token: Option<&str>, insurer: &str) -> Result<(), Status> {
    fn authed<T>(message: T, token: Option<&str>) -> tonic::Request<T> {
        match token {
            Some(token) => with_token(message, token),
            None => tonic::Request::new(message),
        }
    }
    let mut client = app.client.clone();
    let id = uuid::Uuid::now_v7().to_string();
    let mut verify = register_request(&id);
    verify.insurer_number = insurer.into();
    match rpc {
        "Verify" => client.verify(authed(verify, token)).await.map(drop),
        "VerifyBatch" => {
            let stream = futures::stream::iter(vec![verify]);
            let mut responses = client
                .verify_batch(authed(stream, token))
                .await?
                .into_inner();
            while let Some(item) = responses.next().await {
                item?;
            }
            Ok(())
        }
        "CommitRegistration" => client
            .commit_registration(authed(
                pb::CommitRegistrationRequest {
                    verification_id: id,
                    insurer_number: insurer.into(),
                    subject_id: "1234-567-01".into(),
                    individual_number: "402718593027".into(),
                },
                token,
            ))
            .await
            .map(drop),
        "ResolveHold" => client
            .resolve_hold(authed(
                pb::ResolveHoldRequest {
                    verification_id: id,
                    insurer_number: insurer.into(),
                    resolution: pb::Resolution::Withdrawn.into(),
                    operator_id: "operator-7".into(),
                    note: String::new(),
                    replaced_by_verification_id: String::new(),
                    ..Default::default()
                },
                token,
            ))
            .await
            .map(drop),
        "ListHolds" => client
            .list_holds(authed(
                pb::ListHoldsRequest {
                    insurer_number: insurer.into(),
                    ..Default::default()
                },
                token,
            ))
            .await
            .map(drop),
        "GetVerification" => client
            .get_verification(authed(
                pb::GetVerificationRequest {
                    verification_id: id,
                    insurer_number: insurer.into(),
                },
                token,
            ))
            .await
            .map(drop),
        "SubjectHistory" => client
            .subject_history(authed(
                pb::SubjectHistoryRequest {
                    insurer_number: insurer.into(),
                    subject_id: "1234-567-01".into(),
                },
                token,
            ))
            .await
            .map(drop),
        "HoldStats" => client
            .hold_stats(authed(
                pb::HoldStatsRequest {
                    insurer_numbers: vec![insurer.into()],
                    from: Some(pbjson_types::Timestamp::default()),
                    ..Default::default()
                },
                token,
            ))
            .await
            .map(drop),
        other => panic!("unknown rpc {other}"),
    }
}

fn is_denial(code: Code) -> bool {
    matches!(code, Code::PermissionDenied | Code::Unauthenticated)
}

async fn each_rpc_is_allowed_to_its_roles_and_denied_to_the_others(backend: Backend) {
    let app = spawn_app_with(backend, secured).await;
    let grants: [(&str, &[&str]); 3] = [
        (REGISTRAR, &["Verify", "VerifyBatch", "CommitRegistration"]),
        (
            OPERATOR,
            &[
                "ResolveHold",
                "ListHolds",
                "GetVerification",
                "HoldStats",
                "SubjectHistory",
            ],
        ),
        (
            AUDITOR,
            &[
                "ListHolds",
                "GetVerification",
                "HoldStats",
                "SubjectHistory",
            ],
        ),
    ];
    for (token, granted) in grants {
        for rpc in RPCS {
            let result = call(&app, rpc, Some(token), INSURER).await;
            if granted.contains(&rpc) {
                if let Err(status) = &result {
                    assert!(
                        !is_denial(status.code()),
                        "{rpc} must be allowed to {token}: {status:?}"
                    );
                }
            } else {
                let status = result.expect_err("denied");
                assert_eq!(status.code(), Code::PermissionDenied, "{rpc} for {token}");
            }
        }
    }
    app.finish().await;
}

async fn a_wrong_or_missing_token_is_unauthenticated_and_health_stays_open(backend: Backend) {
    let app = spawn_app_with(backend, secured).await;
    for rpc in RPCS {
        for token in [Some("not-a-configured-token"), None] {
            let status = call(&app, rpc, token, INSURER).await.expect_err("refused");
            assert_eq!(status.code(), Code::Unauthenticated, "{rpc} with {token:?}");
        }
    }
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let health = HealthClient::new(app.channel.clone())
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await;
    assert!(health.is_ok(), "health needs no credentials: {health:?}");
    app.finish().await;
}

async fn a_caller_outside_its_insurers_is_permission_denied_even_per_batch_item(backend: Backend) {
    let app = spawn_app_with(backend, secured).await;
    for (rpc, token) in [
        ("Verify", REGISTRAR),
        ("CommitRegistration", REGISTRAR),
        ("ResolveHold", OPERATOR),
        ("ListHolds", AUDITOR),
        ("GetVerification", AUDITOR),
        ("SubjectHistory", AUDITOR),
        ("SubjectHistory", OPERATOR),
    ] {
        let status = call(&app, rpc, Some(token), OTHER_INSURER)
            .await
            .expect_err("another insurer");
        assert_eq!(status.code(), Code::PermissionDenied, "{rpc}");
    }

    let mine = register_request("batch-mine");
    let mut theirs = register_request("batch-theirs");
    theirs.insurer_number = OTHER_INSURER.into();
    let stream = futures::stream::iter(vec![mine, theirs]);
    let responses: Vec<pb::VerifyResponse> = app
        .client
        .clone()
        .verify_batch(with_token(stream, REGISTRAR))
        .await
        .unwrap()
        .into_inner()
        .map(|r| r.unwrap())
        .collect()
        .await;
    assert!(responses[0].error.is_none(), "{:?}", responses[0].error);
    let error = responses[1].error.as_ref().expect("an item error");
    assert_eq!(error.code, Code::PermissionDenied as i32);
    app.finish().await;
}

async fn every_denial_is_an_access_denied_event_without_the_token_and_the_chain_verifies(
    backend: Backend,
) {
    let mut app = spawn_app_with(backend, secured).await;
    call(&app, "Verify", Some(REGISTRAR), INSURER)
        .await
        .unwrap();
    let _ = call(&app, "Verify", Some("stolen-token-x"), INSURER).await;
    let _ = call(&app, "ResolveHold", Some(REGISTRAR), INSURER).await;
    let _ = call(&app, "ListHolds", Some(OPERATOR), OTHER_INSURER).await;
    app.stop().await;

    let events = stored_events(&app).await;
    let decided = events
        .iter()
        .find(|e| e.event_type() == EventType::VerificationDecided)
        .expect("the allowed Verify");
    assert_eq!(decided.caller(), "registration-system");
    // Written at shutdown, one counted event each; the insurer of an unauthenticated call is
    // nobody's claim and is not kept.
    let denied: Vec<(&str, &str, &str, &str, u64, &str)> = events
        .iter()
        .filter_map(|e| match e {
            NewEvent::AccessDenied(e) => Some((
                e.caller.as_str(),
                e.rpc.as_str(),
                e.reason.as_str(),
                e.insurer_number.as_str(),
                e.count,
                e.peer.as_str(),
            )),
            _ => None,
        })
        .collect();
    let local = "127.0.0.1";
    assert_eq!(
        denied,
        vec![
            ("unauthenticated", "Verify", "UNAUTHENTICATED", "", 1, local),
            (
                "registration-system",
                "ResolveHold",
                "ROLE_NOT_GRANTED",
                INSURER,
                1,
                local
            ),
            (
                "operator-desk",
                "ListHolds",
                "INSURER_NOT_GRANTED",
                OTHER_INSURER,
                1,
                local
            ),
        ]
    );
    let everything = format!("{events:?}");
    for token in [REGISTRAR, OPERATOR, "stolen-token-x"] {
        assert!(!everything.contains(token));
    }
    app.finish().await;
}

/// TLS settings from the test CA's files.
pub(crate) fn tls(pki: &Pki, mtls: bool) -> TlsSettings {
    TlsSettings {
        cert: pki.server_cert.clone(),
        key: pki.server_key.clone(),
        client_ca: mtls.then(|| pki.ca.clone()),
    }
}

pub(crate) fn scratch() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("vi-pki-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tls_a_token_caller_is_served_and_a_caller_without_one_is_not() {
    let dir = scratch();
    let pki = Pki::generate(&dir);
    let app = spawn_app_tls(
        Backend::Sqlite,
        |s| {
            secured(s);
            s.tls = Some(tls(&pki, false));
        },
        pki.client(),
    )
    .await;
    call(&app, "Verify", Some(REGISTRAR), INSURER)
        .await
        .unwrap();
    call(&app, "ListHolds", Some(OPERATOR), INSURER)
        .await
        .unwrap();
    let status = call(&app, "Verify", None, INSURER).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    app.finish().await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_mtls_a_pinned_client_certificate_authenticates_its_caller_without_a_token() {
    let dir = scratch();
    let pki = Pki::generate(&dir);
    let pinned = CallerConfig {
        name: "registration-system".into(),
        token_sha256: None,
        client_cert_sha256: Some(pki.client_cert_sha256.clone()),
        client_cert_cn: None,
        insurers: vec![INSURER.into()],
        roles: vec![Role::Registrar],
    };
    let mut app = spawn_app_tls(
        Backend::Sqlite,
        |s| {
            s.callers = vec![pinned];
            s.tls = Some(tls(&pki, true));
        },
        pki.client_with_certificate(),
    )
    .await;
    call(&app, "Verify", None, INSURER).await.unwrap();
    let status = call(&app, "ListHolds", None, INSURER).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    app.stop().await;
    let events = stored_events(&app).await;
    assert!(
        events
            .iter()
            .filter(|e| e.event_type() == EventType::VerificationDecided)
            .all(|e| e.caller() == "registration-system")
    );
    app.finish().await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_mtls_a_client_certificate_may_name_its_caller_by_common_name() {
    let dir = scratch();
    let pki = Pki::generate(&dir);
    let by_name = CallerConfig {
        name: "registration-system".into(),
        token_sha256: None,
        client_cert_sha256: None,
        // The CN rcgen gave the test client certificate.
        client_cert_cn: Some("registration-system".into()),
        insurers: vec![INSURER.into()],
        roles: vec![Role::Registrar],
    };
    let app = spawn_app_tls(
        Backend::Sqlite,
        |s| {
            s.callers = vec![by_name];
            s.tls = Some(tls(&pki, true));
        },
        pki.client_with_certificate(),
    )
    .await;
    call(&app, "Verify", None, INSURER).await.unwrap();
    app.finish().await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_callers_without_a_client_ca_are_refused_at_start() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let mut settings = settings_for(&db);
    settings.callers = vec![CallerConfig {
        name: "x".into(),
        token_sha256: None,
        client_cert_sha256: None,
        client_cert_cn: Some("x".into()),
        insurers: vec![INSURER.into()],
        roles: vec![Role::Auditor],
    }];
    assert!(server::build(&settings).await.is_err());
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_mtls_a_connection_without_a_client_certificate_is_refused() {
    let dir = scratch();
    let pki = Pki::generate(&dir);
    let app = spawn_app_tls(
        Backend::Sqlite,
        |s| {
            secured(s);
            s.tls = Some(tls(&pki, true));
        },
        pki.client_with_certificate(),
    )
    .await;
    // TLS 1.3 may finish the client's side of the handshake before the server refuses, so
    // the refusal shows either at connect or at the first call.
    let refused = match tonic::transport::Channel::from_shared(format!("https://{}", app.addr))
        .unwrap()
        .tls_config(pki.client())
        .unwrap()
        .connect()
        .await
    {
        Err(_) => true,
        Ok(channel) => pb::verify_identity_client::VerifyIdentityClient::new(channel)
            .verify(with_token(register_request("no-cert"), REGISTRAR))
            .await
            .is_err(),
    };
    assert!(refused, "a client without a certificate must not be served");
    app.finish().await;
    std::fs::remove_dir_all(dir).unwrap();
}

/// What `server::run` says when started with `adjust`ed settings on 0.0.0.0.
async fn start_on_all_interfaces(adjust: impl FnOnce(&mut Settings)) -> Result<(), StartError> {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let mut settings = settings_for(&db);
    adjust(&mut settings);
    let app = server::build(&settings).await.unwrap();
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    // If it started after all, stop it at once rather than hang.
    let result = server::run(listener, app, async {}).await;
    db.drop().await;
    result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_mode_on_a_non_loopback_address_refuses_to_start() {
    let dir = scratch();
    let pki = Pki::generate(&dir);
    let err = start_on_all_interfaces(|s| s.tls = Some(tls(&pki, false)))
        .await
        .expect_err("refused");
    assert!(
        matches!(&err, StartError::Exposed(m) if m.contains("[[callers]]")),
        "{err}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_tcp_on_a_non_loopback_address_refuses_to_start() {
    let err = start_on_all_interfaces(secured).await.expect_err("refused");
    assert!(
        matches!(&err, StartError::Exposed(m) if m.contains("tls_cert")),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_and_tls_may_serve_a_non_loopback_address() {
    let dir = scratch();
    let pki = Pki::generate(&dir);
    start_on_all_interfaces(|s| {
        secured(s);
        s.tls = Some(tls(&pki, false));
    })
    .await
    .expect("starts, and stops at once");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_commands_reach_a_tls_server_with_a_token_and_a_ca_certificate() {
    let dir = scratch();
    let pki = Pki::generate(&dir);
    let app = spawn_app_tls(
        Backend::Sqlite,
        |s| {
            secured(s);
            s.tls = Some(tls(&pki, false));
        },
        pki.client(),
    )
    .await;
    let server = format!("https://localhost:{}", app.addr.port());
    let request = serde_json::to_vec(&register_request("cli-1")).unwrap();
    let ca = pki.ca.clone();
    let run = move |args: Vec<String>, token: &'static str, stdin: Vec<u8>| {
        let ca = ca.clone();
        tokio::task::spawn_blocking(move || {
            use std::io::Write as _;
            let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_verify-identity"))
                .args(args)
                .arg("--ca-cert")
                .arg(&ca)
                .env("VERIFY_IDENTITY_TOKEN", token)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            child.stdin.take().unwrap().write_all(&stdin).unwrap();
            child.wait_with_output().unwrap()
        })
    };
    let verify = |token| {
        run(
            vec!["verify".into(), "--server".into(), server.clone()],
            token,
            request.clone(),
        )
    };
    let ok = verify(REGISTRAR).await.unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let refused = verify("not-a-configured-token").await.unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("Unauthenticated"));

    let loadgen = run(
        [
            "loadgen",
            "--server",
            &server,
            "--duration",
            "1s",
            "--warmup",
            "0s",
            "--connections",
            "1",
            "--concurrency",
            "2",
            "--json",
        ]
        .map(String::from)
        .to_vec(),
        REGISTRAR,
        Vec::new(),
    )
    .await
    .unwrap();
    assert!(
        loadgen.status.success(),
        "{}",
        String::from_utf8_lossy(&loadgen.stderr)
    );
    app.finish().await;
    std::fs::remove_dir_all(dir).unwrap();
}

async fn hold_stats_without_insurers_count_only_the_callers_own(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        secured(s);
        // A registrar of another insurer, whose holds the auditor must not see.
        let mut other = caller("other-registrar", "other-registrar-token", Role::Registrar);
        other.insurers = vec![OTHER_INSURER.into()];
        s.callers.push(other);
    })
    .await;
    let mut ours = crate::helpers::hold_request("ours");
    ours.insurer_number = INSURER.into();
    app.client
        .clone()
        .verify(with_token(ours, REGISTRAR))
        .await
        .unwrap();
    for id in ["theirs-1", "theirs-2"] {
        let mut theirs = crate::helpers::hold_request(id);
        theirs.insurer_number = OTHER_INSURER.into();
        app.client
            .clone()
            .verify(with_token(theirs, "other-registrar-token"))
            .await
            .unwrap();
    }
    let request = pb::HoldStatsRequest {
        from: Some(pbjson_types::Timestamp::default()),
        ..Default::default()
    };
    let stats = app
        .client
        .clone()
        .hold_stats(with_token(request, AUDITOR))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stats.totals.unwrap().holds, 1);
    assert!(stats.rows.iter().all(|r| r.insurer_number == INSURER));
    app.finish().await;
}
