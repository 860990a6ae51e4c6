//! 住所: an address as written on a form or held by the resident registry, parsed once and
//! compared into a [`MatchClass`] with the rules that were needed.
//!
//! # Representation
//!
//! [`Address::parse`] reads the text into atoms: one per character of text, one per number
//! (arabic or 漢数字), one per separator between numbers (丁目, 番地, 番, 号, の, a hyphen), one per
//! run of whitespace. Numbers are compared as integers in sequence, never as concatenated digits,
//! so `2-1-2` and `2-12` differ. On top of the atoms it finds the parts:
//! `[prefecture][郡][municipality and town, 大字/字][number block][building and room]`.
//!
//! # Classes
//!
//! - **notation** — the atoms are equal under width, whitespace, hyphen, Latin case and number
//!   notation (一丁目2番3号 = 1-2-3 = １－２－３; 2番地11 = 2-11; 5番地の3 = 5-3; a trailing 号 or
//!   番地 dropped; leading zeros), and the okurigana of a Kyoto street part (上る = 上ル = 上がる,
//!   西入 = 西入ル, 寺町通り = 寺町通 before a direction; the direction itself is compared).
//!   Nothing is lost.
//! - **variant** — equal only after also folding ケ/ヶ/ガ/が and 之/ノ/の between kanji, old and
//!   variant kanji, 々 against the kanji it repeats, a variation selector after a kanji, a
//!   substitute mark (●, 〓) for one character, or dropping on one side only a 大字/字 prefix,
//!   the 郡, the building and room text, a postal code before the address, or a prefecture
//!   that the municipality names beyond doubt.
//! - **mismatch** — anything else: another municipality or town, any other number, numbers
//!   grouped differently, the same numbers under different units (二丁目1番2号 against
//!   2番地1の2: a 丁目 on one side, a 番地 with no 丁目 on the other), two different buildings.
//!
//! # Units
//!
//! Each number remembers the unit written after it: 丁目, 番地/番 (one class: forms write them
//! interchangeably), 号/号室, の, or nothing (a hyphen or the end). Two numbers with the same
//! value agree when either unit is unstated, when the units are of one class, or for の against
//! 番地/番 (`5の3` shortens `5番地の3`). Any other pair — 丁目 against 番地 (住居表示 against
//! 地番), 番 against 号 — is a mismatch at every level, because the same digits then name
//! different places. 条, 線 and 地割 stay in the text as part of the place name.
//!
//! # Conservative choices
//!
//! A folding rule must never make two different places equal, so when the text is ambiguous the
//! comparison classifies lower and the gate holds the case for confirmation:
//!
//! - 漢数字 become numbers only before or after a number unit; a place name keeps them (三鷹市,
//!   一番町). 三条 becomes 3条 on both sides, which is harmless.
//! - A 丁目 at the end stays (`西新宿二丁目` ≠ `西新宿2`): a 丁目 is an area, a bare number is not.
//!   A trailing 号, 番, 番地 or 号室 is dropped.
//! - An extra number joined to the block (`1-2-3-405`) is a different block, not a room; a room
//!   number is building text only after whitespace, 号室 or a building name.
//! - A prefecture is supplied only from a municipality in the table in `places` (designated
//!   cities, Tokyo's wards, prefectural capitals, core cities); names shared by two prefectures
//!   and all towns and villages are left out. Suffix-less prefectures (`東京新宿区`) are text.
//! - A postal code before the address (`〒100-8926`) is dropped at the variant level only when
//!   the other side has none; two different codes hold.
//! - Hiragana and katakana are not folded into each other except ケ/が and ノ/の between kanji.

mod atoms;
mod characters;
mod explain;
mod parse;
mod parts;
mod places;
#[cfg(test)]
mod tests;
mod tokens;

use crate::domain::{Comparison, MatchClass, text::chars};
pub use explain::differing_spans;
use parse::{Atom, Kind, Structure};
use std::fmt;

/// An address parsed once so that it can be compared at several stages without parsing again.
///
/// Its `Debug` prints only sizes: the address is personal data.
#[derive(Clone)]
pub struct Address {
    /// The text as written: exact comparison, and the raw text behind each atom, which tells a
    /// comparison whether a rule was needed.
    raw: Box<str>,
    /// The atoms in order; together they cover the raw text without gaps or overlaps.
    atoms: Vec<Atom>,
    /// Where the prefecture, county and building are among the atoms.
    structure: Structure,
    /// Whether the text is empty or only whitespace.
    empty: bool,
}

