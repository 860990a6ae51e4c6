//! Reading an address into atoms, once.
//!
//! One pass folds width, hyphen look-alikes and whitespace per character; a second reads numbers
//! and their units; a third finds the parts that the variant comparison may drop (prefecture,
//! 郡, 大字/字, building). Each atom keeps its byte range in the raw text and the rules that made
//! it, so that a comparison can tell which rules it needed without folding again: two aligned
//! atoms with the same key and the same raw text needed nothing, otherwise they needed what made
//! them.
//!
//! 漢数字 are read as numbers only where a number unit says they are one (`一丁目`, `五番地の三`,
//! `二-八-一`, `三条`), never inside a place name (三鷹市, 八王子市, 四日市市, 一番町, 九十九里町).

use super::places;
use crate::domain::{
    Rule, RuleSet,
    text::{chars, kanji, marks},
};
use unicode_normalization::char::{compose, decompose_compatible};

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

/// The flags that lose nothing.
pub(super) const NOTATION: u32 = WIDTH | SPACE | HYPHEN | NUMBERS | LATIN | KANJI_COMPAT;

/// The rules for a set of flags.
pub(super) fn rules(flags: u32) -> RuleSet {
    const MAP: [(u32, Rule); 18] = [
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
const NUM: u32 = 0x8000_0000;
/// The key of a separator between two numbers (丁目, 番地, 番, 号, の, hyphen).
const SEP: u32 = 0x7000_0000;
/// The key of a 丁目 that ends an address (`西新宿二丁目`): kept, because a 丁目 is an area and a
/// bare number is not.
const CHOME: u32 = 0x7000_0001;
/// The bits of a text atom's key that hold its character; above them, a variation selector.
const CHAR_BITS: u32 = 0x1F_FFFF;
/// Where a text atom's key keeps the variation selector after its character (1 + its index), so
/// that the notation keys of 葛 and 葛 with a selector differ while their variant keys agree.
const SELECTOR_SHIFT: u32 = 21;

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
    /// The first atom after the prefecture (0 when there is none).
    pub(super) prefecture_end: usize,
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
    /// A hash of the notation keys in order: two addresses whose signatures differ cannot be
    /// equal under notation, which rejects most pairs without walking the atoms.
    pub(super) signature: u64,
}

/// Parses `raw` into `atoms` (cleared first) and finds its parts.
pub(super) fn parse(raw: &str, atoms: &mut Vec<Atom>) -> Structure {
    thread_local! {
        // Reused between parses: a verification parses a handful of addresses, and allocating
        // this buffer each time cost more than the parse itself.
        static SCRATCH: std::cell::RefCell<Vec<NChar>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
        Ok(mut nc) => parse_with(raw, &mut nc, atoms),
        // Not reachable (parsing does not re-enter), but never worth a panic.
        Err(_) => parse_with(raw, &mut Vec::new(), atoms),
    })
}

fn parse_with(raw: &str, nc: &mut Vec<NChar>, atoms: &mut Vec<Atom>) -> Structure {
    nc.clear();
    atoms.clear();
    let trailing_space = normalize(raw, nc);
    // At most one atom per character and one whitespace atom before each, plus a trailing one.
    atoms.reserve(2 * nc.len() + 1);
    let mut tokens = Tokens {
        nc,
        atoms,
        seen: 0,
        signature: 0,
    };
    tokens.run();
    let (seen, signature) = (tokens.seen, tokens.signature);
    if (trailing_space as usize) < raw.len() {
        atoms.push(Atom {
            nkey: EMPTY,
            vkey: EMPTY,
            start: trailing_space,
            end: raw.len() as u32,
            flags: SPACE,
            kind: Kind::Space,
            unit: UnitClass::Unstated,
        });
    }
    let (mut structure, town, block_start) = structure(atoms, seen & SEEN_GUN != 0);
    structure.signature = signature;
    // Passes that only matter when their characters occur.
    if seen & SEEN_KE_NO != 0 {
        fold_variants(atoms);
    }
    if seen & SEEN_ITERATION != 0 {
        fold_iteration_marks(atoms);
    }
    if seen & SEEN_AZA != 0 {
        (structure.has_aza, structure.has_weak_aza) = mark_aza(atoms, town, block_start);
    }
    structure
}

// ---- pass 1: characters ----

