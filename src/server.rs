//! Wiring: the audit store, the writer, the service, health and reflection, served on a
//! listener until a shutdown future resolves.
//!
//! [`run`] takes the socket and the shutdown trigger as arguments (as mini-redis does), which
//! is what lets tests bind port 0 and stop the server deterministically.
//!
//! [`run`] also decides whether the listener may be served as configured: without TLS, or
//! without callers (open mode), only on a loopback address. It checks the address the socket
//! is actually bound to, not the one that was asked for.

use std::{future::Future, net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use tokio::{net::TcpListener, task::JoinHandle};
use tonic::transport::{Certificate, Identity, ServerTlsConfig};
use tonic_health::{ServingStatus, server::HealthReporter};

use crate::{
    audit::{
        self, AuditBackend, AuditWriter, checkpoint_file,
        checkpoint_key::CheckpointKey,
        key_adoption::{self, KeyError, OpenedKeys},
    },
    config::{ConfigError, Settings, TlsSettings},
    contract::pb::{self, verify_identity_server::VerifyIdentityServer},
    domain::policy::Policy,
    grpc::{auth::Callers, limit::RefusalLimit, refusals::Refusals, service::VerifyService},
    verification::Verifications,
};

/// The fully qualified service name, as health checks name it.
pub const SERVICE_NAME: &str = "verifyidentity.v1.VerifyIdentity";
/// How often the database is pinged for the health status.
const HEALTH_PING_INTERVAL: Duration = Duration::from_secs(1);
/// Events queued for the writer before callers wait (bounds memory under overload).
const AUDIT_QUEUE: usize = 4096;
/// The most events in one transaction.
const AUDIT_MAX_BATCH: usize = 512;

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The audit store is unreachable or its migrations failed.
    #[error("audit store: {0}")]
    Audit(#[from] audit::AuditError),
    /// The fingerprint keys given do not fit the audit store (or cannot be read). Every
    /// message says it is about the fingerprint key.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// The policy file is unusable.
    #[error("policy: {0}")]
    Policy(String),
    /// The transport failed.
    #[error("transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The callers or TLS settings are unusable.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// The settings would expose the service unprotected on a network.
    #[error("{0}")]
    Exposed(String),
}

/// Everything [`run`] serves, built from settings.
pub struct App {
    service: VerifyService,
    /// Refusal budgets and counts, shared by the service and the limiter in front of it.
    refusals: Arc<Refusals>,
    store: Arc<dyn AuditBackend>,
    writer: JoinHandle<()>,
    health: HealthReporter,
    max_message_bytes: usize,
    /// Whether no callers are configured (open mode, loopback only).
    open: bool,
    /// The server's TLS settings; `None` is plain TCP (loopback only).
    tls: Option<ServerTlsConfig>,
    /// The fingerprint keys as the store agreed to them, and whether one was created or
    /// adopted at start (the caller says so in the log).
    pub keys: OpenedKeys,
    /// Signed checkpoints of the chain heads on a schedule; `None` when not configured.
    checkpoints: Option<Checkpoints>,
}

/// What the checkpoint task needs: the key (loaded, and so checked, at start), the file and
/// the interval.
#[derive(Clone)]
struct Checkpoints {
    /// The signing key.
    key: Arc<CheckpointKey>,
    /// The file checkpoints are appended to.
    file: PathBuf,
    /// How often.
    interval: Duration,
}

/// Connects the store, loads the policy and key, and starts the audit writer.
pub async fn build(settings: &Settings) -> Result<App, StartError> {
    let callers = Callers::new(&settings.callers)?;
    if callers.any_by_certificate() && settings.tls.as_ref().is_none_or(|t| t.client_ca.is_none()) {
        return Err(ConfigError::Invalid(
            "callers with client_cert_sha256 or client_cert_cn need tls_client_ca (mTLS)".into(),
        )
        .into());
    }
    let open = callers.is_open();
    let tls = settings.tls.as_ref().map(load_tls).transpose()?;
    let policy = match &settings.policy {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| StartError::Policy(format!("{}: {e}", path.display())))?;
            Policy::from_toml(&text)
                .map_err(|e| StartError::Policy(format!("{}: {e}", path.display())))?
        }
        None => Policy::default(),
    };
    // Where the key is, before connecting: PostgreSQL without a key file stops here.
    let key_file = key_adoption::key_file(&settings.database, settings.keys.file.as_deref())?;
    // Loaded before the store is opened: a signing key someone else could read or plant stops
    // the start, like the fingerprint key.
    let checkpoints = match &settings.checkpoints {
        Some(c) => Some(Checkpoints {
            key: Arc::new(CheckpointKey::load(&c.key_file, "checkpoint_key_file")?),
            file: c.file.clone(),
            interval: c.interval,
        }),
        None => None,
    };
    let store = audit::connect(&settings.database).await?;
    // The store must know the keys before anything is written with them (the one-number-two-
    // people check), and the writer starts only after that.
    let keys = key_adoption::open(store.as_ref(), &key_file, &settings.keys).await?;
    let (audit, writer) = AuditWriter::spawn(store.clone(), AUDIT_QUEUE, AUDIT_MAX_BATCH);
    let refusals = Arc::new(Refusals::new(settings.refusals.clone()));
    let health = HealthReporter::new();
    let flip = health.clone();
    let on_unavailable = Arc::new(move || {
        let flip = flip.clone();
        tokio::spawn(async move { set_health(&flip, ServingStatus::NotServing).await });
    });
    let verifications = Arc::new(Verifications::new(
        policy,
        audit,
        store.clone(),
        keys.ring.clone(),
        settings.commit_ttl,
        on_unavailable,
    ));
    let service = VerifyService::new(
        verifications,
        settings.batch_in_flight,
        callers,
        refusals.clone(),
    );
    Ok(App {
        service,
        refusals,
        store,
        writer,
        health,
        max_message_bytes: settings.max_message_bytes,
        open,
        tls,
        keys,
        checkpoints,
    })
}

