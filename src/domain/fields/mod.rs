//! One module per identity field. Each parses a raw value once into a prepared form and
//! compares two prepared values into a [`Comparison`](crate::domain::Comparison).

pub mod address;
pub mod birth_date;
pub mod kana_name;
pub mod kanji_name;
pub mod sex;
