//! カナ氏名: the reading of the name.
//!
//! Notation: width (half-width katakana with 濁点 composed), whitespace and ・, hiragana to
//! katakana, long-vowel look-alikes, Latin case. Variant: what legacy systems could not store —
//! small kana as large (シヨウイチ for ショウイチ), ヂ/ジ, ヅ/ズ, ヲ/オ, ヰ/イ, ヱ/エ, ヴ/ブ — and
//! iteration marks against the kana they repeat (ミスヾ / ミスズ).
//!
//! A long vowel written as a vowel (オオタ vs オータ) is not folded: readings differ there in
//! the registry too, and the gate would rather hold than guess.

use crate::domain::{
    Comparison, Rule, RuleSet,
    text::{
        chars,
        folding::{FoldedKey, Folding, compare_keys},
        kana, marks, width,
    },
};

const NOTATION: RuleSet = RuleSet::EMPTY
    .with(Rule::Width)
    .with(Rule::Space)
    .with(Rule::KanaScript)
    .with(Rule::Hyphen)
    .with(Rule::LatinCase);
const VARIANT: RuleSet = RuleSet::EMPTY
    .with(Rule::KanaSmall)
    .with(Rule::KanaJiZu)
    .with(Rule::KanaObsolete)
    .with(Rule::KanaVu)
    .with(Rule::KanaIteration);

const FOLDING: Folding = Folding {
    fold,
    notation: NOTATION,
    variant: VARIANT,
    wildcard: false,
};

/// A kana name with its comparison keys.
#[derive(Clone, Debug)]
pub struct KanaName(FoldedKey);

impl KanaName {
    /// Prepares a raw value for comparison.
    pub fn parse(raw: &str) -> Self {
        KanaName(FoldedKey::new(raw, &FOLDING))
    }

    /// Compares two readings.
    pub fn compare(&self, other: &Self) -> Comparison {
        compare_keys(&self.0, &other.0, &FOLDING)
    }

    /// The fully folded key (every rule applied).
    pub fn key(&self) -> &str {
        self.0.variant_key(&FOLDING)
    }
}

/// Whether a kana name says that no reading is recorded: empty, or only asterisks (in either
/// width) and whitespace, the placeholder records carry until the reading that became law in
/// 2025 (氏名の振り仮名) is recorded.
pub fn is_not_recorded(raw: &str) -> bool {
    raw.chars()
        .all(|c| matches!(c, '*' | '＊') || chars::is_space(c))
}

/// Compares two raw kana names.
pub fn compare(a: &str, b: &str) -> Comparison {
    KanaName::parse(a).compare(&KanaName::parse(b))
}

