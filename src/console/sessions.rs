//! Server-side sessions of signed-in clerks, and the limits on failed sign-ins.
//!
//! A session is a random token in an HttpOnly, SameSite=Strict cookie. The server keeps a row
//! per session in the audit store's database (`console_sessions`, migration 0009, through
//! [`ConsoleSessions`]), so that every replica on that database accepts it and a restart keeps
//! it; a sign-out deletes the row, which every replica sees at the clerk's next request. The
//! row holds the token's SHA-256 (never the token), the clerk's name, how they signed in and
//! two times. The CSRF token of the clerk's forms is derived from the cookie's token, so it is
//! neither stored nor readable from the table. A session ends after `idle` without a request
//! and `absolute` after sign-in however busy (defaults 15 minutes and 8 hours), and at
//! sign-out; each end is a `console.signed_out` event saying why.
//!
//! Times are the serving replica's clock ([`Clock`], injected so that tests move it), not the
//! database's: the store's other times (`occurred_at` of every event) are the replicas' too,
//! SQLite has no clock of its own to share, and replicas kept by NTP agree to well under the
//! [`touch_interval`] this already tolerates. The last request is written at most once per
//! [`touch_interval`] (a minute, or a tenth of the idle timeout when that is shorter), not at
//! every page: a clerk reloading the queue all day would otherwise cost a database write per
//! reload. The recorded time then lags the last request by less than that interval, and the
//! idle check counts from the recorded time, so a session ends between `idle − interval` and
//! `idle` after its last request: never later than configured, at most a minute earlier.
//!
//! Failing to read a session fails closed: the request is treated as signed out (the sign-in
//! page), never as signed in.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime},
};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{
    audit::{
        SessionEnding, SignInMethod, micros_since_epoch, store::console_sessions::StoredSession,
    },
    verification::console_sessions::ConsoleSessions,
};

use super::users::{User, Users};

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
            idle: crate::config::DEFAULT_CONSOLE_IDLE_TIMEOUT,
            absolute: crate::config::DEFAULT_CONSOLE_ABSOLUTE_TIMEOUT,
        }
    }
}

/// How often at most a session's last request is written: a minute, or a tenth of the idle
/// timeout when that is shorter (a test's idle timeout of seconds).
pub fn touch_interval(limits: SessionLimits) -> Duration {
    (limits.idle / 10).min(Duration::from_secs(60))
}

/// The time now, as the sessions see it.
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// A signed-in clerk's session.
#[derive(Debug, Clone)]
pub struct Session {
    /// Who.
    pub user: Arc<User>,
    /// The token every form of this session carries.
    pub csrf: String,
}

impl Session {
    /// Whether `token` (from a form) is this session's CSRF token, compared in constant time.
    pub fn csrf_matches(&self, token: &str) -> bool {
        self.csrf.as_bytes().ct_eq(token.as_bytes()).into()
    }
}

/// Reading sessions failed: the request is refused as not signed in.
#[derive(Debug, thiserror::Error)]
#[error("console sessions unavailable: {0}")]
pub struct SessionsUnavailable(String);

/// The open sessions, as the store keeps them.
pub struct Sessions {
    /// The rows and the events.
    rows: ConsoleSessions,
    /// How long they last.
    limits: SessionLimits,
    /// The time now.
    clock: Clock,
    /// When this replica last removed expired sessions (at most once per touch interval).
    swept: Mutex<Option<SystemTime>>,
}

/// 32 random bytes in hex.
fn random_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// The SHA-256 of a token: what the store keeps.
fn key(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The CSRF token of the session of `token`: a SHA-256 under its own label, so that neither
/// the stored hash nor the forms' token gives the other or the cookie's token.
fn csrf_of(token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"verify-identity console csrf\0");
    h.update(token.as_bytes());
    hex::encode(h.finalize())
}

