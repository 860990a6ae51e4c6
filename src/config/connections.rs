//! What one connection, one address and a stop may hold: the `[connections]` table of the
//! settings file, `shutdown_grace`, and their bounds.
//!
//! The defaults are chosen so that a registration system at full load never meets them and an
//! attacker always does. A registration system opens a handful of HTTP/2 connections and
//! multiplexes its calls on them (the load generator's saturation runs use 4 connections and at
//! most 1,024 calls in flight); every one of its connections sends the HTTP/2 preface at once,
//! and every call sends its message right after its headers. An attacker holds connections
//! without speaking, opens streams without bodies, or opens many connections from one address:
//! each of those is cut off by one of these limits (README, "Connections and their limits").

use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;

/// Open connections at once, before the file-descriptor budget lowers it (see
/// [`ConnectionLimits::max_total`]).
pub const DEFAULT_MAX_CONNECTIONS: usize = 1000;

/// The `[connections]` table of the settings file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConnectionsFile {
    max_total: Option<usize>,
    max_per_address: Option<usize>,
    max_calls_per_connection: Option<u32>,
    handshake_timeout: Option<String>,
    request_body_timeout: Option<String>,
    idle_timeout: Option<String>,
    keepalive_interval: Option<String>,
    keepalive_timeout: Option<String>,
}

/// What connections may hold (see `server::connections`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Open connections at once; a connection beyond it is closed as soon as it is accepted.
    /// `None` is the default, [`DEFAULT_MAX_CONNECTIONS`], lowered at start to what the
    /// process's file-descriptor limit leaves room for; a number given explicitly must fit
    /// that room or the server refuses to start.
    pub max_total: Option<usize>,
    /// Open connections from one peer address (IPv4, or the /64 of IPv6) at once; the default
    /// is lowered to `max_total` when that is smaller.
    pub max_per_address: usize,
    /// Calls open at once on one connection: the HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS` the
    /// server advertises. Streams beyond it are refused (`REFUSED_STREAM`), and a connection
    /// that keeps opening them is closed.
    pub max_calls_per_connection: u32,
    /// From accepting a connection to its TLS handshake and HTTP/2 preface: a connection that
    /// has not sent both by then is closed.
    pub handshake_timeout: Duration,
    /// The longest a call waits for the next part of its request while the server is reading
    /// it: a stream that sent its headers and no body is answered `DEADLINE_EXCEEDED` and
    /// closed.
    pub request_body_timeout: Duration,
    /// A connection with no call open for this long is asked to close (HTTP/2 GOAWAY); the
    /// client reconnects when it next calls.
    pub idle_timeout: Duration,
    /// An HTTP/2 PING is sent when nothing was received for this long ...
    pub keepalive_interval: Duration,
    /// ... and the connection is closed when the PING is not answered within this, so that a
    /// peer that went away does not hold its connection and its calls.
    pub keepalive_timeout: Duration,
}

impl Default for ConnectionLimits {
    /// 64 connections per address (a registration system uses a handful), 256 calls per
    /// connection (a quarter of the load generator's 1,024 in flight over its 4 connections),
    /// 10 s for the handshake, 30 s for the next part of a request body, 2 min idle, a PING
    /// after 30 s of silence answered within 20 s.
    fn default() -> Self {
        ConnectionLimits {
            max_total: None,
            max_per_address: 64,
            max_calls_per_connection: 256,
            handshake_timeout: Duration::from_secs(10),
            request_body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(120),
            keepalive_interval: Duration::from_secs(30),
            keepalive_timeout: Duration::from_secs(20),
        }
    }
}

/// How long a stop waits for calls in flight by default.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The longest `shutdown_grace` accepted.
const MAX_SHUTDOWN_GRACE: Duration = Duration::from_secs(3600);

const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