/// A character after width, hyphen and case folding, with the whitespace before it.
struct NChar {
    c: char,
    /// Where the whitespace run before this character starts (== `start` when there is none).
    space_start: u32,
    start: u32,
    end: u32,
    flags: u32,
    /// 1 + the index of a variation selector written after the character, or 0.
    selector: u32,
}

impl NChar {
    fn spaced(&self) -> bool {
        self.space_start < self.start
    }
}

/// Whitespace and the middle dots that forms put between words.
pub(super) fn is_space_like(c: char) -> bool {
    chars::is_space(c) || matches!(c, '・' | '･')
}

/// Folds `raw` into characters. Returns where the trailing whitespace run starts.
fn normalize(raw: &str, out: &mut Vec<NChar>) -> u32 {
    let mut it = raw.char_indices().peekable();
    let mut space_start = None;
    while let Some((pos, c)) = it.next() {
        let start = pos as u32;
        // Most of an address is kanji: nothing below applies to them.
        if ('\u{3400}'..='\u{9FFF}').contains(&c) {
            let space_start = space_start.take().unwrap_or(start);
            out.push(NChar {
                c,
                space_start,
                start,
                end: start + 3,
                flags: 0,
                selector: 0,
            });
            continue;
        }
        // A variation selector right after a kanji picks a glyph of it: it becomes part of that
        // character. Anywhere else it is text of its own, and compares as such.
        if marks::is_variation_selector(c)
            && space_start.is_none()
            && let Some(prev) = out
                .last_mut()
                .filter(|p| is_kanji(p.c) && p.selector == 0 && p.end == start)
        {
            prev.selector = selector_index(c) + 1;
            prev.end = start + c.len_utf8() as u32;
            prev.flags |= SELECTOR;
            continue;
        }
        if is_space_like(c) {
            space_start.get_or_insert(start);
            continue;
        }
        let space_start = space_start.take().unwrap_or(start);
        let mut end = start + c.len_utf8() as u32;
        let mut flags = 0;
        let mut n = c;
        if chars::is_hyphen_like(c) {
            // After kana it is a long vowel (コーポ), anywhere else a dash (1-2-3).
            let after_kana = space_start == start && out.last().is_some_and(|p| is_kana(p.c));
            let (target, rule) = match (after_kana, c) {
                (true, 'ｰ') => ('ー', WIDTH),
                (true, _) => ('ー', HYPHEN),
                (false, _) => ('-', HYPHEN),
            };
            n = target;
            if c != target {
                flags |= rule;
            }
        } else if let Some(unified) = kanji::compatibility(c) {
            n = unified;
            flags |= KANJI_COMPAT;
        } else if ('\u{FF01}'..='\u{FF5D}').contains(&c) {
            n = char::from_u32(c as u32 - 0xFEE0).unwrap_or(c);
            flags |= WIDTH;
        } else if ('\u{FF61}'..='\u{FF9F}').contains(&c) {
            decompose_compatible(c, |d| n = d);
            n = match n {
                '\u{3099}' => '\u{309B}',
                '\u{309A}' => '\u{309C}',
                other => other,
            };
            flags |= WIDTH;
        }
        // Upper case is the canonical form, so that full-width capitals need only the width rule.
        if n.is_ascii_lowercase() {
            n = n.to_ascii_uppercase();
            flags |= LATIN;
        }
        // A voicing mark after a kana (combining, spacing or half-width) composes with it.
        if let Some(&(mark_pos, mark)) = it.peek() {
            let combining = match mark {
                '\u{3099}' | '\u{309B}' | '\u{FF9E}' => Some('\u{3099}'),
                '\u{309A}' | '\u{309C}' | '\u{FF9F}' => Some('\u{309A}'),
                _ => None,
            };
            if let Some(composed) = combining.and_then(|m| compose(n, m)) {
                n = composed;
                flags |= WIDTH;
                end = (mark_pos + mark.len_utf8()) as u32;
                it.next();
            }
        }
        out.push(NChar {
            c: n,
            space_start,
            start,
            end,
            flags,
            selector: 0,
        });
    }
    space_start.unwrap_or(raw.len() as u32)
}

/// 0..=15 for U+FE00..U+FE0F, 16.. for U+E0100..U+E01EF.
fn selector_index(c: char) -> u32 {
    match c {
        '\u{FE00}'..='\u{FE0F}' => c as u32 - 0xFE00,
        _ => c as u32 - 0xE0100 + 16,
    }
}

