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
    Comparison, Field, MatchClass, Rule, RuleSet, Stage,
    compare::{PreparedRecord, Record},
    fields::kana_name,
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
    // The kana name of a candidate whose reading J-LIS has not recorded yet (asterisks or
    // nothing) is its own class against a side that has one, never a mismatch.
    let unrecorded = |a_kana: &str, index: usize| {
        case.candidates.get(index).is_some_and(|c| {
            kana_name::is_not_recorded(&c.record.kana_name) && !kana_name::is_not_recorded(a_kana)
        })
    };
    let record =
        |stage, index, a: &PreparedRecord<'_>, b: &PreparedRecord<'_>, out: &mut Vec<_>| {
            let a_kana = match stage {
                Stage::QueryVsCandidate => case.query.as_ref().map(|q| q.kana_name.as_str()),
                Stage::DeclaredVsCandidate => Some(case.declared.kana_name.as_str()),
                Stage::DeclaredVsQuery => None,
            };
            let not_recorded = a_kana.is_some_and(|k| unrecorded(k, index));
            for (field, mut comparison) in Field::ALL.into_iter().zip(a.compare(b)) {
                if field == Field::KanaName && not_recorded {
                    comparison = Comparison::with(
                        MatchClass::NotRecorded,
                        RuleSet::one(Rule::KanaNotRecorded),
                    );
                }
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
    if comparisons.iter().any(|c| {
        !c.accepted && !is_query_gap(c, case) && c.comparison.class != MatchClass::NotRecorded
    }) {
        reasons.push(HoldReason::FieldDiffers);
    }
    if comparisons
        .iter()
        .any(|c| !c.accepted && c.comparison.class == MatchClass::NotRecorded)
    {
        reasons.push(HoldReason::KanaNotRecorded);
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
mod tests;
