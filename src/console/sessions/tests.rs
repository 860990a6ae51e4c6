//! Sessions on a real store of each backend: two `Sessions` on one database stand for two
//! replicas, a reconnection for a restart, and an injected clock for the passing of time.

use std::{
    net::IpAddr,
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::{Duration, UNIX_EPOCH},
};

use sqlx::Connection;
use tokio::task::JoinHandle;

use super::*;
use crate::{
    audit::{self, AuditBackend, AuditWriter, EventType, NewEvent, verify_store},
    config::{ConsoleUserConfig, Role, hash_password},
    verification::console_sessions::ConsoleSessions,
};

/// A clock the test moves, in seconds from an arbitrary start.
#[derive(Clone)]
struct TestClock(Arc<AtomicI64>);

impl TestClock {
    fn new() -> Self {
        TestClock(Arc::new(AtomicI64::new(1_780_000_000)))
    }
    fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
    fn clock(&self) -> Clock {
        let t = self.0.clone();
        Arc::new(move || UNIX_EPOCH + Duration::from_secs(t.load(Ordering::SeqCst) as u64))
    }
}

/// One replica: a store connection, its audit writer, and its sessions.
struct Replica {
    store: Arc<dyn AuditBackend>,
    writer: JoinHandle<()>,
    sessions: Sessions,
}

impl Replica {
    async fn start(url: &str, limits: SessionLimits, clock: &TestClock) -> Self {
        let store = audit::connect(url).await.expect("store opens");
        let (handle, writer) = AuditWriter::spawn(store.clone(), 16, 8);
        let sessions = Sessions::with_clock(
            ConsoleSessions::new(store.clone(), handle),
            limits,
            clock.clock(),
        );
        Replica {
            store,
            writer,
            sessions,
        }
    }

    /// Stops it as a process stop would: the writer drains, the store closes.
    async fn stop(self) {
        drop(self.sessions);
        self.writer.await.unwrap();
        self.store.close().await;
    }
}

fn users() -> Users {
    Users::new(&[ConsoleUserConfig {
        name: "sato".into(),
        password_argon2id: hash_password("a long test password"),
        client_cert_sha256: None,
        client_cert_cn: None,
        insurers: vec!["32130011".into()],
        roles: vec![Role::Operator],
    }])
    .unwrap()
}

fn limits() -> SessionLimits {
    SessionLimits {
        idle: Duration::from_secs(60),
        absolute: Duration::from_secs(300),
    }
}

/// The console session events of the store, in order, after checking that every chain
/// verifies.
async fn session_events(store: &dyn AuditBackend) -> Vec<NewEvent> {
    let report = verify_store(store).await.unwrap();
    assert!(report.is_intact(), "{report:?}");
    let mut events: Vec<_> = store
        .read_chains()
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .filter(|e| {
            matches!(
                e.event_type(),
                EventType::ConsoleSignedIn | EventType::ConsoleSignedOut
            )
        })
        .collect();
    events.sort_by_key(|e| e.occurred_at());
    events
}

fn ending(e: &NewEvent) -> Option<SessionEnding> {
    match e {
        NewEvent::ConsoleSignedOut(o) => Some(o.ending),
        _ => None,
    }
}