impl ConnectionsFile {
    /// The limits, from this table, `max_connections` (a flag or the environment, which wins)
    /// and the defaults, each checked against its bounds.
    pub(super) fn resolve(
        &self,
        max_connections: Option<usize>,
    ) -> Result<ConnectionLimits, ConfigError> {
        let d = ConnectionLimits::default();
        let duration = |text: &Option<String>, name: &str, default, min, max| {
            text.as_deref().map_or(Ok(default), |t| {
                parse_duration(t, &format!("connections.{name}"), min, max)
            })
        };
        let limits = ConnectionLimits {
            max_total: max_connections.or(self.max_total),
            max_per_address: self.max_per_address.unwrap_or(
                d.max_per_address
                    .min(max_connections.or(self.max_total).unwrap_or(usize::MAX)),
            ),
            max_calls_per_connection: self
                .max_calls_per_connection
                .unwrap_or(d.max_calls_per_connection),
            handshake_timeout: duration(
                &self.handshake_timeout,
                "handshake_timeout",
                d.handshake_timeout,
                SECOND,
                5 * MINUTE,
            )?,
            request_body_timeout: duration(
                &self.request_body_timeout,
                "request_body_timeout",
                d.request_body_timeout,
                SECOND,
                HOUR,
            )?,
            idle_timeout: duration(
                &self.idle_timeout,
                "idle_timeout",
                d.idle_timeout,
                SECOND,
                24 * HOUR,
            )?,
            keepalive_interval: duration(
                &self.keepalive_interval,
                "keepalive_interval",
                d.keepalive_interval,
                SECOND,
                HOUR,
            )?,
            keepalive_timeout: duration(
                &self.keepalive_timeout,
                "keepalive_timeout",
                d.keepalive_timeout,
                SECOND,
                5 * MINUTE,
            )?,
        };
        let total = limits.max_total.unwrap_or(DEFAULT_MAX_CONNECTIONS);
        if !(1..=1_000_000).contains(&total) {
            return Err(ConfigError::Invalid(
                "connections.max_total (--max-connections) must be 1..=1000000".into(),
            ));
        }
        if !(1..=total).contains(&limits.max_per_address) {
            return Err(ConfigError::Invalid(format!(
                "connections.max_per_address must be 1..={total} (connections.max_total)"
            )));
        }
        if !(1..=10_000).contains(&limits.max_calls_per_connection) {
            return Err(ConfigError::Invalid(
                "connections.max_calls_per_connection must be 1..=10000".into(),
            ));
        }
        Ok(limits)
    }
}

/// `shutdown_grace` (from a flag, the environment or the file): how long a stop waits for
/// calls in flight, 0 s to 1 h.
pub(super) fn shutdown_grace(text: Option<&str>) -> Result<Duration, ConfigError> {
    text.map_or(Ok(DEFAULT_SHUTDOWN_GRACE), |t| {
        parse_duration(t, "shutdown_grace", Duration::ZERO, MAX_SHUTDOWN_GRACE)
    })
}

/// A duration setting: `30s`, `5m`, `1h30m`, `PT5M` (jiff's friendly or ISO 8601 form), within
/// `min..=max`; out of range or unreadable is an error naming `setting`.
pub(super) fn parse_duration(
    text: &str,
    setting: &str,
    min: Duration,
    max: Duration,
) -> Result<Duration, ConfigError> {
    let invalid = || {
        ConfigError::Invalid(format!(
            "{setting} must be a duration from {} to {}, such as 30s, 5m or 1h",
            friendly(min),
            friendly(max)
        ))
    };
    let d: jiff::SignedDuration = text.trim().parse().map_err(|_| invalid())?;
    let d = Duration::try_from(d).map_err(|_| invalid())?;
    if d < min || d > max {
        return Err(invalid());
    }
    Ok(d)
}

