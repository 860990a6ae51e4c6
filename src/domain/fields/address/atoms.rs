//! The vocabulary of a parsed address, below every step that reads one: the rule flags an atom
//! carries, the atom itself, the kinds of atom, number units and the structure found. The
//! reading steps (characters, tokens, parts, parse) all build on these, and on nothing of each
//! other's that would run back up.

use crate::domain::{Rule, RuleSet};

// ---- rule flags ----
//
// A `u32` per atom instead of a `RuleSet` keeps an atom at 24 bytes; `rules` converts.

/// Full-width ASCII or half-width kana folded.
pub(super) const WIDTH: u32 = 1 << 0;
/// Whitespace (or ・) removed.
pub(super) const SPACE: u32 = 1 << 1;
/// A hyphen look-alike unified.
pub(super) const HYPHEN: u32 = 1 << 2;
/// Number notation: 漢数字, units, leading zeros, a dropped trailing unit.
pub(super) const NUMBERS: u32 = 1 << 3;
/// A Latin letter compared without case.
pub(super) const LATIN: u32 = 1 << 4;
/// ケ/ヶ/ヵ/ガ/が between kanji.
pub(super) const KE: u32 = 1 << 5;
/// 之/ノ/の between kanji.
pub(super) const NO: u32 = 1 << 6;
/// A 大字/字 prefix dropped.
pub(super) const AZA: u32 = 1 << 7;
/// A variant kanji (JIS scheme).
pub(super) const KANJI_JIS: u32 = 1 << 8;
/// A variant kanji (MOJ scheme).
pub(super) const KANJI_MOJ: u32 = 1 << 9;
/// A substitute mark matched one character.
pub(super) const WILDCARD: u32 = 1 << 10;
/// The 郡 segment dropped on one side.
pub(super) const COUNTY: u32 = 1 << 11;
/// Building and room text dropped on one side.
pub(super) const BUILDING: u32 = 1 << 12;
/// The prefecture dropped on one side.
pub(super) const PREFECTURE: u32 = 1 << 13;

/// Not a rule: marks a 字 inside a town name (鶴沢字東) that may be dropped only when one side
/// writes 大字/字 prefixes the other lacks. `rules` ignores it.
pub(super) const WEAK_AZA: u32 = 1 << 14;
/// A variation selector after a kanji (a glyph of the same character).
pub(super) const SELECTOR: u32 = 1 << 15;
/// 々 compared as the kanji it repeats (代々木 / 代代木).
pub(super) const ITERATION: u32 = 1 << 16;
/// A variant kanji from the JIS revisions (礪/砺, 驒/騨).
pub(super) const KANJI_JIS_REVISION: u32 = 1 << 17;
/// A compatibility ideograph as the unified ideograph it decomposes to (U+F9A8 令 / 令).
pub(super) const KANJI_COMPAT: u32 = 1 << 18;

/// A number before 丁 without 目 (堺市's `二丁` = `2丁`).
pub(super) const CHO: u32 = 1 << 19;
/// A number that is part of a town name (`十二番丁` = `12番丁`, `一ノ町` = `1ノ町`).
pub(super) const TOWN_NUMBER: u32 = 1 << 20;
/// A formal numeral (大字) 壱 弐 参 拾 read as a number.
pub(super) const FORMAL_NUMERAL: u32 = 1 << 21;
/// A 字 before a 小字 inside the town part, dropped on one side (`横芝字真砂` ~ `横芝真砂`).
pub(super) const INNER_AZA: u32 = 1 << 22;
/// Not a rule: marks a weak 字 that stands before a 小字 right before the number block, which
/// [`INNER_AZA`] may drop. `rules` ignores it.
pub(super) const INNER_AZA_MARK: u32 = 1 << 23;
/// The okurigana of a Kyoto street direction written another way (`上る` = `上ル` = `上がる`,
/// `西入` = `西入ル` = `西入る`).
pub(super) const STREET_DIRECTION: u32 = 1 << 24;
/// A postal code before the address on one side only (`〒100-8926 東京都…`).
pub(super) const POSTCODE: u32 = 1 << 25;
/// ツ/ッ/つ/っ between kanji (`四ツ谷` / `四ッ谷`, `四つ木` / `四ツ木`).
pub(super) const TSU: u32 = 1 << 26;

