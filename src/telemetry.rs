//! Logging and metrics setup.
//!
//! Log lines carry ids, codes, classes and counts — never names, kana, birth dates, addresses or
//! numbers. That is kept structural: handlers are `#[instrument(skip_all)]`, request types
//! have no `Debug` that prints content, and the domain's `Debug` impls redact.
//!
//! The filter comes from `VERIFY_IDENTITY_LOG` (or `RUST_LOG`), e.g. `info` or
//! `verify_identity=debug`; the default is `info`.

use std::{io::IsTerminal, net::SocketAddr};

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::LogFormat;

/// Installs the global tracing subscriber, writing to stderr.
///
/// Colour only when stderr is a terminal and `NO_COLOR` is unset: tracing-subscriber colours
/// by default, which left escape codes in every log redirected to a file or read by a service
/// manager.
pub fn init_tracing(format: LogFormat) {
    let ansi = crate::terminal::colour_from_env(std::io::stderr().is_terminal());
    let filter = EnvFilter::try_from_env("VERIFY_IDENTITY_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    let result = match format {
        LogFormat::Text => registry
            .with(fmt::layer().with_ansi(ansi).with_writer(std::io::stderr))
            .try_init(),
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .with_ansi(ansi)
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
    };
    // A second init (tests running several servers in one process) keeps the first subscriber.
    let _ = result;
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