fn is_kana(c: char) -> bool {
    matches!(c, '\u{3041}'..='\u{3096}' | '\u{309D}' | '\u{309E}' | '\u{30A1}'..='\u{30FA}' | '\u{30FC}'..='\u{30FE}')
}

/// A CJK ideograph or 々: the characters place names are made of.
pub(super) fn is_kanji(c: char) -> bool {
    matches!(c,
        '\u{3005}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{3FFFF}')
}

/// A kanji or kana: a character that can be part of a place name.
fn is_name_char(c: char) -> bool {
    is_kanji(c) || is_kana(c) || matches!(c, 'ヶ' | 'ヵ')
}

fn is_numeral(c: char) -> bool {
    matches!(
        c,
        '〇' | '一' | '二' | '三' | '四' | '五' | '六' | '七' | '八' | '九' | '十' | '百' | '千'
    )
}

fn numeral_value(c: char) -> u32 {
    match c {
        '一' => 1,
        '二' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        _ => 0,
    }
}

/// Reads a run of 漢数字: positional (二十四 = 24, 百二 = 102, 十 = 10) or digit by digit
/// (二〇 = 20, 一〇二 = 102). `None` for anything else (二三十, 十十).
fn parse_kanji(run: &[NChar]) -> Option<u32> {
    if !run.iter().any(|x| matches!(x.c, '十' | '百' | '千')) {
        if run.len() > 9 {
            return None;
        }
        return Some(run.iter().fold(0, |v, x| v * 10 + numeral_value(x.c)));
    }
    let (mut total, mut digit, mut last) = (0u32, None, 10_000u32);
    for x in run {
        let multiplier = match x.c {
            '十' => 10,
            '百' => 100,
            '千' => 1000,
            '〇' => return None,
            c => {
                if digit.replace(numeral_value(c)).is_some() {
                    return None;
                }
                continue;
            }
        };
        if multiplier >= last {
            return None;
        }
        total += digit.take().unwrap_or(1) * multiplier;
        last = multiplier;
    }
    Some(total + digit.unwrap_or(0))
}

// ---- pass 2: numbers and units ----

/// A unit after a number.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    Chome,
    Banchi,
    Ban,
    Go,
    /// 号室: a room, never a separator.
    Room,
    Hyphen,
    /// の/ノ/之: a separator only between two numbers.
    No,
}

struct Tokens<'a> {
    nc: &'a [NChar],
    atoms: &'a mut Vec<Atom>,
    /// `SEEN_*` bits: which later passes have anything to do.
    seen: u8,
    /// See [`Structure::signature`].
    signature: u64,
}

/// ケ/ヶ/ガ/が or 之/ノ/の occurred.
const SEEN_KE_NO: u8 = 1;
/// 字 occurred.
const SEEN_AZA: u8 = 2;
/// 郡 occurred.
const SEEN_GUN: u8 = 4;
/// 々 occurred.
const SEEN_ITERATION: u8 = 8;

