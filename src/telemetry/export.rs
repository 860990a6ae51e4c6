//! The way finished spans leave the process: a bounded queue that never makes a call wait, and
//! one thread of its own that exports what is queued in batches.
//!
//! A span ends on the thread of the call that made it; [`QueueProcessor::on_end`] puts it in the
//! queue with `try_send` and returns at once. When the queue is full (the collector is slow,
//! dead or unreachable and exports are timing out) the span is dropped and counted in
//! `verify_trace_spans_dropped_total{reason="queue_full"}`; a batch the exporter refused or
//! that timed out is counted as `reason="export_failed"`. A call never waits for the
//! collector and never fails because of it.
//!
//! Rejected: the SDK's `BatchSpanProcessor`, which does the same but drops silently (a log
//! line at shutdown, no count a dashboard can show). The exporting thread runs its own
//! single-threaded runtime, so that a stuck export cannot take a worker from the service's
//! runtime, and so that the processor outlives any one runtime (tests start several).

use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use opentelemetry::Context;
use opentelemetry_sdk::{
    error::{OTelSdkError, OTelSdkResult},
    trace::{Span, SpanData, SpanExporter, SpanProcessor},
};
use tokio::sync::mpsc;

/// Spans held for export at most; beyond it they are dropped (and counted).
pub const QUEUE_CAPACITY: usize = 4096;
/// The most spans in one export.
const MAX_BATCH: usize = 512;
/// How long a span waits for company before a partial batch is exported.
const BATCH_DELAY: Duration = Duration::from_secs(1);
/// The longest one export may take before its spans are counted as dropped.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Spans exported and dropped since the processor started (also in the metrics).
#[derive(Debug, Default)]
pub struct ExportCounts {
    /// Spans the exporter accepted.
    pub exported: AtomicU64,
    /// Spans dropped because the queue was full.
    pub dropped_queue_full: AtomicU64,
    /// Spans in a batch the exporter refused, or that did not finish in time.
    pub dropped_export_failed: AtomicU64,
}

impl ExportCounts {
    /// Spans dropped for either reason.
    pub fn dropped(&self) -> u64 {
        self.dropped_queue_full.load(Ordering::Relaxed)
            + self.dropped_export_failed.load(Ordering::Relaxed)
    }

    fn drop_spans(&self, reason: &'static str, n: usize) {
        let counter = match reason {
            "queue_full" => &self.dropped_queue_full,
            _ => &self.dropped_export_failed,
        };
        counter.fetch_add(n as u64, Ordering::Relaxed);
        metrics::counter!("verify_trace_spans_dropped_total", "reason" => reason)
            .increment(n as u64);
    }
}

/// What the exporting thread is asked besides exporting.
enum Control {
    /// Export everything queued, then answer.
    Flush(std::sync::mpsc::Sender<()>),
    /// Export everything queued, shut the exporter down, answer and end.
    Shutdown(std::sync::mpsc::Sender<()>),
}

/// A span processor that queues finished spans for a thread of its own (see the module).
pub(super) struct QueueProcessor {
    /// The bounded queue of finished spans.
    spans: mpsc::Sender<SpanData>,
    /// Flush and shutdown requests.
    control: mpsc::UnboundedSender<Control>,
    /// Shared with whoever wants to read them.
    counts: Arc<ExportCounts>,
}

impl fmt::Debug for QueueProcessor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueueProcessor")
            .field("counts", &self.counts)
            .finish_non_exhaustive()
    }
}

impl QueueProcessor {
    /// Starts the exporting thread with the exporter `make` builds there (inside that thread's
    /// runtime, as a gRPC exporter's channel needs), and `capacity` spans of queue.
    pub(super) fn start<E, F>(make: F, capacity: usize) -> Result<Self, String>
    where
        E: SpanExporter + 'static,
        F: FnOnce() -> Result<E, String> + Send + 'static,
    {
        let (spans, spans_rx) = mpsc::channel(capacity.max(1));
        let (control, control_rx) = mpsc::unbounded_channel();
        let counts = Arc::new(ExportCounts::default());
        let (started, started_rx) = std::sync::mpsc::channel();
        let thread_counts = counts.clone();
        std::thread::Builder::new()
            .name("trace-export".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = started.send(Err(e.to_string()));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let exporter = match make() {
                        Ok(e) => {
                            let _ = started.send(Ok(()));
                            e
                        }
                        Err(e) => {
                            let _ = started.send(Err(e));
                            return;
                        }
                    };
                    run(exporter, spans_rx, control_rx, &thread_counts).await;
                });
            })
            .map_err(|e| format!("cannot start the trace export thread: {e}"))?;
        started_rx
            .recv()
            .map_err(|_| "the trace export thread ended at start".to_owned())??;
        Ok(QueueProcessor {
            spans,
            control,
            counts,
        })
    }

    /// The counts of exported and dropped spans.
    pub(super) fn counts(&self) -> Arc<ExportCounts> {
        self.counts.clone()
    }

    fn ask(
        &self,
        make: fn(std::sync::mpsc::Sender<()>) -> Control,
        timeout: Duration,
    ) -> OTelSdkResult {
        let (done, answer) = std::sync::mpsc::channel();
        self.control
            .send(make(done))
            .map_err(|_| OTelSdkError::AlreadyShutdown)?;
        answer
            .recv_timeout(timeout)
            .map_err(|_| OTelSdkError::Timeout(timeout))
    }
}

