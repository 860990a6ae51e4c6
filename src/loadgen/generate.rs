//! Synthetic VerifyRequests: a fresh invented person per request, written by the form, the
//! insurer's query and the registry in independently chosen notations, then, for the held and
//! returned share, altered the way real cases go wrong.
//!
//! Every request is a new person rather than a pick from a fixed pool, so the server's
//! idempotency, caches and duplicate checks see what a roster re-check would send; building
//! one costs about two microseconds (see the throughput test), far below what a server
//! spends on it. The intended outcome travels with the request so that the run can report
//! responses the server decided otherwise: a disagreement between generator and core, not a
//! load problem.

use std::{
    fmt::Write as _,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use rand::{Rng, SeedableRng, rngs::StdRng, seq::SliceRandom};

use crate::{
    contract::pb,
    domain::compare::Record,
    synthetic::{
        notation::{self, write_address, write_number, write_sex},
        people::{Person, TOWNS, random_block, random_number},
    },
};

/// What a generated request is meant to exercise, and so which decision it should get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Case {
    /// The same person everywhere, in different notations and variant kanji.
    Register,
    /// The person wrote their number; the candidate comes from a lookup by number (no query).
    RegisterByNumber,
    /// Different kanji with the same reading (智子/知子).
    KanjiNameDiffers,
    /// The same kanji read differently (ナカジマ/ナカシマ).
    KanaNameDiffers,
    /// A birthday one day off.
    BirthDateDiffers,
    /// The other sex code.
    SexDiffers,
    /// Another 号 or 番地 in the same town.
    AddressNumberDiffers,
    /// J-LIS returned two people with the same name and birthday.
    TwoCandidates,
    /// J-LIS returned nobody.
    NoCandidate,
    /// The candidate's number fails its check digit.
    BadCheckDigit,
    /// The number on the form has a typo.
    DeclaredNumberDiffers,
    /// The form lacks one of the five fields.
    DeclaredFieldEmpty,
}

/// The mix in per mille: about 70% register, 25% hold, 5% return, the hold share spread over
/// the reasons seen in practice.
const MIX: [(Case, u32); 12] = [
    (Case::Register, 630),
    (Case::RegisterByNumber, 70),
    (Case::KanjiNameDiffers, 40),
    (Case::KanaNameDiffers, 30),
    (Case::BirthDateDiffers, 40),
    (Case::SexDiffers, 10),
    (Case::AddressNumberDiffers, 40),
    (Case::TwoCandidates, 30),
    (Case::NoCandidate, 30),
    (Case::BadCheckDigit, 20),
    (Case::DeclaredNumberDiffers, 10),
    (Case::DeclaredFieldEmpty, 50),
];

impl Case {
    /// The decision the core should reach.
    pub(super) fn decision(self) -> pb::Decision {
        match self {
            Case::Register | Case::RegisterByNumber => pb::Decision::Register,
            Case::DeclaredFieldEmpty => pb::Decision::Return,
            _ => pb::Decision::Hold,
        }
    }

    fn pick(rng: &mut impl Rng) -> Case {
        let mut roll = rng.gen_range(0..1000);
        for (case, share) in MIX {
            if roll < share {
                return case;
            }
            roll -= share;
        }
        unreachable!("the shares add up to 1000")
    }
}

/// Unique request ids shared by all workers of a run: `lg-<run uuid>-<counter>`.
///
/// The run id is fresh even when `--seed` repeats the data, so a second run against the same
/// server is never answered from the idempotency record of the first.
#[derive(Debug, Clone)]
pub(super) struct RequestIds {
    /// `lg-<uuid v7>-`.
    prefix: Arc<str>,
    /// The next counter value.
    next: Arc<AtomicU64>,
}

impl RequestIds {
    /// Ids for a new run.
    pub(super) fn new() -> Self {
        RequestIds {
            prefix: format!("lg-{}-", uuid::Uuid::now_v7()).into(),
            next: Arc::default(),
        }
    }

    fn next(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let mut id = String::with_capacity(self.prefix.len() + 12);
        id.push_str(&self.prefix);
        let _ = write!(id, "{n}");
        id
    }
}

