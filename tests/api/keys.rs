//! One number, two people: a number committed under one fingerprint key must never be
//! registered for someone else because a process was started with another key — from another
//! directory, as another replica, or as an embedded `bulk` run.

use std::{ffi::OsString, path::Path, process::Command};

use verify_identity::{
    audit::FingerprintKey,
    contract::pb::{self, verify_identity_client::VerifyIdentityClient},
};

use crate::{
    helpers::{Backend, TestDatabase, register_for, settings_for, spawn_app, spawn_on},
    process::{Served, serve_in, sigterm, wait},
};

on_both_backends_process!(
    a_number_committed_for_one_subject_is_held_for_another_whichever_directory_serves_it,
    embedded_bulk_from_another_directory_holds_a_number_committed_for_another_subject,
    a_rotation_keeping_the_old_key_still_finds_what_it_fingerprinted,
);

/// A number with a valid check digit (synthetic).
const NUMBER: &str = "123456789018";
const INSURER: &str = "32130011";

/// A fresh directory, removed when dropped: "somewhere else" to start a process from.
struct Elsewhere(std::path::PathBuf);

impl Elsewhere {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("vi-else-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        Elsewhere(dir)
    }
}

impl Drop for Elsewhere {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Where the key of `db` is: by default beside a SQLite database; PostgreSQL has no default,
/// so it is given explicitly there (at the same place).
fn key_of(db: &TestDatabase) -> std::path::PathBuf {
    db.dir.join("audit-hmac.key")
}

/// `--database URL`, plus `--hmac-key-file` where the backend needs one.
fn database_args(db: &TestDatabase) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["--database".into(), db.url.clone().into()];
    if db.backend == Backend::Postgres {
        args.extend(["--hmac-key-file".into(), key_of(db).into_os_string()]);
    }
    args
}

fn with(mut args: Vec<OsString>, extra: &[&dyn AsRef<std::ffi::OsStr>]) -> Vec<OsString> {
    args.extend(extra.iter().map(|a| a.as_ref().to_owned()));
    args
}

async fn client(served: &Served) -> VerifyIdentityClient<tonic::transport::Channel> {
    VerifyIdentityClient::connect(format!("http://{}", served.addr))
        .await
        .unwrap()
}

/// Decides and commits [`NUMBER`] for `subject` through `served`.
async fn commit_number_for(served: &Served, subject: &str) {
    let mut c = client(served).await;
    let decided = c
        .verify(register_for(&format!("{subject}-r"), subject, NUMBER))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(decided.decision(), pb::Decision::Register);
    c.commit_registration(pb::CommitRegistrationRequest {
        verification_id: decided.verification_id,
        insurer_number: INSURER.into(),
        subject_id: subject.into(),
        individual_number: NUMBER.into(),
    })
    .await
    .unwrap();
}

fn stop(mut served: Served) {
    sigterm(&served.child);
    assert!(wait(&mut served.child).success());
}

/// The id of the key in `file`.
fn key_id(file: &Path) -> String {
    FingerprintKey::load_existing(file).unwrap().unwrap().id
}

