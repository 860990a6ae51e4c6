//! WAL checkpoints off the commit path (SQLite).
//!
//! SQLite's default copies the write-ahead log back into the database file from inside a
//! commit: the connection whose commit makes the log pass 1,000 pages runs the checkpoint
//! before that commit returns, so every caller of that batch waits for 16 MiB of copying and an
//! fsync of the database file. Under load that happened about three times a second and was the
//! long, unstable tail of the latency (BENCHMARKS.md).
//!
//! Here the writer connection never checkpoints by itself (`wal_autocheckpoint = 0`). A task
//! of its own runs a `PASSIVE` checkpoint on a read connection every [`INTERVAL`]: it copies
//! what is committed without taking the write lock, so commits go on meanwhile. Durability is
//! unchanged: a commit is durable once its frames are synced in the log, checkpointed or not.
//!
//! A checkpoint never makes the log start over by itself: SQLite rewinds it only at the start
//! of a write that finds every frame copied and no reader in the log. Under commits that never
//! pause, a checkpoint beside them always leaves the frames committed while it ran, so that
//! never happens and the log grows by every commit's pages (1.4 GB in 12 s at 5,000 calls/s
//! on this service's first checkpointer, BENCHMARKS.md). So after each pass that left a log,
//! the task asks the writer thread ([`FinishRequest`]) to copy the rest itself between two
//! batches ([`finish_on_writer`]): with no commit beside it, that copy is complete, and the
//! next commit starts the log over. It is small (a second's worth of distinct pages, most of
//! them copied by the task already) and costs the writer one checkpoint a second at most;
//! a reader holding an old snapshot delays it to a later pass instead of making anyone wait.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use sqlx::SqlitePool;

/// How often the log is copied back. Each pass fsyncs the log and the database file beside
/// the commits' own syncs, so not too often (100 ms was tried: no better, BENCHMARKS.md); a
/// second keeps the log to a second's worth of commits.
pub(crate) const INTERVAL: Duration = Duration::from_secs(1);

/// The checkpoint task's request to the writer thread to finish a copy; asked any number of
/// times, it is done once.
#[derive(Debug, Clone, Default)]
pub(crate) struct FinishRequest(Arc<AtomicBool>);

impl FinishRequest {
    fn ask(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether a finish was asked for since the last call. Called after every batch, so the
    /// common answer (no) is a plain load, without a locked swap.
    pub(crate) fn take(&self) -> bool {
        self.0.load(Ordering::Relaxed) && self.0.swap(false, Ordering::AcqRel)
    }
}

/// Starts the checkpoint task on `pool` (a read pool of the same file), asking `writer` to
/// finish after each pass that left a log. It ends when the pool is closed.
pub(crate) fn spawn(pool: SqlitePool, writer: FinishRequest) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !pool.is_closed() {
            tick.tick().await;
            if pool.is_closed() {
                break;
            }
            checkpoint_once(&pool, &writer).await;
        }
    });
}

/// One pass: a passive checkpoint, then the writer asked to finish when a log is left. An
/// empty log (nothing committed since it started over) needs nothing more. Failures are
/// counted and logged, never fatal.
async fn checkpoint_once(pool: &SqlitePool, writer: &FinishRequest) {
    let result: Result<(i64, i64, i64), _> = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(pool)
        .await;
    match result {
        Ok((_, log_frames, _)) => {
            metrics::gauge!("audit_wal_frames").set(log_frames as f64);
            if log_frames > 0 {
                writer.ask();
            }
        }
        Err(e) => failed(&e),
    }
}

/// The end of a copy, run by the writer thread on its own connection between two batches
/// when asked: no commit can land while it runs, so it copies every frame (unless a reader
/// still needs one) and the writer's next commit starts the log over. A failure leaves the log
/// as it was, longer but as durable; the caller reports it ([`failed`]) and the next pass asks
/// again.
pub(crate) fn finish_on_writer(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    let (log_frames, copied) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        Ok((row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
    })?;
    metrics::counter!("audit_wal_finishes_total").increment(1);
    if copied < log_frames {
        // A reader's snapshot still needs frames: the log cannot start over yet.
        metrics::counter!("audit_wal_finishes_short_total").increment(1);
    }
    Ok(())
}

/// Counts and logs a failed checkpoint; never fatal.
pub(crate) fn failed(e: &sqlx::Error) {
    // A closed pool at shutdown is not a failure worth a warning.
    if matches!(e, sqlx::Error::PoolClosed) {
        return;
    }
    count_failure(&crate::audit::store::rows::describe(e));
}

