//! The notations in which forms, insurer systems and the registry write the same five
//! fields: width, script, spacing, small kana, 和暦 and 西暦, 丁目番号 and hyphens, a dropped
//! prefecture or 大字, a building on one side only.
//!
//! Each record of a case picks its notations independently, so one request typically needs
//! several of the core's notation and variant rules at once, as real cases do.

use std::fmt::Write as _;

use rand::{Rng, rngs::StdRng, seq::SliceRandom};

use super::{dates::full_width_number, people::Person};
use crate::domain::compare::Record;

/// Kanji numerals for 0‥99, the way 丁目 and sometimes 番/号 are written (二十四).
pub fn kanji_number(n: u32, out: &mut String) {
    const DIGITS: [char; 10] = ['〇', '一', '二', '三', '四', '五', '六', '七', '八', '九'];
    debug_assert!(n < 100);
    let (tens, ones) = (n / 10, n % 10);
    if tens > 1 {
        out.push(DIGITS[tens as usize]);
    }
    if tens > 0 {
        out.push('十');
    }
    if ones > 0 || tens == 0 {
        out.push(DIGITS[ones as usize]);
    }
}

/// The half-width spelling of each katakana from ァ (U+30A1) to ヴ (U+30F4), in code point
/// order: voiced kana take two half-width code points (ガ → ｶﾞ), as legacy systems store them.
/// ヮ, ヰ and ヱ have no half-width form; the pools never use them.
const HALF_WIDTH: [&str; 84] = [
    "ｧ", "ｱ", "ｨ", "ｲ", "ｩ", "ｳ", "ｪ", "ｴ", "ｫ", "ｵ", "ｶ", "ｶﾞ", "ｷ", "ｷﾞ", "ｸ", "ｸﾞ", "ｹ", "ｹﾞ", "ｺ",
    "ｺﾞ", "ｻ", "ｻﾞ", "ｼ", "ｼﾞ", "ｽ", "ｽﾞ", "ｾ", "ｾﾞ", "ｿ", "ｿﾞ", "ﾀ", "ﾀﾞ", "ﾁ", "ﾁﾞ", "ｯ", "ﾂ", "ﾂﾞ", "ﾃ",
    "ﾃﾞ", "ﾄ", "ﾄﾞ", "ﾅ", "ﾆ", "ﾇ", "ﾈ", "ﾉ", "ﾊ", "ﾊﾞ", "ﾊﾟ", "ﾋ", "ﾋﾞ", "ﾋﾟ", "ﾌ", "ﾌﾞ", "ﾌﾟ", "ﾍ", "ﾍﾞ",
    "ﾍﾟ", "ﾎ", "ﾎﾞ", "ﾎﾟ", "ﾏ", "ﾐ", "ﾑ", "ﾒ", "ﾓ", "ｬ", "ﾔ", "ｭ", "ﾕ", "ｮ", "ﾖ", "ﾗ", "ﾘ", "ﾙ", "ﾚ",
    "ﾛ", "ﾜ", "ﾜ", "ｲ", "ｴ", "ｦ", "ﾝ", "ｳﾞ",
];

/// The half-width spelling of full-width katakana (characters outside the table are kept).
pub fn half_width(kana: &str) -> String {
    let mut out = String::with_capacity(kana.len());
    for c in kana.chars() {
        match c {
            'ァ'..='ヴ' => out.push_str(HALF_WIDTH[c as usize - 'ァ' as usize]),
            'ー' => out.push('ｰ'),
            _ => out.push(c),
        }
    }
    out
}

/// Katakana as hiragana (タカハシ → たかはし): some forms are filled in hiragana.
pub fn hiragana(kana: &str) -> String {
    kana.chars()
        .map(|c| match c {
            'ァ'..='ヶ' => char::from_u32(c as u32 - 0x60).expect("a hiragana"),
            _ => c,
        })
        .collect()
}

/// The small katakana; each is followed in Unicode by its large form.
const SMALL_KANA: [char; 9] = ['ァ', 'ィ', 'ゥ', 'ェ', 'ォ', 'ッ', 'ャ', 'ュ', 'ョ'];

