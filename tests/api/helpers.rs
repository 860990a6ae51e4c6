//! Test harness: a real server on a free port with a fresh database, and a real client.

use std::{path::PathBuf, time::Duration};

use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tonic::transport::{Channel, ClientTlsConfig};
use verify_identity::{
    config::{KeyArgs, ServeArgs, Settings},
    contract::pb::{self, verify_identity_client::VerifyIdentityClient},
    server,
};

/// Which audit backend a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL URL for tests. Panics when unset: a PostgreSQL test that was asked for must
/// not pass silently.
pub(crate) fn postgres_url() -> String {
    std::env::var("VERIFY_IDENTITY_TEST_POSTGRES_URL").expect(
        "VERIFY_IDENTITY_TEST_POSTGRES_URL must be set to run the PostgreSQL suite \
         (e.g. postgres://postgres@127.0.0.1:5432/test)",
    )
}

/// A fresh, empty database for one test.
#[derive(Clone)]
pub(crate) struct TestDatabase {
    pub(crate) backend: Backend,
    /// The URL the server is given.
    pub(crate) url: String,
    /// A scratch directory (SQLite file, fingerprint key).
    pub(crate) dir: PathBuf,
    schema: Option<String>,
}

impl TestDatabase {
    pub(crate) async fn new(backend: Backend) -> Self {
        let tag = uuid::Uuid::now_v7().simple().to_string();
        let dir = std::env::temp_dir().join(format!("vi-api-{tag}"));
        std::fs::create_dir_all(&dir).unwrap();
        match backend {
            Backend::Sqlite => TestDatabase {
                backend,
                url: format!("sqlite:{}", dir.join("audit.sqlite").display()),
                dir,
                schema: None,
            },
            Backend::Postgres => {
                let base = postgres_url();
                let schema = format!("t_{tag}");
                let pool = sqlx::PgPool::connect(&base)
                    .await
                    .expect("PostgreSQL reachable");
                sqlx::query(&format!("CREATE SCHEMA {schema}"))
                    .execute(&pool)
                    .await
                    .unwrap();
                pool.close().await;
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
                TestDatabase {
                    backend,
                    url,
                    dir,
                    schema: Some(schema),
                }
            }
        }
    }

