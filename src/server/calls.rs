//! The calls of one connection: each request gets its connection's address information, a
//! body that may not keep the server waiting longer than `connections.request_body_timeout`,
//! and a place in its connection's count of open calls until its response is finished.
//!
//! The count is what tells an idle connection (no call open) from a busy one, for
//! `connections.idle_timeout`. The body timeout is what cuts off a stream that sent its headers
//! and never its message: the handler is waiting for a body, so nothing is refused and the
//! refusal budget never sees it; without the timeout each such stream held its handler (about
//! 10 KB) until the connection closed (200,000 of them held 1.9 GB in a probe).
//!
//! The timer runs only while the server is waiting on the client: when the handler is not
//! reading (a VerifyBatch whose client is slow to read its answers), nothing is timed, so
//! backpressure from the server's side never cuts a stream. Rejected: a deadline on the whole
//! body (a VerifyBatch of a whole roster may rightly stream for an hour), and tonic's
//! `Server::timeout` (a deadline on the handler, which would cut long batches too and does not
//! tell a silent client from a slow handler).
//!
//! Each call of the VerifyIdentity service also gets its span here (kind server), continuing
//! the caller's trace when its metadata carries a `traceparent`: the span lives until the
//! response is finished, so a VerifyBatch stream's span covers its whole stream, and it records
//! the gRPC status from the response's headers or trailers. Health and reflection calls get no
//! span (a load balancer's health checks would bury the calls in traces).

use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use tonic::{
    Status,
    body::Body,
    codegen::{
        Bytes, Service as _, StdError,
        http::{HeaderMap, Request, Response},
    },
    service::Routes,
};
use tracing::{Instrument as _, field::Empty};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// What a connection's task and its calls share.
pub(super) struct ConnectionState {
    /// When the connection was accepted: the origin of `last_activity_ms`.
    started: Instant,
    /// Calls open now: from their headers to the end of their response.
    calls: AtomicUsize,
    /// When a call last started or ended, in milliseconds after `started`.
    last_activity_ms: AtomicU64,
    /// Whether the client's HTTP/2 preface has arrived.
    preface: AtomicBool,
}

impl ConnectionState {
    /// A connection accepted now.
    pub(super) fn new() -> Arc<Self> {
        Arc::new(ConnectionState {
            started: Instant::now(),
            calls: AtomicUsize::new(0),
            last_activity_ms: AtomicU64::new(0),
            preface: AtomicBool::new(false),
        })
    }

    /// Calls open now.
    pub(super) fn calls(&self) -> usize {
        self.calls.load(Ordering::Acquire)
    }

    /// When the connection becomes idle if no call starts: `idle` after the last call started
    /// or ended (or after the connection was accepted).
    pub(super) fn idle_at(&self, idle: Duration) -> Instant {
        self.started + Duration::from_millis(self.last_activity_ms.load(Ordering::Acquire)) + idle
    }

    /// Whether the client's HTTP/2 preface has arrived.
    pub(super) fn preface_arrived(&self) -> bool {
        self.preface.load(Ordering::Acquire)
    }

    /// Records that the preface has arrived.
    pub(super) fn mark_preface(&self) {
        self.preface.store(true, Ordering::Release);
    }

    fn touch(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_activity_ms.store(ms, Ordering::Release);
    }
}

/// One open call's place in its connection's count, given back when dropped.
struct OpenCall(Arc<ConnectionState>);

impl OpenCall {
    fn new(state: Arc<ConnectionState>) -> Self {
        state.calls.fetch_add(1, Ordering::AcqRel);
        state.touch();
        OpenCall(state)
    }
}

impl Drop for OpenCall {
    fn drop(&mut self) {
        self.0.touch();
        self.0.calls.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The service of one connection: tonic's routes, behind the connection's bookkeeping.
pub(super) struct Calls<I> {
    /// Health, reflection and the VerifyIdentity service.
    routes: Routes,
    /// The connection information tonic's own server would attach (`TcpConnectInfo`, or
    /// `TlsConnectInfo<TcpConnectInfo>` with the client's certificates), which the refusal
    /// budget and caller authentication read.
    info: I,
    /// The connection's count of open calls.
    state: Arc<ConnectionState>,
    /// `connections.request_body_timeout`.
    body_timeout: Duration,
}

impl<I> Calls<I> {
    /// The calls of a connection with `info` and `state`.
    pub(super) fn new(
        routes: Routes,
        info: I,
        state: Arc<ConnectionState>,
        body_timeout: Duration,
    ) -> Self {
        Calls {
            routes,
            info,
            state,
            body_timeout,
        }
    }
}

impl<I: Clone + Send + Sync + 'static> hyper::service::Service<Request<Incoming>> for Calls<I> {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let open = OpenCall::new(self.state.clone());
        let span = call_span(request.uri().path(), request.headers());
        let timeout = self.body_timeout;
        let mut request = request.map(|body| Body::new(TimedBody::new(body, timeout)));
        request.extensions_mut().insert(self.info.clone());
        let response = span.in_scope(|| self.routes.clone().call(request));
        Box::pin(
            async move {
                let response = response.await?;
                let span = tracing::Span::current();
                // A refusal is answered with its status in the headers (trailers-only).
                record_status(&span, response.headers());
                Ok(response.map(|body| {
                    Body::new(Finishing {
                        body,
                        _open: open,
                        span,
                    })
                }))
            }
            .instrument(span),
        )
    }
}

