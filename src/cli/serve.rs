//! `verify-identity serve`: run the service until SIGTERM or SIGINT.

use std::time::Duration;

use tokio::net::TcpListener;

use crate::{
    audit::key_adoption::OpenedKeys,
    cli::{
        error::{CommandError, CommandResult},
        exit,
    },
    config::{ServeArgs, Settings},
    server, telemetry,
};

/// How long the last spans may take to leave at exit.
const TRACE_FLUSH_AT_EXIT: Duration = Duration::from_secs(5);

/// Resolves settings, starts logging and metrics, and serves until a signal arrives. Returns
/// after in-flight calls finished and the audit log was flushed.
///
/// Every error is exit 1 (it could not start, or stopped on an error): the message names the
/// setting or file to fix.
pub async fn run(args: &ServeArgs) -> CommandResult {
    let failed = |e: &dyn std::fmt::Display| CommandError::failed(e.to_string());
    let settings = Settings::resolve(args).map_err(|e| failed(&e))?;
    let traces = settings
        .traces
        .as_ref()
        .map(telemetry::Traces::otlp)
        .transpose()
        .map_err(|e| CommandError::failed(format!("traces: {e}")))?;
    telemetry::init(settings.log_format, traces.as_ref());
    if let Some(t) = &settings.traces {
        tracing::info!(
            endpoint = t.endpoint.as_deref().unwrap_or("from OTEL_EXPORTER_OTLP_*"),
            sample_ratio = ?t.sample_ratio,
            "traces exported over OTLP/gRPC"
        );
    }
    if let Some(addr) = settings.metrics_listen {
        telemetry::init_metrics(addr)
            .map_err(|e| CommandError::failed(format!("metrics listener: {e}")))?;
        tracing::info!(%addr, "metrics on /metrics");
    }
    let app = server::build(&settings).await.map_err(|e| failed(&e))?;
    log_keys(&app.keys);
    tracing::info!(database = %settings.database, "audit store ready");
    let shutdown = shutdown_signal();
    let listener = TcpListener::bind(settings.listen).await.map_err(|e| {
        CommandError::failed(format!(
            "cannot listen on {} (--listen): {e}",
            settings.listen
        ))
    })?;
    let app = match settings.console_listen {
        Some(addr) => app.with_console_listener(TcpListener::bind(addr).await.map_err(|e| {
            CommandError::failed(format!("cannot listen on {addr} (--console-listen): {e}"))
        })?),
        None => app,
    };
    let served = server::run(listener, app, shutdown).await;
    // The spans still queued, sent while the process ends; a dead collector delays the exit
    // by at most this.
    if let Some(traces) = traces {
        let _ = tokio::task::spawn_blocking(move || traces.shutdown(TRACE_FLUSH_AT_EXIT)).await;
    }
    served.map_err(|e| failed(&e))?;
    Ok(exit::OK)
}

/// Says which fingerprint keys the process writes with, and what was created or adopted.
pub fn log_keys(keys: &OpenedKeys) {
    let file = std::path::absolute(&keys.file).unwrap_or_else(|_| keys.file.clone());
    if keys.created {
        tracing::warn!(
            file = %file.display(),
            "created a new fingerprint key (mode 0600) for this empty audit store; back it up \
             with the audit database: without it stored fingerprints cannot be matched"
        );
    }
    for id in &keys.adopted {
        tracing::info!(key_id = %id, "the audit store adopted this fingerprint key");
    }
    let previous: Vec<&str> = keys.ring.previous().iter().map(|k| k.id.as_str()).collect();
    tracing::info!(
        current = %keys.ring.current().id,
        previous = ?previous,
        file = %file.display(),
        "fingerprint keys"
    );
}

/// Resolves on SIGTERM or SIGINT.
///
/// The handlers are installed when this is called, not when the future is first polled: a
/// SIGTERM that arrives right after the server reported that it is serving must stop it
/// gracefully, not kill it with the default action.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    // `ctrl_c` installs its handler on first poll; pin it and poll it once now.
    let mut ctrl_c = Box::pin(tokio::signal::ctrl_c());
    let _ = futures::FutureExt::now_or_never(&mut ctrl_c);
    async move {
        #[cfg(unix)]
        let term = async move {
            match term {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {},
            () = term => {},
        }
        tracing::info!("shutdown signal received; finishing in-flight calls");
    }
}