/// The reading as legacy systems without small kana store it (ショウタ → シヨウタ).
pub fn without_small_kana(kana: &str) -> String {
    let large =
        |c: char| char::from_u32(c as u32 + 1).expect("the large kana follows the small one");
    kana.chars()
        .map(|c| if SMALL_KANA.contains(&c) { large(c) } else { c })
        .collect()
}

/// Whether the reading has a small kana, so that [`without_small_kana`] changes it.
pub fn has_small_kana(kana: &str) -> bool {
    kana.chars().any(|c| SMALL_KANA.contains(&c))
}

/// The five fields of `p` in notations chosen independently per field.
pub fn write_fields(p: &Person, rng: &mut StdRng) -> Record {
    write_fields_in(p, rng, Folds::Variant)
}

/// Which of the core's folds the notations of a record may need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Folds {
    /// Typographic ones only (width, script, spacing, 和暦/西暦, sex code, address numbers):
    /// every record of the person compares as `notation` at worst.
    Notation,
    /// Also the ones that lose information: variant kanji, 外字 marks, small kana, a dropped
    /// prefecture, 郡 or 大字, a building on one side.
    Variant,
}

/// The five fields of `p` in notations chosen independently per field, needing at most `folds`.
pub fn write_fields_in(p: &Person, rng: &mut StdRng, folds: Folds) -> Record {
    let variants = folds == Folds::Variant;
    Record {
        kanji_name: write_kanji_name(p, rng, variants),
        kana_name: write_kana_name(p, rng, variants),
        birth_date: p.birth.write(rng),
        sex: write_sex(p.given.sex, rng),
        address: write_address_in(p, rng, variants),
    }
}

const NAME_SEPARATORS: [&str; 3] = [" ", "\u{3000}", ""];

/// The kanji name, sometimes with the variant family name or a substitute mark for it.
fn write_kanji_name(p: &Person, rng: &mut StdRng, variants: bool) -> String {
    let family = match p.family.variant.filter(|_| variants) {
        Some(variant) => match rng.gen_range(0..10) {
            0..=2 => variant.to_owned(),
            // A registry without the glyph prints a substitute mark for the 外字.
            3 => p
                .family
                .kanji
                .chars()
                .zip(variant.chars())
                .map(|(a, b)| if a == b { a } else { '●' })
                .collect(),
            _ => p.family.kanji.to_owned(),
        },
        None => p.family.kanji.to_owned(),
    };
    let separator = NAME_SEPARATORS.choose(rng).expect("separators");
    family + separator + p.given.kanji
}

/// The reading in full-width or half-width katakana, hiragana, or without small kana.
fn write_kana_name(p: &Person, rng: &mut StdRng, variants: bool) -> String {
    let separator = NAME_SEPARATORS.choose(rng).expect("separators");
    let full = [p.family.kana, separator, p.given.kana].concat();
    match rng.gen_range(0..10) {
        0..=1 => half_width(&full),
        2 => hiragana(&full),
        3 if variants && has_small_kana(&full) => without_small_kana(&full),
        _ => full,
    }
}

/// A sex code in one of its spellings.
pub fn write_sex(code: u8, rng: &mut impl Rng) -> String {
    let forms: [&str; 4] = if code == 1 {
        ["1", "男", "男性", "M"]
    } else {
        ["2", "女", "女性", "F"]
    };
    forms[rng.gen_range(0..4)].to_owned()
}

/// The number as written on a form: plain, in groups of four, or in full-width digits.
pub fn write_number(digits: &str, rng: &mut impl Rng) -> String {
    match rng.gen_range(0..4) {
        0 => format!("{} {} {}", &digits[..4], &digits[4..8], &digits[8..]),
        1 => format!("{}-{}-{}", &digits[..4], &digits[4..8], &digits[8..]),
        2 => digits
            .chars()
            .map(|c| char::from_u32(c as u32 - '0' as u32 + '０' as u32).expect("digit"))
            .collect(),
        _ => digits.to_owned(),
    }
}

