//! Process faults: the real binary killed with SIGKILL under load, again and again on one
//! database. Slow, so `#[ignore]`d in the default run; `.ci/run` runs them with the ignored suite.
//!
//! After every restart, each decision a client received must be found by GetVerification with
//! the same content, a retry of an answered request must return the same verification, a retry of
//! a request that was in flight must be answered (never `ALREADY_EXISTS`), and at the end the
//! hash chains must verify with exactly one decision event per request id: nothing lost, nothing
//! duplicated.

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use tonic::Code;
use verify_identity::contract::pb::{self, verify_identity_client::VerifyIdentityClient};

use crate::{
    helpers::{Backend, TestDatabase, hold_request, register_request, return_request},
    process::serve,
};

/// Runs each listed scenario on SQLite and on PostgreSQL, ignored by default (slow).
macro_rules! slow_on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "slow: fault injection, run by .ci/run"]
                async fn $name() {
                    super::$name(crate::helpers::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "needs PostgreSQL; slow: fault injection, run by .ci/run"]
                async fn $name() {
                    super::$name(crate::helpers::Backend::Postgres).await;
                }
            )*
        }
    };
}

slow_on_both_backends!(twenty_sigkills_under_load_lose_and_duplicate_nothing);

/// How many times the server is killed.
const KILLS: usize = 20;
/// Concurrent callers during each round.
const CALLERS: usize = 8;

/// The request for id number `i`: a mix of the three decisions, one subject each.
fn request(i: usize) -> pb::VerifyRequest {
    let id = format!("kill-{i}");
    let mut r = match i % 3 {
        0 => register_request(&id),
        1 => hold_request(&id),
        _ => return_request(&id),
    };
    r.subject_id = format!("S-{i}");
    r
}

/// What the callers saw: answers by request number, and the numbers that were in flight (sent,
/// never answered) when the server died.
#[derive(Default)]
struct Seen {
    answered: BTreeMap<usize, pb::VerifyResponse>,
    in_flight: Vec<usize>,
}

/// Callers sending fresh requests until `stop`; returns once they have all ended.
async fn load(addr: String, next: Arc<AtomicUsize>, stop: Arc<AtomicBool>, seen: Arc<Mutex<Seen>>) {
    let client = VerifyIdentityClient::connect(format!("http://{addr}"))
        .await
        .expect("the server accepts connections");
    let mut callers = Vec::new();
    for _ in 0..CALLERS {
        let (mut client, next, stop, seen) =
            (client.clone(), next.clone(), stop.clone(), seen.clone());
        callers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let call = tokio::time::timeout(Duration::from_secs(10), client.verify(request(i)));
                match call.await {
                    Ok(Ok(answer)) => {
                        seen.lock().unwrap().answered.insert(i, answer.into_inner());
                    }
                    // The server died with this call in flight (or refused it while dying).
                    Ok(Err(status)) => {
                        assert_ne!(status.code(), Code::AlreadyExists, "a fresh id was taken");
                        seen.lock().unwrap().in_flight.push(i);
                        return;
                    }
                    Err(_) => {
                        seen.lock().unwrap().in_flight.push(i);
                        return;
                    }
                }
            }
        }));
    }
    for caller in callers {
        caller.await.unwrap();
    }
}

pub(crate) async fn twenty_sigkills_under_load_lose_and_duplicate_nothing(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let next = Arc::new(AtomicUsize::new(0));
    let mut all: BTreeMap<usize, pb::VerifyResponse> = BTreeMap::new();
    let (mut in_flight_total, mut answered_total) = (0, 0);
    for round in 0..KILLS {
        let mut served = serve(&db, "info");
        let addr = served.addr.clone();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let load = tokio::spawn(load(addr, next.clone(), stop.clone(), seen.clone()));
        // Kill at a different moment each round, with calls certainly in flight.
        tokio::time::sleep(Duration::from_millis(300 + 53 * (round as u64 % 7))).await;
        served.child.kill().unwrap();
        served.child.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        load.await.unwrap();
        let seen = std::mem::take(&mut *seen.lock().unwrap());
        answered_total += seen.answered.len();
        in_flight_total += seen.in_flight.len();

        // Restarted on the same database: everything answered is there, unchanged.
        let mut restarted = serve(&db, "info");
        let mut client = VerifyIdentityClient::connect(format!("http://{}", restarted.addr))
            .await
            .unwrap();
        for (&i, answer) in &seen.answered {
            let record = client
                .get_verification(pb::GetVerificationRequest {
                    verification_id: answer.verification_id.clone(),
                    insurer_number: "32130011".into(),
                })
                .await
                .unwrap_or_else(|s| panic!("round {round}: answered kill-{i} is lost: {s:?}"))
                .into_inner();
            let stored = record.verification.expect("the stored decision");
            assert_eq!(&stored, answer, "round {round}: kill-{i} changed");
            let retried = client.verify(request(i)).await.unwrap().into_inner();
            assert_eq!(
                &retried, answer,
                "round {round}: a retry of kill-{i} differs"
            );
        }
        // A request that was in flight is decided once now, or was decided before the kill and
        // is returned as it was: never refused as a reused id.
        for &i in &seen.in_flight {
            let retried = client
                .verify(request(i))
                .await
                .unwrap_or_else(|s| panic!("round {round}: retry of in-flight kill-{i}: {s:?}"))
                .into_inner();
            let again = client.verify(request(i)).await.unwrap().into_inner();
            assert_eq!(retried, again);
            all.insert(i, retried);
        }
        all.extend(seen.answered);
        crate::process::sigterm(&restarted.child);
        let status =
            tokio::task::spawn_blocking(move || crate::process::wait(&mut restarted.child))
                .await
                .unwrap();
        assert!(status.success(), "round {round}: SIGTERM exit {status:?}");
    }
    // One decision event per request id, every chain intact.
    let store = verify_identity::audit::connect(&db.url).await.unwrap();
    let report = verify_identity::audit::verify::verify_store(store.as_ref())
        .await
        .unwrap();
    assert!(report.first_broken.is_none(), "{:?}", report.first_broken);
    assert_eq!(
        report.events_checked as usize,
        all.len(),
        "lost or duplicated events"
    );
    assert!(in_flight_total > 0, "no call was ever in flight at a kill");
    eprintln!(
        "{backend:?}: {KILLS} SIGKILLs, {answered_total} answers checked after restart, \
         {in_flight_total} in-flight calls retried, {} decision events, 0 lost, 0 duplicated",
        all.len()
    );
    db.drop().await;
}
