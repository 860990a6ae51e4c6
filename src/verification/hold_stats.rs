//! Where the gate is too strict, learned from how holds ended (HoldStats).
//!
//! Every held decision of a period is counted once per thing that held it: per comparison the
//! running policy refuses (stage × field × class) under `field_differs`, and once per other hold
//! reason (no candidate, several …) with no comparison. Against that, how it ended: open (and
//! overdue), resolved how, the clerk's cause, and two outcomes no clerk has to say:
//!
//! - **same number back**: a hold re-queried whose replacement decided register with the number
//!   of one of the hold's candidates, or a hold whose number came from the person and was then
//!   committed as one of the candidates' numbers. The gate held the right person.
//! - **another number**: the replacement or the commit carried a number that was none of them.
//!
//! Both are decided on keyed fingerprints only (the hold keeps its candidates' fingerprints,
//! `Decided.candidate_fingerprints`): no number is read, kept or shown. A fingerprint under
//! another key than the hold's cannot be compared and counts as unknown.
//!
//! Suggestions, never changes: where at least `min_closed` closed holds of one comparison were
//! almost always the same person (≥ 95 % same number back or cause 表記ゆれ・異体字), the result
//! says so and names the policy setting that would have let them through — or, for a class no
//! policy can pass, the field whose folding rules would have to change. Nothing here touches the
//! policy: it changes only by hand, and every decision records the policy version that made it.

use std::{
    collections::BTreeMap,
    time::{Duration, SystemTime},
};

use crate::{
    audit::{
        self,
        store::{hold_facts, hold_groups::HoldGroup},
    },
    domain::{
        Field, MatchClass, Stage,
        gate::{HoldReason, Resolution},
        hold_cause::HoldCause,
        ids::InsurerNumber,
        risk::RiskClass,
    },
    verification::{VerificationError, Verifications},
};

/// The closed holds a comparison needs before it is suggested, unless the caller says.
pub const DEFAULT_MIN_CLOSED: u32 = 50;
/// The share of closed holds that must have been the same person, in per mille (95 %).
pub const SAME_PERSON_PER_MILLE: u64 = 950;

/// Whose holds the statistics count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsurerScope {
    /// These insurers (the caller may see each).
    Only(Vec<InsurerNumber>),
    /// Every insurer in the store (a caller that may act for any: the open loopback mode).
    All,
}

/// A HoldStats request, parsed.
#[derive(Debug, Clone)]
pub struct HoldStatsQuery {
    /// Whose holds.
    pub insurers: InsurerScope,
    /// Holds decided from this time on.
    pub from: SystemTime,
    /// Holds decided before this time.
    pub to: SystemTime,
    /// The closed holds a comparison needs before it is suggested.
    pub min_closed: u32,
}

/// The row key: what held the cases counted in one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HeldBy {
    /// The stage of the comparison the policy refused; `None` for a reason with no comparison.
    pub stage: Option<Stage>,
    /// Its field.
    pub field: Option<Field>,
    /// Its class.
    pub class: Option<MatchClass>,
    /// The hold reason.
    pub reason: HoldReason,
    /// The hold's risk class.
    pub risk: Option<RiskClass>,
}

/// How the holds of one row ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcomes {
    /// Holds counted.
    pub holds: u64,
    /// Still open.
    pub open: u64,
    /// Still open and past their registration deadline.
    pub open_overdue: u64,
    /// Resolved as re-queried.
    pub requeried: u64,
    /// Resolved with a number from the person.
    pub number_from_person: u64,
    /// Withdrawn.
    pub withdrawn: u64,
    /// Closed with each cause, in [`HoldCause::ALL`] order.
    pub causes: [u64; 6],
    /// Closed without a cause.
    pub no_cause: u64,
    /// Re-queried or number from the person, and the number that came back was a candidate's.
    pub same_number_back: u64,
    /// … and it was none of the candidates' numbers.
    pub other_number_back: u64,
    /// Closed after the registration deadline.
    pub overdue_at_close: u64,
    /// Time from decision to resolution of the closed holds: median.
    pub resolve_median: Option<Duration>,
    /// … and 90th percentile.
    pub resolve_p90: Option<Duration>,
}

impl Outcomes {
    /// Closed holds.
    pub fn closed(&self) -> u64 {
        self.requeried + self.number_from_person + self.withdrawn
    }

    /// Holds past their deadline, at close or still open, in per mille of all holds.
    pub fn overdue_per_mille(&self) -> u64 {
        per_mille(self.overdue_at_close + self.open_overdue, self.holds)
    }
}

