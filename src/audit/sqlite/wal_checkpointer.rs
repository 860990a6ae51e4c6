//! WAL checkpoints off the commit path (SQLite).
//!
//! SQLite's default copies the write-ahead log back into the database file from inside a
//! commit: the connection whose commit makes the log pass 1,000 pages runs the checkpoint
//! before that commit returns, so every caller of that batch waits for 16 MiB of copying and an
//! fsync of the database file. Under load that happened about three times a second and was the
//! long, unstable tail of the latency (BENCHMARKS.md).
//!
//! Here the writer connection never checkpoints (`wal_autocheckpoint = 0`). A task of its own
//! runs a `PASSIVE` checkpoint on a read connection every [`INTERVAL`]: it copies what is
//! committed without taking the write lock, so commits go on meanwhile. Durability is
//! unchanged: a commit is durable once its frames are synced in the log, checkpointed or not.
//!
//! A passive checkpoint never makes the log start over by itself: SQLite rewinds it only at the
//! start of a write after a checkpoint has copied everything. A writer that never pauses could
//! therefore grow the log without bound, so past [`RESTART_FRAMES`] the task asks for a
//! `RESTART` checkpoint, which waits for the current commit and makes the next one rewind —
//! the one place the writer may wait, and only after sustained saturation.

use std::time::Duration;

use sqlx::SqlitePool;

/// How often the log is copied back. Each pass fsyncs the log and the database file beside
/// the commits' own syncs, so not too often (100 ms was tried: no better, BENCHMARKS.md); a
/// second keeps the log to tens of MiB at saturation, and the restart below bounds it.
pub(crate) const INTERVAL: Duration = Duration::from_secs(1);

/// Log frames (16 KiB pages) past which the log is made to start over: 64 MiB.
pub(crate) const RESTART_FRAMES: i64 = 4096;

/// Starts the checkpoint task on `pool` (a read pool of the same file). It ends when the pool
/// is closed.
pub(crate) fn spawn(pool: SqlitePool) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !pool.is_closed() {
            tick.tick().await;
            if pool.is_closed() {
                break;
            }
            checkpoint_once(&pool).await;
        }
    });
}

/// One pass: passive, then a restart when the log has grown past [`RESTART_FRAMES`]. Failures
/// are counted and logged, never fatal: the log is still durable, only longer.
async fn checkpoint_once(pool: &SqlitePool) {
    match run(pool, "PRAGMA wal_checkpoint(PASSIVE)").await {
        Ok((log_frames, copied)) => {
            metrics::gauge!("audit_wal_frames").set(log_frames as f64);
            // Copied all: the next commit rewinds the log by itself.
            if log_frames >= RESTART_FRAMES && copied < log_frames {
                metrics::counter!("audit_wal_restarts_total").increment(1);
                if let Err(e) = run(pool, "PRAGMA wal_checkpoint(RESTART)").await {
                    failed(&e);
                }
            }
        }
        Err(e) => failed(&e),
    }
}

/// Runs one `wal_checkpoint` pragma; returns (frames in the log, frames copied back).
async fn run(pool: &SqlitePool, pragma: &str) -> Result<(i64, i64), sqlx::Error> {
    let (_busy, log, copied): (i64, i64, i64) = sqlx::query_as(pragma).fetch_one(pool).await?;
    Ok((log, copied))
}

fn failed(e: &sqlx::Error) {
    // A closed pool at shutdown is not a failure worth a warning.
    if matches!(e, sqlx::Error::PoolClosed) {
        return;
    }
    metrics::counter!("audit_wal_checkpoint_failures_total").increment(1);
    tracing::warn!(error = %crate::audit::rows::describe(e), "WAL checkpoint failed");
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::audit::{
        AuditBackend, ChainState, NewEvent, sqlite::SqliteBackend, tests_support::decided,
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

    /// The database file grows only when a checkpoint copies the log into it. The writer's own
    /// checkpoints are off (`blocking::tests`), so the file growing within a few intervals of
    /// the commits shows the task did it.
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