fn us(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

impl Sessions {
    /// The sessions of `rows`, lasting `limits`, timed by the system clock.
    pub fn new(rows: ConsoleSessions, limits: SessionLimits) -> Self {
        Self::with_clock(rows, limits, Arc::new(SystemTime::now))
    }

    /// The sessions of `rows`, lasting `limits`, timed by `clock`.
    pub fn with_clock(rows: ConsoleSessions, limits: SessionLimits, clock: Clock) -> Self {
        Sessions {
            rows,
            limits,
            clock,
            swept: Mutex::new(None),
        }
    }

    /// Opens a session for `user`, recording the sign-in; returns the cookie's token.
    pub async fn open(
        &self,
        user: &User,
        method: SignInMethod,
    ) -> Result<String, SessionsUnavailable> {
        let token = random_token();
        let now = micros_since_epoch((self.clock)());
        self.rows
            .open(StoredSession {
                token_hash: key(&token),
                user_name: user.name.clone(),
                method: method.id().to_owned(),
                created_at_us: now,
                last_seen_us: now,
            })
            .await
            .map_err(|e| SessionsUnavailable(e.to_string()))?;
        self.sweep().await;
        Ok(token)
    }

    /// The live session of `token` for a clerk of `users`; `None` when there is none, it timed
    /// out (then ended and recorded), or its clerk left the settings. An error when the store
    /// cannot say: the caller refuses the request as signed out.
    pub async fn touch(
        &self,
        token: &str,
        users: &Users,
    ) -> Result<Option<Session>, SessionsUnavailable> {
        let failed = |e: crate::verification::VerificationError| SessionsUnavailable(e.to_string());
        let k = key(token);
        let Some(row) = self.rows.find(&k).await.map_err(failed)? else {
            return Ok(None);
        };
        let now = micros_since_epoch((self.clock)());
        let ending = if now.saturating_sub(row.created_at_us) >= us(self.limits.absolute) {
            Some(SessionEnding::Absolute)
        } else if now.saturating_sub(row.last_seen_us) >= us(self.limits.idle) {
            Some(SessionEnding::Idle)
        } else {
            None
        };
        let user = users.get(&row.user_name);
        let ending = ending.or(user.is_none().then_some(SessionEnding::UserRemoved));
        if let Some(ending) = ending {
            self.rows.close(&k, ending, now).await.map_err(failed)?;
            return Ok(None);
        }
        if now.saturating_sub(row.last_seen_us) >= us(touch_interval(self.limits)) {
            self.rows.touch(&k, now).await.map_err(failed)?;
            self.sweep().await;
        }
        Ok(user.map(|user| Session {
            user,
            csrf: csrf_of(token),
        }))
    }

    /// Ends the session of `token` (signed out by its clerk); whether it was open.
    pub async fn close(&self, token: &str) -> Result<bool, SessionsUnavailable> {
        let now = micros_since_epoch((self.clock)());
        self.rows
            .close(&key(token), SessionEnding::SignedOut, now)
            .await
            .map(|ended| ended.is_some())
            .map_err(|e| SessionsUnavailable(e.to_string()))
    }

    /// Removes the sessions that timed out without a request (recording each), at most once
    /// per touch interval on this replica. A failure is logged and left for the next time:
    /// an expired row is refused when presented whether or not it was removed.
    async fn sweep(&self) {
        let now = (self.clock)();
        {
            let mut swept = self.swept.lock().expect("not poisoned");
            if swept.is_some_and(|t| {
                now.duration_since(t)
                    .is_ok_and(|d| d < touch_interval(self.limits))
            }) {
                return;
            }
            *swept = Some(now);
        }
        let now = micros_since_epoch(now);
        let idle_before = now.saturating_sub(us(self.limits.idle));
        let opened_before = now.saturating_sub(us(self.limits.absolute));
        match self
            .rows
            .close_expired(idle_before, opened_before, now)
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(sessions = n, "console: expired sessions removed"),
            Err(e) => tracing::warn!(error = %e, "console: removing expired sessions failed"),
        }
    }
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
mod tests;
