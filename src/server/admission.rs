//! Which accepted connections may stay: at most so many open at once, and so many from one
//! peer address.
//!
//! A connection over its address's share is closed as soon as it is accepted, before a byte is
//! read from it, and counted in `verify_connections_refused_total{reason}`. Peers are keyed as
//! the refusal budget keys them ([`Peer`]: the IPv4 address, or the /64 of IPv6), so that one
//! host cannot multiply its share with ports or with the addresses of its own prefix.
//!
//! When the total is reached, a new connection takes the place of the oldest connection that
//! has not finished its handshake (TLS and the HTTP/2 preface), which is closed; only when
//! every open connection has finished its handshake is the new one refused. Many addresses
//! holding silent connections would otherwise lock every new caller out until the handshake
//! timeout, while a real client finishes its handshake in milliseconds and is then safe from
//! eviction. A connection in its handshake has no calls to lose.
//!
//! Rejected: queueing connections over the limit (an attacker's connections would then hold
//! the queue as well as the slots), and limiting the rate of new connections (a registration
//! system reconnecting after a restart opens its few connections in one burst; what costs the
//! server is connections held, not opened).

use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
};

use tokio::sync::Notify;

use crate::grpc::refusals::Peer;

/// Why a connection was not admitted; the `reason` label of the refusal metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refused {
    /// `connections.max_total` connections were open, each past its handshake.
    Total,
    /// `connections.max_per_address` connections from its address were open.
    PerAddress,
}

impl Refused {
    /// The metric label.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Refused::Total => "max_total",
            Refused::PerAddress => "max_per_address",
        }
    }
}

/// The open connections, in total and per peer.
pub(super) struct Admission {
    /// The most open at once.
    max_total: usize,
    /// The most open from one peer at once.
    max_per_peer: usize,
    /// What is open now.
    open: Mutex<Open>,
    /// Woken when an evicted connection is closed.
    closed: Notify,
}

/// The counts behind [`Admission`]; a peer is in the map only while it has a connection open,
/// so the maps are bounded by `max_total`.
#[derive(Default)]
struct Open {
    /// Connections open in total.
    total: usize,
    /// Connections open per peer.
    per_peer: HashMap<Peer, usize>,
    /// The connections still in their handshake, oldest first.
    handshaking: BTreeMap<u64, Arc<Slot>>,
    /// The number of the next connection admitted.
    next: u64,
    /// Evicted connections whose task has not yet closed them: their places are given back,
    /// their descriptors not yet.
    evicting: usize,
}

/// At most this many evicted connections may wait for their task to close them before the
/// accept loop waits for them ([`Admission::evictions_settled`]). An evicted connection's place
/// is given back at once but its descriptor only when its task next runs; when the accept loop
/// outran those tasks (seen in CI), hundreds were pending and accept() ran out of descriptors.
/// Half of the descriptors kept beside the connections (`descriptors::RESERVED`, 128) bounds
/// them; the connections waiting meanwhile stay in the kernel's backlog, holding none.
pub(super) const MAX_EVICTING: usize = 64;

/// One admitted connection, as the admission and its connection task share it.
struct Slot {
    /// Its number, in the order connections were admitted.
    number: u64,
    /// Whose connection it is.
    peer: Peer,
    /// Whether it was evicted (its place already given back).
    evicted: AtomicBool,
    /// Wakes its task to close it.
    evict: Notify,
}

/// An admitted connection's place, given back when it is dropped.
pub(super) struct Permit {
    /// Whom to give it back to.
    admission: Arc<Admission>,
    /// Which place.
    slot: Arc<Slot>,
}

/// Marks a connection's handshake as done (see [`Permit::handshake`]).
pub(super) struct Handshake {
    /// Where the connection is listed.
    admission: Arc<Admission>,
    /// Which connection.
    number: u64,
}

impl Admission {
    /// Limits of `max_total` open connections and `max_per_peer` from one peer.
    pub(super) fn new(max_total: usize, max_per_peer: usize) -> Arc<Self> {
        Arc::new(Admission {
            max_total,
            max_per_peer,
            open: Mutex::new(Open::default()),
            closed: Notify::new(),
        })
    }

