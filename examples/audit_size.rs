//! How many bytes a decision event costs on disk: appends realistic decision events through
//! the real audit store and reports the database's growth per event (BENCHMARKS.md).
//!
//! ```sh
//! cargo run --release --example audit_size -- --database sqlite:/tmp/size/audit.sqlite --events 1000000
//! cargo run --release --example audit_size -- --events 1000000 \
//!     --database "postgres://postgres@127.0.0.1:5432/test?options=-c%20search_path%3Dsize"
//! ```
//!
//! `--without-candidate-fingerprints` writes the holds as builds before them did, without
//! their candidates' fingerprints (`Decided.candidate_numbers`): the same binary measures both.
//!
//! The events are what the service writes for the three example requests (`examples/*.json`,
//! decided by the real gate; 70% register, 25% hold, 5% return, as the load generator mixes
//! them), each under its own request id, subject id, verification id (UUID v7) and time, with
//! real HMAC fingerprints. They are appended in batches of 64, as group commit forms them under
//! load. SQLite: the growth of the database file (after the writer's WAL is checkpointed on
//! close), which counts every table, index and idempotency row. PostgreSQL:
//! `pg_total_relation_size` of the audit tables (heap, indexes and TOAST).

use std::time::Instant;

use verify_identity::{
    audit::{self, ChainState, FingerprintKey},
    domain::policy::Policy,
};

#[path = "support/events.rs"]
mod events;

const BATCH: usize = 64;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut database = String::from("sqlite:var/size/audit.sqlite");
    let mut events: usize = 100_000;
    let mut key_file = None;
    let mut without_candidates = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--database" => database = args.next().expect("--database URL"),
            "--events" => events = args.next().expect("--events N").parse()?,
            // The fingerprints under the key in this file (created if absent), so that a
            // process can be started on the store afterwards (examples/key_check.rs).
            "--key-file" => {
                key_file = Some(std::path::PathBuf::from(
                    args.next().expect("--key-file FILE"),
                ))
            }
            // The events as the build before stored them: holds without their candidates'
            // fingerprints, to measure what keeping them costs on one binary.
            "--without-candidate-fingerprints" => without_candidates = true,
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    let requests = events::example_requests()?;
    let policy = Policy::default();
    let key = match &key_file {
        Some(file) => FingerprintKey::load_or_create(file)?.0,
        None => FingerprintKey::from_secret(vec![0x5a; 32]),
    };
    let store = audit::connect(&database).await?;
    let before = size(&database, &*store).await?;
    let mut chain = ChainState::new();
    let started = Instant::now();
    let mut batch = Vec::with_capacity(BATCH);
    for n in 0..events {
        let mut event = events::nth_event(n, &requests, &policy, &key)?;
        if let (true, audit::NewEvent::Decided(d)) = (without_candidates, &mut event) {
            d.candidate_fingerprints.clear();
        }
        batch.push(event);
        if batch.len() == BATCH || n + 1 == events {
            store.append_batch(&mut chain, &batch).await?;
            batch.clear();
        }
        if n > 0 && n % 100_000 == 0 {
            eprintln!("{n} events, {:.0} s", started.elapsed().as_secs_f64());
        }
    }
    let elapsed = started.elapsed();
    let after = size(&database, &*store).await?;
    store.close().await;
    println!(
        "{events} decision events in {:.1} s: {} → {} bytes, {:.0} bytes per event",
        elapsed.as_secs_f64(),
        before,
        after,
        (after - before) as f64 / events as f64
    );
    Ok(())
}

/// The bytes the audit log takes: the SQLite file, or the PostgreSQL audit tables.
async fn size(database: &str, store: &dyn audit::AuditBackend) -> anyhow::Result<i64> {
    if let Some(path) = database.strip_prefix("sqlite:") {
        let path = path.trim_start_matches("//");
        let path = path.split('?').next().unwrap_or(path);
        // Everything into the main file first, so that its size is the whole database.
        let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(database).await?;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut conn)
            .await?;
        let _ = store;
        return Ok(std::fs::metadata(path).map_or(0, |m| m.len()) as i64);
    }
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(database).await?;
    let total: i64 = sqlx::query_scalar(
        "SELECT (pg_total_relation_size('audit_events') + pg_total_relation_size('verification_requests') \
         + pg_total_relation_size('registrations') + pg_total_relation_size('hold_resolutions'))::bigint",
    )
    .fetch_one(&mut conn)
    .await?;
    Ok(total)
}
