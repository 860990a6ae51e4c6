//! The VerifyIdentity service: validate, decide with the domain core, make the decision durable
//! in the audit log, and only then answer.
//!
//! Handlers stay short: conversion lives in [`crate::grpc::convert`], decisions in
//! [`crate::domain::gate`], storage in [`crate::audit`], and every error goes through
//! [`ServiceError`] to become a status in one place. The registration gate has its own
//! files: `commit` (CommitRegistration) and `holds` (ResolveHold, ListHolds, and the state
//! GetVerification reports). Every handler first asks `access` whether its caller may call it
//! for the insurer the request names; the caller's name goes into every audit event.

mod access;
mod commit;
mod decide;
mod holds;
mod previous_keys;

pub use decide::{Decider, Verified};

use std::{
    pin::Pin,
    sync::Arc,
    time::{Duration, Instant},
};

use futures::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};
use tracing::{Instrument, info_span, instrument};

use crate::{
    audit::{AuditBackend, AuditHandle, KeyRing},
    domain::policy::Policy,
    grpc::convert::{self, is_insurer_number},
    grpc::{
        auth::{Callers, Rpc},
        page_token::PageTokens,
        pb::{self, verify_identity_server::VerifyIdentity},
        refusals::Refusals,
        status::ServiceError,
    },
};

/// Shared state of the service: cheap to clone into every call and batch item.
#[derive(Clone)]
pub struct VerifyService {
    inner: Arc<Inner>,
}

struct Inner {
    /// Decides and appends Verify requests (the path `bulk --database` shares).
    decider: Decider,
    /// The group-commit writer: callers are answered after their batch commits.
    audit: AuditHandle,
    /// Reads (idempotent replays, GetVerification).
    store: Arc<dyn AuditBackend>,
    /// The keys of the fingerprints of numbers and request contents: the current one makes
    /// them, every one matches the stored fingerprints it made.
    keys: KeyRing,
    /// Items of one VerifyBatch stream decided at once.
    batch_in_flight: usize,
    /// How long a register decision may be committed after it was made.
    commit_ttl: Duration,
    /// Flips the health status to NOT_SERVING as soon as a write fails.
    on_unavailable: Arc<dyn Fn() + Send + Sync>,
    /// Who may call what, for which insurers.
    callers: Callers,
    /// Refusals counted since the last flush, and each peer's refusal budget (shared with the
    /// limiter in front of the service).
    refusals: Arc<Refusals>,
    /// Seals and opens ListHolds page tokens.
    page_tokens: PageTokens,
}

impl VerifyService {
    /// Builds the service.
    #[allow(clippy::too_many_arguments)] // one per piece of shared state; a builder adds nothing
    pub fn new(
        policy: Policy,
        audit: AuditHandle,
        store: Arc<dyn AuditBackend>,
        keys: KeyRing,
        batch_in_flight: usize,
        commit_ttl: Duration,
        on_unavailable: Box<dyn Fn() + Send + Sync>,
        callers: Callers,
        refusals: Arc<Refusals>,
    ) -> Self {
        let on_unavailable: Arc<dyn Fn() + Send + Sync> = Arc::from(on_unavailable);
        let decider = Decider::new(
            policy,
            audit.clone(),
            store.clone(),
            keys.clone(),
            on_unavailable.clone(),
        );
        VerifyService {
            inner: Arc::new(Inner {
                decider,
                audit,
                store,
                page_tokens: PageTokens::new(keys.current().derive(PageTokens::LABEL)),
                keys,
                batch_in_flight,
                commit_ttl,
                on_unavailable,
                callers,
                refusals,
            }),
        }
    }
}

/// Records a unary call's metrics and hands its outcome to the transport.
fn respond<T>(
    rpc: &'static str,
    started: Instant,
    result: Result<T, ServiceError>,
) -> Result<Response<T>, Status> {
    let code = result
        .as_ref()
        .map_or_else(ServiceError::code, |_| tonic::Code::Ok);
    record_call(rpc, started, code);
    result.map(Response::new).map_err(Status::from)
}

fn record_call(rpc: &'static str, started: Instant, code: tonic::Code) {
    metrics::counter!("verify_calls_total", "rpc" => rpc, "code" => format!("{code:?}"))
        .increment(1);
    metrics::histogram!("verify_latency_seconds", "rpc" => rpc)
        .record(started.elapsed().as_secs_f64());
}

impl Inner {
    /// One verification, durable before it is returned: the [`Decider`]'s path, which
    /// `bulk --database` shares.
    async fn verify(
        &self,
        request: pb::VerifyRequest,
        caller: &str,
    ) -> Result<pb::VerifyResponse, ServiceError> {
        Ok(self.decider.verify(request, caller).await?.response)
    }

    async fn get_verification(
        &self,
        request: convert::GetVerification,
    ) -> Result<pb::VerificationRecord, ServiceError> {
        let stored = self
            .store
            .find_verification(request.insurer.as_str(), request.verification_id.as_str())
            .await?
            .ok_or_else(|| {
                ServiceError::NotFound("no such verification for this insurer".into())
            })?;
        self.record(&stored).await
    }
}

/// The response stream of VerifyBatch.
pub type VerifyBatchStream = Pin<Box<dyn Stream<Item = Result<pb::VerifyResponse, Status>> + Send>>;