    /// A place for a connection from `peer`, evicting the oldest connection still in its
    /// handshake when the total is reached; refused when the peer has its share, or when
    /// every open connection is past its handshake.
    pub(super) fn admit(self: &Arc<Self>, peer: Peer) -> Result<Permit, Refused> {
        let mut open = self.open.lock().expect("admission lock");
        if open
            .per_peer
            .get(&peer)
            .is_some_and(|n| *n >= self.max_per_peer)
        {
            return Err(Refused::PerAddress);
        }
        if open.total >= self.max_total {
            let Some((_, oldest)) = open.handshaking.pop_first() else {
                return Err(Refused::Total);
            };
            open.release(oldest.peer);
            open.evicting += 1;
            oldest.evicted.store(true, Ordering::Release);
            oldest.evict.notify_one();
            metrics::counter!("verify_connections_closed_total", "reason" => "evicted")
                .increment(1);
        }
        *open.per_peer.entry(peer).or_insert(0) += 1;
        open.total += 1;
        let slot = Arc::new(Slot {
            number: open.next,
            peer,
            evicted: AtomicBool::new(false),
            evict: Notify::new(),
        });
        open.next += 1;
        open.handshaking.insert(slot.number, slot.clone());
        metrics::gauge!("verify_connections_open").set(open.total as f64);
        Ok(Permit {
            admission: self.clone(),
            slot,
        })
    }

    /// Resolves when fewer than [`MAX_EVICTING`] evicted connections wait to be closed: the
    /// accept loop waits for it before each accept, so that the descriptors of connections
    /// being evicted stay within the reserve.
    pub(super) async fn evictions_settled(&self) {
        loop {
            // Created before the check, so a close between the two still wakes it.
            let closed = self.closed.notified();
            if self.open.lock().expect("admission lock").evicting < MAX_EVICTING {
                return;
            }
            closed.await;
        }
    }

    /// Connections open now.
    pub(super) fn open(&self) -> usize {
        self.open.lock().expect("admission lock").total
    }
}

impl Open {
    /// Gives back one place of `peer`.
    fn release(&mut self, peer: Peer) {
        self.total -= 1;
        if let Some(n) = self.per_peer.get_mut(&peer) {
            *n -= 1;
            if *n == 0 {
                self.per_peer.remove(&peer);
            }
        }
    }
}

impl Permit {
    /// The handle that marks the handshake as done, after which the connection is no longer
    /// evicted.
    pub(super) fn handshake(&self) -> Handshake {
        Handshake {
            admission: self.admission.clone(),
            number: self.slot.number,
        }
    }

    /// Resolves when the connection has been evicted to make room for a newer one.
    pub(super) async fn evicted(&self) {
        if !self.slot.evicted.load(Ordering::Acquire) {
            self.slot.evict.notified().await;
        }
    }
}

