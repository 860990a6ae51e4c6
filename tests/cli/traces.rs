//! Traces from the real binary: `serve --otlp-endpoint` exporting to an OTLP collector started
//! in this test on 127.0.0.1:0, the trace id in the JSON log, and a dead collector that costs
//! nothing but counted drops.

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpListener as StdListener, TcpStream},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use opentelemetry_proto::tonic::{
    collector::trace::v1::{
        ExportTraceServiceRequest, ExportTraceServiceResponse,
        trace_service_server::{TraceService, TraceServiceServer},
    },
    trace::v1::{Span, span::SpanKind},
};
use verify_identity::contract::pb::{self, verify_identity_client::VerifyIdentityClient};

/// An OTLP collector: keeps every span it is sent.
#[derive(Clone, Default)]
struct Collector {
    spans: Arc<Mutex<Vec<Span>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.spans.lock().unwrap();
        for resource in request.into_inner().resource_spans {
            for scope in resource.scope_spans {
                spans.extend(scope.spans);
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

impl Collector {
    /// Serves the collector on 127.0.0.1:0 (on the test's runtime); its address.
    async fn start(&self) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let service = TraceServiceServer::new(self.clone());
        tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
                .await
                .unwrap();
        });
        addr
    }

    fn spans_of(&self, trace_id: &[u8]) -> Vec<Span> {
        self.spans
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.trace_id == trace_id)
            .cloned()
            .collect()
    }
}

/// A `serve` process logging JSON to a file; killed and its directory removed when dropped.
struct Served {
    child: Child,
    dir: PathBuf,
    url: String,
}

impl Served {
    fn start(extra: &[&str]) -> Served {
        let dir = std::env::temp_dir().join(format!("vi-trace-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = std::fs::File::create(dir.join("serve.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_verify-identity"))
            .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
            .arg("--database")
            .arg(format!("sqlite:{}", dir.join("audit.sqlite").display()))
            .arg("--hmac-key-file")
            .arg(dir.join("hmac.key"))
            .args(extra)
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .env_remove("OTEL_SDK_DISABLED")
            .env_remove("OTEL_TRACES_SAMPLER")
            .current_dir(&dir)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("the binary runs");
        let mut served = Served {
            child,
            dir,
            url: String::new(),
        };
        let started = Instant::now();
        while served.url.is_empty() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "serve did not report its address: {}",
                served.log()
            );
            std::thread::sleep(Duration::from_millis(50));
            served.url = served
                .log()
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .find(|l| l["message"] == "serving")
                .map(|l| format!("http://{}", l["addr"].as_str().unwrap()))
                .unwrap_or_default();
        }
        served
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("serve.log")).unwrap_or_default()
    }

    async fn client(&self) -> VerifyIdentityClient<tonic::transport::Channel> {
        VerifyIdentityClient::connect(self.url.clone())
            .await
            .unwrap()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The register example as a request, with `traceparent` naming `trace_id` and `span_id`.
fn register(request_id: &str, trace_id: &str, span_id: &str) -> tonic::Request<pb::VerifyRequest> {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/register.json"),
    )
    .unwrap();
    let mut message: pb::VerifyRequest = serde_json::from_str(&text).unwrap();
    message.request_id = request_id.into();
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{trace_id}-{span_id}-01").parse().unwrap(),
    );
    request
}

fn fresh_ids() -> (String, String) {
    (
        format!("{:032x}", rand::random::<u128>() | 1),
        format!("{:016x}", rand::random::<u64>() | 1),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_exports_the_callers_trace_to_an_otlp_collector_and_logs_its_id() {
    let collector = Collector::default();
    let addr = collector.start().await;
    let served = Served::start(&["--otlp-endpoint", &format!("http://{addr}")]);
    let (trace_id, span_id) = fresh_ids();
    let response = served
        .client()
        .await
        .verify(register("otlp-1", &trace_id, &span_id))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.decision(), pb::Decision::Register);

    let trace = hex::decode(&trace_id).unwrap();
    let started = Instant::now();
    let spans = loop {
        let spans = collector.spans_of(&trace);
        if spans.iter().any(|s| s.name.ends_with("/Verify"))
            && spans.iter().any(|s| s.name == "audit.commit")
        {
            break spans;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the collector did not get the call's spans: {spans:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let server = spans
        .iter()
        .find(|s| s.name == "verifyidentity.v1.VerifyIdentity/Verify")
        .unwrap();
    assert_eq!(server.kind, SpanKind::Server as i32);
    assert_eq!(hex::encode(&server.parent_span_id), span_id);
    for child in ["decide", "audit.wait"] {
        let child = spans.iter().find(|s| s.name == child).unwrap();
        assert_eq!(child.parent_span_id, server.span_id, "{}", child.name);
    }

    // Every log line of the call names its trace.
    let log = served.log();
    let decided = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["message"] == "decided")
        .unwrap_or_else(|| panic!("no decided line: {log}"));
    assert_eq!(decided["span"]["trace_id"], trace_id.as_str(), "{decided}");
}

/// A port nothing listens on.
fn closed_port() -> SocketAddr {
    let listener = StdListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// The Prometheus text of `addr`.
fn scrape(addr: SocketAddr) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text
}

/// The value of the sample `name` (with its labels) in `text`.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_collector_costs_the_calls_nothing_but_counted_drops() {
    let dead = closed_port();
    let metrics = closed_port();
    let served = Served::start(&[
        "--otlp-endpoint",
        &format!("http://{dead}"),
        "--metrics-listen",
        &metrics.to_string(),
    ]);
    let mut client = served.client().await;
    let calls = 20;
    for i in 0..calls {
        let (trace_id, span_id) = fresh_ids();
        let response = client
            .verify(register(&format!("dead-{i}"), &trace_id, &span_id))
            .await
            .expect("every call is answered");
        assert_eq!(response.into_inner().decision(), pb::Decision::Register);
    }
    // Each call made at least four spans (the call, the decision, the wait, the commit); every
    // one of them is dropped and counted.
    let started = Instant::now();
    let dropped_name = "verify_trace_spans_dropped_total{reason=\"export_failed\"}";
    loop {
        let text = scrape(metrics);
        let dropped = sample(&text, dropped_name).unwrap_or(0.0);
        if dropped >= f64::from(4 * calls) {
            assert_eq!(sample(&text, "verify_trace_spans_exported_total"), None);
            let ok = sample(&text, "verify_calls_total{rpc=\"Verify\",code=\"Ok\"}");
            assert_eq!(ok, Some(f64::from(calls)), "{text}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "spans not counted as dropped: {text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
