//! The text explanation of `check` and `verify` as the clerk sees it: through a pipe, on a
//! (pseudo-)terminal, with NO_COLOR, and the JSON default for programs unchanged.

use std::process::{Command, Output};

use crate::server::Server;

/// The binary.
const BIN: &str = env!("CARGO_BIN_EXE_verify-identity");

/// Runs the binary with stdout piped (not a terminal); NO_COLOR unset unless given.
fn piped(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("NO_COLOR")
        .env_remove("VERIFY_IDENTITY_SERVER")
        .envs(env.iter().copied())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs")
}

/// Runs the binary on a pseudo-terminal through util-linux `script`, as if typed in a
/// terminal; returns what the terminal received and the exit status.
fn on_a_terminal(args: &str, env: &[(&str, &str)]) -> (String, Option<i32>) {
    let out = Command::new("script")
        .arg("-qec")
        .arg(format!("{BIN} {args}"))
        .arg("/dev/null")
        .env_remove("NO_COLOR")
        .envs(env.iter().copied())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("util-linux `script` runs (apt-get install util-linux)");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code(),
    )
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8")
}

/// The JSON without its `decidedAt` line, which is the clock of each run.
fn without_decided_at(json: &str) -> String {
    json.lines()
        .filter(|l| !l.trim_start().starts_with("\"decidedAt\""))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn text_through_a_pipe_marks_the_differing_kanji_with_brackets_and_no_escape_codes() {
    let out = piped(&["check", "--format", "text", "examples/hold.json"], &[]);
    assert_eq!(out.status.code(), Some(3), "the exit status is unchanged");
    let text = stdout(&out);
    assert!(!text.contains('\x1b'), "{text:?}");
    for line in [
        "decision:   HOLD",
        "reasons:    FIELD_DIFFERS",
        "next step:  do not take the number; confirm the identity with the person (本人確認)",
        "    query        鈴木 [智]子",
        "    candidate 0  鈴木 [知]子",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "no line {line:?} in\n{text}"
        );
    }
    let failing: Vec<&str> = text.lines().filter(|l| l.starts_with(" ✗ ")).collect();
    assert_eq!(failing.len(), 2, "{text}");
    assert!(failing.iter().all(|l| l.contains("kanji_name  MISMATCH")));
}

#[test]
fn the_default_through_a_pipe_is_the_json_of_before() {
    let default = piped(&["check", "examples/hold.json"], &[]);
    let json = piped(&["check", "--format", "json", "examples/hold.json"], &[]);
    assert_eq!(default.status.code(), Some(3));
    let text = stdout(&default);
    assert!(
        text.starts_with("{\n  \"verificationId\": \"\",\n"),
        "{text}"
    );
    assert!(text.ends_with("}\n"));
    assert_eq!(
        without_decided_at(&text),
        without_decided_at(&stdout(&json))
    );
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["decision"], "DECISION_HOLD");
}

#[test]
fn the_default_on_a_terminal_is_text_in_colour() {
    let (screen, code) = on_a_terminal("check examples/hold.json", &[]);
    assert_eq!(code, Some(3));
    assert!(screen.contains("decision:"), "{screen}");
    assert!(
        screen.contains("鈴木 \x1b[1;31;7m智\x1b[0m子"),
        "{screen:?}"
    );
    assert!(
        screen.contains("鈴木 \x1b[1;31;7m知\x1b[0m子"),
        "{screen:?}"
    );
    assert!(!screen.contains("[智]"), "colour replaces the brackets");
}

#[test]
fn no_color_on_a_terminal_gives_text_without_escape_codes() {
    let (screen, code) = on_a_terminal("check examples/hold.json", &[("NO_COLOR", "1")]);
    assert_eq!(code, Some(3));
    assert!(screen.contains("decision:   HOLD"), "{screen}");
    assert!(screen.contains("鈴木 [智]子") && screen.contains("鈴木 [知]子"));
    assert!(!screen.contains('\x1b'), "{screen:?}");
}

#[test]
fn the_return_example_names_the_field_to_send_back_for() {
    let out = piped(&["check", "--format", "text", "examples/return.json"], &[]);
    assert_eq!(out.status.code(), Some(4));
    let text = stdout(&out);
    assert!(
        text.contains("send the form back to the employer (事業主) to complete: address"),
        "{text}"
    );
    assert!(text.contains("(empty)"), "{text}");
}

#[test]
fn the_register_example_says_which_candidate_may_be_registered_and_marks_nothing() {
    let out = piped(
        &["check", "--format", "text", "examples/register.json"],
        &[],
    );
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(text.contains("candidate 0 may be registered"), "{text}");
    assert!(
        !text.contains('✗') && !text.contains("differences:"),
        "{text}"
    );
}

#[test]
fn verify_explains_the_servers_decision_with_the_values_from_the_file() {
    let server = Server::start(&[]);
    let text_args = [
        "verify",
        "--server",
        &server.url,
        "--format",
        "text",
        "examples/hold.json",
    ];
    let out = piped(&text_args, &[]);
    assert_eq!(out.status.code(), Some(3));
    let text = stdout(&out);
    assert!(text.contains("鈴木 [知]子"), "{text}");
    let out = piped(
        &["verify", "--server", &server.url, "examples/hold.json"],
        &[],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("piped verify is JSON");
    assert_eq!(v["decision"], "DECISION_HOLD");
    // The values went to the operator's terminal only, not into the server's log.
    let log = server.log();
    assert!(log.contains("serving"));
    for value in ["鈴木", "智子", "知子", "スズキ"] {
        assert!(!log.contains(value), "{value} in the server's log");
    }
}
