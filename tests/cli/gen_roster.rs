//! `gen-roster` run as a user runs it: the agreed header, CP932 that decodes, and the same file
//! for the same seed.

use std::{path::PathBuf, process::Command};

use encoding_rs::SHIFT_JIS;

/// The registration header the `bulk` command reads, spelled out here rather than taken from
/// the code, so that changing it breaks a test.
const REGISTRATION_HEADER: &str = "request_id,insurer_number,subject_id,subject_kind,received_at,\
form_number,form_kanji_name,form_kana_name,form_birth_date,form_sex,form_address,\
query_kanji_name,query_kana_name,query_birth_date,query_sex,query_address,\
candidate1_kanji_name,candidate1_kana_name,candidate1_birth_date,candidate1_sex,candidate1_address,candidate1_number,\
candidate2_kanji_name,candidate2_kana_name,candidate2_birth_date,candidate2_sex,candidate2_address,candidate2_number,\
candidate3_kanji_name,candidate3_kana_name,candidate3_birth_date,candidate3_sex,candidate3_address,candidate3_number";

const REVERSE_HEADER: &str = "request_id,insurer_number,subject_id,subject_kind,registered_number,\
kanji_name,kana_name,birth_date,sex,address,\
jlis_kanji_name,jlis_kana_name,jlis_birth_date,jlis_sex,jlis_address,jlis_number";

/// Runs gen-roster into a fresh file; returns its bytes.
fn gen_roster(args: &[&str]) -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!("vi-roster-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let file: PathBuf = dir.join("roster.csv");
    let out = Command::new(env!("CARGO_BIN_EXE_verify-identity"))
        .arg("gen-roster")
        .args([
            "--output",
            file.to_str().unwrap(),
            "--received-until",
            "2026-11-30",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&file).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    bytes
}

/// The header and rows of CSV text.
fn read(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut csv = csv::Reader::from_reader(text.as_bytes());
    let header = csv.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = csv
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

#[test]
fn each_kind_writes_the_agreed_header_and_rows_of_its_width() {
    for (kind, header) in [
        ("registration", REGISTRATION_HEADER),
        ("reverse", REVERSE_HEADER),
    ] {
        let bytes = gen_roster(&["--rows", "300", "--kind", kind, "--seed", "1"]);
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with(&format!("{header}\n")), "{kind}");
        let (columns, rows) = read(&text);
        assert_eq!(columns.join(","), header);
        assert_eq!(rows.len(), 300);
        assert!(rows.iter().all(|r| r.len() == columns.len()));
        assert!(rows.iter().all(|r| r[1] == "32130011"));
    }
}

#[test]
fn a_cp932_roster_decodes_without_a_single_replacement() {
    for kind in ["registration", "reverse"] {
        let bytes = gen_roster(&[
            "--rows",
            "2000",
            "--kind",
            kind,
            "--encoding",
            "cp932",
            "--seed",
            "2",
        ]);
        assert!(std::str::from_utf8(&bytes).is_err(), "not UTF-8");
        let (text, had_errors) = SHIFT_JIS.decode_without_bom_handling(&bytes);
        assert!(!had_errors, "{kind}");
        assert!(text.contains("\r\n"), "Windows line ends");
        let (columns, rows) = read(&text);
        assert_eq!(columns.len(), if kind == "reverse" { 16 } else { 34 });
        assert_eq!(rows.len(), 2000);
        // Japanese text survived the round trip.
        assert!(rows.iter().any(|r| r.iter().any(|c| c.contains('区'))));
    }
}

#[test]
fn the_same_seed_writes_the_same_file_and_another_seed_another() {
    let args = |seed| gen_roster(&["--rows", "500", "--kind", "registration", "--seed", seed]);
    assert_eq!(args("7"), args("7"));
    assert_ne!(args("7"), args("8"));
}
