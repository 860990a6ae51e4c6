//! `console-user add` as an administrator runs it: a clerk with a password, a clerk with a
//! client certificate only, and the mistakes named by their flag.

use std::process::Command;

fn add(config: &std::path::Path, extra: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_verify-identity"))
        .args(["console-user", "add", "--config"])
        .arg(config)
        .args(["--insurer", "32130011", "--role", "operator"])
        .args(extra)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn a_clerk_by_certificate_only_is_written_without_a_password_and_mistakes_name_their_flag() {
    let dir = std::env::temp_dir().join(format!("vi-console-user-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("settings.toml");
    let _ = std::fs::remove_file(&config);

    let pin = "ab".repeat(32);
    let card = add(
        &config,
        &[
            "--name",
            "sato",
            "--no-password",
            "--client-cert-sha256",
            &pin,
        ],
        "",
    );
    assert!(
        card.status.success(),
        "{}",
        String::from_utf8_lossy(&card.stderr)
    );
    let with_password = add(
        &config,
        &[
            "--name",
            "suzuki",
            "--password-stdin",
            "--client-cert-cn",
            "suzuki-card",
        ],
        "a long test password\n",
    );
    assert!(with_password.status.success());
    let written = std::fs::read_to_string(&config).unwrap();
    let parsed: toml::Table = toml::from_str(&written).unwrap();
    let users = parsed["console_users"].as_array().unwrap();
    assert_eq!(users.len(), 2);
    assert_eq!(users[0]["client_cert_sha256"].as_str(), Some(pin.as_str()));
    assert!(users[0].get("password_argon2id").is_none(), "{written}");
    assert_eq!(users[1]["client_cert_cn"].as_str(), Some("suzuki-card"));
    assert!(
        users[1]["password_argon2id"]
            .as_str()
            .unwrap()
            .starts_with("$argon2id$")
    );
    assert!(!written.contains("a long test password"));

    let neither = add(&config, &["--name", "kato", "--no-password"], "");
    assert_eq!(neither.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&neither.stderr);
    assert!(stderr.contains("--client-cert-sha256"), "{stderr}");
    let bad_pin = add(
        &config,
        &[
            "--name",
            "kato",
            "--no-password",
            "--client-cert-sha256",
            "abc",
        ],
        "",
    );
    assert_eq!(bad_pin.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad_pin.stderr);
    assert!(
        stderr.contains("client_cert_sha256 must be 64 hex digits"),
        "{stderr}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
