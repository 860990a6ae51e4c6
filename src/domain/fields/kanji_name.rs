//! 漢字氏名: the name in kanji (or in Latin letters for foreign residents).
//!
//! Notation: width, whitespace and name separators, Latin case. Variant: 異体字 and old forms
//! through the MJ 縮退 table, iteration marks (佐々木 / 佐佐木, みすゞ / みすず), variation
//! selectors (a glyph of the same character), and substitute marks (●, 〓 …) standing for one
//! 外字 each.
//!
//! Hiragana and katakana are *not* folded together here: in a kanji name they are written
//! characters of the registered name (さくら and サクラ are different registered names), not a
//! reading.

use crate::domain::{
    Comparison, Rule, RuleSet,
    text::{
        chars,
        folding::{FoldedKey, Folding, compare_keys},
        kanji, marks, width,
    },
};

const NOTATION: RuleSet = RuleSet::EMPTY
    .with(Rule::Width)
    .with(Rule::Space)
    .with(Rule::LatinCase)
    .with(Rule::KanjiCompatibility);
const VARIANT: RuleSet = RuleSet::EMPTY
    .with(Rule::KanjiVariantJis)
    .with(Rule::KanjiVariantMoj)
    .with(Rule::KanjiVariantJisRevision)
    .with(Rule::KanjiIteration)
    .with(Rule::KanaIteration)
    .with(Rule::KanjiVariationSelector);

const FOLDING: Folding = Folding {
    fold,
    notation: NOTATION,
    variant: VARIANT,
    wildcard: true,
};

/// A kanji name with its comparison keys.
#[derive(Clone, Debug)]
pub struct KanjiName(FoldedKey);

impl KanjiName {
    /// Prepares a raw value for comparison.
    pub fn parse(raw: &str) -> Self {
        KanjiName(FoldedKey::new(raw, &FOLDING))
    }

    /// Compares two names.
    pub fn compare(&self, other: &Self) -> Comparison {
        compare_keys(&self.0, &other.0, &FOLDING)
    }

    /// The fully folded key (every rule applied).
    pub fn key(&self) -> &str {
        self.0.variant_key(&FOLDING)
    }
}

/// Compares two raw kanji names.
pub fn compare(a: &str, b: &str) -> Comparison {
    KanjiName::parse(a).compare(&KanjiName::parse(b))
}

