//! Synthetic roster rows: what an insurer's roster re-check file looks like, one invented
//! person per row, for `verify-identity gen-roster`.
//!
//! Two kinds, in the roster schema the `bulk` command reads ([`crate::roster::columns`]):
//!
//! - **registration**: the form, the J-LIS query and up to three J-LIS candidates, as before a
//!   number is registered;
//! - **reverse**: the insurer's record of a registered person and J-LIS's record for the
//!   registered number, as in the 2023 nationwide check.
//!
//! The mix ([`RosterCase`]) is what a real roster looks like: most rows the same person in
//! other notations, a few percent needing variant folds, about 2 % real differences spread
//! over the risk classes, a few missing fields and, for registration, a few lookups that
//! returned nobody or several people. Rows are built one at a time from the seed, so a
//! roster of any length streams in constant memory and the same seed writes the same file.

use std::fmt::Write as _;

use rand::{Rng, SeedableRng, rngs::StdRng, seq::SliceRandom};

use super::{
    notation::{Folds, write_address, write_fields_in, write_number, write_sex},
    people::{FAMILIES, Family, Given, Person, TOWNS, random_block, random_number},
};
use crate::{domain::compare::Record, roster::Kind};

/// What a row is built to exercise. The comments name the decision and risk class the
/// default policy gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RosterCase {
    /// The same person in other notations only: register.
    Notation,
    /// The same person, with variant kanji, small kana or a dropped part of the address:
    /// register.
    Variant,
    /// A birthday one day off, or the other sex: hold, `birth_or_sex`.
    BirthOrSex,
    /// A new family name in both kanji and kana (a marriage not yet reported): hold, `names`.
    Names,
    /// A new family name and a new address: hold, `name_and_address`.
    NameAndAddress,
    /// A move not yet reported: hold, `address_only`.
    AddressOnly,
    /// Different kanji read the same way (智子/知子), or another reading of the same kanji:
    /// hold, `one_name_only`.
    OneNameOnly,
    /// The query keyed wrongly from the form, and a registry that prints the family name as
    /// 外字 marks, so that it agrees with both: hold, `notation_or_variant_only`.
    QueryKeyedWrongly,
    /// J-LIS returned nobody: hold, `structural`.
    NoCandidate,
    /// J-LIS returned two people with the same name and birthday: hold, `structural`.
    TwoCandidates,
    /// The number on the form, or the registered number, is not the one J-LIS has: hold,
    /// `structural`.
    NumberDiffers,
    /// The query lacks a field: hold, `structural`.
    QueryFieldMissing,
    /// The form (or the insurer's record) lacks a field: return.
    FormFieldMissing,
    /// The J-LIS record carries no reading yet, only asterisks (the 振り仮名 that became law in
    /// 2025 and is recorded person by person): hold, `kana_not_recorded`.
    KanaNotRecorded,
}

/// The registration mix, per 10,000 rows.
const REGISTRATION_MIX: [(RosterCase, u32); 14] = [
    (RosterCase::Notation, 8_780),
    (RosterCase::Variant, 500),
    (RosterCase::BirthOrSex, 35),
    (RosterCase::Names, 30),
    (RosterCase::NameAndAddress, 20),
    (RosterCase::AddressOnly, 60),
    (RosterCase::OneNameOnly, 40),
    (RosterCase::QueryKeyedWrongly, 10),
    (RosterCase::NoCandidate, 150),
    (RosterCase::TwoCandidates, 80),
    (RosterCase::NumberDiffers, 30),
    (RosterCase::QueryFieldMissing, 45),
    (RosterCase::FormFieldMissing, 200),
    (RosterCase::KanaNotRecorded, 20),
];

/// The reverse mix, per 10,000 rows: no query, always one J-LIS record.
const REVERSE_MIX: [(RosterCase, u32); 10] = [
    (RosterCase::Notation, 9_130),
    (RosterCase::Variant, 450),
    (RosterCase::BirthOrSex, 40),
    (RosterCase::Names, 30),
    (RosterCase::NameAndAddress, 20),
    (RosterCase::AddressOnly, 80),
    (RosterCase::OneNameOnly, 50),
    (RosterCase::NumberDiffers, 30),
    (RosterCase::FormFieldMissing, 150),
    (RosterCase::KanaNotRecorded, 20),
];

