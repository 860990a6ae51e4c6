//! The `[refusals]` table of the settings file: what refused calls may cost, checked once
//! when the settings are read.

use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;

/// The `[refusals]` table of the settings file: what refused calls may cost.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RefusalsFile {
    interval_seconds: Option<u64>,
    peer_burst: Option<u32>,
    peer_per_second: Option<f64>,
    max_peers: Option<usize>,
    max_tallies: Option<usize>,
}

/// What refused calls may cost (see [`crate::grpc::refusals`]): refusals are counted and
/// written as one `access.denied` event per peer, caller, RPC, insurer and reason each
/// `interval`, and a peer that has spent its refusal budget is answered `RESOURCE_EXHAUSTED`
/// before its calls are decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct RefusalLimits {
    /// How often the counted refusals are written to the audit log.
    pub interval: Duration,
    /// Refusals a peer may cause in a burst before it is limited.
    pub peer_burst: u32,
    /// Refusals per second a peer's budget regains.
    pub peer_per_second: f64,
    /// Peers whose budget is tracked at once (bounds memory under address spraying).
    pub max_peers: usize,
    /// Distinct counts kept per interval before further ones are counted together.
    pub max_tallies: usize,
}

impl Default for RefusalLimits {
    /// One write per interval of 10 s; 20 refusals in a burst and 2 a second per peer, which a
    /// misconfigured client retrying with backoff stays under and a flood does not; 10,000
    /// peers (about 0.5 MB) and 100 counts, so at most 101 rows per interval (10 a second)
    /// whatever a flood sprays.
    fn default() -> Self {
        RefusalLimits {
            interval: Duration::from_secs(10),
            peer_burst: 20,
            peer_per_second: 2.0,
            max_peers: 10_000,
            max_tallies: 100,
        }
    }
}

impl RefusalsFile {
    pub(super) fn resolve(&self) -> Result<RefusalLimits, ConfigError> {
        let d = RefusalLimits::default();
        let limits = RefusalLimits {
            interval: self
                .interval_seconds
                .map_or(d.interval, Duration::from_secs),
            peer_burst: self.peer_burst.unwrap_or(d.peer_burst),
            peer_per_second: self.peer_per_second.unwrap_or(d.peer_per_second),
            max_peers: self.max_peers.unwrap_or(d.max_peers),
            max_tallies: self.max_tallies.unwrap_or(d.max_tallies),
        };
        let invalid = |what: &str| Err(ConfigError::Invalid(format!("refusals.{what}")));
        if limits.interval.is_zero() || limits.interval > Duration::from_secs(3600) {
            return invalid("interval_seconds must be 1..=3600");
        }
        if !(1..=1_000_000).contains(&limits.peer_burst) {
            return invalid("peer_burst must be 1..=1000000");
        }
        if !(limits.peer_per_second.is_finite()
            && (0.0..=1_000_000.0).contains(&limits.peer_per_second))
        {
            return invalid("peer_per_second must be a number from 0 to 1000000");
        }
        if !(1..=1_000_000).contains(&limits.max_peers) {
            return invalid("max_peers must be 1..=1000000");
        }
        if !(1..=100_000).contains(&limits.max_tallies) {
            return invalid("max_tallies must be 1..=100000");
        }
        Ok(limits)
    }
}
