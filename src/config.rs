//! Service settings: defaults, then a TOML file, then `VERIFY_IDENTITY_*` environment
//! variables, then command-line flags — each later source overriding the earlier.
//!
//! Clap merges flags and environment (a flag wins); the file fills what neither gave; the
//! defaults make `verify-identity serve` work with no setup at all: 127.0.0.1:50051 and a SQLite
//! audit file under `./var/`.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use serde::Deserialize;

pub mod client_certificates;
pub mod connections;
pub mod console_users;
mod database_url;
mod refusals;
pub mod traces;

pub use connections::ConnectionLimits;
pub use console_users::{ConsoleUserConfig, argon2id, hash_password};
pub use database_url::{DatabaseUrl, redact_url};
pub use refusals::RefusalLimits;
use refusals::RefusalsFile;
pub use traces::TraceSettings;

use crate::audit::key_adoption::KeySettings;

/// Where the service listens by default: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";
/// The embedded default audit store.
pub const DEFAULT_DATABASE: &str = "sqlite:var/audit.sqlite";
/// The largest request accepted, in bytes. Larger ones get OUT_OF_RANGE.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 256 * 1024;
/// How many hours after its decision a register verification may be committed.
pub const DEFAULT_COMMIT_TTL_HOURS: u64 = 72;
/// How long a console session lasts without a request.
pub const DEFAULT_CONSOLE_IDLE_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// How long a console session lasts however busy.
pub const DEFAULT_CONSOLE_ABSOLUTE_TIMEOUT: Duration = Duration::from_secs(8 * 3600);
/// How often the server appends a checkpoint when a checkpoint file is set.
pub const DEFAULT_CHECKPOINT_INTERVAL: Duration = Duration::from_secs(300);

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Flags of `serve` (each also readable from the environment).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// A TOML settings file.
    #[arg(long, env = "VERIFY_IDENTITY_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, env = "VERIFY_IDENTITY_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Audit database URL: `sqlite:PATH` or `postgres://…`.
    #[arg(long, env = "VERIFY_IDENTITY_DATABASE")]
    pub database: Option<String>,
    /// Gate policy file (TOML); the built-in default when omitted.
    #[arg(long, env = "VERIFY_IDENTITY_POLICY")]
    pub policy: Option<PathBuf>,
    /// Serve Prometheus metrics on this address (off when omitted).
    #[arg(long, env = "VERIFY_IDENTITY_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Log format.
    #[arg(long, env = "VERIFY_IDENTITY_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// The fingerprint keys.
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Append a signed checkpoint of every chain head to this file (JSON Lines, created mode
    /// 0600) on a schedule and at shutdown; needs --checkpoint-key-file.
    #[arg(long, env = "VERIFY_IDENTITY_CHECKPOINT_FILE")]
    pub checkpoint_file: Option<PathBuf>,
    /// The Ed25519 key checkpoints are signed with (`audit checkpoint-key` creates one).
    #[arg(long, env = "VERIFY_IDENTITY_CHECKPOINT_KEY_FILE")]
    pub checkpoint_key_file: Option<PathBuf>,
    /// How often a checkpoint is appended: `30s`, `5m`, `1h` (default 5m, at most 24h).
    #[arg(long, env = "VERIFY_IDENTITY_CHECKPOINT_INTERVAL")]
    pub checkpoint_interval: Option<String>,
    /// Open connections at once (default 1000, lowered to fit the open-file limit); the
    /// settings file's `connections.max_total`.
    #[arg(long, env = "VERIFY_IDENTITY_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// How long a stop (SIGTERM, SIGINT) waits for calls in flight before closing their
    /// connections: `30s` (default), `2m`, `0s`; at most 1h.
    #[arg(long, env = "VERIFY_IDENTITY_SHUTDOWN_GRACE")]
    pub shutdown_grace: Option<String>,
    /// Export traces over OTLP/gRPC to this collector (`http://127.0.0.1:4317`); off when
    /// omitted, unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
    #[arg(long, env = "VERIFY_IDENTITY_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    /// The share of new traces exported, 0.0 to 1.0 (a caller's sampled trace is always
    /// continued); default: `OTEL_TRACES_SAMPLER`, or every trace.
    #[arg(long, env = "VERIFY_IDENTITY_TRACE_SAMPLE_RATIO")]
    pub trace_sample_ratio: Option<f64>,
    /// Serve the clerks' console (web pages) on this address (off when omitted): plain HTTP
    /// on a loopback address only, HTTPS with the service's certificate otherwise.
    #[arg(long, env = "VERIFY_IDENTITY_CONSOLE_LISTEN")]
    pub console_listen: Option<SocketAddr>,
}

