//! deploy/prometheus/: the Grafana dashboard parses, and it and the alert rules name only
//! metrics the service exports, checked against the /metrics of a real server that has open
//! holds, checkpoints, SQLite and traces on.

use std::{
    collections::BTreeSet,
    path::Path,
    time::{Duration, Instant},
};

use verify_identity::contract::pb;

use crate::traces::{Served, closed_port, fresh_ids, register, scrape};

/// Every string under an `expr`, `query` or `definition` key of `value`.
fn queries(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("expr" | "query" | "definition", serde_json::Value::String(s)) => {
                        out.push(s.clone());
                    }
                    _ => queries(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| queries(v, out)),
        _ => {}
    }
}

/// The service's metric names in `text`: `verify_…` and `audit_…` words.
fn metric_names(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("verify_") || w.starts_with("audit_"))
        .filter(|w| !w.ends_with('_'))
        .map(str::to_owned)
        .collect()
}

/// The names in a Prometheus exposition: every sample's, and every `# TYPE` line's.
fn exposed(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in text.lines() {
        let name = match line.strip_prefix("# TYPE ") {
            Some(rest) => rest.split(' ').next(),
            None if line.starts_with('#') => None,
            None => line.split(['{', ' ']).next(),
        };
        if let Some(name) = name.filter(|n| !n.is_empty()) {
            names.insert(name.to_owned());
        }
    }
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_and_the_alerts_name_only_metrics_the_service_exports() {
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/prometheus");
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(deploy.join("verify-identity.grafana.json")).unwrap(),
    )
    .expect("the dashboard is JSON");
    assert_eq!(dashboard["title"], "verify-identity");
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(panels.len() > 10);
    let mut texts = Vec::new();
    queries(&dashboard, &mut texts);
    let on_dashboard = metric_names(&texts.join("\n"));
    let in_rules =
        metric_names(&std::fs::read_to_string(deploy.join("verify-identity.rules.yml")).unwrap());
    for name in ["verify_holds_open", "verify_holds_oldest_open_age_seconds"] {
        assert!(on_dashboard.contains(name), "{on_dashboard:?}");
    }

    // A server with everything on: SQLite, checkpoints, traces (to a collector that is not
    // there) and metrics; a first one leaves an open hold, so that the second's first pass
    // over the holds finds it.
    let dir = std::env::temp_dir().join(format!("vi-dash-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = std::process::Command::new(env!("CARGO_BIN_EXE_verify-identity"))
        .args(["audit", "checkpoint-key", "--out"])
        .arg(dir.join("checkpoint.key"))
        .output()
        .unwrap();
    assert!(key.status.success(), "{key:?}");
    let metrics = closed_port();
    let dead = format!("http://{}", closed_port());
    let checkpoint_file = dir.join("checkpoints.jsonl").display().to_string();
    let checkpoint_key = dir.join("checkpoint.key").display().to_string();
    let metrics_addr = metrics.to_string();
    let args = [
        "--metrics-listen",
        metrics_addr.as_str(),
        "--otlp-endpoint",
        dead.as_str(),
        "--checkpoint-file",
        checkpoint_file.as_str(),
        "--checkpoint-key-file",
        checkpoint_key.as_str(),
    ];
    let first = Served::start_in(dir.clone(), &args);
    let mut hold = register("dash-1", &fresh_ids().0, &fresh_ids().1);
    hold.get_mut().candidates[0]
        .fields
        .as_mut()
        .unwrap()
        .kanji_name = "髙橋 一朗".into();
    let decided = first
        .client()
        .await
        .verify(hold)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(decided.decision(), pb::Decision::Hold);
    let dir = first.kill_keeping_files();

    let second = Served::start_in(dir, &args);
    let mut client = second.client().await;
    let mut hold = register("dash-2", &fresh_ids().0, &fresh_ids().1);
    hold.get_mut().candidates[0]
        .fields
        .as_mut()
        .unwrap()
        .kanji_name = "髙橋 一朗".into();
    client.verify(hold).await.unwrap();
    let refused = client
        .commit_registration(pb::CommitRegistrationRequest {
            verification_id: "01890000-0000-7000-8000-000000000000".into(),
            insurer_number: "32130011".into(),
            subject_id: "1234-567-01".into(),
            individual_number: "402718593027".into(),
        })
        .await;
    assert!(refused.is_err());

    let wanted: BTreeSet<String> = on_dashboard.union(&in_rules).cloned().collect();
    let started = Instant::now();
    loop {
        let names = exposed(&scrape(metrics));
        let missing: Vec<&String> = wanted.iter().filter(|n| !names.contains(*n)).collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "named in deploy/prometheus but not exported: {missing:?}\nexported: {names:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