/// Reads the PEM files of the TLS settings.
fn load_tls(tls: &TlsSettings) -> Result<ServerTlsConfig, ConfigError> {
    let read = |path: &std::path::Path| {
        std::fs::read(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })
    };
    let identity = Identity::from_pem(read(&tls.cert)?, read(&tls.key)?);
    let config = ServerTlsConfig::new().identity(identity);
    Ok(match &tls.client_ca {
        // A client CA makes a client certificate mandatory: rustls refuses the handshake
        // without one.
        Some(ca) => config.client_ca_root(Certificate::from_pem(read(ca)?)),
        None => config,
    })
}

/// Refuses to serve without callers or without TLS anywhere but on loopback, and says so at
/// start when it serves either way on loopback.
fn check_exposure(addr: SocketAddr, open: bool, tls: bool) -> Result<(), StartError> {
    let loopback = addr.ip().is_loopback();
    if open && !loopback {
        return Err(StartError::Exposed(format!(
            "refusing to serve on {addr} with no callers configured: anyone could call. \
             Add [[callers]] (name, token_sha256 or client_cert_sha256, insurers, roles) to the \
             settings file, or listen on a loopback address such as 127.0.0.1"
        )));
    }
    if !tls && !loopback {
        return Err(StartError::Exposed(format!(
            "refusing to serve plain TCP on {addr}: set tls_cert and tls_key (and tls_client_ca \
             for client certificates) in the settings file, or listen on a loopback address"
        )));
    }
    if open {
        tracing::warn!(%addr, "OPEN MODE: no callers configured, every call is accepted as \"local\"; loopback only");
    }
    if !tls {
        tracing::warn!(%addr, "plain TCP without TLS; loopback only");
    }
    Ok(())
}

async fn set_health(reporter: &HealthReporter, status: ServingStatus) {
    reporter.set_service_status("", status).await;
    reporter.set_service_status(SERVICE_NAME, status).await;
}

