//! Wiring: the audit store, the writer, the service, health and reflection, served on a
//! listener until a shutdown future resolves.
//!
//! [`run`] takes the socket and the shutdown trigger as arguments (as mini-redis does), which
//! is what lets tests bind port 0 and stop the server deterministically.
//!
//! [`run`] also decides whether the listener may be served as configured: without TLS, or
//! without callers (open mode), only on a loopback address. It checks the address the socket
//! is actually bound to, not the one that was asked for.
//!
//! The connections themselves — limits, timeouts, TLS, and the stop with its grace — are
//! served by the connection layer ([`connections`] and the modules it names).

use std::{future::Future, net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use tokio::{net::TcpListener, task::JoinHandle};
use tokio_rustls::rustls::ServerConfig;
use tonic::service::Routes;
use tonic_health::{ServingStatus, server::HealthReporter};

use crate::{
    audit::{
        self, AuditBackend, AuditWriter,
        checkpoint::file as checkpoint_file,
        checkpoint::key::CheckpointKey,
        key_adoption::{self, KeyError, OpenedKeys},
    },
    config::{ConfigError, ConnectionLimits, Settings},
    console::{Console, SessionLimits},
    contract::pb::{self, verify_identity_server::VerifyIdentityServer},
    domain::policy::Policy,
    grpc::{auth::Callers, limit::RefusalLimit, refusals::Refusals, service::VerifyService},
    verification::Verifications,
};

mod admission;
mod calls;
mod connection;
mod connections;
mod descriptors;
mod drain;
mod gauges;
mod tls;

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
    /// The callers, TLS or connection settings are unusable. Transparent, so that the message
    /// is printed once, not again as its own cause.
    #[error(transparent)]
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
    /// The server's TLS configuration; `None` is plain TCP (loopback only).
    tls: Option<Arc<ServerConfig>>,
    /// What connections may hold.
    connections: ConnectionLimits,
    /// The open connections allowed, after the file-descriptor budget.
    max_connections: usize,
    /// How long a stop waits for calls in flight.
    shutdown_grace: Duration,
    /// The fingerprint keys as the store agreed to them, and whether one was created or
    /// adopted at start (the caller says so in the log).
    pub keys: OpenedKeys,
    /// Signed checkpoints of the chain heads on a schedule; `None` when not configured.
    checkpoints: Option<Checkpoints>,
    /// The use cases, for the holds gauges.
    verifications: Arc<Verifications>,
    /// Whether metrics are served, and so the gauges refreshed.
    gauges: bool,
    /// The clerks' console and its TLS, when `console_listen` is set.
    console: Option<(Arc<Console>, Option<Arc<ServerConfig>>)>,
    /// The console's socket ([`App::with_console_listener`]).
    console_listener: Option<TcpListener>,
}

