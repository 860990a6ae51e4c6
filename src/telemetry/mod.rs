//! Logging, traces and metrics setup.
//!
//! Log lines carry ids, codes, classes and counts — never names, kana, birth dates, addresses or
//! numbers. That is kept structural: handlers are `#[instrument(skip_all)]`, request types
//! have no `Debug` that prints content, and the domain's `Debug` impls redact.
//!
//! The filter comes from `VERIFY_IDENTITY_LOG` (or `RUST_LOG`), e.g. `info` or
//! `verify_identity=debug`; the default is `info`.

use std::{io::IsTerminal, net::SocketAddr};

use tracing_subscriber::{
    EnvFilter, Layer, Registry,
    filter::{FilterExt as _, filter_fn},
    fmt,
    prelude::*,
};

use crate::config::LogFormat;

mod export;
pub mod traces;

pub use export::{ExportCounts, QUEUE_CAPACITY};
pub use traces::{TRACE_ONLY, Traces};

/// Installs the global tracing subscriber, writing to stderr, without traces.
pub fn init_tracing(format: LogFormat) {
    init(format, None);
}

/// Installs the global tracing subscriber: the log on stderr and, when `traces` is given, this
/// crate's spans to the trace exporter.
///
/// Colour only when stderr is a terminal and `NO_COLOR` is unset: tracing-subscriber colours
/// by default, which left escape codes in every log redirected to a file or read by a service
/// manager.
///
/// The log's filter (`VERIFY_IDENTITY_LOG`) applies to the log only: traces take this crate's
/// spans at `info` whatever the log level, and the log leaves out the spans that are for traces
/// only ([`TRACE_ONLY`]).
pub fn init(format: LogFormat, traces: Option<&Traces>) {
    let ansi = crate::terminal::colour_from_env(std::io::stderr().is_terminal());
    let filter = EnvFilter::try_from_env("VERIFY_IDENTITY_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let not_trace_only = filter_fn(|meta| !(meta.is_span() && meta.target() == TRACE_ONLY));
    let log_filter = filter.and(not_trace_only);
    let log: Box<dyn Layer<Registry> + Send + Sync> = match format {
        LogFormat::Text => fmt::layer()
            .with_ansi(ansi)
            .with_writer(std::io::stderr)
            .with_filter(log_filter)
            .boxed(),
        LogFormat::Json => fmt::layer()
            .with_ansi(ansi)
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_writer(std::io::stderr)
            .with_filter(log_filter)
            .boxed(),
    };
    let mut layers = vec![log];
    if let Some(traces) = traces {
        layers.push(traces.layer());
    }
    // A second init (tests running several servers in one process) keeps the first subscriber.
    let _ = tracing_subscriber::registry().with(layers).try_init();
}

/// Installs a subscriber that only exports this crate's spans (no log): for commands whose
/// output is their own (`bulk`).
pub fn init_traces_only(traces: &Traces) {
    let _ = tracing_subscriber::registry()
        .with(vec![traces.layer()])
        .try_init();
}

/// Serves Prometheus metrics over HTTP on `addr` (GET any path).
pub fn init_metrics(addr: SocketAddr) -> Result<(), String> {
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets(&[
            0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0,
        ])
        .map_err(|e| e.to_string())?
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Full("audit_batch_size".into()),
            &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0],
        )
        .map_err(|e| e.to_string())?
        .install()
        .map_err(|e| e.to_string())
}
