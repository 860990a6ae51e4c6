//! The command line run as a user runs it: the real binary, the example files, stdin, and
//! for the client commands a real server.

mod bulk;
mod console_user;
mod dashboard;
mod explain;
mod gen_roster;
mod holds;
mod integrators;
mod pipes;
mod serve_log;
mod server;
mod traces;

use std::{
    io::Write,
    process::{Command, Output, Stdio},
};

fn check(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_verify-identity"))
        .arg("check")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    } else {
        drop(child.stdin.take());
    }
    child.wait_with_output().unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

#[test]
fn the_register_example_registers_its_one_candidate() {
    let out = check(&["examples/register.json"], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(v["decision"], "DECISION_REGISTER");
    assert_eq!(v["selectedCandidate"], 0);
    assert_eq!(v["comparisons"].as_array().unwrap().len(), 15);
    // Received 2026-11-20T09:00Z, 18:00 that day in Japan: due at the end of the fifth day
    // after, 2026-11-26T00:00+09:00 (RFC 3339; pbjson writes the offset as +00:00).
    let register_by = v["registerBy"].as_str().unwrap();
    assert!(
        register_by.starts_with("2026-11-25T15:00:00"),
        "{register_by}"
    );
}

#[test]
fn the_hold_example_is_held_for_a_differing_field() {
    let out = check(&["examples/hold.json"], None);
    assert_eq!(out.status.code(), Some(3));
    let v = json(&out);
    assert_eq!(v["decision"], "DECISION_HOLD");
    assert_eq!(
        v["holdReasons"],
        serde_json::json!(["HOLD_REASON_FIELD_DIFFERS"])
    );
    assert_eq!(v["selectedCandidate"], -1);
    let kanji_mismatch = v["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["field"] == "FIELD_KANJI_NAME" && c["matchClass"] == "MATCH_CLASS_MISMATCH");
    assert!(kanji_mismatch);
}

#[test]
fn the_return_example_names_the_field_to_complete() {
    let out = check(&["examples/return.json"], None);
    assert_eq!(out.status.code(), Some(4));
    let v = json(&out);
    assert_eq!(v["decision"], "DECISION_RETURN");
    assert_eq!(v["fieldsToComplete"], serde_json::json!(["FIELD_ADDRESS"]));
}

#[test]
fn a_request_can_be_read_from_stdin() {
    let input = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/register.json"
    ))
    .unwrap();
    let out = check(&["-"], Some(&input));
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn bad_input_exits_2_naming_the_field_without_its_value() {
    let cases = [
        (
            r#"{"candidates": [{"individual_number": "98320567321x", "fields": {}}]}"#,
            "candidates[0].individual_number",
        ),
        (r#"{"insurer_number": "1234"}"#, "insurer_number"),
        (
            r#"{"declared": {"kanji_name": "山田\u0007太郎"}}"#,
            "declared.kanji_name",
        ),
        (
            r#"{"declared": {"nickname": "ヤマちゃん"}}"#,
            "declared.nickname",
        ),
        (
            r#"{"candidates": [{"individual_number": 983205673214}]}"#,
            "candidates[0].individual_number",
        ),
        (r#"{"declared": "#, "not valid JSON"),
    ];
    for (input, field) in cases {
        let out = check(&["-"], Some(input));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{input}: {stderr}");
        assert!(stderr.contains(field), "{input}: {stderr}");
        for secret in ["98320567321", "983205673214", "ヤマちゃん", "山田"] {
            assert!(!stderr.contains(secret), "{input}: {stderr}");
        }
    }
}

#[test]
fn a_missing_file_is_bad_input() {
    let out = check(&["examples/does-not-exist.json"], None);
    assert_eq!(out.status.code(), Some(2));
}

/// The register example with its declared kanji name replaced by `name`, written as raw JSON
/// (so that escapes reach the reader as typed).
fn with_declared_name(name_json: &str) -> String {
    let example = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/register.json"),
    )
    .unwrap();
    example.replacen("\"髙橋 一郎\"", &format!("\"{name_json}\""), 1)
}

#[test]
fn surrogate_escapes_in_json_read_as_the_character_or_are_refused_cleanly() {
    // 𠮷 (U+20BB7) as a surrogate pair escape reads as the character itself.
    let pair = check(
        &["--format", "json", "-"],
        Some(&with_declared_name("\\ud842\\udfb7橋 一郎")),
    );
    let literal = check(
        &["--format", "json", "-"],
        Some(&with_declared_name("𠮷橋 一郎")),
    );
    assert_eq!(pair.status.code(), literal.status.code());
    assert_eq!(json(&pair)["comparisons"], json(&literal)["comparisons"]);

    // A lone surrogate is not a character: bad input, position named, nothing echoed.
    for lone in ["\\ud800橋 一郎", "髙橋 \\udfb7一郎", "\\ud842\\u0041"] {
        let out = check(&["--format", "json", "-"], Some(&with_declared_name(lone)));
        assert_eq!(out.status.code(), Some(2), "{lone}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("not valid JSON (line"), "{stderr}");
        assert!(
            !stderr.contains('橋') && !stderr.contains("d800"),
            "{stderr}"
        );
    }
}

#[test]
fn a_bidi_override_is_bad_input_naming_the_field() {
    let out = check(
        &["--format", "json", "-"],
        Some(&with_declared_name("髙橋\\u202e 一郎")),
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("declared.kanji_name"), "{stderr}");
    assert!(stderr.contains("bidirectional"), "{stderr}");
}

#[test]
fn every_command_lists_its_exit_statuses_in_its_help() {
    for command in [
        "check",
        "serve",
        "verify",
        "loadgen",
        "holds",
        "audit",
        "bulk",
        "gen-roster",
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_verify-identity"))
            .args([command, "--help"])
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains("Exit status: 0 "), "{command}: {help}");
    }
}

#[test]
fn the_readme_table_of_contents_lists_every_section() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let (_, rest) = readme
        .split_once("<!-- toc -->")
        .expect("a table of contents");
    let (toc, body) = rest.split_once("<!-- /toc -->").unwrap();
    let mut in_code = false;
    for line in body.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        }
        let Some(title) = line
            .strip_prefix("## ")
            .or_else(|| line.strip_prefix("### "))
        else {
            continue;
        };
        if !in_code {
            assert!(
                toc.contains(&format!("[{title}]")),
                "the contents lack {title:?}"
            );
        }
    }
}
