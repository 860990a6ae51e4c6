//! The use cases: what the service does, over the domain and the audit store, called alike by
//! every interface — the gRPC handlers, the clerks' console, `bulk`.
//!
//! - [`decide`]: decide and append (Verify, VerifyBatch, `bulk --database`).
//! - [`commit`]: commit a number against a register decision (CommitRegistration).
//! - [`holds`]: the holds queue in each order and closing a hold (ListHolds, ResolveHold).
//! - [`history`]: a subject's decisions and what followed each (SubjectHistory), and the
//!   replacements a re-queried hold may name.
//! - [`hold_stats`]: how holds ended, per what held them, and what that suggests (HoldStats).
//! - [`record`]: a stored verification and where it stands (GetVerification).
//! - [`console_sessions`]: the clerks' console sessions and their sign-in and sign-out events.
//! - [`inputs`]: what each use case takes, parsed at an interface's edge.
//!
//! Nothing here knows a transport: no `tonic`, no generated message, no HTML. Every use case
//! returns a [`VerificationError`] that keeps the caller's fault apart from ours; each
//! interface maps it once (a gRPC status, a page, an exit status). The rules that need no
//! store are the domain's ([`crate::domain::registration`]); the order in which they meet the
//! store's facts is here.

pub mod commit;
pub mod console_sessions;
pub mod decide;
mod error;
pub mod history;
pub mod hold_stats;
pub mod holds;
pub mod holds_cursor;
pub mod holds_summary;
pub mod inputs;
pub mod page_token;
mod previous_keys;
pub mod record;

use std::{sync::Arc, time::Duration};

pub use commit::Committed;
pub use decide::{Decider, Verified};
pub use error::VerificationError;
pub use holds::HoldsPage;
pub use holds_summary::HoldsSummary;
pub use record::{State, VerificationRecord};

use crate::{
    audit::{AccessDenied, AuditBackend, AuditHandle, KeyRing, NewEvent},
    domain::policy::Policy,
    verification::page_token::PageTokens,
};

/// The verifications of one audit store and what can be done with them. Shared by every call
/// of every interface; cheap to share behind an `Arc`.
pub struct Verifications {
    /// Decides and appends Verify requests (the path `bulk --database` shares).
    pub decider: Decider,
    /// The group-commit writer: callers are answered after their batch commits.
    audit: AuditHandle,
    /// Reads (replays, records, the holds queue).
    store: Arc<dyn AuditBackend>,
    /// The keys of the fingerprints of numbers and request contents: the current one makes
    /// them, every one matches the stored fingerprints it made.
    keys: KeyRing,
    /// How long a register decision may be committed after it was made.
    commit_ttl: Duration,
    /// Called as soon as a write fails (the server flips its health to NOT_SERVING).
    on_unavailable: Arc<dyn Fn() + Send + Sync>,
    /// Seals and opens the holds queue's page tokens.
    page_tokens: PageTokens,
}

impl Verifications {
    /// The use cases on `audit` (appends) and `store` (reads), deciding with `policy`.
    pub fn new(
        policy: Policy,
        audit: AuditHandle,
        store: Arc<dyn AuditBackend>,
        keys: KeyRing,
        commit_ttl: Duration,
        on_unavailable: Arc<dyn Fn() + Send + Sync>,
    ) -> Self {
        let decider = Decider::new(
            policy,
            audit.clone(),
            store.clone(),
            keys.clone(),
            on_unavailable.clone(),
        );
        Verifications {
            decider,
            audit,
            store,
            page_tokens: PageTokens::new(keys.current().derive(PageTokens::LABEL)),
            keys,
            commit_ttl,
            on_unavailable,
        }
    }
}

impl Verifications {
    /// Records counted refusals of one kind (an interface counts its refusals and writes one
    /// event per kind and interval, never one per refusal).
    pub async fn record_access_denied(
        &self,
        denied: AccessDenied,
    ) -> Result<(), VerificationError> {
        self.append(NewEvent::AccessDenied(denied))
            .await
            .map(|_| ())
    }
}
