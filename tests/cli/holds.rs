//! `holds list` as an operator types it: connection options before or after `list`, and
//! times in the operator's zone.

use std::process::Command;

use crate::server::Server;

/// The insurer of the example files.
const INSURER: &str = "32130011";
/// The subject of the hold example.
const SUBJECT: &str = "1234-567-02";

/// Runs the binary with `args` and `TZ`; returns (exit status, stdout, stderr).
fn run(args: &[&str], tz: &str) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_verify-identity"))
        .args(args)
        .env("TZ", tz)
        .env_remove("VERIFY_IDENTITY_SERVER")
        // English text unless a test asks for Japanese (see `run_in_locale`).
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", "C.UTF-8")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs the binary with `args` under the locale `LANG=lang` (`TZ` Asia/Tokyo); returns (exit
/// status, stdout, stderr).
fn run_in_locale(args: &[&str], lang: &str) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_verify-identity"))
        .args(args)
        .env("TZ", "Asia/Tokyo")
        .env_remove("VERIFY_IDENTITY_SERVER")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", lang)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A server holding one case: the hold example (received 2026-11-18 09:00 UTC, 18:00 that day
/// in Japan, so due at the end of 11-23 in Japan: 2026-11-24 00:00 JST, 2026-11-23 15:00 UTC).
fn server_with_one_hold() -> Server {
    let server = Server::start(&[]);
    let (code, _, stderr) = run(
        &["verify", "--server", &server.url, "examples/hold.json"],
        "UTC",
    );
    assert_eq!(code, Some(3), "{stderr}");
    server
}

#[test]
fn holds_list_takes_the_server_before_or_after_list() {
    let server = server_with_one_hold();
    let url = server.url.as_str();
    let after = ["holds", "list", "--insurer", INSURER, "--server", url];
    let before = ["holds", "--server", url, "list", "--insurer", INSURER];
    for args in [after, before] {
        let (code, stdout, stderr) = run(&args, "UTC");
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        assert!(stdout.contains("1 open hold(s)"), "{args:?}: {stdout}");
    }
}

#[test]
fn holds_list_shows_times_in_the_zone_of_tz_and_names_it() {
    let server = server_with_one_hold();
    let list = [
        "holds",
        "list",
        "--server",
        &server.url,
        "--insurer",
        INSURER,
    ];
    let (code, tokyo, stderr) = run(&list, "Asia/Tokyo");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(tokyo.contains("2026-11-24 00:00 JST"), "{tokyo}");
    let (_, utc, _) = run(&list, "UTC");
    assert!(utc.contains("2026-11-23 15:00 UTC"), "{utc}");
}

#[test]
fn holds_list_json_keeps_rfc_3339_in_utc_whatever_the_zone() {
    let server = server_with_one_hold();
    let list = [
        "holds",
        "list",
        "--server",
        &server.url,
        "--insurer",
        INSURER,
        "--json",
    ];
    let (code, json, stderr) = run(&list, "Asia/Tokyo");
    assert_eq!(code, Some(0), "{stderr}");
    let record: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    let register_by = record["verification"]["registerBy"].as_str().unwrap();
    assert!(
        register_by.starts_with("2026-11-23T15:00:00"),
        "{register_by}"
    );
}