/// One worker's request generator; deterministic for a seed apart from ids and timestamps.
#[derive(Debug)]
pub(super) struct Generator {
    /// The data source; one per worker so that workers never contend.
    rng: StdRng,
    /// Where request ids come from.
    ids: RequestIds,
    /// 保険者番号 put on every request.
    insurer: String,
    /// Unix seconds forms are received before: the run's start, so deadlines look current.
    received_before: i64,
}

impl Generator {
    /// A generator for one worker.
    pub(super) fn new(seed: u64, ids: RequestIds, insurer: String, received_before: i64) -> Self {
        Generator {
            rng: StdRng::seed_from_u64(seed),
            ids,
            insurer,
            received_before,
        }
    }

    /// The next request and what it is meant to exercise.
    pub(super) fn next_request(&mut self) -> (pb::VerifyRequest, Case) {
        let case = Case::pick(&mut self.rng);
        let person = self.person(case);
        let rng = &mut self.rng;
        let number = person.number.expose_digits();
        let number = std::str::from_utf8(&number)
            .expect("ASCII digits")
            .to_owned();

        let mut declared = write_fields(&person, rng);
        let mut query = Some(write_fields(&person, rng));
        let mut candidate = write_fields(&person, rng);
        let mut candidate_number = number.clone();
        let mut declared_number = String::new();
        let mut extra_candidate = None;
        match case {
            Case::Register => {
                if rng.gen_bool(0.2) {
                    declared_number = write_number(&number, rng);
                }
            }
            Case::RegisterByNumber => {
                query = None;
                declared_number = write_number(&number, rng);
            }
            Case::KanjiNameDiffers => {
                let look_alike = person.given.look_alike.expect("picked with a look-alike");
                let target = differing(rng, &mut query, &mut candidate);
                target.kanji_name = format!("{} {look_alike}", person.family.kanji);
            }
            Case::KanaNameDiffers => {
                let reading = person
                    .family
                    .other_reading
                    .expect("picked with another reading");
                let target = differing(rng, &mut query, &mut candidate);
                target.kana_name = format!("{reading} {}", person.given.kana);
            }
            Case::BirthDateDiffers => {
                let other = person.birth.shifted(rng.gen_bool(0.5));
                let target = differing(rng, &mut query, &mut candidate);
                target.birth_date = other.write(rng);
            }
            Case::SexDiffers => {
                let target = differing(rng, &mut query, &mut candidate);
                target.sex = write_sex(3 - person.given.sex, rng);
            }
            Case::AddressNumberDiffers => {
                let mut moved = Person {
                    building: None,
                    ..person.duplicate()
                };
                moved.block[if person.town.chome == 0 { 0 } else { 2 }] += 1;
                let target = differing(rng, &mut query, &mut candidate);
                target.address = write_address(&moved, rng);
            }
            Case::TwoCandidates => {
                // Same name and birthday, another address and number: a weak query's result.
                let mut namesake = person.duplicate();
                namesake.town = TOWNS.choose(rng).expect("towns");
                namesake.block = random_block(namesake.town, rng);
                namesake.number = random_number(rng);
                let other = namesake.number.expose_digits();
                extra_candidate = Some(pb::Candidate {
                    fields: Some(write_fields(&namesake, rng)),
                    individual_number: std::str::from_utf8(&other)
                        .expect("ASCII digits")
                        .to_owned(),
                });
            }
            Case::NoCandidate => {}
            Case::BadCheckDigit => {
                let last = candidate_number.pop().expect("12 digits");
                let wrong = (last as u8 - b'0' + rng.gen_range(1..=9)) % 10;
                candidate_number.push(char::from(b'0' + wrong));
            }
            Case::DeclaredNumberDiffers => {
                // A typo in one base digit: a different number (and almost always a bad one).
                let mut typo = number.clone().into_bytes();
                let at = rng.gen_range(0..11);
                typo[at] = b'0' + (typo[at] - b'0' + rng.gen_range(1..=9)) % 10;
                declared_number = String::from_utf8(typo).expect("ASCII digits");
            }
            Case::DeclaredFieldEmpty => {
                let field = match rng.gen_range(0..5) {
                    0 => &mut declared.kanji_name,
                    1 => &mut declared.kana_name,
                    2 => &mut declared.birth_date,
                    3 => &mut declared.sex,
                    _ => &mut declared.address,
                };
                field.clear();
            }
        }

        let mut candidates = Vec::with_capacity(2);
        if case != Case::NoCandidate {
            candidates.push(pb::Candidate {
                fields: Some(candidate),
                individual_number: candidate_number,
            });
        }
        candidates.extend(extra_candidate);
        if candidates.len() == 2 && rng.gen_bool(0.5) {
            candidates.swap(0, 1);
        }
        let member = rng.gen_bool(0.6);
        let request = pb::VerifyRequest {
            request_id: self.ids.next(),
            insurer_number: self.insurer.clone(),
            subject_id: format!(
                "{:04}-{:03}-{:02}",
                rng.gen_range(1..10_000),
                rng.gen_range(1..1_000),
                if member { 0 } else { rng.gen_range(1..6) }
            ),
            subject_kind: if member {
                pb::SubjectKind::Member
            } else {
                pb::SubjectKind::Dependent
            }
            .into(),
            declared: Some(declared),
            query,
            candidates,
            declared_individual_number: declared_number,
            received_at: rng.gen_bool(0.9).then(|| pbjson_types::Timestamp {
                seconds: self.received_before - rng.gen_range(0..3 * 24 * 3600),
                nanos: 0,
            }),
        };
        (request, case)
    }

