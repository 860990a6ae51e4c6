//! Fresh stores for the runners, and tests that only one backend can express.

use std::{future::Future, panic::AssertUnwindSafe, path::PathBuf, sync::Arc};

use futures::FutureExt;
use sqlx::Connection;

use crate::audit::{
    self, AuditBackend, AuditError,
    store::{postgres::PostgresBackend, sqlite::SqliteBackend},
};

use super::TestBackend;

/// Runs `test`, then `cleanup`, then re-raises the test's panic if it had one.
async fn run_then(test: impl Future<Output = ()>, cleanup: impl Future<Output = ()>) {
    let outcome = AssertUnwindSafe(test).catch_unwind().await;
    cleanup.await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// A SQLite file in a directory of its own under the system temp dir.
pub(super) struct SqliteDb {
    pub(super) backend: Arc<dyn TestBackend>,
    dir: PathBuf,
}

impl SqliteDb {
    pub(super) async fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "verify-identity-audit-{}",
            uuid::Uuid::now_v7().simple()
        ));
        // A directory that does not exist yet: connecting creates it.
        let url = format!("sqlite://{}", dir.join("var/audit.sqlite").display());
        let backend = SqliteBackend::connect(&url)
            .await
            .expect("open a fresh SQLite store");
        SqliteDb {
            backend: Arc::new(backend),
            dir,
        }
    }

    pub(super) async fn run(self, test: impl Future<Output = ()>) {
        let SqliteDb { backend, dir } = self;
        run_then(test, async move {
            backend.close().await;
            let _ = std::fs::remove_dir_all(&dir);
        })
        .await;
    }
}

/// A schema of its own in the database named by `VERIFY_IDENTITY_TEST_POSTGRES_URL`.
pub(super) struct PostgresDb {
    pub(super) backend: Arc<dyn TestBackend>,
    url: String,
    schema: String,
}

impl PostgresDb {
    pub(super) async fn new() -> Self {
        // Loud, not skipped: these tests run only when asked for, and a run that asked for
        // them must not pass without a database.
        let url = std::env::var("VERIFY_IDENTITY_TEST_POSTGRES_URL").unwrap_or_else(|_| {
            panic!(
                "VERIFY_IDENTITY_TEST_POSTGRES_URL is not set: the PostgreSQL suite was \
                 requested (--ignored) but has no database, e.g. \
                 postgres://postgres@127.0.0.1:5432/test"
            )
        });
        let schema = format!("t_{}", uuid::Uuid::now_v7().simple());
        let mut admin = sqlx::PgConnection::connect(&url)
            .await
            .expect("connect to PostgreSQL");
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&mut admin)
            .await
            .expect("create a test schema");
        admin.close().await.expect("close");
        let separator = if url.contains('?') { '&' } else { '?' };
        let scoped = format!("{url}{separator}options[search_path]={schema}");
        let backend = PostgresBackend::connect(&scoped)
            .await
            .expect("open a fresh PostgreSQL store");
        PostgresDb {
            backend: Arc::new(backend),
            url,
            schema,
        }
    }

    pub(super) async fn run(self, test: impl Future<Output = ()>) {
        let PostgresDb {
            backend,
            url,
            schema,
        } = self;
        run_then(test, async move {
            backend.close().await;
            let mut admin = sqlx::PgConnection::connect(&url).await.expect("connect");
            sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                .execute(&mut admin)
                .await
                .expect("drop the test schema");
        })
        .await;
    }
}