impl Address {
    /// Parses `raw`. Infallible: text that is not an address still compares, as text.
    pub fn parse(raw: &str) -> Address {
        let mut atoms = Vec::new();
        let structure = parse::parse(raw, &mut atoms);
        Address {
            raw: raw.into(),
            // Only whitespace atoms: empty, unless the text was only ・ (not whitespace elsewhere).
            empty: atoms.iter().all(|a| a.kind == Kind::Space) && raw.chars().all(chars::is_space),
            atoms,
            structure,
        }
    }

    /// Whether the address is empty or only whitespace (a missing field).
    pub fn is_empty(&self) -> bool {
        self.empty
    }

    /// Compares two addresses: the class and the rules that were needed to reach it.
    ///
    /// Symmetric in class and rules.
    pub fn compare(&self, other: &Address) -> Comparison {
        if self.empty || other.empty {
            return Comparison::of(MatchClass::Missing);
        }
        if self.raw == other.raw {
            return Comparison::of(MatchClass::Exact);
        }
        // Different signatures: the notation keys differ somewhere, no need to look where.
        if self.structure.signature == other.structure.signature {
            let (a, b) = (
                self.view(0, self.atoms.len(), NO_SKIP),
                other.view(0, other.atoms.len(), NO_SKIP),
            );
            if let Some(walk) = walk::<NOTATION>(&a, &b) {
                return Comparison::with(MatchClass::Notation, parse::rules(walk.flags));
            }
        }
        match compare_variant(self, other) {
            Some(flags) => Comparison::with(MatchClass::Variant, parse::rules(flags)),
            None => Comparison::of(MatchClass::Mismatch),
        }
    }

    /// The atoms `from..to` without the atoms `skip`.
    fn view(&self, from: usize, to: usize, skip: (usize, usize)) -> View<'_> {
        View {
            atoms: &self.atoms,
            raw: &self.raw,
            from,
            to,
            skip,
        }
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Personal data: sizes only, never the text or anything derived from it.
        f.debug_struct("Address")
            .field("chars", &self.raw.chars().count())
            .field("atoms", &self.atoms.len())
            .finish_non_exhaustive()
    }
}

/// Compares two addresses given as text. Parse with [`Address::parse`] instead when one address
/// is compared more than once.
pub fn compare(a: &str, b: &str) -> Comparison {
    let blank = |s: &str| s.chars().all(chars::is_space);
    if blank(a) || blank(b) {
        return Comparison::of(MatchClass::Missing);
    }
    if a == b {
        return Comparison::of(MatchClass::Exact);
    }
    Address::parse(a).compare(&Address::parse(b))
}

/// The variant comparison: drops what one side lacks (prefecture, 郡, building), then compares
/// variant keys. Returns the flags of the rules needed, or `None` for a mismatch.
fn compare_variant(a: &Address, b: &Address) -> Option<u32> {
    let (sa, sb) = (&a.structure, &b.structure);
    let mut flags = 0;
    // A postal code before the address on one side only is dropped; on both, it is compared.
    let postcode = |s: &Structure, other: &Structure| {
        if other.postcode_end == 0 {
            s.postcode_end
        } else {
            0
        }
    };
    let (post_a, post_b) = (postcode(sa, sb), postcode(sb, sa));
    if (post_a, post_b) != (0, 0) {
        flags |= parse::POSTCODE;
    }
    let (from_a, from_b) = match (sa.prefecture, sb.prefecture) {
        (p, q) if p == q => (post_a, post_b),
        (0, q) if sa.inferred_prefecture == q => (post_a, sb.prefecture_end),
        (p, 0) if sb.inferred_prefecture == p => (sa.prefecture_end, post_b),
        // Two different prefectures, or one omitted where the rest does not name it.
        _ => return None,
    };
    if sa.prefecture != sb.prefecture {
        flags |= parse::PREFECTURE;
    }
    let (mut skip_a, mut skip_b) = (NO_SKIP, NO_SKIP);
    match (sa.county, sb.county) {
        (Some(county), None) => skip_a = county,
        (None, Some(county)) => skip_b = county,
        // Both or neither: compared like any other text.
        _ => {}
    }
    if skip_a != skip_b {
        flags |= parse::COUNTY;
    }
    let (mut to_a, mut to_b) = (a.atoms.len(), b.atoms.len());
    if sa.has_building != sb.has_building {
        if sa.building_is_short_number || sb.building_is_short_number {
            return None;
        }
        flags |= parse::BUILDING;
        if sa.has_building {
            to_a = sa.building_start;
        } else {
            to_b = sb.building_start;
        }
    }
    let (a, b) = (a.view(from_a, to_a, skip_a), b.view(from_b, to_b, skip_b));
    let walk = walk::<VARIANT>(&a, &b).or_else(|| {
        // A 字 inside a town name may be a prefix the other side wrote with 大字 (大字鶴沢字東 vs
        // 鶴沢字東): retry dropping it, only against a side that writes 大字/字 prefixes.
        let weak = (sa.has_aza || sb.has_aza) && (sa.has_weak_aza || sb.has_weak_aza);
        weak.then(|| walk::<VARIANT_WEAK_AZA>(&a, &b))
            .flatten()
            .or_else(|| {
                // A 字 before a 小字 right before the number block (横芝字真砂482), written on
                // one side only: the prefix of that 小字 beyond reasonable doubt. Reported as its
                // own rule, not as a 大字/字 prefix after the municipality.
                let inner = !sa.has_aza && !sb.has_aza && sa.has_inner_aza != sb.has_inner_aza;
                let mut walk = inner.then(|| walk::<VARIANT_INNER_AZA>(&a, &b)).flatten()?;
                walk.flags = (walk.flags & !parse::AZA) | parse::INNER_AZA;
                Some(walk)
            })
    })?;
    // The guards of `folding::wildcard_equal`: substitute marks cannot carry a match on their own.
    if walk.substituted > 0 && (walk.aligned < 2 || walk.substituted * 2 > walk.aligned) {
        return None;
    }
    Some(flags | walk.flags)
}

