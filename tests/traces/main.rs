//! The service's spans, read from the SDK's in-memory exporter: a server in this process, the
//! crate's spans exported through the same queue as in production, and real gRPC calls that
//! carry a W3C `traceparent`.
//!
//! A binary of its own, because it installs the process's one tracing subscriber (with the
//! trace layer); every test reads only the spans of the trace ids it sent.

#[path = "../api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use std::{
    sync::OnceLock,
    time::{Duration, Instant},
};

use futures::StreamExt as _;
use helpers::{Backend, hold_request, register_request, return_request, spawn_app};
use opentelemetry::{
    Value,
    trace::{SpanId, SpanKind, TraceId},
};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use verify_identity::{contract::pb, telemetry};

/// The exporter every span of this process goes to, and the traces that feed it.
fn exporter() -> &'static (InMemorySpanExporter, telemetry::Traces) {
    static EXPORTER: OnceLock<(InMemorySpanExporter, telemetry::Traces)> = OnceLock::new();
    EXPORTER.get_or_init(|| {
        let exporter = InMemorySpanExporter::default();
        let given = exporter.clone();
        let traces =
            telemetry::Traces::with_exporter(move || Ok(given), None, telemetry::QUEUE_CAPACITY)
                .unwrap();
        telemetry::init_traces_only(&traces);
        (exporter, traces)
    })
}

/// A caller's span: a fresh trace id and span id, as the caller's SDK would make them.
struct Caller {
    trace_id: TraceId,
    span_id: SpanId,
}

impl Caller {
    fn new() -> Self {
        Caller {
            trace_id: TraceId::from(rand::random::<u128>() | 1),
            span_id: SpanId::from(rand::random::<u64>() | 1),
        }
    }

