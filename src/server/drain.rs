//! A stop in three phases, and the bookkeeping that lets it finish: serving; draining (no new
//! connections, every connection told to close once its calls are done, `shutdown_grace` at
//! most); closing (what is left is dropped).
//!
//! Every connection task and every call task hyper spawns holds a receiver of the phase
//! channel, so [`Stop::drain`] knows when the last of them has ended — only then are all the
//! handles of the audit writer dropped, which is what lets it commit what is queued and end,
//! and the last refusal counts and checkpoint be written after it. tonic's own server waits for
//! its connections without a deadline, and a connection that never sent the HTTP/2 preface is
//! never told to close (hyper only marks it), so one idle TCP connection kept a stopped server
//! running until the supervisor killed it and lost those counts.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use tokio::sync::watch;

/// Where the stop is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Accepting and serving.
    Serving,
    /// Not accepting; connections are asked to close once their calls are done.
    Draining,
    /// The grace is over: connections still open are dropped.
    Closing,
}

/// The sending side of the phase, kept by whoever runs the stop.
pub(super) struct Stop {
    /// The phase every task watches.
    phase: watch::Sender<Phase>,
    /// Set with [`Phase::Closing`], read by call tasks when they are woken.
    closing: Arc<AtomicBool>,
}

/// How long [`Stop::wait`] waits for tasks after closing their connections: they end as soon
/// as they are woken, which dropping their connection does.
const AFTER_CLOSE: Duration = Duration::from_secs(5);

impl Stop {
    /// A stop in the serving phase, and the spawner for hyper's call tasks.
    pub(super) fn new() -> (Stop, watch::Receiver<Phase>, Spawner) {
        let (phase, watching) = watch::channel(Phase::Serving);
        let closing = Arc::new(AtomicBool::new(false));
        let spawner = Spawner {
            closing: closing.clone(),
            _alive: watching.clone(),
        };
        (Stop { phase, closing }, watching, spawner)
    }

    /// Drains: no connection is accepted any more and every connection is asked to close
    /// once its calls are done. Returns whether every task ended within `grace`.
    pub(super) async fn drain(&self, grace: Duration) -> bool {
        self.phase.send_replace(Phase::Draining);
        tokio::time::timeout(grace, self.phase.closed())
            .await
            .is_ok()
    }

    /// Closes every connection still open and waits for the tasks to end.
    pub(super) async fn close(self) {
        self.closing.store(true, Ordering::Release);
        self.phase.send_replace(Phase::Closing);
        if tokio::time::timeout(AFTER_CLOSE, self.phase.closed())
            .await
            .is_err()
        {
            tracing::error!(
                tasks = self.phase.receiver_count(),
                "tasks still running after their connections were closed"
            );
        }
    }
}

/// hyper's executor for the tasks of calls: `tokio::spawn`, with the task counted by the stop
/// and ended at its next wake-up once the stop is closing.
#[derive(Clone)]
pub(super) struct Spawner {
    /// [`Stop::closing`].
    closing: Arc<AtomicBool>,
    /// Held for as long as the task runs.
    _alive: watch::Receiver<Phase>,
}

impl<F> hyper::rt::Executor<F> for Spawner
where
    F: Future<Output = ()> + Send + 'static,
{
    fn execute(&self, task: F) {
        tokio::spawn(Closable {
            task: Box::pin(task),
            closing: self.closing.clone(),
            _alive: self._alive.clone(),
        });
    }
}

/// A call task that ends when it is woken after the stop began closing: dropping a connection
/// wakes the tasks of its streams, whatever they were waiting for.
struct Closable<F> {
    /// The call.
    task: Pin<Box<F>>,
    /// [`Stop::closing`].
    closing: Arc<AtomicBool>,
    /// Counts the task for [`Stop::drain`].
    _alive: watch::Receiver<Phase>,
}

impl<F: Future<Output = ()>> Future for Closable<F> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.closing.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        self.task.as_mut().poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stop_with_nothing_running_ends_at_once() {
        let (stop, watching, spawner) = Stop::new();
        drop((watching, spawner));
        let started = std::time::Instant::now();
        assert!(stop.drain(Duration::from_secs(30)).await);
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_task_that_finishes_within_the_grace_is_waited_for() {
        let (stop, watching, spawner) = Stop::new();
        drop(watching);
        let (done_tx, done) = tokio::sync::oneshot::channel();
        hyper::rt::Executor::execute(&spawner, async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let _ = done_tx.send(());
        });
        drop(spawner);
        assert!(stop.drain(Duration::from_secs(30)).await);
        assert!(done.await.is_ok(), "the task ran to its end");
    }

    #[tokio::test]
    async fn a_task_still_running_after_the_grace_is_ended_when_woken() {
        let (stop, watching, spawner) = Stop::new();
        // The task a stuck call would be: it waits on something its connection wakes when it
        // is dropped (here a channel whose sender the "connection" holds).
        let (connection, waits_on) = tokio::sync::oneshot::channel::<()>();
        hyper::rt::Executor::execute(&spawner, async move {
            let _ = waits_on.await;
            std::future::pending::<()>().await;
        });
        drop(spawner);
        let mut watching = watching;
        let connection_task = tokio::spawn(async move {
            let _ = watching.wait_for(|p| *p == Phase::Closing).await;
            drop(connection);
        });
        assert!(!stop.drain(Duration::from_millis(200)).await);
        stop.close().await;
        connection_task.await.unwrap();
    }
}
