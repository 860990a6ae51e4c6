//! Checkpoints through the real binary: `audit checkpoint-key`, `audit checkpoint`, `serve`
//! with a checkpoint schedule, and `audit verify --checkpoints` finding a cut tail, a deleted
//! chain, an edited row and a forged checkpoint — each exit 5, naming the chain or the event.
//! The tamperer has the database's DDL rights: the append-only triggers are removed first.

use std::{
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Command, Output},
    time::Duration,
};

use verify_identity::contract::pb::verify_identity_client::VerifyIdentityClient;

use crate::helpers::{Backend, TestDatabase, hold_request, register_request, spawn_app};
use crate::process::{serve_with, sigterm, wait};

on_both_backends_process!(
    a_cut_tail_passes_the_chain_walk_but_not_the_checkpoints,
    a_deleted_chain_is_named_by_the_checkpoint_that_saw_it,
    an_edited_row_is_still_named_when_checkpoints_are_given,
    a_checkpoint_altered_or_signed_by_another_key_is_reported_as_tampering,
    the_server_writes_checkpoints_on_its_schedule_and_at_shutdown_and_they_verify,
);

fn bin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_verify-identity"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 scratch path")
}

/// A new key pair in `dir` by `audit checkpoint-key`: (signing key, public key).
pub(crate) fn key_pair(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let secret = dir.join(name);
    let out = bin(&["audit", "checkpoint-key", "--out", path(&secret)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let public = dir.join(format!("{name}.pub"));
    assert_eq!(text(&out.stdout), std::fs::read_to_string(&public).unwrap());
    (secret, public)
}

/// Appends a checkpoint of `db` to `file` by `audit checkpoint`.
pub(crate) fn checkpoint(db: &TestDatabase, key: &Path, file: &Path) {
    let out = bin(&[
        "audit",
        "checkpoint",
        "--database",
        &db.url,
        "--key",
        path(key),
        "--out",
        path(file),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// `audit verify`, with the checkpoints of `file` checked with `public` when given: the exit
/// status and what it printed.
pub(crate) fn verify(
    db: &TestDatabase,
    checkpoints: Option<(&Path, &Path)>,
) -> (Option<i32>, String) {
    let mut args = vec!["audit", "verify", "--database", &db.url];
    if let Some((file, public)) = checkpoints {
        args.extend([
            "--checkpoints",
            path(file),
            "--checkpoint-public-key",
            path(public),
        ]);
    }
    let out = bin(&args);
    (
        out.status.code(),
        format!("{}{}", text(&out.stdout), text(&out.stderr)),
    )
}

/// The heads of the last line of a checkpoint file: (writer id, seq).
pub(crate) fn last_heads(file: &Path) -> Vec<(String, i64)> {
    let content = std::fs::read_to_string(file).unwrap();
    let line: serde_json::Value = serde_json::from_str(content.lines().last().unwrap()).unwrap();
    line["heads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["writer_id"].as_str().unwrap().to_owned(),
                h["seq"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// Deletes events behind the service's back, removing the append-only guard first.
async fn delete_events(db: &TestDatabase, condition: &str) {
    let guard_off = match db.backend {
        Backend::Sqlite => "DROP TRIGGER IF EXISTS audit_events_no_delete;",
        Backend::Postgres => "ALTER TABLE audit_events DISABLE TRIGGER USER;",
    };
    db.execute(&format!(
        "{guard_off} DELETE FROM audit_events WHERE {condition};"
    ))
    .await
    .unwrap();
}

/// Deletes the idempotency keys of decisions no longer in the log, as a tamperer who knows
/// that `audit verify` rebuilds that table from the chain would.
async fn delete_rows_the_cut_left_behind(db: &TestDatabase) {
    let guard_off = match db.backend {
        Backend::Sqlite => "DROP TRIGGER IF EXISTS verification_requests_no_delete;",
        Backend::Postgres => "ALTER TABLE verification_requests DISABLE TRIGGER USER;",
    };
    // The derived tables (migrations 0008, 0010, 0011) have no guard: a tamperer simply
    // deletes the rows of the decisions that went.
    db.execute(&format!(
        "{guard_off} DELETE FROM verification_requests \
         WHERE verification_id NOT IN (SELECT verification_id FROM audit_events); \
         DELETE FROM open_holds WHERE hold_id NOT IN (SELECT id FROM audit_events); \
         DELETE FROM subject_decisions WHERE decision_id NOT IN (SELECT id FROM audit_events); \
         DELETE FROM hold_facts WHERE hold_id NOT IN (SELECT id FROM audit_events); \
         DELETE FROM hold_candidates WHERE hold_id NOT IN (SELECT id FROM audit_events);"
    ))
    .await
    .unwrap();
}

/// A server on a fresh database that decided `n` cases, stopped.
async fn log_of(backend: Backend, n: usize) -> crate::helpers::TestApp {
    let mut app = spawn_app(backend).await;
    for i in 0..n {
        app.client
            .verify(hold_request(&format!("cp-{i}")))
            .await
            .unwrap();
    }
    app.stop().await;
    app
}

async fn a_cut_tail_passes_the_chain_walk_but_not_the_checkpoints(backend: Backend) {
    let app = log_of(backend, 5).await;
    let (db, dir) = (&app.db, &app.db.dir);
    let (key, public) = key_pair(dir, "checkpoint.key");
    let file = dir.join("checkpoints.jsonl");
    checkpoint(db, &key, &file);
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let (code, out) = verify(db, Some((&file, &public)));
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("checkpoints intact: 1 checkpoint(s)"), "{out}");
    let [(writer, 5)] = &last_heads(&file)[..] else {
        panic!("one chain of five events: {:?}", last_heads(&file));
    };

    // The two newest events go: every remaining link still verifies, and only their request
    // keys, left behind, show it …
    delete_events(db, &format!("writer_id = '{writer}' AND seq > 3")).await;
    let (code, out) = verify(db, None);
    assert_eq!(code, Some(5), "{out}");
    assert!(out.contains("audit log intact"), "{out}");
    assert!(
        out.contains("verification_requests: UNSUPPORTED ROW"),
        "{out}"
    );
    // … until they go too.
    delete_rows_the_cut_left_behind(db).await;
    let (code, out) = verify(db, None);
    assert_eq!(
        code,
        Some(0),
        "the chain walk alone cannot see a cut tail: {out}"
    );
    // … and the checkpoint names the chain and the missing positions.
    let (code, out) = verify(db, Some((&file, &public)));
    println!("cut tail:\n{out}");
    assert_eq!(code, Some(5), "{out}");
    assert!(out.contains("checkpoints BROKEN"), "{out}");
    assert!(
        out.contains(&format!(
            "chain {writer} is SHORTER than checkpoint line 1: it ends at seq 3, the \
             checkpoint has seq 5; seq 4..=5 are missing"
        )),
        "{out}"
    );
    app.db.drop().await;
}

async fn a_deleted_chain_is_named_by_the_checkpoint_that_saw_it(backend: Backend) {
    let mut app = log_of(backend, 2).await;
    let (key, public) = key_pair(&app.db.dir, "checkpoint.key");
    let file = app.db.dir.join("checkpoints.jsonl");
    // A second process, with a chain of its own.
    let mut replica = app.spawn_replica().await;
    for i in 0..3 {
        replica
            .client
            .verify(register_request(&format!("replica-{i}")))
            .await
            .unwrap();
    }
    replica.stop().await;
    checkpoint(&app.db, &key, &file);
    let heads = last_heads(&file);
    assert_eq!(heads.len(), 2, "{heads:?}");
    let (writer, _) = heads.iter().find(|(_, seq)| *seq == 3).unwrap().clone();
    // A later checkpoint, taken after the whole chain went, no longer names it; the first does.
    delete_events(&app.db, &format!("writer_id = '{writer}'")).await;
    delete_rows_the_cut_left_behind(&app.db).await;
    checkpoint(&app.db, &key, &file);
    assert_eq!(last_heads(&file).len(), 1);
    let (code, out) = verify(&app.db, None);
    assert_eq!(
        code,
        Some(0),
        "the chain walk alone cannot see a chain removed: {out}"
    );
    let (code, out) = verify(&app.db, Some((&file, &public)));
    println!("deleted chain:\n{out}");
    assert_eq!(code, Some(5), "{out}");
    assert!(
        out.contains(&format!(
            "chain {writer} is MISSING: checkpoint line 1 has it at seq 3"
        )),
        "{out}"
    );
    app.stop().await;
    app.db.drop().await;
}

async fn an_edited_row_is_still_named_when_checkpoints_are_given(backend: Backend) {
    let app = log_of(backend, 3).await;
    let (key, public) = key_pair(&app.db.dir, "checkpoint.key");
    let file = app.db.dir.join("checkpoints.jsonl");
    checkpoint(&app.db, &key, &file);
    app.db.tamper_with_first_event().await;
    let (code, out) = verify(&app.db, Some((&file, &public)));
    println!("edited row:\n{out}");
    assert_eq!(code, Some(5), "{out}");
    let (writer, _) = &last_heads(&file)[0];
    assert!(out.contains("audit log BROKEN"), "{out}");
    assert!(
        out.contains(&format!(
            "first broken event: id 1 (writer {writer}, seq 1)"
        )) || out.contains(&format!("(writer {writer}, seq 1)")),
        "{out}"
    );
    app.db.drop().await;
}

async fn a_checkpoint_altered_or_signed_by_another_key_is_reported_as_tampering(backend: Backend) {
    let app = log_of(backend, 4).await;
    let dir = &app.db.dir;
    let (key, public) = key_pair(dir, "checkpoint.key");
    let file = dir.join("checkpoints.jsonl");
    checkpoint(&app.db, &key, &file);
    let (writer, _) = last_heads(&file)[0].clone();
    // The tamperer cuts the tail and "fixes" the checkpoint to match.
    delete_events(&app.db, &format!("writer_id = '{writer}' AND seq = 4")).await;
    let edited = std::fs::read_to_string(&file)
        .unwrap()
        .replace("\"seq\":4", "\"seq\":3");
    std::fs::write(&file, edited).unwrap();
    let (code, out) = verify(&app.db, Some((&file, &public)));
    println!("altered checkpoint:\n{out}");
    assert_eq!(code, Some(5), "{out}");
    assert!(
        out.contains(
            "checkpoint line 1 is not trustworthy: the signature does not verify: the \
             checkpoint was altered or forged"
        ),
        "{out}"
    );
    // A checkpoint signed with a key of the tamperer's own is no better.
    let (other_key, _) = key_pair(dir, "other.key");
    let forged = dir.join("forged.jsonl");
    checkpoint(&app.db, &other_key, &forged);
    let (code, out) = verify(&app.db, Some((&forged, &public)));
    println!("another key:\n{out}");
    assert_eq!(code, Some(5), "{out}");
    assert!(
        out.contains("is not trustworthy: signed by key ck-"),
        "{out}"
    );
    // The signing key stands in for the public key too; a world-readable one is refused.
    let out = bin(&[
        "audit",
        "verify",
        "--database",
        &app.db.url,
        "--checkpoints",
        path(&file),
        "--checkpoint-key",
        path(&key),
    ]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stdout));
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = bin(&[
        "audit",
        "checkpoint",
        "--database",
        &app.db.url,
        "--key",
        path(&key),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("chmod 600"),
        "{}",
        text(&out.stderr)
    );
    app.db.drop().await;
}

/// The server with a checkpoint to `file`, signed with `key`, every second.
fn serve_checkpointing(db: &TestDatabase, file: &Path, key: &Path) -> crate::process::Served {
    let schedule = [
        "--checkpoint-file",
        path(file),
        "--checkpoint-key-file",
        path(key),
        "--checkpoint-interval",
        "1s",
    ];
    serve_with(db, "info", &schedule)
}

async fn the_server_writes_checkpoints_on_its_schedule_and_at_shutdown_and_they_verify(
    backend: Backend,
) {
    let db = TestDatabase::new(backend).await;
    let (key, public) = key_pair(&db.dir, "checkpoint.key");
    let file = db.dir.join("checkpoints.jsonl");
    let mut served = serve_checkpointing(&db, &file, &key);
    let mut client = VerifyIdentityClient::connect(format!("http://{}", served.addr))
        .await
        .unwrap();
    for i in 0..3 {
        client
            .verify(register_request(&format!("scheduled-{i}")))
            .await
            .unwrap();
    }
    // At least one scheduled checkpoint after the calls.
    let lines = |f: &Path| {
        std::fs::read_to_string(f)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    let before = lines(&file);
    for _ in 0..50 {
        if lines(&file) > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(lines(&file) > before, "a checkpoint within the interval");
    client.verify(hold_request("scheduled-last")).await.unwrap();
    sigterm(&served.child);
    let status = tokio::task::spawn_blocking(move || wait(&mut served.child))
        .await
        .unwrap();
    assert!(status.success(), "exit status {status:?}");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "created private");
    // The checkpoint written at shutdown holds the last decision.
    let heads = last_heads(&file);
    assert_eq!(heads.len(), 1, "{heads:?}");
    assert_eq!(heads[0].1, 4, "the shutdown checkpoint has every event");
    let (code, out) = verify(&db, Some((&file, &public)));
    println!("scheduled, {} line(s):\n{out}", lines(&file));
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("audit log intact: 4 events checked in 1 chain(s)"),
        "{out}"
    );
    // The newest event removed afterwards: named.
    delete_events(&db, "seq = 4").await;
    let (code, out) = verify(&db, Some((&file, &public)));
    assert_eq!(code, Some(5), "{out}");
    assert!(
        out.contains(&format!("chain {} is SHORTER", heads[0].0)),
        "{out}"
    );
    db.drop().await;
}

#[test]
fn the_server_refuses_a_signing_key_others_can_read_and_says_how_to_fix_it() {
    let dir = std::env::temp_dir().join(format!("vi-cp-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let (key, _) = key_pair(&dir, "checkpoint.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_verify-identity"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database"])
        .arg(format!("sqlite:{}", dir.join("audit.sqlite").display()))
        .arg("--hmac-key-file")
        .arg(dir.join("hmac.key"))
        .arg("--checkpoint-file")
        .arg(dir.join("checkpoints.jsonl"))
        .arg("--checkpoint-key-file")
        .arg(&key)
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "started: {stderr}");
    assert!(
        stderr.contains("the checkpoint signing key file has mode 640")
            && stderr.contains("chmod 600"),
        "{stderr}"
    );
    assert!(!dir.join("checkpoints.jsonl").exists());
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_that_cannot_be_written_is_logged_and_the_service_goes_on() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let (key, _) = key_pair(&db.dir, "checkpoint.key");
    let unwritable = db.dir.join("no-such-directory/checkpoints.jsonl");
    let mut served = serve_checkpointing(&db, &unwritable, &key);
    let mut client = VerifyIdentityClient::connect(format!("http://{}", served.addr))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let answer = client.verify(register_request("still-serving")).await;
    assert!(answer.is_ok(), "{answer:?}");
    sigterm(&served.child);
    let lines = served.log.clone();
    let status = tokio::task::spawn_blocking(move || wait(&mut served.child))
        .await
        .unwrap();
    assert!(status.success(), "exit status {status:?}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let log = lines.lock().unwrap().clone();
    assert!(
        log.iter()
            .any(|l| l.contains("audit checkpoint NOT written") && l.contains("ERROR")),
        "{log:?}"
    );
    db.drop().await;
}
