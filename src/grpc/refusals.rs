//! What refused calls may cost: a refusal budget per peer, and one count per interval instead
//! of one audit row per refusal.
//!
//! A refused call used to be one `access.denied` event through the writer that makes real
//! decisions durable: 20,000 calls without a token in 2.7 s added 20,020 rows and slowed a
//! legitimate Verify's median from 2.2 ms to 17.5 ms. Now a refusal only counts:
//!
//! - in a **tally** keyed by peer, caller, RPC, insurer and reason, which a background task
//!   turns into one counted `access.denied` event per key each interval ([`Refusals::drain`]);
//! - against the peer's **refusal budget**, a token bucket: once a peer has spent it, its calls
//!   are answered `RESOURCE_EXHAUSTED` before they are decoded or authenticated
//!   ([`crate::grpc::limit`]) until the bucket refills.
//!
//! Both tables are bounded, because an attacker can call from many ports and addresses. Peers
//! are keyed by address, not port, and IPv6 peers by their /64 prefix (what one host is usually
//! given). When the peer table is full a new peer's refusals are still counted but charge no
//! budget: the limiter fails open rather than refusing peers it cannot tell apart, and what a
//! refusal costs is bounded by the tally anyway. When the tally is full, every new key is
//! counted in one row ([`OVERFLOW`]), so an interval writes at most `max_tallies` + 1 rows
//! however many peers, callers, RPCs and reasons there were.
//!
//! Rejected: a per-process global budget (one noisy peer would lock every caller out), and
//! writing refusals to the log at a sampled rate (an auditor could no longer count them).

use std::{
    collections::HashMap,
    fmt,
    net::{IpAddr, Ipv6Addr, SocketAddr},
    sync::Mutex,
    time::{Duration, Instant, SystemTime},
};

use crate::{audit::AccessDenied, config::RefusalLimits};

/// The reason recorded for a call refused because its peer had spent its refusal budget.
pub const RATE_LIMITED: &str = "RATE_LIMITED";

/// Where a call came from, as the budget and the audit log know it: an IPv4 address, or the
/// /64 prefix of an IPv6 address.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer(IpAddr);

impl Peer {
    /// The peer of a connection from `addr` (its port is ignored).
    pub fn of(addr: SocketAddr) -> Self {
        match addr.ip() {
            IpAddr::V4(v4) => Peer(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Peer(IpAddr::V4(v4)),
                None => {
                    let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                    Peer(IpAddr::V6(Ipv6Addr::from(prefix)))
                }
            },
        }
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

impl fmt::Debug for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Peer({self})")
    }
}

/// One refused call.
#[derive(Debug, Clone, Copy)]
pub struct Refusal<'a> {
    /// Where it came from, when the transport knows.
    pub peer: Option<Peer>,
    /// The caller's configured name, or `unauthenticated`.
    pub caller: &'a str,
    /// The RPC's method name.
    pub rpc: &'static str,
    /// The reason id.
    pub reason: &'static str,
    /// The insurer the request named, already checked to be well formed; empty otherwise.
    pub insurer: &'a str,
}

/// What the tally counts together.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    peer: Option<Peer>,
    caller: String,
    rpc: &'static str,
    reason: &'static str,
    insurer: String,
}

impl Key {
    /// The key every refusal beyond the tally's cap is counted under.
    fn overflow() -> Self {
        Key {
            peer: None,
            caller: OVERFLOW.to_owned(),
            rpc: OVERFLOW,
            reason: OVERFLOW,
            insurer: String::new(),
        }
    }
}

/// The caller, RPC and reason of the row that counts the refusals beyond the tally's cap.
pub const OVERFLOW: &str = "(others beyond the tally's cap)";

/// The refusals of one key in the current interval.
struct Count {
    count: u64,
    first: SystemTime,
    last: SystemTime,
}

/// A peer's refusal budget.
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// The per-peer budgets and the interval's tally, shared by the limiter, the service and the
/// task that flushes the tally.
pub struct Refusals {
    /// The configured budgets and bounds.
    limits: RefusalLimits,
    /// Budgets of the peers that were refused recently; at most `limits.max_peers`.
    peers: Mutex<HashMap<Peer, Bucket>>,
    /// Refusals counted since the last flush; at most `limits.max_tallies` keys plus the
    /// overflow keys.
    tally: Mutex<HashMap<Key, Count>>,
}