async fn a_session_works_on_every_replica_survives_a_restart_and_ends_everywhere(url: String) {
    let users = users();
    let sato = users.get("sato").unwrap();
    let clock = TestClock::new();
    let a = Replica::start(&url, limits(), &clock).await;
    let b = Replica::start(&url, limits(), &clock).await;

    let token = a
        .sessions
        .open(&sato, SignInMethod::Password)
        .await
        .unwrap();
    let on_a = a.sessions.touch(&token, &users).await.unwrap().unwrap();
    clock.advance(10);
    let on_b = b.sessions.touch(&token, &users).await.unwrap();
    let on_b = on_b.expect("the other replica accepts the session");
    assert_eq!(on_b.user.name, "sato");
    assert!(
        on_b.csrf_matches(&on_a.csrf),
        "one CSRF token on every replica"
    );
    assert!(
        b.sessions
            .touch("not a token", &users)
            .await
            .unwrap()
            .is_none()
    );

    // Nothing secret is stored: not the token, not the CSRF token.
    let row = a
        .store
        .console_session(&key(&token))
        .await
        .unwrap()
        .unwrap();
    assert_ne!(row.token_hash, token.as_bytes());
    assert_ne!(hex::encode(&row.token_hash), on_a.csrf);

    // A restart of replica a: the session is still open there.
    a.stop().await;
    clock.advance(10);
    let a = Replica::start(&url, limits(), &clock).await;
    assert!(
        a.sessions.touch(&token, &users).await.unwrap().is_some(),
        "kept across a restart"
    );

    // Signed out on b: refused on a, and recorded once.
    assert!(b.sessions.close(&token).await.unwrap());
    assert!(a.sessions.touch(&token, &users).await.unwrap().is_none());
    assert!(!a.sessions.close(&token).await.unwrap(), "already ended");

    a.stop().await;
    b.stop().await;
    let store = audit::connect(&url).await.unwrap();
    let events = session_events(&*store).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(matches!(&events[0], NewEvent::ConsoleSignedIn(i)
        if i.caller == "sato" && i.method == SignInMethod::Password));
    assert_eq!(ending(&events[1]), Some(SessionEnding::SignedOut));
    assert_eq!(events[1].caller(), "sato");
    // The export names the method and the ending, and no event holds the token.
    for e in store.read_chains().await.unwrap() {
        let json = audit::export::to_json(&e).to_string();
        assert!(!json.contains(&token), "{json}");
    }
    store.close().await;
}

async fn idle_and_absolute_timeouts_end_sessions_and_say_why(url: String) {
    let users = users();
    let sato = users.get("sato").unwrap();
    let clock = TestClock::new();
    let r = Replica::start(&url, limits(), &clock).await;

    // Idle: requests at +50 and +100 keep it; none for 60 s ends it.
    let idle = r
        .sessions
        .open(&sato, SignInMethod::Password)
        .await
        .unwrap();
    clock.advance(50);
    assert!(r.sessions.touch(&idle, &users).await.unwrap().is_some());
    clock.advance(50);
    assert!(r.sessions.touch(&idle, &users).await.unwrap().is_some());
    clock.advance(60);
    assert!(
        r.sessions.touch(&idle, &users).await.unwrap().is_none(),
        "idle"
    );
    assert!(
        r.sessions.touch(&idle, &users).await.unwrap().is_none(),
        "ended for good"
    );

    // Absolute: busy every 40 s, ended 300 s after sign-in all the same.
    let busy = r
        .sessions
        .open(&sato, SignInMethod::Password)
        .await
        .unwrap();
    for _ in 0..7 {
        clock.advance(40);
        assert!(r.sessions.touch(&busy, &users).await.unwrap().is_some());
    }
    clock.advance(20);
    assert!(
        r.sessions.touch(&busy, &users).await.unwrap().is_none(),
        "absolute"
    );

    // The written last request lags by less than the touch interval (6 s here): a request
    // 3 s after sign-in is not written, so the session ends 60 s after sign-in, 3 s early,
    // never late.
    let early = r
        .sessions
        .open(&sato, SignInMethod::Password)
        .await
        .unwrap();
    clock.advance(3);
    assert!(r.sessions.touch(&early, &users).await.unwrap().is_some());
    clock.advance(57);
    assert!(r.sessions.touch(&early, &users).await.unwrap().is_none());

    // A session nobody comes back to is removed (and recorded) when a later sign-in sweeps.
    let forgotten = r
        .sessions
        .open(&sato, SignInMethod::Password)
        .await
        .unwrap();
    clock.advance(61);
    let _later = r
        .sessions
        .open(&sato, SignInMethod::Password)
        .await
        .unwrap();
    assert!(
        r.store
            .console_session(&key(&forgotten))
            .await
            .unwrap()
            .is_none(),
        "swept"
    );

    let store = r.store.clone();
    let endings: Vec<_> = session_events(&*store)
        .await
        .iter()
        .filter_map(ending)
        .collect();
    assert_eq!(
        endings,
        [
            SessionEnding::Idle,
            SessionEnding::Absolute,
            SessionEnding::Idle,
            SessionEnding::Idle
        ]
    );
    r.stop().await;
}

