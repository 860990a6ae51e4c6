//! The audit store alone: durable appends per second of realistic decision events, against a
//! plain multi-row SQLite insert of rows of the same size in the same run (BENCHMARKS.md).
//!
//! ```sh
//! taskset -c 0 cargo run --release --example audit_append -- --dir /tmp/append --events 200000
//! ```
//!
//! Both sides write to a fresh file in `--dir` in WAL mode with `synchronous = FULL`, one
//! transaction per batch of 64 (the size group commit forms under load), so both pay the same
//! number of fsyncs. The store's side is the real thing: `append_valid_batch` with the hash
//! chain, the canonical event encoding, the idempotency and registration index rows and the
//! triggers. The
//! plain side inserts one row per event into a table with an integer key and one blob of the
//! store's measured bytes per event (file growth ÷ events), in one multi-row `INSERT` per batch:
//! the least any durable log of that size can cost. The ratio is store ÷ plain. Events are built
//! before the clock starts: only writing is measured.

use std::{path::PathBuf, time::Instant};

use sqlx::{
    Connection as _,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous},
};
use verify_identity::{
    audit::{self, ChainState, FingerprintKey},
    domain::policy::Policy,
};

#[path = "support/events.rs"]
mod events;

const BATCH: usize = 64;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut dir = PathBuf::from("var/append");
    let mut count: usize = 100_000;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--dir" => dir = args.next().expect("--dir DIR").into(),
            "--events" => count = args.next().expect("--events N").parse()?,
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    std::fs::create_dir_all(&dir)?;
    let store_path = dir.join("store.sqlite");
    let plain_path = dir.join("plain.sqlite");
    for path in [&store_path, &plain_path] {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }

    let requests = events::example_requests()?;
    let policy = Policy::default();
    let key = FingerprintKey::from_secret(vec![0x5a; 32]);
    let all = (0..count)
        .map(|n| events::nth_event(n, &requests, &policy, &key))
        .collect::<anyhow::Result<Vec<_>>>()?;

    // The store.
    let url = format!("sqlite:{}", store_path.display());
    let store = audit::connect(&url).await?;
    let mut chain = ChainState::new();
    // Validated and split into owned batches beforehand, as the group-commit writer hands
    // them to the store: the timing is the store's alone.
    all.iter().try_for_each(audit::validate)?;
    let batches: Vec<Vec<_>> = all.chunks(BATCH).map(<[_]>::to_vec).collect();
    let started = Instant::now();
    for batch in batches {
        store.append_valid_batch(&mut chain, batch).await.1?;
    }
    let store_secs = started.elapsed().as_secs_f64();
    store.close().await;
    let bytes = std::fs::metadata(&store_path)?.len() as usize / count.max(1);

    // The plain insert of rows of the same size.
    let options = SqliteConnectOptions::new()
        .filename(&plain_path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full);
    let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
    sqlx::query("CREATE TABLE plain (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
        .execute(&mut conn)
        .await?;
    let row = vec![0xA5u8; bytes.saturating_sub(8).max(1)];
    let insert = format!(
        "INSERT INTO plain (body) VALUES {}",
        vec!["(?)"; BATCH].join(", ")
    );
    let batches = count.div_ceil(BATCH);
    let started = Instant::now();
    for _ in 0..batches {
        let mut tx = conn.begin().await?;
        let mut query = sqlx::query(&insert);
        for _ in 0..BATCH {
            query = query.bind(&row);
        }
        query.execute(&mut *tx).await?;
        tx.commit().await?;
    }
    let plain_secs = started.elapsed().as_secs_f64();
    conn.close().await?;

    let store_rate = count as f64 / store_secs;
    let plain_rate = (batches * BATCH) as f64 / plain_secs;
    println!(
        "{count} events in batches of {BATCH}, {bytes} bytes per event on disk\n  \
         audit store   {store_rate:>9.0} appends/s ({store_secs:.2} s)\n  \
         plain insert  {plain_rate:>9.0} rows/s ({plain_secs:.2} s)\n  \
         ratio         {:.2}",
        store_rate / plain_rate
    );
    Ok(())
}
