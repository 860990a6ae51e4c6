//! Marks that stand for something else: iteration marks (々, ゝ ゞ ヽ ヾ) repeat the character
//! before them, and ideographic variation selectors pick one glyph of the character before them.
//!
//! Both lose information when folded (a registry that writes 佐々木 and one that writes 佐佐木
//! hold the same name, but the two strings are not the same notation), so their rules are
//! variant rules. A mark with nothing to repeat, or after a character of the wrong kind (々 after
//! kana, ゞ after a character that has no voiced form), is left as written: it then compares as a
//! character of its own and the gate holds.

use unicode_normalization::char::{compose, decompose_canonical};

use crate::domain::Rule;

/// Whether `c` is a variation selector: the ideographic ones (U+E0100–U+E01EF, as registry data
/// based on 文字情報基盤 carries them) or the standardized ones (U+FE00–U+FE0F).
pub fn is_variation_selector(c: char) -> bool {
    matches!(c, '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}')
}

/// A CJK ideograph (the characters a 々 may repeat).
pub fn is_ideograph(c: char) -> bool {
    matches!(c,
        '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{3FFFF}')
}

/// Whether `c` is an iteration mark this module can expand.
pub fn is_iteration_mark(c: char) -> bool {
    matches!(c, '々' | '〻' | 'ゝ' | 'ゞ' | 'ヽ' | 'ヾ')
}

/// What the iteration mark `mark` stands for after `prev`, and the rule that says so; `None`
/// when `mark` is not an iteration mark or cannot repeat `prev`.
///
/// 々 (and its vertical form 〻) repeats an ideograph. ゝ and ヽ repeat a hiragana or katakana
/// without its voicing mark (すゝ = すす); ゞ and ヾ repeat it voiced (すゞ = すず).
pub fn repeat(mark: char, prev: char) -> Option<(char, Rule)> {
    match mark {
        '々' | '〻' if is_ideograph(prev) => Some((prev, Rule::KanjiIteration)),
        'ゝ' if is_hiragana(prev) => Some((unvoiced(prev), Rule::KanaIteration)),
        'ヽ' if is_katakana(prev) => Some((unvoiced(prev), Rule::KanaIteration)),
        'ゞ' if is_hiragana(prev) => voiced(prev).map(|c| (c, Rule::KanaIteration)),
        'ヾ' if is_katakana(prev) => voiced(prev).map(|c| (c, Rule::KanaIteration)),
        _ => None,
    }
}

/// `c`, or what it stands for when it is an iteration mark after the last character of
/// `folded` (the output so far, as already folded: 﨑々 repeats 崎, ショヽ the large ヨ where
/// small kana fold) and `enabled` has the rule; the rule is then added to `fired`. The caller
/// folds the result like any other character (ツヾ repeats ヅ, which folds on to ズ).
pub fn expand_iteration(
    c: char,
    folded: &str,
    enabled: crate::domain::RuleSet,
    fired: &mut crate::domain::RuleSet,
) -> char {
    if !is_iteration_mark(c) {
        return c;
    }
    match folded.chars().next_back().and_then(|p| repeat(c, p)) {
        Some((repeated, rule)) if enabled.contains(rule) => {
            fired.insert(rule);
            repeated
        }
        _ => c,
    }
}

fn is_hiragana(c: char) -> bool {
    matches!(c, '\u{3041}'..='\u{3096}')
}

fn is_katakana(c: char) -> bool {
    matches!(c, '\u{30A1}'..='\u{30FA}')
}

/// `c` without a 濁点 or 半濁点 (ず → す, ぱ → は).
fn unvoiced(c: char) -> char {
    let mut base = None;
    decompose_canonical(c, |d| {
        base.get_or_insert(d);
    });
    base.unwrap_or(c)
}

/// `c` with a 濁点 (す → ず, ず → ず), or `None` when it has no voiced form (あ).
fn voiced(c: char) -> Option<char> {
    compose(unvoiced(c), '\u{3099}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(s: &str) -> String {
        let mut out = String::new();
        for c in s.chars() {
            let repeated = out.chars().next_back().and_then(|p| repeat(c, p));
            out.push(repeated.map_or(c, |(r, _)| r));
        }
        out
    }

    #[test]
    fn iteration_marks_repeat_the_character_before_them() {
        assert_eq!(expand("佐々木"), "佐佐木");
        assert_eq!(expand("代々木"), "代代木");
        assert_eq!(expand("野〻村"), "野野村");
        assert_eq!(expand("みすゞ"), "みすず");
        assert_eq!(expand("すゝむ"), "すすむ");
        assert_eq!(expand("ミスヾ"), "ミスズ");
        assert_eq!(expand("ハヽ"), "ハハ");
        assert_eq!(expand("ずゝ"), "ずす");
    }

    #[test]
    fn a_mark_that_cannot_repeat_stays_as_written() {
        assert_eq!(expand("々木"), "々木");
        assert_eq!(expand("さ々"), "さ々");
        assert_eq!(expand("佐ゝ"), "佐ゝ");
        assert_eq!(expand("あゞ"), "あゞ");
        assert_eq!(expand("カゝ"), "カゝ");
    }

    #[test]
    fn both_kinds_of_variation_selector_are_recognised() {
        for c in ['\u{FE00}', '\u{FE0F}', '\u{E0100}', '\u{E01EF}'] {
            assert!(is_variation_selector(c));
        }
        for c in ['\u{FE10}', '\u{E01F0}', '葛', '\u{200D}'] {
            assert!(!is_variation_selector(c));
        }
    }
}
