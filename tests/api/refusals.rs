//! What refused calls cost, through real calls: a peer that has spent its refusal budget is
//! answered RESOURCE_EXHAUSTED before anything is decoded, refusals are written as one counted
//! event per peer and reason each interval (and at shutdown), and a flood of calls without
//! credentials neither grows the log per call nor slows the real decisions beside it.

use std::time::{Duration, Instant};

use tonic::{Code, transport::Channel};
use verify_identity::{
    audit::{AccessDenied, NewEvent},
    grpc::pb::{self, verify_identity_client::VerifyIdentityClient},
};

use crate::{
    access::{REGISTRAR, secured},
    gate::stored_events,
    helpers::{Backend, register_for, register_request, spawn_app_with, with_token},
};

/// The counted refusals the log holds.
fn denials(events: &[NewEvent]) -> Vec<&AccessDenied> {
    events
        .iter()
        .filter_map(|e| match e {
            NewEvent::AccessDenied(a) => Some(a),
            _ => None,
        })
        .collect()
}

async fn unauthenticated_verify(client: &mut VerifyIdentityClient<Channel>, id: &str) -> Code {
    match client.verify(register_request(id)).await {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_spent_its_refusal_budget_is_resource_exhausted_and_every_refusal_is_counted() {
    let mut app = spawn_app_with(Backend::Sqlite, |s| {
        secured(s);
        s.refusals.peer_burst = 10;
        s.refusals.peer_per_second = 0.0;
        s.refusals.interval = Duration::from_secs(3600);
    })
    .await;
    let noisy = app.channel_from("127.0.0.2").await;
    let mut client = VerifyIdentityClient::new(noisy.clone());
    let mut codes = Vec::new();
    for i in 0..30 {
        codes.push(unauthenticated_verify(&mut client, &format!("n-{i}")).await);
    }
    assert_eq!(codes[..10], [Code::Unauthenticated; 10]);
    assert_eq!(codes[10..], [Code::ResourceExhausted; 20]);
    // The budget is the address's: a valid token from there waits too, another address does
    // not, and health checks stay open everywhere.
    let from_noisy = client
        .verify(with_token(register_request("ok-noisy"), REGISTRAR))
        .await
        .unwrap_err();
    assert_eq!(from_noisy.code(), Code::ResourceExhausted);
    app.client
        .clone()
        .verify(with_token(register_request("ok-local"), REGISTRAR))
        .await
        .unwrap();
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    HealthClient::new(noisy)
        .check(HealthCheckRequest::default())
        .await
        .expect("health is not limited");
    app.stop().await;

    // Written at shutdown: one counted event per reason, nothing lost.
    let events = stored_events(&app).await;
    let counted: Vec<(&str, u64, &str, &str)> = denials(&events)
        .iter()
        .map(|a| (a.reason.as_str(), a.count, a.peer.as_str(), a.rpc.as_str()))
        .collect();
    assert_eq!(
        counted,
        [
            ("UNAUTHENTICATED", 10, "127.0.0.2", "Verify"),
            ("RATE_LIMITED", 21, "127.0.0.2", "Verify"),
        ]
    );
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counted_refusals_are_written_each_interval_while_the_server_runs() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        secured(s);
        s.refusals.interval = Duration::from_millis(200);
    })
    .await;
    let mut client = app.client.clone();
    for i in 0..5 {
        assert_eq!(
            unauthenticated_verify(&mut client, &format!("n-{i}")).await,
            Code::Unauthenticated
        );
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let events = stored_events(&app).await;
        let counts: Vec<u64> = denials(&events).iter().map(|a| a.count).collect();
        if !counts.is_empty() {
            assert_eq!(counts, [5]);
            break;
        }
        assert!(Instant::now() < deadline, "no counted refusal was written");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.finish().await;
}

/// Latencies of `calls` sequential Verify calls per task, `tasks` at once, each a fresh
/// request (a new decision written, not a replay).
async fn verify_load(
    client: &VerifyIdentityClient<Channel>,
    tag: &str,
    tasks: usize,
    calls: usize,
) -> Vec<Duration> {
    let mut handles = Vec::new();
    for t in 0..tasks {
        let mut client = client.clone();
        let tag = format!("{tag}-{t}");
        handles.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(calls);
            for i in 0..calls {
                let request =
                    register_for(&format!("{tag}-{i}"), &format!("{tag}-{i}"), "402718593027");
                let started = Instant::now();
                client.verify(with_token(request, REGISTRAR)).await.unwrap();
                latencies.push(started.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    all
}

fn median(mut latencies: Vec<Duration>) -> Duration {
    latencies.sort();
    latencies[latencies.len() / 2]
}

/// The figures RELIABILITY.md quotes come from this test (`--nocapture` prints them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: a timed flood, run by .ci/run"]
async fn a_flood_of_unauthenticated_calls_writes_a_few_rows_per_interval_and_barely_slows_verify() {
    const INTERVAL: Duration = Duration::from_secs(1);
    const TASKS: usize = 2;
    const CALLS: usize = 300;
    let mut app = spawn_app_with(Backend::Sqlite, |s| {
        secured(s);
        s.refusals.interval = INTERVAL;
    })
    .await;
    let client = app.client.clone();
    // Warm up, then the load alone.
    verify_load(&client, "warm", TASKS, 50).await;
    let quiet = median(verify_load(&client, "quiet", TASKS, CALLS).await);

    // The same load beside a flood from another address: as fast as four callers without
    // credentials can go, until the load is done.
    let flooder = VerifyIdentityClient::new(app.channel_from("127.0.0.2").await);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut floods = Vec::new();
    for f in 0..4 {
        let (mut client, stop) = (flooder.clone(), stop.clone());
        floods.push(tokio::spawn(async move {
            let (mut refused, mut other) = (0u64, 0u64);
            let mut i = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                i += 1;
                match unauthenticated_verify(&mut client, &format!("flood-{f}-{i}")).await {
                    Code::Unauthenticated | Code::ResourceExhausted => refused += 1,
                    _ => other += 1,
                }
            }
            (refused, other)
        }));
    }
    let flood_started = Instant::now();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let loud = median(verify_load(&client, "loud", TASKS, CALLS).await);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut refused = 0;
    for f in floods {
        let (r, other) = f.await.unwrap();
        assert_eq!(other, 0, "every flood call is refused");
        refused += r;
    }
    let flood_time = flood_started.elapsed();
    app.stop().await;

    let events = stored_events(&app).await;
    let denied = denials(&events);
    let intervals = flood_time.as_secs_f64() / INTERVAL.as_secs_f64();
    println!(
        "flood: {refused} refused calls in {:.1} s ({:.0}/s) -> {} access.denied rows \
         ({:.1} per interval of {INTERVAL:?}); Verify p50 {quiet:?} alone, {loud:?} beside the flood",
        flood_time.as_secs_f64(),
        refused as f64 / flood_time.as_secs_f64(),
        denied.len(),
        denied.len() as f64 / intervals,
    );
    // Nothing counted is lost, and the rows are a few per interval: the flood's two reasons
    // for each interval it spanned, plus the partial ones at either end.
    assert_eq!(denied.iter().map(|a| a.count).sum::<u64>(), refused);
    assert!(
        denied.len() as f64 <= 2.0 * (intervals.ceil() + 2.0),
        "{} rows for {refused} refusals",
        denied.len()
    );
    assert!(refused > 1_000, "the flood was no flood: {refused} calls");
    assert!(
        loud <= 2 * quiet,
        "Verify p50 {loud:?} beside the flood, {quiet:?} alone"
    );
    let decided = events.iter().filter(|e| e.as_decided().is_some()).count();
    assert_eq!(decided, TASKS * (50 + 2 * CALLS));
    let _ = pb::Decision::Register;
    app.finish().await;
}
