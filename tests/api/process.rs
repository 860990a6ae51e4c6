//! The real binary as operators run it: `serve` stopped by SIGTERM, and a whole run's logs at
//! trace level searched for the personal data it was sent.

use std::{
    ffi::OsString,
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use futures::StreamExt;
use verify_identity::contract::pb::{self, verify_identity_client::VerifyIdentityClient};

use crate::helpers::{Backend, TestDatabase, hold_request, register_request, return_request};

on_both_backends_process!(
    sigterm_finishes_in_flight_calls_flushes_and_exits_zero,
    a_trace_level_log_of_a_whole_run_holds_no_personal_data,
    two_server_processes_committing_one_number_for_two_subjects_let_exactly_one_win,
);

/// A `serve` process and everything it printed to stderr.
pub(crate) struct Served {
    pub(crate) child: Child,
    pub(crate) addr: String,
    pub(crate) log: Arc<Mutex<Vec<String>>>,
}

impl Drop for Served {
    /// A test that fails before it stops its server must not leave it running (the failing
    /// runs of the connection tests on the old build left nine behind).
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub(crate) fn serve(db: &TestDatabase, log_level: &str) -> Served {
    serve_with(db, log_level, &[])
}

/// `serve` with `extra` arguments (such as `--config FILE`).
pub(crate) fn serve_with(db: &TestDatabase, log_level: &str, extra: &[&str]) -> Served {
    spawn_served(serve_command(db, log_level, extra))
}

/// The command [`serve_with`] runs, for a test that must adjust it (its limits, say).
pub(crate) fn serve_command(db: &TestDatabase, log_level: &str, extra: &[&str]) -> Command {
    let key = db.dir.join("hmac.key");
    let mut args: Vec<OsString> = vec!["--database".into(), db.url.clone().into()];
    args.extend(["--hmac-key-file".into(), key.into_os_string()]);
    args.extend(extra.iter().map(OsString::from));
    command_in(&db.dir, log_level, &args)
}

/// `serve` on 127.0.0.1:0 in the directory `cwd` with `args`.
fn command_in(cwd: &Path, log_level: &str, args: &[OsString]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_verify-identity"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
        .args(args)
        .env("VERIFY_IDENTITY_LOG", log_level)
        .env_remove("VERIFY_IDENTITY_HMAC_KEY_FILE")
        .current_dir(cwd)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// `serve` on 127.0.0.1:0 started in the directory `cwd` with `args`: the process once it
/// reports its address, or its exit status and log when it stops before.
pub(crate) fn serve_in(
    cwd: &Path,
    log_level: &str,
    args: &[OsString],
) -> Result<Served, (std::process::ExitStatus, String)> {
    try_spawn_served(command_in(cwd, log_level, args))
}

/// Starts `command` (a `serve`) and waits until it reports its address.
pub(crate) fn spawn_served(command: Command) -> Served {
    try_spawn_served(command).unwrap_or_else(|(status, log)| {
        panic!("serve did not start ({status}):\n{log}");
    })
}

/// [`spawn_served`], or the exit status and log of a `serve` that stopped before it reported
/// an address.
fn try_spawn_served(mut command: Command) -> Result<Served, (std::process::ExitStatus, String)> {
    let mut child = command.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                && v["message"] == "serving"
            {
                let _ = tx.send(v["addr"].as_str().unwrap_or_default().to_owned());
            }
            sink.lock().unwrap().push(line);
        }
    });
    // The channel closes without an address when the process ends (its stderr closes).
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(addr) => Ok(Served { child, addr, log }),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            let status = wait(&mut child);
            let log = log.lock().unwrap().join("\n");
            Err((status, log))
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            let _ = child.kill();
            panic!("serve reported no address in 30 s");
        }
    }
}

pub(crate) fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