/// A private key file of 32 random-looking bytes at `path`.
fn write_key(path: &Path, byte: u8) {
    use std::os::unix::fs::PermissionsExt;
    let secret: Vec<u8> = (0..32u8).map(|i| i.wrapping_mul(37) ^ byte).collect();
    std::fs::write(path, hex::encode(secret)).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// Asserts that `started` is a refusal to start whose message names every one of `needles`.
fn refused(started: Result<Served, (std::process::ExitStatus, String)>, needles: &[&str]) {
    let (status, log) = match started {
        Ok(served) => {
            stop(served);
            panic!("started, but had to refuse");
        }
        Err(refusal) => refusal,
    };
    assert!(!status.success(), "{status}: {log}");
    for needle in needles {
        assert!(log.contains(needle), "no {needle:?} in: {log}");
    }
    // Said once, not once more as its own cause.
    assert_eq!(log.matches(needles[0]).count(), 1, "{log}");
}

pub(crate) async fn a_number_committed_for_one_subject_is_held_for_another_whichever_directory_serves_it(
    backend: Backend,
) {
    let db = TestDatabase::new(backend).await;
    let first = serve_in(&db.dir, "info", &database_args(&db)).unwrap();
    commit_number_for(&first, "1234-567-01").await;
    let elsewhere = Elsewhere::new();

    // From another directory, with no key file named: SQLite finds the key beside the
    // database; PostgreSQL refuses to guess.
    let bare: Vec<OsString> = vec!["--database".into(), db.url.clone().into()];
    let second = match backend {
        Backend::Sqlite => serve_in(&elsewhere.0, "info", &bare).unwrap(),
        Backend::Postgres => {
            refused(
                serve_in(&elsewhere.0, "info", &bare),
                &["PostgreSQL", "--hmac-key-file"],
            );
            serve_in(&elsewhere.0, "info", &database_args(&db)).unwrap()
        }
    };
    let mut c = client(&second).await;
    let decided = c
        .verify(register_for("other-r", "1234-567-02", NUMBER))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(decided.decision(), pb::Decision::Hold);
    assert!(
        decided
            .hold_reasons()
            .any(|r| r == pb::HoldReason::NumberRegisteredToAnotherSubject),
        "{decided:?}"
    );

    // A replica started with another key, or a key file that is not there, refuses, naming
    // the key the store holds fingerprints under, the file it looked at, and the flag.
    let store_key = key_id(&key_of(&db));
    let missing = elsewhere.0.join("missing.key");
    let missing_args = with(bare.clone(), &[&"--hmac-key-file", &missing]);
    refused(
        serve_in(&elsewhere.0, "info", &missing_args),
        &[
            &store_key,
            &missing.display().to_string(),
            "--hmac-key-file",
        ],
    );
    assert!(
        !missing.exists(),
        "no key is created for a store that has one"
    );
    let other = elsewhere.0.join("other.key");
    write_key(&other, 0x5a);
    let other_args = with(bare.clone(), &[&"--hmac-key-file", &other]);
    refused(
        serve_in(&elsewhere.0, "info", &other_args),
        &[&store_key, &key_id(&other), "--hmac-previous-key-file"],
    );

    stop(second);
    stop(first);
    db.drop().await;
}

/// A reverse roster of one row: [`NUMBER`], registered by the insurer for `subject`, and the
/// J-LIS answer for it (the same person).
fn roster(subject: &str) -> String {
    format!(
        "request_id,insurer_number,subject_id,subject_kind,registered_number,kanji_name,\
         kana_name,birth_date,sex,address,jlis_kanji_name,jlis_kana_name,jlis_birth_date,\
         jlis_sex,jlis_address,jlis_number\r\n\
         ,{INSURER},{subject},member,{NUMBER},髙橋 太郎,タカハシ タロウ,1975-01-01,1,\
         東京都千代田区霞が関2丁目1番1号,高橋 太郎,ﾀｶﾊｼ ﾀﾛｳ,昭和50年1月1日,男,\
         東京都千代田区霞が関2-1-1,\r\n"
    )
}

/// `bulk ROSTER --database …` started in `cwd`; (exit status, stderr, result rows).
fn bulk_in(cwd: &Path, args: &[OsString]) -> (Option<i32>, String, Vec<Vec<String>>) {
    let out = cwd.join("out.csv");
    let _ = std::fs::remove_file(&out);
    let run = Command::new(env!("CARGO_BIN_EXE_verify-identity"))
        .arg("bulk")
        .arg(cwd.join("roster.csv"))
        .arg("--output")
        .arg(&out)
        .arg("--quiet")
        .args(args)
        .env_remove("VERIFY_IDENTITY_HMAC_KEY_FILE")
        .env_remove("VERIFY_IDENTITY_POLICY")
        .current_dir(cwd)
        .output()
        .unwrap();
    let rows = std::fs::read_to_string(&out)
        .unwrap_or_default()
        .trim_start_matches('\u{feff}')
        .lines()
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect();
    (
        run.status.code(),
        String::from_utf8_lossy(&run.stderr).into_owned(),
        rows,
    )
}

pub(crate) async fn embedded_bulk_from_another_directory_holds_a_number_committed_for_another_subject(
    backend: Backend,
) {
    let db = TestDatabase::new(backend).await;
    let served = serve_in(&db.dir, "info", &database_args(&db)).unwrap();
    commit_number_for(&served, "1234-567-01").await;
    stop(served);

    let elsewhere = Elsewhere::new();
    std::fs::write(elsewhere.0.join("roster.csv"), roster("1234-567-02")).unwrap();
    let (_, stderr, rows) = bulk_in(&elsewhere.0, &database_args(&db));
    let header = &rows[0];
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(rows.len(), 2, "{stderr}");
    assert_eq!(rows[1][at("decision")], "hold", "{stderr}");
    assert_eq!(
        rows[1][at("hold_reasons")],
        "number_registered_to_another_subject"
    );

    // With another key it does not run at all.
    let store_key = key_id(&key_of(&db));
    let other = elsewhere.0.join("other.key");
    write_key(&other, 0x17);
    let args = vec![
        "--database".into(),
        OsString::from(&db.url),
        "--hmac-key-file".into(),
        other.clone().into_os_string(),
    ];
    let (code, stderr, rows) = bulk_in(&elsewhere.0, &args);
    assert_ne!(code, Some(0), "{stderr}");
    assert!(rows.len() <= 1, "nothing decided: {rows:?}");
    for needle in [store_key.as_str(), &key_id(&other), "--hmac-key-file"] {
        assert!(stderr.contains(needle), "no {needle:?} in: {stderr}");
    }
    db.drop().await;
}

/// Verify and commit `number` for `subject` in-process; the commit's answer.
async fn commit_in(
    client: &mut VerifyIdentityClient<tonic::transport::Channel>,
    request_id: &str,
    subject: &str,
    number: &str,
) -> Result<pb::CommitRegistrationResponse, tonic::Status> {
    let decided = client
        .verify(register_for(request_id, subject, number))
        .await?
        .into_inner();
    assert_eq!(decided.decision(), pb::Decision::Register, "{request_id}");
    client
        .commit_registration(pb::CommitRegistrationRequest {
            verification_id: decided.verification_id,
            insurer_number: INSURER.into(),
            subject_id: subject.into(),
            individual_number: number.into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

pub(crate) async fn a_rotation_keeping_the_old_key_still_finds_what_it_fingerprinted(
    backend: Backend,
) {
    const LATER: &str = "983205673214";
    let mut app = spawn_app(backend).await;
    let old_key = app.db.dir.join("hmac.key");
    let committed = commit_in(&mut app.client, "r-a", "1234-567-01", NUMBER)
        .await
        .unwrap();
    // Decided before the rotation, committed after it.
    let pending = app
        .client
        .verify(register_for("r-c", "1234-567-03", LATER))
        .await
        .unwrap()
        .into_inner();
    let stale_pending = app
        .client
        .verify(register_for("r-d", "1234-567-04", "111111111118"))
        .await
        .unwrap()
        .into_inner();

    // The rotation: a new current key, the old one kept as a previous key. The first server
    // is left running with the old key, as a replica not yet restarted would be.
    let new_key = app.db.dir.join("hmac-2.key");
    write_key(&new_key, 0x33);
    let rotate = |s: &mut verify_identity::config::Settings| {
        s.keys.file = Some(new_key.clone());
        s.keys.previous_files = vec![old_key.clone()];
    };
    let mut rotated = spawn_on(app.db.clone(), rotate).await;
    // The replica still on the old key can no longer commit: it would miss registrations made
    // under the new key.
    let refused = app
        .client
        .commit_registration(pb::CommitRegistrationRequest {
            verification_id: stale_pending.verification_id,
            insurer_number: INSURER.into(),
            subject_id: "1234-567-04".into(),
            individual_number: "111111111118".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused:?}");
    app.stop().await;
    let held = rotated
        .client
        .verify(register_for("r-b", "1234-567-02", NUMBER))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(held.decision(), pb::Decision::Hold);
    assert!(
        held.hold_reasons()
            .any(|r| r == pb::HoldReason::NumberRegisteredToAnotherSubject),
        "{held:?}"
    );
    // A replay of a request decided under the old key is a replay, not a conflict.
    let replayed = rotated
        .client
        .verify(register_for("r-c", "1234-567-03", LATER))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(replayed.verification_id, pending.verification_id);
    // A decision made under the old key commits under the new one.
    rotated
        .client
        .commit_registration(pb::CommitRegistrationRequest {
            verification_id: pending.verification_id,
            insurer_number: INSURER.into(),
            subject_id: "1234-567-03".into(),
            individual_number: LATER.into(),
        })
        .await
        .unwrap();
    // The first subject's number again: the same registration, not a second one.
    let again = commit_in(&mut rotated.client, "r-a2", "1234-567-01", NUMBER)
        .await
        .unwrap();
    assert_eq!(again.commit_id, committed.commit_id);
    // Another number for that subject is held: it has one under the old key.
    let other = rotated
        .client
        .verify(register_for("r-a3", "1234-567-01", LATER))
        .await
        .unwrap()
        .into_inner();
    assert!(
        other
            .hold_reasons()
            .any(|r| r == pb::HoldReason::SubjectHasAnotherNumber),
        "{other:?}"
    );
    rotated.stop().await;

    // The old key dropped from the ring: nothing starts, and the refusal names it.
    let old_id = key_id(&old_key);
    let mut settings = settings_for(&app.db);
    settings.keys.file = Some(new_key.clone());
    let refusal = match verify_identity::server::build(&settings).await {
        Ok(_) => panic!("started without the key of the stored fingerprints"),
        Err(e) => e.to_string(),
    };
    assert!(refusal.contains(&old_id), "{refusal}");
    assert!(refusal.contains("--hmac-previous-key-file"), "{refusal}");
    app.db.drop().await;
}
