//! The gate's tables (`verification_requests`, `registrations`, `hold_resolutions`) against
//! a tamperer with the database's DDL rights: rows deleted while the server runs let no second
//! decision of a request id, commit of a number or resolution of a hold through, and `audit
//! verify` (with checkpoints, through the binary) names every deleted row by table, kind and
//! event id — and the chain recording a fact twice, when the tamperer also blanked the lookup
//! columns the server asks. On SQLite, `INSERT OR REPLACE` from a plain connection (as the
//! sqlite3 shell opens the file) re-points no number.

use sqlx::Row;
use tonic::Code;
use tonic_types::StatusExt;
use verify_identity::contract::pb;

use crate::checkpoints::{checkpoint, key_pair, verify};
use crate::helpers::{Backend, TestApp, TestDatabase, hold_request, register_for, spawn_app};

on_both_backends_process!(
    rows_deleted_while_the_server_runs_let_nothing_through_and_audit_verify_names_them,
    a_tamperer_who_also_blanks_the_lookup_columns_is_named_by_audit_verify,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_insert_or_replace_from_a_plain_connection_re_points_no_number() {
    let mut app = spawn_app(Backend::Sqlite).await;
    claims_of_each_table(&app).await;
    let before = registrations(&app.db).await;
    // The sqlite3 shell's defaults: no `recursive_triggers`, so REPLACE deletes the row it
    // replaces without firing the DELETE trigger.
    let outcome = app
        .db
        .execute(
            "INSERT OR REPLACE INTO registrations (insurer_number, number_fp_key_id, number_fp, \
             subject_id, verification_id, committed_at_us) \
             SELECT insurer_number, number_fp_key_id, number_fp, 'someone-else', \
             verification_id, committed_at_us FROM registrations",
        )
        .await;
    if let Err(e) = outcome {
        assert!(e.to_string().contains("append-only"), "{e}");
    }
    assert_eq!(registrations(&app.db).await, before);
    // The number is still the subject's: another subject's decision on it holds.
    let other = app
        .client
        .verify(register_for("r-other", "someone-else", NUMBER))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(other.decision(), pb::Decision::Hold);
    app.stop().await;
    let (code, out) = verify(&app.db, None);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("tables intact"), "{out}");
    app.finish().await;
}

const INSURER: &str = "32130011";
const NUMBER: &str = "402718593027";
const SUBJECT: &str = "1234-567-01";

/// What the server claimed: the register decision and its commit, and a closed hold.
struct Claims {
    registered: pb::VerifyResponse,
    held: pb::VerifyResponse,
}

/// One row in each table: a register decision (request `r-1`) committed, and a hold closed.
async fn claims_of_each_table(app: &TestApp) -> Claims {
    let mut client = app.client.clone();
    let registered = client
        .verify(register_for("r-1", SUBJECT, NUMBER))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(registered.decision(), pb::Decision::Register);
    client
        .commit_registration(commit_request(&registered.verification_id, SUBJECT))
        .await
        .unwrap();
    let held = client
        .verify(hold_request("h-1"))
        .await
        .unwrap()
        .into_inner();
    client.resolve_hold(resolve(&held)).await.unwrap();
    Claims { registered, held }
}

fn commit_request(verification_id: &str, subject: &str) -> pb::CommitRegistrationRequest {
    pb::CommitRegistrationRequest {
        verification_id: verification_id.into(),
        insurer_number: INSURER.into(),
        subject_id: subject.into(),
        individual_number: NUMBER.into(),
    }
}

fn resolve(held: &pb::VerifyResponse) -> pb::ResolveHoldRequest {
    pb::ResolveHoldRequest {
        verification_id: held.verification_id.clone(),
        insurer_number: INSURER.into(),
        resolution: pb::Resolution::Withdrawn.into(),
        operator_id: "operator-7".into(),
        note: "withdrawn by the employer".into(),
        replaced_by_verification_id: String::new(),
        ..Default::default()
    }
}

/// Every row of `registrations`, as text.
async fn registrations(db: &TestDatabase) -> Vec<String> {
    let sql = "SELECT insurer_number || ',' || number_fp || ',' || subject_id || ',' || \
               verification_id FROM registrations ORDER BY number_fp";
    let rows: Vec<String> = match db.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
            let rows = sqlx::query(sql).fetch_all(&pool).await.unwrap();
            let rows = rows.iter().map(|r| r.get::<String, _>(0)).collect();
            pool.close().await;
            rows
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            let rows = sqlx::query(sql).fetch_all(&pool).await.unwrap();
            let rows = rows.iter().map(|r| r.get::<String, _>(0)).collect();
            pool.close().await;
            rows
        }
    };
    assert!(!rows.is_empty());
    rows
}

/// Deletes every row of the gate's tables behind the server's back, its guards removed first.
async fn delete_gate_rows(db: &TestDatabase) {
    for table in ["verification_requests", "registrations", "hold_resolutions"] {
        let guard_off = match db.backend {
            Backend::Sqlite => format!("DROP TRIGGER IF EXISTS {table}_no_delete;"),
            Backend::Postgres => format!("ALTER TABLE {table} DISABLE TRIGGER USER;"),
        };
        db.execute(&format!("{guard_off} DELETE FROM {table};"))
            .await
            .unwrap();
    }
}

