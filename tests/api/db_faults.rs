//! Database faults under load, slow and so `#[ignore]`d in the default run (`.ci/run` runs them):
//!
//! - PostgreSQL behind a TCP proxy that this test controls: every connection cut at once (as a
//!   failover does), five times, then the database unreachable for a while and back. Calls fail
//!   only with `UNAVAILABLE`, health reports NOT_SERVING while the store is unreachable, and the
//!   service recovers without a restart. A proxy rather than stopping PostgreSQL itself, so that
//!   the other tests running meanwhile keep their database.
//! - SQLite on a size-limited tmpfs that fills up: `UNAVAILABLE` while full, no corrupted file,
//!   recovery once space is freed.
//!
//! Both end with every answered decision found unchanged, every unanswered request answered on
//! retry, and the chains verifying with one event per request id: nothing lost or duplicated.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
};
use tonic::{Code, transport::Channel};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use verify_identity::config::DatabaseUrl;
use verify_identity::contract::pb;

use crate::helpers::{Backend, TestApp, hold_request, register_request, spawn_app_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL; slow: fault injection, run by .ci/run"]
async fn postgres_cut_and_unreachable_under_load_fails_only_unavailable_and_recovers() {
    let proxy = Proxy::start("127.0.0.1:5432").await;
    let proxy_addr = proxy.addr.clone();
    let app = spawn_app_with(Backend::Postgres, |settings| {
        settings.database = DatabaseUrl::new(
            settings
                .database
                .expose()
                .replace("127.0.0.1:5432", &proxy_addr),
        );
        assert!(
            settings.database.expose().contains(&proxy_addr),
            "the test URL names 127.0.0.1:5432"
        );
    })
    .await;
    let load = Load::start(&app, "pg-fault");

    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        proxy.cut();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    proxy.set_reachable(false);
    proxy.cut();
    wait_for_health(
        &app.channel,
        ServingStatus::NotServing,
        Duration::from_secs(15),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let back = Instant::now();
    proxy.set_reachable(true);
    wait_for_health(
        &app.channel,
        ServingStatus::Serving,
        Duration::from_secs(20),
    )
    .await;
    let recovered = load
        .first_success_after(back, Duration::from_secs(20))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen = load.stop().await;

    let events = check_nothing_lost(&app, &app.db.url, &seen).await;
    eprintln!(
        "PostgreSQL: 5 cuts and one outage, {} answered, {} refused (all UNAVAILABLE), \
         recovered {recovered:?} after the database came back, {events} events, 0 lost, 0 duplicated",
        seen.answered.len(),
        seen.unavailable.len(),
    );
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow: fault injection (mounts a tmpfs, needs root), run by .ci/run"]
async fn sqlite_on_a_full_disk_fails_only_unavailable_and_recovers_when_space_is_freed() {
    // Larger than the write-ahead log grows between checkpoints (1,000 pages of 16 KiB), so that
    // it is the filler that fills the disk and freeing it frees the space.
    let mount = SmallDisk::mount(64 << 20);
    let database = format!("sqlite:{}", mount.path.join("audit.sqlite").display());
    let mut app = spawn_app_with(Backend::Sqlite, |settings| {
        settings.database = DatabaseUrl::new(database.clone());
    })
    .await;
    let load = Load::start(&app, "disk-full");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let filler = mount.fill();
    let full = Instant::now();
    while load.unavailable() == 0 {
        assert!(
            full.elapsed() < Duration::from_secs(60),
            "the disk never filled up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let freed = Instant::now();
    std::fs::remove_file(&filler).unwrap();
    let recovered = load
        .first_success_after(freed, Duration::from_secs(20))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen = load.stop().await;

    let events = check_nothing_lost(&app, &database, &seen).await;
    app.stop().await;
    let pool = sqlx::SqlitePool::connect(&database).await.unwrap();
    let (integrity,): (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert_eq!(integrity, "ok", "the SQLite file is corrupted");
    eprintln!(
        "SQLite, full disk: {} answered, {} refused (all UNAVAILABLE), recovered {recovered:?} \
         after space was freed, {events} events, integrity ok, 0 lost, 0 duplicated",
        seen.answered.len(),
        seen.unavailable.len(),
    );
    drop(mount);
    app.db.clone().drop().await;
}

// ---- the load ----

/// The request numbered `i`: registers and holds, one subject each.
fn request(prefix: &str, i: usize) -> pb::VerifyRequest {
    let id = format!("{prefix}-{i}");
    let mut r = if i.is_multiple_of(2) {
        register_request(&id)
    } else {
        hold_request(&id)
    };
    r.subject_id = format!("S-{i}");
    r
}

/// What the callers saw.
#[derive(Default)]
struct Seen {
    prefix: String,
    answered: BTreeMap<usize, pb::VerifyResponse>,
    /// Requests refused with UNAVAILABLE: not decided, or decided but not answered.
    unavailable: Vec<usize>,
    /// When each answer arrived.
    answered_at: Vec<Instant>,
}

/// Four callers sending fresh requests until stopped. Any refusal other than UNAVAILABLE fails
/// the test.
struct Load {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Seen>>,
    callers: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(app: &TestApp, prefix: &str) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let next = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(Mutex::new(Seen {
            prefix: prefix.to_owned(),
            ..Seen::default()
        }));
        let callers = (0..4)
            .map(|_| {
                let (mut client, stop, next, seen) =
                    (app.client.clone(), stop.clone(), next.clone(), seen.clone());
                let prefix = prefix.to_owned();
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        match client.verify(request(&prefix, i)).await {
                            Ok(answer) => {
                                let mut seen = seen.lock().unwrap();
                                seen.answered.insert(i, answer.into_inner());
                                seen.answered_at.push(Instant::now());
                            }
                            Err(status) => {
                                assert_eq!(status.code(), Code::Unavailable, "{status:?}");
                                seen.lock().unwrap().unavailable.push(i);
                                tokio::time::sleep(Duration::from_millis(20)).await;
                            }
                        }
                    }
                })
            })
            .collect();
        Load {
            stop,
            seen,
            callers,
        }
    }

    fn unavailable(&self) -> usize {
        self.seen.lock().unwrap().unavailable.len()
    }

    /// How long after `since` the first call succeeded; fails the test after `limit`.
    async fn first_success_after(&self, since: Instant, limit: Duration) -> Duration {
        loop {
            if let Some(at) = self
                .seen
                .lock()
                .unwrap()
                .answered_at
                .iter()
                .find(|&&at| at > since)
            {
                return *at - since;
            }
            assert!(since.elapsed() < limit, "no call succeeded after recovery");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn stop(self) -> Seen {
        self.stop.store(true, Ordering::Relaxed);
        for caller in self.callers {
            caller
                .await
                .expect("a caller saw only UNAVAILABLE refusals");
        }
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

/// Every answer is stored unchanged, every refused request is answered on retry, and the chains
/// verify with exactly one event per request. Returns the number of events.
async fn check_nothing_lost(app: &TestApp, database: &str, seen: &Seen) -> u64 {
    let mut client = app.client.clone();
    for (i, answer) in &seen.answered {
        let record = client
            .get_verification(pb::GetVerificationRequest {
                verification_id: answer.verification_id.clone(),
                insurer_number: "32130011".into(),
            })
            .await
            .unwrap_or_else(|s| panic!("answered request {i} is lost: {s:?}"))
            .into_inner();
        assert_eq!(
            record.verification.as_ref(),
            Some(answer),
            "request {i} changed"
        );
    }
    for &i in &seen.unavailable {
        let retried = client.verify(request(&seen.prefix, i)).await;
        assert!(retried.is_ok(), "retry of refused request {i}: {retried:?}");
    }
    let distinct = seen.answered.len() + seen.unavailable.len();
    let store = verify_identity::audit::connect(database).await.unwrap();
    let report = verify_identity::audit::verify::verify_store(store.as_ref())
        .await
        .unwrap();
    assert!(report.first_broken.is_none(), "{:?}", report.first_broken);
    assert_eq!(
        report.events_checked as usize, distinct,
        "lost or duplicated"
    );
    report.events_checked
}

async fn wait_for_health(channel: &Channel, want: ServingStatus, limit: Duration) {
    let mut health = HealthClient::new(channel.clone());
    let started = Instant::now();
    loop {
        let status = health
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .map(|r| r.into_inner().status());
        if status.as_ref().ok() == Some(&want) {
            return;
        }
        assert!(started.elapsed() < limit, "health never became {want:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---- a TCP proxy the test can cut ----

/// Forwards connections to `upstream`; [`Proxy::cut`] drops every open connection and
/// [`Proxy::set_reachable`] makes new connections fail.
struct Proxy {
    addr: String,
    generation: watch::Sender<u64>,
    reachable: Arc<AtomicBool>,
}

impl Proxy {
    async fn start(upstream: &'static str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (generation, watcher) = watch::channel(0u64);
        let reachable = Arc::new(AtomicBool::new(true));
        let open = reachable.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !open.load(Ordering::Relaxed) {
                    drop(inbound);
                    continue;
                }
                let mut cut = watcher.clone();
                cut.mark_unchanged();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Proxy {
            addr,
            generation,
            reachable,
        }
    }

    /// Drops every open connection, as a failover does.
    fn cut(&self) {
        self.generation.send_modify(|g| *g += 1);
    }

    fn set_reachable(&self, reachable: bool) {
        self.reachable.store(reachable, Ordering::Relaxed);
    }
}

// ---- a disk that fills up ----

/// A tmpfs of a few megabytes, unmounted when dropped.
struct SmallDisk {
    path: PathBuf,
}

impl SmallDisk {
    fn mount(bytes: usize) -> SmallDisk {
        let path = std::env::temp_dir().join(format!("vi-disk-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&path).unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(&path)
            .status()
            .expect("mount runs");
        assert!(
            status.success(),
            "mounting a tmpfs failed: this test needs root (as CI has)"
        );
        SmallDisk { path }
    }

    /// Fills the disk to the last byte; returns the filler file.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let filler = self.path.join("filler");
        let mut file = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 4096];
        while file.write_all(&block).is_ok() {}
        while file.write_all(&block[..1]).is_ok() {}
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.path)
            .status();
        let _ = std::fs::remove_dir_all(Path::new(&self.path));
    }
}
