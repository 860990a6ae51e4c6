//! Server-side sessions of signed-in clerks, and the limits on failed sign-ins.
//!
//! A session is a random token in an HttpOnly, SameSite=Strict cookie; the server keeps only
//! the token's SHA-256, the clerk, the CSRF token of the clerk's forms and two times: it ends
//! after `idle` without a request and after `absolute` however busy (defaults 15 minutes and
//! 8 hours), and at sign-out.
//!
//! Kept in memory, not in the audit database: a session holds nothing the log must prove, and
//! every action a clerk takes is already an event. The cost is that a restart signs everyone
//! out, and that several replicas need a load balancer that keeps a clerk on one replica
//! (sessions in the database, migration 0008 reserved for it, would lift both).

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::users::User;

/// How long sessions last.
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    /// Ended after this long without a request.
    pub idle: Duration,
    /// Ended this long after sign-in, however busy.
    pub absolute: Duration,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            idle: Duration::from_secs(15 * 60),
            absolute: Duration::from_secs(8 * 3600),
        }
    }
}

/// A signed-in clerk's session.
#[derive(Debug, Clone)]
pub struct Session {
    /// Who.
    pub user: Arc<User>,
    /// The token every form of this session carries.
    pub csrf: String,
    /// When the clerk signed in.
    started: Instant,
    /// The last request.
    seen: Instant,
}

impl Session {
    /// Whether `token` (from a form) is this session's CSRF token, compared in constant time.
    pub fn csrf_matches(&self, token: &str) -> bool {
        self.csrf.as_bytes().ct_eq(token.as_bytes()).into()
    }
}

/// The open sessions.
pub struct Sessions {
    /// By the SHA-256 of the cookie's token.
    open: Mutex<HashMap<[u8; 32], Session>>,
    /// How long they last.
    limits: SessionLimits,
}

/// 32 random bytes in hex.
fn random_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

fn key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Sessions {
    /// No sessions yet.
    pub fn new(limits: SessionLimits) -> Self {
        Sessions {
            open: Mutex::new(HashMap::new()),
            limits,
        }
    }

    /// Opens a session for `user`; returns the cookie's token.
    pub fn open(&self, user: Arc<User>) -> String {
        let token = random_token();
        let now = Instant::now();
        let mut open = self.open.lock().expect("not poisoned");
        // Ended sessions are dropped as new ones open, so the map stays the size of the live
        // ones.
        let limits = self.limits;
        open.retain(|_, s| live(s, now, limits));
        open.insert(
            key(&token),
            Session {
                user,
                csrf: random_token(),
                started: now,
                seen: now,
            },
        );
        token
    }

    /// The live session of `token`, its idle clock restarted; `None` (and the session ended)
    /// when it timed out.
    pub fn touch(&self, token: &str) -> Option<Session> {
        self.touch_at(token, Instant::now())
    }

    fn touch_at(&self, token: &str, now: Instant) -> Option<Session> {
        let k = key(token);
        let mut open = self.open.lock().expect("not poisoned");
        let session = open.get_mut(&k)?;
        if !live(session, now, self.limits) {
            open.remove(&k);
            return None;
        }
        session.seen = now;
        Some(session.clone())
    }

    /// Ends the session of `token`.
    pub fn close(&self, token: &str) {
        self.open.lock().expect("not poisoned").remove(&key(token));
    }
}

fn live(s: &Session, now: Instant, limits: SessionLimits) -> bool {
    now.duration_since(s.seen) < limits.idle && now.duration_since(s.started) < limits.absolute
}

/// Failed sign-ins allowed per clerk name in [`WINDOW`].
const PER_USER: usize = 5;
/// Failed sign-ins allowed per address in [`WINDOW`] (an office behind one address has many
/// clerks).
const PER_ADDRESS: usize = 20;
/// How far back failures count.
const WINDOW: Duration = Duration::from_secs(15 * 60);

/// Failed sign-ins, per clerk name and per address, in a sliding window. While either is over
/// its limit, sign-in is refused even with the right password, so guessing is slow whether it
/// aims at one clerk from many addresses or at many clerks from one.
#[derive(Default)]
pub struct SignInLimiter {
    /// Failure times per name.
    users: Mutex<HashMap<String, Vec<Instant>>>,
    /// Failure times per address.
    addresses: Mutex<HashMap<IpAddr, Vec<Instant>>>,
}

