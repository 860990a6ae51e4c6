//! The gate: records, candidates and a policy → register, hold or return, with reasons.
//!
//! Stages, in order: the form against the query, the query against each candidate, the form
//! against each candidate. The last stage exists because folding is not always transitive: a
//! form can be a variant of the query and the query a variant of the result while the form and
//! the result differ by more than either step.
//!
//! - return: the form lacks one of the five fields. This wins over every hold reason: the
//!   insurer's next step is to send the form back, not to call the person.
//! - hold: any field outside the policy at any stage, a query missing a field, no candidate,
//!   several candidates (never pick one, even if only one matches), a candidate number with a
//!   bad check digit, a number on the form that differs from the candidate's.
//! - register: everything else, with the one candidate selected.

use crate::domain::{
    Comparison, Field, MatchClass, Stage,
    compare::{PreparedRecord, Record},
    number::IndividualNumber,
    policy::Policy,
    risk::{self, RiskClass},
};

pub use crate::domain::outcomes::{CommitRefusal, DecisionKind, HoldReason, Resolution};

/// One person returned by J-LIS.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// The person's five fields as J-LIS holds them.
    pub record: Record,
    /// The number as returned; validated by the gate (a bad check digit holds the case).
    pub number: Result<IndividualNumber, crate::domain::number::NumberError>,
}

/// Everything the gate looks at for one case.
#[derive(Clone, Debug, Default)]
pub struct Case {
    /// As written on the form.
    pub declared: Record,
    /// As sent in the J-LIS query; `None` when the candidates come from a lookup by number.
    pub query: Option<Record>,
    /// The J-LIS result.
    pub candidates: Vec<Candidate>,
    /// The number written on the form, if any, as parsed.
    pub declared_number: Option<Result<IndividualNumber, crate::domain::number::NumberError>>,
}

/// One field comparison at one stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageComparison {
    /// Which two records.
    pub stage: Stage,
    /// Which field.
    pub field: Field,
    /// The outcome.
    pub comparison: Comparison,
    /// For candidate stages, the candidate's index; 0 otherwise.
    pub candidate_index: usize,
    /// Whether the policy accepts this comparison.
    pub accepted: bool,
}

/// The gate's decision and everything that explains it. Holds no personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Register, hold or return.
    pub kind: DecisionKind,
    /// Every comparison made.
    pub comparisons: Vec<StageComparison>,
    /// Why the case is held; sorted, without repeats. Empty unless `kind` is hold.
    pub hold_reasons: Vec<HoldReason>,
    /// For return: the fields the form must complete.
    pub fields_to_complete: Vec<Field>,
    /// For register: the index of the candidate whose number may be registered.
    pub selected_candidate: Option<usize>,
}

impl Decision {
    /// How urgent the case is when it is held ([`risk`](crate::domain::risk)); `None` otherwise.
    pub fn risk_class(&self) -> Option<RiskClass> {
        risk::risk_class(
            self.kind,
            &self.hold_reasons,
            self.comparisons.iter().map(|c| risk::Compared {
                stage: c.stage,
                field: c.field,
                class: c.comparison.class,
            }),
        )
    }
}