impl Refusals {
    /// Empty tables under `limits`.
    pub fn new(limits: RefusalLimits) -> Self {
        Refusals {
            limits,
            peers: Mutex::new(HashMap::new()),
            tally: Mutex::new(HashMap::new()),
        }
    }

    /// How often the tally is flushed to the audit log.
    pub fn interval(&self) -> Duration {
        self.limits.interval
    }

    /// Whether a call from `peer` may go on: `false` once the peer has spent its refusal
    /// budget, until it refills. A peer never refused is not even looked up twice.
    pub fn admits(&self, peer: Option<Peer>) -> bool {
        let Some(peer) = peer else { return true };
        let mut peers = lock(&self.peers);
        match peers.get_mut(&peer) {
            None => true,
            Some(bucket) => {
                self.refill(bucket, Instant::now());
                bucket.tokens >= 1.0
            }
        }
    }

    /// Counts one refusal in the tally and, unless the limiter itself refused it, against the
    /// peer's budget.
    pub fn count(&self, refusal: Refusal<'_>) {
        if let (Some(peer), false) = (refusal.peer, refusal.reason == RATE_LIMITED) {
            let now = Instant::now();
            let mut peers = lock(&self.peers);
            let full = peers.len() >= self.limits.max_peers;
            let bucket = if full {
                peers.get_mut(&peer)
            } else {
                Some(peers.entry(peer).or_insert(Bucket {
                    tokens: f64::from(self.limits.peer_burst),
                    updated: now,
                }))
            };
            if let Some(bucket) = bucket {
                self.refill(bucket, now);
                bucket.tokens = (bucket.tokens - 1.0).max(0.0);
            }
        }
        let mut key = Key {
            peer: refusal.peer,
            caller: refusal.caller.to_owned(),
            rpc: refusal.rpc,
            reason: refusal.reason,
            insurer: refusal.insurer.to_owned(),
        };
        let now = SystemTime::now();
        let mut tally = lock(&self.tally);
        if !tally.contains_key(&key) && tally.len() >= self.limits.max_tallies {
            // One row for everything beyond the cap, whoever and whatever it was: the rows an
            // interval writes stay at most `max_tallies` + 1 for all peers together (1,500
            // spraying addresses once wrote ~100 rows a second).
            key = Key::overflow();
            metrics::counter!("verify_refusals_merged_total").increment(1);
        }
        let count = tally.entry(key).or_insert(Count {
            count: 0,
            first: now,
            last: now,
        });
        count.count += 1;
        count.last = now;
    }

    /// The interval's refusals as counted `access.denied` events, oldest first, leaving the
    /// tally empty; peers whose budget is whole again are forgotten.
    pub fn drain(&self) -> Vec<AccessDenied> {
        let counted = std::mem::take(&mut *lock(&self.tally));
        {
            let now = Instant::now();
            let burst = f64::from(self.limits.peer_burst);
            let mut peers = lock(&self.peers);
            peers.retain(|_, bucket| {
                self.refill(bucket, now);
                bucket.tokens < burst
            });
            metrics::gauge!("verify_refusal_peers").set(peers.len() as f64);
        }
        let mut events: Vec<AccessDenied> = counted
            .into_iter()
            .map(|(key, c)| AccessDenied {
                occurred_at: c.last,
                caller: key.caller,
                insurer_number: key.insurer,
                rpc: key.rpc.to_owned(),
                reason: key.reason.to_owned(),
                count: c.count,
                peer: key.peer.map(|p| p.to_string()).unwrap_or_default(),
                first_occurred_at: (c.count > 1).then_some(c.first),
            })
            .collect();
        events.sort_by_key(|e| e.first_occurred_at.unwrap_or(e.occurred_at));
        events
    }

    fn refill(&self, bucket: &mut Bucket, now: Instant) {
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.limits.peer_per_second)
            .min(f64::from(self.limits.peer_burst));
        bucket.updated = now;
    }
}

