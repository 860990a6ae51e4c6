//! Pass 1 of reading an address: width, hyphen look-alikes, case and whitespace folded per
//! character.

use super::atoms::{HYPHEN, KANJI_COMPAT, LATIN, SELECTOR, WIDTH};
use crate::domain::text::{chars, kanji, marks, numerals, width};
use unicode_normalization::char::compose;

/// A character after width, hyphen and case folding, with the whitespace before it.
pub(super) struct NChar {
    pub(super) c: char,
    /// Where the whitespace run before this character starts (== `start` when there is none).
    pub(super) space_start: u32,
    pub(super) start: u32,
    pub(super) end: u32,
    pub(super) flags: u32,
    /// 1 + the index of a variation selector written after the character, or 0.
    pub(super) selector: u32,
}

impl NChar {
    pub(super) fn spaced(&self) -> bool {
        self.space_start < self.start
    }
}

/// Whitespace and the middle dots that forms put between words.
pub(super) fn is_space_like(c: char) -> bool {
    chars::is_space(c) || matches!(c, '・' | '･')
}

/// Folds `raw` into characters. Returns where the trailing whitespace run starts.
pub(super) fn normalize(raw: &str, out: &mut Vec<NChar>) -> u32 {
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
        // A wave dash (～ 〜) marks a range (`1～3`, lots 1 to 3), not a branch number: it stays
        // text, so that `1～3` and `1-3` differ (see `width::full_width_ascii`).
        if chars::is_hyphen_like(c) && !matches!(c, '～' | '〜') {
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
        } else if let Some(folded) =
            width::full_width_ascii(c).or_else(|| width::half_width_kana(c))
        {
            n = folded;
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
pub(super) fn selector_index(c: char) -> u32 {
    match c {
        '\u{FE00}'..='\u{FE0F}' => c as u32 - 0xFE00,
        _ => c as u32 - 0xE0100 + 16,
    }
}

pub(super) fn is_kana(c: char) -> bool {
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
pub(super) fn is_name_char(c: char) -> bool {
    is_kanji(c) || is_kana(c) || matches!(c, 'ヶ' | 'ヵ')
}

/// A numeral that may start or continue a number: 〇 to 九, 十, 百, 千, and the formal 壱 弐 参
/// 拾 (as a 登記 writes a lot: 壱番地).
pub(super) fn is_numeral(c: char) -> bool {
    numerals::numeral(c).is_some()
}

/// Reads a run of 漢数字 ([`numerals::read`]): positional (二十四 = 24, 百二 = 102, 十 = 10) or
/// digit by digit (二〇 = 20, 一〇二 = 102). `None` for anything else (二三十, 十十).
pub(super) fn parse_kanji(run: &[NChar]) -> Option<u32> {
    numerals::read(run.iter().map(|x| x.c)).map(|r| r.value)
}
