//! OpenTelemetry traces: the tracer that turns this crate's `tracing` spans into OpenTelemetry
//! spans, the W3C trace context of calls (`traceparent`, `tracestate`), and the call's span.
//!
//! Which spans there are, and what they carry:
//!
//! | span | where | attributes |
//! |---|---|---|
//! | the call (`verifyidentity.v1.VerifyIdentity/Verify` …), kind server | `server::calls` | `rpc.system`, `rpc.service`, `rpc.method`, `rpc.grpc.status_code`, `insurer_number`, `call_id` |
//! | `item` | each VerifyBatch item | — |
//! | `decide` | the gate | `decision`, `risk_class`, `hold_reasons`, `classes`, `rule_ids`, `candidates` |
//! | `audit.wait` | from queueing an event to its commit's answer | `audit.event` |
//! | `audit.commit` | one group commit (child of the first waiter, linked to the others) | `db.system`, `audit.batch_size`, `audit.outcome` |
//! | `bulk.chunk` | each chunk of rows of `bulk` | `rows`, `chunk` |
//!
//! Never a name, kana, date, address, individual number or fingerprint: the fields of every
//! span are ids, codes, classes and counts, and the test `no_attribute_of_a_run_holds_personal_values`
//! scans every attribute of a run for the request's values.
//!
//! The spans that exist only for traces use the target [`TRACE_ONLY`]: the log leaves them out
//! (their fields would lengthen every log line), and when traces are off no layer wants them,
//! so they cost nothing.

use opentelemetry::{
    Context,
    propagation::{Extractor, Injector, TextMapPropagator},
    trace::{TraceContextExt, TracerProvider as _},
};
use opentelemetry_sdk::{
    Resource,
    propagation::TraceContextPropagator,
    trace::{Sampler, SdkTracerProvider, SpanExporter},
};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{Layer, Registry, filter::Targets};

use std::{sync::Arc, time::Duration};

use tonic::codegen::http;

use super::export::{ExportCounts, QueueProcessor};
use crate::config::TraceSettings;

/// The target of spans that are for traces only (see the module).
pub const TRACE_ONLY: &str = "verify_identity::trace";

/// The tracer and its export queue, for as long as traces are exported.
#[derive(Clone)]
pub struct Traces {
    /// The provider: the sampler, the resource and the queue processor.
    provider: SdkTracerProvider,
    /// Exported and dropped spans.
    counts: Arc<ExportCounts>,
}

impl std::fmt::Debug for Traces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Traces")
            .field("counts", &self.counts)
            .finish_non_exhaustive()
    }
}

impl Traces {
    /// Traces exported over OTLP/gRPC as `settings` say.
    pub fn otlp(settings: &TraceSettings) -> Result<Self, String> {
        let endpoint = settings.endpoint.clone();
        Self::with_exporter(
            move || {
                use opentelemetry_otlp::WithExportConfig as _;
                let mut builder = opentelemetry_otlp::SpanExporter::builder().with_tonic();
                if let Some(endpoint) = endpoint {
                    builder = builder.with_endpoint(endpoint);
                }
                builder
                    .build()
                    .map_err(|e| format!("OTLP trace exporter: {e}"))
            },
            settings.sample_ratio,
            super::export::QUEUE_CAPACITY,
        )
    }

    /// Traces handed to the exporter `make` builds (on the export thread), through a queue of
    /// `capacity` spans; `sample_ratio` as in [`TraceSettings`]. Tests use the SDK's in-memory
    /// exporter through it.
    pub fn with_exporter<E, F>(
        make: F,
        sample_ratio: Option<f64>,
        capacity: usize,
    ) -> Result<Self, String>
    where
        E: SpanExporter + 'static,
        F: FnOnce() -> Result<E, String> + Send + 'static,
    {
        let processor = QueueProcessor::start(make, capacity)?;
        let counts = processor.counts();
        let mut resource = Resource::builder();
        if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
            resource = resource.with_service_name("verify-identity");
        }
        let mut builder = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .with_resource(resource.build());
        if let Some(ratio) = sample_ratio {
            builder = builder.with_sampler(Sampler::ParentBased(Box::new(
                Sampler::TraceIdRatioBased(ratio),
            )));
        }
        Ok(Traces {
            provider: builder.build(),
            counts,
        })
    }

    /// The layer that hands this crate's spans (at `info` and above, whatever the log's level)
    /// to the tracer.
    pub fn layer(&self) -> Box<dyn Layer<Registry> + Send + Sync> {
        tracing_opentelemetry::layer()
            .with_tracer(self.provider.tracer("verify-identity"))
            .with_location(false)
            .with_threads(false)
            .with_target(false)
            .with_filter(Targets::new().with_target("verify_identity", tracing::Level::INFO))
            .boxed()
    }

    /// Spans exported and dropped so far.
    pub fn counts(&self) -> &ExportCounts {
        &self.counts
    }

    /// Exports every span ended so far (blocks up to the export timeout).
    pub fn flush(&self) {
        let _ = self.provider.force_flush();
    }

    /// Exports what is queued (waiting at most `timeout`) and stops exporting.
    pub fn shutdown(&self, timeout: Duration) {
        let _ = self.provider.shutdown_with_timeout(timeout);
    }
}

/// The headers of an HTTP request (a gRPC call's metadata) as the propagator reads them.
struct Headers<'a>(&'a http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// Outgoing gRPC metadata as the propagator writes it.
struct Metadata<'a>(&'a mut tonic::metadata::MetadataMap);

impl Injector for Metadata<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(key), Ok(value)) = (
            tonic::metadata::MetadataKey::from_bytes(key.as_bytes()),
            tonic::metadata::MetadataValue::try_from(value),
        ) {
            self.0.insert(key, value);
        }
    }
}

/// Makes `span` continue the trace whose `traceparent` (and `tracestate`) `headers` carry, and
/// records the trace id in its `trace_id` field (so that every log line of the call names it).
///
/// Without a valid `traceparent` the span starts a trace of its own. When traces are not
/// exported, the caller's trace id is still recorded, so that logs and the caller's traces meet.
pub fn continue_trace(span: &tracing::Span, headers: &http::HeaderMap) {
    let parent = TraceContextPropagator::new().extract(&Headers(headers));
    let remote = parent.span().span_context().clone();
    // Fails only when no OpenTelemetry layer is installed (traces off): nothing to continue.
    let exported = span.set_parent(parent).is_ok();
    let trace_id = if exported {
        span.context().span().span_context().trace_id()
    } else {
        remote.trace_id()
    };
    if trace_id != opentelemetry::trace::TraceId::INVALID {
        span.record("trace_id", tracing::field::display(trace_id));
    }
}

/// Writes the trace context of `span` into outgoing `metadata` (a client command's call), so
/// that the server's spans join the client's trace.
pub fn inject(span: &tracing::Span, metadata: &mut tonic::metadata::MetadataMap) {
    let cx: Context = span.context();
    if cx.span().span_context().is_valid() {
        TraceContextPropagator::new().inject_context(&cx, &mut Metadata(metadata));
    }
}