impl RosterCase {
    /// The mix of `kind`, per 10,000 rows.
    pub fn mix(kind: Kind) -> &'static [(RosterCase, u32)] {
        match kind {
            Kind::Registration => &REGISTRATION_MIX,
            Kind::Reverse => &REVERSE_MIX,
        }
    }

    fn pick(kind: Kind, rng: &mut impl Rng) -> RosterCase {
        let mut roll = rng.gen_range(0..10_000);
        for &(case, share) in Self::mix(kind) {
            if roll < share {
                return case;
            }
            roll -= share;
        }
        unreachable!("the shares add up to 10,000")
    }
}

/// One row: its cells in header order, and what it was built for.
#[derive(Clone, PartialEq, Eq)]
pub struct Row {
    /// The cells, as many as the header has. Personal data: no `Debug`.
    pub cells: Vec<String>,
    /// What the row exercises.
    pub case: RosterCase,
}

/// Eight hex digits that differ between seeds (SplitMix64's finalizer: neighbouring seeds get
/// unrelated tags).
fn seed_tag(seed: u64) -> String {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    format!("{:08x}", (z ^ (z >> 31)) >> 32)
}

/// Builds roster rows; deterministic for a seed.
pub struct RosterGenerator {
    /// The data source.
    rng: StdRng,
    /// Which roster.
    kind: Kind,
    /// 保険者番号 on every row.
    insurer: String,
    /// Days forms were received on (YYYY-MM-DD), one picked per row.
    received_dates: Vec<String>,
    /// The family names rows may use: the pool, less those the output encoding cannot hold.
    families: Vec<&'static Family>,
    /// The number of the next row, from 1: it makes subject and request ids unique.
    next: u64,
    /// Eight hex digits derived from the seed, in every request and subject id: two rosters
    /// of different seeds are different people under different request ids, so a second
    /// synthetic roster decided into the same audit log is not a file of reused request ids
    /// and numbers registered to someone else.
    tag: String,
}

impl RosterGenerator {
    /// A generator of `kind` rows from `seed`. `received_dates` are the days forms may have been
    /// received on; `family_fits` says whether a family name (all its spellings) can be written
    /// in the output encoding.
    pub fn new(
        kind: Kind,
        seed: u64,
        insurer: String,
        received_dates: Vec<String>,
        family_fits: impl Fn(&Family) -> bool,
    ) -> Self {
        RosterGenerator {
            rng: StdRng::seed_from_u64(seed),
            kind,
            insurer,
            received_dates,
            families: FAMILIES.iter().filter(|f| family_fits(f)).collect(),
            next: 1,
            tag: seed_tag(seed),
        }
    }

    /// The next row, of a case drawn from the kind's mix.
    pub fn next_row(&mut self) -> Row {
        let case = RosterCase::pick(self.kind, &mut self.rng);
        self.row_of(case)
    }

    /// The next row, built for `case` (a reverse roster has no query: the query cases fall
    /// back to [`RosterCase::Notation`]).
    pub fn row_of(&mut self, case: RosterCase) -> Row {
        let n = self.next;
        self.next += 1;
        let case = match (self.kind, case) {
            (
                Kind::Reverse,
                RosterCase::QueryKeyedWrongly
                | RosterCase::NoCandidate
                | RosterCase::TwoCandidates
                | RosterCase::QueryFieldMissing,
            ) => RosterCase::Notation,
            _ => case,
        };
        let built = self.build(case);
        let mut cells = Vec::with_capacity(self.kind.columns().len());
        let request_id = if self.rng.gen_bool(0.05) {
            String::new()
        } else {
            format!("roster-{}-{n:08}", self.tag)
        };
        let dependent = self.rng.gen_bool(0.35);
        cells.push(request_id);
        cells.push(self.insurer.clone());
        cells.push(format!(
            "{}-{n:08}-{:02}",
            self.tag,
            if dependent {
                self.rng.gen_range(1..6)
            } else {
                0
            }
        ));
        cells.push(if dependent { "dependent" } else { "member" }.to_owned());
        match self.kind {
            Kind::Registration => {
                let received = if self.rng.gen_bool(0.03) {
                    String::new()
                } else {
                    self.received_dates
                        .choose(&mut self.rng)
                        .cloned()
                        .unwrap_or_default()
                };
                cells.push(received);
                cells.push(built.declared_number);
                push_record(&mut cells, &built.declared);
                match &built.query {
                    Some(q) => push_record(&mut cells, q),
                    None => cells.extend((0..5).map(|_| String::new())),
                }
                for k in 0..3 {
                    match built.candidates.get(k) {
                        Some((record, number)) => {
                            push_record(&mut cells, record);
                            cells.push(number.clone());
                        }
                        None => cells.extend((0..6).map(|_| String::new())),
                    }
                }
            }
            Kind::Reverse => {
                cells.push(built.declared_number);
                push_record(&mut cells, &built.declared);
                let (record, number) = built.candidates.into_iter().next().expect("one record");
                push_record(&mut cells, &record);
                cells.push(number);
            }
        }
        Row { cells, case }
    }