/// Serves `app` on `listener` until `shutdown` resolves, then finishes in-flight calls, flushes
/// the audit writer and returns.
pub async fn run(
    listener: TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), StartError> {
    let App {
        service,
        refusals,
        store,
        writer,
        health,
        max_message_bytes,
        open,
        tls,
        checkpoints,
        ..
    } = app;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError::Exposed(format!("cannot read the listening address: {e}")))?;
    check_exposure(addr, open, tls.is_some())?;
    let health_service = tonic_health::pb::health_server::HealthServer::new(
        tonic_health::server::HealthService::from_health_reporter(health.clone()),
    );
    set_health(&health, ServingStatus::Serving).await;
    let monitor = tokio::spawn(monitor_health(store.clone(), health.clone()));
    let scheduled = checkpoints
        .clone()
        .map(|c| tokio::spawn(checkpoints_on_schedule(store.clone(), c)));

    let reflection_v1 = reflection().build_v1().expect("descriptors are valid");
    let reflection_v1alpha = reflection().build_v1alpha().expect("descriptors are valid");
    // Counted refusals are written each interval and once more after the last call.
    let (stop_flushing, flushing_stopped) = tokio::sync::oneshot::channel::<()>();
    let flusher = tokio::spawn(service.clone().flush_refusals(async {
        let _ = flushing_stopped.await;
    }));
    let verify = VerifyIdentityServer::new(service)
        .max_decoding_message_size(max_message_bytes)
        .max_encoding_message_size(4 * max_message_bytes);
    let verify = RefusalLimit::new(verify, refusals);

    tracing::info!(addr = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(), "serving");
    // Explicit HTTP/2 windows bound how much of a client's stream the server reads ahead of
    // its own answers (VerifyBatch backpressure), per stream and per connection.
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = tls {
        builder = builder.tls_config(tls)?;
    }
    let served = builder
        .initial_stream_window_size(256 * 1024)
        .initial_connection_window_size(1024 * 1024)
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(verify)
        // TCP_NODELAY: without it Nagle's algorithm and delayed ACKs hold small responses
        // for ~40 ms (measured: Verify p50 44 ms with nodelay off, see BENCHMARKS.md).
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(listener)
                .with_nodelay(Some(true))
                .with_keepalive(Some(Duration::from_secs(60))),
            shutdown,
        )
        .await;
    // The router is dropped now. The flusher writes the last counted refusals and drops the
    // last handle of the audit writer, which drains what is queued, commits it, and ends.
    let _ = stop_flushing.send(());
    if flusher.await.is_err() {
        tracing::error!("the refusal flusher ended abnormally");
    }
    monitor.abort();
    set_health(&health, ServingStatus::NotServing).await;
    if writer.await.is_err() {
        tracing::error!("audit writer ended abnormally");
    }
    // One last checkpoint once everything is flushed, so that the heads of this process's
    // chain as it ends are kept too.
    if let (Some(task), Some(c)) = (scheduled, &checkpoints) {
        task.abort();
        let _ = task.await;
        write_checkpoint(store.as_ref(), c).await;
    }
    tracing::info!("stopped; audit log flushed");
    served.map_err(StartError::from)
}

/// The reflection service's descriptors: the contract, health, and
/// google/rpc/error_details.proto. Refusals carry google.rpc.BadRequest and ErrorInfo details,
/// which a reflection client (grpcurl) decodes only if it can ask for their descriptors too.
fn reflection() -> tonic_reflection::server::Builder<'static> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
}

/// Appends a checkpoint every `c.interval`, the first at start.
async fn checkpoints_on_schedule(store: Arc<dyn AuditBackend>, c: Checkpoints) {
    let mut tick = tokio::time::interval(c.interval);
    // After a stall (a slow disk), one checkpoint and then the normal rhythm, not a burst.
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        write_checkpoint(store.as_ref(), &c).await;
    }
}

/// Takes and appends one checkpoint. A failure is logged and counted
/// (`audit_checkpoint_failures_total`) and never stops the service: decisions are still
/// stored and chained, and the next checkpoint covers them.
async fn write_checkpoint(store: &dyn AuditBackend, c: &Checkpoints) {
    let written = match checkpoint_file::take_line(store, &c.key).await {
        Ok(line) => {
            let file = c.file.clone();
            tokio::task::spawn_blocking(move || checkpoint_file::append(&file, &line))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()))
        }
        Err(e) => Err(e.to_string()),
    };
    match written {
        Ok(()) => {
            metrics::counter!("audit_checkpoints_total").increment(1);
            tracing::debug!(file = %c.file.display(), "audit checkpoint written");
        }
        Err(error) => {
            metrics::counter!("audit_checkpoint_failures_total").increment(1);
            tracing::error!(file = %c.file.display(), %error, "audit checkpoint NOT written");
        }
    }
}

/// Keeps the health status in step with the database: NOT_SERVING while it is unreachable.
async fn monitor_health(store: Arc<dyn AuditBackend>, health: HealthReporter) {
    let mut serving = true;
    let mut tick = tokio::time::interval(HEALTH_PING_INTERVAL);
    loop {
        tick.tick().await;
        let ok = tokio::time::timeout(HEALTH_PING_INTERVAL, store.ping())
            .await
            .is_ok_and(|r| r.is_ok());
        if ok != serving {
            serving = ok;
            tracing::warn!(serving, "audit store health changed");
        }
        // Set every time: a failed write may have flipped it to NOT_SERVING meanwhile.
        set_health(
            &health,
            if ok {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            },
        )
        .await;
    }
}
