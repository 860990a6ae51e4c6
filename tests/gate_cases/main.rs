//! The gate on real-looking cases: every `*.toml` file beside this one is a table of cases, each
//! with the decision a careful clerk would defend.
//!
//! A case gives the form in full and only what differs after it: the query repeats the form
//! except for the fields it lists, the result repeats the query (or, for a lookup by number, the
//! form) except for the fields it lists. So each case reads as "what is different here", which
//! is how a clerk looks at it.
//!
//! ```toml
//! [[case]]
//! category = "kanji.variant"           # free text, groups the report
//! note = "齊 and 斎 are different characters"   # why the clerk decides so
//! expect = "hold"                      # register | hold | return
//! declared = { kanji_name = "齊藤 浩", kana_name = "サイトウ ヒロシ", birth_date = "昭和50年1月1日", sex = "1", address = "東京都千代田区霞が関二丁目1番2号" }
//! result = { kanji_name = "斎藤 浩" }
//! # optional:
//! # query = { … }                      # the fields the query wrote differently from the form
//! # lookup = "by_number"               # no query: the result is compared with the form
//! # candidates = 0                     # how many people J-LIS returned (default 1; extra
//! #                                    # candidates repeat the result)
//! # declared_number = "123456789018"   # the number written on the form
//! # result_number = "123456789018"     # the number J-LIS returned (default: a valid one)
//! # classes = { "query_vs_candidate.kanji_name" = "variant" }   # pin a comparison's class
//! ```
//!
//! The test fails listing every case whose decision (or pinned class) differs, so one run shows
//! the whole picture rather than the first failure.

use std::{collections::BTreeMap, fs, path::Path};

use serde::Deserialize;
use verify_identity::domain::{
    Field, Stage,
    compare::Record,
    gate::{Candidate, Case, DecisionKind, decide},
    number::IndividualNumber,
    policy::Policy,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    case: Vec<TableCase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableCase {
    category: String,
    note: String,
    expect: String,
    declared: Fields,
    #[serde(default)]
    query: Fields,
    #[serde(default)]
    result: Fields,
    #[serde(default)]
    lookup: Option<String>,
    #[serde(default = "one")]
    candidates: usize,
    #[serde(default)]
    declared_number: Option<String>,
    #[serde(default)]
    result_number: Option<String>,
    #[serde(default)]
    classes: BTreeMap<String, String>,
}

fn one() -> usize {
    1
}

/// Some of the five fields; `None` repeats the record before.
#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct Fields {
    kanji_name: Option<String>,
    kana_name: Option<String>,
    birth_date: Option<String>,
    sex: Option<String>,
    address: Option<String>,
}

impl Fields {
    /// `base` with the fields given here replacing its own.
    fn over(&self, base: &Record) -> Record {
        let pick =
            |own: &Option<String>, base: &String| own.clone().unwrap_or_else(|| base.clone());
        Record {
            kanji_name: pick(&self.kanji_name, &base.kanji_name),
            kana_name: pick(&self.kana_name, &base.kana_name),
            birth_date: pick(&self.birth_date, &base.birth_date),
            sex: pick(&self.sex, &base.sex),
            address: pick(&self.address, &base.address),
        }
    }
}

/// A synthetic number with a valid check digit.
const SYNTHETIC_NUMBER: &str = "123456789018";

impl TableCase {
    fn case(&self) -> Case {
        let declared = self.declared.over(&Record::default());
        let by_number = match self.lookup.as_deref() {
            None | Some("by_attributes") => false,
            Some("by_number") => true,
            Some(other) => panic!("unknown lookup {other:?}"),
        };
        let query = (!by_number).then(|| self.query.over(&declared));
        let result = self.result.over(query.as_ref().unwrap_or(&declared));
        let number = self.result_number.as_deref().unwrap_or(SYNTHETIC_NUMBER);
        Case {
            candidates: (0..self.candidates)
                .map(|_| Candidate {
                    record: result.clone(),
                    number: IndividualNumber::parse(number),
                })
                .collect(),
            declared,
            query,
            declared_number: self.declared_number.as_deref().map(IndividualNumber::parse),
        }
    }
}

fn kind_name(kind: DecisionKind) -> &'static str {
    match kind {
        DecisionKind::Register => "register",
        DecisionKind::Hold => "hold",
        DecisionKind::Return => "return",
    }
}

fn stage_and_field(key: &str) -> (Stage, Field) {
    let (stage, field) = key.split_once('.').expect("stage.field");
    let stage = Stage::ALL
        .into_iter()
        .find(|s| s.as_str() == stage)
        .unwrap_or_else(|| panic!("unknown stage {stage:?}"));
    let field = Field::ALL
        .into_iter()
        .find(|f| f.as_str() == field)
        .unwrap_or_else(|| panic!("unknown field {field:?}"));
    (stage, field)
}

#[test]
fn every_case_is_decided_as_a_careful_clerk_would() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gate_cases");
    let mut paths: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    let policy = Policy::default();
    let (mut total, mut failures) = (0, Vec::new());
    let mut per_expectation: BTreeMap<String, usize> = BTreeMap::new();
    for path in &paths {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = fs::read_to_string(path).unwrap();
        let file: File = toml::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        for (i, table_case) in file.case.iter().enumerate() {
            total += 1;
            *per_expectation
                .entry(table_case.expect.clone())
                .or_default() += 1;
            assert!(
                matches!(table_case.expect.as_str(), "register" | "hold" | "return"),
                "{name} #{}: expect must be register, hold or return",
                i + 1
            );
            let decision = decide(&table_case.case(), &policy);
            let got = kind_name(decision.kind);
            let mut wrong = Vec::new();
            if got != table_case.expect {
                wrong.push(format!("decided {got}, expected {}", table_case.expect));
            }
            for (key, class) in &table_case.classes {
                let (stage, field) = stage_and_field(key);
                let found = decision
                    .comparisons
                    .iter()
                    .find(|c| c.stage == stage && c.field == field)
                    .map(|c| c.comparison.class.as_str());
                if found != Some(class.as_str()) {
                    wrong.push(format!("{key} is {found:?}, expected {class}"));
                }
            }
            if !wrong.is_empty() {
                let classes: Vec<String> = decision
                    .comparisons
                    .iter()
                    .filter(|c| c.comparison.class.as_str() != "exact")
                    .map(|c| {
                        let rules: Vec<_> = c.comparison.rules.ids().collect();
                        format!(
                            "{}.{}={}[{}]",
                            c.stage.as_str(),
                            c.field.as_str(),
                            c.comparison.class.as_str(),
                            rules.join(",")
                        )
                    })
                    .collect();
                failures.push(format!(
                    "{name} #{} ({}; {}): {}\n    comparisons: {}",
                    i + 1,
                    table_case.category,
                    table_case.note,
                    wrong.join("; "),
                    classes.join(" ")
                ));
            }
        }
    }
    eprintln!("{total} cases: {per_expectation:?}");
    assert!(total >= 1, "no case found in {}", dir.display());
    assert!(
        failures.is_empty(),
        "{} of {total} cases decided wrongly:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