/// One row: the holds of one insurer held by one thing, and how they ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldStatsRow {
    /// The insurer.
    pub insurer: String,
    /// What held them.
    pub held_by: HeldBy,
    /// How they ended.
    pub outcomes: Outcomes,
}

/// What a human might change, with the evidence; never applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    /// The comparison that held them.
    pub stage: Stage,
    /// Its field.
    pub field: Field,
    /// Its class.
    pub class: MatchClass,
    /// Closed holds of that comparison (every insurer of the query).
    pub closed: u64,
    /// Of which the same person: same number back, or cause 表記ゆれ・異体字.
    pub same_person: u64,
    /// Of which another number or cause 別人.
    pub different_person: u64,
    /// The policy setting that would have let them through (`[stages.query_vs_candidate]
    /// address = "variant"`), or, for a class no policy passes, what would have to change.
    pub setting: String,
    /// Whether a policy setting can do it (false: only a folding rule could).
    pub policy_can: bool,
}

/// The whole answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldStats {
    /// When open holds were judged overdue.
    pub as_of: SystemTime,
    /// The policy version the refused comparisons were judged by (the running one).
    pub policy_version: String,
    /// The rows, by insurer then key.
    pub rows: Vec<HoldStatsRow>,
    /// Every hold counted once.
    pub totals: Outcomes,
    /// The threshold used.
    pub min_closed: u32,
    /// What the evidence suggests, strongest first.
    pub suggestions: Vec<Suggestion>,
}

/// How one hold ended, as the statistics need it.
#[derive(Debug, Default)]
struct Ending {
    resolution: Option<Resolution>,
    cause: Option<HoldCause>,
    /// `Some(true)` same number back, `Some(false)` another, `None` unknown or not applicable.
    same_number: Option<bool>,
    overdue: bool,
}

/// An accumulator of one row.
#[derive(Default)]
struct Tally {
    outcomes: Outcomes,
    took: Vec<Duration>,
}

impl Tally {
    /// Counts `n` holds that ended as `e`, which took `took` to resolve (closed ones).
    fn add(&mut self, e: &Ending, n: u64, took: &[Duration]) {
        let o = &mut self.outcomes;
        o.holds += n;
        match e.resolution {
            None => {
                o.open += n;
                o.open_overdue += n * u64::from(e.overdue);
                return;
            }
            Some(Resolution::Requeried) => o.requeried += n,
            Some(Resolution::NumberFromPerson) => o.number_from_person += n,
            Some(Resolution::Withdrawn) => o.withdrawn += n,
        }
        match e.cause {
            Some(c) => o.causes[c as usize] += n,
            None => o.no_cause += n,
        }
        match e.same_number {
            Some(true) => o.same_number_back += n,
            Some(false) => o.other_number_back += n,
            None => {}
        }
        o.overdue_at_close += n * u64::from(e.overdue);
        self.took.extend_from_slice(took);
    }

    fn finish(mut self) -> Outcomes {
        self.took.sort_unstable();
        self.outcomes.resolve_median = percentile(&self.took, 50);
        self.outcomes.resolve_p90 = percentile(&self.took, 90);
        self.outcomes
    }
}

/// The nearest-rank percentile of sorted `values`.
fn percentile(sorted: &[Duration], p: usize) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

fn per_mille(part: u64, whole: u64) -> u64 {
    (part * 1000).checked_div(whole).unwrap_or(0)
}