    /// Someone new whose family name the output can hold.
    fn person(&mut self, given: impl Fn(&Given) -> bool) -> Person {
        let families = &self.families;
        let rng = &mut self.rng;
        let mut p = Person::random_with(rng, |_| true, given);
        p.family = *families.choose(rng).expect("at least one family name fits");
        p
    }

    fn build(&mut self, case: RosterCase) -> Built {
        let person = match case {
            RosterCase::OneNameOnly => self.person(|g| g.look_alike.is_some()),
            // The core lets a 外字 mark stand for one character of a name, never for all of a
            // one-character family name (林, 森): the typo needs a longer one.
            RosterCase::QueryKeyedWrongly => loop {
                let p = self.person(|_| true);
                if p.family.kanji.chars().count() > 1 {
                    break p;
                }
            },
            _ => self.person(|_| true),
        };
        let rng = &mut self.rng;
        let folds = if case == RosterCase::Variant {
            Folds::Variant
        } else {
            Folds::Notation
        };
        let digits = person.number.expose_digits();
        let number = std::str::from_utf8(&digits)
            .expect("ASCII digits")
            .to_owned();
        let mut declared = write_fields_in(&person, rng, folds);
        let mut query =
            (self.kind == Kind::Registration).then(|| write_fields_in(&person, rng, folds));
        let mut registry = write_fields_in(&person, rng, folds);
        let mut registry_number = number.clone();
        let mut declared_number = match self.kind {
            // The registered number is the insurer's; J-LIS's column is often left empty.
            Kind::Reverse => number.clone(),
            Kind::Registration if rng.gen_bool(0.15) => write_number(&number, rng),
            Kind::Registration => String::new(),
        };
        let mut extra = None;
        let married = |rng: &mut StdRng, p: &Person| {
            let other = loop {
                let f = self.families.choose(rng).expect("family names");
                if f.kana != p.family.kana {
                    break *f;
                }
            };
            Person {
                family: other,
                ..p.duplicate()
            }
        };
        let moved = |rng: &mut StdRng, p: &Person| {
            let mut moved = Person {
                building: None,
                ..p.duplicate()
            };
            if rng.gen_bool(0.5) {
                moved.block[if p.town.chome == 0 { 0 } else { 2 }] += 1;
            } else {
                moved.town = TOWNS.choose(rng).expect("towns");
                moved.block = random_block(moved.town, rng);
                if std::ptr::eq(moved.town, p.town) && moved.block == p.block {
                    moved.block[0] += 1;
                }
            }
            moved
        };
        match case {
            RosterCase::Notation | RosterCase::Variant => {}
            RosterCase::BirthOrSex => {
                if rng.gen_bool(0.75) {
                    registry.birth_date = person.birth.shifted(rng.gen_bool(0.5)).write(rng);
                } else {
                    registry.sex = write_sex(3 - person.given.sex, rng);
                }
            }
            RosterCase::Names => {
                let new = married(rng, &person);
                let written = write_fields_in(&new, rng, folds);
                registry.kanji_name = written.kanji_name;
                registry.kana_name = written.kana_name;
            }
            RosterCase::NameAndAddress => {
                let new = married(rng, &person);
                let new = moved(rng, &new);
                let written = write_fields_in(&new, rng, folds);
                // One name field of the new family name, and the new address.
                if rng.gen_bool(0.5) {
                    registry.kanji_name = written.kanji_name;
                } else {
                    registry.kana_name = written.kana_name;
                }
                registry.address = write_address(&new, rng);
            }
            RosterCase::AddressOnly => {
                let new = moved(rng, &person);
                registry.address = write_address(&new, rng);
            }
            RosterCase::OneNameOnly => {
                let look_alike = person.given.look_alike.expect("picked with a look-alike");
                registry.kanji_name = format!("{} {look_alike}", person.family.kanji);
            }
            RosterCase::QueryKeyedWrongly => {
                // The last character of the family name keyed wrongly in the query (高島 for
                // 高橋), and printed as a 外字 mark by the registry (高●). A family name never
                // ends in an iteration mark, so the mark stands for a character of its own.
                let family: Vec<char> = person.family.kanji.chars().collect();
                let (last, stem) = family.split_last().expect("a family name");
                let stem: String = stem.iter().collect();
                let typo = ['島', '田', '本', '川', '村', '野']
                    .into_iter()
                    .filter(|c| c != last)
                    .collect::<Vec<_>>()
                    .choose(rng)
                    .copied()
                    .expect("typos");
                if let Some(q) = &mut query {
                    q.kanji_name = format!("{stem}{typo} {}", person.given.kanji);
                }
                registry.kanji_name = format!("{stem}● {}", person.given.kanji);
            }
            RosterCase::NoCandidate => {}
            RosterCase::TwoCandidates => {
                let mut namesake = person.duplicate();
                namesake.town = TOWNS.choose(rng).expect("towns");
                namesake.block = random_block(namesake.town, rng);
                namesake.number = random_number(rng);
                let other = namesake.number.expose_digits();
                extra = Some((
                    write_fields_in(&namesake, rng, folds),
                    std::str::from_utf8(&other)
                        .expect("ASCII digits")
                        .to_owned(),
                ));
            }
            RosterCase::NumberDiffers => {
                // Another valid number: the form's (or the insurer's registration) was wrong.
                let wrong = random_number(rng).expose_digits();
                let wrong = std::str::from_utf8(&wrong)
                    .expect("ASCII digits")
                    .to_owned();
                match self.kind {
                    Kind::Registration => declared_number = wrong,
                    Kind::Reverse => registry_number = wrong,
                }
            }
            RosterCase::QueryFieldMissing => {
                if let Some(q) = &mut query {
                    *field_mut(q, rng.gen_range(0..5)) = String::new();
                }
            }
            RosterCase::FormFieldMissing => {
                *field_mut(&mut declared, rng.gen_range(0..5)) = String::new();
            }
            RosterCase::KanaNotRecorded => {
                // The placeholders J-LIS records carry, in either width (an empty reading is
                // not written: an empty cell reads as a missing field).
                registry.kana_name = ["＊＊＊＊＊", "*****", "＊＊＊＊ ＊＊＊"]
                    .choose(rng)
                    .expect("placeholders")
                    .to_string();
            }
        }
        let registry_number = match self.kind {
            // "Empty: the registered number", as many files leave it.
            Kind::Reverse if registry_number == number && rng.gen_bool(0.5) => String::new(),
            _ => registry_number,
        };
        let mut candidates = Vec::with_capacity(2);
        if case != RosterCase::NoCandidate {
            candidates.push((registry, registry_number));
        }
        candidates.extend(extra);
        if candidates.len() == 2 && rng.gen_bool(0.5) {
            candidates.swap(0, 1);
        }
        Built {
            declared,
            query,
            candidates,
            declared_number,
        }
    }
}