    /// Runs SQL behind the service's back (as an attacker or an outage would).
    pub(crate) async fn execute(&self, sql: &str) -> Result<(), sqlx::Error> {
        match self.backend {
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&self.url).await?;
                let result = sqlx::raw_sql(sql).execute(&pool).await.map(|_| ());
                pool.close().await;
                result
            }
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&self.url).await?;
                let result = sqlx::raw_sql(sql).execute(&pool).await.map(|_| ());
                pool.close().await;
                result
            }
        }
    }

    /// Makes the audit tables unusable, as a lost database would.
    pub(crate) async fn break_it(&self) {
        match self.backend {
            Backend::Sqlite => self
                .execute("DROP TABLE audit_events; DROP TABLE verification_requests;")
                .await
                .unwrap(),
            Backend::Postgres => self
                .execute(&format!(
                    "DROP SCHEMA {} CASCADE",
                    self.schema.as_ref().unwrap()
                ))
                .await
                .unwrap(),
        }
    }

    /// Edits one stored decision behind the service's back, disabling the append-only guard
    /// first as someone with DDL rights could.
    pub(crate) async fn tamper_with_first_event(&self) {
        let sql = match self.backend {
            Backend::Sqlite => {
                "DROP TRIGGER IF EXISTS audit_events_no_update; \
                 UPDATE audit_events SET decision = 'register' WHERE id = (SELECT MIN(id) FROM audit_events);"
                    .to_owned()
            }
            Backend::Postgres => {
                "ALTER TABLE audit_events DISABLE TRIGGER USER; \
                 UPDATE audit_events SET decision = 'register' WHERE id = (SELECT MIN(id) FROM audit_events);"
                    .to_owned()
            }
        };
        self.execute(&sql).await.unwrap();
    }

    pub(crate) async fn drop(self) {
        if let (Backend::Postgres, Some(schema)) = (self.backend, &self.schema)
            && let Ok(pool) = sqlx::PgPool::connect(&postgres_url()).await
        {
            let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .execute(&pool)
                .await;
            pool.close().await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The default settings, on `db`.
pub(crate) fn settings_for(db: &TestDatabase) -> Settings {
    let args = ServeArgs {
        database: Some(db.url.clone()),
        keys: KeyArgs {
            hmac_key_file: Some(db.dir.join("hmac.key")),
            ..KeyArgs::default()
        },
        ..ServeArgs::default()
    };
    Settings::resolve(&args).unwrap()
}

/// A server running in this process.
pub(crate) struct TestApp {
    pub(crate) addr: std::net::SocketAddr,
    pub(crate) client: VerifyIdentityClient<Channel>,
    pub(crate) channel: Channel,
    pub(crate) db: TestDatabase,
    shutdown: Option<oneshot::Sender<()>>,
    join: Option<JoinHandle<Result<(), server::StartError>>>,
}

/// Starts a server on 127.0.0.1:0 with a fresh database.
pub(crate) async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// Starts a server, letting the test adjust the settings first.
pub(crate) async fn spawn_app_with(
    backend: Backend,
    adjust: impl FnOnce(&mut Settings),
) -> TestApp {
    init_test_logging();
    let db = TestDatabase::new(backend).await;
    start(db, adjust, None, None).await
}

/// Starts a server on `db`, which an earlier server may have left data in, letting the test
/// adjust the settings first (another key, a keyring).
pub(crate) async fn spawn_on(db: TestDatabase, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    init_test_logging();
    start(db, adjust, None, None).await
}

/// Starts a server whose settings the test gives TLS, and connects over TLS with `client`.
pub(crate) async fn spawn_app_tls(
    backend: Backend,
    adjust: impl FnOnce(&mut Settings),
    client: ClientTlsConfig,
) -> TestApp {
    init_test_logging();
    let db = TestDatabase::new(backend).await;
    start(db, adjust, Some(client), None).await
}

/// Starts a server with the clerks' console on another 127.0.0.1 port (returned), letting the
/// test adjust the settings (the console users) first.
pub(crate) async fn spawn_app_with_console(
    backend: Backend,
    adjust: impl FnOnce(&mut Settings),
) -> (TestApp, std::net::SocketAddr) {
    init_test_logging();
    let db = TestDatabase::new(backend).await;
    let console = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = console.local_addr().unwrap();
    let app = start(
        db,
        |s| {
            s.console_listen = Some(addr);
            adjust(s);
        },
        None,
        Some(console),
    )
    .await;
    (app, addr)
}

/// `message` with `authorization: Bearer <token>`.
pub(crate) fn with_token<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("ASCII token"),
    );
    request
}

/// Starts a server on `db` (which may already have another server on it). Without
/// `client_tls` the settings keep the defaults' open, plain loopback mode.
async fn start(
    db: TestDatabase,
    adjust: impl FnOnce(&mut Settings),
    client_tls: Option<ClientTlsConfig>,
    console: Option<TcpListener>,
) -> TestApp {
    let mut settings = settings_for(&db);
    adjust(&mut settings);
    let app = server::build(&settings).await.expect("server builds");
    let app = match console {
        Some(listener) => app.with_console_listener(listener),
        None => app,
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let join = tokio::spawn(server::run(listener, app, async {
        let _ = rx.await;
    }));
    let channel = match client_tls {
        None => Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap(),
        Some(tls) => Channel::from_shared(format!("https://{addr}"))
            .unwrap()
            .tls_config(tls)
            .unwrap()
            .connect()
            .await
            .unwrap(),
    };
    TestApp {
        addr,
        client: VerifyIdentityClient::new(channel.clone()),
        channel,
        db,
        shutdown: Some(tx),
        join: Some(join),
    }
}

impl TestApp {
    /// A plain channel to the server from another loopback address (`127.0.0.2` …), as
    /// another host would connect: the refusal budget is per peer address.
    pub(crate) async fn channel_from(&self, local: &str) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .local_address(Some(local.parse().unwrap()))
            .connect()
            .await
            .unwrap()
    }

    /// A second server on the same database and fingerprint key, as a replica would be.
    /// Stop it with [`TestApp::stop`], not `finish`: the first server owns the database.
    pub(crate) async fn spawn_replica(&self) -> TestApp {
        start(self.db.clone(), |_| {}, None, None).await
    }

    /// A second server with the clerks' console on the same database and fingerprint key, as
    /// a replica would be, its settings adjusted by the test (the console users); its console
    /// address. Stop it with [`TestApp::stop`].
    pub(crate) async fn spawn_console_replica(
        &self,
        adjust: impl FnOnce(&mut Settings),
    ) -> (TestApp, std::net::SocketAddr) {
        let console = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = console.local_addr().unwrap();
        let app = start(
            self.db.clone(),
            |s| {
                s.console_listen = Some(addr);
                adjust(s);
            },
            None,
            Some(console),
        )
        .await;
        (app, addr)
    }

    /// Stops the server gracefully and waits until the audit log is flushed.
    pub(crate) async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(join) = self.join.take() {
            tokio::time::timeout(Duration::from_secs(20), join)
                .await
                .expect("server stops in time")
                .unwrap()
                .expect("server ran cleanly");
        }
    }

    /// Stops the server and removes its database.
    pub(crate) async fn finish(mut self) {
        self.stop().await;
        self.db.drop().await;
    }
}