impl Verifications {
    /// The hold statistics of `query`, judged at `as_of` (open holds past their deadline then
    /// are overdue).
    pub async fn hold_stats(
        &self,
        query: HoldStatsQuery,
        as_of: SystemTime,
    ) -> Result<HoldStats, VerificationError> {
        let policy = self.decider.policy();
        let from_us = audit::micros_since_epoch(query.from);
        let to_us = audit::micros_since_epoch(query.to);
        let scopes: Vec<Option<&str>> = match &query.insurers {
            InsurerScope::All => vec![None],
            InsurerScope::Only(list) => list.iter().map(|i| Some(i.as_str())).collect(),
        };
        let mut rows: BTreeMap<(String, HeldBy), Tally> = BTreeMap::new();
        let mut totals = Tally::default();
        // Per comparison, pooled over insurers: (closed, same person, different person).
        let mut evidence: BTreeMap<(Stage, Field, MatchClass), [u64; 3]> = BTreeMap::new();
        let as_of_ns = hold_facts::nanos_since_epoch(as_of);
        for scope in scopes {
            let groups = self
                .store
                .hold_groups(scope, from_us, to_us, as_of_ns)
                .await?;
            for group in &groups {
                let held = Group::parse(group)?;
                totals.add(&held.ending, held.holds, &held.took);
                let refused = refused_comparisons(&held.comparisons, policy);
                for key in held_by(&held.reasons, held.risk, &refused) {
                    rows.entry((group.insurer_number.clone(), key))
                        .or_default()
                        .add(&held.ending, held.holds, &held.took);
                }
                let ending = &held.ending;
                if ending.resolution.is_some() {
                    for &(stage, field, class) in &refused {
                        let e = evidence.entry((stage, field, class)).or_default();
                        e[0] += held.holds;
                        let same = ending.same_number == Some(true)
                            || ending.cause.is_some_and(HoldCause::same_person);
                        let different = ending.same_number == Some(false)
                            || ending.cause == Some(HoldCause::DifferentPerson);
                        e[1] += held.holds * u64::from(same);
                        e[2] += held.holds * u64::from(different && !same);
                    }
                }
            }
        }
        let min_closed = u64::from(query.min_closed);
        let mut suggestions: Vec<Suggestion> = evidence
            .into_iter()
            .filter(|(_, [closed, same, _])| {
                *closed >= min_closed.max(1) && per_mille(*same, *closed) >= SAME_PERSON_PER_MILLE
            })
            .map(
                |((stage, field, class), [closed, same_person, different_person])| {
                    let (setting, policy_can) = setting_for(stage, field, class);
                    Suggestion {
                        stage,
                        field,
                        class,
                        closed,
                        same_person,
                        different_person,
                        setting,
                        policy_can,
                    }
                },
            )
            .collect();
        suggestions.sort_by(|a, b| {
            (b.same_person * 1000 / b.closed, b.closed)
                .cmp(&(a.same_person * 1000 / a.closed, a.closed))
        });
        Ok(HoldStats {
            as_of,
            policy_version: policy.version.clone(),
            rows: rows
                .into_iter()
                .map(|((insurer, held_by), tally)| HoldStatsRow {
                    insurer,
                    held_by,
                    outcomes: tally.finish(),
                })
                .collect(),
            totals: totals.finish(),
            min_closed: query.min_closed,
            suggestions,
        })
    }
}

/// One group of holds the store counted alike ([`HoldGroup`]), parsed.
struct Group {
    comparisons: Vec<(Stage, Field, MatchClass)>,
    reasons: Vec<HoldReason>,
    risk: Option<RiskClass>,
    ending: Ending,
    holds: u64,
    took: Vec<Duration>,
}

impl Group {
    /// `g` parsed; a value the service never writes is the store's corruption.
    fn parse(g: &HoldGroup) -> Result<Group, VerificationError> {
        let corrupt =
            |what: &str| VerificationError::Internal(format!("hold facts: {what} unreadable"));
        let comparisons =
            hold_facts::parse_comparisons(&g.comparisons).ok_or_else(|| corrupt("comparisons"))?;
        let reasons = HoldReason::ALL
            .iter()
            .enumerate()
            .filter(|&(n, _)| g.reasons & (1 << n) != 0)
            .map(|(_, &r)| r)
            .collect();
        let risk = usize::try_from(g.risk_rank)
            .ok()
            .and_then(|rank| RiskClass::ALL.get(rank).copied());
        let resolution = match &g.resolution {
            Some(id) => Some(Resolution::from_id(id).ok_or_else(|| corrupt("resolution"))?),
            None => None,
        };
        let cause = match &g.cause {
            Some(id) => Some(HoldCause::from_id(id).ok_or_else(|| corrupt("cause"))?),
            None => None,
        };
        let took = match &g.took_us {
            Some(list) => list
                .split(',')
                .map(|us| us.parse::<u64>().map(Duration::from_micros))
                .collect::<Result<_, _>>()
                .map_err(|_| corrupt("time to resolve"))?,
            None => Vec::new(),
        };
        Ok(Group {
            comparisons,
            reasons,
            risk,
            ending: Ending {
                resolution,
                cause,
                same_number: g.same_number.map(|n| n == 1),
                overdue: g.overdue == 1,
            },
            holds: u64::try_from(g.holds).unwrap_or(0),
            took,
        })
    }
}

