//! Synthetic people and the notations they are written in: what the load generator
//! (`loadgen`) and the roster generator (`gen-roster`) invent their data from.
//!
//! - [`people`]: pools of family names, given names, towns and buildings, each with the
//!   variants the core folds (髙橋/高橋, a small-kana-less reading) and the look-alikes it must
//!   not fold (智子/知子, ナカジマ/ナカシマ); a [`people::Person`] is one random draw from them.
//! - [`dates`]: birthdays and their notations (西暦, 和暦, S50.1.1, the 7-digit era code).
//! - [`notation`]: a person's five fields as a form, an insurer's system or the registry
//!   writes them (width, script, spacing, 丁目番号 or hyphens, a dropped prefecture …).
//! - [`roster`]: rows of a roster re-check file, registration or reverse, in a realistic mix.
//!
//! Nothing here describes a real person: every combination of name, birthday and address is
//! drawn at random, and every individual number is built from random base digits with its
//! check digit computed ([`crate::domain::number::IndividualNumber::from_base`]), so it is valid
//! but belongs to nobody known. Every pool entry is a character CP932 (Shift_JIS as Windows
//! writes it) can hold, except the deliberate 外字 variants (𠮷), which writers that need
//! CP932 must check for.

pub mod dates;
pub mod notation;
pub mod people;
pub mod roster;
