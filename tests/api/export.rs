//! `verify-identity audit export` through the real binary, on a log the service wrote.

use verify_identity::contract::pb;

use crate::helpers::{Backend, hold_request, register_request, spawn_app};

on_both_backends!(an_auditor_exports_every_event_as_one_json_line_and_can_filter_them);

fn export(url: &str, extra: &[&str]) -> (Option<i32>, Vec<serde_json::Value>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_verify-identity"))
        .args(["audit", "export", "--database", url])
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    (
        out.status.code(),
        lines,
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

async fn an_auditor_exports_every_event_as_one_json_line_and_can_filter_them(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let mut client = app.client.clone();
    let register = client
        .verify(register_request("export-1"))
        .await
        .unwrap()
        .into_inner();
    client.verify(hold_request("export-2")).await.unwrap();
    let mut elsewhere = register_request("export-3");
    elsewhere.insurer_number = "06139999".into();
    client.verify(elsewhere).await.unwrap();
    app.stop().await;

    let (code, events, stderr) = export(&app.db.url, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(events.len(), 3);
    let first = &events[0];
    assert_eq!(first["kind"], "verification.decided");
    assert_eq!(first["decision"], "register");
    assert_eq!(first["verification_id"], register.verification_id.as_str());
    assert_eq!(first["seq"], 1);
    assert_eq!(first["format"], 2);
    assert_eq!(first["hash"].as_str().map(str::len), Some(64));
    assert_eq!(first["comparisons"].as_array().map(Vec::len), Some(15));
    assert!(events[1]["hold_reasons"][0].as_str().is_some());
    // Fingerprints stay fingerprints: a key id and a MAC, never the number.
    let line = serde_json::to_string(first).unwrap();
    assert!(first["number_fingerprint"]["mac"].as_str().is_some());
    let number = &register_request("x").candidates[0].individual_number;
    assert!(!line.contains(number.as_str()), "{line}");
    assert_eq!(register.decision(), pb::Decision::Register);

    let (_, mine, _) = export(&app.db.url, &["--insurer", "32130011"]);
    assert_eq!(mine.len(), 2);
    let (_, none, _) = export(&app.db.url, &["--since", "2999-01-01"]);
    assert!(none.is_empty());
    let (_, all, _) = export(&app.db.url, &["--since", "2000-01-01T00:00:00Z"]);
    assert_eq!(all.len(), 3);
    let (code, _, _) = export(&app.db.url, &["--since", "yesterday"]);
    assert_eq!(code, Some(2));
    app.finish().await;
}