/// The distinct comparisons of a hold that `policy` refuses, in a fixed order.
fn refused_comparisons(
    comparisons: &[(Stage, Field, MatchClass)],
    policy: &crate::domain::policy::Policy,
) -> Vec<(Stage, Field, MatchClass)> {
    let mut refused: Vec<_> = comparisons
        .iter()
        .filter(|&&(stage, field, class)| !policy.accepts(stage, field, class))
        .copied()
        .collect();
    refused.sort_unstable_by_key(|&(s, f, c)| (s as u8, f as u8, c));
    refused.dedup();
    refused
}

/// The rows one hold counts in: one per refused comparison under `field_differs`, one per
/// other reason.
fn held_by(
    reasons: &[HoldReason],
    risk: Option<RiskClass>,
    refused: &[(Stage, Field, MatchClass)],
) -> Vec<HeldBy> {
    let mut keys = Vec::new();
    for &reason in reasons {
        if reason == HoldReason::FieldDiffers && !refused.is_empty() {
            keys.extend(refused.iter().map(|&(stage, field, class)| HeldBy {
                stage: Some(stage),
                field: Some(field),
                class: Some(class),
                reason,
                risk,
            }));
        } else {
            keys.push(HeldBy {
                stage: None,
                field: None,
                class: None,
                reason,
                risk,
            });
        }
    }
    keys
}

/// The policy setting that would have let `class` of `field` pass at `stage`, and whether a
/// policy can say it at all.
fn setting_for(stage: Stage, field: Field, class: MatchClass) -> (String, bool) {
    match class {
        MatchClass::Exact | MatchClass::Notation | MatchClass::Variant => (
            format!(
                "[stages.{}] {} = \"{}\"",
                stage.as_str(),
                field.as_str(),
                class.as_str()
            ),
            true,
        ),
        // A policy can never pass these (domain::policy): only a folding rule of the field
        // that classed such values as notation or variant would have.
        _ => (
            format!(
                "no policy setting: a folding rule for {} (docs/rules.md) would have to class \
                 these as notation or variant",
                field.as_str()
            ),
            false,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(list: &[u64]) -> Vec<Duration> {
        list.iter().map(|s| Duration::from_secs(*s)).collect()
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        assert_eq!(percentile(&[], 50), None);
        let ten = secs(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert_eq!(percentile(&ten, 50), Some(Duration::from_secs(5)));
        assert_eq!(percentile(&ten, 90), Some(Duration::from_secs(9)));
        assert_eq!(percentile(&secs(&[7]), 90), Some(Duration::from_secs(7)));
    }

    #[test]
    fn a_policy_setting_is_named_only_for_a_class_a_policy_can_pass() {
        let (setting, can) =
            setting_for(Stage::QueryVsCandidate, Field::Address, MatchClass::Variant);
        assert_eq!(setting, "[stages.query_vs_candidate] address = \"variant\"");
        assert!(can);
        let (setting, can) = setting_for(
            Stage::DeclaredVsQuery,
            Field::KanjiName,
            MatchClass::Mismatch,
        );
        assert!(!can);
        assert!(setting.starts_with("no policy setting"), "{setting}");
    }

    #[test]
    fn a_group_reads_back_its_comparisons_reasons_ending_and_times() {
        let group = HoldGroup {
            insurer_number: "32130011".into(),
            comparisons: "0.1.3,2.4.6".into(),
            reasons: 0b101,
            risk_rank: 0,
            resolution: Some("requeried".into()),
            cause: Some("other".into()),
            overdue: 1,
            same_number: Some(0),
            holds: 3,
            took_us: Some("7,1000000".into()),
        };
        let g = Group::parse(&group).unwrap();
        assert_eq!(
            g.comparisons,
            vec![
                (Stage::ALL[0], Field::ALL[1], MatchClass::ALL[3]),
                (Stage::ALL[2], Field::ALL[4], MatchClass::ALL[6]),
            ]
        );
        assert_eq!(g.reasons, vec![HoldReason::ALL[0], HoldReason::ALL[2]]);
        assert_eq!(g.risk, Some(RiskClass::ALL[0]));
        assert_eq!(g.ending.resolution, Some(Resolution::Requeried));
        assert_eq!(g.ending.cause, Some(HoldCause::Other));
        assert_eq!(g.ending.same_number, Some(false));
        assert!(g.ending.overdue);
        assert_eq!((g.holds, g.took.len()), (3, 2));
        assert_eq!(g.took[1], Duration::from_secs(1));
        let bad = HoldGroup {
            comparisons: "9.9.9".into(),
            ..group
        };
        assert!(Group::parse(&bad).is_err());
    }
}
