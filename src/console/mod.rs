//! The clerks' console: the hold queue, a case and its resolution as web pages, in Japanese
//! first.
//!
//! The console adds no power: every page reads through the use cases ([`crate::verification`])
//! and every action is one of them, under the roles and insurer scopes of a gRPC caller; the
//! name in the audit events a clerk causes is the signed-in clerk's. Nothing a page shows
//! comes from outside the audit store, which holds no personal values.
//!
//! Built on axum 0.8 (already in the tree through tonic: the same hyper, tower and http) and
//! maud (templates checked by the compiler, every value escaped unless marked otherwise), so a
//! page cannot miss a variable or forget to escape a note.
//!
//! - [`security`]: the headers of every answer (CSP without inline script or style, no
//!   framing, no caching of pages) and the same-origin check of every POST.
//! - [`users`]: the clerks of the settings file and their argon2id passwords.
//! - [`sessions`]: server-side sessions in the audit store's database (every replica, across
//!   restarts; idle and absolute timeouts) and the sign-in limits.
//! - [`signin`], [`queue`], [`case`], [`stats`]: the pages (`stats`: how holds ended, the
//!   HoldStats use case with charts drawn as inline SVG on the server).
//! - `trace`: each request's span, continuing the caller's W3C trace (`traceparent`).

mod assets;
mod case;
mod check;
mod errors;
mod layout;
mod queue;
mod refusals;
pub mod security;
pub mod sessions;
mod signin;
mod stats;
mod trace;
pub mod users;

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    Router,
    routing::{get, post},
};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_rustls::{TlsAcceptor, rustls::ServerConfig};

use crate::{config::ConsoleUserConfig, verification::Verifications};

pub use sessions::SessionLimits;
pub use users::UserError;

/// Open console connections at once; more wait in the listener's backlog.
const MAX_CONNECTIONS: usize = 256;
/// How long a connection may take to send a request's head (and the TLS handshake).
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a stop waits for pages being answered.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// What every page handler shares.
pub struct Console {
    /// The use cases, shared with the gRPC service of this process.
    verifications: Arc<Verifications>,
    /// Who may sign in.
    users: users::Users,
    /// Signed-in clerks.
    sessions: sessions::Sessions,
    /// Failed sign-ins per clerk and per address.
    limiter: sessions::SignInLimiter,
    /// Refusals counted for the audit log.
    refusals: refusals::Tally,
    /// Whether the console is served over TLS (cookies then carry `Secure` and `__Host-`).
    tls: bool,
}

impl Console {
    /// The console over `verifications` for the clerks `users`; an error names the first
    /// unusable entry.
    pub fn new(
        verifications: Arc<Verifications>,
        users: &[ConsoleUserConfig],
        limits: SessionLimits,
        tls: bool,
    ) -> Result<Arc<Self>, UserError> {
        Ok(Arc::new(Console {
            sessions: sessions::Sessions::new(verifications.console_sessions(), limits),
            verifications,
            users: users::Users::new(users)?,
            limiter: sessions::SignInLimiter::default(),
            refusals: refusals::Tally::default(),
            tls,
        }))
    }
}

/// Every route of the console.
pub fn router(console: Arc<Console>) -> Router {
    Router::new()
        .route("/", get(queue::home))
        .route("/signin", get(signin::form).post(signin::submit))
        .route("/signin/certificate", post(signin::by_certificate))
        .route("/signout", post(signin::sign_out))
        .route("/lang/{tag}", get(layout::switch_language))
        .route("/holds", get(queue::page))
        .route("/check", get(check::form).post(check::submit))
        .route("/stats", get(stats::page))
        .route("/holds/{insurer}/{id}", get(case::page))
        .route("/holds/{insurer}/{id}/resolve", post(case::resolve))
        .route("/holds/{insurer}/{id}/assign", post(case::assign))
        .route("/static/{file}", get(assets::serve))
        .fallback(errors::not_found)
        .layer(axum::middleware::from_fn_with_state(
            console.clone(),
            security::guard,
        ))
        // Outermost, so that the span holds the guard's refusals too.
        .layer(axum::middleware::from_fn(trace::continue_trace))
        .with_state(console)
}

/// The peer of a connection, put in each request's extensions.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// The client certificate the connection's TLS handshake verified (DER), put in each request's
/// extensions when there is one: a clerk may sign in with it (`signin`).
#[derive(Clone)]
pub struct PresentedCertificate(pub Arc<[u8]>);

/// Serves the console on `listener` (TLS when `tls` is given) until `shutdown` resolves, then
/// lets the pages being answered finish for a few seconds and writes the counted refusals.
pub async fn serve(
    listener: TcpListener,
    console: Arc<Console>,
    tls: Option<Arc<ServerConfig>>,
    shutdown: impl Future<Output = ()> + Send,
) {
    let flusher = tokio::spawn(refusals::flush_every(console.clone()));
    let app = router(console.clone());
    let acceptor = tls.map(TlsAcceptor::from);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    // Every connection's task, so that those still open after the grace are ended: each holds
    // the use cases, and the audit writer finishes only when nothing does.
    let mut tasks = tokio::task::JoinSet::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => p.expect("never closed"),
            () = &mut shutdown => break,
        };
        // Ended connections' tasks are collected as new ones come.
        while tasks.try_join_next().is_some() {}
        let (stream, addr) = tokio::select! {
            r = listener.accept() => match r {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "console accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let app = app.clone().layer(axum::Extension(Peer(addr)));
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(HEAD_TIMEOUT);
        match &acceptor {
            None => {
                let service = hyper_util::service::TowerToHyperService::new(app);
                let conn = http.serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tasks.spawn(async move {
                    let _ = conn.await;
                    drop(permit);
                });
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                let watcher = graceful.watcher();
                tasks.spawn(async move {
                    let Ok(Ok(stream)) =
                        tokio::time::timeout(HEAD_TIMEOUT, acceptor.accept(stream)).await
                    else {
                        return;
                    };
                    let presented = stream.get_ref().1.peer_certificates();
                    let app = match presented.and_then(|chain| chain.first()) {
                        Some(leaf) => {
                            let der: Arc<[u8]> = Arc::from(leaf.as_ref());
                            app.layer(axum::Extension(PresentedCertificate(der)))
                        }
                        None => app,
                    };
                    let service = hyper_util::service::TowerToHyperService::new(app);
                    let conn = http.serve_connection(TokioIo::new(stream), service);
                    let _ = watcher.watch(conn).await;
                    drop(permit);
                });
            }
        }
    }
    if tokio::time::timeout(STOP_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("console pages still open after the grace; closed");
    }
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    flusher.abort();
    let _ = flusher.await;
    refusals::flush(&console).await;
}