#[test]
fn holds_list_into_a_closed_pipe_ends_quietly() {
    // `holds list --json | head -1` as a script writes it: the reader is gone before the list
    // is written (closed here right after the start, before the command has even connected).
    let server = server_with_one_hold();
    for format in [&["--json"][..], &[]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_verify-identity"))
            .args([
                "holds",
                "list",
                "--server",
                &server.url,
                "--insurer",
                INSURER,
            ])
            .args(format)
            .env_remove("VERIFY_IDENTITY_SERVER")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the binary runs");
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{format:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{format:?}: {stderr}");
    }
}

#[test]
fn holds_list_on_a_120_column_terminal_has_no_line_wider_than_it() {
    let server = server_with_one_hold();
    let out = Command::new("script")
        .arg("-qec")
        .arg(format!(
            "{} holds list --server {} --insurer {INSURER}",
            env!("CARGO_BIN_EXE_verify-identity"),
            server.url
        ))
        .arg("/dev/null")
        .env("COLUMNS", "120")
        .env("TZ", "Asia/Tokyo")
        .env_remove("VERIFY_IDENTITY_SERVER")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", "C.UTF-8")
        .output()
        .expect("util-linux `script` runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("1 open hold(s)"), "{text}");
    for line in text.lines() {
        assert!(line.chars().count() <= 120, "{line}");
    }
}

#[test]
fn holds_show_prints_one_stored_case_as_verify_does_without_values() {
    let server = Server::start(&[]);
    let (code, json, stderr) = run(
        &[
            "verify",
            "--server",
            &server.url,
            "--format",
            "json",
            "examples/hold.json",
        ],
        "Asia/Tokyo",
    );
    assert_eq!(code, Some(3), "{stderr}");
    let id = serde_json::from_str::<serde_json::Value>(&json).unwrap()["verificationId"]
        .as_str()
        .unwrap()
        .to_owned();
    let show = [
        "holds",
        "show",
        "--server",
        &server.url,
        "--insurer",
        INSURER,
        &id,
    ];
    let (code, text, stderr) = run(&show, "Asia/Tokyo");
    assert_eq!(code, Some(0), "{stderr}");
    for line in [
        "state:      HELD".to_owned(),
        "decision:   HOLD".to_owned(),
        format!("id:         {id}"),
        "subject:    1234-567-02 (dependent), insurer 32130011".to_owned(),
        "risk:       one_name_only".to_owned(),
    ] {
        assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
    }
    assert!(
        text.contains("deadline:   2026-11-24 00:00 JST (OVERDUE by"),
        "{text}"
    );
    assert!(
        text.contains(" ✗ query vs candidate 0     kanji_name  MISMATCH"),
        "{text}"
    );
    assert!(
        !text.contains("智") && !text.contains("鈴木"),
        "no values: {text}"
    );
    // Another insurer's case is not found, as a case that does not exist.
    let other = [
        "holds",
        "show",
        "--server",
        &server.url,
        "--insurer",
        "99999999",
        &id,
    ];
    let (code, _, stderr) = run(&other, "UTC");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("NotFound"), "{stderr}");
}

#[test]
fn holds_resolve_requeried_without_the_replacement_names_the_flag() {
    let (code, _, stderr) = run(
        &[
            "holds",
            "resolve",
            "--server",
            "http://127.0.0.1:9",
            "--insurer",
            INSURER,
            "--verification-id",
            "01930000-0000-7000-8000-000000000001",
            "--resolution",
            "requeried",
            "--operator",
            "clerk-1",
        ],
        "UTC",
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--replaced-by"), "{stderr}");
    assert!(!stderr.contains("replaced_by_verification_id"), "{stderr}");
}

#[test]
fn holds_list_speaks_japanese_in_a_japanese_locale_and_english_with_lang_en() {
    let server = server_with_one_hold();
    let list = [
        "holds",
        "list",
        "--server",
        &server.url,
        "--insurer",
        INSURER,
    ];
    let (code, ja, stderr) = run_in_locale(&list, "ja_JP.UTF-8");
    assert_eq!(code, Some(0), "{stderr}");
    // The example is held for one character of its kanji name (智/知): "only one name field
    // differs", because "a field differs".
    for words in [
        "リスク区分",
        "保留理由",
        "氏名の一方のみの相違",
        "項目がJ-LISと相違",
    ] {
        assert!(ja.contains(words), "{words}: {ja}");
    }
    assert!(ja.contains("未解決の保留 1 件"), "{ja}");
    assert!(!ja.contains("FIELD_DIFFERS"), "{ja}");

    // --lang overrides the locale, before or after the subcommand.
    let mut en_args = list.to_vec();
    en_args.extend(["--lang", "en"]);
    let (code, en, stderr) = run_in_locale(&en_args, "ja_JP.UTF-8");
    assert_eq!(code, Some(0), "{stderr}");
    for words in ["Only one name field differs", "A field differs from J-LIS"] {
        assert!(en.contains(words), "{words}: {en}");
    }
    assert!(en.contains("1 open hold(s)"), "{en}");

    // JSON keeps the stable ids whatever the language.
    let mut json_args = list.to_vec();
    json_args.push("--json");
    let (_, json_ja, _) = run_in_locale(&json_args, "ja_JP.UTF-8");
    let (_, json_en, _) = run_in_locale(&json_args, "C.UTF-8");
    assert_eq!(json_ja, json_en);
    assert!(json_ja.contains("HOLD_REASON_FIELD_DIFFERS"), "{json_ja}");
    assert!(json_ja.contains("RISK_CLASS_ONE_NAME_ONLY"), "{json_ja}");

    // A language it has no words in is refused, naming the flag.
    let mut bad = list.to_vec();
    bad.extend(["--lang", "fr"]);
    let (code, _, stderr) = run_in_locale(&bad, "C.UTF-8");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--lang"), "{stderr}");
}

#[test]
fn holds_history_lists_the_subjects_events_in_the_locales_words() {
    let server = server_with_one_hold();
    let url = server.url.as_str();
    let args = [
        "holds",
        "--server",
        url,
        "history",
        "--insurer",
        INSURER,
        "--subject",
        SUBJECT,
    ];
    let (code, stdout, stderr) = run_in_locale(&args, "ja_JP.UTF-8");
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.contains("照合の判定 (decided)") && stdout.contains("保留"),
        "{stdout}"
    );
    let (code, stdout, stderr) = run(&args, "UTC");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("Decided (decided)") && stdout.contains("Hold"),
        "{stdout}"
    );
    // Another subject: not found, and said so.
    let other = [
        "holds",
        "--server",
        url,
        "history",
        "--insurer",
        INSURER,
        "--subject",
        "9999-999-99",
    ];
    let (code, _, stderr) = run(&other, "UTC");
    assert_ne!(code, Some(0));
    assert!(stderr.contains("NotFound"), "{stderr}");
}
