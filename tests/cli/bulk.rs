//! `bulk` as a user runs it: rosters in UTF-8 and CP932, column mappings, bad rows, re-runs,
//! embedded and server modes, and the report.

use std::{
    os::unix::process::ExitStatusExt,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use crate::server::Server;

const REVERSE_HEADER: &str = "request_id,insurer_number,subject_id,subject_kind,registered_number,\
kanji_name,kana_name,birth_date,sex,address,jlis_kanji_name,jlis_kana_name,jlis_birth_date,\
jlis_sex,jlis_address,jlis_number";

/// Synthetic rows (valid check digits): a register, an address-only hold, a birth-date hold,
/// a notation difference that registers, and a return (no address on the insurer's side).
const REVERSE_ROWS: [&str; 5] = [
    ",32130011,S-1,member,123456789018,髙橋 太郎,タカハシ タロウ,1975-01-01,1,東京都千代田区霞が関2丁目1番1号,高橋 太郎,ﾀｶﾊｼ ﾀﾛｳ,昭和50年1月1日,男,東京都千代田区霞が関2-1-1,",
    ",32130011,S-2,member,983205673214,佐藤 花子,サトウ ハナコ,1980-02-03,2,東京都港区芝公園4丁目2番8号,佐藤 花子,サトウ ハナコ,1980-02-03,2,大阪府大阪市北区梅田1-1-1,",
    ",32130011,S-3,dependent,111111111118,鈴木 智子,スズキ トモコ,1990-05-05,2,東京都新宿区西新宿2丁目8番1号,鈴木 智子,スズキ トモコ,1990-05-06,2,東京都新宿区西新宿2丁目8番1号,111111111118",
    ",32130011,S-4,member,123456789000,田中 一郎,タナカ イチロウ,1960-12-31,1,東京都品川区大崎1丁目1番1号,田中　一郎,たなか いちろう,1960-12-31,1,東京都品川区大崎一丁目1番1号,",
    ",32130011,S-5,member,123456789018,山本 次郎,ヤマモト ジロウ,1970-07-07,1,,山本 次郎,ヤマモト ジロウ,1970-07-07,1,東京都品川区大崎1丁目1番1号,",
];

/// A fresh directory, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new() -> Dir {
        let dir = std::env::temp_dir().join(format!("vi-bulk-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn reverse_csv(rows: &[&str]) -> String {
    let mut s = format!("{REVERSE_HEADER}\r\n");
    for r in rows {
        s.push_str(r);
        s.push_str("\r\n");
    }
    s
}

fn bulk(dir: &Dir, roster: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_verify-identity"))
        .arg("bulk")
        .arg(roster)
        .arg("--output")
        .arg(dir.path("out.csv"))
        .arg("--quiet")
        .args(extra)
        .env_remove("VERIFY_IDENTITY_POLICY")
        .env_remove("VERIFY_IDENTITY_HMAC_KEY_FILE")
        .output()
        .expect("the binary runs")
}

fn ok(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The result file as rows of cells (UTF-8; no cell of these tests holds a comma).
fn rows(path: &Path) -> Vec<Vec<String>> {
    let bytes = std::fs::read(path).unwrap();
    let text = String::from_utf8(bytes).expect("UTF-8");
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    text.lines()
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

/// Every cell but the verification id (which differs between databases).
fn decisions(path: &Path) -> Vec<Vec<String>> {
    rows(path)
        .into_iter()
        .map(|mut r| {
            r.remove(2);
            r
        })
        .collect()
}

fn embedded_args(dir: &Dir, db: &str) -> Vec<String> {
    vec![
        "--database".into(),
        format!("sqlite:{}", dir.path(db).display()),
        "--hmac-key-file".into(),
        dir.path("hmac.key").display().to_string(),
    ]
}

/// Every event in the audit log, as `audit export` prints them (one JSON object a line).
fn exported_events(dir: &Dir, db: &str) -> Vec<serde_json::Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_verify-identity"))
        .args(["audit", "export", "--database"])
        .arg(format!("sqlite:{}", dir.path(db).display()))
        .output()
        .unwrap();
    assert!(out.status.success());
    out.stdout
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice::<serde_json::Value>(l).unwrap())
        .collect()
}

fn audit_events(dir: &Dir, db: &str) -> usize {
    exported_events(dir, db).len()
}

/// The request id of every decision event in the audit log, oldest first.
fn decision_request_ids(dir: &Dir, db: &str) -> Vec<String> {
    exported_events(dir, db)
        .into_iter()
        .filter(|e| e["kind"] == "verification.decided")
        .map(|e| e["request_id"].as_str().unwrap().to_owned())
        .collect()
}

fn assert_no_personal_data(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for secret in [
        "髙橋",
        "タカハシ",
        "1975-01-01",
        "霞が関",
        "123456789018",
        "983205673214",
        "ﾀｶﾊｼ",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

#[test]
fn a_utf8_roster_with_a_bom_is_decided_row_by_row_without_personal_data_in_the_output() {
    let dir = Dir::new();
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(reverse_csv(&REVERSE_ROWS).as_bytes());
    let roster = dir.write("roster.csv", &bytes);
    let out = bulk(&dir, &roster, &["--dry-run"]);
    ok(&out);
    let result = rows(&dir.path("out.csv"));
    assert_eq!(result.len(), 6);
    let by_line: Vec<(&str, &str, &str, &str)> = result[1..]
        .iter()
        .map(|r| (r[0].as_str(), r[3].as_str(), r[4].as_str(), r[6].as_str()))
        .collect();
    assert_eq!(
        by_line,
        [
            ("2", "register", "", ""),
            ("3", "hold", "field_differs", "address_only"),
            ("4", "hold", "field_differs", "birth_or_sex"),
            ("5", "register", "", ""),
            ("6", "return", "", ""),
        ]
    );
    assert_eq!(result[1][2], "", "a dry run has no verification id");
    assert_eq!(result[5][5], "address");
    for file in ["out.csv", "out.errors.csv"] {
        assert_no_personal_data(&std::fs::read(dir.path(file)).unwrap());
    }
    assert_no_personal_data(&out.stdout);
    assert_no_personal_data(&out.stderr);
    assert!(String::from_utf8_lossy(&out.stdout).contains("rows: 5 in = 5 decided + 0"));
}

#[test]
fn a_cp932_roster_decides_as_its_utf8_twin_and_its_results_are_cp932() {
    let dir = Dir::new();
    let mut text = reverse_csv(&REVERSE_ROWS);
    text = text.replace("S-1,", "記号-1,");
    let utf8 = dir.write("utf8.csv", text.as_bytes());
    let (sjis, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&text);
    assert!(!unmappable);
    let cp932 = dir.write("cp932.csv", &sjis);
    ok(&bulk(&dir, &utf8, &["--dry-run"]));
    let from_utf8 = std::fs::read(dir.path("out.csv")).unwrap();
    ok(&bulk(&dir, &cp932, &["--dry-run", "--encoding", "cp932"]));
    let from_cp932 = std::fs::read(dir.path("out.csv")).unwrap();
    let (decoded, _, bad) = encoding_rs::SHIFT_JIS.decode(&from_cp932);
    assert!(!bad);
    assert_eq!(decoded, String::from_utf8(from_utf8).unwrap());
    assert_ne!(from_cp932, decoded.as_bytes(), "written in CP932");
    // Detected without --encoding too.
    ok(&bulk(&dir, &cp932, &["--dry-run"]));
    assert_eq!(std::fs::read(dir.path("out.csv")).unwrap(), from_cp932);
}

#[test]
fn columns_are_mapped_by_header_name_or_by_position() {
    let dir = Dir::new();
    ok(&bulk(
        &dir,
        &dir.write("a.csv", reverse_csv(&REVERSE_ROWS).as_bytes()),
        &["--dry-run"],
    ));
    let expected = rows(&dir.path("out.csv"));

    let renamed = reverse_csv(&REVERSE_ROWS)
        .replacen("subject_id", "記号番号", 1)
        .replacen("jlis_sex", "住基性別", 1);
    let mapping = dir.write(
        "names.toml",
        "kind = \"reverse\"\n[columns]\nsubject_id = \"記号番号\"\njlis_sex = \"住基性別\"\n"
            .as_bytes(),
    );
    let roster = dir.write("b.csv", renamed.as_bytes());
    ok(&bulk(
        &dir,
        &roster,
        &["--dry-run", "--columns", mapping.to_str().unwrap()],
    ));
    assert_eq!(rows(&dir.path("out.csv"))[1..], expected[1..]);

    // No header: positions, with the columns in another order (subject id last).
    let mut toml = String::from("header = false\nkind = \"reverse\"\n[columns]\n");
    let names: Vec<&str> = REVERSE_HEADER.split(',').collect();
    for (i, name) in names.iter().enumerate().skip(1) {
        // request_id is dropped and subject_id moved to the end.
        let pos = if *name == "subject_id" {
            names.len() - 1
        } else if i > 2 {
            i - 1
        } else {
            i
        };
        toml.push_str(&format!("{name} = {pos}\n"));
    }
    let mut headless = String::new();
    for r in REVERSE_ROWS {
        let mut cells: Vec<&str> = r.split(',').collect();
        let subject = cells.remove(2);
        cells.remove(0); // request_id
        cells.push(subject);
        headless.push_str(&cells.join(","));
        headless.push('\n');
    }
    let mapping = dir.write("positions.toml", toml.as_bytes());
    let roster = dir.write("c.csv", headless.as_bytes());
    ok(&bulk(
        &dir,
        &roster,
        &["--dry-run", "--columns", mapping.to_str().unwrap()],
    ));
    let got = rows(&dir.path("out.csv"));
    let lines: Vec<&str> = got[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(lines, ["1", "2", "3", "4", "5"]);
    for (g, e) in got[1..].iter().zip(&expected[1..]) {
        assert_eq!(g[1..], e[1..]);
    }
}

#[test]
fn a_multi_line_quoted_cell_is_one_row_and_later_rows_keep_their_lines() {
    let dir = Dir::new();
    let first = REVERSE_ROWS[0].replacen(
        "東京都千代田区霞が関2丁目1番1号",
        "\"東京都千代田区\r\n霞が関2丁目1番1号\"",
        1,
    );
    let roster = dir.write(
        "ml.csv",
        reverse_csv(&[&first, REVERSE_ROWS[1], "\"\",32130011,\"S-\"\"9\",member,123456789018,a,ア,1975-01-01,1,x,a,ア,1975-01-01,1,x,"]).as_bytes(),
    );
    ok(&bulk(&dir, &roster, &["--dry-run"]));
    let r = rows(&dir.path("out.csv"));
    assert_eq!((r[1][0].as_str(), r[1][3].as_str()), ("2", "register"));
    assert_eq!(r[2][0], "4");
    assert_eq!(r[3][0], "5");
    assert_eq!(
        r[3][1], "\"S-\"\"9\"",
        "Excel-style quotes are written back as such"
    );
}

#[test]
fn bad_rows_go_to_the_errors_file_by_line_and_column_and_nothing_is_dropped() {
    let dir = Dir::new();
    let bad_number = REVERSE_ROWS[1].replacen("983205673214", "98320567321x", 1);
    let bad_kind = REVERSE_ROWS[2].replacen("dependent", "spouse", 1);
    let short = ",32130011,S-9,member";
    let roster = dir.write(
        "bad.csv",
        reverse_csv(&[
            REVERSE_ROWS[0],
            &bad_number,
            &bad_kind,
            short,
            REVERSE_ROWS[3],
            // Most rows are good: a run whose rows mostly fail is a failed run (exit 6).
            REVERSE_ROWS[1],
            REVERSE_ROWS[4],
        ])
        .as_bytes(),
    );
    let out = bulk(
        &dir,
        &roster,
        &["--dry-run", "--errors", dir.path("e.csv").to_str().unwrap()],
    );
    ok(&out);
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("rows: 7 in = 4 decided + 3 in the errors file")
    );
    let errors = std::fs::read_to_string(dir.path("e.csv")).unwrap();
    assert!(
        errors.contains("3,registered_number,\"may contain only digits"),
        "{errors}"
    );
    assert!(
        errors.contains("4,subject_kind,must be member or dependent"),
        "{errors}"
    );
    assert!(
        errors.contains("5,(row),has 4 columns; the header has 16"),
        "{errors}"
    );
    assert!(!errors.contains("98320567321"), "{errors}");
    let lines: Vec<String> = rows(&dir.path("out.csv"))[1..]
        .iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(lines, ["2", "6", "7", "8"]);
}

#[test]
fn characters_cp932_cannot_hold_or_bytes_it_cannot_read_are_reported_never_replaced() {
    let dir = Dir::new();
    let text = reverse_csv(&[
        &REVERSE_ROWS[0].replacen("S-1,", "𠮷-1,", 1),
        REVERSE_ROWS[1],
    ]);
    let roster = dir.write("u.csv", text.as_bytes());
    ok(&bulk(
        &dir,
        &roster,
        &["--dry-run", "--output-encoding", "cp932"],
    ));
    let errors = std::fs::read(dir.path("out.errors.csv")).unwrap();
    let errors = String::from_utf8_lossy(&errors);
    assert!(
        errors.contains("2,subject_id,has a character that CP932 cannot hold"),
        "{errors}"
    );
    assert_eq!(rows(&dir.path("out.csv")).len(), 2);

    // A CP932 file with a byte CP932 cannot read in a name.
    let text = reverse_csv(&REVERSE_ROWS[..2]);
    let mut bytes = encoding_rs::SHIFT_JIS.encode(&text).0.into_owned();
    let at = bytes.windows(3).position(|w| w == b",S-").unwrap();
    let name_start = bytes[at..]
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b',')
        .nth(3)
        .unwrap()
        .0
        + at
        + 1;
    // 0xFF is neither a single byte nor a lead byte in CP932.
    bytes.insert(name_start, 0xFF);
    let roster = dir.write("s.csv", &bytes);
    ok(&bulk(&dir, &roster, &["--dry-run", "--encoding", "cp932"]));
    let errors = std::fs::read_to_string(dir.path("out.errors.csv")).unwrap();
    assert!(
        errors.contains("2,kanji_name,is not valid CP932"),
        "{errors}"
    );
}

#[test]
fn a_run_started_again_returns_the_same_rows_and_adds_no_audit_events() {
    let dir = Dir::new();
    let roster = dir.write("r.csv", reverse_csv(&REVERSE_ROWS).as_bytes());
    let args = embedded_args(&dir, "audit.sqlite");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(&bulk(&dir, &roster, &args));
    let first = std::fs::read(dir.path("out.csv")).unwrap();
    assert_eq!(audit_events(&dir, "audit.sqlite"), 5);
    assert!(
        rows(&dir.path("out.csv"))[1][2].len() == 36,
        "a verification id"
    );

    // As after an interruption: the same file and options again.
    let out = bulk(&dir, &roster, &args);
    ok(&out);
    assert_eq!(std::fs::read(dir.path("out.csv")).unwrap(), first);
    assert_eq!(audit_events(&dir, "audit.sqlite"), 5);
    assert!(String::from_utf8_lossy(&out.stdout).contains("5 decided by an earlier run"));

    // An edited file is a new batch: decided again.
    let edited = dir.write("r.csv", reverse_csv(&REVERSE_ROWS[..4]).as_bytes());
    ok(&bulk(&dir, &edited, &args));
    assert_eq!(audit_events(&dir, "audit.sqlite"), 9);
}

#[test]
fn embedded_and_server_modes_give_identical_decisions_and_the_report_matches_the_results() {
    let dir = Dir::new();
    let roster = dir.write("r.csv", reverse_csv(&REVERSE_ROWS).as_bytes());
    let args = embedded_args(&dir, "embedded.sqlite");
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    let report = dir.path("report.html");
    args.extend(["--report", report.to_str().unwrap()]);
    ok(&bulk(&dir, &roster, &args));
    let embedded = decisions(&dir.path("out.csv"));

    let server = Server::start(&[]);
    ok(&bulk(&dir, &roster, &["--server", &server.url]));
    assert_eq!(decisions(&dir.path("out.csv")), embedded);

    let html = std::fs::read_to_string(&report).unwrap();
    let count = |d: &str| embedded[1..].iter().filter(|r| r[2] == d).count();
    for (decision, class) in [("register", "reg"), ("hold", "hold"), ("return", "ret")] {
        let tile = format!(
            "<div class=\"{class}\"><b>{}</b>{decision}<i>",
            count(decision)
        );
        assert!(html.contains(&tile), "{tile}");
    }
    assert!(html.contains("<b>5</b>rows"));
    // Each risk class's bar carries the count of its rows in the result file and their share
    // of the held rows.
    let held = count("hold");
    for class in ["address_only", "birth_or_sex", "names"] {
        let n = embedded[1..].iter().filter(|r| r[5] == class).count();
        let bar = format!(">{class}</text><rect");
        let at = html.find(&bar).unwrap_or_else(|| panic!("no bar {bar}"));
        let figure = html[at + bar.len()..].split("</text>").next().unwrap();
        let expected = format!("class=\"n\">{n} ({:.1}%)", 100.0 * n as f64 / held as f64);
        assert!(figure.ends_with(&expected), "{class}: {figure}");
    }
    assert!(html.contains("chain "), "the audit chain position");
    for external in ["<script", "src=", "href=", "@import", "url("] {
        assert!(!html.contains(external), "{external}");
    }
    assert_no_personal_data(html.as_bytes());
}

/// Rows in the reverse roster the interrupted run is given: big enough that a debug build is
/// still deciding long after its result file shows the first rows (the file is written in
/// blocks of about a megabyte, some 8,000 rows).
const INTERRUPTED_ROWS: usize = 30_000;

/// Whether the result file shows a decided row (more than its header line).
fn shows_a_decided_row(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|b| b.iter().filter(|c| **c == b'\n').count() >= 2)
}

/// The temporary file a running `bulk` writes `out.csv` into (`.out.csv.XXXXXX.partial`).
fn partial_output(dir: &Dir) -> Option<PathBuf> {
    std::fs::read_dir(&dir.0).ok()?.flatten().find_map(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        (name.starts_with(".out.csv.") && name.ends_with(".partial")).then(|| e.path())
    })
}

#[test]
fn a_run_killed_mid_way_and_started_again_decides_every_row_exactly_once() {
    let dir = Dir::new();
    let roster = dir.path("big.csv");
    let rows_arg = INTERRUPTED_ROWS.to_string();
    let generated = Command::new(env!("CARGO_BIN_EXE_verify-identity"))
        .args([
            "gen-roster",
            "--kind",
            "reverse",
            "--seed",
            "10",
            "--rows",
            &rows_arg,
        ])
        .arg("--output")
        .arg(&roster)
        .output()
        .unwrap();
    ok(&generated);
    let args = embedded_args(&dir, "audit.sqlite");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    // The first run, killed (SIGKILL: nothing flushed, nothing closed) once rows are decided.
    let mut first = Command::new(env!("CARGO_BIN_EXE_verify-identity"))
        .arg("bulk")
        .arg(&roster)
        .arg("--output")
        .arg(dir.path("out.csv"))
        .arg("--quiet")
        .args(&args)
        .env_remove("VERIFY_IDENTITY_POLICY")
        .env_remove("VERIFY_IDENTITY_HMAC_KEY_FILE")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let waiting = Instant::now();
    while !partial_output(&dir).is_some_and(|p| shows_a_decided_row(&p)) {
        if let Some(status) = first.try_wait().unwrap() {
            panic!(
                "the first run ended ({status}) before it showed progress: nothing was \
                 interrupted; make INTERRUPTED_ROWS bigger"
            );
        }
        assert!(
            waiting.elapsed() < Duration::from_secs(300),
            "no row decided in 5 minutes"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    first.kill().unwrap();
    let status = first.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(libc::SIGKILL),
        "the first run ended ({status}) before it was killed: nothing was interrupted; make \
         INTERRUPTED_ROWS bigger"
    );
    // A killed run never leaves a partial result under the result's name.
    assert!(!dir.path("out.csv").exists());
    // The whole lines the first run wrote (the last may be cut off mid-way).
    let written_first = std::fs::read(partial_output(&dir).unwrap()).unwrap();
    let written_first = String::from_utf8_lossy(&written_first);
    let written_first: Vec<&str> = written_first.lines().skip(1).collect();
    let written_first = &written_first[..written_first.len() - 1];
    let decided_first = decision_request_ids(&dir, "audit.sqlite").len();
    assert!(
        decided_first > 0 && decided_first < INTERRUPTED_ROWS,
        "the first run decided {decided_first} of {INTERRUPTED_ROWS} rows: not mid-way"
    );

    // Started again: the same file and options.
    let out = bulk(&dir, &roster, &args);
    ok(&out);
    assert_eq!(
        partial_output(&dir),
        None,
        "the killed run's leftover is removed"
    );
    let results = rows(&dir.path("out.csv"));
    let decided = results.len() - 1;
    // The errors file has a line per problem; a row may have several.
    let mut failed_lines: Vec<u64> = rows(&dir.path("out.errors.csv"))[1..]
        .iter()
        .map(|r| r[0].parse().unwrap())
        .collect();
    failed_lines.dedup();
    let failed = failed_lines.len();
    assert_eq!(
        decided + failed,
        INTERRUPTED_ROWS,
        "rows in = results + errors"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "rows: {INTERRUPTED_ROWS} in = {decided} decided + {failed} in the errors file"
        )),
        "{stdout}"
    );
    let mut lines: Vec<u64> = results[1..]
        .iter()
        .map(|r| r[0].parse().unwrap())
        .chain(failed_lines)
        .collect();
    lines.sort_unstable();
    lines.dedup();
    assert_eq!(lines.len(), INTERRUPTED_ROWS, "one row out per row in");

    let mut ids: Vec<&str> = results[1..].iter().map(|r| r[2].as_str()).collect();
    assert!(
        ids.iter().all(|id| id.len() == 36),
        "every row has a verification id"
    );
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), decided, "every verification id is distinct");

    // One decision event per decided row: none again for the rows the first run decided.
    let mut requests = decision_request_ids(&dir, "audit.sqlite");
    assert_eq!(requests.len(), decided);
    requests.sort_unstable();
    requests.dedup();
    assert_eq!(requests.len(), decided, "no request id decided twice");
    assert!(
        stdout.contains(&format!("{decided_first} decided by an earlier run")),
        "{stdout}"
    );

    // Rows already decided come back unchanged, verification id and all.
    let written = std::fs::read_to_string(dir.path("out.csv")).unwrap();
    let written: std::collections::HashSet<&str> = written.lines().collect();
    assert!(!written_first.is_empty());
    for line in written_first {
        assert!(written.contains(line), "{line} changed on the second run");
    }

    let verified = Command::new(env!("CARGO_BIN_EXE_verify-identity"))
        .args(["audit", "verify", "--database"])
        .arg(format!("sqlite:{}", dir.path("audit.sqlite").display()))
        .output()
        .unwrap();
    ok(&verified);
}