/// Counts and logs a failed checkpoint, by its content-free description (the writer's copy
/// describes its own error).
pub(crate) fn count_failure(description: &str) {
    metrics::counter!("audit_wal_checkpoint_failures_total").increment(1);
    tracing::warn!(error = %description, "WAL checkpoint failed");
}

#[cfg(test)]
mod tests {
    use std::{sync::Arc, time::Duration};

    use crate::audit::{
        AuditBackend, ChainState, NewEvent, store::sqlite::SqliteBackend, tests_support::decided,
    };

    fn events(batch: usize, n: usize) -> Vec<NewEvent> {
        (0..n)
            .map(|i| {
                let mut d = decided();
                d.request_id = format!("request-{batch}-{i}");
                d.verification_id = format!("verification-{batch}-{i}");
                NewEvent::Decided(d)
            })
            .collect()
    }

    /// The WAL header's checkpoint sequence number (bytes 12..16, big-endian): SQLite adds
    /// one each time the log starts over from its beginning.
    fn log_generation(file: &std::path::Path) -> Option<u32> {
        use std::io::Read;
        let mut wal = file.as_os_str().to_owned();
        wal.push("-wal");
        let mut header = [0u8; 16];
        std::fs::File::open(wal)
            .ok()?
            .read_exact(&mut header)
            .ok()?;
        Some(u32::from_be_bytes(header[12..16].try_into().ok()?))
    }

    /// Under commits that never pause, a checkpoint beside them always leaves frames it did
    /// not copy (those committed while it ran), so the log would never start over by itself
    /// and would grow by every commit's pages (1.4 GB in 12 s at 5,000 calls/s,
    /// BENCHMARKS.md). Two appenders keep the writer thread busy without a gap; the log must
    /// still start over within a few intervals.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_log_starts_over_while_commits_never_pause() {
        let dir = std::env::temp_dir().join(format!("vi-wal-{}", uuid::Uuid::now_v7().simple()));
        let file = dir.join("audit.sqlite");
        let backend = Arc::new(
            SqliteBackend::connect(&format!("sqlite://{}", file.display()))
                .await
                .expect("open"),
        );
        backend
            .append_batch(&mut ChainState::new(), &events(0, 20))
            .await
            .expect("append");
        let first = log_generation(&file).expect("a log after the first commit");
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let appenders: Vec<_> = (0..2)
            .map(|task| {
                let (backend, stop) = (Arc::clone(&backend), Arc::clone(&stop));
                tokio::spawn(async move {
                    let mut chain = ChainState::new();
                    let mut batch = 1 + task;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        backend
                            .append_batch(&mut chain, &events(batch, 20))
                            .await
                            .expect("append");
                        batch += 2;
                    }
                    batch / 2
                })
            })
            .collect();
        let deadline = std::time::Instant::now() + 10 * super::INTERVAL;
        let mut started_over = false;
        while std::time::Instant::now() < deadline {
            if log_generation(&file).is_some_and(|g| g != first) {
                started_over = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut batches = 0;
        for appender in appenders {
            batches += appender.await.expect("appender");
        }
        backend.close().await;
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            started_over,
            "the log never started over in {batches} batches without a pause"
        );
    }

    /// The database file grows only when a checkpoint copies the log into it. The writer never
    /// checkpoints inside a commit (`blocking::tests`), and outside one only when the task asks
    /// it to finish a copy, so the file growing within a few intervals of the commits shows the
    /// task at work.
    #[tokio::test]
    async fn commits_reach_the_database_file_without_a_checkpoint_inside_a_commit() {
        let dir = std::env::temp_dir().join(format!("vi-wal-{}", uuid::Uuid::now_v7().simple()));
        let file = dir.join("audit.sqlite");
        let backend = Arc::new(
            SqliteBackend::connect(&format!("sqlite://{}", file.display()))
                .await
                .expect("open"),
        );
        let before = std::fs::metadata(&file).expect("db file").len();
        let mut chain = ChainState::new();
        for batch in 0..20 {
            backend
                .append_batch(&mut chain, &events(batch, 100))
                .await
                .expect("append");
        }
        let mut grown = false;
        for _ in 0..50 {
            tokio::time::sleep(super::INTERVAL).await;
            if std::fs::metadata(&file).expect("db file").len() > before {
                grown = true;
                break;
            }
        }
        backend.close().await;
        let _ = std::fs::remove_dir_all(&dir);
        assert!(grown, "no checkpoint copied the log into the database file");
    }
}