/// The address in one of its notations. Like forms and insurer systems, any record may drop
/// an implied prefecture, the 郡 or the 大字, and carry the building or not.
pub fn write_address(p: &Person, rng: &mut StdRng) -> String {
    write_address_in(p, rng, true)
}

/// The address in one of its notations; without `variants` every part is written (prefecture,
/// 郡, 大字 and the building), so that only the number notation differs between records.
fn write_address_in(p: &Person, rng: &mut StdRng, variants: bool) -> String {
    let t = p.town;
    let mut s = String::with_capacity(96);
    if !variants || !t.implies_prefecture || rng.gen_bool(0.8) {
        s.push_str(t.prefecture);
    }
    if !variants || rng.gen_bool(0.7) {
        s.push_str(t.county);
    }
    s.push_str(t.municipality);
    if !variants || rng.gen_bool(0.6) {
        s.push_str(t.oaza);
    }
    s.push_str(t.town);
    let [a, b, c] = p.block;
    // `write!` to a String cannot fail.
    if t.chome > 0 {
        match rng.gen_range(0..6) {
            0 => {
                kanji_number(a, &mut s);
                let _ = write!(s, "丁目{b}番{c}号");
            }
            1 => {
                let _ = write!(s, "{a}丁目{b}番{c}号");
            }
            2 => {
                let _ = write!(s, "{a}-{b}-{c}");
            }
            3 => {
                for (i, n) in [a, b, c].into_iter().enumerate() {
                    if i > 0 {
                        s.push('－');
                    }
                    full_width_number(n, &mut s);
                }
            }
            4 => {
                for (n, unit) in [(a, "丁目"), (b, "番"), (c, "号")] {
                    kanji_number(n, &mut s);
                    s.push_str(unit);
                }
            }
            _ => {
                let _ = write!(s, "{a}丁目{b}-{c}");
            }
        }
    } else {
        let _ = write!(s, "{a}");
        if b > 0 {
            let separator = ["番地", "-", "番地の", "－"][rng.gen_range(0..4)];
            let _ = write!(s, "{separator}{b}");
        } else if rng.gen_bool(0.5) {
            s.push_str("番地");
        }
    }
    if let Some((building, room)) = p.building
        && (!variants || rng.gen_bool(0.5))
    {
        s.push_str(if rng.gen_bool(0.5) { " " } else { "\u{3000}" });
        s.push_str(building);
        let _ = write!(s, "{room}");
        if rng.gen_bool(0.5) {
            s.push_str("号室");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_normalization::UnicodeNormalization;

    #[test]
    fn the_half_width_table_spells_each_katakana_as_nfkc_reads_it_back() {
        for (i, half) in HALF_WIDTH.iter().enumerate() {
            let full = char::from_u32('ァ' as u32 + i as u32).unwrap();
            if !matches!(full, 'ヮ' | 'ヰ' | 'ヱ') {
                assert_eq!(half.nfkc().collect::<String>(), full.to_string());
            }
        }
    }

    #[test]
    fn kana_renderings_are_spelled_as_legacy_systems_spell_them() {
        assert_eq!(half_width("タカハシ イチロウ"), "ﾀｶﾊｼ ｲﾁﾛｳ");
        assert_eq!(half_width("ガ"), "ｶﾞ");
        assert_eq!(hiragana("ショウタ"), "しょうた");
        assert_eq!(without_small_kana("キョウコ"), "キヨウコ");
        assert!(has_small_kana("リョウ") && !has_small_kana("ハナコ"));
    }

    #[test]
    fn kanji_numerals_are_written_as_on_forms() {
        let mut s = String::new();
        for n in [1, 10, 11, 20, 24, 30] {
            kanji_number(n, &mut s);
            s.push(',');
        }
        assert_eq!(s, "一,十,十一,二十,二十四,三十,");
        s.clear();
        full_width_number(208, &mut s);
        assert_eq!(s, "２０８");
    }
}
