//! Width folding: full-width ASCII to ASCII, half-width katakana to full-width with 濁点 and
//! 半濁点 composed.
//!
//! This is NFKC restricted to the ranges where it is purely typographic. Full NFKC is rejected
//! because it also rewrites characters that carry meaning in names and addresses (compatibility
//! ideographs, ㈱, ①, ㍻), which must either stay distinct or be handled by an explicit rule.

use std::borrow::Cow;

use unicode_normalization::char::{compose, decompose_compatible};

use crate::domain::{Rule, RuleSet};

/// The ASCII character that a full-width form stands for: U+FF01 `！` to U+FF5D `｝`.
///
/// U+FF5E `～` is deliberately left out, here and so in every field that folds width. In
/// Japanese text it is not a wide tilde but the wave dash 〜 (Shift_JIS 0x8160, which Windows'
/// code page maps to U+FF5E and the JIS mapping to U+301C): it marks a range (`1～3` in an
/// address, lots 1 to 3; `昭和50年～` in a date, from that year on) or a long vowel. Folding it to
/// `~` would only make it look like ASCII; each field decides what a wave dash means, and none
/// reads it as a separator: an address keeps it as text, so `1～3` and `1-3` differ, and a birth
/// date that holds one is unparseable. The rejected alternative, NFKC's U+FF5E → `~`, is
/// what `birth_date` once did on its own.
pub fn full_width_ascii(c: char) -> Option<char> {
    match c {
        '\u{FF01}'..='\u{FF5D}' => char::from_u32(c as u32 - 0xFEE0),
        _ => None,
    }
}

/// The full-width katakana or punctuation that a half-width form (U+FF61–U+FF9F) stands for.
/// The half-width voicing marks ﾞ and ﾟ become the spacing ゛ and ゜; composing them with the
/// kana before is the caller's (see [`fold_width_except`]).
pub fn half_width_kana(c: char) -> Option<char> {
    if !('\u{FF61}'..='\u{FF9F}').contains(&c) {
        return None;
    }
    let mut full = c;
    decompose_compatible(c, |d| full = d);
    Some(match full {
        '\u{3099}' => '\u{309B}',
        '\u{309A}' => '\u{309C}',
        other => other,
    })
}

/// Folds width into `out`, appending. Returns whether anything changed.
pub fn fold_width_into(s: &str, out: &mut String) -> bool {
    fold_width_except(s, out, |_| false)
}

/// Folds width, leaving the characters for which `keep` is true to another rule (a kana name
/// leaves hyphen look-alikes such as － and ｰ to its hyphen rule, so that exactly one rule
/// explains them).
pub fn fold_width_except(s: &str, out: &mut String, keep: fn(char) -> bool) -> bool {
    let mut changed = false;
    for c in s.chars() {
        if keep(c) {
            out.push(c);
            continue;
        }
        if let Some(ascii) = full_width_ascii(c) {
            out.push(ascii);
            changed = true;
            continue;
        }
        match c {
            // Half-width katakana and punctuation.
            '\u{FF61}'..='\u{FF9F}' => {
                let mut full = c;
                decompose_compatible(c, |d| full = d);
                changed = true;
                push_composing(out, full);
            }
            // Combining and spacing 濁点/半濁点 after a kana.
            '\u{3099}' | '\u{309A}' | '\u{309B}' | '\u{309C}' => {
                let mark = match c {
                    '\u{309B}' => '\u{3099}',
                    '\u{309C}' => '\u{309A}',
                    m => m,
                };
                if push_composing(out, mark) {
                    changed = true;
                } else if mark != c {
                    // A spacing mark with nothing to attach to stays as written.
                    out.pop();
                    out.push(c);
                }
            }
            _ => out.push(c),
        }
    }
    changed
}

/// Whether `s` holds a character that width folding rewrites: U+FF01–U+FF9F (lead bytes EF BC,
/// EF BD, EF BE) or a voicing mark U+3099–U+309C (E3 82 99–9C). Most names hold neither, and a
/// byte scan tells without decoding them.
fn has_width_forms(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().enumerate().any(|(i, &lead)| match lead {
        0xEF => true,
        0xE3 => b.get(i + 1) == Some(&0x82) && matches!(b.get(i + 2), Some(0x99..=0x9C)),
        _ => false,
    })
}

/// Pushes `c`, composing a voicing mark with the previous character where possible. Returns
/// whether a composition happened.
fn push_composing(out: &mut String, c: char) -> bool {
    if matches!(c, '\u{3099}' | '\u{309A}')
        && let Some(prev) = out.chars().next_back()
        && let Some(composed) = compose(prev, c)
    {
        out.pop();
        out.push(composed);
        return true;
    }
    out.push(c);
    false
}

