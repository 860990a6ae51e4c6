//! Which accepted connections may stay: at most so many open at once, and so many from one
//! peer address.
//!
//! A connection over either limit is closed as soon as it is accepted, before a byte is read
//! from it, and counted in `verify_connections_refused_total{reason}`. Peers are keyed as the
//! refusal budget keys them ([`Peer`]: the IPv4 address, or the /64 of IPv6), so that one host
//! cannot multiply its share with ports or with the addresses of its own prefix.
//!
//! Rejected: queueing connections over the limit (an attacker's connections would then hold
//! the queue as well as the slots), and limiting the rate of new connections (a registration
//! system reconnecting after a restart opens its few connections in one burst; what costs the
//! server is connections held, not opened).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use crate::grpc::refusals::Peer;

/// Why a connection was not admitted; the `reason` label of the refusal metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refused {
    /// `connections.max_total` connections were open.
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
}

/// The counts behind [`Admission`]; a peer is in the map only while it has a connection open,
/// so the map is bounded by `max_total`.
#[derive(Default)]
struct Open {
    /// Connections open in total.
    total: usize,
    /// Connections open per peer.
    per_peer: HashMap<Peer, usize>,
}

/// An admitted connection's place, given back when it is dropped.
pub(super) struct Permit {
    /// Whom to give it back to.
    admission: Arc<Admission>,
    /// Whose connection it is.
    peer: Peer,
}

impl Admission {
    /// Limits of `max_total` open connections and `max_per_peer` from one peer.
    pub(super) fn new(max_total: usize, max_per_peer: usize) -> Arc<Self> {
        Arc::new(Admission {
            max_total,
            max_per_peer,
            open: Mutex::new(Open::default()),
        })
    }

    /// A place for a connection from `peer`, unless a limit is reached.
    pub(super) fn admit(self: &Arc<Self>, peer: Peer) -> Result<Permit, Refused> {
        let mut open = self.open.lock().expect("admission lock");
        if open.total >= self.max_total {
            return Err(Refused::Total);
        }
        let from_peer = open.per_peer.entry(peer).or_insert(0);
        if *from_peer >= self.max_per_peer {
            return Err(Refused::PerAddress);
        }
        *from_peer += 1;
        open.total += 1;
        metrics::gauge!("verify_connections_open").set(open.total as f64);
        Ok(Permit {
            admission: self.clone(),
            peer,
        })
    }

    /// Connections open now.
    pub(super) fn open(&self) -> usize {
        self.open.lock().expect("admission lock").total
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut open = self.admission.open.lock().expect("admission lock");
        open.total -= 1;
        if let Some(n) = open.per_peer.get_mut(&self.peer) {
            *n -= 1;
            if *n == 0 {
                open.per_peer.remove(&self.peer);
            }
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
        assert_eq!(
            admission.admit(peer("10.0.0.9:1")).err(),
            Some(Refused::Total)
        );
        drop(permits);
        assert_eq!(admission.open(), 0);
        assert!(admission.open.lock().unwrap().per_peer.is_empty());
        assert!(admission.admit(peer("10.0.0.9:1")).is_ok());
    }
}