/// Folds a kanji name under the enabled rules.
pub fn fold(raw: &str, enabled: RuleSet, out: &mut String) -> RuleSet {
    let mut fired = RuleSet::EMPTY;
    let text = width::fold_width_if(raw, enabled, &mut fired, |_| false);
    let start = out.len();
    for mut c in text.chars() {
        c = marks::expand_iteration(c, &out[start..], enabled, &mut fired);
        if chars::is_space(c) || chars::is_name_separator(c) {
            if enabled.contains(Rule::Space) {
                fired.insert(Rule::Space);
                continue;
            }
        } else if let Some(composed) = width::compose_after(&out[start..], c, enabled) {
            // A voicing mark that whitespace kept apart from its kana (ス, U+200B, U+3099).
            fired.insert(Rule::Width);
            out.pop();
            out.push(composed);
            continue;
        } else if marks::is_variation_selector(c) {
            if enabled.contains(Rule::KanjiVariationSelector) {
                fired.insert(Rule::KanjiVariationSelector);
                continue;
            }
        } else if chars::is_latin_upper(c) && enabled.contains(Rule::LatinCase) {
            fired.insert(Rule::LatinCase);
            out.extend(c.to_lowercase());
            continue;
        } else if let Some(unified) = kanji::compatibility(c) {
            if enabled.contains(Rule::KanjiCompatibility) {
                fired.insert(Rule::KanjiCompatibility);
                // The unified ideograph may itself be a variant (U+2F800 丽 is 丽, a variant
                // of 麗): fold it now too, so that one pass with every rule is idempotent.
                match kanji::standard_form(unified) {
                    Some((standard, rule)) if enabled.contains(rule) => {
                        fired.insert(rule);
                        out.push(standard);
                    }
                    _ => out.push(unified),
                }
                continue;
            }
        } else if let Some((standard, rule)) = kanji::standard_form(c)
            && enabled.contains(rule)
        {
            fired.insert(rule);
            out.push(standard);
            continue;
        }
        out.push(c);
    }
    fired
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::MatchClass::{self, *};

    fn ids(c: Comparison) -> Vec<&'static str> {
        c.rules.ids().collect()
    }

    #[test]
    fn table_of_real_looking_kanji_names() {
        let cases: &[(&str, &str, MatchClass, &[&str])] = &[
            ("山田太郎", "山田太郎", Exact, &[]),
            ("山田 太郎", "山田　太郎", Notation, &["space"]),
            ("山田 太郎", "山田太郎", Notation, &["space"]),
            ("山田　花子", "山田花子", Notation, &["space"]),
            ("SMITH JOHN", "Smith John", Notation, &["latin.case"]),
            (
                "ＳＭＩＴＨ　ＪＯＨＮ",
                "SMITH JOHN",
                Notation,
                &["width", "space"],
            ),
            ("スミス・ジョン", "スミス ジョン", Notation, &["space"]),
            ("SMITH, JOHN", "SMITH JOHN", Notation, &["space"]),
            (
                "SMITH，JOHN",
                "Smith John",
                Notation,
                &["width", "space", "latin.case"],
            ),
            ("SMITH JOHN A.", "SMITH JOHN A", Notation, &["space"]),
            ("SMITH, JOHN", "JOHN SMITH", Mismatch, &[]),
            ("SMITH JOHN A", "SMITH JOHN", Mismatch, &[]),
            ("ｽﾐｽ ｼﾞｮﾝ", "スミス ジョン", Notation, &["width"]),
            ("髙橋一郎", "高橋一郎", Variant, &["kanji.variant.mj.jis"]),
            (
                "髙橋 一郎",
                "高橋一郎",
                Variant,
                &["space", "kanji.variant.mj.jis"],
            ),
            ("山﨑美穂", "山崎美穂", Variant, &["kanji.variant.mj.moj"]),
            ("渡邊健", "渡辺健", Variant, &["kanji.variant.mj.moj"]),
            ("渡邉健", "渡辺健", Variant, &["kanji.variant.mj.moj"]),
            ("渡邉健", "渡邊健", Variant, &["kanji.variant.mj.moj"]),
            ("齋藤浩", "斎藤浩", Variant, &["kanji.variant.mj.moj"]),
            ("齊藤浩", "斉藤浩", Variant, &["kanji.variant.mj.moj"]),
            ("齊藤浩", "斎藤浩", Mismatch, &[]),
            // Issue 28: every candidate of the 縮退 map, and the JIS revisions.
            ("禰宜田修", "祢宜田修", Variant, &["kanji.variant.mj.moj"]),
            ("岩瀬祿郎", "岩瀬禄郎", Variant, &["kanji.variant.mj.moj"]),
            ("穎川浩", "頴川浩", Variant, &["kanji.variant.mj.moj"]),
            ("礒部晄", "磯部晃", Variant, &["kanji.variant.mj.moj"]),
            ("濤子", "涛子", Variant, &["kanji.variant.jis_revision"]),
            ("森鷗外", "森鴎外", Variant, &["kanji.variant.mj.moj"]),
            ("礪波凜", "砺波凛", Variant, &["kanji.variant.jis_revision"]),
            (
                "槇原瑤子",
                "槙原瑶子",
                Variant,
                &["kanji.variant.mj.moj", "kanji.variant.jis_revision"],
            ),
            (
                "籠谷鰺治",
                "篭谷鯵治",
                Variant,
                &["kanji.variant.jis_revision"],
            ),
            ("\u{F9A8}子", "令子", Notation, &["kanji.compatibility"]),
            (
                "\u{FA10}本 修",
                "塚本修",
                Notation,
                &["space", "kanji.compatibility"],
            ),
            ("\u{F9A8}子", "今子", Mismatch, &[]),
            (
                "\u{2F800}子",
                "麗子",
                Variant,
                &["kanji.compatibility", "kanji.variant.mj.moj"],
            ),
            ("山\u{FA11}", "山崎", Variant, &["kanji.variant.mj.moj"]),
            // ... and the characters next to them that are other names.
            ("祢宜田修", "弥宜田修", Mismatch, &[]),
            ("濤子", "清子", Mismatch, &[]),
            ("宍戸錠", "肉戸錠", Mismatch, &[]),
            ("大阪谷", "大坂谷", Mismatch, &[]),
            ("埼田守", "崎田守", Mismatch, &[]),
            ("佐川舟", "左川船", Mismatch, &[]),
            ("洲本凜", "州本凛", Mismatch, &[]),
            ("齋藤浩", "齊藤浩", Mismatch, &[]),
            ("斉藤浩", "斎藤浩", Mismatch, &[]),
            ("佐々木健", "佐佐木健", Variant, &["kanji.iteration"]),
            (
                "野々村 真",
                "野野村真",
                Variant,
                &["space", "kanji.iteration"],
            ),
            ("佐々木健", "佐木健", Mismatch, &[]),
            ("佐々木健", "佐藤木健", Mismatch, &[]),
            (
                "山﨑々",
                "山崎崎",
                Variant,
                &["kanji.variant.mj.moj", "kanji.iteration"],
            ),
            ("金子みすゞ", "金子みすず", Variant, &["kana.iteration"]),
            ("金子みすゞ", "金子みすす", Mismatch, &[]),
            (
                "葛\u{E0100}西花子",
                "葛西花子",
                Variant,
                &["kanji.variation_selector"],
            ),
            (
                "葛\u{E0100}西花子",
                "葛\u{E0101}西花子",
                Variant,
                &["kanji.variation_selector"],
            ),
            (
                "辻\u{FE00} 一郎",
                "辻一郎",
                Variant,
                &["space", "kanji.variation_selector"],
            ),
            ("知\u{E0100}子", "智子", Mismatch, &[]),
            ("\u{E0100}", "葛", Mismatch, &[]),
            ("𠮷田修", "吉田修", Variant, &["kanji.variant.mj.jis"]),
            ("濵田亜美", "浜田亜美", Variant, &["kanji.variant.mj.moj"]),
            ("濱田亜美", "浜田亜美", Variant, &["kanji.variant.mj.moj"]),
            ("德川家康", "徳川家康", Variant, &["kanji.variant.mj.moj"]),
            ("澤田健一", "沢田健一", Variant, &["kanji.variant.mj.moj"]),
            ("廣田弘", "広田弘", Variant, &["kanji.variant.mj.moj"]),
            ("櫻井翔", "桜井翔", Variant, &["kanji.variant.mj.moj"]),
            ("國枝信吾", "国枝信吾", Variant, &["kanji.variant.mj.moj"]),
            ("嶋田一", "島田一", Variant, &["kanji.variant.mj.moj"]),
            ("●田修", "吉田修", Variant, &["wildcard"]),
            ("〓田 修", "𠮷田修", Variant, &["space", "wildcard"]),
            ("佐藤●子", "佐藤惠子", Variant, &["wildcard"]),
            ("鈴木智子", "鈴木知子", Mismatch, &[]),
            ("末松健", "未松健", Mismatch, &[]),
            ("佐藤太郎", "佐藤太朗", Mismatch, &[]),
            ("斉藤浩", "斎藤浩", Mismatch, &[]),
            ("山田さくら", "山田サクラ", Mismatch, &[]),
            ("山田太郎", "山田次郎", Mismatch, &[]),
            ("山田太郎", "山田太", Mismatch, &[]),
            ("●●", "吉田", Mismatch, &[]),
            ("●● 花子", "渡辺 花子", Mismatch, &[]),
            ("山田 ●●", "山田 太郎", Mismatch, &[]),
            ("● 花子", "林 花子", Mismatch, &[]),
            ("●辺 花子", "渡辺 花子", Variant, &["wildcard"]),
            ("田中裕子", "田中祐子", Mismatch, &[]),
            ("伊藤真", "伊藤眞", Variant, &["kanji.variant.mj.moj"]),
            ("伊藤真", "伊藤直", Mismatch, &[]),
            ("", "山田太郎", Missing, &[]),
            ("　", "山田太郎", Missing, &[]),
            ("", "", Missing, &[]),
        ];
        for &(a, b, class, rules) in cases {
            let got = compare(a, b);
            assert_eq!((got.class, ids(got)), (class, rules.to_vec()), "{a} / {b}");
            let back = compare(b, a);
            assert_eq!(got, back, "symmetry {a} / {b}");
        }
    }
}