/// The span of a call of the VerifyIdentity service, continuing the caller's trace; none for
/// other services (health, reflection).
fn call_span(path: &str, headers: &HeaderMap) -> tracing::Span {
    let full = path.strip_prefix('/').unwrap_or(path);
    let Some((service, method)) = full.split_once('/') else {
        return tracing::Span::none();
    };
    if service != super::SERVICE_NAME {
        return tracing::Span::none();
    }
    let span = tracing::info_span!(
        "call",
        otel.name = full,
        otel.kind = "server",
        rpc = method,
        call_id = %uuid::Uuid::now_v7(),
        trace_id = Empty,
        insurer_number = Empty,
    );
    if !span.is_disabled() {
        crate::telemetry::traces::continue_trace(&span, headers);
        span.set_attribute("rpc.system", "grpc");
        span.set_attribute("rpc.service", service.to_owned());
        span.set_attribute("rpc.method", method.to_owned());
    }
    span
}

/// Records the gRPC status of `headers` (response headers or trailers), if they carry one.
fn record_status(span: &tracing::Span, headers: &HeaderMap) {
    let Some(code) = headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok())
    else {
        return;
    };
    span.set_attribute("rpc.grpc.status_code", code);
    // Server errors, as the semantic conventions for gRPC servers count them: UNKNOWN,
    // DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS. A refused request is
    // the caller's error, not the server's.
    if matches!(code, 2 | 4 | 12 | 13 | 14 | 15) {
        span.set_status(opentelemetry::trace::Status::error(format!(
            "{:?}",
            tonic::Code::from_i32(code as i32)
        )));
    }
}

/// A response body that keeps its call open, and its span, until it is finished or dropped.
struct Finishing {
    /// The handler's response.
    body: Body,
    /// Given back with the body.
    _open: OpenCall,
    /// The call's span: it ends with the response.
    span: tracing::Span,
}

impl HttpBody for Finishing {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(trailers) = frame.trailers_ref() {
                record_status(&self.span, trailers);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A request body that fails with `DEADLINE_EXCEEDED` when the server has waited `timeout` for
/// its next frame.
struct TimedBody<B> {
    /// What hyper receives.
    inner: B,
    /// How long the server waits for one frame.
    timeout: Duration,
    /// The timer of the current wait; kept between waits so that it is allocated once.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Whether the timer runs for the current wait.
    waiting: bool,
    /// Whether the timeout has fired (the body then ends).
    expired: bool,
}

impl<B> TimedBody<B> {
    fn new(inner: B, timeout: Duration) -> Self {
        TimedBody {
            inner,
            timeout,
            timer: None,
            waiting: false,
            expired: false,
        }
    }
}

impl<B> HttpBody for TimedBody<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Into<StdError>,
{
    type Data = Bytes;
    type Error = StdError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if this.expired {
            return Poll::Ready(None);
        }
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            this.waiting = false;
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let deadline = tokio::time::Instant::now() + this.timeout;
        let timer = match &mut this.timer {
            Some(timer) => {
                if !this.waiting {
                    timer.as_mut().reset(deadline);
                }
                timer
            }
            None => this
                .timer
                .insert(Box::pin(tokio::time::sleep_until(deadline))),
        };
        this.waiting = true;
        if timer.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        this.expired = true;
        metrics::counter!("verify_request_body_timeouts_total").increment(1);
        let status = Status::deadline_exceeded(format!(
            "no part of the request arrived for {} s (connections.request_body_timeout)",
            this.timeout.as_secs()
        ));
        Poll::Ready(Some(Err(Box::new(status))))
    }

    fn is_end_stream(&self) -> bool {
        self.expired || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc;

    /// A client's body, sent frame by frame by the test.
    struct Sent(mpsc::UnboundedReceiver<Bytes>);

    impl HttpBody for Sent {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            self.0
                .poll_recv(cx)
                .map(|chunk| chunk.map(|c| Ok(Frame::data(c))))
        }
    }

    fn timed(timeout_ms: u64) -> (mpsc::UnboundedSender<Bytes>, TimedBody<Sent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            tx,
            TimedBody::new(Sent(rx), Duration::from_millis(timeout_ms)),
        )
    }

    async fn next(body: &mut TimedBody<Sent>) -> Option<Result<Frame<Bytes>, StdError>> {
        futures::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)).await
    }

    #[tokio::test]
    async fn a_body_that_never_comes_is_deadline_exceeded_and_then_ends() {
        let (_tx, mut body) = timed(100);
        let error = next(&mut body).await.unwrap().unwrap_err();
        let status = error.downcast::<Status>().unwrap();
        assert_eq!(status.code(), tonic::Code::DeadlineExceeded);
        assert!(
            status.message().contains("request_body_timeout"),
            "{status:?}"
        );
        assert!(next(&mut body).await.is_none());
        assert!(body.is_end_stream());
    }

    #[tokio::test]
    async fn each_wait_is_timed_on_its_own_not_the_whole_body() {
        let (tx, mut body) = timed(300);
        let sender = tokio::spawn(async move {
            for _ in 0..5 {
                tokio::time::sleep(Duration::from_millis(100)).await;
                tx.send(Bytes::from_static(b"x")).unwrap();
            }
        });
        for _ in 0..5 {
            let frame = next(&mut body).await.unwrap().unwrap();
            assert_eq!(frame.into_data().unwrap(), "x");
        }
        sender.await.unwrap();
    }

    #[tokio::test]
    async fn time_the_server_spends_not_reading_is_not_counted() {
        let (tx, mut body) = timed(300);
        // A wait that ends with a frame, then the server does not read for longer than the
        // timeout (its own backpressure), then reads again: the next wait starts afresh.
        let early = tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            early.send(Bytes::from_static(b"a")).unwrap();
        });
        assert!(next(&mut body).await.unwrap().is_ok());
        tokio::time::sleep(Duration::from_millis(500)).await;
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            tx.send(Bytes::from_static(b"b")).unwrap();
        });
        let frame = next(&mut body).await.unwrap().unwrap();
        assert_eq!(frame.into_data().unwrap(), "b");
    }
}