    fn person(&mut self, case: Case) -> Person {
        // Hold cases that need a look-alike or a second reading draw from the names with one.
        match case {
            Case::KanaNameDiffers => {
                Person::random_with(&mut self.rng, |f| f.other_reading.is_some(), |_| true)
            }
            Case::KanjiNameDiffers => {
                Person::random_with(&mut self.rng, |_| true, |g| g.look_alike.is_some())
            }
            _ => Person::random(&mut self.rng),
        }
    }
}

/// The five fields of `p` in independently chosen notations, as the contract's message.
fn write_fields(p: &Person, rng: &mut StdRng) -> pb::FiveFields {
    let Record {
        kanji_name,
        kana_name,
        birth_date,
        sex,
        address,
    } = notation::write_fields(p, rng);
    pb::FiveFields {
        kanji_name,
        kana_name,
        birth_date,
        sex,
        address,
    }
}

/// The record (query or candidate) that carries a hold case's difference: mostly the registry's
/// answer, sometimes the query keyed wrongly from the form.
fn differing<'a>(
    rng: &mut StdRng,
    query: &'a mut Option<pb::FiveFields>,
    candidate: &'a mut pb::FiveFields,
) -> &'a mut pb::FiveFields {
    match query {
        Some(q) if rng.gen_bool(0.3) => q,
        _ => candidate,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashMap, HashSet};

    use super::*;
    use crate::{
        cli::check,
        contract::parse::{self, Identifiers},
        domain::{
            number::{IndividualNumber, NumberError},
            policy::Policy,
        },
    };

    fn generate(seed: u64, n: usize) -> Vec<(pb::VerifyRequest, Case)> {
        let mut generator = Generator::new(
            seed,
            RequestIds::new(),
            "32130011".to_owned(),
            1_800_000_000,
        );
        (0..n).map(|_| generator.next_request()).collect()
    }

    #[test]
    fn every_number_has_a_valid_check_digit_except_the_deliberately_bad_ones() {
        for (request, case) in generate(1, 5_000) {
            for candidate in &request.candidates {
                let parsed = IndividualNumber::parse(&candidate.individual_number);
                if case == Case::BadCheckDigit {
                    assert_eq!(parsed, Err(NumberError::BadCheckDigit));
                } else {
                    assert!(parsed.is_ok(), "{case:?}");
                }
            }
            let declared = &request.declared_individual_number;
            match case {
                Case::DeclaredNumberDiffers => {
                    let candidate =
                        IndividualNumber::parse(&request.candidates[0].individual_number).unwrap();
                    assert_ne!(IndividualNumber::parse(declared).ok(), Some(candidate));
                }
                Case::RegisterByNumber => {
                    assert_eq!(
                        IndividualNumber::parse(declared).unwrap(),
                        IndividualNumber::parse(&request.candidates[0].individual_number).unwrap()
                    );
                }
                _ if !declared.is_empty() => assert!(IndividualNumber::parse(declared).is_ok()),
                _ => {}
            }
        }
    }

    #[test]
    fn the_decision_mix_of_the_core_matches_the_intended_shares() {
        let policy = Policy::default();
        let mut counts: HashMap<pb::Decision, usize> = HashMap::new();
        let requests = generate(2, 2_000);
        for (request, _) in &requests {
            *counts
                .entry(check::decide(request, &policy).unwrap().decision())
                .or_default() += 1;
        }
        let share = |d| 100.0 * *counts.get(&d).unwrap_or(&0) as f64 / requests.len() as f64;
        let (register, hold, ret) = (
            share(pb::Decision::Register),
            share(pb::Decision::Hold),
            share(pb::Decision::Return),
        );
        assert!((60.0..=80.0).contains(&register), "register {register:.1}%");
        assert!((15.0..=35.0).contains(&hold), "hold {hold:.1}%");
        assert!((2.0..=10.0).contains(&ret), "return {ret:.1}%");
    }

    #[test]
    fn every_generated_case_gets_the_decision_and_hold_reason_it_was_built_for() {
        use pb::HoldReason as R;
        let policy = Policy::default();
        let mut wrong: HashMap<Case, usize> = HashMap::new();
        for (request, case) in generate(3, 10_000) {
            let response = check::decide(&request, &policy).unwrap();
            let reason = match case {
                Case::KanjiNameDiffers
                | Case::KanaNameDiffers
                | Case::BirthDateDiffers
                | Case::SexDiffers
                | Case::AddressNumberDiffers => Some(R::FieldDiffers),
                Case::TwoCandidates => Some(R::MultipleCandidates),
                Case::NoCandidate => Some(R::NoCandidate),
                Case::BadCheckDigit => Some(R::InvalidCheckDigit),
                Case::DeclaredNumberDiffers => Some(R::DeclaredNumberDiffers),
                _ => None,
            };
            let reason_given = reason.is_none_or(|r| response.hold_reasons.contains(&(r as i32)));
            if response.decision() != case.decision() || !reason_given {
                *wrong.entry(case).or_default() += 1;
            }
        }
        assert!(
            wrong.is_empty(),
            "cases the core decided otherwise: {wrong:?}"
        );
    }

    #[test]
    fn registered_cases_exercise_the_notation_and_variant_rules() {
        let policy = Policy::default();
        let mut rules = BTreeSet::new();
        for (request, case) in generate(4, 3_000) {
            if case.decision() == pb::Decision::Register {
                for comparison in check::decide(&request, &policy).unwrap().comparisons {
                    rules.extend(comparison.rules);
                }
            }
        }
        for rule in [
            "width",
            "space",
            "kana.script",
            "kana.small",
            "date.format",
            "date.era",
            "sex.code",
            "address.numbers",
            "address.building",
            "address.prefecture",
            "address.aza",
            "address.county",
            "wildcard",
            "kanji.variant.mj.moj",
        ] {
            assert!(
                rules.contains(rule),
                "no registered case needed {rule}; seen {rules:?}"
            );
        }
    }

    #[test]
    fn every_request_is_valid_for_the_service_and_has_its_own_request_id() {
        let mut ids = HashSet::new();
        for (request, _) in generate(5, 5_000) {
            if let Err(violations) = parse::case_from_request(&request, Identifiers::Required) {
                panic!(
                    "{:?}",
                    violations.iter().map(|v| &v.field).collect::<Vec<_>>()
                );
            }
            assert!(request.request_id.starts_with("lg-"));
            assert!(ids.insert(request.request_id));
        }
    }

    #[test]
    fn the_same_seed_invents_the_same_people_under_new_request_ids() {
        let (a, b) = (generate(6, 200), generate(6, 200));
        for ((ra, ca), (rb, cb)) in a.iter().zip(&b) {
            assert_eq!(
                (ca, &ra.declared, &ra.query, &ra.candidates),
                (cb, &rb.declared, &rb.query, &rb.candidates)
            );
            assert_ne!(ra.request_id, rb.request_id);
        }
        assert_ne!(a[0].0.declared, generate(7, 1)[0].0.declared);
    }
}
