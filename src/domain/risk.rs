//! Risk triage of held cases, in the classes the 2023 nationwide check (全件照会) sorted its
//! mismatches into.
//!
//! That check compared each insurer's record of a person with J-LIS's record for the
//! registered number and stopped viewing according to what differed:
//!
//! - ① the birth date or the sex differs: 資格情報 and 医療情報 viewing both stopped;
//! - ② both name fields differ, or one name field and the address;
//! - ③ the address alone differs: 医療情報 viewing stopped.
//!
//! A held case here gets one [`RiskClass`], computed from its comparisons *against the registry
//! record* (the query and the form against the candidate; the form against the query says
//! nothing about whether J-LIS returned the right person). Cases the fields cannot classify —
//! nobody or several people returned, a bad check digit, a number that differs or is already
//! someone else's, an incomplete query — are [`RiskClass::Structural`].
//!
//! A field "differs" when its class is mismatch, missing or unparseable at a candidate stage:
//! a missing or unreadable value is not evidence of the same person, so it counts against the
//! case, as the gate does. The one exception is a field the query lacks, which the
//! `query_incomplete` reason already reports (structural).
//!
//! The class is derived, never stored: it is computed again from the stored comparisons and hold
//! reasons whenever a decision is read, so it is the same for a decision whenever it is read,
//! and a refined triage applies to old decisions too.

use crate::domain::{
    Field, MatchClass, Stage,
    outcomes::{DecisionKind, HoldReason},
};

/// How urgent a held case is, most urgent first: the order [`RiskClass::ALL`] and `Ord` give is
/// the order a hold queue is worked in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RiskClass {
    /// ① The birth date or the sex differs from the registry: most likely another person.
    BirthOrSex,
    /// The fields cannot tell: no candidate or several, a bad check digit, a number that differs
    /// from the form's or is registered elsewhere, or an incomplete query.
    Structural,
    /// ② Both the kanji and the kana name differ.
    Names,
    /// ② One name field and the address differ.
    NameAndAddress,
    /// ③ Only the address differs (a move not yet reported, most often).
    AddressOnly,
    /// Only one name field differs (a marriage, a typing error, an unusual reading).
    OneNameOnly,
    /// Nothing differs: the case is held because the policy refuses a notation or variant
    /// difference at some stage.
    NotationOrVariantOnly,
}

impl RiskClass {
    /// Every class, most urgent first.
    pub const ALL: [RiskClass; 7] = [
        RiskClass::BirthOrSex,
        RiskClass::Structural,
        RiskClass::Names,
        RiskClass::NameAndAddress,
        RiskClass::AddressOnly,
        RiskClass::OneNameOnly,
        RiskClass::NotationOrVariantOnly,
    ];

    /// The stable id: shown in exports, result files and metrics. Never changes.
    pub const fn id(self) -> &'static str {
        match self {
            RiskClass::BirthOrSex => "birth_or_sex",
            RiskClass::Structural => "structural",
            RiskClass::Names => "names",
            RiskClass::NameAndAddress => "name_and_address",
            RiskClass::AddressOnly => "address_only",
            RiskClass::OneNameOnly => "one_name_only",
            RiskClass::NotationOrVariantOnly => "notation_or_variant_only",
        }
    }

    /// The class with this id, if any.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.id() == id)
    }
}

/// One comparison as the triage sees it: which stage, which field, how it compared, and for
/// candidate stages which candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compared {
    /// Which two records.
    pub stage: Stage,
    /// Which field.
    pub field: Field,
    /// The outcome class.
    pub class: MatchClass,
}

/// The risk class of a decision: `Some` for a hold, `None` for register and return.
///
/// `comparisons` are the decision's comparisons (from the gate, or read back from the audit
/// log); `hold_reasons` its final hold reasons, including those the audit store added.
pub fn risk_class(
    decision: DecisionKind,
    hold_reasons: &[HoldReason],
    comparisons: impl IntoIterator<Item = Compared>,
) -> Option<RiskClass> {
    if decision != DecisionKind::Hold {
        return None;
    }
    let mut differs = [false; 5];
    for c in comparisons {
        let counts = match c.stage {
            Stage::DeclaredVsQuery => false,
            Stage::DeclaredVsCandidate => c.class >= MatchClass::Mismatch,
            // A field the query lacks is `query_incomplete`, structural below.
            Stage::QueryVsCandidate => {
                c.class == MatchClass::Mismatch || c.class == MatchClass::Unparseable
            }
        };
        if counts {
            differs[field_index(c.field)] = true;
        }
    }
    let [kanji, kana, birth, sex, address] = differs;
    if birth || sex {
        return Some(RiskClass::BirthOrSex);
    }
    if hold_reasons.iter().any(|r| is_structural(*r)) {
        return Some(RiskClass::Structural);
    }
    Some(match (kanji, kana, address) {
        (true, true, _) => RiskClass::Names,
        (true, false, true) | (false, true, true) => RiskClass::NameAndAddress,
        (false, false, true) => RiskClass::AddressOnly,
        (true, false, false) | (false, true, false) => RiskClass::OneNameOnly,
        (false, false, false) => RiskClass::NotationOrVariantOnly,
    })
}

/// Whether a hold reason is about the case's shape rather than its fields.
fn is_structural(reason: HoldReason) -> bool {
    match reason {
        HoldReason::FieldDiffers => false,
        HoldReason::NoCandidate
        | HoldReason::MultipleCandidates
        | HoldReason::InvalidCheckDigit
        | HoldReason::DeclaredNumberDiffers
        | HoldReason::QueryIncomplete
        | HoldReason::NumberRegisteredToAnotherSubject
        | HoldReason::SubjectHasAnotherNumber => true,
    }
}