/// Which keys a walk compares (a const parameter, so that each level compiles to its own loop).
type Level = u8;
/// Notation keys.
const NOTATION: Level = 0;
/// Variant keys.
const VARIANT: Level = 1;
/// Variant keys, and a weak 字 inside a town name dropped too.
const VARIANT_WEAK_AZA: Level = 2;
/// Variant keys, and a 字 before a 小字 right before the number block dropped too.
const VARIANT_INNER_AZA: Level = 3;

/// The key of `atom` at `LEVEL`.
fn key<const LEVEL: Level>(atom: &Atom) -> u32 {
    match LEVEL {
        NOTATION => atom.nkey,
        VARIANT_WEAK_AZA if atom.flags & parse::WEAK_AZA != 0 => parse::EMPTY,
        VARIANT_INNER_AZA if atom.flags & parse::INNER_AZA_MARK != 0 => parse::EMPTY,
        _ => atom.vkey,
    }
}

/// No atoms skipped.
const NO_SKIP: (usize, usize) = (usize::MAX, usize::MAX);

/// The atoms `from..to` of one address, without the atoms `skip` (a dropped 郡).
#[derive(Clone, Copy)]
struct View<'a> {
    atoms: &'a [Atom],
    raw: &'a str,
    from: usize,
    to: usize,
    skip: (usize, usize),
}

impl<'a> View<'a> {
    /// `i`, or the end of `skip` when `i` is its start: call with the first index and with the
    /// index after each visited one.
    fn step(&self, i: usize) -> usize {
        if i == self.skip.0 { self.skip.1 } else { i }
    }

    /// The atoms `from..to` (indices from `step`).
    fn atoms_in(self, from: usize, to: usize) -> impl Iterator<Item = &'a Atom> {
        let mut i = from;
        std::iter::from_fn(move || {
            (i < to).then(|| {
                let atom = &self.atoms[i];
                i = self.step(i + 1);
                atom
            })
        })
    }
}

/// What a successful walk found.
struct Walk {
    /// The rules needed.
    flags: u32,
    /// How many atoms were aligned.
    aligned: usize,
    /// How many of them only through a substitute mark.
    substituted: usize,
}