/// Every conflict clause SQLite has, against every protected table, from a connection with
/// SQLite's defaults, as the sqlite3 shell opens the file: `recursive_triggers` off, so that
/// `INSERT OR REPLACE` and `REPLACE` delete the conflicting row without firing its DELETE
/// trigger. Before migrations 0007 the `registrations` statements re-pointed the number to
/// another subject.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_refuses_every_conflict_clause_from_a_connection_like_the_shells() {
    let db = SqliteDb::new().await;
    let backend = db.backend.clone();
    let file = db.dir.join("var/audit.sqlite");
    db.run(async move {
        let mut chain = audit::ChainState::new();
        let hold = super::decided(super::INSURER, "r-2", "v-2");
        backend
            .append_batch(
                &mut chain,
                &[
                    super::decision(super::INSURER, "r-1", "v-1"),
                    super::commit(super::INSURER, "s-1", "123456789018", "v-1"),
                    super::held(hold),
                    super::resolution(super::INSURER, "v-2"),
                ],
            )
            .await
            .unwrap();
        let before = super::tables_report(&*backend).await;
        assert!(before.is_intact(), "{:?}", before.findings);
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&file);
        let mut shell = sqlx::SqliteConnection::connect_with(&options)
            .await
            .unwrap();
        let recursive: i64 = sqlx::query_scalar("PRAGMA recursive_triggers")
            .fetch_one(&mut shell)
            .await
            .unwrap();
        assert_eq!(recursive, 0, "the shell's default");
        // Each table with an existing key and other content for it.
        let rows = [
            (
                "verification_requests (insurer_number, request_id, verification_id)",
                "'12345678', 'r-1', 'v-forged'",
                "verification_id = 'v-forged'",
            ),
            (
                "registrations (insurer_number, number_fp_key_id, number_fp, subject_id, \
                 verification_id, committed_at_us)",
                "(SELECT insurer_number FROM registrations), \
                 (SELECT number_fp_key_id FROM registrations), \
                 (SELECT number_fp FROM registrations), 's-forged', 'v-forged', 1",
                "subject_id = 's-forged'",
            ),
            (
                "hold_resolutions (insurer_number, verification_id, resolved_at_us)",
                "'12345678', 'v-2', 1",
                "resolved_at_us = 1",
            ),
            (
                "audit_events (id, format, writer_id, seq, event_type, occurred_at_us, \
                 insurer_number, verification_id, decision, hash, body)",
                "1, 2, (SELECT writer_id FROM audit_events WHERE id = 1), 1, \
                 'verification.decided', 0, '12345678', 'v-forged', 'register', X'00', X'00'",
                "verification_id = 'v-forged'",
            ),
        ];
        for (table, values, set) in rows {
            let name = table.split_whitespace().next().unwrap();
            for sql in [
                format!("INSERT OR REPLACE INTO {table} VALUES ({values})"),
                format!("REPLACE INTO {table} VALUES ({values})"),
                format!("INSERT OR IGNORE INTO {table} VALUES ({values})"),
                format!("INSERT INTO {table} VALUES ({values}) ON CONFLICT DO UPDATE SET {set}"),
                format!("INSERT INTO {table} VALUES ({values})"),
                format!("UPDATE {name} SET {set}"),
                format!("UPDATE OR REPLACE {name} SET {set}"),
                format!("DELETE FROM {name}"),
                format!("REPLACE INTO {name} SELECT * FROM {name}"),
            ] {
                match sqlx::query(&sql).execute(&mut shell).await {
                    Ok(done) => assert_eq!(done.rows_affected(), 0, "{sql}"),
                    Err(e) => {
                        let message = e.to_string();
                        assert!(
                            message.contains("append-only") || message.contains("UNIQUE"),
                            "{sql}: {message}"
                        );
                    }
                }
            }
        }
        shell.close().await.unwrap();
        assert_eq!(super::tables_report(&*backend).await, before);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL"]
async fn postgres_refuses_truncate() {
    let db = PostgresDb::new().await;
    let backend = db.backend.clone();
    db.run(async move {
        let mut chain = audit::ChainState::new();
        let event = super::decision(super::INSURER, "r-1", "v-1");
        backend.append_batch(&mut chain, &[event]).await.unwrap();
        for table in ["audit_events", "verification_requests"] {
            let sql = format!("TRUNCATE {table}");
            let message = backend.execute_raw(&sql).await.expect_err(&sql);
            assert!(message.contains("append-only"), "{sql}: {message}");
        }
        assert!(audit::verify_store(&*backend).await.unwrap().is_intact());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sqlite_connection_commits_durably_in_wal_mode() {
    let db = SqliteDb::new().await;
    let backend = db.backend.clone();
    db.run(async move {
        let sql = "SELECT (SELECT synchronous FROM pragma_synchronous) || ',' || \
                   (SELECT journal_mode FROM pragma_journal_mode) || ',' || \
                   (SELECT recursive_triggers FROM pragma_recursive_triggers) || ',' || \
                   (SELECT foreign_keys FROM pragma_foreign_keys)";
        // Several at once, so that several pooled connections answer.
        let answers = futures::future::join_all((0..4).map(|_| backend.fetch_text(sql))).await;
        for answer in answers {
            // synchronous = 2 is FULL.
            assert_eq!(answer.as_deref(), Ok("2,wal,1,1"));
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL"]
async fn every_postgres_connection_commits_durably() {
    let db = PostgresDb::new().await;
    let backend = db.backend.clone();
    db.run(async move {
        let sql = "SELECT current_setting('synchronous_commit')";
        let answers = futures::future::join_all((0..4).map(|_| backend.fetch_text(sql))).await;
        for answer in answers {
            assert_eq!(answer.as_deref(), Ok("on"));
        }
    })
    .await;
}

#[tokio::test]
async fn an_in_memory_sqlite_store_is_refused_because_it_is_not_durable() {
    for url in ["sqlite::memory:", "sqlite://audit.sqlite?mode=memory"] {
        let refused = audit::connect(url).await.err();
        assert!(matches!(refused, Some(AuditError::Config(_))), "{url}");
    }
}

#[tokio::test]
async fn an_unknown_scheme_is_a_configuration_error() {
    let refused = audit::connect("mysql://localhost/audit").await.err();
    assert!(matches!(refused, Some(AuditError::Config(_))));
}

#[tokio::test]
async fn an_unreachable_postgres_is_unavailable_and_the_error_holds_no_url() {
    let url = "postgres://someone:secret-password@127.0.0.1:9/audit";
    match audit::connect(url).await {
        Err(e @ AuditError::Unavailable(_)) => {
            assert!(!e.to_string().contains("secret-password"), "{e}");
        }
        other => panic!("expected Unavailable, got {:?}", other.err()),
    }
}

/// The first `n` migrations of a backend, as a release before the upgrade had them.
fn first_migrations(all: sqlx::migrate::Migrator, n: usize) -> sqlx::migrate::Migrator {
    sqlx::migrate::Migrator {
        migrations: all.migrations[..n].to_vec().into(),
        ..all
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_rows_of_the_first_release_verify_after_the_upgrade_migration() {
    use super::formats::{
        Schema, first_release_log, format_1_statements, rows_read_back_and_verify_after_the_upgrade,
    };
    let dir = std::env::temp_dir().join(format!(
        "verify-identity-upgrade-{}",
        uuid::Uuid::now_v7().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("audit.sqlite").display());
    let events = first_release_log();
    let options: sqlx::sqlite::SqliteConnectOptions = url
        .parse::<sqlx::sqlite::SqliteConnectOptions>()
        .unwrap()
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    first_migrations(sqlx::migrate!("migrations/sqlite"), 4)
        .run(&pool)
        .await
        .unwrap();
    let blob = |b: &[u8]| format!("X'{}'", hex::encode(b));
    let writer = "0190aaaa-0000-7000-8000-000000000001";
    let (statements, _) = format_1_statements(writer, &events, Schema::BeforeUpgrade, &blob);
    for sql in statements {
        sqlx::query(&sql).execute(&pool).await.expect(&sql);
    }
    pool.close().await;
    let backend = audit::connect(&url)
        .await
        .expect("the upgrade migration runs");
    let reader = backend.clone();
    let test = async move { rows_read_back_and_verify_after_the_upgrade(&*reader, &events).await };
    run_then(test, async move {
        backend.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL"]
async fn postgres_rows_of_the_first_release_verify_after_the_upgrade_migration() {
    use super::formats::{
        Schema, first_release_log, format_1_statements, rows_read_back_and_verify_after_the_upgrade,
    };
    let url = std::env::var("VERIFY_IDENTITY_TEST_POSTGRES_URL")
        .expect("VERIFY_IDENTITY_TEST_POSTGRES_URL is set for the PostgreSQL suite");
    let schema = format!("t_{}", uuid::Uuid::now_v7().simple());
    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let separator = if url.contains('?') { '&' } else { '?' };
    let scoped = format!("{url}{separator}options[search_path]={schema}");
    let pool = sqlx::PgPool::connect(&scoped).await.unwrap();
    first_migrations(sqlx::migrate!("migrations/postgres"), 4)
        .run(&pool)
        .await
        .unwrap();
    let events = first_release_log();
    let blob = |b: &[u8]| format!("'\\x{}'::bytea", hex::encode(b));
    let writer = "0190aaaa-0000-7000-8000-000000000001";
    let (statements, _) = format_1_statements(writer, &events, Schema::BeforeUpgrade, &blob);
    for sql in statements {
        sqlx::query(&sql).execute(&pool).await.expect(&sql);
    }
    pool.close().await;
    let backend = audit::connect(&scoped)
        .await
        .expect("the upgrade migration runs");
    let reader = backend.clone();
    let test = async move { rows_read_back_and_verify_after_the_upgrade(&*reader, &events).await };
    run_then(test, async move {
        backend.close().await;
        sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
            .execute(&mut admin)
            .await
            .unwrap();
    })
    .await;
}

/// A log written before migration 0008 (its open holds table and the migration's record
/// removed, as an older binary left the file) opens with the table filled from the events:
/// the same open holds, with their assignees, and `audit verify` finds nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_written_before_the_open_holds_table_opens_with_the_same_queue() {
    use crate::audit::store::open_holds::{OpenHoldsQuery, OpenHoldsRange};
    let db = SqliteDb::new().await;
    let backend = db.backend.clone();
    let url = format!("sqlite://{}", db.dir.join("var/audit.sqlite").display());
    db.run(async move {
        let mut chain = audit::ChainState::new();
        let mut events = Vec::new();
        for n in 1..=5 {
            events.push(super::held(super::decided(
                super::INSURER,
                &format!("r-{n}"),
                &format!("v-{n}"),
            )));
        }
        events.push(super::resolution(super::INSURER, "v-2"));
        events.push(audit::NewEvent::HoldAssigned(audit::HoldAssigned {
            occurred_at: std::time::SystemTime::now(),
            caller: "clerk".into(),
            insurer_number: super::INSURER.into(),
            subject_id: "s-4".into(),
            verification_id: "v-4".into(),
            assignee: "sato".into(),
        }));
        backend.append_batch(&mut chain, &events).await.unwrap();
        let query = OpenHoldsQuery {
            insurer_number: super::INSURER,
            range: OpenHoldsRange::Oldest {
                rank_bits: 0,
                overdue_only: false,
            },
            after_id: 0,
            as_of_us: 0,
            reason_bits: 0,
            assignee: "",
            unassigned_only: false,
            limit: 100,
        };
        let listed = |b: Arc<dyn AuditBackend>| {
            let query = query.clone();
            async move {
                let page = b.open_holds_page(&query).await.unwrap();
                let mine = b
                    .open_holds_page(&OpenHoldsQuery {
                        assignee: "sato",
                        ..query.clone()
                    })
                    .await
                    .unwrap();
                let counts = b.open_hold_counts(super::INSURER, 0).await.unwrap();
                (
                    page.iter().map(|e| e.id).collect::<Vec<_>>(),
                    mine.iter().map(|e| e.id).collect::<Vec<_>>(),
                    counts,
                )
            }
        };
        let before = listed(backend.clone()).await;
        assert_eq!(before.0.len(), 4);
        assert_eq!(before.1.len(), 1);
        for sql in [
            "DROP TABLE open_holds",
            "DROP TABLE open_holds_fill",
            "DELETE FROM _sqlx_migrations WHERE version = 8",
        ] {
            backend.execute_raw(sql).await.expect(sql);
        }
        let reopened = audit::connect(&url).await.expect("reopen");
        assert_eq!(listed(reopened.clone()).await, before);
        let report = super::tables_report(&*reopened).await;
        assert!(report.is_intact(), "{:?}", report.findings);
        // Filled once: a second start finds nothing to fill and changes nothing.
        reopened.close().await;
        let again = audit::connect(&url).await.expect("reopen again");
        assert_eq!(listed(again.clone()).await, before);
        again.close().await;
    })
    .await;
}

/// A log written before migration 0010 (its subject decisions table and the migration's
/// record removed, as an older binary left the file) opens with the table filled from the
/// decisions: the same histories, and `audit verify` finds nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_written_before_the_subject_decisions_table_opens_with_the_same_histories() {
    let db = SqliteDb::new().await;
    let backend = db.backend.clone();
    let url = format!("sqlite://{}", db.dir.join("var/audit.sqlite").display());
    db.run(async move {
        let mut chain = audit::ChainState::new();
        let mut events = Vec::new();
        // More decisions than one fill statement reads, two per subject.
        for n in 1..=1_201 {
            let mut d = super::decided(super::INSURER, &format!("r-{n}"), &format!("v-{n}"));
            d.subject_id = format!("s-{}", n % 600);
            events.push(super::held(d));
        }
        events.push(super::resolution(super::INSURER, "v-2"));
        backend.append_batch(&mut chain, &events).await.unwrap();
        let histories = |b: Arc<dyn AuditBackend>| async move {
            let mut all = Vec::new();
            for subject in ["s-2", "s-0", "s-1"] {
                let events = b.subject_history(super::INSURER, subject, 100).await;
                all.push(events.unwrap().iter().map(|e| e.id).collect::<Vec<_>>());
            }
            all
        };
        let before = histories(backend.clone()).await;
        assert_eq!(before[0].len(), 3, "two decisions and a resolution");
        assert_eq!(before[2].len(), 3, "three decisions");
        for sql in [
            "DROP TABLE subject_decisions",
            "DROP TABLE subject_decisions_fill",
            "DELETE FROM _sqlx_migrations WHERE version = 10",
        ] {
            backend.execute_raw(sql).await.expect(sql);
        }
        let reopened = audit::connect(&url).await.expect("reopen");
        assert_eq!(histories(reopened.clone()).await, before);
        let report = super::tables_report(&*reopened).await;
        assert!(report.is_intact(), "{:?}", report.findings);
        reopened.close().await;
    })
    .await;
}

/// A log written before migration 0011 (its hold facts tables and the migration's record
/// removed, as an older binary left the file) opens with them filled from the events: the
/// same groups for the statistics, and `audit verify` finds nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_written_before_the_hold_facts_tables_opens_with_the_same_statistics() {
    let db = SqliteDb::new().await;
    let backend = db.backend.clone();
    let url = format!("sqlite://{}", db.dir.join("var/audit.sqlite").display());
    db.run(async move {
        let mut chain = audit::ChainState::new();
        let mut events = Vec::new();
        for n in 1..=4 {
            events.push(super::held(super::decided(
                super::INSURER,
                &format!("r-{n}"),
                &format!("v-{n}"),
            )));
        }
        events.push(super::NewEvent::Decided(super::register_decision(
            "s-9",
            "123456789018",
            "x-9",
        )));
        events.push(super::resolution(super::INSURER, "v-2"));
        if let audit::NewEvent::HoldResolved(r) = super::resolution(super::INSURER, "v-3") {
            events.push(audit::NewEvent::HoldResolved(audit::HoldResolved {
                resolution: crate::domain::gate::Resolution::Requeried,
                replaced_by_verification_id: "v-x-9".into(),
                ..r
            }));
        }
        backend.append_batch(&mut chain, &events).await.unwrap();
        let groups = |b: Arc<dyn AuditBackend>| async move {
            let mut groups = b.hold_groups(None, 0, i64::MAX, i64::MAX).await.unwrap();
            groups.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
            groups
        };
        let before = groups(backend.clone()).await;
        assert_eq!(before.iter().map(|g| g.holds).sum::<i64>(), 4);
        for sql in [
            "DROP TABLE hold_facts",
            "DROP TABLE hold_candidates",
            "DROP TABLE hold_facts_fill",
            "DELETE FROM _sqlx_migrations WHERE version = 11",
        ] {
            backend.execute_raw(sql).await.expect(sql);
        }
        let reopened = audit::connect(&url).await.expect("reopen");
        assert_eq!(groups(reopened.clone()).await, before);
        let report = super::tables_report(&*reopened).await;
        assert!(report.is_intact(), "{:?}", report.findings);
        reopened.close().await;
    })
    .await;
}
