//! What the fingerprint key check costs a writing process at start, on a large store
//! (BENCHMARKS.md, "The fingerprint key check at start").
//!
//! ```sh
//! cargo run --release --example audit_size -- --database sqlite:/tmp/keys/audit.sqlite \
//!     --events 1000000 --key-file /tmp/keys/audit-hmac.key
//! cargo run --release --example key_check -- --database sqlite:/tmp/keys/audit.sqlite \
//!     --key-file /tmp/keys/audit-hmac.key --opens 20
//! ```
//!
//! A store written by `audit_size` has events but no adopted keys, as a store written before
//! the `fingerprint_keys` table: the first open reads the key ids of every event once and
//! adopts them (the upgrade), every later open reads the table alone (every start after that).
//! Each open is the whole check `serve` and `bulk --database` run: load the key file, read what
//! the store holds, decide. Times are wall clock of `key_adoption::open` only (the store is
//! connected and migrated before the clock starts).

use std::{path::PathBuf, time::Instant};

use verify_identity::audit::{self, key_adoption};

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut database = String::from("sqlite:var/keys/audit.sqlite");
    let mut key_file = PathBuf::from("var/keys/audit-hmac.key");
    let mut opens: usize = 10;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--database" => database = args.next().expect("--database URL"),
            "--key-file" => key_file = args.next().expect("--key-file FILE").into(),
            "--opens" => opens = args.next().expect("--opens N").parse()?,
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    let store = audit::connect(&database).await?;
    let settings = key_adoption::KeySettings::default();
    let mut times = Vec::new();
    for i in 0..=opens {
        let started = Instant::now();
        let opened = key_adoption::open(store.as_ref(), &key_file, &settings).await?;
        let ms = started.elapsed().as_secs_f64() * 1e3;
        if i == 0 {
            println!(
                "first open: {ms:.1} ms (adopted {:?}; current {})",
                opened.adopted,
                opened.ring.current().id
            );
        } else {
            times.push(ms);
        }
    }
    times.sort_by(f64::total_cmp);
    if let (Some(min), Some(max)) = (times.first(), times.last()) {
        println!(
            "later opens: {} runs, min {min:.2} ms, median {:.2} ms, max {max:.2} ms",
            times.len(),
            times[times.len() / 2]
        );
    }
    store.close().await;
    Ok(())
}
