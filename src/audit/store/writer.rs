//! Group commit: one task turns many concurrent appends into few durable transactions.
//!
//! A durable commit costs one disk flush (SQLite `synchronous = FULL`) or one WAL flush and
//! round trip (PostgreSQL), whatever it holds. Callers hand their event to the writer task
//! and wait; the task takes one event, then everything else already queued (up to a limit),
//! writes them in one transaction and answers each caller only after the commit. Under load,
//! batches grow by themselves; when idle, a lone event is written at once. There is no timer:
//! waiting "a little" for company would only add latency at low load.
//!
//! The queue is bounded, so a burst beyond what the disk can absorb makes callers wait
//! (backpressure) instead of growing memory. When every [`AuditHandle`] is dropped the task
//! writes what is still queued and exits: awaiting its `JoinHandle` is the flush on shutdown.
//!
//! Traces: each caller's wait is an `audit.wait` span of its call, and each transaction an
//! `audit.commit` span, the child of the first waiter's span and linked to every other
//! waiter's, so that each call's trace leads to the commit it waited for.

use std::{sync::Arc, time::Instant};

use tokio::{
    sync::{mpsc, oneshot},
    task::JoinHandle,
};
use tracing::{Instrument as _, field::Empty};

use crate::audit::{AppendOutcome, AuditBackend, AuditError, ChainState, NewEvent, store::rows};

/// One queued append: the event, where to send its outcome, and the caller's `audit.wait`
/// span.
type Request = (
    NewEvent,
    oneshot::Sender<Result<AppendOutcome, AuditError>>,
    tracing::Span,
);

/// The way in to the writer task. Cheap to clone; the task runs while any clone lives.
#[derive(Debug, Clone)]
pub struct AuditHandle {
    /// The bounded queue to the task.
    tx: mpsc::Sender<Request>,
    /// The chain this writer appends to, for logs and operators (not personal data).
    writer_id: Arc<str>,
}

/// The group-commit writer task.
#[derive(Debug)]
pub struct AuditWriter;

impl AuditWriter {
    /// Starts the writer task on `backend`, with a fresh chain.
    ///
    /// `capacity` bounds the queue (callers wait beyond it); `max_batch` bounds the events
    /// per transaction (a longer transaction delays every caller in it). Both are at least 1.
    pub fn spawn(
        backend: Arc<dyn AuditBackend>,
        capacity: usize,
        max_batch: usize,
    ) -> (AuditHandle, JoinHandle<()>) {
        let chain = ChainState::new();
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let writer_id = Arc::from(chain.writer_id());
        let task = tokio::spawn(run(backend, chain, rx, max_batch.max(1)));
        (AuditHandle { tx, writer_id }, task)
    }
}

impl AuditHandle {
    /// Appends `event` and returns once the transaction holding it has committed (or failed).
    ///
    /// An invalid event fails alone with [`AuditError::Invalid`], before it is queued. If the
    /// task has stopped, the result is [`AuditError::Unavailable`]: fail closed.
    pub async fn append(&self, event: NewEvent) -> Result<AppendOutcome, AuditError> {
        rows::validate(&event)?;
        let wait = tracing::info_span!(
            target: "verify_identity::trace",
            "audit.wait",
            audit.event = event.event_type().as_str(),
        );
        let (reply, answer) = oneshot::channel();
        async {
            self.tx
                .send((event, reply, tracing::Span::current()))
                .await
                .map_err(|_| stopped())?;
            answer.await.map_err(|_| stopped())?
        }
        .instrument(wait)
        .await
    }

    /// The writer id of this process's chain.
    pub fn writer_id(&self) -> &str {
        &self.writer_id
    }
}

/// The span of one transaction: the child of the first waiter's span, linked to the others'.
fn commit_span(system: &'static str, waits: &[tracing::Span], size: usize) -> tracing::Span {
    let first = waits.first().and_then(tracing::Span::id);
    let span = tracing::info_span!(
        target: "verify_identity::trace",
        parent: first,
        "audit.commit",
        db.system = system,
        // Integers as i64: OpenTelemetry has no unsigned attribute (a u64 becomes text).
        audit.batch_size = i64::try_from(size).unwrap_or(i64::MAX),
        audit.outcome = Empty,
    );
    if !span.is_disabled() {
        for wait in waits.iter().skip(1) {
            span.follows_from(wait);
        }
    }
    span
}

fn stopped() -> AuditError {
    AuditError::Unavailable("the audit writer has stopped".into())
}

async fn run(
    backend: Arc<dyn AuditBackend>,
    mut chain: ChainState,
    mut rx: mpsc::Receiver<Request>,
    max_batch: usize,
) {
    let mut events = Vec::with_capacity(max_batch);
    let mut replies = Vec::with_capacity(max_batch);
    let mut waits: Vec<tracing::Span> = Vec::with_capacity(max_batch);
    while let Some((event, reply, wait)) = rx.recv().await {
        events.push(event);
        replies.push(reply);
        waits.push(wait);
        while events.len() < max_batch {
            match rx.try_recv() {
                Ok((event, reply, wait)) => {
                    events.push(event);
                    replies.push(reply);
                    waits.push(wait);
                }
                Err(_) => break,
            }
        }
        let commit = commit_span(backend.system(), &waits, events.len());

        let started = Instant::now();
        // Every event was validated by `AuditHandle::append` when it was queued.
        let size = events.len();
        let (mut returned, result) = backend
            .append_valid_batch(&mut chain, std::mem::take(&mut events))
            .instrument(commit.clone())
            .await;
        commit.record(
            "audit.outcome",
            if result.is_ok() {
                "committed"
            } else {
                "failed"
            },
        );
        drop(commit);
        waits.clear();
        let elapsed = started.elapsed();
        // The same buffer again for the next batch (its capacity stays).
        returned.clear();
        events = returned;
        metrics::histogram!("audit_batch_size").record(size as f64);
        match result {
            Ok(outcomes) => {
                metrics::histogram!("audit_commit_seconds").record(elapsed.as_secs_f64());
                tracing::debug!(
                    batch = size,
                    commit_ms = elapsed.as_secs_f64() * 1e3,
                    "audit batch committed"
                );
                for (reply, outcome) in replies.drain(..).zip(outcomes) {
                    // A caller that gave up (its request was cancelled) no longer listens;
                    // its event is committed all the same.
                    let _ = reply.send(Ok(outcome));
                }
            }
            Err(e) => {
                metrics::counter!("audit_commit_failures_total").increment(1);
                tracing::warn!(batch = size, error = %e, "audit batch failed");
                for reply in replies.drain(..) {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
        events.clear();
        // Any reply not sent above (never: one outcome per event) is dropped here, and its
        // caller sees `Unavailable`.
        replies.clear();
    }
    tracing::debug!("audit writer stopped: every handle was dropped and the queue is drained");
}
