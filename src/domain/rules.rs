//! Folding rules and their stable ids.
//!
//! Every fold that can make two different strings compare equal is a [`Rule`] with an id that
//! appears in responses, audit rows and documentation. Ids name rules, never characters from
//! the input. A [`RuleSet`] is a bitset so that comparisons do not allocate.

use std::fmt;

macro_rules! rules {
    ($($(#[$doc:meta])* $variant:ident = $id:literal,)*) => {
        /// A folding rule. The discriminant is the bit in [`RuleSet`]; ids are stable.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(u8)]
        pub enum Rule {
            $($(#[$doc])* $variant,)*
        }

        impl Rule {
            /// Every rule, in id order of declaration.
            pub const ALL: &'static [Rule] = &[$(Rule::$variant,)*];

            /// The stable id.
            pub const fn id(self) -> &'static str {
                match self {
                    $(Rule::$variant => $id,)*
                }
            }
        }
    };
}

rules! {
    // ---- notation: typographic, nothing lost ----
    /// Full-width ASCII and half-width katakana to their standard width (NFKC on those ranges),
    /// combining 濁点/半濁点 composed.
    Width = "width",
    /// Any whitespace (including U+3000) and name separators such as ・ removed.
    Space = "space",
    /// Latin letters compared case-insensitively.
    LatinCase = "latin.case",
    /// Hiragana compared as katakana.
    KanaScript = "kana.script",
    /// Long-vowel and hyphen look-alikes (ｰ － ‐ − ― …) unified.
    Hyphen = "hyphen",
    /// Different spellings of the same day (1975-01-01, 1975/1/1, 19750101, 1975年1月1日).
    DateFormat = "date.format",
    /// 和暦 and Gregorian, or different era notations, of the same day.
    DateEra = "date.era",
    /// Different spellings of the same sex code (1 / 男 / 男性 / M / male).
    SexCode = "sex.code",
    /// Address numbers: 漢数字 ⇔ arabic, 丁目/番地/番/号/の ⇔ hyphens.
    AddressNumbers = "address.numbers",
    /// A CJK compatibility ideograph with a canonical decomposition as the unified ideograph it
    /// is equivalent to (U+F9A8 令 / U+4EE4 令).
    KanjiCompatibility = "kanji.compatibility",
    // ---- variant: information lost ----
    /// Small kana compared as large (ョ→ヨ, ッ→ツ), as legacy systems stored them.
    KanaSmall = "kana.small",
    /// ヂ/ジ and ヅ/ズ.
    KanaJiZu = "kana.ji_zu",
    /// Obsolete kana ヲ/オ, ヰ/イ, ヱ/エ.
    KanaObsolete = "kana.obsolete",
    /// ヴ compared as the バ row.
    KanaVu = "kana.vu",
    /// Variant kanji under the JIS 包摂規準・UCS 統合規則 scheme of the MJ 縮退 map.
    KanjiVariantJis = "kanji.variant.mj.jis",
    /// Variant kanji under the 法務省 戸籍法関連通達 scheme of the MJ 縮退 map (邊→辺, 齋→斎).
    KanjiVariantMoj = "kanji.variant.mj.moj",
    /// Two forms of one kanji that systems of different JIS ages show for each other (the
    /// 1983 level swaps and simplified glyphs, 1990's 凜 and 熙, JIS X 0213's 鷗 and 驒).
    KanjiVariantJisRevision = "kanji.variant.jis_revision",
    /// 々 (or 〻) against the ideograph it repeats (佐々木 / 佐佐木).
    KanjiIteration = "kanji.iteration",
    /// ゝ ゞ ヽ ヾ against the kana they repeat (みすゞ / みすず).
    KanaIteration = "kana.iteration",
    /// An ideographic or standardized variation selector after a kanji, which picks one glyph of
    /// the same character, present on one side only or different on the two sides.
    KanjiVariationSelector = "kanji.variation_selector",
    /// A substitute mark (●, 〓, U+FFFD, private use) matched one character.
    Wildcard = "wildcard",
    /// ケ/ヶ/ガ/が in place names.
    AddressKe = "address.ke",
    /// 之/ノ/の in place names.
    AddressNo = "address.no",
    /// 大字/字 prefixes present on one side only.
    AddressAza = "address.aza",
    /// 郡 omitted on one side.
    AddressCounty = "address.county",
    /// Building and room (方書) present on one side only.
    AddressBuilding = "address.building",
    /// Prefecture omitted on one side where the rest names it beyond doubt.
    AddressPrefecture = "address.prefecture",
    /// A number before 丁 without 目 (堺市's areas): 二丁 = 2丁.
    AddressCho = "address.cho",
    /// A number that is part of a town name (…番丁, …番町, …ノ町): 十二番丁 = 12番丁.
    AddressTownNumber = "address.town_number",
    /// The formal numerals 壱 弐 参 拾 read as numbers: 壱番地 = 1番地.
    AddressFormalNumerals = "address.formal_numerals",
    /// A 字 before a 小字 inside the town part, on one side only: 横芝字真砂 ~ 横芝真砂.
    AddressInnerAza = "address.inner_aza",
    /// The okurigana of a Kyoto street direction (上る/上ル/上がる, 下る/下ル/下がる, 西入/西入ル/
    /// 西入る, 東入/東入ル/東入る), and the り of 通り before them, written another way; the
    /// direction itself is compared.
    AddressStreetDirection = "address.street_direction",
    /// A postal code (〒100-8926) written before the address on one side only.
    AddressPostcode = "address.postcode",
    /// ツ/ッ/つ/っ between kanji in place names (四ツ谷 / 四ッ谷, 四つ木 / 四ツ木).
    AddressTsu = "address.tsu",
    // ---- not a fold: names why a comparison is not_recorded ----
    /// The J-LIS record's kana name is a placeholder (asterisks) or empty: its reading is not
    /// recorded yet.
    KanaNotRecorded = "kana.not_recorded",
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A set of [`Rule`]s, iterated in declaration order.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RuleSet(u64);

impl RuleSet {
    /// No rule.
    pub const EMPTY: RuleSet = RuleSet(0);

    /// A set of one rule.
    pub const fn one(rule: Rule) -> Self {
        RuleSet(1 << rule as u8)
    }

    /// A set of the given rules.
    pub fn of(rules: &[Rule]) -> Self {
        rules.iter().fold(RuleSet::EMPTY, |s, &r| s.with(r))
    }

    /// This set with `rule` added.
    #[must_use]
    pub const fn with(self, rule: Rule) -> Self {
        RuleSet(self.0 | 1 << rule as u8)
    }

    /// This set without `rule`.
    #[must_use]
    pub const fn without(self, rule: Rule) -> Self {
        RuleSet(self.0 & !(1 << rule as u8))
    }

    /// Adds `rule` in place.
    pub fn insert(&mut self, rule: Rule) {
        self.0 |= 1 << rule as u8;
    }

    /// Whether `rule` is in the set.
    pub const fn contains(self, rule: Rule) -> bool {
        self.0 & (1 << rule as u8) != 0
    }

    /// The union of two sets.
    #[must_use]
    pub const fn union(self, other: RuleSet) -> Self {
        RuleSet(self.0 | other.0)
    }

    /// The rules in both sets.
    #[must_use]
    pub const fn intersection(self, other: RuleSet) -> Self {
        RuleSet(self.0 & other.0)
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The rules, in declaration order.
    pub fn iter(self) -> impl Iterator<Item = Rule> {
        Rule::ALL.iter().copied().filter(move |&r| self.contains(r))
    }

    /// The ids, in declaration order.
    pub fn ids(self) -> impl Iterator<Item = &'static str> {
        self.iter().map(Rule::id)
    }
}

impl fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.ids()).finish()
    }
}

impl FromIterator<Rule> for RuleSet {
    fn from_iter<I: IntoIterator<Item = Rule>>(iter: I) -> Self {
        iter.into_iter().fold(RuleSet::EMPTY, RuleSet::with)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_unique_and_ascii() {
        let mut ids: Vec<_> = Rule::ALL.iter().map(|r| r.id()).collect();
        assert!(ids.iter().all(|id| id.is_ascii()));
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), Rule::ALL.len());
        assert!(Rule::ALL.len() <= 64, "RuleSet is a u64");
    }

    /// The prefixes of dotted rule ids (`kana.small`, `address.numbers` …).
    const FAMILIES: [&str; 6] = ["kana", "kanji", "address", "date", "sex", "latin"];

    /// Every dotted rule id named in `text`: words of `[a-z0-9_.]` whose first part is a rule
    /// family. (The one-word ids — `width`, `space`, `hyphen`, `wildcard` — are found by their
    /// place instead: the first column of a rules table, or a quoted example.)
    fn dotted_ids(text: &str) -> Vec<String> {
        text.split(|c: char| {
            !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
        })
        .map(|word| word.trim_matches('.'))
        .filter(|word| {
            word.split_once('.')
                .is_some_and(|(family, _)| FAMILIES.contains(&family))
        })
        .map(str::to_owned)
        .collect()
    }

    fn read(path: &str) -> String {
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
        std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
    }

    #[test]
    fn every_rule_id_named_in_the_proto_comments_and_the_rules_document_exists() {
        let known: Vec<&str> = Rule::ALL.iter().map(|r| r.id()).collect();
        let mut named = Vec::new();
        for proto in [
            "proto/verifyidentity/v1/verify_identity.proto",
            "proto/verifyidentity/audit/v1/event.proto",
        ] {
            for (n, line) in read(proto).lines().enumerate() {
                let Some((_, comment)) = line.split_once("//") else {
                    continue;
                };
                let mut ids = dotted_ids(comment);
                // Quoted examples of rule ids: `(e.g. "width", "kana.small")`.
                if comment.contains("rule") {
                    ids.extend(comment.split('"').skip(1).step_by(2).map(str::to_owned));
                }
                named.extend(ids.into_iter().map(|id| (format!("{proto}:{}", n + 1), id)));
            }
        }
        let rules_md = read("docs/rules.md");
        let mut in_rules_table = false;
        for (n, line) in rules_md.lines().enumerate() {
            let place = format!("docs/rules.md:{}", n + 1);
            if line.starts_with("## ") {
                in_rules_table = line.contains(" rules");
            }
            // The first column of a rules table ("## Notation rules", "## Variant rules")
            // names one rule.
            if let Some(id) = line
                .strip_prefix("| `")
                .filter(|_| in_rules_table)
                .and_then(|rest| rest.split_once("` |"))
                .map(|(id, _)| id)
                .filter(|id| !id.contains(' '))
            {
                named.push((place.clone(), id.to_owned()));
            }
            named.extend(dotted_ids(line).into_iter().map(|id| (place.clone(), id)));
        }
        let unknown: Vec<_> = named
            .iter()
            .filter(|(_, id)| !known.contains(&id.as_str()))
            .collect();
        assert!(
            unknown.is_empty(),
            "rule ids that do not exist: {unknown:?}"
        );
        assert!(named.len() > 40, "the scan found the ids: {named:?}");
        // And the other way round: the document describes every rule.
        for id in known {
            let documented = rules_md
                .lines()
                .any(|l| l.starts_with(&format!("| `{id}` |")));
            assert!(documented, "docs/rules.md has no row for {id}");
        }
    }

    #[test]
    fn a_rule_set_iterates_in_declaration_order() {
        let set = RuleSet::of(&[Rule::KanaSmall, Rule::Width]);
        assert_eq!(set.ids().collect::<Vec<_>>(), ["width", "kana.small"]);
    }
}