impl App {
    /// Serves the console on `listener` too (the settings must have configured it).
    pub fn with_console_listener(mut self, listener: TcpListener) -> Self {
        self.console_listener = Some(listener);
        self
    }
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
    /// When the last one was written (the `audit_checkpoint_age_seconds` gauge).
    last: gauges::LastCheckpoint,
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
    let tls = settings.tls.as_ref().map(tls::server_config).transpose()?;
    let max_connections = descriptors::max_connections(settings.connections.max_total)?;
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
    let key_file =
        key_adoption::key_file(settings.database.expose(), settings.keys.file.as_deref())?;
    // Loaded before the store is opened: a signing key someone else could read or plant stops
    // the start, like the fingerprint key.
    let checkpoints = match &settings.checkpoints {
        Some(c) => Some(Checkpoints {
            key: Arc::new(CheckpointKey::load(&c.key_file, "checkpoint_key_file")?),
            file: c.file.clone(),
            interval: c.interval,
            last: gauges::LastCheckpoint::starting_now(),
        }),
        None => None,
    };
    if let Some(c) = &checkpoints {
        metrics::gauge!("audit_checkpoint_interval_seconds").set(c.interval.as_secs_f64());
    }
    gauges::zero_counters(
        settings.database.expose().starts_with("sqlite:"),
        checkpoints.is_some(),
    );
    let store = audit::connect(settings.database.expose()).await?;
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
    let console = match settings.console_listen {
        None => None,
        Some(_) => {
            if settings.console_users.is_empty() {
                return Err(ConfigError::Invalid(
                    "console_listen needs at least one [[console_users]] entry (add one with \
                     `verify-identity console-user add`)"
                        .into(),
                )
                .into());
            }
            let console_tls = settings.tls.as_ref().map(tls::console_config).transpose()?;
            let console = Console::new(
                verifications.clone(),
                &settings.console_users,
                SessionLimits {
                    idle: settings.console_idle_timeout,
                    absolute: settings.console_absolute_timeout,
                },
                console_tls.is_some(),
            )
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
            Some((console, console_tls))
        }
    };
    let service = VerifyService::new(
        verifications.clone(),
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
        connections: settings.connections.clone(),
        max_connections,
        shutdown_grace: settings.shutdown_grace,
        keys,
        checkpoints,
        verifications,
        gauges: settings.metrics_listen.is_some(),
        console,
        console_listener: None,
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

/// Serves `app` on `listener` until `shutdown` resolves, then finishes in-flight calls (closing
/// what is left after the grace), writes the last refusal counts, flushes the audit writer,
/// writes the last checkpoint and returns.
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
        connections: limits,
        max_connections,
        shutdown_grace,
        checkpoints,
        verifications,
        gauges,
        console,
        console_listener,
        ..
    } = app;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError::Exposed(format!("cannot read the listening address: {e}")))?;
    check_exposure(addr, open, tls.is_some())?;
    // The console stops when the service begins to stop.
    let (stop_console, console_stopped) = tokio::sync::watch::channel(false);
    let console_task = match (console, console_listener) {
        (Some((console, console_tls)), Some(listener)) => {
            let at = listener.local_addr().map_err(|e| {
                StartError::Exposed(format!("cannot read the console's address: {e}"))
            })?;
            if console_tls.is_none() && !at.ip().is_loopback() {
                return Err(StartError::Exposed(format!(
                    "refusing to serve the console over plain HTTP on {at}: set tls_cert and \
                     tls_key in the settings file, or use a loopback console_listen"
                )));
            }
            let scheme = if console_tls.is_some() {
                "https"
            } else {
                "http"
            };
            tracing::info!(addr = %at, "console on {scheme}://{at}/");
            let mut stopped = console_stopped.clone();
            Some(tokio::spawn(crate::console::serve(
                listener,
                console,
                console_tls,
                async move {
                    let _ = stopped.wait_for(|s| *s).await;
                },
            )))
        }
        _ => None,
    };
    let health_service = tonic_health::pb::health_server::HealthServer::new(
        tonic_health::server::HealthService::from_health_reporter(health.clone()),
    );
    set_health(&health, ServingStatus::Serving).await;
    let monitor = tokio::spawn(monitor_health(store.clone(), health.clone()));
    let scheduled = checkpoints
        .clone()
        .map(|c| tokio::spawn(checkpoints_on_schedule(store.clone(), c)));
    let gauges = gauges.then(|| {
        tokio::spawn(gauges::on_schedule(
            verifications,
            checkpoints.as_ref().map(|c| c.last.clone()),
        ))
    });

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

    let routes = Routes::new(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(verify)
        .prepare();
    tracing::info!(
        max_connections,
        max_per_address = limits.max_per_address,
        max_calls_per_connection = limits.max_calls_per_connection,
        "connection limits"
    );
    let serving = connections::Serving {
        routes,
        tls,
        limits,
        max_connections,
        grace: shutdown_grace,
    };
    tracing::info!(%addr, "serving");
    // Health says NOT_SERVING from the moment the stop begins, so that a load balancer sends
    // no new calls while the ones in flight finish.
    let stopping = health.clone();
    connections::serve(listener, serving, async move {
        shutdown.await;
        let _ = stop_console.send(true);
        set_health(&stopping, ServingStatus::NotServing).await;
    })
    .await;
    // The console holds the use cases too: it ends (its last refusal counts written) before
    // the writer may finish.
    if let Some(task) = console_task
        && task.await.is_err()
    {
        tracing::error!("the console ended abnormally");
    }
    drop(console_stopped);
    // Every connection and call task has ended, and the routes with them. The flusher writes
    // the last counted refusals and drops the last handle of the audit writer, which drains
    // what is queued, commits it, and ends.
    let _ = stop_flushing.send(());
    if flusher.await.is_err() {
        tracing::error!("the refusal flusher ended abnormally");
    }
    monitor.abort();
    // The gauges hold the use cases, and so a handle of the audit writer: ended (and awaited)
    // before the writer is.
    if let Some(task) = gauges {
        task.abort();
        let _ = task.await;
    }
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
    Ok(())
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
            c.last.written();
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