/// The width-folded text when `enabled` has [`Rule::Width`] (recording it in `fired` if it
/// changed anything), else the text as it is. `keep` leaves characters to another rule.
pub fn fold_width_if<'a>(
    raw: &'a str,
    enabled: RuleSet,
    fired: &mut RuleSet,
    keep: fn(char) -> bool,
) -> Cow<'a, str> {
    if !enabled.contains(Rule::Width) || !has_width_forms(raw) {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    if fold_width_except(raw, &mut out, keep) {
        fired.insert(Rule::Width);
    }
    Cow::Owned(out)
}

/// The character that a voicing mark `c` (combining or spacing 濁点/半濁点) makes with the last
/// character of `folded`, when the width rule is enabled and they compose. Used after a later
/// rule removed what stood between them (whitespace), so that folding stays idempotent.
pub fn compose_after(folded: &str, c: char, enabled: RuleSet) -> Option<char> {
    let mark = match c {
        '\u{3099}' | '\u{309B}' => '\u{3099}',
        '\u{309A}' | '\u{309C}' => '\u{309A}',
        _ => return None,
    };
    if !enabled.contains(Rule::Width) {
        return None;
    }
    compose(folded.chars().next_back()?, mark)
}

/// Folds width. Returns the text (borrowed when it has no width forms) and whether anything
/// changed.
pub fn fold_width(s: &str) -> (Cow<'_, str>, bool) {
    if !has_width_forms(s) {
        return (Cow::Borrowed(s), false);
    }
    let mut out = String::with_capacity(s.len());
    let changed = fold_width_into(s, &mut out);
    (Cow::Owned(out), changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_byte_test_finds_every_character_that_width_folding_rewrites() {
        for c in (0..0x11_0000u32).filter_map(char::from_u32) {
            let s = format!("ヤ{c}");
            let mut out = String::new();
            let changed = fold_width_into(&s, &mut out);
            if changed || out != s {
                assert!(has_width_forms(&s), "U+{:04X}", c as u32);
            }
            let expected = matches!(c, '\u{FF01}'..='\u{FF9F}' | '\u{3099}'..='\u{309C}');
            // EF also leads U+F000–U+FFFF outside the range: a false alarm is only slower.
            if !expected && !(0xF000..=0xFFFF).contains(&(c as u32)) {
                assert!(!has_width_forms(&s), "U+{:04X}", c as u32);
            }
        }
    }

    #[test]
    fn half_width_katakana_composes_dakuten() {
        assert_eq!(fold_width("ﾔﾏﾀﾞ ﾀﾛｳ").0, "ヤマダ タロウ");
        assert_eq!(fold_width("ﾎﾟﾝ").0, "ポン");
        assert_eq!(fold_width("ｼﾖｳｲﾁ").0, "シヨウイチ");
    }

    #[test]
    fn combining_marks_compose() {
        assert_eq!(fold_width("カ\u{3099}").0, "ガ");
        assert_eq!(fold_width("ハ\u{309A}").0, "パ");
        assert_eq!(fold_width("カ゛").0, "ガ");
    }

    #[test]
    fn full_width_ascii_folds_and_kanji_stay() {
        assert_eq!(fold_width("ＳＭＩＴＨ　１２３").0, "SMITH　123");
        let (s, changed) = fold_width("山田太郎");
        assert_eq!(s, "山田太郎");
        assert!(!changed);
    }

    #[test]
    fn the_wave_dash_is_never_width_folded_to_a_tilde() {
        assert_eq!(full_width_ascii('～'), None);
        assert_eq!(full_width_ascii('｝'), Some('}'));
        assert_eq!(full_width_ascii('！'), Some('!'));
        assert_eq!(fold_width("1～3").0, "1～3");
        assert_eq!(fold_width("１～３").0, "1～3");
    }

    #[test]
    fn half_width_kana_reads_as_full_width_with_spacing_marks() {
        assert_eq!(half_width_kana('ｶ'), Some('カ'));
        assert_eq!(half_width_kana('ﾞ'), Some('゛'));
        assert_eq!(half_width_kana('ﾟ'), Some('゜'));
        assert_eq!(half_width_kana('ｰ'), Some('ー'));
        assert_eq!(half_width_kana('カ'), None);
    }

    #[test]
    fn a_lone_spacing_mark_is_kept() {
        assert_eq!(fold_width("゛").0, "゛");
    }
}