impl Tokens<'_> {
    fn run(&mut self) {
        let n = self.nc.len();
        let (mut i, mut after_sep) = (0, false);
        while i < n {
            self.space_before(i);
            let c = self.nc[i].c;
            if c.is_ascii_digit() {
                let j = self.run_end(i, |c| c.is_ascii_digit());
                if self.push_digits(i, j) {
                    (i, after_sep) = self.after_number(j);
                } else {
                    (i, after_sep) = (j, false);
                }
            } else if is_numeral(c) {
                let j = self.run_end(i, is_numeral);
                if let Some(v) = self.kanji_number(i, j, after_sep) {
                    self.push(Kind::Num, NUM | v, i, j, NUMBERS);
                    (i, after_sep) = self.after_number(j);
                } else {
                    // The whole run is text: a place name such as 九十九里 keeps every numeral.
                    for k in i..j {
                        self.push_char(k);
                    }
                    (i, after_sep) = (j, false);
                }
            } else {
                self.push_char(i);
                (i, after_sep) = (i + 1, false);
            }
        }
    }

    /// The end of a run of characters matching `f` that starts at `i`. Whitespace ends a run:
    /// `1-2-3 405` is two numbers, not 3405.
    fn run_end(&self, i: usize, f: fn(char) -> bool) -> usize {
        let mut j = i + 1;
        while j < self.nc.len() && f(self.nc[j].c) && !self.nc[j].spaced() {
            j += 1;
        }
        j
    }

    fn space_before(&mut self, k: usize) {
        let x = &self.nc[k];
        if x.spaced() {
            self.atoms.push(Atom {
                nkey: EMPTY,
                vkey: EMPTY,
                start: x.space_start,
                end: x.start,
                flags: SPACE,
                kind: Kind::Space,
                unit: UnitClass::Unstated,
            });
        }
    }

    /// Pushes character `k` as a text atom.
    fn push_char(&mut self, k: usize) {
        let x = &self.nc[k];
        self.seen |= match x.c {
            'ケ' | 'ヶ' | 'ヵ' | 'ガ' | 'が' | 'ノ' | 'の' | '之' => SEEN_KE_NO,
            '字' => SEEN_AZA,
            '郡' => SEEN_GUN,
            '々' | '〻' => SEEN_ITERATION,
            _ => 0,
        };
        let vkey = x.c as u32;
        let nkey = vkey | x.selector << SELECTOR_SHIFT;
        self.sign(nkey);
        self.atoms.push(Atom {
            nkey,
            vkey,
            start: x.start,
            end: x.end,
            flags: x.flags,
            kind: Kind::Text,
            unit: UnitClass::Unstated,
        });
    }

    /// Adds a notation key to the signature (FxHash's step).
    fn sign(&mut self, key: u32) {
        self.signature = (self.signature.rotate_left(5) ^ u64::from(key))
            .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    /// Pushes one atom made of characters `from..to`.
    fn push(&mut self, kind: Kind, key: u32, from: usize, to: usize, mut flags: u32) {
        for (m, x) in self.nc[from..to].iter().enumerate() {
            flags |= x.flags;
            if m > 0 && x.spaced() {
                flags |= SPACE;
            }
        }
        if key != EMPTY {
            self.sign(key);
        }
        self.atoms.push(Atom {
            nkey: key,
            vkey: key,
            start: self.nc[from].start,
            end: self.nc[to - 1].end,
            flags,
            kind,
            unit: UnitClass::Unstated,
        });
    }

    /// Pushes the digits `i..j` as a number; longer than nine significant digits they stay text
    /// (no address number is that long, and no two long numbers may collapse into one value).
    fn push_digits(&mut self, i: usize, j: usize) -> bool {
        let digits = &self.nc[i..j];
        let zeros = digits.iter().take_while(|x| x.c == '0').count();
        if digits.len() - zeros > 9 {
            for k in i..j {
                self.push_char(k);
            }
            return false;
        }
        let v = digits
            .iter()
            .fold(0u32, |v, x| v * 10 + (x.c as u32 - '0' as u32));
        let leading_zero = if zeros > 0 && digits.len() > 1 {
            NUMBERS
        } else {
            0
        };
        self.push(Kind::Num, NUM | v, i, j, leading_zero);
        true
    }

    /// The value of the 漢数字 `i..j` when the context makes them a number.
    fn kanji_number(&self, i: usize, j: usize, after_sep: bool) -> Option<u32> {
        let v = parse_kanji(&self.nc[i..j])?;
        let is_number = if j == self.nc.len() {
            after_sep
        } else {
            match self.unit_at(j) {
                Some((Unit::Hyphen, _)) => after_sep || self.number_char_at(j + 1),
                Some((Unit::No, _)) => after_sep && self.number_char_at(j + 1),
                Some(_) => true,
                None => {
                    self.place_unit_at(j)
                        || (after_sep && (self.nc[j].spaced() || !is_kanji(self.nc[j].c)))
                }
            }
        };
        is_number.then_some(v)
    }

    fn number_char_at(&self, k: usize) -> bool {
        self.nc
            .get(k)
            .is_some_and(|x| x.c.is_ascii_digit() || is_numeral(x.c))
    }

    /// Whether a number starts at `k`, right after a unit.
    fn number_starts(&self, k: usize) -> bool {
        match self.nc.get(k) {
            Some(x) if x.c.is_ascii_digit() => true,
            Some(x) if is_numeral(x.c) => self
                .kanji_number(k, self.run_end(k, is_numeral), true)
                .is_some(),
            _ => false,
        }
    }

    /// Whether a number starting at `k` is followed by a unit of the address block (丁目, 番地,
    /// 番, 号, but not 号室): `2号` after `1番 ` continues the block, `405` or `2号室` is a room.
    fn block_number_at(&self, k: usize) -> bool {
        let Some(x) = self.nc.get(k) else {
            return false;
        };
        let end = if x.c.is_ascii_digit() {
            self.run_end(k, |c| c.is_ascii_digit())
        } else if is_numeral(x.c) {
            self.run_end(k, is_numeral)
        } else {
            return false;
        };
        end < self.nc.len()
            && !self.nc[end].spaced()
            && matches!(
                self.unit_at(end),
                Some((Unit::Chome | Unit::Banchi | Unit::Ban | Unit::Go, _))
            )
    }

    /// A unit that can follow a number, and where it ends.
    fn unit_at(&self, k: usize) -> Option<(Unit, usize)> {
        let next = self.nc.get(k + 1).map(|x| x.c);
        Some(match self.nc[k].c {
            '丁' if next == Some('目') => (Unit::Chome, k + 2),
            '番' if next == Some('地') => (Unit::Banchi, k + 2),
            // 一番町, 番丁, 一番館: part of a name.
            '番' if !matches!(next, Some('町' | '丁' | '館' | '組' | '線' | '目')) => {
                (Unit::Ban, k + 1)
            }
            '号' if next == Some('室') => (Unit::Room, k + 2),
            // 号棟, 号館, 号線: part of a name.
            '号' if !matches!(next, Some('棟' | '館' | '線' | '車' | '機' | '地')) => {
                (Unit::Go, k + 1)
            }
            '-' => (Unit::Hyphen, k + 1),
            'の' | 'ノ' | '之' => (Unit::No, k + 1),
            _ => return None,
        })
    }

    /// 条, 線, 地割: units that stay in the text but make the numeral before them a number
    /// (北三条 = 北3条, 第二地割 = 第2地割).
    fn place_unit_at(&self, k: usize) -> bool {
        match self.nc[k].c {
            '条' | '線' => true,
            '地' => self.nc.get(k + 1).is_some_and(|x| x.c == '割'),
            _ => false,
        }
    }

    /// After a number ending at `j`: pushes a separator, a trailing unit or nothing. Returns where
    /// to go on and whether a separator was pushed.
    fn after_number(&mut self, j: usize) -> (usize, bool) {
        let Some((unit, unit_end)) = self.nc.get(j).and_then(|_| self.unit_at(j)) else {
            return (j, false);
        };
        let class = match unit {
            Unit::Chome => UnitClass::Chome,
            Unit::Banchi | Unit::Ban => UnitClass::Lot,
            Unit::Go | Unit::Room => UnitClass::Go,
            Unit::No => UnitClass::No,
            Unit::Hyphen => UnitClass::Unstated,
        };
        // Only when the unit is taken as this number's (`1の宮` is a place name, not 1番地の).
        let number = self.atoms.len() - 1;
        debug_assert_eq!(self.atoms[number].kind, Kind::Num);
        let mut end = unit_end;
        // 番地の3, 丁目-2: a joiner after a unit belongs to the separator.
        if matches!(unit, Unit::Chome | Unit::Banchi | Unit::Ban | Unit::Go)
            && self
                .nc
                .get(end)
                .is_some_and(|x| matches!(x.c, 'の' | 'ノ' | '之' | '-'))
            && self.number_starts(end + 1)
        {
            end += 1;
        }
        // A unit that can end an address (番地, 番, 号) followed by whitespace ends it: the number
        // after the whitespace is a room (`1-2-3号 405`, `5番地の3 101`), as a room after a plain
        // number block is. Only 丁目 and joiners (`-`, の) reach across whitespace (`2丁目 8-1`).
        // Not when that number carries a unit of the block itself (`1番 2号`: whitespace between
        // the blocks of one address), nor when the block so far is a single number: `13番地 2`
        // is more likely 13番地の2 keyed with a space than room 2, and taken as a room it would
        // let `13番地` match as a variant, where taken as a branch number the difference holds.
        let can_end = matches!(unit, Unit::Banchi | Unit::Ban | Unit::Go) && end == unit_end;
        let structured = self.atoms[..number]
            .iter()
            .rev()
            .find(|a| a.kind != Kind::Space)
            .is_some_and(|a| a.kind == Kind::Sep);
        let room_follows = can_end
            && structured
            && self.nc.get(end).is_some_and(NChar::spaced)
            && !self.block_number_at(end);
        if unit != Unit::Room && !room_follows && self.number_starts(end) {
            self.atoms[number].unit = class;
            self.space_before(j);
            let flags = if unit == Unit::Hyphen { 0 } else { NUMBERS };
            self.push(Kind::Sep, SEP, j, end, flags);
            return (end, true);
        }
        if unit != Unit::No {
            self.atoms[number].unit = class;
        }
        match unit {
            Unit::No => (j, false),
            Unit::Chome => {
                self.space_before(j);
                self.push(Kind::Chome, CHOME, j, unit_end, 0);
                (unit_end, false)
            }
            _ => {
                self.space_before(j);
                self.push(Kind::Trailing, EMPTY, j, unit_end, NUMBERS);
                (unit_end, false)
            }
        }
    }
}

