//! Two five-field records → five field comparisons.
//!
//! A record is parsed once ([`PreparedRecord`]) and then compared at every stage it takes part
//! in, so the form is folded once whatever the number of candidates.

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
#[derive(Clone, Debug)]
pub struct PreparedRecord {
    kanji_name: KanjiName,
    kana_name: KanaName,
    birth_date: BirthDate,
    sex: Sex,
    address: Address,
}

impl PreparedRecord {
    /// Parses and folds every field.
    pub fn new(record: &Record) -> Self {
        PreparedRecord {
            kanji_name: KanjiName::parse(&record.kanji_name),
            kana_name: KanaName::parse(&record.kana_name),
            birth_date: BirthDate::parse(&record.birth_date),
            sex: Sex::parse(&record.sex),
            address: Address::parse(&record.address),
        }
    }

    /// Compares one field with the same field of `other`.
    pub fn compare_field(&self, other: &Self, field: Field) -> Comparison {
        match field {
            Field::KanjiName => self.kanji_name.compare(&other.kanji_name),
            Field::KanaName => self.kana_name.compare(&other.kana_name),
            Field::BirthDate => self.birth_date.compare(&other.birth_date),
            Field::Sex => self.sex.compare(&other.sex),
            Field::Address => self.address.compare(&other.address),
        }
    }

    /// Compares all five fields, in [`Field::ALL`] order.
    pub fn compare(&self, other: &Self) -> [Comparison; 5] {
        Field::ALL.map(|field| self.compare_field(other, field))
    }
}

/// Compares two raw records.
pub fn compare_records(a: &Record, b: &Record) -> [Comparison; 5] {
    PreparedRecord::new(a).compare(&PreparedRecord::new(b))
}