fn init_test_logging() {
    if std::env::var_os("TEST_LOG").is_some() {
        verify_identity::telemetry::init_tracing(verify_identity::config::LogFormat::Text);
    }
}

/// The five fields.
pub(crate) fn fields(
    kanji: &str,
    kana: &str,
    birth: &str,
    sex: &str,
    address: &str,
) -> pb::FiveFields {
    pb::FiveFields {
        kanji_name: kanji.into(),
        kana_name: kana.into(),
        birth_date: birth.into(),
        sex: sex.into(),
        address: address.into(),
    }
}

/// A person used across tests.
pub(crate) fn person() -> pb::FiveFields {
    fields(
        "髙橋 一郎",
        "ﾀｶﾊｼ ｲﾁﾛｳ",
        "昭和50年1月1日",
        "男",
        "東京都新宿区西新宿二丁目8番1号",
    )
}

/// A request that registers.
pub(crate) fn register_request(request_id: &str) -> pb::VerifyRequest {
    pb::VerifyRequest {
        request_id: request_id.into(),
        insurer_number: "32130011".into(),
        subject_id: "1234-567-01".into(),
        subject_kind: pb::SubjectKind::Member.into(),
        declared: Some(person()),
        query: Some(fields(
            "高橋　一郎",
            "タカハシ イチロウ",
            "S50.1.1",
            "1",
            "東京都新宿区西新宿2-8-1",
        )),
        candidates: vec![pb::Candidate {
            fields: Some(fields(
                "髙橋一郎",
                "タカハシ イチロウ",
                "3500101",
                "1",
                "東京都新宿区西新宿二丁目８番１号",
            )),
            individual_number: "402718593027".into(),
        }],
        declared_individual_number: String::new(),
        received_at: Some(pbjson_types::Timestamp {
            seconds: 1_795_000_000,
            nanos: 0,
        }),
    }
}

/// A request that registers `number` for `subject`.
pub(crate) fn register_for(request_id: &str, subject: &str, number: &str) -> pb::VerifyRequest {
    let mut r = register_request(request_id);
    r.subject_id = subject.into();
    r.candidates[0].individual_number = number.into();
    r
}

/// A request that holds: the result is someone else (知子 for 智子).
pub(crate) fn hold_request(request_id: &str) -> pb::VerifyRequest {
    let mut r = register_request(request_id);
    r.candidates[0].fields.as_mut().unwrap().kanji_name = "髙橋 一朗".into();
    r
}

/// A request that returns: the form lacks the address.
pub(crate) fn return_request(request_id: &str) -> pb::VerifyRequest {
    let mut r = register_request(request_id);
    r.declared.as_mut().unwrap().address.clear();
    r
}

/// The fields an `INVALID_ARGUMENT` refusal names in its BadRequest detail, asserting that it is
/// one.
pub(crate) fn violated_fields(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    let details = status.get_error_details();
    let bad = details.bad_request().expect("a BadRequest detail");
    bad.field_violations
        .iter()
        .map(|v| v.field.clone())
        .collect()
}