#[tonic::async_trait]
impl VerifyIdentity for VerifyService {
    #[instrument(name = "Verify", skip_all, fields(call_id = %uuid::Uuid::now_v7()))]
    async fn verify(
        &self,
        request: Request<pb::VerifyRequest>,
    ) -> Result<Response<pb::VerifyResponse>, Status> {
        let started = Instant::now();
        let inner = &self.inner;
        let result = async {
            let insurer = request.get_ref().insurer_number.clone();
            let caller = inner.authorize(&request, Rpc::Verify, &insurer)?;
            inner.verify(request.into_inner(), &caller.name).await
        }
        .await;
        if let Err(e) = &result {
            tracing::info!(code = ?e.code(), error = %e, "refused");
        }
        respond("Verify", started, result)
    }

    type VerifyBatchStream = VerifyBatchStream;

    #[instrument(name = "VerifyBatch", skip_all, fields(call_id = %uuid::Uuid::now_v7()))]
    async fn verify_batch(
        &self,
        request: Request<Streaming<pb::VerifyRequest>>,
    ) -> Result<Response<Self::VerifyBatchStream>, Status> {
        let inner = self.inner.clone();
        // The stream is authenticated once, for the role; each item's insurer is checked as
        // the item arrives, and an item for another insurer gets its own PERMISSION_DENIED.
        let peer = access::peer(&request);
        let caller = match inner.callers.authorize_role(&request, Rpc::VerifyBatch) {
            Ok(caller) => caller,
            Err(denied) => return Err(inner.deny(denied, Rpc::VerifyBatch, "", peer).into()),
        };
        let in_flight = inner.batch_in_flight;
        let span = tracing::Span::current();
        // `buffered` keeps responses in request order and at most `in_flight` items decided at
        // once. When the client stops reading, HTTP/2 flow control stops this stream being
        // polled, so no further requests are read: the server never buffers without limit.
        let responses = request
            .into_inner()
            .map(move |item| {
                let inner = inner.clone();
                let caller = caller.clone();
                let span = info_span!(parent: &span, "item");
                async move {
                    let request = item?;
                    let started = Instant::now();
                    let request_id = request.request_id.clone();
                    let result = match caller.check_insurer(&request.insurer_number) {
                        Ok(()) => inner.verify(request, &caller.name).await,
                        Err(denied) => {
                            Err(inner.deny(denied, Rpc::VerifyBatch, &request.insurer_number, peer))
                        }
                    };
                    let code = result
                        .as_ref()
                        .map_or_else(ServiceError::code, |_| tonic::Code::Ok);
                    record_call("VerifyBatch", started, code);
                    Ok(result.unwrap_or_else(|e| {
                        tracing::info!(code = ?e.code(), error = %e, "item refused");
                        pb::VerifyResponse {
                            request_id,
                            selected_candidate: -1,
                            error: Some(e.to_item_error()),
                            ..Default::default()
                        }
                    }))
                }
                .instrument(span)
            })
            .buffered(in_flight);
        Ok(Response::new(Box::pin(responses)))
    }

    #[instrument(name = "GetVerification", skip_all, fields(call_id = %uuid::Uuid::now_v7()))]
    async fn get_verification(
        &self,
        request: Request<pb::GetVerificationRequest>,
    ) -> Result<Response<pb::VerificationRecord>, Status> {
        let started = Instant::now();
        let inner = &self.inner;
        let result = async {
            let _caller = inner.authorize(
                &request,
                Rpc::GetVerification,
                &request.get_ref().insurer_number,
            )?;
            let parsed = convert::parse_get_verification(request.get_ref())
                .map_err(ServiceError::InvalidArgument)?;
            inner.get_verification(parsed).await
        }
        .await;
        respond("GetVerification", started, result)
    }

    #[instrument(name = "CommitRegistration", skip_all, fields(call_id = %uuid::Uuid::now_v7()))]
    async fn commit_registration(
        &self,
        request: Request<pb::CommitRegistrationRequest>,
    ) -> Result<Response<pb::CommitRegistrationResponse>, Status> {
        let started = Instant::now();
        let inner = &self.inner;
        let result = async {
            let caller = inner.authorize(
                &request,
                Rpc::CommitRegistration,
                &request.get_ref().insurer_number,
            )?;
            let parsed =
                convert::parse_commit(request.get_ref()).map_err(ServiceError::InvalidArgument)?;
            inner.commit(parsed, &caller.name).await
        }
        .await;
        respond("CommitRegistration", started, result)
    }

    #[instrument(name = "ResolveHold", skip_all, fields(call_id = %uuid::Uuid::now_v7()))]
    async fn resolve_hold(
        &self,
        request: Request<pb::ResolveHoldRequest>,
    ) -> Result<Response<pb::ResolveHoldResponse>, Status> {
        let started = Instant::now();
        let inner = &self.inner;
        let result = async {
            let caller = inner.authorize(
                &request,
                Rpc::ResolveHold,
                &request.get_ref().insurer_number,
            )?;
            let parsed = convert::parse_resolve_hold(request.get_ref())
                .map_err(ServiceError::InvalidArgument)?;
            inner.resolve_hold(parsed, &caller.name).await
        }
        .await;
        respond("ResolveHold", started, result)
    }

    #[instrument(name = "ListHolds", skip_all, fields(call_id = %uuid::Uuid::now_v7()))]
    async fn list_holds(
        &self,
        request: Request<pb::ListHoldsRequest>,
    ) -> Result<Response<pb::ListHoldsResponse>, Status> {
        let started = Instant::now();
        let inner = &self.inner;
        let result = async {
            let _caller =
                inner.authorize(&request, Rpc::ListHolds, &request.get_ref().insurer_number)?;
            let parsed = convert::parse_list_holds(request.get_ref())
                .map_err(ServiceError::InvalidArgument)?;
            inner.list_holds(parsed).await
        }
        .await;
        respond("ListHolds", started, result)
    }
}