/// A poisoned lock only means another call panicked while counting; the counts stay usable.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> RefusalLimits {
        RefusalLimits {
            interval: Duration::from_secs(10),
            peer_burst: 3,
            peer_per_second: 0.0,
            max_peers: 2,
            max_tallies: 2,
        }
    }

    fn peer(s: &str) -> Option<Peer> {
        Some(Peer::of(s.parse().unwrap()))
    }

    fn unauthenticated(peer: Option<Peer>) -> Refusal<'static> {
        Refusal {
            peer,
            caller: "unauthenticated",
            rpc: "Verify",
            reason: "UNAUTHENTICATED",
            insurer: "",
        }
    }

    #[test]
    fn a_peer_is_admitted_until_it_has_spent_its_budget() {
        let r = Refusals::new(limits());
        let p = peer("192.0.2.7:4000");
        for _ in 0..3 {
            assert!(r.admits(p));
            r.count(unauthenticated(p));
        }
        assert!(!r.admits(p));
        assert!(!r.admits(peer("192.0.2.7:4001")), "another port, same peer");
        assert!(r.admits(peer("192.0.2.8:4000")));
    }

    #[test]
    fn ipv6_peers_are_their_64_prefix_and_mapped_ipv4_is_ipv4() {
        let a = Peer::of("[2001:db8:1:2::5]:1".parse().unwrap());
        let b = Peer::of("[2001:db8:1:2:ffff::9]:2".parse().unwrap());
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "2001:db8:1:2::/64");
        let mapped = Peer::of("[::ffff:192.0.2.7]:1".parse().unwrap());
        assert_eq!(mapped.to_string(), "192.0.2.7");
    }

    #[test]
    fn many_refusals_drain_as_one_counted_event_and_the_tally_empties() {
        let r = Refusals::new(limits());
        let p = peer("192.0.2.7:4000");
        for _ in 0..1000 {
            r.count(unauthenticated(p));
        }
        let events = r.drain();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].count, 1000);
        assert_eq!(events[0].peer, "192.0.2.7");
        assert!(events[0].first_occurred_at.is_some());
        assert!(r.drain().is_empty());
    }

    #[test]
    fn the_tables_stay_bounded_however_many_peers_are_refused() {
        let r = Refusals::new(limits());
        for i in 0..1000 {
            r.count(unauthenticated(peer(&format!(
                "10.0.{}.{}:1",
                i / 256,
                i % 256
            ))));
        }
        assert!(lock(&r.peers).len() <= 2);
        let events = r.drain();
        assert_eq!(events.len(), 3, "two keys and the overflow key");
        assert_eq!(events.iter().map(|e| e.count).sum::<u64>(), 1000);
        assert!(events.iter().any(|e| e.peer.is_empty() && e.count == 998));
        // A peer the full table could not hold is not limited.
        assert!(r.admits(peer("10.9.9.9:1")));
    }

    #[test]
    fn beyond_the_cap_every_caller_rpc_and_reason_is_counted_in_one_row() {
        let r = Refusals::new(limits());
        let reasons = [
            "UNAUTHENTICATED",
            "PERMISSION_DENIED",
            "INSURER_NOT_ALLOWED",
        ];
        let rpcs = ["Verify", "ListHolds", "ResolveHold", "GetVerification"];
        for i in 0..1_500 {
            r.count(Refusal {
                peer: peer(&format!("10.1.{}.{}:1", i / 256, i % 256)),
                caller: if i % 2 == 0 {
                    "unauthenticated"
                } else {
                    "registrar-a"
                },
                rpc: rpcs[i % rpcs.len()],
                reason: reasons[i % reasons.len()],
                insurer: "",
            });
        }
        let events = r.drain();
        assert_eq!(events.len(), 3, "the cap of two, and one row for the rest");
        let rest = events.iter().find(|e| e.caller == OVERFLOW).unwrap();
        assert_eq!(
            (rest.rpc.as_str(), rest.reason.as_str()),
            (OVERFLOW, OVERFLOW)
        );
        assert_eq!(rest.count, 1_498);
    }

    #[test]
    fn a_budget_refills_and_a_whole_one_is_forgotten_at_the_flush() {
        let r = Refusals::new(RefusalLimits {
            peer_per_second: 1_000_000.0,
            ..limits()
        });
        let p = peer("192.0.2.7:4000");
        for _ in 0..3 {
            r.count(unauthenticated(p));
        }
        std::thread::sleep(Duration::from_millis(2));
        assert!(r.admits(p));
        r.drain();
        assert!(lock(&r.peers).is_empty());
    }

    #[test]
    fn calls_the_limiter_refused_are_counted_but_spend_no_budget() {
        let r = Refusals::new(limits());
        let p = peer("192.0.2.7:4000");
        for _ in 0..10 {
            r.count(Refusal {
                reason: RATE_LIMITED,
                ..unauthenticated(p)
            });
        }
        assert!(r.admits(p));
        assert_eq!(r.drain()[0].count, 10);
    }
}
