//! One accepted connection, from its TLS handshake to its end: HTTP/2 by hyper, watched for
//! the three ways a connection may hold the server without using it.
//!
//! - **No handshake.** The TLS handshake and the client's HTTP/2 preface must be done within
//!   `connections.handshake_timeout` of the accept, or the connection is dropped; it is dropped
//!   sooner if a new connection needs its place ([`super::admission`]). Before the preface a
//!   connection has no calls to lose, and hyper cannot close it politely: its graceful
//!   shutdown only takes effect once the preface has arrived, which is why one silent
//!   connection kept a stopping server running.
//! - **No calls.** A connection with no call open for `connections.idle_timeout` is sent a
//!   GOAWAY (hyper's graceful shutdown, which still serves any call that crossed it); a client
//!   opens a new connection when it next calls. If the peer then neither finishes nor closes
//!   within `handshake_timeout`, the connection is dropped.
//! - **No peer.** hyper sends an HTTP/2 PING after `connections.keepalive_interval` without
//!   a frame and closes the connection if it is not answered within
//!   `connections.keepalive_timeout`: a peer that went away, or one trickling a frame that never
//!   completes, cannot answer.
//!
//! At a stop ([`super::drain`]) every connection past its preface gets a GOAWAY, the others
//! are dropped at once; one with no call open that has not closed a second after its GOAWAY
//! is dropped too, and whatever is open when the grace ends is dropped.
//!
//! What these close is counted in `verify_connections_closed_total{reason}`.

use std::{
    pin::{Pin, pin},
    sync::Arc,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use hyper::server::conn::http2;
use hyper_util::rt::TokioIo;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
    sync::watch,
};
use tokio_rustls::TlsAcceptor;
use tonic::{service::Routes, transport::server::Connected};

use crate::config::connections::ConnectionLimits;

use super::{
    admission::{Handshake, Permit},
    calls::{Calls, ConnectionState},
    drain::{Phase, Spawner},
};

/// How long a stopping connection with no call open may take to close after its GOAWAY. hyper
/// closes it once the client has answered the PING sent with the GOAWAY; a peer that does not
/// answer would otherwise hold the stop for the whole grace (measured: an idle raw HTTP/2
/// connection held a 5 s grace to its end). A real client answers within milliseconds.
const DRAINED: Duration = Duration::from_secs(1);

/// The client's HTTP/2 connection preface (`PRI * HTTP/2.0…`) is 24 bytes.
const PREFACE_LEN: usize = 24;

/// What the connection's timer waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The TLS handshake and the preface, until `handshake_timeout` after the accept.
    Handshake,
    /// A call, until `idle_timeout` after the last one.
    Serving,
    /// The end of a connection sent a GOAWAY for being idle.
    GoingAway,
    /// The end of a connection sent a GOAWAY for the stop: its calls, or [`DRAINED`] without
    /// any.
    Draining,
}

fn count_closed(reason: &'static str) {
    metrics::counter!("verify_connections_closed_total", "reason" => reason).increment(1);
}

/// Serves the connection `stream` until it ends or the stop closes it; `permit` is its place
/// What the connection tasks share.
pub(super) struct Shared {
    /// The services, shared by every connection.
    pub(super) routes: Routes,
    /// The TLS acceptor; `None` serves plain TCP.
    pub(super) tls: Option<TlsAcceptor>,
    /// The limits.
    pub(super) limits: ConnectionLimits,
    /// hyper's HTTP/2 server, configured from the limits.
    pub(super) http2: http2::Builder<Spawner>,
}

/// among the open connections, given back when this returns.
pub(super) async fn serve(
    shared: Arc<Shared>,
    stream: TcpStream,
    permit: Permit,
    mut phase: watch::Receiver<Phase>,
) {
    if *phase.borrow_and_update() != Phase::Serving {
        return;
    }
    let state = ConnectionState::new();
    let handshake_by = Instant::now() + shared.limits.handshake_timeout;
    let Some(acceptor) = &shared.tls else {
        let info = stream.connect_info();
        return http2(&shared, stream, info, state, &permit, phase).await;
    };
    let handshake = tokio::time::timeout_at(handshake_by.into(), acceptor.accept(stream));
    let tls = tokio::select! {
        done = handshake => done,
        _ = phase.wait_for(|p| *p != Phase::Serving) => return,
        () = permit.evicted() => return,
    };
    match tls {
        Ok(Ok(tls)) => {
            let info = tls.connect_info();
            http2(&shared, tls, info, state, &permit, phase).await;
        }
        Ok(Err(error)) => {
            tracing::debug!(%error, "TLS handshake failed");
            count_closed("tls_handshake_failed");
        }
        Err(_) => count_closed("handshake_timeout"),
    }
}

