//! The VerifyIdentity service: the gRPC transport of the use cases.
//!
//! Each handler is the same four steps: ask `access` whether the caller may call it for the
//! insurer the request names (the caller's name goes into every audit event), parse the
//! request at the edge ([`crate::contract::parse`]), call the use case
//! ([`crate::verification`]), and answer ([`crate::contract::respond`]); every error becomes a
//! status in one place ([`ServiceError`]).

mod access;

use std::{
    pin::Pin,
    sync::Arc,
    time::{Instant, SystemTime},
};

use futures::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};
use tracing::{Instrument, info_span};

use prost::Message as _;

use crate::{
    contract::{
        parse::{self, is_insurer_number},
        pb::{self, verify_identity_server::VerifyIdentity},
        respond,
    },
    domain::ids::InsurerNumber,
    grpc::{
        auth::{Callers, Rpc},
        refusals::Refusals,
        status::ServiceError,
    },
    verification::{Verifications, hold_stats::InsurerScope},
};

/// Shared state of the service: cheap to clone into every call and batch item.
#[derive(Clone)]
pub struct VerifyService {
    inner: Arc<Inner>,
}

struct Inner {
    /// The use cases, shared with every other interface of this process.
    verifications: Arc<Verifications>,
    /// Items of one VerifyBatch stream decided at once.
    batch_in_flight: usize,
    /// Who may call what, for which insurers.
    callers: Callers,
    /// Refusals counted since the last flush, and each peer's refusal budget (shared with the
    /// limiter in front of the service).
    refusals: Arc<Refusals>,
}

impl VerifyService {
    /// The service over `verifications`.
    pub fn new(
        verifications: Arc<Verifications>,
        batch_in_flight: usize,
        callers: Callers,
        refusals: Arc<Refusals>,
    ) -> Self {
        VerifyService {
            inner: Arc::new(Inner {
                verifications,
                batch_in_flight,
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
    /// One verification, durable before it is returned: the [`crate::verification::Decider`]'s
    /// path, which `bulk --database` shares. The request's encoding identifies its content.
    async fn verify(
        &self,
        request: pb::VerifyRequest,
        caller: &str,
    ) -> Result<pb::VerifyResponse, ServiceError> {
        let content = request.encode_to_vec();
        let parsed = parse::parse_verify_owned(request)?;
        let verified = self
            .verifications
            .decider
            .verify(parsed, &content, caller)
            .await?;
        Ok(respond::response_from_decided(&verified.decided))
    }
}

/// The response stream of VerifyBatch.
pub type VerifyBatchStream = Pin<Box<dyn Stream<Item = Result<pb::VerifyResponse, Status>> + Send>>;

#[tonic::async_trait]
impl VerifyIdentity for VerifyService {
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
                let span =
                    info_span!(parent: &span, "item", insurer_number = tracing::field::Empty);
                async move {
                    let request = item?;
                    access::record_insurer(&request.insurer_number);
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
            let parsed = parse::parse_get_verification(request.get_ref())?;
            let record = inner
                .verifications
                .get(parsed.insurer.as_str(), parsed.verification_id.as_str())
                .await?;
            Ok(respond::record(&record))
        }
        .await;
        respond("GetVerification", started, result)
    }

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
            let parsed = parse::parse_commit(request.get_ref())?;
            let committed = inner.verifications.commit(parsed, &caller.name).await?;
            Ok(respond::committed(&committed))
        }
        .await;
        respond("CommitRegistration", started, result)
    }

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
            let parsed = parse::parse_resolve_hold(request.get_ref())?;
            let record = inner
                .verifications
                .resolve_hold(parsed, &caller.name)
                .await?;
            Ok(pb::ResolveHoldResponse {
                record: Some(respond::record(&record)),
            })
        }
        .await;
        respond("ResolveHold", started, result)
    }

    async fn assign_hold(
        &self,
        request: Request<pb::AssignHoldRequest>,
    ) -> Result<Response<pb::AssignHoldResponse>, Status> {
        let started = Instant::now();
        let inner = &self.inner;
        let result = async {
            let caller =
                inner.authorize(&request, Rpc::AssignHold, &request.get_ref().insurer_number)?;
            let parsed = parse::parse_assign_hold(request.get_ref())?;
            let record = inner
                .verifications
                .assign_hold(parsed, &caller.name)
                .await?;
            Ok(pb::AssignHoldResponse {
                record: Some(respond::record(&record)),
            })
        }
        .await;
        respond("AssignHold", started, result)
    }

    async fn list_holds(
        &self,
        request: Request<pb::ListHoldsRequest>,
    ) -> Result<Response<pb::ListHoldsResponse>, Status> {
        let started = Instant::now();
        let inner = &self.inner;
        let result = async {
            let _caller =
                inner.authorize(&request, Rpc::ListHolds, &request.get_ref().insurer_number)?;
            let parsed = parse::parse_list_holds(request.get_ref())?;
            let page = inner.verifications.list_holds(parsed).await?;
            Ok(pb::ListHoldsResponse {
                holds: page.holds.iter().map(respond::record).collect(),
                next_page_token: page.next_page_token,
            })
        }
        .await;
        respond("ListHolds", started, result)
    }

    async fn hold_stats(
        &self,
        request: Request<pb::HoldStatsRequest>,
    ) -> Result<Response<pb::HoldStatsResponse>, Status> {
        let started = Instant::now();
        let inner = &self.inner;
        let result = async {
            let named = &request.get_ref().insurer_numbers;
            // Each insurer named is checked like any other call's; none named is every insurer
            // the caller may act for.
            let peer = access::peer(&request);
            let caller = inner
                .callers
                .authorize_role(&request, Rpc::HoldStats)
                .map_err(|denied| inner.deny(denied, Rpc::HoldStats, "", peer))?;
            for insurer in named {
                caller
                    .check_insurer(insurer)
                    .map_err(|denied| inner.deny(denied, Rpc::HoldStats, insurer, peer))?;
            }
            let mut query = parse::parse_hold_stats(request.get_ref(), SystemTime::now())?;
            if named.is_empty() {
                query.insurers = match caller.insurers() {
                    None => InsurerScope::All,
                    Some(list) => InsurerScope::Only(
                        list.iter()
                            .filter_map(|i| InsurerNumber::parse(i).ok())
                            .collect(),
                    ),
                };
            }
            let stats = inner
                .verifications
                .hold_stats(query, SystemTime::now())
                .await?;
            Ok(respond::hold_stats(&stats))
        }
        .await;
        respond("HoldStats", started, result)
    }

    async fn subject_history(
        &self,
        request: Request<pb::SubjectHistoryRequest>,
    ) -> Result<Response<pb::SubjectHistoryResponse>, Status> {
        let started = Instant::now();
        let inner = &self.inner;
        let result = async {
            let _caller = inner.authorize(
                &request,
                Rpc::SubjectHistory,
                &request.get_ref().insurer_number,
            )?;
            let parsed = parse::parse_subject_history(request.get_ref())?;
            let history = inner.verifications.subject_history(parsed).await?;
            Ok(respond::subject_history(&history))
        }
        .await;
        respond("SubjectHistory", started, result)
    }
}
