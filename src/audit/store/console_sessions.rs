//! The `console_sessions` table (migration 0009): which clerks' console sessions are open, so
//! that every replica on one database accepts them and a restart keeps them.
//!
//! Not part of the log: rows are inserted at sign-in, their `last_seen_us` rewritten now and
//! then, and deleted at sign-out or expiry. Only the SHA-256 of a session's token is stored,
//! never the token. The rules (timeouts, how often `last_seen_us` is rewritten) are the
//! console's (`console::sessions`); this file only reads and writes rows, once for both
//! backends ([`ConsoleSessionStore`], for every [`SqlxStore`]).

use async_trait::async_trait;
use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Type};

use crate::audit::{
    AuditError,
    store::{SqlxStore, rows},
};

/// An open session as stored.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct StoredSession {
    /// The SHA-256 of the session's token (32 bytes).
    pub token_hash: Vec<u8>,
    /// The clerk (a `[[console_users]]` name).
    pub user_name: String,
    /// How the clerk signed in (`password`, `client_certificate`).
    pub method: String,
    /// When the clerk signed in, in microseconds since the Unix epoch.
    pub created_at_us: i64,
    /// When a request of the session was last recorded, in microseconds since the Unix epoch.
    pub last_seen_us: i64,
}

const COLUMNS: &str = "token_hash, user_name, method, created_at_us, last_seen_us";

/// The clerks' console sessions a store keeps beside its log (rows, not events).
#[async_trait]
pub trait ConsoleSessionStore: Send + Sync {
    /// Opens a clerks' console session (a row of `console_sessions`, not an event).
    async fn open_console_session(&self, session: &StoredSession) -> Result<(), AuditError>;

    /// The open console session whose token has this SHA-256, if any.
    async fn console_session(&self, token_hash: &[u8])
    -> Result<Option<StoredSession>, AuditError>;

    /// Records a request of a console session at `now_us` (never moving its time backwards).
    async fn touch_console_session(&self, token_hash: &[u8], now_us: i64)
    -> Result<(), AuditError>;

    /// Ends a console session; the ended row, `None` if it was not open (any more).
    async fn close_console_session(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<StoredSession>, AuditError>;

    /// Ends every console session last seen before `idle_before_us` or opened before
    /// `opened_before_us`; the ended rows (each returned to one replica only, however many run
    /// this at once: DELETE … RETURNING).
    async fn close_expired_console_sessions(
        &self,
        idle_before_us: i64,
        opened_before_us: i64,
    ) -> Result<Vec<StoredSession>, AuditError>;
}

/// Written once, for every store over one sqlx pool.
#[async_trait]
impl<T> ConsoleSessionStore for T
where
    T: SqlxStore,
    for<'q> Vec<u8>: Encode<'q, T::Db> + Type<T::Db>,
    for<'q> String: Encode<'q, T::Db> + Type<T::Db>,
    for<'q> i64: Encode<'q, T::Db> + Type<T::Db>,
    for<'r> StoredSession: FromRow<'r, <T::Db as Database>::Row>,
    for<'q> <T::Db as Database>::Arguments<'q>: IntoArguments<'q, T::Db>,
    for<'c> &'c mut <T::Db as Database>::Connection: Executor<'c, Database = T::Db>,
{
    async fn open_console_session(&self, session: &StoredSession) -> Result<(), AuditError> {
        sqlx::query::<T::Db>(&format!(
            "INSERT INTO console_sessions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5)"
        ))
        .bind(session.token_hash.clone())
        .bind(session.user_name.clone())
        .bind(session.method.clone())
        .bind(session.created_at_us)
        .bind(session.last_seen_us)
        .execute(self.pool())
        .await
        .map(|_| ())
        .map_err(|e| rows::unavailable(&e))
    }

    async fn console_session(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<StoredSession>, AuditError> {
        sqlx::query_as::<T::Db, StoredSession>(&format!(
            "SELECT {COLUMNS} FROM console_sessions WHERE token_hash = $1"
        ))
        .bind(token_hash.to_vec())
        .fetch_optional(self.pool())
        .await
        .map_err(|e| rows::unavailable(&e))
    }

    async fn touch_console_session(
        &self,
        token_hash: &[u8],
        now_us: i64,
    ) -> Result<(), AuditError> {
        // Never moves backwards: a replica whose clock lags cannot shorten another's record.
        sqlx::query::<T::Db>(
            "UPDATE console_sessions SET last_seen_us = $2 \
             WHERE token_hash = $1 AND last_seen_us < $2",
        )
        .bind(token_hash.to_vec())
        .bind(now_us)
        .execute(self.pool())
        .await
        .map(|_| ())
        .map_err(|e| rows::unavailable(&e))
    }

    async fn close_console_session(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<StoredSession>, AuditError> {
        sqlx::query_as::<T::Db, StoredSession>(&format!(
            "DELETE FROM console_sessions WHERE token_hash = $1 RETURNING {COLUMNS}"
        ))
        .bind(token_hash.to_vec())
        .fetch_optional(self.pool())
        .await
        .map_err(|e| rows::unavailable(&e))
    }

    async fn close_expired_console_sessions(
        &self,
        idle_before_us: i64,
        opened_before_us: i64,
    ) -> Result<Vec<StoredSession>, AuditError> {
        sqlx::query_as::<T::Db, StoredSession>(&format!(
            "DELETE FROM console_sessions WHERE last_seen_us < $1 OR created_at_us < $2 \
             RETURNING {COLUMNS}"
        ))
        .bind(idle_before_us)
        .bind(opened_before_us)
        .fetch_all(self.pool())
        .await
        .map_err(|e| rows::unavailable(&e))
    }
}