// ---- pass 3: parts ----

/// The index of the first atom at or after `k` that is not whitespace.
pub(super) fn next_significant(atoms: &[Atom], mut k: usize) -> usize {
    while k < atoms.len() && atoms[k].kind == Kind::Space {
        k += 1;
    }
    k
}

/// Finds the parts. Returns them, where the town name starts and where the number block starts.
fn structure(atoms: &[Atom], has_gun: bool) -> (Structure, usize, usize) {
    let n = atoms.len();
    let letters = Letters::at(atoms, 0, 4);
    let (prefecture, prefecture_end) = places::prefecture_at(letters.chars())
        .map_or((0, 0), |(code, chars)| (code, letters.after[chars - 1]));
    let body = next_significant(atoms, prefecture_end);
    let inferred_prefecture = if prefecture == 0 {
        places::prefecture_of_municipality(Letters::at(atoms, body, 5).chars()).unwrap_or(0)
    } else {
        0
    };
    let county = if has_gun {
        county_at(atoms, body)
    } else {
        None
    };
    let town = county.map_or(prefecture_end, |(_, end)| end);
    let (block_start, building_start) = main_block(atoms, town).unwrap_or((n, n));
    let structure = Structure {
        prefecture,
        prefecture_end,
        inferred_prefecture,
        county,
        building_start,
        has_building: atoms[building_start..].iter().any(|a| a.nkey != EMPTY),
        building_is_short_number: {
            let mut rest = atoms[building_start..].iter().filter(|a| a.nkey != EMPTY);
            match (rest.next(), rest.next()) {
                (Some(a), None) => a.kind == Kind::Num && a.nkey & !NUM < 100,
                _ => false,
            }
        },
        has_aza: false,
        has_weak_aza: false,
        signature: 0,
    };
    (structure, town, block_start)
}

