//! Driving load: closed-loop workers, or a fixed-arrival-rate schedule with bounded in-flight
//! work, over a phase made of a warmup and a measured window.
//!
//! A request counts when it was sent — at a fixed rate, when it was *meant* to be sent — inside
//! the measured window, and the phase waits for those still in flight when the window closes
//! (each call is bounded by the timeout). Counting by send time rather than by completion
//! keeps slow requests at the end of the window in the tail instead of silently dropping them.

use std::time::{Duration, Instant};

use tokio::{sync::mpsc, task::JoinSet};
use tonic::{codegen::InterceptedService, transport::Channel};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use super::{
    generate::Generator,
    report::{PhaseReport, Stats, Target},
};
use crate::{
    cli::client::BearerAuth,
    contract::pb::{self, verify_identity_client::VerifyIdentityClient},
};

/// How load is offered.
#[derive(Debug, Clone, Copy)]
pub(super) enum Mode {
    /// Each worker sends, awaits the response, sends the next.
    ClosedLoop,
    /// Requests are due at this many per second on a fixed timeline, whatever the server does.
    FixedRate(f64),
}

/// The shape of one phase; the same for Verify and health so that their rates compare.
#[derive(Debug, Clone, Copy)]
pub(super) struct Plan {
    /// How load is offered.
    pub(super) mode: Mode,
    /// Workers (closed loop) or the most requests in flight (fixed rate).
    pub(super) concurrency: usize,
    /// Run but not recorded: connection windows, server caches and the allocator settle.
    pub(super) warmup: Duration,
    /// The measured window.
    pub(super) duration: Duration,
    /// The longest a single call may take before it counts as DEADLINE_EXCEEDED.
    pub(super) timeout: Duration,
}

/// The phase's timeline.
#[derive(Debug, Clone, Copy)]
struct Window {
    /// When the warmup began; a fixed rate's timeline starts here.
    start: Instant,
    /// When the warmup ends and recording begins.
    measure_from: Instant,
    /// When no more requests are sent.
    end: Instant,
}

/// A worker's client: one RPC, on one of the shared connections.
#[derive(Debug)]
pub(super) enum Caller {
    /// Sends generated requests to Verify.
    Verify(
        VerifyIdentityClient<InterceptedService<Channel, BearerAuth>>,
        Box<Generator>,
    ),
    /// Calls the health Check for the whole server.
    Health(HealthClient<Channel>),
}

/// A successful call's outcome index (see [`Target`]) and whether it was the expected one.
type Outcome = Result<(usize, bool), tonic::Code>;

impl Caller {
    /// A caller for `target` on `channel`; `generator` and `auth` are used only for Verify
    /// (health needs no credentials).
    pub(super) fn new(
        target: Target,
        channel: Channel,
        auth: &BearerAuth,
        generator: impl FnOnce() -> Generator,
    ) -> Self {
        match target {
            Target::Verify => Caller::Verify(
                VerifyIdentityClient::with_interceptor(channel, auth.clone()),
                Box::new(generator()),
            ),
            Target::Health => Caller::Health(HealthClient::new(channel)),
        }
    }

    async fn call(&mut self, timeout: Duration) -> Outcome {
        // Both RPCs take the same path (a tonic::Request with a deadline, one await) so that
        // the health baseline carries the same client-side costs as Verify.
        let result = match self {
            Caller::Verify(client, generator) => {
                let (request, case) = generator.next_request();
                let mut request = tonic::Request::new(request);
                request.set_timeout(timeout);
                tokio::time::timeout(timeout, client.verify(request))
                    .await
                    .map(|r| {
                        r.map(|response| {
                            let decision = response.get_ref().decision();
                            let index = match decision {
                                pb::Decision::Register => 0,
                                pb::Decision::Hold => 1,
                                pb::Decision::Return => 2,
                                pb::Decision::Unspecified => 3,
                            };
                            (index, decision == case.decision())
                        })
                    })
            }
            Caller::Health(client) => {
                let mut request = tonic::Request::new(HealthCheckRequest {
                    service: String::new(),
                });
                request.set_timeout(timeout);
                tokio::time::timeout(timeout, client.check(request))
                    .await
                    .map(|r| {
                        r.map(|response| match response.get_ref().status() {
                            ServingStatus::Serving => (0, true),
                            ServingStatus::NotServing => (1, false),
                            ServingStatus::Unknown => (2, false),
                            ServingStatus::ServiceUnknown => (3, false),
                        })
                    })
            }
        };
        match result {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(status)) => Err(status.code()),
            Err(_elapsed) => Err(tonic::Code::DeadlineExceeded),
        }
    }
}