/// Serves HTTP/2 on `io`, whose requests carry `info`.
async fn http2<IO, I>(
    shared: &Shared,
    io: IO,
    info: I,
    state: Arc<ConnectionState>,
    permit: &Permit,
    mut phase: watch::Receiver<Phase>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    I: Clone + Send + Sync + 'static,
{
    let limits = &shared.limits;
    let calls = Calls::new(
        shared.routes.clone(),
        info,
        state.clone(),
        limits.request_body_timeout,
    );
    let io = TokioIo::new(PrefaceWatch::new(io, state.clone(), permit.handshake()));
    let mut conn = pin!(shared.http2.serve_connection(io, calls));
    let mut stage = Stage::Handshake;
    let timer = tokio::time::sleep_until(state.idle_at(limits.handshake_timeout).into());
    let mut timer = pin!(timer);
    loop {
        tokio::select! {
            ended = conn.as_mut() => {
                if let Err(error) = ended {
                    tracing::debug!(%error, "connection ended with an error");
                }
                return;
            }
            () = permit.evicted() => return,
            () = timer.as_mut() => {
                let now = Instant::now();
                let next = match stage {
                    Stage::Handshake if !state.preface_arrived() => {
                        count_closed("handshake_timeout");
                        return;
                    }
                    Stage::Handshake | Stage::Serving => {
                        let idle_at = state.idle_at(limits.idle_timeout);
                        if state.calls() == 0 && idle_at <= now {
                            count_closed("idle");
                            conn.as_mut().graceful_shutdown();
                            stage = Stage::GoingAway;
                            now + limits.handshake_timeout
                        } else {
                            stage = Stage::Serving;
                            // With a call open, the connection is idle no sooner than
                            // `idle_timeout` from now.
                            if state.calls() > 0 { now + limits.idle_timeout } else { idle_at }
                        }
                    }
                    Stage::GoingAway if state.calls() == 0 => return,
                    Stage::GoingAway => now + limits.handshake_timeout,
                    Stage::Draining if state.calls() == 0 => return,
                    Stage::Draining => now + DRAINED,
                };
                timer.as_mut().reset(next.into());
            }
            changed = phase.changed() => {
                let now = match changed {
                    Ok(()) => *phase.borrow_and_update(),
                    Err(_) => Phase::Closing,
                };
                match now {
                    Phase::Serving => {}
                    Phase::Draining if !state.preface_arrived() => return,
                    Phase::Draining => {
                        if stage != Stage::GoingAway {
                            conn.as_mut().graceful_shutdown();
                        }
                        stage = Stage::Draining;
                        timer.as_mut().reset((Instant::now() + DRAINED).into());
                    }
                    Phase::Closing => {
                        count_closed("shutdown_grace");
                        return;
                    }
                }
            }
        }
    }
}

/// The connection's bytes, watched until the client's HTTP/2 preface has arrived.
struct PrefaceWatch<IO> {
    /// The TCP or TLS stream.
    io: IO,
    /// Where the preface's arrival is recorded.
    state: Arc<ConnectionState>,
    /// Told when the preface has arrived, so that the connection is no longer evicted.
    handshake: Handshake,
    /// Bytes read so far, counted up to the preface's length.
    read: usize,
}

impl<IO> PrefaceWatch<IO> {
    fn new(io: IO, state: Arc<ConnectionState>, handshake: Handshake) -> Self {
        PrefaceWatch {
            io,
            state,
            handshake,
            read: 0,
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for PrefaceWatch<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if self.read < PREFACE_LEN {
            self.read += buf.filled().len() - before;
            if self.read >= PREFACE_LEN {
                self.state.mark_preface();
                self.handshake.done();
            }
        }
        polled
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for PrefaceWatch<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