/// Up to [`Letters::MAX`] characters of text from an atom on, skipping whitespace, so that place
/// names are recognised even where a form puts spaces inside them (`千 代 田 区`).
struct Letters {
    chars: [char; Letters::MAX],
    /// The index of the atom after each character.
    after: [usize; Letters::MAX],
    len: usize,
}

impl Letters {
    const MAX: usize = 13;

    /// The first `max` characters of text at or after atom `k`, up to the first atom that is not
    /// text.
    fn at(atoms: &[Atom], mut k: usize, max: usize) -> Letters {
        let mut letters = Letters {
            chars: ['\0'; Letters::MAX],
            after: [0; Letters::MAX],
            len: 0,
        };
        while letters.len < max.min(Letters::MAX) {
            k = next_significant(atoms, k);
            let Some(c) = atoms.get(k).and_then(Atom::ch) else {
                break;
            };
            letters.chars[letters.len] = c;
            letters.after[letters.len] = k + 1;
            letters.len += 1;
            k += 1;
        }
        letters
    }

    fn chars(&self) -> &[char] {
        &self.chars[..self.len]
    }
}

/// The `…郡` segment at `start` when a town or village (…町, …村) follows it: 虻田郡 in
/// 虻田郡倶知安町. Cities whose names contain 郡 (大和郡山市, 小郡市, 蒲郡市) are not counties.
fn county_at(atoms: &[Atom], start: usize) -> Option<(usize, usize)> {
    const CITIES_WITH_GUN: [&str; 3] = ["大和郡山市", "小郡市", "蒲郡市"];
    let letters = Letters::at(atoms, start, Letters::MAX);
    let chars = letters.chars();
    // County names are one to five characters (余市郡, 西村山郡).
    let gun = chars
        .iter()
        .position(|&c| c == '郡')
        .filter(|&g| (1..=5).contains(&g))?;
    let county_name =
        |c: char| is_name_char(c) && !matches!(c, '都' | '道' | '府' | '県' | '区' | '町' | '村');
    if !chars[..gun].iter().all(|&c| county_name(c)) {
        return None;
    }
    let is_city = |city: &str| {
        city.chars().zip(chars).all(|(x, &y)| x == y) && city.chars().count() <= chars.len()
    };
    if CITIES_WITH_GUN.iter().any(|city| is_city(city)) {
        return None;
    }
    // The town or village name: one to six characters before 町 or 村 (倶知安, 市川三郷).
    let rest = &chars[gun + 1..];
    let end = rest
        .iter()
        .position(|&c| matches!(c, '町' | '村'))
        .filter(|&e| (1..=6).contains(&e))?;
    let town_name =
        |c: char| is_name_char(c) && !matches!(c, '郡' | '区' | '都' | '道' | '府' | '県');
    rest[..end]
        .iter()
        .all(|&c| town_name(c))
        .then_some((start, letters.after[gun]))
}