/// A row before it is laid out in columns.
struct Built {
    /// The form, or the insurer's record.
    declared: Record,
    /// The J-LIS query (registration only).
    query: Option<Record>,
    /// What J-LIS returned, with each number.
    candidates: Vec<(Record, String)>,
    /// The number on the form, or the registered number.
    declared_number: String,
}

fn field_mut(record: &mut Record, index: u32) -> &mut String {
    match index {
        0 => &mut record.kanji_name,
        1 => &mut record.kana_name,
        2 => &mut record.birth_date,
        3 => &mut record.sex,
        _ => &mut record.address,
    }
}

fn push_record(cells: &mut Vec<String>, r: &Record) {
    cells.extend([
        r.kanji_name.clone(),
        r.kana_name.clone(),
        r.birth_date.clone(),
        r.sex.clone(),
        r.address.clone(),
    ]);
}

/// Days counted back from `until` (inclusive), as YYYY-MM-DD: the days forms were received on.
pub fn days_back(until: (i32, u32, u32), days: u32) -> Vec<String> {
    let mut day = super::dates::Day {
        year: until.0,
        month: until.1,
        day: until.2,
    };
    let mut out = Vec::with_capacity(days as usize);
    for _ in 0..days {
        let mut s = String::with_capacity(10);
        let _ = write!(s, "{:04}-{:02}-{:02}", day.year, day.month, day.day);
        out.push(s);
        day = day.shifted(false);
    }
    out
}

#[cfg(test)]
mod tests;
