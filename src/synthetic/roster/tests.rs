use std::collections::{HashMap, HashSet};

use super::*;
use crate::domain::{
    MatchClass,
    gate::{Candidate, Case, DecisionKind, decide},
    number::IndividualNumber,
    policy::Policy,
    risk::RiskClass,
};

fn record(cells: &[String]) -> Record {
    Record {
        kanji_name: cells[0].clone(),
        kana_name: cells[1].clone(),
        birth_date: cells[2].clone(),
        sex: cells[3].clone(),
        address: cells[4].clone(),
    }
}

/// The gate's case for a row, read the way the columns are documented.
pub(crate) fn case_of(kind: Kind, cells: &[String]) -> Case {
    let number = |s: &str| (!s.is_empty()).then(|| IndividualNumber::parse(s));
    match kind {
        Kind::Registration => {
            let query = &cells[11..16];
            let candidates = (0..3)
                .map(|k| &cells[16 + 6 * k..22 + 6 * k])
                .filter(|group| group.iter().any(|c| !c.is_empty()))
                .map(|group| Candidate {
                    record: record(&group[..5]),
                    number: IndividualNumber::parse(&group[5]),
                })
                .collect();
            Case {
                declared: record(&cells[6..11]),
                query: query.iter().any(|c| !c.is_empty()).then(|| record(query)),
                candidates,
                declared_number: number(&cells[5]),
            }
        }
        Kind::Reverse => {
            let jlis_number = if cells[15].is_empty() {
                &cells[4]
            } else {
                &cells[15]
            };
            Case {
                declared: record(&cells[5..10]),
                query: None,
                candidates: vec![Candidate {
                    record: record(&cells[10..15]),
                    number: IndividualNumber::parse(jlis_number),
                }],
                declared_number: number(&cells[4]),
            }
        }
    }
}

/// The decision and risk class a case is built for.
fn intended(case: RosterCase) -> (DecisionKind, Option<RiskClass>) {
    use RosterCase as C;
    let hold = |r| (DecisionKind::Hold, Some(r));
    match case {
        C::Notation | C::Variant => (DecisionKind::Register, None),
        C::BirthOrSex => hold(RiskClass::BirthOrSex),
        C::Names => hold(RiskClass::Names),
        C::NameAndAddress => hold(RiskClass::NameAndAddress),
        C::AddressOnly => hold(RiskClass::AddressOnly),
        C::OneNameOnly => hold(RiskClass::OneNameOnly),
        C::QueryKeyedWrongly => hold(RiskClass::NotationOrVariantOnly),
        C::NoCandidate | C::TwoCandidates | C::NumberDiffers | C::QueryFieldMissing => {
            hold(RiskClass::Structural)
        }
        C::FormFieldMissing => (DecisionKind::Return, None),
        C::KanaNotRecorded => hold(RiskClass::KanaNotRecorded),
    }
}

fn generator(kind: Kind, seed: u64) -> RosterGenerator {
    RosterGenerator::new(
        kind,
        seed,
        "32130011".into(),
        days_back((2026, 11, 30), 30),
        |_| true,
    )
}

const KINDS: [Kind; 2] = [Kind::Registration, Kind::Reverse];

#[test]
fn the_mixes_add_up_and_real_differences_are_one_to_three_percent() {
    for kind in KINDS {
        let mix = RosterCase::mix(kind);
        assert_eq!(mix.iter().map(|(_, s)| s).sum::<u32>(), 10_000);
        let real: u32 = mix
            .iter()
            .filter(|(c, _)| {
                let (_, risk) = intended(*c);
                risk.is_some_and(|r| r != RiskClass::Structural)
            })
            .map(|(_, s)| s)
            .sum();
        assert!((100..=300).contains(&real), "{kind:?}: {real}");
    }
}

#[test]
fn every_row_gets_the_decision_and_risk_class_it_was_built_for() {
    let policy = Policy::default();
    for kind in KINDS {
        let mut g = generator(kind, 11);
        let mut wrong: HashMap<RosterCase, usize> = HashMap::new();
        let mut seen = HashSet::new();
        for _ in 0..10_000 {
            let row = g.next_row();
            assert_eq!(row.cells.len(), kind.columns().len());
            let d = decide(&case_of(kind, &row.cells), &policy);
            if (d.kind, d.risk_class()) != intended(row.case) {
                *wrong.entry(row.case).or_default() += 1;
            }
            seen.insert(row.case);
        }
        assert!(
            wrong.is_empty(),
            "{kind:?}: rows decided otherwise: {wrong:?}"
        );
        assert_eq!(seen.len(), RosterCase::mix(kind).len(), "{kind:?}");
    }
}

#[test]
fn every_case_can_be_built_on_demand_for_both_kinds() {
    let policy = Policy::default();
    for kind in KINDS {
        let mut g = generator(kind, 12);
        for &(case, _) in RosterCase::mix(kind) {
            for _ in 0..200 {
                let row = g.row_of(case);
                let d = decide(&case_of(kind, &row.cells), &policy);
                assert_eq!(
                    (d.kind, d.risk_class()),
                    intended(case),
                    "{kind:?} {case:?}"
                );
            }
        }
    }
}

#[test]
fn notation_rows_need_no_fold_beyond_notation_and_variant_rows_need_some() {
    let policy = Policy::default();
    let mut g = generator(Kind::Registration, 13);
    let mut variant_rows = 0;
    for _ in 0..500 {
        let row = g.row_of(RosterCase::Notation);
        let d = decide(&case_of(Kind::Registration, &row.cells), &policy);
        for c in &d.comparisons {
            assert!(
                c.comparison.class <= MatchClass::Notation,
                "{:?}",
                c.comparison.rules
            );
        }
        let row = g.row_of(RosterCase::Variant);
        let d = decide(&case_of(Kind::Registration, &row.cells), &policy);
        if d.comparisons
            .iter()
            .any(|c| c.comparison.class == MatchClass::Variant)
        {
            variant_rows += 1;
        }
    }
    assert!(variant_rows > 250, "{variant_rows} of 500");
}