/// Where the fingerprint keys are: flags of `serve` and of `bulk --database`, the two commands
/// that write to the audit store (see [`crate::audit::key_adoption`]).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct KeyArgs {
    /// The current fingerprint key file (hex). Default: audit-hmac.key in the directory of a
    /// SQLite database (created, mode 0600, for a store with no fingerprints only); required
    /// with PostgreSQL.
    #[arg(long, env = "VERIFY_IDENTITY_HMAC_KEY_FILE")]
    pub hmac_key_file: Option<PathBuf>,
    /// The id a key new to the store is recorded under; derived from the key if omitted.
    #[arg(long, env = "VERIFY_IDENTITY_HMAC_KEY_ID")]
    pub hmac_key_id: Option<String>,
    /// A key file the current key replaced (repeat for each): fingerprints made with it are
    /// still matched, so duplicates are found across a rotation.
    #[arg(
        long = "hmac-previous-key-file",
        env = "VERIFY_IDENTITY_HMAC_PREVIOUS_KEY_FILES",
        value_delimiter = ','
    )]
    pub hmac_previous_key_files: Vec<PathBuf>,
}

impl KeyArgs {
    /// The key settings of these flags alone (`bulk`, which reads no settings file).
    pub fn settings(&self) -> KeySettings {
        KeySettings {
            file: self.hmac_key_file.clone(),
            id: self.hmac_key_id.clone(),
            previous_files: self.hmac_previous_key_files.clone(),
        }
    }
}

/// The longest `commit_ttl_hours`: a year and a day.
const MAX_COMMIT_TTL_HOURS: u64 = 24 * 366;

/// The largest `max_message_bytes`.
const MAX_MESSAGE_BYTES_LIMIT: usize = 16 * 1024 * 1024;

/// The settings file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    listen: Option<SocketAddr>,
    database: Option<String>,
    policy: Option<PathBuf>,
    metrics_listen: Option<SocketAddr>,
    #[serde(default)]
    metrics_listen_public: bool,
    log_format: Option<LogFormat>,
    hmac_key_file: Option<PathBuf>,
    hmac_key_id: Option<String>,
    #[serde(default)]
    hmac_previous_key_files: Vec<PathBuf>,
    max_message_bytes: Option<usize>,
    batch_in_flight: Option<usize>,
    commit_ttl_hours: Option<u64>,
    #[serde(default)]
    callers: Vec<CallerConfig>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    tls_client_ca: Option<PathBuf>,
    checkpoint_file: Option<PathBuf>,
    checkpoint_key_file: Option<PathBuf>,
    checkpoint_interval: Option<String>,
    #[serde(default)]
    refusals: RefusalsFile,
    shutdown_grace: Option<String>,
    #[serde(default)]
    connections: connections::ConnectionsFile,
    otlp_endpoint: Option<String>,
    trace_sample_ratio: Option<f64>,
    console_listen: Option<SocketAddr>,
    #[serde(default)]
    console_users: Vec<ConsoleUserConfig>,
    console_idle_timeout: Option<String>,
    console_absolute_timeout: Option<String>,
}

/// A role: a fixed set of RPCs a caller may use (see [`crate::grpc::auth`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The integration layer: Verify, VerifyBatch, CommitRegistration.
    Registrar,
    /// Works the held cases: ResolveHold, ListHolds, GetVerification.
    Operator,
    /// Reads only: GetVerification, ListHolds.
    Auditor,
}

/// One `[[callers]]` entry of the settings file: who may call, as whom, for which insurers.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallerConfig {
    /// The name recorded as `caller` in every audit event this caller causes.
    pub name: String,
    /// Hex SHA-256 of the bearer token. Only the hash is configured, so a leaked settings file
    /// does not leak a usable token.
    pub token_sha256: Option<String>,
    /// Hex SHA-256 of the DER of the client certificate that authenticates this caller (mTLS).
    /// A pin rather than a subject name: any certificate the CA signs may carry any name.
    pub client_cert_sha256: Option<String>,
    /// The subject common name of the client certificate that authenticates this caller (mTLS).
    /// Weaker than `client_cert_sha256`: it trusts the CA to give each name to one client only.
    pub client_cert_cn: Option<String>,
    /// The insurer numbers (保険者番号) this caller may act for.
    #[serde(default)]
    pub insurers: Vec<String>,
    /// What this caller may do.
    #[serde(default)]
    pub roles: Vec<Role>,
}

impl std::fmt::Debug for CallerConfig {
    /// The name, insurers and roles; the credential hashes are left out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallerConfig")
            .field("name", &self.name)
            .field("insurers", &self.insurers)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

/// Where the server's TLS material is.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    /// The server's certificate chain (PEM).
    pub cert: PathBuf,
    /// The server's private key (PEM).
    pub key: PathBuf,
    /// CA certificates (PEM) that client certificates must chain to. When set, every
    /// connection must present a client certificate (mTLS).
    pub client_ca: Option<PathBuf>,
}