pub(crate) fn wait(child: &mut Child) -> std::process::ExitStatus {
    for _ in 0..200 {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    panic!("server did not exit after SIGTERM");
}

pub(crate) async fn sigterm_finishes_in_flight_calls_flushes_and_exits_zero(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let mut served = serve(&db, "info");
    let client = VerifyIdentityClient::connect(format!("http://{}", served.addr))
        .await
        .unwrap();
    // A batch of 300 in flight when the signal arrives: every item must be answered.
    let requests = futures::stream::iter((0..300).map(|i| register_request(&format!("drain-{i}"))));
    let mut c = client.clone();
    let batch = tokio::spawn(async move {
        let stream = c.verify_batch(requests).await.unwrap().into_inner();
        stream
            .map(|r| r.unwrap())
            .collect::<Vec<pb::VerifyResponse>>()
            .await
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    sigterm(&served.child);
    let answered = batch.await.unwrap();
    let status = tokio::task::spawn_blocking(move || wait(&mut served.child))
        .await
        .unwrap();
    assert!(status.success(), "exit status {status:?}");
    assert_eq!(answered.len(), 300);
    assert!(answered.iter().all(|r| r.error.is_none()));
    // Every answer given is in the audit log.
    let store = verify_identity::audit::connect(&db.url).await.unwrap();
    let report = verify_identity::audit::verify::verify_store(store.as_ref())
        .await
        .unwrap();
    assert_eq!(report.events_checked, 300);
    assert!(report.first_broken.is_none());
    db.drop().await;
}

pub(crate) async fn a_trace_level_log_of_a_whole_run_holds_no_personal_data(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let mut served = serve(&db, "trace");
    let mut client = VerifyIdentityClient::connect(format!("http://{}", served.addr))
        .await
        .unwrap();
    let sent = [
        register_request("pii-1"),
        hold_request("pii-2"),
        return_request("pii-3"),
    ];
    let mut decided = Vec::new();
    for r in sent.clone() {
        decided.push(client.verify(r).await.unwrap().into_inner().verification_id);
    }
    // The gate's calls, refused and accepted, with the number in several spellings.
    let commit = |number: &str| pb::CommitRegistrationRequest {
        verification_id: decided[0].clone(),
        insurer_number: "32130011".into(),
        subject_id: "1234-567-01".into(),
        individual_number: number.into(),
    };
    client
        .commit_registration(commit("983205673214"))
        .await
        .unwrap_err();
    client
        .commit_registration(commit("98320567321"))
        .await
        .unwrap_err();
    client
        .commit_registration(commit("402718593027"))
        .await
        .unwrap();
    client
        .commit_registration(commit("4027-1859-3027"))
        .await
        .unwrap();
    client
        .list_holds(pb::ListHoldsRequest {
            insurer_number: "32130011".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    client
        .resolve_hold(pb::ResolveHoldRequest {
            verification_id: decided[1].clone(),
            insurer_number: "32130011".into(),
            resolution: pb::Resolution::Withdrawn.into(),
            operator_id: "op-1".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut bad = register_request("pii-4");
    bad.candidates[0].individual_number = "4027185930X7".into();
    client.verify(bad).await.unwrap_err();
    let batch = client
        .verify_batch(futures::stream::iter(sent.clone().map(|mut r| {
            r.request_id.push_str("-b");
            r
        })))
        .await
        .unwrap()
        .into_inner();
    let _: Vec<_> = batch.collect().await;
    sigterm(&served.child);
    let captured = served.log.clone();
    let status = tokio::task::spawn_blocking(move || wait(&mut served.child))
        .await
        .unwrap();
    assert!(status.success());

    let log = captured.lock().unwrap().join("\n");
    assert!(log.contains("decided"), "the log was captured");
    let mut secrets: Vec<String> = Vec::new();
    for r in &sent {
        for f in [r.declared.as_ref(), r.query.as_ref()]
            .into_iter()
            .flatten()
            .chain(r.candidates.iter().filter_map(|c| c.fields.as_ref()))
        {
            for v in [&f.kanji_name, &f.kana_name, &f.birth_date, &f.address] {
                if !v.is_empty() {
                    secrets.push(v.clone());
                }
            }
        }
        for c in &r.candidates {
            secrets.push(c.individual_number.clone());
        }
    }
    // Also fragments: the family name alone, the number's digits split in groups.
    secrets.extend(
        [
            "髙橋",
            "高橋",
            "ﾀｶﾊｼ",
            "タカハシ",
            "西新宿",
            "402718",
            "718593",
            "593027",
            "983205",
            "205673",
            "673214",
            "98320567321",
        ]
        .map(String::from),
    );
    for secret in &secrets {
        assert!(
            !leaks(&log, secret),
            "personal data in the log: synthetic value {secret:?}"
        );
    }
    db.drop().await;
}

/// A settings file with one registrar whose token is `token`.
fn callers_file(db: &TestDatabase, token: &str) -> String {
    let path = db.dir.join("settings.toml");
    std::fs::write(&path, callers_table(token)).unwrap();
    path.display().to_string()
}

/// The `[[callers]]` table of one registrar whose token is `token`.
pub(crate) fn callers_table(token: &str) -> String {
    use sha2::{Digest, Sha256};
    format!(
        "[[callers]]\nname = \"registration-system\"\ntoken_sha256 = \"{}\"\n\
         insurers = [\"32130011\"]\nroles = [\"registrar\"]\n",
        hex::encode(Sha256::digest(token.as_bytes()))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trace_level_log_never_shows_a_token_right_or_wrong() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let token = "tok-5c1e0b7a9d";
    let wrong = "tok-wrong-44f2";
    let config = callers_file(&db, token);
    let mut served = serve_with(&db, "trace", &["--config", &config]);
    let client = VerifyIdentityClient::connect(format!("http://{}", served.addr))
        .await
        .unwrap();
    for (i, t) in [token, wrong].into_iter().enumerate() {
        let request = crate::helpers::with_token(register_request(&format!("tok-{i}")), t);
        let _ = client.clone().verify(request).await;
    }
    let denied = client
        .clone()
        .verify(crate::helpers::with_token(register_request("tok-9"), wrong))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), tonic::Code::Unauthenticated);
    sigterm(&served.child);
    let captured = served.log.clone();
    let status = tokio::task::spawn_blocking(move || wait(&mut served.child))
        .await
        .unwrap();
    assert!(status.success());
    let log = captured.lock().unwrap().join("\n");
    assert!(log.contains("access denied"), "the log was captured");
    for secret in [token, wrong] {
        assert!(!log.contains(secret), "a token reached the log");
    }
    db.drop().await;
}

#[test]
fn serve_refuses_to_start_open_on_all_interfaces_and_says_how_to_fix_it() {
    let dir = std::env::temp_dir().join(format!("vi-open-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_verify-identity"))
        .args(["serve", "--listen", "0.0.0.0:0", "--database"])
        .arg(format!("sqlite:{}", dir.join("audit.sqlite").display()))
        .arg("--hmac-key-file")
        .arg(dir.join("hmac.key"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("[[callers]]"), "{stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}

pub(crate) async fn two_server_processes_committing_one_number_for_two_subjects_let_exactly_one_win(
    backend: Backend,
) {
    let db = TestDatabase::new(backend).await;
    let mut first = serve(&db, "info");
    let mut second = serve(&db, "info");
    let mut a = VerifyIdentityClient::connect(format!("http://{}", first.addr))
        .await
        .unwrap();
    let mut b = VerifyIdentityClient::connect(format!("http://{}", second.addr))
        .await
        .unwrap();
    // The same J-LIS result (one number) verified for two subjects of one household, one on
    // each replica: both register, since neither number is committed yet.
    let mut parent = register_request("race-parent");
    parent.subject_id = "1234-567-01".into();
    let mut child = register_request("race-child");
    child.subject_id = "1234-567-02".into();
    let va = a.verify(parent.clone()).await.unwrap().into_inner();
    let vb = b.verify(child.clone()).await.unwrap().into_inner();
    assert_eq!(va.decision(), pb::Decision::Register);
    assert_eq!(vb.decision(), pb::Decision::Register);
    let number = parent.candidates[0].individual_number.clone();
    let commit = |v: &pb::VerifyResponse, r: &pb::VerifyRequest| pb::CommitRegistrationRequest {
        verification_id: v.verification_id.clone(),
        insurer_number: r.insurer_number.clone(),
        subject_id: r.subject_id.clone(),
        individual_number: number.clone(),
    };
    let (ca, cb) = (commit(&va, &parent), commit(&vb, &child));
    let (ra, rb) = tokio::join!(a.commit_registration(ca), b.commit_registration(cb));
    let wins = [ra.is_ok(), rb.is_ok()]
        .into_iter()
        .filter(|ok| *ok)
        .count();
    assert_eq!(wins, 1, "exactly one commit wins: {ra:?} {rb:?}");
    let loser = ra.err().or(rb.err()).unwrap();
    assert_eq!(loser.code(), tonic::Code::FailedPrecondition);
    for served in [&first, &second] {
        sigterm(&served.child);
    }
    let (s1, s2) =
        tokio::task::spawn_blocking(move || (wait(&mut first.child), wait(&mut second.child)))
            .await
            .unwrap();
    assert!(s1.success() && s2.success());
    // Both processes' chains verify, and both commits (the win and the refusal) are in them.
    let store = verify_identity::audit::connect(&db.url).await.unwrap();
    let report = verify_identity::audit::verify::verify_store(store.as_ref())
        .await
        .unwrap();
    assert!(report.first_broken.is_none());
    assert_eq!(report.chains, 2);
    assert_eq!(report.events_checked, 4);
    db.drop().await;
}

/// Whether `log` holds `secret`. A fragment of a number (fewer than 12 digits) counts where the
/// run of hex digits around it is no longer than a number (12) and is not the fraction of a
/// log line's time (`03:17:05.718593Z`): inside a longer run (a hash, a microsecond count) or
/// as the microseconds of a timestamp, six given digits turn up by chance (one run in about
/// twenty had one), while a number leaked whole, cut short or masked (`402718****`,
/// `4027185930`) stands in a run of at most 12 of its own.
fn leaks(log: &str, secret: &str) -> bool {
    let fragment = secret.len() < 12 && secret.bytes().all(|b| b.is_ascii_digit());
    if !fragment {
        return log.contains(secret);
    }
    let bytes = log.as_bytes();
    log.match_indices(secret).any(|(at, _)| {
        let start = bytes[..at]
            .iter()
            .rposition(|b| !b.is_ascii_hexdigit())
            .map_or(0, |i| i + 1);
        let end = bytes[at..]
            .iter()
            .position(|b| !b.is_ascii_hexdigit())
            .map_or(bytes.len(), |i| at + i);
        // `:SS.` before the run: the fractional seconds of a timestamp.
        let fraction = start >= 4
            && bytes[start - 1] == b'.'
            && bytes[start - 2].is_ascii_digit()
            && bytes[start - 3].is_ascii_digit()
            && bytes[start - 4] == b':';
        end - start <= 12 && !fraction
    })
}

#[test]
fn a_number_fragment_counts_apart_from_hex_runs_only() {
    assert!(leaks("number=402718****", "402718"));
    assert!(leaks("402718593027", "402718593027"));
    assert!(!leaks("at=1796180718593421us", "718593"));
    assert!(!leaks("hash=9f3ab718593cd01e77aa", "718593"));
    assert!(leaks("digits 718593 here", "718593"));
    assert!(leaks("cut=4027185930,", "718593"));
    assert!(!leaks("2026-12-02T03:17:05.718593Z  INFO", "718593"));
}
