//! `verify-identity serve`: run the service until SIGTERM or SIGINT.

use tokio::net::TcpListener;

use crate::{
    config::{ServeArgs, Settings},
    server, telemetry,
};

/// Resolves settings, starts logging and metrics, and serves until a signal arrives. Returns
/// after in-flight calls finished and the audit log was flushed.
pub async fn run(args: &ServeArgs) -> anyhow::Result<()> {
    let settings = Settings::resolve(args)?;
    telemetry::init_tracing(settings.log_format);
    if let Some(addr) = settings.metrics_listen {
        telemetry::init_metrics(addr).map_err(|e| anyhow::anyhow!("metrics listener: {e}"))?;
        tracing::info!(%addr, "metrics on /metrics");
    }
    let app = server::build(&settings).await?;
    if app.key_created {
        tracing::warn!(
            file = %settings.hmac_key_file.display(),
            "created a new fingerprint secret (mode 0600); back it up with the audit database: \
             without it stored fingerprints cannot be matched"
        );
    }
    tracing::info!(database = %redact_url(&settings.database), "audit store ready");
    let listener = TcpListener::bind(settings.listen).await?;
    server::run(listener, app, shutdown_signal()).await?;
    Ok(())
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight calls");
}

/// A database URL without its password, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_not_logged() {
        assert_eq!(
            super::redact_url("postgres://app:s3cret@db/x"),
            "postgres://app:***@db/x"
        );
        assert_eq!(
            super::redact_url("sqlite:var/audit.sqlite"),
            "sqlite:var/audit.sqlite"
        );
    }
}
