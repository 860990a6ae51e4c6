//! The refusal budget at the door: a call from a peer that has spent its budget is answered
//! `RESOURCE_EXHAUSTED` before its message is decoded, its credentials checked or anything
//! stored — only counted ([`crate::grpc::refusals`]).
//!
//! A wrapper around the VerifyIdentity service rather than a layer on the whole server, so
//! that health checks and reflection stay open to a load balancer whatever its address did.
//! An interceptor was rejected: tonic runs it after the request has been routed into the
//! service's codec, and it cannot answer without the generated service building a response
//! future for the call.
//!
//! The refused call's body is read (and thrown away) before it is answered. Answered first, a
//! call leaves the client's half of its stream open and the server resets it; when a flood's
//! bodies come late, they arrive for streams HTTP/2 has already forgotten (it remembers 50 for
//! a second), and each counts against the connection's budget of resets for the peer's errors
//! (1,024, hyper's guard against reset floods): the connection was sent away mid-call every
//! 0.4 s under the refusals flood test. Reading costs the frames that come anyway; a body that
//! does not come is cut by `connections.request_body_timeout`, one larger than
//! [`DRAIN_LIMIT`] is not read further.

use std::{
    convert::Infallible,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use futures::future::{BoxFuture, Either};
use tonic::{
    Status,
    body::Body,
    codegen::{Body as _, Service, http},
    server::NamedService,
    transport::server::{TcpConnectInfo, TlsConnectInfo},
};

use crate::grpc::{
    auth::{Rpc, UNAUTHENTICATED_CALLER},
    refusals::{Peer, RATE_LIMITED, Refusal, Refusals},
};

/// The most of a refused call's body that is read before it is answered (four default
/// messages); past it the stream is reset.
const DRAIN_LIMIT: usize = 1024 * 1024;

/// `inner`, answering peers over their refusal budget at once.
#[derive(Clone)]
pub struct RefusalLimit<S> {
    /// The service the admitted calls go to.
    inner: S,
    /// The budgets, shared with the service that spends them.
    refusals: Arc<Refusals>,
}

impl<S> RefusalLimit<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, refusals: Arc<Refusals>) -> Self {
        RefusalLimit { inner, refusals }
    }
}

impl<S: NamedService> NamedService for RefusalLimit<S> {
    const NAME: &'static str = S::NAME;
}

/// The peer of a request, from the connection information the transport attached.
pub fn peer_of<B>(request: &http::Request<B>) -> Option<Peer> {
    let extensions = request.extensions();
    extensions
        .get::<TcpConnectInfo>()
        .or_else(|| {
            extensions
                .get::<TlsConnectInfo<TcpConnectInfo>>()
                .map(TlsConnectInfo::get_ref)
        })
        .and_then(TcpConnectInfo::remote_addr)
        .map(Peer::of)
}

impl<S> Service<http::Request<Body>> for RefusalLimit<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Either<S::Future, BoxFuture<'static, Result<http::Response<Body>, Infallible>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let peer = peer_of(&request);
        if self.refusals.admits(peer) {
            return Either::Left(self.inner.call(request));
        }
        let rpc = request
            .uri()
            .path()
            .rsplit('/')
            .next()
            .and_then(Rpc::from_method);
        if let Some(rpc) = rpc {
            self.refusals.count(Refusal {
                peer,
                caller: UNAUTHENTICATED_CALLER,
                rpc: rpc.as_str(),
                reason: RATE_LIMITED,
                insurer: "",
            });
            metrics::counter!("verify_access_denied_total", "rpc" => rpc.as_str(), "reason" => RATE_LIMITED)
                .increment(1);
        }
        let status = Status::resource_exhausted(
            "too many refused calls from this address; retry later with valid credentials",
        );
        let body = request.into_body();
        Either::Right(Box::pin(async move {
            drain(body).await;
            Ok(status.into_http())
        }))
    }
}

/// Reads `body` to its end or to [`DRAIN_LIMIT`] bytes, throwing it away.
async fn drain(mut body: Body) {
    let mut read = 0;
    while let Some(Ok(frame)) =
        futures::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
    {
        read += frame.data_ref().map_or(0, |d| d.len());
        if read > DRAIN_LIMIT {
            return;
        }
    }
}
