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

/// Log frames past which the log is made to start over: 64 MiB with the 16 KiB pages of a
/// file this service created (16 MiB in an older file of 4 KiB pages).
pub(crate) const RESTART_FRAMES: i64 = 4096;

/// How long a `RESTART` may wait for readers to leave the log. It holds the write lock while
/// it waits, so every commit waits with it: a reader pinning an old snapshot (`audit verify`
/// reading the whole store, an export) must cost the writer milliseconds, not the five
/// seconds of the connections' busy timeout.
const RESTART_WAIT_MS: u32 = 50;

/// Ticks without a `RESTART` after one was blocked by a reader: the reader is likely still
/// there, and the log is still durable, only longer.
const RESTART_BACKOFF_TICKS: u32 = 10;

/// Starts the checkpoint task on `pool` (a read pool of the same file). It ends when the pool
/// is closed.
pub(crate) fn spawn(pool: SqlitePool) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut backoff = 0;
        while !pool.is_closed() {
            tick.tick().await;
            if pool.is_closed() {
                break;
            }
            backoff = checkpoint_once(&pool, backoff).await;
        }
    });
}

/// One pass: passive, then a restart when the log has grown past [`RESTART_FRAMES`] and no
/// restart was blocked in the last `backoff` ticks. Returns the ticks still to wait before the
/// next restart. Failures are counted and logged, never fatal.
async fn checkpoint_once(pool: &SqlitePool, backoff: u32) -> u32 {
    let (log_frames, copied) = match run(pool, "PRAGMA wal_checkpoint(PASSIVE)").await {
        Ok((_, log, copied)) => (log, copied),
        Err(e) => {
            failed(&e);
            return backoff.saturating_sub(1);
        }
    };
    metrics::gauge!("audit_wal_frames").set(log_frames as f64);
    // Copied all: the next commit rewinds the log by itself.
    if log_frames < RESTART_FRAMES || copied >= log_frames {
        return 0;
    }
    if backoff > 0 {
        return backoff - 1;
    }
    metrics::counter!("audit_wal_restarts_total").increment(1);
    match restart(pool).await {
        Ok(false) => 0,
        Ok(true) => {
            metrics::counter!("audit_wal_restarts_blocked_total").increment(1);
            RESTART_BACKOFF_TICKS
        }
        Err(e) => {
            failed(&e);
            RESTART_BACKOFF_TICKS
        }
    }
}

/// A `RESTART` checkpoint that waits at most [`RESTART_WAIT_MS`] for readers; `true` when a
/// reader kept it from finishing.
async fn restart(pool: &SqlitePool) -> Result<bool, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    sqlx::query(&format!("PRAGMA busy_timeout = {RESTART_WAIT_MS}"))
        .execute(&mut *conn)
        .await?;
    let result: Result<(i64, i64, i64), _> = sqlx::query_as("PRAGMA wal_checkpoint(RESTART)")
        .fetch_one(&mut *conn)
        .await;
    let reset = format!("PRAGMA busy_timeout = {}", super::BUSY_TIMEOUT.as_millis());
    if sqlx::query(&reset).execute(&mut *conn).await.is_err() {
        // A pool connection must not keep the short timeout: drop it instead.
        conn.close_on_drop();
    }
    Ok(result?.0 != 0)
}

/// Runs one `wal_checkpoint` pragma; returns (busy, frames in the log, frames copied back).
async fn run(pool: &SqlitePool, pragma: &str) -> Result<(i64, i64, i64), sqlx::Error> {
    sqlx::query_as(pragma).fetch_one(pool).await
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
    use std::{sync::Arc, time::Duration};

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

    /// A reader pinning an old snapshot keeps a `RESTART` from finishing; it must give up
    /// within its short wait (it holds the write lock meanwhile), report itself blocked, and
    /// leave the pool connection's normal busy timeout in place.
    #[tokio::test]
    async fn a_restart_blocked_by_a_reader_gives_up_quickly_and_says_so() {
        let dir = std::env::temp_dir().join(format!("vi-rs-{}", uuid::Uuid::now_v7().simple()));
        let file = dir.join("audit.sqlite");
        let backend = SqliteBackend::connect(&format!("sqlite://{}", file.display()))
            .await
            .expect("open");
        let mut chain = ChainState::new();
        backend
            .append_batch(&mut chain, &events(0, 50))
            .await
            .expect("append");
        let reader = rusqlite::Connection::open(&file).expect("reader");
        reader.execute_batch("BEGIN").expect("begin");
        let _: i64 = reader
            .query_row("SELECT COUNT(*) FROM audit_events", [], |r| r.get(0))
            .expect("read");
        backend
            .append_batch(&mut chain, &events(1, 50))
            .await
            .expect("append beside the reader");

        let started = std::time::Instant::now();
        let blocked = super::restart(backend.read_pool()).await.expect("restart");
        let waited = started.elapsed();
        assert!(blocked, "the reader's snapshot must block the restart");
        assert!(waited < Duration::from_secs(2), "waited {waited:?}");
        let timeout: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
            .fetch_one(backend.read_pool())
            .await
            .expect("busy_timeout");
        assert_eq!(timeout, 5000);

        drop(reader);
        backend.close().await;
        let _ = std::fs::remove_dir_all(&dir);
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
