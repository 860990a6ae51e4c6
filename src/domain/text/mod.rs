//! Japanese text folding.
//!
//! Folding never changes the stored strings: it only builds comparison keys. Each fold reports
//! which [`Rule`](crate::domain::Rule)s changed something, so that a comparison can say which
//! rules it needed. The building blocks here are per character and allocation-free; the field
//! modules compose them, and none writes a width range or a numeral table of its own: width
//! ([`width::full_width_ascii`], which decides the wave dash ～ once) and 漢数字
//! ([`numerals::read`]) live here.

pub mod chars;
pub mod folding;
pub mod kana;
pub mod kanji;
pub mod marks;
pub mod numerals;
pub mod width;

pub use folding::{FoldedKey, compare_keys};
