//! The connection layer: accepting, the limits on what connections may hold, and a stop with
//! a deadline. [`serve`] takes the place of tonic's `Server::serve_with_incoming_shutdown`,
//! serving the same routes through hyper's HTTP/2 server.
//!
//! tonic's server has no connection limits and no handshake or body timeouts, retries a
//! failing `accept` at once (a busy loop when descriptors run out), and at a stop waits for
//! every connection without a deadline. Its builder exposes the HTTP/2 settings used here, but
//! neither the accept loop nor the connection tasks, which is where the rest must live.
//!
//! - [`super::admission`]: how many connections, in total and per peer address.
//! - [`super::connection`]: one connection's handshake, idle and keepalive deadlines.
//! - [`super::calls`]: each call's connection information, open-call count and body timeout.
//! - [`super::drain`]: the stop's phases and the tasks it waits for.

use std::{future::Future, pin::pin, sync::Arc, time::Duration};

use hyper::server::conn::http2;
use hyper_util::rt::TokioTimer;
use tokio::net::TcpListener;
use tokio_rustls::{TlsAcceptor, rustls::ServerConfig};
use tonic::service::Routes;

use super::{
    admission::Admission,
    connection::{self, Shared},
    drain::Stop,
};
use crate::{config::connections::ConnectionLimits, grpc::refusals::Peer};

/// How long `accept` rests after failing for want of descriptors or memory: retrying at once
/// spins a core and frees nothing.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What [`serve`] needs besides the socket and the stop.
pub(crate) struct Serving {
    /// The services.
    pub(crate) routes: Routes,
    /// TLS, if configured.
    pub(crate) tls: Option<Arc<ServerConfig>>,
    /// The limits.
    pub(crate) limits: ConnectionLimits,
    /// The open connections allowed, after the descriptor budget.
    pub(crate) max_connections: usize,
    /// How long a stop waits for calls in flight.
    pub(crate) grace: Duration,
}

/// Serves `serving.routes` on `listener` until `shutdown` resolves, then stops accepting,
/// waits up to the grace for the calls in flight and closes what is left. Returns when every
/// connection and call task has ended.
pub(crate) async fn serve(
    listener: TcpListener,
    serving: Serving,
    shutdown: impl Future<Output = ()>,
) {
    let (stop, phase, spawner) = Stop::new();
    let limits = serving.limits;
    let mut builder = http2::Builder::new(spawner);
    builder
        .timer(TokioTimer::new())
        // Explicit windows bound how much of a client's stream the server reads ahead of its
        // own answers (VerifyBatch backpressure), per stream and per connection.
        .initial_stream_window_size(256 * 1024)
        .initial_connection_window_size(1024 * 1024)
        .max_concurrent_streams(limits.max_calls_per_connection)
        .keep_alive_interval(limits.keepalive_interval)
        .keep_alive_timeout(limits.keepalive_timeout);
    let admission = Admission::new(serving.max_connections, limits.max_per_address);
    let shared = Arc::new(Shared {
        routes: serving.routes,
        tls: serving.tls.map(TlsAcceptor::from),
        limits,
        http2: builder,
    });
    accept_until(listener, shared, &admission, phase, shutdown).await;
    let open = admission.open();
    tracing::info!(
        connections = open,
        grace_seconds = serving.grace.as_secs(),
        "stopped accepting; finishing the calls in flight"
    );
    if !stop.drain(serving.grace).await {
        tracing::warn!(
            connections = admission.open(),
            "the shutdown grace ran out; closing the connections still open"
        );
        stop.close().await;
    }
}

/// Accepts connections until `shutdown` resolves, then drops the listener.
async fn accept_until(
    listener: TcpListener,
    shared: Arc<Shared>,
    admission: &Arc<Admission>,
    phase: tokio::sync::watch::Receiver<super::drain::Phase>,
    shutdown: impl Future<Output = ()>,
) {
    let mut shutdown = pin!(shutdown);
    let mut starved = false;
    loop {
        // Not while too many evicted connections still hold their descriptors (they close as
        // their tasks run): the newcomers wait in the backlog meanwhile.
        tokio::select! {
            () = &mut shutdown => return,
            () = admission.evictions_settled() => {}
        }
        let accepted = tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, addr) = match accepted {
            Ok(accepted) => {
                starved = false;
                accepted
            }
            Err(error) => {
                let reason = match error.raw_os_error() {
                    Some(libc::EMFILE | libc::ENFILE) => "descriptors",
                    Some(libc::ENOBUFS | libc::ENOMEM) => "memory",
                    // The connection was reset or aborted before it was accepted: the next
                    // one is unaffected.
                    _ => {
                        metrics::counter!("verify_accept_errors_total", "reason" => "connection")
                            .increment(1);
                        continue;
                    }
                };
                metrics::counter!("verify_accept_errors_total", "reason" => reason).increment(1);
                if !starved {
                    starved = true;
                    tracing::error!(
                        %error,
                        connections = admission.open(),
                        "cannot accept connections: out of {reason}; retrying every {} ms",
                        ACCEPT_BACKOFF.as_millis()
                    );
                }
                tokio::select! {
                    () = &mut shutdown => return,
                    () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                }
            }
        };
        let permit = match admission.admit(Peer::of(addr)) {
            Ok(permit) => permit,
            Err(refused) => {
                // Dropping the stream closes it before a byte is read.
                metrics::counter!("verify_connections_refused_total", "reason" => refused.as_str())
                    .increment(1);
                continue;
            }
        };
        // Without TCP_NODELAY, Nagle's algorithm and delayed ACKs hold small responses for
        // ~40 ms (measured: Verify p50 44 ms with it off, see BENCHMARKS.md).
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "TCP_NODELAY not set");
        }
        tokio::spawn(connection::serve(
            shared.clone(),
            stream,
            permit,
            phase.clone(),
        ));
    }
}
