//! Every command into a pipe whose reader has gone (`… | head -1` that has read enough):
//! the command ends quietly, never with a panic (exit 101) or a "Broken pipe" message.

use std::{
    os::fd::{FromRawFd, OwnedFd},
    process::{Command, Stdio},
};

use crate::server::Server;

/// The writing end of a pipe whose reading end is closed.
fn closed_pipe() -> OwnedFd {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe(2) writes.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: pipe(2) succeeded, so both are open descriptors that nothing else owns.
    let (reader, writer) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(reader);
    writer
}

/// Runs the binary with `args`, its standard output a pipe whose reading end is already
/// closed; returns (exit status, standard error).
fn into_a_closed_pipe(args: &[&str]) -> (Option<i32>, String) {
    let writer = closed_pipe();
    let out = Command::new(env!("CARGO_BIN_EXE_verify-identity"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("VERIFY_IDENTITY_SERVER")
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("the binary runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_command_into_a_closed_pipe_ends_quietly() {
    let server = Server::start(&[]);
    let dir = &server.dir;
    let out = |name: &str| dir.join(name).display().to_string();
    let database = format!("sqlite:{}", dir.join("audit.sqlite").display());
    let (code, stderr) =
        into_a_closed_pipe(&["verify", "--server", &server.url, "examples/hold.json"]);
    assert_eq!(code, Some(3), "verify: {stderr}");
    let cases: Vec<(Vec<String>, Option<i32>)> = vec![
        (
            vec!["check".into(), "examples/register.json".into()],
            Some(0),
        ),
        (
            vec![
                "check".into(),
                "--format".into(),
                "text".into(),
                "examples/hold.json".into(),
            ],
            Some(3),
        ),
        (
            vec![
                "bulk".into(),
                "examples/roster-reverse.csv".into(),
                "--dry-run".into(),
                "--output".into(),
                out("results.csv"),
            ],
            Some(0),
        ),
        (
            vec![
                "gen-roster".into(),
                "--rows".into(),
                "20000".into(),
                "--kind".into(),
                "reverse".into(),
                "--seed".into(),
                "1".into(),
                "--output".into(),
                "-".into(),
            ],
            Some(0),
        ),
        (
            vec![
                "audit".into(),
                "export".into(),
                "--database".into(),
                database.clone(),
            ],
            Some(0),
        ),
        (
            vec![
                "audit".into(),
                "verify".into(),
                "--database".into(),
                database,
            ],
            Some(0),
        ),
        (
            vec![
                "holds".into(),
                "list".into(),
                "--server".into(),
                server.url.clone(),
                "--insurer".into(),
                "32130011".into(),
            ],
            Some(0),
        ),
        (vec!["--help".into()], Some(0)),
    ];
    for (args, expected) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, stderr) = into_a_closed_pipe(&args);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(
            !stderr.to_lowercase().contains("broken pipe"),
            "{args:?}: {stderr}"
        );
        assert_eq!(code, expected, "{args:?}: {stderr}");
    }
}