/// Decides one case.
pub fn decide(case: &Case, policy: &Policy) -> Decision {
    let declared = PreparedRecord::new(&case.declared);
    let query = case
        .query
        .as_ref()
        .map(|q| PreparedRecord::sharing(q, &[(&case.declared, &declared)]));
    let with_query;
    let bases: &[(&Record, &PreparedRecord<'_>)] = match (&case.query, &query) {
        (Some(raw), Some(prepared)) => {
            with_query = [(raw, prepared), (&case.declared, &declared)];
            &with_query
        }
        _ => &[(&case.declared, &declared)],
    };
    let candidates: Vec<PreparedRecord<'_>> = case
        .candidates
        .iter()
        .map(|c| PreparedRecord::sharing(&c.record, bases))
        .collect();
    decide_prepared(case, &declared, query.as_ref(), &candidates, policy)
}

/// Decides one case whose records are already prepared (the form and query once, whatever the
/// number of candidates).
pub fn decide_prepared(
    case: &Case,
    declared: &PreparedRecord<'_>,
    query: Option<&PreparedRecord<'_>>,
    candidates: &[PreparedRecord<'_>],
    policy: &Policy,
) -> Decision {
    let stages = 1 + 2 * candidates.len();
    let mut comparisons = Vec::with_capacity(stages * 5);
    let mut reasons = Vec::new();
    let record =
        |stage, index, a: &PreparedRecord<'_>, b: &PreparedRecord<'_>, out: &mut Vec<_>| {
            for (field, comparison) in Field::ALL.into_iter().zip(a.compare(b)) {
                let accepted = policy.accepts(stage, field, comparison.class);
                out.push(StageComparison {
                    stage,
                    field,
                    comparison,
                    candidate_index: index,
                    accepted,
                });
            }
        };

    if let (Some(query), Some(raw_query)) = (query, case.query.as_ref()) {
        record(Stage::DeclaredVsQuery, 0, declared, query, &mut comparisons);
        if !raw_query.missing_fields().is_empty() {
            reasons.push(HoldReason::QueryIncomplete);
        }
        for (i, candidate) in candidates.iter().enumerate() {
            record(
                Stage::QueryVsCandidate,
                i,
                query,
                candidate,
                &mut comparisons,
            );
        }
    }
    for (i, candidate) in candidates.iter().enumerate() {
        record(
            Stage::DeclaredVsCandidate,
            i,
            declared,
            candidate,
            &mut comparisons,
        );
    }

    // A field missing on the query is reported as QueryIncomplete; every other refusal as a
    // field difference.
    if comparisons
        .iter()
        .any(|c| !c.accepted && !(is_query_gap(c, case)))
    {
        reasons.push(HoldReason::FieldDiffers);
    }
    match case.candidates.len() {
        0 => reasons.push(HoldReason::NoCandidate),
        1 => {}
        _ => reasons.push(HoldReason::MultipleCandidates),
    }
    if case.candidates.iter().any(|c| c.number.is_err()) {
        reasons.push(HoldReason::InvalidCheckDigit);
    }
    if let Some(declared_number) = &case.declared_number {
        let differs = match declared_number {
            Err(_) => true,
            Ok(n) => case
                .candidates
                .iter()
                .any(|c| c.number.as_ref().is_ok_and(|m| m != n)),
        };
        if differs {
            reasons.push(HoldReason::DeclaredNumberDiffers);
        }
    }
    reasons.sort_unstable();
    reasons.dedup();

    let fields_to_complete = case.declared.missing_fields();
    let kind = if !fields_to_complete.is_empty() {
        DecisionKind::Return
    } else if !reasons.is_empty() {
        DecisionKind::Hold
    } else {
        DecisionKind::Register
    };
    Decision {
        kind,
        comparisons,
        hold_reasons: if kind == DecisionKind::Hold {
            reasons
        } else {
            Vec::new()
        },
        fields_to_complete,
        selected_candidate: (kind == DecisionKind::Register).then_some(0),
    }
}

/// What the audit store knows about the selected candidate's number before the decision is
/// final. The store is asked by the caller; the gate stays free of I/O.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Registrations {
    /// The number is already registered, for this insurer, to another subject.
    pub number_registered_to_another_subject: bool,
    /// This subject already has a different registered number with this insurer.
    pub subject_has_another_number: bool,
}

/// Turns a register decision into a hold when its number is already registered elsewhere.
///
/// Applied after [`decide`] because only a register decision selects a number to look up;
/// every other decision is returned unchanged.
pub fn hold_for_registrations(mut decision: Decision, found: Registrations) -> Decision {
    if decision.kind != DecisionKind::Register {
        return decision;
    }
    if found.number_registered_to_another_subject {
        decision
            .hold_reasons
            .push(HoldReason::NumberRegisteredToAnotherSubject);
    }
    if found.subject_has_another_number {
        decision
            .hold_reasons
            .push(HoldReason::SubjectHasAnotherNumber);
    }
    if !decision.hold_reasons.is_empty() {
        decision.hold_reasons.sort_unstable();
        decision.kind = DecisionKind::Hold;
        decision.selected_candidate = None;
    }
    decision
}

/// A comparison that failed only because the query lacks the field (the declared side has it).
fn is_query_gap(c: &StageComparison, case: &Case) -> bool {
    if c.comparison.class != MatchClass::Missing {
        return false;
    }
    let Some(query) = &case.query else {
        return false;
    };
    let query_empty = query
        .get(c.field)
        .chars()
        .all(crate::domain::text::chars::is_space);
    match c.stage {
        Stage::DeclaredVsQuery => query_empty,
        Stage::QueryVsCandidate => query_empty,
        Stage::DeclaredVsCandidate => false,
    }
}

#[cfg(test)]
mod registration_tests {
    use super::*;

    fn register() -> Decision {
        Decision {
            kind: DecisionKind::Register,
            comparisons: Vec::new(),
            hold_reasons: Vec::new(),
            fields_to_complete: Vec::new(),
            selected_candidate: Some(0),
        }
    }

    #[test]
    fn a_number_registered_to_someone_else_turns_register_into_hold() {
        let d = hold_for_registrations(
            register(),
            Registrations {
                number_registered_to_another_subject: true,
                subject_has_another_number: true,
            },
        );
        assert_eq!(d.kind, DecisionKind::Hold);
        assert_eq!(d.selected_candidate, None);
        assert_eq!(
            d.hold_reasons,
            [
                HoldReason::NumberRegisteredToAnotherSubject,
                HoldReason::SubjectHasAnotherNumber
            ]
        );
    }

    #[test]
    fn no_registration_elsewhere_leaves_the_decision_alone() {
        assert_eq!(
            hold_for_registrations(register(), Registrations::default()),
            register()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(kanji: &str, kana: &str, birth: &str, sex: &str, address: &str) -> Record {
        Record {
            kanji_name: kanji.into(),
            kana_name: kana.into(),
            birth_date: birth.into(),
            sex: sex.into(),
            address: address.into(),
        }
    }

    fn person() -> Record {
        rec(
            "山田 太郎",
            "ヤマダ タロウ",
            "昭和55年3月14日",
            "男",
            "埼玉県さいたま市浦和区高砂三丁目15番1号",
        )
    }

    fn candidate(record: Record, number: &str) -> Candidate {
        Candidate {
            record,
            number: IndividualNumber::parse(number),
        }
    }

    fn case(declared: Record, query: Option<Record>, candidates: Vec<Candidate>) -> Case {
        Case {
            declared,
            query,
            candidates,
            declared_number: None,
        }
    }

    fn decide_default(c: &Case) -> Decision {
        decide(c, &Policy::default())
    }

    #[test]
    fn a_clean_case_registers_the_one_candidate() {
        let d = decide_default(&case(
            person(),
            Some(rec(
                "山田太郎",
                "ﾔﾏﾀﾞ ﾀﾛｳ",
                "S55.3.14",
                "1",
                "埼玉県さいたま市浦和区高砂3-15-1",
            )),
            vec![candidate(person(), "123456789018")],
        ));
        assert_eq!(d.kind, DecisionKind::Register, "{:?}", d.comparisons);
        assert_eq!(d.selected_candidate, Some(0));
        assert!(d.hold_reasons.is_empty());
        assert_eq!(d.comparisons.len(), 15);
    }

    #[test]
    fn every_stage_and_field_is_reported_once_per_candidate() {
        let d = decide_default(&case(
            person(),
            Some(person()),
            vec![
                candidate(person(), "123456789018"),
                candidate(person(), "983205673214"),
            ],
        ));
        assert_eq!(d.comparisons.len(), 5 * (1 + 2 + 2));
        assert_eq!(
            d.comparisons
                .iter()
                .filter(|c| c.stage == Stage::DeclaredVsCandidate && c.candidate_index == 1)
                .count(),
            5
        );
    }

    #[test]
    fn several_candidates_hold_even_when_only_one_matches() {
        let mut sibling = person();
        sibling.kanji_name = "山田 次郎".into();
        sibling.kana_name = "ヤマダ ジロウ".into();
        let d = decide_default(&case(
            person(),
            Some(person()),
            vec![
                candidate(person(), "123456789018"),
                candidate(sibling, "983205673214"),
            ],
        ));
        assert_eq!(d.kind, DecisionKind::Hold);
        assert!(d.hold_reasons.contains(&HoldReason::MultipleCandidates));
        assert_eq!(d.selected_candidate, None);
    }

    #[test]
    fn no_candidate_holds() {
        let d = decide_default(&case(person(), Some(person()), vec![]));
        assert_eq!(d.kind, DecisionKind::Hold);
        assert_eq!(d.hold_reasons, [HoldReason::NoCandidate]);
    }

    #[test]
    fn a_sibling_at_the_same_address_is_held() {
        let mut sibling = person();
        sibling.kanji_name = "山田 花子".into();
        sibling.kana_name = "ヤマダ ハナコ".into();
        sibling.sex = "2".into();
        let d = decide_default(&case(
            person(),
            Some(person()),
            vec![candidate(sibling, "123456789018")],
        ));
        assert_eq!(d.kind, DecisionKind::Hold);
        assert_eq!(d.hold_reasons, [HoldReason::FieldDiffers]);
    }

    #[test]
    fn a_parent_returned_for_a_child_is_held() {
        let child = rec(
            "山田 翔太",
            "ヤマダ ショウタ",
            "平成27年6月1日",
            "1",
            "埼玉県さいたま市浦和区高砂三丁目15番1号",
        );
        let parent = rec(
            "山田 翔太",
            "ヤマダ ショウタ",
            "昭和58年6月1日",
            "1",
            "埼玉県さいたま市浦和区高砂三丁目15番1号",
        );
        let d = decide_default(&case(
            child.clone(),
            Some(child),
            vec![candidate(parent, "123456789018")],
        ));
        assert_eq!(d.kind, DecisionKind::Hold);
        let birth: Vec<_> = d
            .comparisons
            .iter()
            .filter(|c| c.field == Field::BirthDate && c.stage != Stage::DeclaredVsQuery)
            .map(|c| c.comparison.class)
            .collect();
        assert_eq!(birth, [MatchClass::Mismatch, MatchClass::Mismatch]);
    }

    #[test]
    fn a_query_without_address_is_incomplete_even_if_the_result_matches() {
        let mut weak = person();
        weak.address.clear();
        weak.kanji_name.clear();
        let d = decide_default(&case(
            person(),
            Some(weak),
            vec![candidate(person(), "123456789018")],
        ));
        assert_eq!(d.kind, DecisionKind::Hold);
        assert_eq!(d.hold_reasons, [HoldReason::QueryIncomplete]);
    }

    #[test]
    fn a_declared_form_missing_a_field_is_returned_whatever_else_is_wrong() {
        let mut form = person();
        form.address = "  ".into();
        form.sex.clear();
        let d = decide_default(&case(form, None, vec![]));
        assert_eq!(d.kind, DecisionKind::Return);
        assert_eq!(d.fields_to_complete, [Field::Sex, Field::Address]);
        assert!(d.hold_reasons.is_empty());
        assert_eq!(d.selected_candidate, None);
    }

    #[test]
    fn a_bad_check_digit_on_the_candidate_holds() {
        let d = decide_default(&case(
            person(),
            Some(person()),
            vec![candidate(person(), "983205673210")],
        ));
        assert_eq!(d.kind, DecisionKind::Hold);
        assert_eq!(d.hold_reasons, [HoldReason::InvalidCheckDigit]);
    }

    #[test]
    fn a_number_on_the_form_must_equal_the_candidates() {
        let mut c = case(person(), None, vec![candidate(person(), "123456789018")]);
        c.declared_number = Some(IndividualNumber::parse("983205673214"));
        assert_eq!(
            decide_default(&c).hold_reasons,
            [HoldReason::DeclaredNumberDiffers]
        );
        c.declared_number = Some(IndividualNumber::parse("1234 5678 9018"));
        let d = decide_default(&c);
        assert_eq!(d.kind, DecisionKind::Register);
        assert!(
            d.comparisons
                .iter()
                .all(|c| c.stage == Stage::DeclaredVsCandidate)
        );
        c.declared_number = Some(IndividualNumber::parse("123456789019"));
        assert_eq!(
            decide_default(&c).hold_reasons,
            [HoldReason::DeclaredNumberDiffers]
        );
    }

    #[test]
    fn a_variant_birth_date_class_never_passes_the_default_policy() {
        let mut other = person();
        other.birth_date = "昭和55年3月15日".into();
        let d = decide_default(&case(
            person(),
            Some(person()),
            vec![candidate(other, "123456789018")],
        ));
        assert_eq!(d.kind, DecisionKind::Hold);
    }

    #[test]
    fn a_stricter_policy_holds_what_the_default_registers() {
        let c = case(
            rec(
                "髙田 太郎",
                "タカダ タロウ",
                "昭和55年3月14日",
                "男",
                "埼玉県さいたま市浦和区高砂三丁目15番1号",
            ),
            None,
            vec![candidate(
                rec(
                    "高田 太郎",
                    "タカダ タロウ",
                    "昭和55年3月14日",
                    "男",
                    "埼玉県さいたま市浦和区高砂三丁目15番1号",
                ),
                "123456789018",
            )],
        );
        assert_eq!(decide_default(&c).kind, DecisionKind::Register);
        let strict =
            Policy::from_toml("version = \"strict\"\n[fields]\nkanji_name = \"notation\"\n")
                .unwrap();
        assert_eq!(decide(&c, &strict).kind, DecisionKind::Hold);
    }
}