/// Where and how often the server writes signed checkpoints of the chain heads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointSettings {
    /// The file checkpoints are appended to.
    pub file: PathBuf,
    /// The signing key (the secret half of an `audit checkpoint-key` pair).
    pub key_file: PathBuf,
    /// How often; one more is written at graceful shutdown.
    pub interval: Duration,
}

/// Resolved settings of the service.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Audit database URL.
    pub database: DatabaseUrl,
    /// Policy file, if any.
    pub policy: Option<PathBuf>,
    /// Metrics address, if any.
    pub metrics_listen: Option<SocketAddr>,
    /// Log format.
    pub log_format: LogFormat,
    /// Where the fingerprint keys are.
    pub keys: KeySettings,
    /// Largest request in bytes.
    pub max_message_bytes: usize,
    /// Items of one VerifyBatch stream decided at once (bounds memory per stream).
    pub batch_in_flight: usize,
    /// How long after its decision a register verification may still be committed: a stale
    /// decision must not license a registration (the person may have moved or been
    /// re-queried since).
    pub commit_ttl: Duration,
    /// Who may call. Empty means open mode, allowed only on a loopback address.
    pub callers: Vec<CallerConfig>,
    /// TLS; required unless the listen address is loopback.
    pub tls: Option<TlsSettings>,
    /// Signed checkpoints of the chain heads; off when no checkpoint file is set.
    pub checkpoints: Option<CheckpointSettings>,
    /// What refused calls may cost.
    pub refusals: RefusalLimits,
    /// What connections may hold.
    pub connections: ConnectionLimits,
    /// How long a stop waits for calls in flight before closing their connections.
    pub shutdown_grace: Duration,
    /// Trace export; `None` is off (the default).
    pub traces: Option<TraceSettings>,
    /// Where the clerks' console is served; off when `None`.
    pub console_listen: Option<SocketAddr>,
    /// Who may sign in to the console.
    pub console_users: Vec<ConsoleUserConfig>,
    /// A console session ends after this long without a request (`console_idle_timeout`,
    /// default 15 minutes).
    pub console_idle_timeout: Duration,
    /// A console session ends this long after sign-in however busy
    /// (`console_absolute_timeout`, default 8 hours; never shorter than the idle timeout).
    pub console_absolute_timeout: Duration,
}

/// A settings problem, reported before anything starts.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read settings file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error("settings file {path} is not valid: {source}")]
    Parse {
        /// The file.
        path: String,
        /// The cause.
        source: toml::de::Error,
    },
    /// A value is out of range.
    #[error("setting {0}")]
    Invalid(String),
}

