//! The service's side of authorization: ask [`Callers`](crate::grpc::auth::Callers), count
//! every refusal, and write the counts to the audit log once per interval.
//!
//! A refusal is not written as it happens: each would be a row through the writer that makes
//! real decisions durable, and a flood of calls without credentials would slow every real
//! decision and grow the log without limit. It is counted in
//! [`Refusals`](crate::grpc::refusals::Refusals) instead, and [`VerifyService::flush_refusals`]
//! writes one `access.denied` event per peer, caller, RPC, insurer and reason each interval —
//! and once more at shutdown, so nothing counted is lost when the server stops gracefully.
//!
//! An event holds the caller's name (or `unauthenticated`), the RPC, the insurer when it is a
//! well-formed 保険者番号 named by a caller that authenticated, the reason id, the peer's
//! address and the count — never the token, the subject or any other request content.

use std::{future::Future, sync::Arc};

use tonic::Request;

use crate::grpc::{
    auth::{AuthError, Caller, Rpc},
    refusals::{Peer, Refusal},
    status::ServiceError,
};

use super::{Inner, VerifyService, is_insurer_number};

/// The peer of a call, as the refusal budget and the audit log key it.
pub(super) fn peer<T>(request: &Request<T>) -> Option<Peer> {
    request.remote_addr().map(Peer::of)
}

/// Names the insurer on the call's span (its log lines and trace), when the request names
/// one by a well-formed insurer number; anything else a client put there stays out.
pub(super) fn record_insurer(insurer: &str) {
    if is_insurer_number(insurer) {
        tracing::Span::current().record("insurer_number", insurer);
    }
}

impl Inner {
    /// The caller of `request` if it may call `rpc` for `insurer`; otherwise the refusal,
    /// counted.
    pub(super) fn authorize<T>(
        &self,
        request: &Request<T>,
        rpc: Rpc,
        insurer: &str,
    ) -> Result<Arc<Caller>, ServiceError> {
        record_insurer(insurer);
        self.callers
            .authorize(request, rpc, insurer)
            .map_err(|denied| self.deny(denied, rpc, insurer, peer(request)))
    }

    /// Counts a refusal and returns the error to answer with.
    pub(super) fn deny(
        &self,
        denied: AuthError,
        rpc: Rpc,
        insurer: &str,
        peer: Option<Peer>,
    ) -> ServiceError {
        // Only a well-formed insurer number named by a caller that authenticated is kept: an
        // unauthenticated call's insurer is nobody's claim, and keying the counts by it would
        // let a flood choose how many rows it writes.
        let insurer = match denied {
            AuthError::Unauthenticated => "",
            _ if is_insurer_number(insurer) => insurer,
            _ => "",
        };
        self.refusals.count(Refusal {
            peer,
            caller: denied.caller(),
            rpc: rpc.as_str(),
            reason: denied.reason(),
            insurer,
        });
        tracing::debug!(
            rpc = rpc.as_str(),
            caller = denied.caller(),
            reason = denied.reason(),
            "access denied"
        );
        metrics::counter!("verify_access_denied_total", "rpc" => rpc.as_str(), "reason" => denied.reason())
            .increment(1);
        ServiceError::Denied(denied)
    }

    /// Writes the refusals counted since the last flush, all in one group commit.
    async fn flush_refusals(&self) {
        let counted = self.refusals.drain();
        let appends = counted.into_iter().map(|denied| async move {
            tracing::info!(
                rpc = %denied.rpc,
                caller = %denied.caller,
                reason = %denied.reason,
                peer = %denied.peer,
                count = denied.count,
                "access denied"
            );
            let count = denied.count;
            if let Err(e) = self.verifications.record_access_denied(denied).await {
                tracing::error!(error = %e, count, "could not record counted access denials");
            }
        });
        futures::future::join_all(appends).await;
    }
}

impl VerifyService {
    /// Writes the counted refusals to the audit log every interval until `stop` resolves, and
    /// then once more. The server awaits it before it lets the audit writer finish.
    pub async fn flush_refusals(self, stop: impl Future<Output = ()>) {
        // The first flush one interval from now: `interval` would tick at once, at whatever
        // moment this task first runs.
        let every = self.inner.refusals.interval();
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = tick.tick() => self.inner.flush_refusals().await,
                () = &mut stop => break,
            }
        }
        self.inner.flush_refusals().await;
    }
}