/// Runs one phase with one caller per worker and merges what the workers measured.
pub(super) async fn run_phase(
    target: Target,
    callers: Vec<Caller>,
    plan: &Plan,
) -> Result<PhaseReport, tokio::task::JoinError> {
    let start = Instant::now();
    let measure_from = start + plan.warmup;
    let window = Window {
        start,
        measure_from,
        end: measure_from + plan.duration,
    };
    let mut workers = JoinSet::new();
    let mut stats = Stats::new();
    match plan.mode {
        Mode::ClosedLoop => {
            for caller in callers {
                workers.spawn(closed_loop(caller, window, plan.timeout));
            }
        }
        Mode::FixedRate(rate) => {
            let (idle_tx, idle_rx) = mpsc::unbounded_channel();
            let mut tickets = Vec::with_capacity(callers.len());
            for (id, caller) in callers.into_iter().enumerate() {
                let (ticket_tx, ticket_rx) = mpsc::channel(1);
                tickets.push(ticket_tx);
                idle_tx.send(id).expect("the receiver is alive");
                workers.spawn(paced_worker(
                    id,
                    caller,
                    ticket_rx,
                    idle_tx.clone(),
                    window,
                    plan.timeout,
                ));
            }
            drop(idle_tx);
            // The schedule ends by dropping the ticket senders, which lets each worker finish
            // its last call and return.
            stats.dropped =
                tokio::task::spawn_blocking(move || schedule(rate, window, idle_rx, tickets))
                    .await?;
        }
    }
    while let Some(worker) = workers.join_next().await {
        stats.merge(&worker?);
    }
    Ok(PhaseReport {
        target,
        window: plan.duration,
        fixed_rate: matches!(plan.mode, Mode::FixedRate(_)),
        stats,
    })
}

async fn closed_loop(mut caller: Caller, window: Window, timeout: Duration) -> Stats {
    let mut stats = Stats::new();
    loop {
        let sent = Instant::now();
        if sent >= window.end {
            return stats;
        }
        let outcome = caller.call(timeout).await;
        if sent >= window.measure_from {
            record(&mut stats, outcome, sent.elapsed(), None);
        }
    }
}

/// Sends one request per ticket. A ticket carries the intended send time, and latency counts
/// from it: a request that waited because the client fell behind is charged the wait, which is
/// what avoids coordinated omission.
async fn paced_worker(
    id: usize,
    mut caller: Caller,
    mut tickets: mpsc::Receiver<Instant>,
    idle: mpsc::UnboundedSender<usize>,
    window: Window,
    timeout: Duration,
) -> Stats {
    let mut stats = Stats::new();
    while let Some(intended) = tickets.recv().await {
        let sent = Instant::now();
        let outcome = caller.call(timeout).await;
        if intended >= window.measure_from {
            let done = Instant::now();
            record(&mut stats, outcome, done - intended, Some(done - sent));
        }
        if idle.send(id).is_err() {
            break;
        }
    }
    stats
}

/// Issues tickets at `rate` per second on a fixed timeline from the window's start to its end.
/// A ticket due while every worker is busy is not queued (that would hide the server's
/// slowness behind the client's queue): it is counted as dropped.
///
/// Runs on its own thread with `std::thread::sleep` rather than as a task: tokio's timer wakes
/// at millisecond granularity, which would send most requests up to a millisecond late and
/// charge that to the server's latency; a thread's sleep is accurate to about 0.1 ms. When
/// several tickets are due at once they go out together, each with its own intended time.
fn schedule(
    rate: f64,
    window: Window,
    mut idle: mpsc::UnboundedReceiver<usize>,
    tickets: Vec<mpsc::Sender<Instant>>,
) -> u64 {
    let mut dropped = 0;
    for k in 0u64.. {
        let intended = window.start + Duration::from_secs_f64(k as f64 / rate);
        if intended >= window.end {
            break;
        }
        let now = Instant::now();
        if intended > now {
            std::thread::sleep(intended - now);
        }
        let sent = match idle.try_recv() {
            Ok(id) => tickets[id].try_send(intended).is_ok(),
            Err(_) => false,
        };
        if !sent && intended >= window.measure_from {
            dropped += 1;
        }
    }
    dropped
}

fn record(stats: &mut Stats, outcome: Outcome, latency: Duration, service: Option<Duration>) {
    match outcome {
        Ok((index, expected)) => stats.record_ok(index, expected, latency, service),
        Err(code) => stats.record_error(code),
    }
}