/// The flags that lose nothing.
pub(super) const NOTATION: u32 = WIDTH
    | SPACE
    | HYPHEN
    | NUMBERS
    | LATIN
    | KANJI_COMPAT
    | CHO
    | TOWN_NUMBER
    | FORMAL_NUMERAL
    | STREET_DIRECTION;

/// The rules for a set of flags.
pub(super) fn rules(flags: u32) -> RuleSet {
    const MAP: [(u32, Rule); 25] = [
        (WIDTH, Rule::Width),
        (SPACE, Rule::Space),
        (HYPHEN, Rule::Hyphen),
        (NUMBERS, Rule::AddressNumbers),
        (LATIN, Rule::LatinCase),
        (KE, Rule::AddressKe),
        (NO, Rule::AddressNo),
        (AZA, Rule::AddressAza),
        (KANJI_JIS, Rule::KanjiVariantJis),
        (KANJI_MOJ, Rule::KanjiVariantMoj),
        (WILDCARD, Rule::Wildcard),
        (COUNTY, Rule::AddressCounty),
        (BUILDING, Rule::AddressBuilding),
        (PREFECTURE, Rule::AddressPrefecture),
        (SELECTOR, Rule::KanjiVariationSelector),
        (ITERATION, Rule::KanjiIteration),
        (KANJI_JIS_REVISION, Rule::KanjiVariantJisRevision),
        (KANJI_COMPAT, Rule::KanjiCompatibility),
        (CHO, Rule::AddressCho),
        (TOWN_NUMBER, Rule::AddressTownNumber),
        (FORMAL_NUMERAL, Rule::AddressFormalNumerals),
        (INNER_AZA, Rule::AddressInnerAza),
        (STREET_DIRECTION, Rule::AddressStreetDirection),
        (POSTCODE, Rule::AddressPostcode),
        (TSU, Rule::AddressTsu),
    ];
    MAP.iter()
        .filter(|&&(f, _)| flags & f != 0)
        .fold(RuleSet::EMPTY, |set, &(_, rule)| set.with(rule))
}

// ---- atoms ----

/// The key of an atom that takes no part in the comparison at a level (whitespace, a dropped
/// trailing unit, a dropped 大字).
pub(super) const EMPTY: u32 = u32::MAX;
/// The bit that marks a number key; the value is in the low bits (below 10^9).
pub(super) const NUM: u32 = 0x8000_0000;
/// The key of a separator between two numbers (丁目, 番地, 番, 号, の, hyphen).
pub(super) const SEP: u32 = 0x7000_0000;
/// The key of a 丁目 that ends an address (`西新宿二丁目`): kept, because a 丁目 is an area and a
/// bare number is not.
pub(super) const CHOME: u32 = 0x7000_0001;
/// The bits of a text atom's key that hold its character; above them, a variation selector.
pub(super) const CHAR_BITS: u32 = 0x1F_FFFF;
/// Where a text atom's key keeps the variation selector after its character (1 + its index), so
/// that the notation keys of 葛 and 葛 with a selector differ while their variant keys agree.
pub(super) const SELECTOR_SHIFT: u32 = 21;

/// What a number's unit says it is, so that numbers with the same digits but different units
/// (二丁目1番2号 against 2番地1の2) do not compare equal. See [`units_agree`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum UnitClass {
    /// A hyphen, or nothing: asserts no unit.
    Unstated,
    /// 丁目: an area of a town.
    Chome,
    /// 番地 or 番: a lot (地番) or a block (街区符号); written interchangeably on forms.
    Lot,
    /// 号 or 号室: a dwelling number (住居番号) or a room.
    Go,
    /// の/ノ/之 after a number: the lot before a branch number (5の3 = 5番地の3).
    No,
}