async fn a_session_that_cannot_be_read_is_refused_and_a_removed_clerk_is_signed_out(url: String) {
    let users = users();
    let sato = users.get("sato").unwrap();
    let clock = TestClock::new();
    let r = Replica::start(&url, limits(), &clock).await;
    let token = r
        .sessions
        .open(&sato, SignInMethod::Password)
        .await
        .unwrap();

    // The clerk leaves the settings: the next request ends the session.
    let nobody = Users::new(&[]).unwrap();
    assert!(r.sessions.touch(&token, &nobody).await.unwrap().is_none());
    assert!(r.sessions.touch(&token, &users).await.unwrap().is_none());

    // The database gone: an error, never a session.
    let token = r
        .sessions
        .open(&sato, SignInMethod::Password)
        .await
        .unwrap();
    r.store.close().await;
    assert!(
        r.sessions.touch(&token, &users).await.is_err(),
        "fails closed"
    );
    assert!(
        r.sessions
            .open(&sato, SignInMethod::Password)
            .await
            .is_err()
    );
    drop(r.sessions);
    r.writer.await.unwrap();

    let store = audit::connect(&url).await.unwrap();
    let endings: Vec<_> = session_events(&*store)
        .await
        .iter()
        .filter_map(ending)
        .collect();
    assert_eq!(endings, [SessionEnding::UserRemoved]);
    store.close().await;
}

/// A SQLite file of its own, removed after `test`.
async fn on_sqlite<F: std::future::Future<Output = ()>>(test: impl FnOnce(String) -> F) {
    let dir = std::env::temp_dir().join(format!(
        "verify-identity-sessions-{}",
        uuid::Uuid::now_v7().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    test(format!("sqlite://{}", dir.join("audit.sqlite").display())).await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// A schema of its own in VERIFY_IDENTITY_TEST_POSTGRES_URL's database, dropped after `test`.
async fn on_postgres<F: std::future::Future<Output = ()>>(test: impl FnOnce(String) -> F) {
    let url = std::env::var("VERIFY_IDENTITY_TEST_POSTGRES_URL").expect(
        "VERIFY_IDENTITY_TEST_POSTGRES_URL is set for the PostgreSQL suite \
         (e.g. postgres://postgres@127.0.0.1:5432/test)",
    );
    let schema = format!("t_{}", uuid::Uuid::now_v7().simple());
    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let separator = if url.contains('?') { '&' } else { '?' };
    test(format!("{url}{separator}options[search_path]={schema}")).await;
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&mut admin)
        .await
        .unwrap();
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::on_sqlite(super::$name).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "needs PostgreSQL"]
                async fn $name() {
                    super::on_postgres(super::$name).await;
                }
            )*
        }
    };
}

on_both_backends!(
    a_session_works_on_every_replica_survives_a_restart_and_ends_everywhere,
    idle_and_absolute_timeouts_end_sessions_and_say_why,
    a_session_that_cannot_be_read_is_refused_and_a_removed_clerk_is_signed_out,
);

#[test]
fn failed_sign_ins_are_limited_per_name_and_per_address() {
    let limiter = SignInLimiter::default();
    let a: IpAddr = "192.0.2.1".parse().unwrap();
    let b: IpAddr = "192.0.2.2".parse().unwrap();
    for _ in 0..PER_USER {
        assert!(limiter.allows("sato", a));
        limiter.failed("sato", a);
    }
    assert!(
        !limiter.allows("sato", b),
        "the name is locked from every address"
    );
    assert!(limiter.allows("suzuki", a));
    for i in 0..PER_ADDRESS {
        limiter.failed(&format!("name{i}"), b);
    }
    assert!(
        !limiter.allows("tanaka", b),
        "the address is locked for every name"
    );
}

#[test]
fn the_touch_interval_is_a_minute_or_a_tenth_of_a_short_idle_timeout() {
    assert_eq!(
        touch_interval(SessionLimits::default()),
        Duration::from_secs(60)
    );
    assert_eq!(touch_interval(limits()), Duration::from_secs(6));
}