/// Units that, after a number, show the number is part of a place name rather than the end of
/// the address: 北3条, 東2線, 第2地割, 1区. Even after whitespace (`北3 条`).
fn is_place_unit(c: char) -> bool {
    matches!(
        c,
        '条' | '線'
            | '地'
            | '割'
            | '区'
            | '丁'
            | '番'
            | '号'
            | '町'
            | '村'
            | '組'
            | '班'
            | '里'
            | '通'
            | '軒'
            | '目'
    )
}

/// Characters that, directly after a number, show the number is part of a place name: the
/// units, and the words that continue one (南1西2, 四条下ル, 1の宮, 2ヶ所). After whitespace
/// they start a building name instead (`1-2-3 東ビル`).
fn continues_place(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || is_place_unit(c)
        || matches!(
            c,
            'の' | 'ノ'
                | '之'
                | '東'
                | '西'
                | '南'
                | '北'
                | '上'
                | '下'
                | 'ケ'
                | 'ヶ'
                | 'ヵ'
                | 'が'
                | 'ガ'
        )
}

/// The address number block: the first run of numbers joined by separators (with its trailing
/// unit) that a place name precedes and that ends the address proper: the end of the text
/// follows it, or text that cannot continue a place name ([`continues_place`], or after
/// whitespace [`is_place_unit`]). What follows it is building and room text (方書).
///
/// A bare number after whitespace ends the block only when the block is structured
/// (`1-2-3 405`): after a single number (`東1 2-3`) it is more likely the rest of the lot.
/// Numbers before any place name (a postal code) are never the block.
fn main_block(atoms: &[Atom], from: usize) -> Option<(usize, usize)> {
    let n = atoms.len();
    let mut named = false;
    let mut k = from;
    while k < n {
        let atom = &atoms[k];
        if atom.kind != Kind::Num {
            named = named || atom.ch().is_some_and(is_name_char);
            k += 1;
            continue;
        }
        let start = k;
        let (mut end, mut structured) = (k + 1, false);
        loop {
            let p = next_significant(atoms, end);
            if p < n && atoms[p].kind == Kind::Sep {
                let q = next_significant(atoms, p + 1);
                if q < n && atoms[q].kind == Kind::Num {
                    (end, structured) = (q + 1, true);
                    continue;
                }
            }
            break;
        }
        let p = next_significant(atoms, end);
        if p < n && matches!(atoms[p].kind, Kind::Trailing | Kind::Chome) {
            (end, structured) = (p + 1, true);
        }
        let q = next_significant(atoms, end);
        let spaced = q > end;
        let terminal = q == n
            || match atoms[q].kind {
                Kind::Num => spaced && structured,
                Kind::Text if spaced => !atoms[q].ch().is_some_and(is_place_unit),
                Kind::Text => !atoms[q].ch().is_some_and(continues_place),
                _ => false,
            };
        if named && terminal {
            return Some((start, end));
        }
        k = end;
    }
    None
}