/// `0s`, `1s`, `5m`, `24h`: the whole unit a bound is written in.
fn friendly(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s >= 3600 && s % 3600 == 0 => format!("{}h", s / 3600),
        s if s >= 60 && s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ServeArgs, Settings};

    fn table(text: &str) -> ConnectionsFile {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn the_defaults_hold_without_a_table() {
        let limits = ConnectionsFile::default().resolve(None).unwrap();
        assert_eq!(limits, ConnectionLimits::default());
        assert_eq!(shutdown_grace(None).unwrap(), DEFAULT_SHUTDOWN_GRACE);
    }

    #[test]
    fn every_value_is_read_and_the_flag_wins_over_the_file() {
        let limits = table(
            "max_total = 300\nmax_per_address = 8\nmax_calls_per_connection = 50\n\
             handshake_timeout = \"3s\"\nrequest_body_timeout = \"1m\"\nidle_timeout = \"1h\"\n\
             keepalive_interval = \"10s\"\nkeepalive_timeout = \"5s\"\n",
        )
        .resolve(None)
        .unwrap();
        assert_eq!(
            limits,
            ConnectionLimits {
                max_total: Some(300),
                max_per_address: 8,
                max_calls_per_connection: 50,
                handshake_timeout: Duration::from_secs(3),
                request_body_timeout: Duration::from_secs(60),
                idle_timeout: Duration::from_secs(3600),
                keepalive_interval: Duration::from_secs(10),
                keepalive_timeout: Duration::from_secs(5),
            }
        );
        let flagged = table("max_total = 300\n").resolve(Some(20)).unwrap();
        assert_eq!(flagged.max_total, Some(20));
        assert_eq!(
            flagged.max_per_address, 20,
            "the default share fits the total"
        );
    }

    #[test]
    fn a_value_out_of_range_is_an_error_naming_its_setting() {
        for (text, flag, named) in [
            ("max_total = 0", None, "connections.max_total"),
            ("max_total = 2000000", None, "connections.max_total"),
            ("", Some(0), "--max-connections"),
            ("max_per_address = 0", None, "connections.max_per_address"),
            (
                "max_total = 10\nmax_per_address = 11",
                None,
                "connections.max_per_address must be 1..=10",
            ),
            (
                "max_calls_per_connection = 0",
                None,
                "connections.max_calls_per_connection",
            ),
            (
                "max_calls_per_connection = 4294967295",
                None,
                "connections.max_calls_per_connection",
            ),
            (
                "handshake_timeout = \"0s\"",
                None,
                "connections.handshake_timeout must be a duration from 1s to 5m",
            ),
            (
                "handshake_timeout = \"10m\"",
                None,
                "connections.handshake_timeout",
            ),
            (
                "request_body_timeout = \"500ms\"",
                None,
                "connections.request_body_timeout",
            ),
            ("idle_timeout = \"2d\"", None, "connections.idle_timeout"),
            (
                "keepalive_interval = \"soon\"",
                None,
                "connections.keepalive_interval",
            ),
            (
                "keepalive_timeout = \"-5s\"",
                None,
                "connections.keepalive_timeout",
            ),
        ] {
            let err = table(text).resolve(flag).unwrap_err().to_string();
            assert!(err.contains(named), "{text}: {err}");
        }
    }

    #[test]
    fn shutdown_grace_takes_zero_up_to_an_hour() {
        assert_eq!(shutdown_grace(Some("0s")).unwrap(), Duration::ZERO);
        assert_eq!(
            shutdown_grace(Some("45s")).unwrap(),
            Duration::from_secs(45)
        );
        for text in ["2h", "-1s", "never"] {
            let err = shutdown_grace(Some(text)).unwrap_err().to_string();
            assert!(
                err.contains("shutdown_grace must be a duration from 0s to 1h"),
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn connection_limits_and_the_shutdown_grace_come_from_the_file_and_flags_win() {
        let dir = std::env::temp_dir().join(format!("vi-config-conn-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("settings.toml");
        std::fs::write(
            &path,
            "shutdown_grace = \"10s\"\n[connections]\nmax_total = 500\nidle_timeout = \"5m\"\n",
        )
        .unwrap();
        let file_only = ServeArgs {
            config: Some(path.clone()),
            ..ServeArgs::default()
        };
        let s = Settings::resolve(&file_only).unwrap();
        assert_eq!(s.shutdown_grace, Duration::from_secs(10));
        assert_eq!(s.connections.max_total, Some(500));
        assert_eq!(s.connections.idle_timeout, Duration::from_secs(300));
        let flagged = ServeArgs {
            max_connections: Some(50),
            shutdown_grace: Some("1m".into()),
            ..file_only
        };
        let s = Settings::resolve(&flagged).unwrap();
        assert_eq!(s.shutdown_grace, Duration::from_secs(60));
        assert_eq!(s.connections.max_total, Some(50));
        let too_long = ServeArgs {
            shutdown_grace: Some("3h".into()),
            ..ServeArgs::default()
        };
        let err = Settings::resolve(&too_long).unwrap_err().to_string();
        assert!(err.contains("shutdown_grace"), "{err}");
        std::fs::write(&path, "[connections]\nmax_streams = 10\n").unwrap();
        let err = Settings::resolve(&ServeArgs {
            config: Some(path),
            ..ServeArgs::default()
        })
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("max_streams"),
            "an unknown key is named: {err}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