/// Compares the keys of two atom sequences, skipping empty keys. Rules are needed where the raw
/// text behind equal keys differs, or where the dropped atoms between two aligned atoms differ.
fn walk<'a, const LEVEL: Level>(a: &View<'a>, b: &View<'a>) -> Option<Walk> {
    let mut walk = Walk {
        flags: 0,
        aligned: 0,
        substituted: 0,
    };
    let (mut i, mut j) = (a.step(a.from), b.step(b.from));
    let mut previous_substituted = false;
    loop {
        let (gap_a, gap_b) = (i, j);
        while i < a.to && key::<LEVEL>(&a.atoms[i]) == parse::EMPTY {
            i = a.step(i + 1);
        }
        while j < b.to && key::<LEVEL>(&b.atoms[j]) == parse::EMPTY {
            j = b.step(j + 1);
        }
        if (gap_a, gap_b) != (i, j) {
            walk.flags |= gap_flags((*a, gap_a, i), (*b, gap_b, j));
        }
        let (x, y) = match (a.atoms[..a.to].get(i), b.atoms[..b.to].get(j)) {
            (None, None) => break,
            (Some(x), Some(y)) => (x, y),
            _ => return None,
        };
        let (kx, ky) = (key::<LEVEL>(x), key::<LEVEL>(y));
        if kx == ky {
            // The same digits under different units are a different place (see `units_agree`).
            if x.kind == Kind::Num && !parse::units_agree(x.unit, y.unit) {
                return None;
            }
            walk.flags |= needed(x, a.raw, y, b.raw);
        } else if LEVEL == NOTATION {
            return None;
        } else if let Some(flags) = parse::kanji_variants(kx, ky) {
            walk.flags |= x.flags | y.flags | flags;
        } else if substitutes(x, y) {
            // As in names: no two substitute marks side by side.
            if previous_substituted {
                return None;
            }
            walk.flags |= x.flags | y.flags | parse::WILDCARD;
            walk.substituted += 1;
            previous_substituted = true;
            walk.aligned += 1;
            (i, j) = (a.step(i + 1), b.step(j + 1));
            continue;
        } else {
            return None;
        }
        previous_substituted = false;
        walk.aligned += 1;
        (i, j) = (a.step(i + 1), b.step(j + 1));
    }
    if LEVEL == NOTATION {
        walk.flags &= parse::NOTATION;
    }
    Some(walk)
}

/// The rules two aligned atoms with equal keys needed: none when their raw text is the same;
/// only whitespace when it is the same but for whitespace inside a unit (`丁 目` vs `丁目`);
/// otherwise whatever made either of them.
fn needed(x: &Atom, raw_x: &str, y: &Atom, raw_y: &str) -> u32 {
    // An atom that no rule made is the one spelling of its key: equal keys, equal text.
    if x.flags | y.flags == 0 {
        return 0;
    }
    let (rx, ry) = (x.raw(raw_x), y.raw(raw_y));
    if rx == ry {
        return 0;
    }
    // Only a unit spanning whitespace carries the whitespace flag on a non-whitespace atom.
    if (x.flags | y.flags) & parse::SPACE != 0 {
        let squeeze = |r: &[u8]| {
            std::str::from_utf8(r)
                .unwrap_or_default()
                .chars()
                .filter(|&c| !parse::is_space_like(c))
                .collect::<String>()
        };
        if squeeze(rx) == squeeze(ry) {
            return parse::SPACE;
        }
    }
    x.flags | y.flags
}

/// Whether one of two text atoms is a substitute mark (外字 placeholder) that may stand for the
/// other.
fn substitutes(x: &Atom, y: &Atom) -> bool {
    let sub = |a: &Atom| a.ch().is_some_and(chars::is_substitute);
    x.kind == Kind::Text && y.kind == Kind::Text && (sub(x) || sub(y))
}

/// The rules needed by two gaps of dropped atoms (`from..to` on each side) between the same
/// aligned atoms. Whitespace and other dropped atoms (trailing units, 大字) are compared
/// separately, so that a dropped 大字 next to identical whitespace does not claim the whitespace
/// rule.
fn gap_flags<'a>(
    (a, from_a, to_a): (View<'a>, usize, usize),
    (b, from_b, to_b): (View<'a>, usize, usize),
) -> u32 {
    let all = |v: View<'a>, from, to| v.atoms_in(from, to).fold(0, |f, x| f | x.flags);
    // A gap on one side only: everything in it was needed.
    if from_a == to_a || from_b == to_b {
        return all(a, from_a, to_a) | all(b, from_b, to_b);
    }
    let mut flags = 0;
    for spaces in [true, false] {
        let part = |v: View<'a>, from, to| {
            v.atoms_in(from, to)
                .filter(move |x| (x.kind == Kind::Space) == spaces)
        };
        let same = part(a, from_a, to_a)
            .map(|x| x.raw(a.raw))
            .eq(part(b, from_b, to_b).map(|x| x.raw(b.raw)));
        if !same {
            flags |= part(a, from_a, to_a)
                .chain(part(b, from_b, to_b))
                .fold(0, |f, x| f | x.flags);
        }
    }
    flags
}
