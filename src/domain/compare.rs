//! Two five-field records → five field comparisons.
//!
//! A record is parsed once ([`PreparedRecord`]) and then compared at every stage it takes part
//! in, so the form is folded once whatever the number of candidates.

use std::borrow::Cow;

use crate::domain::{
    Comparison, Field,
    fields::{
        address::Address, birth_date::BirthDate, kana_name::KanaName, kanji_name::KanjiName,
        sex::Sex,
    },
};

/// The five fields as written, before any folding. Personal data: `Debug` shows only which
/// fields are present.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Record {
    /// 漢字氏名.
    pub kanji_name: String,
    /// カナ氏名.
    pub kana_name: String,
    /// 生年月日.
    pub birth_date: String,
    /// 性別.
    pub sex: String,
    /// 住所.
    pub address: String,
}

impl Record {
    /// The raw value of one field.
    pub fn get(&self, field: Field) -> &str {
        match field {
            Field::KanjiName => &self.kanji_name,
            Field::KanaName => &self.kana_name,
            Field::BirthDate => &self.birth_date,
            Field::Sex => &self.sex,
            Field::Address => &self.address,
        }
    }

    /// The fields that are empty or only whitespace.
    pub fn missing_fields(&self) -> Vec<Field> {
        Field::ALL
            .into_iter()
            .filter(|&f| {
                self.get(f)
                    .chars()
                    .all(crate::domain::text::chars::is_space)
            })
            .collect()
    }
}

impl std::fmt::Debug for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let present: Vec<&str> = Field::ALL
            .into_iter()
            .filter(|&field| !self.get(field).is_empty())
            .map(Field::as_str)
            .collect();
        f.debug_struct("Record")
            .field("present", &present)
            .finish_non_exhaustive()
    }
}

/// A record with every field parsed and folded, ready to be compared many times.
///
/// A field may be borrowed from another prepared record whose raw value is the same (the
/// J-LIS record repeats most of what the form says): parsing is deterministic, so comparing
/// the borrowed parse gives exactly what a second parse would, without its cost.
#[derive(Clone, Debug)]
pub struct PreparedRecord<'a> {
    kanji_name: Cow<'a, KanjiName>,
    kana_name: Cow<'a, KanaName>,
    birth_date: Cow<'a, BirthDate>,
    sex: Cow<'a, Sex>,
    address: Cow<'a, Address>,
}

impl PreparedRecord<'static> {
    /// Parses and folds every field.
    pub fn new(record: &Record) -> Self {
        PreparedRecord::sharing(record, &[])
    }
}

impl<'a> PreparedRecord<'a> {
    /// Parses and folds every field of `record`, borrowing each field whose raw value equals
    /// the same field of one of `others` (raw record, its preparation) instead of parsing it.
    pub fn sharing(record: &Record, others: &[(&Record, &'a PreparedRecord<'_>)]) -> Self {
        fn field<'a, T: Clone>(
            raw: &str,
            others: &[(&Record, &'a PreparedRecord<'_>)],
            field: Field,
            get: impl Fn(&'a PreparedRecord<'_>) -> &'a T,
            parse: impl FnOnce(&str) -> T,
        ) -> Cow<'a, T> {
            match others.iter().find(|(other, _)| other.get(field) == raw) {
                Some((_, prepared)) => Cow::Borrowed(get(prepared)),
                None => Cow::Owned(parse(raw)),
            }
        }
        PreparedRecord {
            kanji_name: field(
                &record.kanji_name,
                others,
                Field::KanjiName,
                |p| &*p.kanji_name,
                KanjiName::parse,
            ),
            kana_name: field(
                &record.kana_name,
                others,
                Field::KanaName,
                |p| &*p.kana_name,
                KanaName::parse,
            ),
            birth_date: field(
                &record.birth_date,
                others,
                Field::BirthDate,
                |p| &*p.birth_date,
                BirthDate::parse,
            ),
            sex: field(&record.sex, others, Field::Sex, |p| &*p.sex, Sex::parse),
            address: field(
                &record.address,
                others,
                Field::Address,
                |p| &*p.address,
                Address::parse,
            ),
        }
    }

    /// Compares one field with the same field of `other`.
    pub fn compare_field(&self, other: &PreparedRecord<'_>, field: Field) -> Comparison {
        match field {
            Field::KanjiName => self.kanji_name.compare(&other.kanji_name),
            Field::KanaName => self.kana_name.compare(&other.kana_name),
            Field::BirthDate => self.birth_date.compare(&other.birth_date),
            Field::Sex => self.sex.compare(&other.sex),
            Field::Address => self.address.compare(&other.address),
        }
    }

    /// Compares all five fields, in [`Field::ALL`] order.
    pub fn compare(&self, other: &PreparedRecord<'_>) -> [Comparison; 5] {
        Field::ALL.map(|field| self.compare_field(other, field))
    }
}

/// Compares two raw records.
pub fn compare_records(a: &Record, b: &Record) -> [Comparison; 5] {
    PreparedRecord::new(a).compare(&PreparedRecord::new(b))
}
