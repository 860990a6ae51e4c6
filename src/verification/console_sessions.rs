//! The clerks' console sessions as the store keeps them, and their sign-in and sign-out
//! events: what `console::sessions` calls, so that the console reaches the store only through
//! this layer.
//!
//! A session is a row of `console_sessions` (migration 0009), on the audit store's database,
//! so that every replica accepts it and a restart keeps it. Its beginning and end are audit
//! events (`console.signed_in`, `console.signed_out`) appended through the same writer and
//! chain as every other event. The row is written first and deleted again when its sign-in
//! event cannot be appended, so that no session is usable that the log does not record (the
//! other order could leave a sign-in event without a session, which says less than it seems).

use std::sync::Arc;

use crate::{
    audit::{
        AuditBackend, AuditHandle, ConsoleSignedIn, ConsoleSignedOut, NewEvent, SessionEnding,
        SignInMethod, store::console_sessions::StoredSession, time_from_micros,
    },
    verification::{VerificationError, Verifications},
};

/// The open sessions of one store, and the events of their beginnings and ends.
#[derive(Clone)]
pub struct ConsoleSessions {
    /// Where the rows are.
    store: Arc<dyn AuditBackend>,
    /// Where the events go.
    audit: AuditHandle,
}

impl Verifications {
    /// The console sessions of this store.
    pub fn console_sessions(&self) -> ConsoleSessions {
        ConsoleSessions::new(self.store.clone(), self.audit.clone())
    }
}

impl ConsoleSessions {
    /// The sessions kept in `store`, their events appended through `audit`.
    pub fn new(store: Arc<dyn AuditBackend>, audit: AuditHandle) -> Self {
        ConsoleSessions { store, audit }
    }

    /// Opens `session` and records its sign-in; nothing stays open when either fails.
    pub async fn open(&self, session: StoredSession) -> Result<(), VerificationError> {
        let method = SignInMethod::from_id(&session.method)
            .ok_or_else(|| VerificationError::Internal("unknown sign-in method".into()))?;
        self.store.open_console_session(&session).await?;
        let event = NewEvent::ConsoleSignedIn(ConsoleSignedIn {
            occurred_at: time_from_micros(session.created_at_us),
            caller: session.user_name.clone(),
            method,
        });
        if let Err(e) = self.audit.append(event).await {
            tracing::error!(error = %e, "console sign-in not recorded; the session is not opened");
            // If this delete fails too (the database is down), the clerk never received the
            // token, so nobody can present the row; it is removed as expired later.
            let _ = self.store.close_console_session(&session.token_hash).await;
            return Err(e.into());
        }
        Ok(())
    }

    /// The open session whose token has this SHA-256, if any.
    pub async fn find(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<StoredSession>, VerificationError> {
        Ok(self.store.console_session(token_hash).await?)
    }

    /// Records a request of the session at `now_us`.
    pub async fn touch(&self, token_hash: &[u8], now_us: i64) -> Result<(), VerificationError> {
        Ok(self.store.touch_console_session(token_hash, now_us).await?)
    }

    /// Ends the session whose token has this SHA-256, recording why at `now_us`; the ended
    /// session, or `None` when another request or replica ended it first (and recorded it).
    pub async fn close(
        &self,
        token_hash: &[u8],
        ending: SessionEnding,
        now_us: i64,
    ) -> Result<Option<StoredSession>, VerificationError> {
        let Some(ended) = self.store.close_console_session(token_hash).await? else {
            return Ok(None);
        };
        self.record_end(&ended, ending, now_us).await?;
        Ok(Some(ended))
    }

    /// Ends every session last seen before `idle_before_us` or opened before
    /// `opened_before_us`, recording each as timed out at `now_us`; how many.
    pub async fn close_expired(
        &self,
        idle_before_us: i64,
        opened_before_us: i64,
        now_us: i64,
    ) -> Result<usize, VerificationError> {
        let ended = self
            .store
            .close_expired_console_sessions(idle_before_us, opened_before_us)
            .await?;
        for s in &ended {
            let ending = if s.created_at_us < opened_before_us {
                SessionEnding::Absolute
            } else {
                SessionEnding::Idle
            };
            self.record_end(s, ending, now_us).await?;
        }
        Ok(ended.len())
    }

    async fn record_end(
        &self,
        s: &StoredSession,
        ending: SessionEnding,
        now_us: i64,
    ) -> Result<(), VerificationError> {
        let event = NewEvent::ConsoleSignedOut(ConsoleSignedOut {
            occurred_at: time_from_micros(now_us),
            caller: s.user_name.clone(),
            // A row of an unknown method cannot be written by this version; password is the
            // only other one it writes.
            method: SignInMethod::from_id(&s.method).unwrap_or(SignInMethod::Password),
            ending,
            signed_in_at: time_from_micros(s.created_at_us),
        });
        self.audit.append(event).await?;
        Ok(())
    }
}