/// Folds a kana name under the enabled rules.
pub fn fold(raw: &str, enabled: RuleSet, out: &mut String) -> RuleSet {
    let mut fired = RuleSet::EMPTY;
    // ｰ is the half-width form of ー (width); the other look-alikes are the hyphen rule's.
    let text = width::fold_width_if(raw, enabled, &mut fired, |c| {
        c != 'ｰ' && chars::is_hyphen_like(c)
    });
    let start = out.len();
    let mut chars = text.chars().peekable();
    while let Some(mut c) = chars.next() {
        // Most of a name is plain katakana (ァ–ヶ): of the rules below only ヴ's and the small
        // kana's touch it.
        if ('\u{30A1}'..='\u{30F6}').contains(&c) && c != 'ヴ' && kana::variant_fold(c).is_none() {
            out.push(c);
            continue;
        }
        if (chars::is_space(c) || chars::is_name_separator(c)) && enabled.contains(Rule::Space) {
            fired.insert(Rule::Space);
            continue;
        }
        if let Some(k) = kana::hiragana_to_katakana(c)
            && enabled.contains(Rule::KanaScript)
        {
            fired.insert(Rule::KanaScript);
            c = k;
        }
        if c != 'ー' && chars::is_hyphen_like(c) && enabled.contains(Rule::Hyphen) {
            fired.insert(Rule::Hyphen);
            c = 'ー';
        }
        if chars::is_latin_upper(c) && enabled.contains(Rule::LatinCase) {
            fired.insert(Rule::LatinCase);
            out.extend(c.to_lowercase());
            continue;
        }
        if let Some(composed) = width::compose_after(&out[start..], c, enabled) {
            // A voicing mark that whitespace or a small-kana fold kept apart from its kana
            // (ス U+200B U+3099, ッ U+3099): the composed kana folds again from here.
            fired.insert(Rule::Width);
            out.pop();
            c = composed;
        }
        c = marks::expand_iteration(c, &out[start..], enabled, &mut fired);
        if c == 'ヴ' && enabled.contains(Rule::KanaVu) {
            // ヴァ ヴィ ヴェ ヴォ are written バ ビ ベ ボ by systems without ヴ.
            let row = chars.peek().and_then(|&next| match next {
                'ァ' | 'ぁ' => Some('バ'),
                'ィ' | 'ぃ' => Some('ビ'),
                'ェ' | 'ぇ' => Some('ベ'),
                'ォ' | 'ぉ' => Some('ボ'),
                _ => None,
            });
            if let Some(voiced) = row {
                chars.next();
                fired.insert(Rule::KanaVu);
                out.push(voiced);
                continue;
            }
        }
        if let Some((large, rule)) = kana::variant_fold(c)
            && enabled.contains(rule)
        {
            fired.insert(rule);
            c = large;
        }
        out.push(c);
    }
    fired
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::MatchClass::{self, *};

    #[test]
    fn table_of_real_looking_kana_names() {
        let cases: &[(&str, &str, MatchClass, &[&str])] = &[
            ("ヤマダ タロウ", "ヤマダ タロウ", Exact, &[]),
            ("ヤマダ タロウ", "ヤマダ　タロウ", Notation, &["space"]),
            ("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ タロウ", Notation, &["width"]),
            ("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダタロウ", Notation, &["width", "space"]),
            ("やまだ たろう", "ヤマダ タロウ", Notation, &["kana.script"]),
            ("ヤマダ・タロウ", "ヤマダ タロウ", Notation, &["space"]),
            ("スミス ジヨン", "スミス ジヨン", Exact, &[]),
            ("ｽﾐｽ ｼﾞｮﾝ", "スミス ジョン", Notation, &["width"]),
            ("サトウ ユーコ", "サトウ ユ－コ", Notation, &["hyphen"]),
            ("サトウ ユーコ", "ｻﾄｳ ﾕｰｺ", Notation, &["width"]),
            ("ｻﾄｳ ﾕｰｺ", "サトウ ユ－コ", Notation, &["width", "hyphen"]),
            ("カ\u{3099}ク", "ガク", Notation, &["width"]),
            ("ショウイチ", "シヨウイチ", Variant, &["kana.small"]),
            ("ｼｮｳｲﾁ", "ｼﾖｳｲﾁ", Variant, &["kana.small"]),
            ("キャサリン", "キヤサリン", Variant, &["kana.small"]),
            ("ハットリ", "ハツトリ", Variant, &["kana.small"]),
            (
                "しょういち",
                "シヨウイチ",
                Variant,
                &["kana.script", "kana.small"],
            ),
            ("チヂワ", "チジワ", Variant, &["kana.ji_zu"]),
            ("ツヅキ", "ツズキ", Variant, &["kana.ji_zu"]),
            ("カヲル", "カオル", Variant, &["kana.obsolete"]),
            ("ヰノウエ", "イノウエ", Variant, &["kana.obsolete"]),
            ("ヱミ", "エミ", Variant, &["kana.obsolete"]),
            ("ヴィクトリア", "ビクトリア", Variant, &["kana.vu"]),
            ("ヴァイオリン", "バイオリン", Variant, &["kana.vu"]),
            ("ヴ", "ブ", Variant, &["kana.vu"]),
            ("ミスヾ", "ミスズ", Variant, &["kana.iteration"]),
            (
                "みすゞ",
                "ミスズ",
                Variant,
                &["kana.script", "kana.iteration"],
            ),
            ("ササキ", "サヽキ", Variant, &["kana.iteration"]),
            ("ミスヾ", "ミスス", Mismatch, &[]),
            ("ユウコ", "ユキコ", Mismatch, &[]),
            ("ユウコ", "ユーコ", Mismatch, &[]),
            ("オオタ", "オータ", Mismatch, &[]),
            ("サトウ", "サイトウ", Mismatch, &[]),
            ("カトウ", "ガトウ", Mismatch, &[]),
            ("ハラ", "パラ", Mismatch, &[]),
            ("タナカ ハナコ", "タナカ ハルコ", Mismatch, &[]),
            ("タナカ ハナコ", "タナカ タロウ", Mismatch, &[]),
            ("", "ヤマダ", Missing, &[]),
        ];
        for &(a, b, class, rules) in cases {
            let got = compare(a, b);
            let ids: Vec<_> = got.rules.ids().collect();
            assert_eq!((got.class, ids), (class, rules.to_vec()), "{a} / {b}");
            assert_eq!(got, compare(b, a), "symmetry {a} / {b}");
        }
    }
}