impl SpanProcessor for QueueProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        match self.spans.try_send(span) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => self.counts.drop_spans("queue_full", 1),
            Err(mpsc::error::TrySendError::Closed(_)) => self.counts.drop_spans("stopped", 1),
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.ask(Control::Flush, EXPORT_TIMEOUT * 2)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.ask(Control::Shutdown, timeout)
    }
}

/// The exporting thread: batches of up to [`MAX_BATCH`] spans, a partial batch after
/// [`BATCH_DELAY`], everything queued on a flush.
async fn run<E: SpanExporter>(
    exporter: E,
    mut spans: mpsc::Receiver<SpanData>,
    mut control: mpsc::UnboundedReceiver<Control>,
    counts: &ExportCounts,
) {
    let mut batch: Vec<SpanData> = Vec::with_capacity(MAX_BATCH);
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        if batch.len() >= MAX_BATCH {
            export(&exporter, &mut batch, counts).await;
            deadline = None;
        }
        let room = MAX_BATCH - batch.len();
        tokio::select! {
            biased;
            asked = control.recv() => {
                let (answer, last) = match asked {
                    Some(Control::Flush(answer)) => (Some(answer), false),
                    Some(Control::Shutdown(answer)) => (Some(answer), true),
                    None => (None, true),
                };
                while let Ok(span) = spans.try_recv() {
                    batch.push(span);
                    if batch.len() >= MAX_BATCH {
                        export(&exporter, &mut batch, counts).await;
                    }
                }
                export(&exporter, &mut batch, counts).await;
                deadline = None;
                if last {
                    let _ = exporter.shutdown_with_timeout(Duration::from_secs(1));
                }
                if let Some(answer) = answer {
                    let _ = answer.send(());
                }
                if last {
                    return;
                }
            }
            received = spans.recv_many(&mut batch, room) => {
                if received == 0 {
                    export(&exporter, &mut batch, counts).await;
                    return;
                }
                deadline.get_or_insert_with(|| tokio::time::Instant::now() + BATCH_DELAY);
            }
            () = sleep_until(deadline) => {
                export(&exporter, &mut batch, counts).await;
                deadline = None;
            }
        }
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Exports `batch` (emptied), counting its spans as exported or dropped.
async fn export<E: SpanExporter>(exporter: &E, batch: &mut Vec<SpanData>, counts: &ExportCounts) {
    if batch.is_empty() {
        return;
    }
    let n = batch.len();
    let spans = std::mem::replace(batch, Vec::with_capacity(MAX_BATCH));
    match tokio::time::timeout(EXPORT_TIMEOUT, exporter.export(spans)).await {
        Ok(Ok(())) => {
            counts.exported.fetch_add(n as u64, Ordering::Relaxed);
            metrics::counter!("verify_trace_spans_exported_total").increment(n as u64);
        }
        Ok(Err(_)) | Err(_) => counts.drop_spans("export_failed", n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{
        SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
    };
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};

    /// An exporter whose collector never answers: every export waits forever.
    #[derive(Debug)]
    struct Unanswered;

    impl SpanExporter for Unanswered {
        async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
            std::future::pending().await
        }
    }

    fn span(i: u64) -> SpanData {
        SpanData {
            span_context: SpanContext::new(
                TraceId::from(u128::from(i) + 1),
                SpanId::from(i + 1),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: "test".into(),
            start_time: std::time::SystemTime::now(),
            end_time: std::time::SystemTime::now(),
            attributes: Vec::new(),
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::Unset,
            instrumentation_scope: Default::default(),
        }
    }

    #[test]
    fn a_collector_that_never_answers_makes_spans_dropped_and_counted_never_a_wait() {
        let processor = QueueProcessor::start(|| Ok(Unanswered), 100).unwrap();
        // on_end returns at once for every span: what the queue cannot hold is dropped.
        for i in 0..10_000 {
            processor.on_end(span(i));
        }
        let counts = processor.counts();
        let dropped = counts.dropped_queue_full.load(Ordering::Relaxed);
        // The queue holds 100, and the exporting thread has taken at most one batch out of it.
        assert!(
            dropped >= 10_000 - 100 - MAX_BATCH as u64,
            "dropped {dropped}"
        );
        assert_eq!(counts.exported.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_flush_exports_everything_queued() {
        let exporter = opentelemetry_sdk::trace::InMemorySpanExporter::default();
        let reader = exporter.clone();
        let processor = QueueProcessor::start(move || Ok(exporter), 100).unwrap();
        for i in 0..50 {
            processor.on_end(span(i));
        }
        processor.force_flush().unwrap();
        assert_eq!(reader.get_finished_spans().unwrap().len(), 50);
        assert_eq!(processor.counts().exported.load(Ordering::Relaxed), 50);
        assert_eq!(processor.counts().dropped(), 0);
        processor.shutdown().unwrap();
    }
}