impl Handshake {
    /// The connection finished its handshake.
    pub(super) fn done(&self) {
        let mut open = self.admission.open.lock().expect("admission lock");
        open.handshaking.remove(&self.number);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut open = self.admission.open.lock().expect("admission lock");
        open.handshaking.remove(&self.slot.number);
        if self.slot.evicted.load(Ordering::Acquire) {
            open.evicting -= 1;
            self.admission.closed.notify_waiters();
        } else {
            open.release(self.slot.peer);
        }
        metrics::gauge!("verify_connections_open").set(open.total as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(addr: &str) -> Peer {
        Peer::of(addr.parse().unwrap())
    }

    #[test]
    fn one_address_gets_its_share_and_no_more_and_ports_do_not_make_new_peers() {
        let admission = Admission::new(10, 2);
        let a = admission.admit(peer("10.0.0.1:1000")).unwrap();
        let _b = admission.admit(peer("10.0.0.1:1001")).unwrap();
        assert_eq!(
            admission.admit(peer("10.0.0.1:1002")).err(),
            Some(Refused::PerAddress)
        );
        // The same /64 is the same peer; another address is not.
        let _v6 = admission.admit(peer("[2001:db8::1]:1")).unwrap();
        let _v6b = admission.admit(peer("[2001:db8::2]:1")).unwrap();
        assert_eq!(
            admission.admit(peer("[2001:db8::3]:1")).err(),
            Some(Refused::PerAddress)
        );
        let _c = admission.admit(peer("10.0.0.2:1000")).unwrap();
        // A closed connection gives its place back.
        drop(a);
        let _d = admission.admit(peer("10.0.0.1:1003")).unwrap();
        assert_eq!(admission.open(), 5);
    }

    #[test]
    fn the_total_is_a_limit_of_its_own_and_every_place_comes_back() {
        let admission = Admission::new(3, 3);
        let permits: Vec<_> = (1..=3)
            .map(|i| admission.admit(peer(&format!("10.0.0.{i}:1"))).unwrap())
            .collect();
        for permit in &permits {
            permit.handshake().done();
        }
        assert_eq!(
            admission.admit(peer("10.0.0.9:1")).err(),
            Some(Refused::Total)
        );
        drop(permits);
        assert_eq!(admission.open(), 0);
        assert!(admission.open.lock().unwrap().per_peer.is_empty());
        assert!(admission.admit(peer("10.0.0.9:1")).is_ok());
    }

    #[tokio::test]
    async fn the_accept_loop_waits_while_too_many_evicted_connections_are_still_open() {
        let admission = Admission::new(1, usize::MAX);
        let mut held = vec![admission.admit(peer("10.0.0.1:1")).unwrap()];
        // Each newcomer evicts the last one, whose task has not closed it yet (kept here).
        for _ in 0..MAX_EVICTING {
            admission.evictions_settled().await;
            held.push(admission.admit(peer("10.0.0.1:1")).unwrap());
        }
        assert_eq!(admission.open(), 1);
        assert_eq!(admission.open.lock().unwrap().evicting, MAX_EVICTING);
        // One more accept would leave one more descriptor open than the bound: it waits...
        let settled = admission.evictions_settled();
        tokio::pin!(settled);
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(50), &mut settled)
                .await
                .is_err()
        );
        // ...until an evicted connection is closed.
        drop(held.remove(0));
        settled.await;
        assert_eq!(admission.open.lock().unwrap().evicting, MAX_EVICTING - 1);
        assert!(admission.admit(peer("10.0.0.2:1")).is_ok());
    }

    #[tokio::test]
    async fn at_the_total_a_newcomer_evicts_the_oldest_connection_still_in_its_handshake() {
        let admission = Admission::new(3, 3);
        let silent_old = admission.admit(peer("10.0.0.1:1")).unwrap();
        let spoke = admission.admit(peer("10.0.0.2:1")).unwrap();
        spoke.handshake().done();
        let silent_new = admission.admit(peer("10.0.0.3:1")).unwrap();
        let newcomer = admission.admit(peer("10.0.0.4:1")).unwrap();
        // The oldest silent connection made room; the one that spoke and the newer silent
        // one stay.
        silent_old.evicted().await;
        assert_eq!(admission.open(), 3);
        assert!(!silent_new.slot.evicted.load(Ordering::Acquire));
        assert!(!spoke.slot.evicted.load(Ordering::Acquire));
        // Its place was given back once, not again when its task drops it.
        drop(silent_old);
        assert_eq!(admission.open(), 3);
        assert!(
            !admission
                .open
                .lock()
                .unwrap()
                .per_peer
                .contains_key(&peer("10.0.0.1:1"))
        );
        // With every connection past its handshake, a newcomer is refused.
        newcomer.handshake().done();
        silent_new.handshake().done();
        assert_eq!(
            admission.admit(peer("10.0.0.5:1")).err(),
            Some(Refused::Total)
        );
        drop((spoke, silent_new, newcomer));
        assert_eq!(admission.open(), 0);
        assert!(admission.open.lock().unwrap().handshaking.is_empty());
    }
}