impl Settings {
    /// Resolves flags, environment, file and defaults.
    pub fn resolve(args: &ServeArgs) -> Result<Self, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileSettings::default(),
        };
        let checkpoints = checkpoint_settings(
            args.checkpoint_file.clone().or(file.checkpoint_file),
            args.checkpoint_key_file
                .clone()
                .or(file.checkpoint_key_file),
            args.checkpoint_interval
                .clone()
                .or(file.checkpoint_interval),
        )?;
        let settings = Settings {
            listen: args
                .listen
                .or(file.listen)
                .unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("valid default")),
            database: DatabaseUrl::new(
                args.database
                    .clone()
                    .or(file.database)
                    .unwrap_or_else(|| DEFAULT_DATABASE.to_owned()),
            ),
            policy: args.policy.clone().or(file.policy),
            metrics_listen: args.metrics_listen.or(file.metrics_listen),
            log_format: args.log_format.or(file.log_format).unwrap_or_default(),
            keys: KeySettings {
                file: args.keys.hmac_key_file.clone().or(file.hmac_key_file),
                id: args.keys.hmac_key_id.clone().or(file.hmac_key_id),
                // A list: the flags (or the environment) replace the file's list whole.
                previous_files: if args.keys.hmac_previous_key_files.is_empty() {
                    file.hmac_previous_key_files
                } else {
                    args.keys.hmac_previous_key_files.clone()
                },
            },
            max_message_bytes: file.max_message_bytes.unwrap_or(DEFAULT_MAX_MESSAGE_BYTES),
            batch_in_flight: file.batch_in_flight.unwrap_or(32),
            // Bounded before it is multiplied: 3600 × a huge value wrapped to a small one.
            commit_ttl: match file.commit_ttl_hours.unwrap_or(DEFAULT_COMMIT_TTL_HOURS) {
                hours @ 1..=MAX_COMMIT_TTL_HOURS => Duration::from_secs(3600 * hours),
                _ => {
                    return Err(ConfigError::Invalid(format!(
                        "commit_ttl_hours must be 1..={MAX_COMMIT_TTL_HOURS}"
                    )));
                }
            },
            refusals: file.refusals.resolve()?,
            connections: file.connections.resolve(args.max_connections)?,
            shutdown_grace: connections::shutdown_grace(
                args.shutdown_grace
                    .as_deref()
                    .or(file.shutdown_grace.as_deref()),
            )?,
            callers: file.callers,
            console_listen: args.console_listen.or(file.console_listen),
            console_users: file.console_users,
            console_idle_timeout: file.console_idle_timeout.as_deref().map_or(
                Ok(DEFAULT_CONSOLE_IDLE_TIMEOUT),
                |t| {
                    connections::parse_duration(
                        t,
                        "console_idle_timeout",
                        Duration::from_secs(1),
                        Duration::from_secs(24 * 3600),
                    )
                },
            )?,
            console_absolute_timeout: file.console_absolute_timeout.as_deref().map_or(
                Ok(DEFAULT_CONSOLE_ABSOLUTE_TIMEOUT),
                |t| {
                    connections::parse_duration(
                        t,
                        "console_absolute_timeout",
                        Duration::from_secs(1),
                        Duration::from_secs(7 * 24 * 3600),
                    )
                },
            )?,
            tls: match (file.tls_cert, file.tls_key, file.tls_client_ca) {
                (None, None, None) => None,
                (Some(cert), Some(key), client_ca) => Some(TlsSettings {
                    cert,
                    key,
                    client_ca,
                }),
                _ => {
                    return Err(ConfigError::Invalid(
                        "tls_cert and tls_key must be given together (tls_client_ca needs both)"
                            .into(),
                    ));
                }
            },
            checkpoints,
            traces: traces::resolve(
                args.otlp_endpoint.clone().or(file.otlp_endpoint),
                args.trace_sample_ratio.or(file.trace_sample_ratio),
                |name| std::env::var(name).ok(),
            )?,
        };
        // The metrics say how many calls, holds and refusals each insurer's traffic causes:
        // served on a non-loopback address only when the settings file says so explicitly
        // (there is no flag for it), as the gRPC listener needs TLS there.
        if let Some(addr) = settings.metrics_listen
            && !addr.ip().is_loopback()
            && !file.metrics_listen_public
        {
            return Err(ConfigError::Invalid(format!(
                "metrics_listen {addr} is not a loopback address; serve metrics on \
                     127.0.0.1 (scraped through a local agent or a proxy), or set \
                     metrics_listen_public = true in the settings file"
            )));
        }
        if !(1024..=MAX_MESSAGE_BYTES_LIMIT).contains(&settings.max_message_bytes) {
            return Err(ConfigError::Invalid(format!(
                "max_message_bytes must be 1024..={MAX_MESSAGE_BYTES_LIMIT} (16 MiB; a request \
                 of 20 candidates at every field's limit is under 100 KiB)"
            )));
        }
        if settings.batch_in_flight == 0 || settings.batch_in_flight > 1024 {
            return Err(ConfigError::Invalid(
                "batch_in_flight must be 1..=1024".into(),
            ));
        }
        let db = settings.database.expose();
        if !(db.starts_with("sqlite:")
            || db.starts_with("postgres:")
            || db.starts_with("postgresql:"))
        {
            return Err(ConfigError::Invalid(
                "database must be a sqlite: or postgres:// URL".into(),
            ));
        }
        if settings.console_absolute_timeout < settings.console_idle_timeout {
            return Err(ConfigError::Invalid(
                "console_absolute_timeout must not be shorter than console_idle_timeout".into(),
            ));
        }
        Ok(settings)
    }
}

/// The checkpoint settings: all or nothing, the interval within 1 s ..= 24 h.
fn checkpoint_settings(
    file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    interval: Option<String>,
) -> Result<Option<CheckpointSettings>, ConfigError> {
    let interval = interval.as_deref().map(parse_interval).transpose()?;
    match (file, key_file) {
        (None, None) if interval.is_none() => Ok(None),
        (Some(file), Some(key_file)) => Ok(Some(CheckpointSettings {
            file,
            key_file,
            interval: interval.unwrap_or(DEFAULT_CHECKPOINT_INTERVAL),
        })),
        _ => Err(ConfigError::Invalid(
            "checkpoint_file and checkpoint_key_file must be given together \
             (checkpoint_interval needs both); create a key with \
             `verify-identity audit checkpoint-key --out FILE`"
                .into(),
        )),
    }
}

/// A checkpoint interval: `30s`, `5m`, `1h30m`, `PT5M` (jiff's friendly or ISO 8601 form).
fn parse_interval(text: &str) -> Result<Duration, ConfigError> {
    connections::parse_duration(
        text,
        "checkpoint_interval",
        Duration::from_secs(1),
        Duration::from_secs(24 * 3600),
    )
}

fn read_file(path: &Path) -> Result<FileSettings, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.display().to_string(),
        source,
    })?;
    toml::from_str(&text).map_err(|source| ConfigError::Parse {
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests;