/// Marks 大字/字 prefixes of town names in `from..to` (after the municipality, before the number
/// block) as dropped at the variant level: after a municipality (川俣町大字鶴沢, 伊達市字大泉) or
/// after the name that a 大字 or 字 began (大字鶴沢字東). Returns whether it found any, and whether
/// it found a weak one.
///
/// A 字 between two name characters elsewhere in the town part (鶴沢字東 written without 大字) is
/// only marked weak: it may be part of a word (文字ヶ関, 十文字), so the comparison drops it only
/// against an address that writes 大字/字 prefixes, where it is a prefix beyond reasonable doubt.
fn mark_aza(atoms: &mut [Atom], from: usize, to: usize) -> (bool, bool) {
    let name_at = |atoms: &[Atom], k: usize| k < to && atoms[k].ch().is_some_and(is_name_char);
    let (mut prev, mut in_aza, mut municipality) = (None, false, false);
    let (mut found, mut weak) = (false, false);
    let mut k = next_significant(atoms, from);
    while k < to {
        let next = next_significant(atoms, k + 1);
        let Some(c) = atoms[k].ch() else {
            (prev, in_aza) = (None, false);
            k = next;
            continue;
        };
        let after_municipality = matches!(prev, Some('市' | '区' | '町' | '村'));
        let (prefix, resume) = if c == '大'
            && atoms.get(next).and_then(Atom::ch) == Some('字')
            && after_municipality
            && name_at(atoms, next_significant(atoms, next + 1))
        {
            ([k, next], next_significant(atoms, next + 1))
        } else if c == '字'
            && (after_municipality || (in_aza && prev.is_some_and(|p| p != '字')))
            && name_at(atoms, next)
        {
            ([k, k], next)
        } else {
            if c == '字' && municipality && prev.is_some_and(is_name_char) && name_at(atoms, next)
            {
                atoms[k].flags |= AZA | WEAK_AZA;
                weak = true;
            }
            municipality |= matches!(c, '市' | '区' | '町' | '村');
            prev = Some(c);
            k = next;
            continue;
        };
        for i in prefix {
            atoms[i].vkey = EMPTY;
            atoms[i].flags |= AZA;
        }
        (prev, in_aza, found) = (Some('字'), true, true);
        k = resume;
    }
    (found, weak)
}

/// Sets the variant keys of ケ/ヶ/ガ/が and 之/ノ/の between kanji. Variant kanji are folded by
/// the comparison, only for the atoms whose keys differ: most comparisons never need the table.
fn fold_variants(atoms: &mut [Atom]) {
    let kanji_at = |atoms: &[Atom], k: usize| atoms.get(k).and_then(Atom::ch).is_some_and(is_kanji);
    let mut prev = None;
    for k in 0..atoms.len() {
        if atoms[k].kind == Kind::Space {
            continue;
        }
        let (v, flag) = match atoms[k].ch() {
            Some('ケ' | 'ヶ' | 'ヵ' | 'ガ' | 'が') => ('ケ', KE),
            Some('ノ' | 'の' | '之') => ('ノ', NO),
            _ => {
                prev = Some(k);
                continue;
            }
        };
        let between_kanji = prev.is_some_and(|p| kanji_at(atoms, p))
            && kanji_at(atoms, next_significant(atoms, k + 1));
        if between_kanji && atoms[k].nkey != v as u32 {
            atoms[k].vkey = v as u32;
            atoms[k].flags |= flag;
        }
        prev = Some(k);
    }
}

/// Sets the variant key of a 々 after a kanji to that kanji's: 代々木 and 代代木 are one name
/// written two ways. A 々 with no kanji before it keeps its own key.
fn fold_iteration_marks(atoms: &mut [Atom]) {
    let mut prev: Option<usize> = None;
    for k in 0..atoms.len() {
        if atoms[k].kind == Kind::Space {
            continue;
        }
        if let (Some(c), Some(p)) = (atoms[k].ch(), prev) {
            let before = atoms[p].ch().filter(|&b| b != '々' && b != '〻');
            if matches!(c, '々' | '〻') && before.is_some_and(marks::is_ideograph) {
                atoms[k].vkey = atoms[p].vkey;
                atoms[k].flags |= ITERATION;
            }
        }
        prev = Some(k);
    }
}

/// The flags of two different variant keys that fold to the same standard kanji, or `None`.
pub(super) fn kanji_variants(x: u32, y: u32) -> Option<u32> {
    let fold = |key: u32| {
        let c = char::from_u32(key)?;
        Some(match kanji::standard_form(c) {
            Some((s, Rule::KanjiVariantJis)) => (s, KANJI_JIS),
            Some((s, Rule::KanjiVariantJisRevision)) => (s, KANJI_JIS_REVISION),
            Some((s, _)) => (s, KANJI_MOJ),
            None => (c, 0),
        })
    };
    let ((sx, fx), (sy, fy)) = (fold(x)?, fold(y)?);
    (sx == sy).then_some(fx | fy)
}