/// A synthetic roster from `gen-roster` in `dir`.
fn generated(dir: &Dir, name: &str, rows: usize, encoding: &str) -> PathBuf {
    generated_with_seed(dir, name, rows, encoding, 7)
}

/// [`generated`] from `seed`.
fn generated_with_seed(dir: &Dir, name: &str, rows: usize, encoding: &str, seed: u64) -> PathBuf {
    let path = dir.path(name);
    let out = Command::new(env!("CARGO_BIN_EXE_verify-identity"))
        .args(["gen-roster", "--kind", "reverse", "--seed"])
        .arg(seed.to_string())
        .arg("--rows")
        .arg(rows.to_string())
        .args(["--encoding", encoding, "--output"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

#[test]
fn a_cp932_roster_read_as_utf8_is_a_failed_run_that_says_why_and_is_never_complete() {
    let dir = Dir::new();
    let roster = generated(&dir, "sjis.csv", 300, "cp932");
    let report = dir.path("report.html");
    let out = bulk(
        &dir,
        &roster,
        &[
            "--dry-run",
            "--encoding",
            "utf-8",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(6), "{stdout}");
    assert!(
        stdout.contains("FAILED: 300 of 300 rows could not be decided"),
        "{stdout}"
    );
    assert!(
        stdout.contains("300 rows could not be decoded as UTF-8: is the file CP932"),
        "{stdout}"
    );
    assert!(!stdout.contains("complete: every row"), "{stdout}");
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(
        !html.contains("class=\"ok\""),
        "no green banner over a failed run"
    );
    assert!(
        html.contains("<p class=\"bad\">Failed: 300 of 300 rows"),
        "{html}"
    );
    // The errors by kind and column, the most frequent first.
    assert!(html.contains("Rows in the errors file, by problem"));
    assert!(html.contains(
        "<td>encoding</td><td lang=\"ja\">kanji_name</td><td>is not valid UTF-8</td><td>300</td>"
    ));
    assert_no_personal_data(html.as_bytes());
}

#[test]
fn a_run_whose_first_thousand_rows_all_fail_stops_there() {
    let dir = Dir::new();
    let roster = generated(&dir, "sjis.csv", 3_000, "cp932");
    let out = bulk(&dir, &roster, &["--dry-run", "--encoding", "utf-8"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(6), "{stdout}");
    assert!(
        stdout.contains("rows all failed, so the run stopped there"),
        "{stdout}"
    );
    let errors = std::fs::read_to_string(dir.path("out.errors.csv")).unwrap();
    let rows: std::collections::BTreeSet<&str> = errors
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert!(
        (1_000..3_000).contains(&rows.len()),
        "{} rows in the errors file",
        rows.len()
    );
}

#[test]
fn a_run_with_a_few_bad_rows_is_complete() {
    let dir = Dir::new();
    let bad = REVERSE_ROWS[1].replacen("983205673214", "98320567321x", 1);
    let roster = dir.write(
        "few.csv",
        reverse_csv(&[REVERSE_ROWS[0], &bad, REVERSE_ROWS[3]]).as_bytes(),
    );
    let out = bulk(&dir, &roster, &["--dry-run"]);
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("complete: every row"));
}

#[test]
fn two_synthetic_rosters_of_different_seeds_decide_into_one_log_without_reused_ids() {
    let dir = Dir::new();
    for seed in [1, 2] {
        let roster = generated_with_seed(&dir, &format!("r{seed}.csv"), 200, "utf-8", seed);
        let args = embedded_args(&dir, "audit.sqlite");
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = bulk(&dir, &roster, &args);
        ok(&out);
        let errors = std::fs::read_to_string(dir.path("out.errors.csv")).unwrap();
        assert_eq!(errors.lines().count(), 1, "seed {seed}: {errors}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("rows: 200 in = 200 decided"), "{stdout}");
        assert!(!stdout.contains("decided by an earlier run"), "{stdout}");
    }
}

#[test]
fn an_output_that_is_the_roster_is_refused_and_the_roster_kept_whole() {
    use std::os::unix::fs::PermissionsExt;
    let dir = Dir::new();
    let text = reverse_csv(&REVERSE_ROWS);
    let roster = dir.write("roster.csv", text.as_bytes());
    let link = dir.path("link.csv");
    std::os::unix::fs::symlink(&roster, &link).unwrap();
    for (flag, path) in [
        ("--output", roster.clone()),
        ("--output", dir.0.join(".").join("roster.csv")),
        ("--output", link.clone()),
        ("--errors", roster.clone()),
        ("--report", link.clone()),
    ] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_verify-identity"));
        command
            .arg("bulk")
            .arg(&roster)
            .args(["--dry-run", "--quiet"]);
        if flag != "--output" {
            command.arg("--output").arg(dir.path("out.csv"));
        }
        let out = command.arg(flag).arg(&path).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{flag} {}: {stderr}",
            path.display()
        );
        assert!(
            stderr.contains(&format!("{flag} is the roster")),
            "{stderr}"
        );
        assert_eq!(
            std::fs::read_to_string(&roster).unwrap(),
            text,
            "the roster is intact"
        );
    }
    // The outputs of a good run are the owner's only.
    ok(&bulk(
        &dir,
        &roster,
        &[
            "--dry-run",
            "--report",
            dir.path("r.html").to_str().unwrap(),
        ],
    ));
    for name in ["out.csv", "out.errors.csv", "r.html"] {
        let mode = std::fs::metadata(dir.path(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{name}");
    }
}

#[test]
fn a_misspelled_optional_header_is_refused_naming_the_name_it_was_meant_to_be() {
    let dir = Dir::new();
    let text = reverse_csv(&REVERSE_ROWS).replacen("request_id", "requestid", 1);
    let roster = dir.write("typo.csv", text.as_bytes());
    let out = bulk(&dir, &roster, &["--dry-run"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("`requestid` (did you mean `request_id`?)"),
        "{stderr}"
    );
    assert!(!dir.path("out.csv").exists(), "nothing was decided");
    // Told that the file has columns of its own, the run reads it.
    ok(&bulk(
        &dir,
        &roster,
        &["--dry-run", "--ignore-extra-columns"],
    ));
}

#[test]
fn a_roster_without_a_header_mapped_by_position_is_not_read_with_its_first_person_as_header() {
    let dir = Dir::new();
    let mut text = String::new();
    for r in REVERSE_ROWS {
        text.push_str(r);
        text.push_str("\r\n");
    }
    let roster = dir.write("noheader.csv", text.as_bytes());
    let positions: String = [
        "insurer_number",
        "subject_id",
        "subject_kind",
        "registered_number",
        "kanji_name",
        "kana_name",
        "birth_date",
        "sex",
        "address",
        "jlis_kanji_name",
        "jlis_kana_name",
        "jlis_birth_date",
        "jlis_sex",
        "jlis_address",
        "jlis_number",
    ]
    .iter()
    .enumerate()
    .map(|(i, name)| format!("{name} = {}\n", i + 2))
    .collect();
    // `header` left at its default (true).
    let mapping = dir.write(
        "map.toml",
        format!("kind = \"reverse\"\n[columns]\n{positions}").as_bytes(),
    );
    let out = bulk(
        &dir,
        &roster,
        &["--dry-run", "--columns", mapping.to_str().unwrap()],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("the first row looks like data"), "{stderr}");
    assert!(stderr.contains("header = false"), "{stderr}");
    assert_no_personal_data(&out.stderr);
    // With header = false every row is read.
    let mapping = dir.write(
        "map.toml",
        format!("kind = \"reverse\"\nheader = false\n[columns]\n{positions}").as_bytes(),
    );
    let out = bulk(
        &dir,
        &roster,
        &["--dry-run", "--columns", mapping.to_str().unwrap()],
    );
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("rows: 5 in = 5 decided"));
}
