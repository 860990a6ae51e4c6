//! The service's side of authorization: ask [`Callers`](crate::grpc::auth::Callers) and
//! record every refusal as an `access.denied` audit event.
//!
//! The event holds the caller's name (or `unauthenticated`), the RPC, the insurer when it is a
//! well-formed 保険者番号, and the reason id — never the token, the subject or any other
//! request content.

use std::{sync::Arc, time::SystemTime};

use tonic::Request;

use crate::{
    audit::{AccessDenied, NewEvent},
    grpc::{
        auth::{AuthError, Caller, Rpc},
        status::ServiceError,
    },
};

use super::{Inner, is_insurer_number};

impl Inner {
    /// The caller of `request` if it may call `rpc` for `insurer`; otherwise the refusal,
    /// audited.
    pub(super) async fn authorize<T>(
        &self,
        request: &Request<T>,
        rpc: Rpc,
        insurer: &str,
    ) -> Result<Arc<Caller>, ServiceError> {
        match self.callers.authorize(request, rpc, insurer) {
            Ok(caller) => Ok(caller),
            Err(denied) => Err(self.deny(denied, rpc, insurer).await),
        }
    }

    /// Records a refusal and returns the error to answer with. A refusal that cannot be
    /// recorded is still a refusal: the caller gets the same answer, and the failure is logged.
    pub(super) async fn deny(&self, denied: AuthError, rpc: Rpc, insurer: &str) -> ServiceError {
        // Only a well-formed insurer number is stored: this is unauthenticated input.
        let insurer = if is_insurer_number(insurer) {
            insurer
        } else {
            ""
        };
        let event = NewEvent::AccessDenied(AccessDenied {
            occurred_at: SystemTime::now(),
            caller: denied.caller().to_owned(),
            insurer_number: insurer.to_owned(),
            rpc: rpc.as_str().to_owned(),
            reason: denied.reason().to_owned(),
        });
        if let Err(e) = self.append(event).await {
            tracing::error!(error = %e, "could not record an access denial");
        }
        tracing::info!(
            rpc = rpc.as_str(),
            caller = denied.caller(),
            reason = denied.reason(),
            "access denied"
        );
        metrics::counter!("verify_access_denied_total", "rpc" => rpc.as_str(), "reason" => denied.reason())
            .increment(1);
        ServiceError::Denied(denied)
    }
}
