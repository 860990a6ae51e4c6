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
    collections::{BTreeMap, HashMap, HashSet},
    time::{Duration, SystemTime},
};

use crate::{
    audit::{self, Decided, EventType, Fingerprint, HoldResolved, NewEvent, StoredEvent},
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
/// Held decisions read per store query.
const PAGE: i64 = 2_000;

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
    took: Option<Duration>,
}

/// An accumulator of one row.
#[derive(Default)]
struct Tally {
    outcomes: Outcomes,
    took: Vec<Duration>,
}

impl Tally {
    fn add(&mut self, e: &Ending) {
        let o = &mut self.outcomes;
        o.holds += 1;
        match e.resolution {
            None => {
                o.open += 1;
                o.open_overdue += u64::from(e.overdue);
                return;
            }
            Some(Resolution::Requeried) => o.requeried += 1,
            Some(Resolution::NumberFromPerson) => o.number_from_person += 1,
            Some(Resolution::Withdrawn) => o.withdrawn += 1,
        }
        match e.cause {
            Some(c) => o.causes[c as usize] += 1,
            None => o.no_cause += 1,
        }
        match e.same_number {
            Some(true) => o.same_number_back += 1,
            Some(false) => o.other_number_back += 1,
            None => {}
        }
        o.overdue_at_close += u64::from(e.overdue);
        if let Some(t) = e.took {
            self.took.push(t);
        }
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
        for scope in scopes {
            let mut after = 0;
            loop {
                let page = self
                    .store
                    .holds_decided_between(scope, from_us, to_us, after, PAGE)
                    .await?;
                let Some(last) = page.last() else { break };
                after = last.id;
                let full = page.len() as i64 == PAGE;
                let endings = self.endings(&page, as_of).await?;
                for (stored, ending) in page.iter().zip(&endings) {
                    let NewEvent::Decided(held) = &stored.event else {
                        continue;
                    };
                    totals.add(ending);
                    let refused = refused_comparisons(held, policy);
                    for key in held_by(held, &refused) {
                        rows.entry((held.insurer_number.clone(), key))
                            .or_default()
                            .add(ending);
                    }
                    if ending.resolution.is_some() {
                        for &(stage, field, class) in &refused {
                            let e = evidence.entry((stage, field, class)).or_default();
                            e[0] += 1;
                            let same = ending.same_number == Some(true)
                                || ending.cause.is_some_and(HoldCause::same_person);
                            let different = ending.same_number == Some(false)
                                || ending.cause == Some(HoldCause::DifferentPerson);
                            e[1] += u64::from(same);
                            e[2] += u64::from(different && !same);
                        }
                    }
                }
                if !full {
                    break;
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

    /// How each held decision of `page` ended: its resolution, the decision that replaced it
    /// and the number its subject was registered with, read in a few statements per insurer.
    async fn endings(
        &self,
        page: &[StoredEvent],
        as_of: SystemTime,
    ) -> Result<Vec<Ending>, VerificationError> {
        let mut by_insurer: BTreeMap<&str, Vec<&Decided>> = BTreeMap::new();
        for stored in page {
            if let NewEvent::Decided(d) = &stored.event {
                by_insurer.entry(&d.insurer_number).or_default().push(d);
            }
        }
        let mut resolutions: HashMap<(String, String), HoldResolved> = HashMap::new();
        let mut replacements: HashMap<(String, String), Decided> = HashMap::new();
        let mut registered: HashMap<(String, String), Fingerprint> = HashMap::new();
        for (insurer, held) in by_insurer {
            let ids: Vec<&str> = held.iter().map(|d| d.verification_id.as_str()).collect();
            for e in self
                .store
                .events_of_verifications(insurer, EventType::HoldResolved, &ids)
                .await?
            {
                if let NewEvent::HoldResolved(r) = e.event {
                    let key = (r.insurer_number.clone(), r.verification_id.clone());
                    // The first resolution the chain holds is the one that closed it.
                    resolutions.entry(key).or_insert(r);
                }
            }
            let replaced: Vec<&str> = held
                .iter()
                .filter_map(|d| resolutions.get(&(insurer.to_owned(), d.verification_id.clone())))
                .filter(|r| r.resolution == Resolution::Requeried)
                .map(|r| r.replaced_by_verification_id.as_str())
                .collect();
            for e in self
                .store
                .events_of_verifications(insurer, EventType::VerificationDecided, &replaced)
                .await?
            {
                if let NewEvent::Decided(d) = e.event {
                    let key = (d.insurer_number.clone(), d.verification_id.clone());
                    replacements.entry(key).or_insert(d);
                }
            }
            let from_person: HashSet<&str> = held
                .iter()
                .filter(|d| {
                    resolutions
                        .get(&(insurer.to_owned(), d.verification_id.clone()))
                        .is_some_and(|r| r.resolution == Resolution::NumberFromPerson)
                })
                .map(|d| d.subject_id.as_str())
                .filter(|s| !s.is_empty())
                .collect();
            let subjects: Vec<&str> = from_person.into_iter().collect();
            for r in self
                .store
                .registrations_of_subjects(insurer, &subjects)
                .await?
            {
                registered
                    .entry((r.insurer_number.clone(), r.subject_id.clone()))
                    .or_insert(r.number_fingerprint);
            }
        }
        let endings = page
            .iter()
            .map(|stored| {
                let NewEvent::Decided(held) = &stored.event else {
                    return Ending::default();
                };
                let key = (held.insurer_number.clone(), held.verification_id.clone());
                let Some(r) = resolutions.get(&key) else {
                    return Ending {
                        overdue: held.register_by.is_some_and(|by| by < as_of),
                        ..Ending::default()
                    };
                };
                let came_back = match r.resolution {
                    Resolution::Requeried => replacements
                        .get(&(
                            held.insurer_number.clone(),
                            r.replaced_by_verification_id.clone(),
                        ))
                        .and_then(|d| d.number_fingerprint.as_ref()),
                    Resolution::NumberFromPerson => {
                        registered.get(&(held.insurer_number.clone(), held.subject_id.clone()))
                    }
                    Resolution::Withdrawn => None,
                };
                Ending {
                    resolution: Some(r.resolution),
                    cause: r.cause,
                    same_number: came_back.and_then(|n| among_candidates(held, n)),
                    overdue: held.register_by.is_some_and(|by| by < r.occurred_at),
                    took: r.occurred_at.duration_since(held.occurred_at).ok(),
                }
            })
            .collect();
        Ok(endings)
    }
}

/// Whether `number` is one of the hold's candidates' numbers; `None` when that cannot be told
/// (no candidate fingerprints, or none under the number's key).
fn among_candidates(held: &Decided, number: &Fingerprint) -> Option<bool> {
    let comparable: Vec<&Fingerprint> = held
        .candidate_fingerprints
        .iter()
        .flatten()
        .filter(|c| c.key_id == number.key_id)
        .collect();
    if comparable.is_empty() {
        return None;
    }
    Some(comparable.iter().any(|c| c.mac_hex == number.mac_hex))
}

/// The distinct comparisons of `held` that `policy` refuses, in a fixed order.
fn refused_comparisons(
    held: &Decided,
    policy: &crate::domain::policy::Policy,
) -> Vec<(Stage, Field, MatchClass)> {
    let mut refused: Vec<_> = held
        .comparisons
        .iter()
        .filter(|c| !policy.accepts(c.stage, c.field, c.class))
        .map(|c| (c.stage, c.field, c.class))
        .collect();
    refused.sort_unstable_by_key(|&(s, f, c)| (s as u8, f as u8, c));
    refused.dedup();
    refused
}

/// The rows one hold counts in: one per refused comparison under `field_differs`, one per
/// other reason.
fn held_by(held: &Decided, refused: &[(Stage, Field, MatchClass)]) -> Vec<HeldBy> {
    let risk = held.risk_class();
    let mut keys = Vec::new();
    for &reason in &held.hold_reasons {
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
    fn a_number_is_compared_only_with_candidates_under_its_key() {
        let fp = |key: &str, byte: &str| Fingerprint {
            key_id: key.into(),
            mac_hex: byte.repeat(32),
        };
        let held = Decided {
            candidate_fingerprints: vec![Some(fp("k1", "0a")), None, Some(fp("k1", "0b"))],
            ..crate::audit::tests_support::decided()
        };
        assert_eq!(among_candidates(&held, &fp("k1", "0b")), Some(true));
        assert_eq!(among_candidates(&held, &fp("k1", "0c")), Some(false));
        assert_eq!(among_candidates(&held, &fp("k2", "0b")), None);
        let none = Decided {
            candidate_fingerprints: Vec::new(),
            ..held
        };
        assert_eq!(among_candidates(&none, &fp("k1", "0a")), None);
    }
}