    /// `message` with the caller's `traceparent` (sampled) and a `tracestate`.
    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request.metadata_mut().insert(
            "traceparent",
            format!("00-{}-{}-01", self.trace_id, self.span_id)
                .parse()
                .unwrap(),
        );
        request
            .metadata_mut()
            .insert("tracestate", "vendor=opaque".parse().unwrap());
        request
    }

    /// The spans of this caller's trace once `done` says they are all there (the server's span
    /// ends when its response has been sent, a moment after the client has it).
    fn spans(&self, done: impl Fn(&[SpanData]) -> bool) -> Vec<SpanData> {
        let (exporter, traces) = exporter();
        let started = Instant::now();
        loop {
            traces.flush();
            let spans: Vec<SpanData> = exporter
                .get_finished_spans()
                .unwrap()
                .into_iter()
                .filter(|s| s.span_context.trace_id() == self.trace_id)
                .collect();
            if done(&spans) || started.elapsed() > Duration::from_secs(20) {
                return spans;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

fn text(span: &SpanData, key: &str) -> String {
    attribute(span, key)
        .map(|v| v.as_str().into_owned())
        .unwrap_or_else(|| panic!("{} has no {key}: {:?}", span.name, span.attributes))
}

fn named<'a>(spans: &'a [SpanData], name: &str) -> Vec<&'a SpanData> {
    spans.iter().filter(|s| s.name == name).collect()
}

fn one<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    let found = named(spans, name);
    assert_eq!(
        found.len(),
        1,
        "one {name} span expected among {:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    found[0]
}

const VERIFY: &str = "verifyidentity.v1.VerifyIdentity/Verify";

/// One Verify with a traceparent: the server's span continues the caller's, and the decision,
/// the wait for the audit batch and its commit are its children.
async fn a_verify_continues_the_callers_trace(backend: Backend, system: &str) {
    exporter();
    let app = spawn_app(backend).await;
    let caller = Caller::new();
    let mut client = app.client.clone();
    let response = client
        .verify(caller.request(register_request("trace-1")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.decision(), pb::Decision::Register);
    let spans =
        caller.spans(|s| !named(s, VERIFY).is_empty() && !named(s, "audit.commit").is_empty());

    let server = one(&spans, VERIFY);
    assert_eq!(server.span_kind, SpanKind::Server);
    assert_eq!(
        server.parent_span_id, caller.span_id,
        "the caller's span is the parent"
    );
    assert!(server.parent_span_is_remote);
    assert_eq!(
        server.span_context.trace_state().header(),
        "vendor=opaque",
        "the caller's tracestate goes on"
    );
    assert_eq!(text(server, "rpc.system"), "grpc");
    assert_eq!(
        text(server, "rpc.service"),
        "verifyidentity.v1.VerifyIdentity"
    );
    assert_eq!(text(server, "rpc.method"), "Verify");
    assert_eq!(text(server, "insurer_number"), "32130011");
    assert_eq!(
        attribute(server, "rpc.grpc.status_code"),
        Some(&Value::I64(0))
    );

    let server_id = server.span_context.span_id();
    let decide = one(&spans, "decide");
    assert_eq!(decide.parent_span_id, server_id);
    assert_eq!(text(decide, "decision"), "register");
    assert!(
        text(decide, "classes").contains("declared_vs_query.kanji_name=variant"),
        "{}",
        text(decide, "classes")
    );
    assert!(text(decide, "rule_ids").contains("kanji.variant"));

    let wait = one(&spans, "audit.wait");
    assert_eq!(wait.parent_span_id, server_id);
    assert_eq!(text(wait, "audit.event"), "verification.decided");
    let commit = one(&spans, "audit.commit");
    assert_eq!(commit.parent_span_id, wait.span_context.span_id());
    assert_eq!(text(commit, "db.system"), system);
    assert_eq!(text(commit, "audit.outcome"), "committed");
    assert_eq!(attribute(commit, "audit.batch_size"), Some(&Value::I64(1)));
    app.finish().await;
}

#[tokio::test]
async fn a_verify_with_a_traceparent_continues_the_callers_trace_on_sqlite() {
    a_verify_continues_the_callers_trace(Backend::Sqlite, "sqlite").await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL"]
async fn a_verify_with_a_traceparent_continues_the_callers_trace_on_postgres() {
    a_verify_continues_the_callers_trace(Backend::Postgres, "postgresql").await;
}

#[tokio::test]
async fn a_call_without_a_traceparent_starts_a_trace_of_its_own() {
    exporter();
    let app = spawn_app(Backend::Sqlite).await;
    let mut client = app.client.clone();
    let before: Vec<TraceId> = trace_ids();
    client.verify(register_request("own-1")).await.unwrap();
    let started = Instant::now();
    let server = loop {
        exporter().1.flush();
        let found = exporter()
            .0
            .get_finished_spans()
            .unwrap()
            .into_iter()
            .find(|s| {
                s.name == VERIFY
                    && !before.contains(&s.span_context.trace_id())
                    && attribute(s, "rpc.grpc.status_code").is_some()
                    && s.parent_span_id == SpanId::INVALID
            });
        if let Some(found) = found {
            break found;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no root span");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!server.parent_span_is_remote);
    app.finish().await;
}

fn trace_ids() -> Vec<TraceId> {
    exporter()
        .0
        .get_finished_spans()
        .unwrap()
        .iter()
        .map(|s| s.span_context.trace_id())
        .collect()
}

#[tokio::test]
async fn a_verify_batch_has_a_span_per_item_under_its_call() {
    exporter();
    let app = spawn_app(Backend::Sqlite).await;
    let caller = Caller::new();
    let mut client = app.client.clone();
    let items = vec![
        register_request("batch-1"),
        hold_request("batch-2"),
        return_request("batch-3"),
    ];
    let responses: Vec<_> = client
        .verify_batch(caller.request(tokio_stream::iter(items)))
        .await
        .unwrap()
        .into_inner()
        .collect()
        .await;
    assert_eq!(responses.len(), 3);
    let batch = "verifyidentity.v1.VerifyIdentity/VerifyBatch";
    let spans = caller.spans(|s| !named(s, batch).is_empty() && named(s, "decide").len() == 3);
    let server = one(&spans, batch);
    assert_eq!(server.parent_span_id, caller.span_id);
    let items = named(&spans, "item");
    assert_eq!(items.len(), 3);
    for item in &items {
        assert_eq!(item.parent_span_id, server.span_context.span_id());
    }
    let mut decisions: Vec<String> = named(&spans, "decide")
        .iter()
        .map(|d| {
            assert!(
                items
                    .iter()
                    .any(|i| i.span_context.span_id() == d.parent_span_id)
            );
            text(d, "decision")
        })
        .collect();
    decisions.sort();
    assert_eq!(decisions, ["hold", "register", "return"]);
    app.finish().await;
}

/// Every personal value of `requests`: the five fields of the form, the query and each
/// candidate, and the individual numbers.
fn personal_values(requests: &[pb::VerifyRequest]) -> Vec<String> {
    let mut values = Vec::new();
    for r in requests {
        let mut records: Vec<&pb::FiveFields> = Vec::new();
        records.extend(r.declared.as_ref());
        records.extend(r.query.as_ref());
        records.extend(r.candidates.iter().filter_map(|c| c.fields.as_ref()));
        for f in records {
            values.extend([
                f.kanji_name.clone(),
                f.kana_name.clone(),
                f.birth_date.clone(),
                f.address.clone(),
            ]);
        }
        values.extend(r.candidates.iter().map(|c| c.individual_number.clone()));
        values.push(r.declared_individual_number.clone());
        values.push(r.subject_id.clone());
    }
    values.retain(|v| !v.is_empty());
    values.sort();
    values.dedup();
    values
}

/// Every string a span carries to a collector: its name, attributes, events, links and status.
fn strings_of(span: &SpanData) -> Vec<String> {
    let mut out = vec![span.name.to_string(), format!("{:?}", span.status)];
    let mut add = |kvs: &[opentelemetry::KeyValue]| {
        for kv in kvs {
            out.push(kv.key.to_string());
            out.push(kv.value.to_string());
        }
    };
    add(&span.attributes);
    for event in span.events.iter() {
        add(&event.attributes);
    }
    for link in span.links.iter() {
        add(&link.attributes);
    }
    for event in span.events.iter() {
        out.push(event.name.to_string());
    }
    out
}

#[tokio::test]
async fn no_attribute_of_a_run_holds_personal_values() {
    exporter();
    let app = spawn_app(Backend::Sqlite).await;
    let caller = Caller::new();
    let mut client = app.client.clone();
    let mut sent = Vec::new();

    let register = register_request("pd-1");
    sent.push(register.clone());
    let decided = client
        .verify(caller.request(register))
        .await
        .unwrap()
        .into_inner();
    for request in [hold_request("pd-2"), return_request("pd-3")] {
        sent.push(request.clone());
        client.verify(caller.request(request)).await.unwrap();
    }
    let batch = vec![hold_request("pd-4"), register_request("pd-5")];
    sent.extend(batch.clone());
    let _: Vec<_> = client
        .verify_batch(caller.request(tokio_stream::iter(batch)))
        .await
        .unwrap()
        .into_inner()
        .collect()
        .await;
    client
        .commit_registration(caller.request(pb::CommitRegistrationRequest {
            verification_id: decided.verification_id.clone(),
            insurer_number: "32130011".into(),
            subject_id: "1234-567-01".into(),
            individual_number: "402718593027".into(),
        }))
        .await
        .unwrap();
    // A refused commit: the wrong number, named in no span either.
    let refused = client
        .commit_registration(caller.request(pb::CommitRegistrationRequest {
            verification_id: decided.verification_id.clone(),
            insurer_number: "32130011".into(),
            subject_id: "1234-567-01".into(),
            individual_number: "123456789018".into(),
        }))
        .await;
    assert!(refused.is_err());
    client
        .list_holds(caller.request(pb::ListHoldsRequest {
            insurer_number: "32130011".into(),
            ..Default::default()
        }))
        .await
        .unwrap();
    client
        .get_verification(caller.request(pb::GetVerificationRequest {
            verification_id: decided.verification_id.clone(),
            insurer_number: "32130011".into(),
        }))
        .await
        .unwrap();

    let spans = caller.spans(|s| named(s, "decide").len() >= 5 && s.len() >= 25);
    assert!(named(&spans, "decide").len() >= 5, "{} spans", spans.len());
    assert!(!named(&spans, "audit.commit").is_empty());
    let mut personal = personal_values(&sent);
    personal.push("123456789018".into());
    let mut strings = Vec::new();
    for span in &spans {
        strings.extend(strings_of(span));
    }
    for s in &strings {
        for value in &personal {
            assert!(!s.contains(value.as_str()), "{value:?} in a span: {s:?}");
        }
        // A fingerprint is 32 bytes, written as 64 hexadecimal digits (or base64): no run of
        // hexadecimal digits that long, nor a twelve-digit number, appears in any span.
        let longest_hex = s
            .split(|c: char| !c.is_ascii_hexdigit())
            .map(str::len)
            .max()
            .unwrap_or(0);
        assert!(
            longest_hex < 40,
            "a fingerprint-like value in a span: {s:?}"
        );
        let longest_digits = s
            .split(|c: char| !c.is_ascii_digit())
            .map(str::len)
            .max()
            .unwrap_or(0);
        assert!(longest_digits < 12, "a number-like value in a span: {s:?}");
    }
    app.finish().await;
}

/// A console page with a traceparent: its span continues the caller's trace and names the page
/// by its first path segment, not by the case it shows.
#[tokio::test]
async fn a_console_page_with_a_traceparent_continues_the_callers_trace() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    exporter();
    let (app, addr) = helpers::spawn_app_with_console(Backend::Sqlite, |s| {
        s.console_users = vec![verify_identity::config::ConsoleUserConfig {
            name: "clerk".into(),
            password_argon2id: verify_identity::config::hash_password("a long test password"),
            client_cert_sha256: None,
            client_cert_cn: None,
            insurers: vec!["32130011".into()],
            roles: vec![verify_identity::config::Role::Operator],
        }];
    })
    .await;
    let caller = Caller::new();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET /signin HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         traceparent: 00-{}-{}-01\r\n\r\n",
        caller.trace_id, caller.span_id
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );

    let spans = caller.spans(|s| !named(s, "GET /signin").is_empty());
    let page = one(&spans, "GET /signin");
    assert_eq!(page.parent_span_id, caller.span_id);
    assert_eq!(page.span_kind, SpanKind::Server);
    assert_eq!(text(page, "http.route"), "/signin");
    assert_eq!(
        attribute(page, "http.response.status_code").map(|v| v.as_str().into_owned()),
        Some("200".to_owned())
    );
    app.finish().await;
}