/// The position of `field` in [`Field::ALL`].
fn field_index(field: Field) -> usize {
    match field {
        Field::KanjiName => 0,
        Field::KanaName => 1,
        Field::BirthDate => 2,
        Field::Sex => 3,
        Field::Address => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        compare::Record,
        gate::{Candidate, Case, decide},
        number::IndividualNumber,
        policy::Policy,
    };

    /// A synthetic number with a valid check digit.
    const NUMBER: &str = "123456789018";

    fn person() -> Record {
        Record {
            kanji_name: "山田 太郎".into(),
            kana_name: "ヤマダ タロウ".into(),
            birth_date: "1980-04-01".into(),
            sex: "1".into(),
            address: "東京都千代田区霞が関二丁目1番2号".into(),
        }
    }

    /// The risk class the default policy gives a reverse check of `insurer` against `jlis`.
    fn class_of(insurer: Record, jlis: Record) -> Option<RiskClass> {
        let case = Case {
            declared: insurer,
            query: None,
            candidates: vec![Candidate {
                record: jlis,
                number: IndividualNumber::parse(NUMBER),
            }],
            declared_number: Some(IndividualNumber::parse(NUMBER)),
        };
        let d = decide(&case, &Policy::default());
        risk_class(d.kind, &d.hold_reasons, compared(&d))
    }

    fn compared(d: &crate::domain::gate::Decision) -> Vec<Compared> {
        d.comparisons
            .iter()
            .map(|c| Compared {
                stage: c.stage,
                field: c.field,
                class: c.comparison.class,
            })
            .collect()
    }

    fn with(edit: impl FnOnce(&mut Record)) -> Record {
        let mut r = person();
        edit(&mut r);
        r
    }

    #[test]
    fn a_register_has_no_risk_class() {
        assert_eq!(class_of(person(), person()), None);
    }

    #[test]
    fn every_class_of_the_nationwide_check() {
        let cases: [(&str, Record, RiskClass); 8] = [
            (
                "birth date",
                with(|r| r.birth_date = "1980-04-02".into()),
                RiskClass::BirthOrSex,
            ),
            ("sex", with(|r| r.sex = "2".into()), RiskClass::BirthOrSex),
            (
                "both names",
                with(|r| {
                    r.kanji_name = "佐藤 花子".into();
                    r.kana_name = "サトウ ハナコ".into();
                }),
                RiskClass::Names,
            ),
            (
                "kanji name and address",
                with(|r| {
                    r.kanji_name = "山田 次郎".into();
                    r.address = "大阪府大阪市北区梅田一丁目1番1号".into();
                }),
                RiskClass::NameAndAddress,
            ),
            (
                "kana name and address",
                with(|r| {
                    r.kana_name = "ヤマダ ジロウ".into();
                    r.address = "大阪府大阪市北区梅田一丁目1番1号".into();
                }),
                RiskClass::NameAndAddress,
            ),
            (
                "address",
                with(|r| r.address = "大阪府大阪市北区梅田一丁目1番1号".into()),
                RiskClass::AddressOnly,
            ),
            (
                "kanji name",
                with(|r| r.kanji_name = "山田 次郎".into()),
                RiskClass::OneNameOnly,
            ),
            (
                "birth date beside names",
                with(|r| {
                    r.birth_date = "1981-04-01".into();
                    r.kanji_name = "佐藤 花子".into();
                    r.kana_name = "サトウ ハナコ".into();
                }),
                RiskClass::BirthOrSex,
            ),
        ];
        for (what, jlis, expected) in cases {
            assert_eq!(class_of(person(), jlis), Some(expected), "{what}");
        }
    }

    #[test]
    fn a_missing_birth_date_on_the_registry_counts_as_differing() {
        let jlis = with(|r| r.birth_date = String::new());
        assert_eq!(class_of(person(), jlis), Some(RiskClass::BirthOrSex));
    }

    #[test]
    fn several_candidates_or_a_bad_number_are_structural() {
        let case = Case {
            declared: person(),
            query: Some(person()),
            candidates: vec![
                Candidate {
                    record: person(),
                    number: IndividualNumber::parse(NUMBER),
                },
                Candidate {
                    record: person(),
                    number: IndividualNumber::parse("123456789018"),
                },
            ],
            declared_number: None,
        };
        let d = decide(&case, &Policy::default());
        assert_eq!(
            risk_class(d.kind, &d.hold_reasons, compared(&d)),
            Some(RiskClass::Structural)
        );

        let nobody = Case {
            candidates: Vec::new(),
            ..case
        };
        let d = decide(&nobody, &Policy::default());
        assert_eq!(
            risk_class(d.kind, &d.hold_reasons, compared(&d)),
            Some(RiskClass::Structural)
        );
    }

    #[test]
    fn a_number_registered_elsewhere_is_structural_even_when_every_field_matches() {
        let reasons = [HoldReason::NumberRegisteredToAnotherSubject];
        assert_eq!(
            risk_class(DecisionKind::Hold, &reasons, []),
            Some(RiskClass::Structural)
        );
    }

    #[test]
    fn the_form_against_the_query_is_not_the_registry() {
        let compared = [Compared {
            stage: Stage::DeclaredVsQuery,
            field: Field::BirthDate,
            class: MatchClass::Mismatch,
        }];
        assert_eq!(
            risk_class(DecisionKind::Hold, &[HoldReason::FieldDiffers], compared),
            Some(RiskClass::NotationOrVariantOnly)
        );
    }

    #[test]
    fn ids_round_trip_and_order_is_urgency() {
        for class in RiskClass::ALL {
            assert_eq!(RiskClass::from_id(class.id()), Some(class));
        }
        assert!(RiskClass::ALL.windows(2).all(|w| w[0] < w[1]));
    }
}
