//! Refusals of the console, counted and written to the audit log once per interval, as the
//! gRPC side counts its own: failed and rate-limited sign-ins, and actions a clerk's role does
//! not grant. One `access.denied` event per address, clerk, action and reason each interval,
//! never one per refusal, so a flood of wrong passwords cannot flood the log.
//!
//! The clerk's name is recorded only when it is a configured clerk's: whatever else was typed
//! in the name field (a password in the wrong box, a person's name) is recorded as
//! `unauthenticated`.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use crate::audit::AccessDenied;

use super::Console;

/// How often counted refusals are written.
const INTERVAL: Duration = Duration::from_secs(10);

/// What one `access.denied` event counts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    /// Address (IPv4) or /64 prefix (IPv6).
    peer: String,
    /// The configured clerk, or `unauthenticated`.
    caller: String,
    /// `ConsoleSignIn`, `ResolveHold` …
    action: &'static str,
    /// `UNAUTHENTICATED`, `RATE_LIMITED`, `ROLE_NOT_GRANTED`.
    reason: &'static str,
}

/// Refusals counted since the last write.
#[derive(Default)]
pub(super) struct Tally {
    /// Count, first and last time, per key.
    counts: Mutex<HashMap<Key, (u64, SystemTime, SystemTime)>>,
}

/// The address as the audit log keys it: an IPv4 address, an IPv6 /64 prefix.
fn peer(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                format!("{}/64", std::net::Ipv6Addr::from(prefix))
            }
        },
    }
}

impl Tally {
    /// Counts one refusal.
    pub(super) fn count(
        &self,
        address: IpAddr,
        caller: &str,
        action: &'static str,
        reason: &'static str,
    ) {
        metrics::counter!("console_refusals_total", "action" => action, "reason" => reason)
            .increment(1);
        let now = SystemTime::now();
        let key = Key {
            peer: peer(address),
            caller: caller.to_owned(),
            action,
            reason,
        };
        let mut counts = self.counts.lock().expect("not poisoned");
        let entry = counts.entry(key).or_insert((0, now, now));
        entry.0 += 1;
        entry.2 = now;
    }

    fn drain(&self) -> Vec<AccessDenied> {
        let counted = std::mem::take(&mut *self.counts.lock().expect("not poisoned"));
        counted
            .into_iter()
            .map(|(k, (count, first, last))| AccessDenied {
                occurred_at: last,
                caller: k.caller,
                insurer_number: String::new(),
                rpc: k.action.to_owned(),
                reason: k.reason.to_owned(),
                count,
                peer: k.peer,
                first_occurred_at: (count > 1).then_some(first),
            })
            .collect()
    }
}

/// Writes what was counted.
pub(super) async fn flush(console: &Console) {
    for denied in console.refusals.drain() {
        let count = denied.count;
        if let Err(e) = console.verifications.record_access_denied(denied).await {
            tracing::error!(error = %e, count, "could not record the console's counted refusals");
        }
    }
}

/// Writes what was counted every interval, until aborted.
pub(super) async fn flush_every(console: Arc<Console>) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + INTERVAL, INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        flush(&console).await;
    }
}