/// Whether two numbers with equal values may be the same number given their units.
///
/// - An unstated unit (a hyphen, `2-1-2`, or a number at the end) agrees with any unit.
/// - Equal units agree; 番地 and 番 are one class, 号 and 号室 another.
/// - の agrees with 番地/番 (`5の3` is how `5番地の3` is shortened), not with 丁目 or 号.
/// - Anything else is a different place written with the same digits: a 丁目 against a 番地
///   (住居表示 against 地番), a 番 against a 号 (the two numbers of 住居表示 swapped).
///
/// 条, 線 and 地割 are not units here: they stay in the text as part of the place name
/// (北3条西4丁目), so `北3条` and `北3` differ as text.
pub(super) fn units_agree(a: UnitClass, b: UnitClass) -> bool {
    use UnitClass::*;
    a == b || a == Unstated || b == Unstated || matches!((a, b), (Lot, No) | (No, Lot))
}

/// What an atom is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Kind {
    /// One character of text.
    Text,
    /// A number, arabic or 漢数字.
    Num,
    /// A unit or hyphen between two numbers.
    Sep,
    /// A 丁目 after the last number.
    Chome,
    /// 号, 番地, 番, 号室 or a hyphen after the last number: dropped as notation.
    Trailing,
    /// A run of whitespace.
    Space,
}

/// One unit of comparison: a character, a number, a separator or a run of whitespace.
///
/// No `Debug`: the keys are the address.
#[derive(Clone, Copy)]
pub(super) struct Atom {
    /// For a number: what the unit after it says it is.
    pub(super) unit: UnitClass,
    /// The key under the notation rules, or [`EMPTY`].
    pub(super) nkey: u32,
    /// The key under the notation and variant rules, or [`EMPTY`].
    pub(super) vkey: u32,
    /// The byte range in the raw text, so that equal keys from different text can be told apart.
    pub(super) start: u32,
    /// See `start`.
    pub(super) end: u32,
    /// The rules that made the keys from the raw text.
    pub(super) flags: u32,
    /// What the atom is.
    pub(super) kind: Kind,
}

impl Atom {
    /// The raw bytes of this atom.
    pub(super) fn raw<'a>(&self, raw: &'a str) -> &'a [u8] {
        &raw.as_bytes()[self.start as usize..self.end as usize]
    }

    /// The character of a text atom (without its variation selector, if any).
    pub(super) fn ch(&self) -> Option<char> {
        if self.kind == Kind::Text {
            char::from_u32(self.nkey & CHAR_BITS)
        } else {
            None
        }
    }
}

/// Where the parts of an address are, as atom indices.
#[derive(Clone, Copy)]
pub(super) struct Structure {
    /// The prefecture code written at the start (1 = 北海道 … 47 = 沖縄県), or 0.
    pub(super) prefecture: u8,
    /// The first atom after the prefecture; without one, after the postal code (0 when there
    /// is neither).
    pub(super) prefecture_end: usize,
    /// The first atom of the address after a postal code written before it (`〒100-8926 `), or
    /// 0 when there is none.
    pub(super) postcode_end: usize,
    /// When no prefecture is written: the one that the municipality names beyond doubt, or 0.
    pub(super) inferred_prefecture: u8,
    /// The `…郡` atoms before a town or village, if any.
    pub(super) county: Option<(usize, usize)>,
    /// The first atom after the address number block: building and room text (方書) start here.
    pub(super) building_start: usize,
    /// Whether there is any building or room text.
    pub(super) has_building: bool,
    /// Whether that text is only a number below 100 (`三丁目1番1号 1`): too short to be taken as
    /// a room beyond doubt (it may be a split 号, `1号` for `11号`), so it is never dropped.
    pub(super) building_is_short_number: bool,
    /// Whether a 大字/字 prefix was found (after a municipality, or after a 大字 name).
    pub(super) has_aza: bool,
    /// Whether a 字 was found inside a town name, which only a comparison with a side that has
    /// 大字/字 prefixes may drop.
    pub(super) has_weak_aza: bool,
    /// Whether one of those weak 字 stands before a 小字 right before the number block
    /// (`横芝字真砂482`), which may be dropped against a side that lacks it.
    pub(super) has_inner_aza: bool,
    /// A hash of the notation keys in order: two addresses whose signatures differ cannot be
    /// equal under notation, which rejects most pairs without walking the atoms.
    pub(super) signature: u64,
}