/// The ErrorInfo reason of a FAILED_PRECONDITION refusal.
fn refusal_reason(status: &tonic::Status) -> String {
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    let info = status.get_error_details().error_info().cloned();
    info.expect("an ErrorInfo detail").reason
}

/// A checkpoint of `db` by `audit checkpoint`, and `audit verify` against it: exit status and
/// output. Checkpoints show a chain cut short; they cannot show a table row that is gone.
fn verify_with_checkpoints(db: &TestDatabase) -> (Option<i32>, String) {
    let (key, public) = key_pair(&db.dir, "checkpoint.key");
    let file = db.dir.join("checkpoints.jsonl");
    checkpoint(db, &key, &file);
    verify(db, Some((&file, &public)))
}

async fn rows_deleted_while_the_server_runs_let_nothing_through_and_audit_verify_names_them(
    backend: Backend,
) {
    let mut app = spawn_app(backend).await;
    let claims = claims_of_each_table(&app).await;
    delete_gate_rows(&app.db).await;
    let mut client = app.client.clone();

    // The request id again, with other content: still refused as a reuse.
    let reused = client
        .verify(register_for("r-1", "another-subject", NUMBER))
        .await
        .unwrap_err();
    assert_eq!(reused.code(), Code::AlreadyExists, "{reused:?}");
    // The same request: still answered with the original decision.
    let replayed = client
        .verify(register_for("r-1", SUBJECT, NUMBER))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(replayed.verification_id, claims.registered.verification_id);
    // The number for another subject: held at Verify, refused at commit.
    let sibling = client
        .verify(register_for("r-2", "another-subject", NUMBER))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(sibling.decision(), pb::Decision::Hold);
    let second_commit = client
        .commit_registration(commit_request(&sibling.verification_id, "another-subject"))
        .await
        .unwrap_err();
    assert_eq!(refusal_reason(&second_commit), "NOT_REGISTER");
    // The committed verification again: the original commit, not a second one.
    let repeat = client
        .commit_registration(commit_request(&claims.registered.verification_id, SUBJECT))
        .await
        .unwrap()
        .into_inner();
    assert!(!repeat.commit_id.is_empty());
    // The closed hold: closed.
    let again = client
        .resolve_hold(resolve(&claims.held))
        .await
        .unwrap_err();
    assert_eq!(refusal_reason(&again), "HOLD_NOT_OPEN");
    app.stop().await;

    let (code, out) = verify_with_checkpoints(&app.db);
    assert_eq!(code, Some(5), "{out}");
    for line in [
        "audit log intact",
        "checkpoints intact",
        "tables BROKEN",
        "verification_requests: MISSING ROW: decision event id",
        "registrations: MISSING ROW: commit event id",
        "hold_resolutions: MISSING ROW: resolution event id",
    ] {
        assert!(out.contains(line), "{line} in {out}");
    }
    assert!(!out.contains("RECORDED TWICE"), "{out}");
    for value in [NUMBER, SUBJECT, "another-subject", "r-1"] {
        assert!(!out.contains(value), "{value} in {out}");
    }
    app.finish().await;
}

/// The lookup columns are the server's way to ask the chain; a tamperer who knows them can
/// blank them too (they are outside the hash). The server then has nothing left to refuse a
/// second commit with — but the chain still records both, and `audit verify` rebuilds the
/// tables from the events' content, not from those columns.
async fn a_tamperer_who_also_blanks_the_lookup_columns_is_named_by_audit_verify(backend: Backend) {
    let mut app = spawn_app(backend).await;
    claims_of_each_table(&app).await;
    delete_gate_rows(&app.db).await;
    let guard_off = match backend {
        Backend::Sqlite => "DROP TRIGGER IF EXISTS audit_events_no_update;",
        Backend::Postgres => "ALTER TABLE audit_events DISABLE TRIGGER USER;",
    };
    app.db
        .execute(&format!(
            "{guard_off} UPDATE audit_events SET subject_id = NULL, number_fp = NULL, \
             number_fp_key_id = NULL, request_id = NULL WHERE format = 2;"
        ))
        .await
        .unwrap();
    let mut client = app.client.clone();
    let sibling = client
        .verify(register_for("r-2", "another-subject", NUMBER))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(sibling.decision(), pb::Decision::Register);
    client
        .commit_registration(commit_request(&sibling.verification_id, "another-subject"))
        .await
        .unwrap();
    app.stop().await;

    let (code, out) = verify_with_checkpoints(&app.db);
    assert_eq!(code, Some(5), "{out}");
    assert!(out.contains("audit log intact"), "{out}");
    assert!(
        out.contains("registrations: RECORDED TWICE: commit event ids"),
        "{out}"
    );
    assert!(out.contains("registrations: MISSING ROW"), "{out}");
    app.finish().await;
}
