//! A log to measure HoldStats on (BENCHMARKS.md): realistic decision events, as
//! `audit_size` writes them (14 of 20 register, 5 hold, 1 return, one insurer), and a
//! resolution for each hold until `--resolutions` are written: half re-queried (replaced by the
//! latest register decision), a fifth with a number from the person, the rest withdrawn, with a
//! cause on two of three. Each resolution is appended 100 decisions after its hold.
//!
//! ```sh
//! cargo build --release --bin verify-identity --example hold_stats_log
//! target/release/examples/hold_stats_log --database sqlite:/tmp/stats/audit.sqlite \
//!     --key-file /tmp/stats/audit-hmac.key --events 1000000 --resolutions 100000
//! target/release/verify-identity serve --database sqlite:/tmp/stats/audit.sqlite \
//!     --hmac-key-file /tmp/stats/audit-hmac.key --listen 127.0.0.1:50077 &
//! time target/release/verify-identity holds --server http://127.0.0.1:50077 stats \
//!     --insurer 32130011 --from 2000-01-01 --json > /dev/null
//! ```

use std::{collections::VecDeque, time::Duration};

use verify_identity::{
    audit::{self, ChainState, FingerprintKey, HoldResolved, NewEvent},
    domain::{
        gate::{DecisionKind, Resolution},
        hold_cause::HoldCause,
        policy::Policy,
    },
};

#[path = "support/events.rs"]
mod events;

const BATCH: usize = 64;
/// Decisions between a hold and its resolution.
const LAG: usize = 100;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut database = String::from("sqlite:var/stats/audit.sqlite");
    let mut events: usize = 1_000_000;
    let mut resolutions: usize = 100_000;
    let mut key_file = std::path::PathBuf::from("var/stats/audit-hmac.key");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--database" => database = args.next().expect("--database URL"),
            "--events" => events = args.next().expect("--events N").parse()?,
            "--resolutions" => resolutions = args.next().expect("--resolutions N").parse()?,
            "--key-file" => key_file = args.next().expect("--key-file FILE").into(),
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    let requests = events::example_requests()?;
    let policy = Policy::default();
    let key = FingerprintKey::load_or_create(&key_file)?.0;
    let store = audit::connect(&database).await?;
    let mut chain = ChainState::new();
    let mut batch = Vec::with_capacity(BATCH);
    let mut pending: VecDeque<(usize, audit::Decided)> = VecDeque::new();
    let mut latest_register = String::new();
    let (mut written, mut resolved) = (0usize, 0usize);
    let started = std::time::Instant::now();
    for n in 0..events {
        let event = events::nth_event(n, &requests, &policy, &key)?;
        if let NewEvent::Decided(d) = &event {
            match d.decision {
                DecisionKind::Register => latest_register = d.verification_id.clone(),
                DecisionKind::Hold if resolved + pending.len() < resolutions => {
                    pending.push_back((n, d.clone()));
                }
                _ => {}
            }
        }
        batch.push(event);
        while pending.front().is_some_and(|(at, _)| n >= at + LAG) {
            let (_, held) = pending.pop_front().expect("a pending hold");
            batch.push(resolution(&held, resolved, &latest_register));
            resolved += 1;
        }
        if batch.len() >= BATCH || n + 1 == events {
            written += batch.len();
            store.append_batch(&mut chain, &batch).await?;
            batch.clear();
        }
        if n > 0 && n % 100_000 == 0 {
            eprintln!("{n} decisions, {:.0} s", started.elapsed().as_secs_f64());
        }
    }
    store.close().await;
    println!(
        "{events} decisions and {resolved} resolutions ({written} events) in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The `i`th resolution, of `held`.
fn resolution(held: &audit::Decided, i: usize, latest_register: &str) -> NewEvent {
    let how = match i % 10 {
        0..=4 => Resolution::Requeried,
        5 | 6 => Resolution::NumberFromPerson,
        _ => Resolution::Withdrawn,
    };
    NewEvent::HoldResolved(HoldResolved {
        occurred_at: held.occurred_at + Duration::from_secs(3600 * (1 + i as u64 % 96)),
        caller: "operator-desk".into(),
        insurer_number: held.insurer_number.clone(),
        subject_id: held.subject_id.clone(),
        verification_id: held.verification_id.clone(),
        resolution: how,
        operator_id: "operator-7".into(),
        note: String::new(),
        replaced_by_verification_id: if how == Resolution::Requeried {
            latest_register.to_owned()
        } else {
            String::new()
        },
        cause: (!i.is_multiple_of(3)).then(|| HoldCause::ALL[i % HoldCause::ALL.len()]),
    })
}
