//! The files that hold 特定個人情報, through the real binary: the SQLite file (and its -wal and
//! -shm) private from the first moment, at the path sqlx really opens, and a key file that
//! someone else could have planted or read refused at start.

use std::{
    os::unix::fs::PermissionsExt,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use crate::process::{sigterm, wait};

fn mode(path: &std::path::Path) -> Option<u32> {
    std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o777)
}

/// Waits until `child` (run with a JSON log on stderr) reports that it is serving.
fn wait_until_serving(child: &mut std::process::Child) {
    use std::io::BufRead;
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("\"serving\"") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("the server reports that it is serving");
}

/// Runs `serve` on a database in `dir` with `key` and `extra` arguments, expecting it to refuse
/// to start; returns what it printed on stderr.
fn refused_start(
    dir: &std::path::Path,
    key: &std::path::Path,
    extra: &[&std::ffi::OsStr],
) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_verify-identity"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database"])
        .arg(format!("sqlite:{}", dir.join("audit.sqlite").display()))
        .arg("--hmac-key-file")
        .arg(key)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "started: {stderr}");
    stderr
}

fn scratch() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("vi-files-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_sqlite_file_sqlx_opens_is_private_from_its_first_moment() {
    let dir = scratch();
    // sqlx percent-decodes the path: `a%62c.sqlite` is the file `abc.sqlite`.
    let url = format!("sqlite:{}/a%62c.sqlite", dir.display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_verify-identity"))
        .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
        .args(["--database", &url])
        .arg("--hmac-key-file")
        .arg(dir.join("hmac.key"))
        .env("VERIFY_IDENTITY_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Watch from the start: the first time each file is seen, it must already be 0600.
    let files = ["abc.sqlite", "abc.sqlite-wal", "abc.sqlite-shm", "hmac.key"].map(|f| dir.join(f));
    let mut seen = [None; 4];
    let started = Instant::now();
    while seen.iter().any(Option::is_none) && started.elapsed() < Duration::from_secs(30) {
        for (file, first) in files.iter().zip(seen.iter_mut()) {
            if first.is_none() {
                *first = mode(file);
            }
        }
    }
    wait_until_serving(&mut child);
    sigterm(&child);
    assert!(wait(&mut child).success());
    for (file, first) in files.iter().zip(seen) {
        assert_eq!(first, Some(0o600), "{} when first seen", file.display());
        assert_eq!(mode(file).unwrap_or(0o600), 0o600, "{}", file.display());
    }
    assert!(!dir.join("a%62c.sqlite").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_existing_world_readable_database_is_restricted_before_it_is_opened() {
    let dir = scratch();
    let file = dir.join("audit.sqlite");
    std::fs::write(&file, b"").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_verify-identity"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--database",
        ])
        .arg(format!("sqlite:{}", file.display()))
        .arg("--hmac-key-file")
        .arg(dir.join("hmac.key"))
        .env("VERIFY_IDENTITY_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until_serving(&mut child);
    sigterm(&child);
    assert!(wait(&mut child).success());
    assert_eq!(mode(&file), Some(0o600));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_key_file_others_could_read_or_plant_stops_the_server_with_how_to_fix_it() {
    let good = "8f14e45fceea167a5a36dedd4bea2543c9f0f895fb98ab9159f51fd0297e236d";
    let cases: [(&str, &str, u32, &str); 4] = [
        ("world-readable", good, 0o644, "chmod 600"),
        (
            "16 bytes",
            "00112233445566778899aabbccddeeff",
            0o600,
            "at least 32",
        ),
        ("all zero", &"00".repeat(32), 0o600, "one byte repeated"),
        ("a symbolic link", good, 0o600, "symbolic link"),
    ];
    for (what, content, file_mode, hint) in cases {
        let dir = scratch();
        let mut key = dir.join("hmac.key");
        std::fs::write(&key, content).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(file_mode)).unwrap();
        if what == "a symbolic link" {
            let link = dir.join("link.key");
            std::os::unix::fs::symlink(&key, &link).unwrap();
            key = link;
        }
        let stderr = refused_start(&dir, &key, &[]);
        assert!(stderr.contains(hint), "{what}: {stderr}");
        assert!(!stderr.contains(content), "{what}: the key is printed");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn a_settings_file_with_a_duplicate_or_a_bad_caller_stops_the_server_naming_it() {
    let token = "aa".repeat(32);
    let other = "bb".repeat(32);
    let caller = |name: &str, hash: &str, insurer: &str| {
        format!(
            "[[callers]]\nname = \"{name}\"\ntoken_sha256 = \"{hash}\"\n\
             insurers = [\"{insurer}\"]\nroles = [\"registrar\"]\n"
        )
    };
    let cases = [
        (
            caller("desk", &token, "32130011") + &caller("desk", &other, "32130011"),
            "the name is given to two callers",
        ),
        (
            caller("desk", &token, "32130011") + &caller("batch", &token, "32130011"),
            "also caller \"desk\"'s",
        ),
        (
            caller("desk", &token, "3213001X"),
            "insurers[0] is not an insurer number",
        ),
    ];
    for (settings, hint) in cases {
        let dir = scratch();
        std::fs::write(dir.join("settings.toml"), settings).unwrap();
        let settings = dir.join("settings.toml");
        let stderr = refused_start(
            &dir,
            &dir.join("hmac.key"),
            &["--config".as_ref(), settings.as_os_str()],
        );
        assert!(stderr.contains(hint), "{hint}: {stderr}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn metrics_on_a_public_address_are_refused_unless_the_settings_file_allows_them() {
    let dir = scratch();
    let stderr = refused_start(
        &dir,
        &dir.join("hmac.key"),
        &["--metrics-listen".as_ref(), "0.0.0.0:0".as_ref()],
    );
    assert!(stderr.contains("metrics_listen_public"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn directories_serve_creates_are_private_whatever_the_umask() {
    use std::os::unix::process::CommandExt;
    let dir = scratch();
    let nested = dir.join("new").join("audit");
    let mut command = Command::new(env!("CARGO_BIN_EXE_verify-identity"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
        .arg("--database")
        .arg(format!("sqlite:{}", nested.join("audit.sqlite").display()))
        .arg("--hmac-key-file")
        .arg(dir.join("keys").join("hmac.key"))
        .env("VERIFY_IDENTITY_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: umask(2) is async-signal-safe and only sets this child's file mode mask.
    unsafe {
        command.pre_exec(|| {
            libc::umask(0);
            Ok(())
        });
    }
    let mut child = command.spawn().unwrap();
    wait_until_serving(&mut child);
    sigterm(&child);
    assert!(wait(&mut child).success());
    assert_eq!(mode(&dir.join("new")), Some(0o700));
    assert_eq!(mode(&dir.join("keys")), Some(0o700));
    assert_eq!(mode(&nested), Some(0o700));
    assert_eq!(mode(&nested.join("audit.sqlite")), Some(0o600));
    let _ = std::fs::remove_dir_all(&dir);
}