#[test]
fn every_number_has_a_valid_check_digit_and_ids_are_unique() {
    let mut g = generator(Kind::Registration, 14);
    let mut subjects = HashSet::new();
    for _ in 0..5_000 {
        let row = g.next_row();
        for k in 0..3 {
            let number = &row.cells[21 + 6 * k];
            if !number.is_empty() {
                assert!(IndividualNumber::parse(number).is_ok());
            }
        }
        if !row.cells[5].is_empty() {
            assert!(IndividualNumber::parse(&row.cells[5]).is_ok());
        }
        assert!(subjects.insert(row.cells[2].clone()));
    }
}

#[test]
fn request_and_subject_ids_differ_between_seeds() {
    for kind in KINDS {
        let ids = |seed| {
            let mut g = generator(kind, seed);
            (0..50)
                .flat_map(|_| {
                    let row = g.next_row();
                    [row.cells[0].clone(), row.cells[2].clone()]
                })
                .filter(|id| !id.is_empty())
                .collect::<HashSet<_>>()
        };
        let (a, b) = (ids(1), ids(2));
        assert!(a.is_disjoint(&b), "{kind:?}: {:?}", a.intersection(&b));
    }
}

#[test]
fn the_same_seed_writes_the_same_rows() {
    for kind in KINDS {
        let (mut a, mut b) = (generator(kind, 15), generator(kind, 15));
        for _ in 0..500 {
            assert!(a.next_row() == b.next_row());
        }
        assert!(generator(kind, 16).next_row() != generator(kind, 15).next_row());
    }
}

/// The rows of `examples/roster-*.csv`: each case once or more, in a fixed order.
fn showcase(kind: Kind) -> Vec<Row> {
    use RosterCase as C;
    let cases: &[RosterCase] = match kind {
        Kind::Registration => &[
            C::Notation,
            C::Notation,
            C::Notation,
            C::Variant,
            C::Variant,
            C::BirthOrSex,
            C::BirthOrSex,
            C::Names,
            C::NameAndAddress,
            C::AddressOnly,
            C::OneNameOnly,
            C::QueryKeyedWrongly,
            C::NoCandidate,
            C::TwoCandidates,
            C::NumberDiffers,
            C::QueryFieldMissing,
            C::FormFieldMissing,
            C::Notation,
            C::Variant,
            C::KanaNotRecorded,
        ],
        Kind::Reverse => &[
            C::Notation,
            C::Notation,
            C::Notation,
            C::Variant,
            C::Variant,
            C::BirthOrSex,
            C::BirthOrSex,
            C::Names,
            C::NameAndAddress,
            C::AddressOnly,
            C::AddressOnly,
            C::OneNameOnly,
            C::NumberDiffers,
            C::FormFieldMissing,
            C::Notation,
            C::Variant,
            C::Notation,
            C::OneNameOnly,
            C::Notation,
            C::KanaNotRecorded,
        ],
    };
    let mut g = generator(kind, 2026);
    cases.iter().map(|&c| g.row_of(c)).collect()
}

fn example_path(kind: Kind) -> std::path::PathBuf {
    let name = match kind {
        Kind::Registration => "roster-registration.csv",
        Kind::Reverse => "roster-reverse.csv",
    };
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}

/// Writes `examples/roster-*.csv` again: `cargo test --lib write_example_rosters -- --ignored`.
#[test]
#[ignore = "writes the example files"]
fn write_example_rosters() {
    for kind in KINDS {
        let mut csv = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_path(example_path(kind))
            .unwrap();
        csv.write_record(kind.columns()).unwrap();
        for row in showcase(kind) {
            csv.write_record(&row.cells).unwrap();
        }
        csv.flush().unwrap();
    }
}

#[test]
fn the_example_rosters_are_the_showcase_and_cover_every_risk_class() {
    let policy = Policy::default();
    for kind in KINDS {
        let mut csv = csv::Reader::from_path(example_path(kind)).unwrap();
        assert_eq!(
            csv.headers().unwrap().iter().collect::<Vec<_>>(),
            kind.columns()
        );
        let rows: Vec<Vec<String>> = csv
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect();
        let expected: Vec<Vec<String>> = showcase(kind).into_iter().map(|r| r.cells).collect();
        assert!(rows == expected, "{kind:?}: run write_example_rosters");
        let outcomes: HashSet<(DecisionKind, Option<RiskClass>)> = rows
            .iter()
            .map(|cells| {
                let d = decide(&case_of(kind, cells), &policy);
                (d.kind, d.risk_class())
            })
            .collect();
        for class in RiskClass::ALL {
            // Without a query nothing but the policy can hold a case that matches J-LIS.
            if kind == Kind::Reverse && class == RiskClass::NotationOrVariantOnly {
                continue;
            }
            assert!(
                outcomes.contains(&(DecisionKind::Hold, Some(class))),
                "{kind:?} {class:?}"
            );
        }
        assert!(outcomes.contains(&(DecisionKind::Register, None)));
        assert!(outcomes.contains(&(DecisionKind::Return, None)));
    }
}

#[test]
fn days_are_counted_back_across_months() {
    assert_eq!(
        days_back((2026, 3, 2), 3),
        ["2026-03-02", "2026-03-01", "2026-02-28"]
    );
}