/// Most names and addresses remembered: a flood of invented names cannot grow memory without
/// bound (the oldest entries are dropped first).
const MAX_TRACKED: usize = 10_000;

impl SignInLimiter {
    /// Whether a sign-in as `name` from `address` may be tried now.
    pub fn allows(&self, name: &str, address: IpAddr) -> bool {
        let now = Instant::now();
        let recent = |v: &Vec<Instant>| {
            v.iter()
                .filter(|t| now.duration_since(**t) < WINDOW)
                .count()
        };
        let users = self.users.lock().expect("not poisoned");
        let addresses = self.addresses.lock().expect("not poisoned");
        users.get(name).map_or(0, recent) < PER_USER
            && addresses.get(&address).map_or(0, recent) < PER_ADDRESS
    }

    /// Counts a failed sign-in.
    pub fn failed(&self, name: &str, address: IpAddr) {
        let now = Instant::now();
        let keep = |v: &mut Vec<Instant>| {
            v.retain(|t| now.duration_since(*t) < WINDOW);
            v.push(now);
        };
        let mut users = self.users.lock().expect("not poisoned");
        if users.len() >= MAX_TRACKED {
            users.retain(|_, v| v.iter().any(|t| now.duration_since(*t) < WINDOW));
        }
        if users.len() < MAX_TRACKED || users.contains_key(name) {
            keep(users.entry(name.to_owned()).or_default());
        }
        drop(users);
        let mut addresses = self.addresses.lock().expect("not poisoned");
        if addresses.len() >= MAX_TRACKED {
            addresses.retain(|_, v| v.iter().any(|t| now.duration_since(*t) < WINDOW));
        }
        keep(addresses.entry(address).or_default());
    }

    /// Forgets a clerk's failures after a successful sign-in.
    pub fn succeeded(&self, name: &str) {
        self.users.lock().expect("not poisoned").remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> Arc<User> {
        Arc::new(User {
            name: "sato".into(),
            insurers: vec!["32130011".into()],
            operator: true,
        })
    }

    #[test]
    fn a_session_ends_when_idle_too_long_or_too_old_and_at_sign_out() {
        let limits = SessionLimits {
            idle: Duration::from_secs(60),
            absolute: Duration::from_secs(300),
        };
        let sessions = Sessions::new(limits);
        let token = sessions.open(user());
        let t0 = Instant::now();
        assert!(
            sessions
                .touch_at(&token, t0 + Duration::from_secs(50))
                .is_some()
        );
        assert!(
            sessions
                .touch_at(&token, t0 + Duration::from_secs(100))
                .is_some()
        );
        assert!(
            sessions
                .touch_at(&token, t0 + Duration::from_secs(200))
                .is_none()
        );
        assert!(
            sessions
                .touch_at(&token, t0 + Duration::from_secs(201))
                .is_none(),
            "ended for good"
        );

        let busy = sessions.open(user());
        for s in (40..=280).step_by(40) {
            assert!(
                sessions
                    .touch_at(&busy, t0 + Duration::from_secs(s))
                    .is_some()
            );
        }
        assert!(
            sessions
                .touch_at(&busy, t0 + Duration::from_secs(310))
                .is_none(),
            "absolute"
        );

        let out = sessions.open(user());
        sessions.close(&out);
        assert!(sessions.touch(&out).is_none());
        assert!(sessions.touch("not a token").is_none());
    }

    #[test]
    fn failed_sign_ins_are_limited_per_name_and_per_address() {
        let limiter = SignInLimiter::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..PER_USER {
            assert!(limiter.allows("sato", a));
            limiter.failed("sato", a);
        }
        assert!(
            !limiter.allows("sato", b),
            "the name is locked from every address"
        );
        assert!(limiter.allows("suzuki", a));
        for i in 0..PER_ADDRESS {
            limiter.failed(&format!("name{i}"), b);
        }
        assert!(
            !limiter.allows("tanaka", b),
            "the address is locked for every name"
        );
    }
}
