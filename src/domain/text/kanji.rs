//! Variant kanji (異体字, old forms) to one standard form, per character.
//!
//! The table is precomputed at build time from jntajis's MJ 縮退 map and filtered for identity
//! matching; `build.rs` explains which schemes are used and why some mappings are refused.
//! Folding both sides to one standard form per character was chosen over "same family"
//! equivalence, which over-matches (a family can contain characters that are different names).

use crate::domain::Rule;

include!(concat!(env!("OUT_DIR"), "/kanji_variants.rs"));

/// One bit per Basic Multilingual Plane code point: set when the table maps it. Almost every
/// kanji in a name or an address is already standard, so most lookups end at this bit instead
/// of a binary search over ten thousand entries (8 KiB, built at compile time).
static IN_TABLE_BMP: [u64; 1024] = {
    let mut bits = [0u64; 1024];
    let mut i = 0;
    while i < KANJI_VARIANTS.len() {
        let c = KANJI_VARIANTS[i].0 as u32;
        if c < 0x1_0000 {
            bits[(c / 64) as usize] |= 1 << (c % 64);
        }
        i += 1;
    }
    bits
};

/// The standard form of `c` and the rule (scheme) that maps it, or `None` when `c` is already
/// standard or unknown to the table.
pub fn standard_form(c: char) -> Option<(char, Rule)> {
    let code = c as u32;
    if code < 0x3400
        || (code < 0x1_0000 && IN_TABLE_BMP[(code / 64) as usize] & (1 << (code % 64)) == 0)
    {
        return None;
    }
    let i = KANJI_VARIANTS
        .binary_search_by_key(&c, |&(v, _, _)| v)
        .ok()?;
    let (_, standard, scheme) = KANJI_VARIANTS[i];
    let rule = match scheme {
        0 => Rule::KanjiVariantJis,
        1 => Rule::KanjiVariantMoj,
        _ => Rule::KanjiVariantJisRevision,
    };
    Some((standard, rule))
}

/// The unified ideograph that a CJK compatibility ideograph is canonically equivalent to
/// (U+F9A8 令 is U+4EE4 令: NFC makes one the other), or `None`.
///
/// Compatibility ideographs exist so that older character sets (KS X 1001's duplicate readings,
/// IBM's and JIS X 0213's extra codes) survive a round trip through Unicode. Those with a
/// canonical decomposition are, by Unicode's own definition, the same character as their
/// decomposition: notation (rule `kanji.compatibility`), nothing lost. The twelve in the block
/// that have no decomposition (﨎 﨏 﨑 﨓 﨔 﨟 﨡 﨣 﨤 﨧 﨨 﨩) are unified ideographs of their own;
/// those that are variants of another character (﨑 of 崎) fold through the variant table.
pub fn compatibility(c: char) -> Option<char> {
    if !matches!(c, '\u{F900}'..='\u{FAFF}' | '\u{2F800}'..='\u{2FA1F}') {
        return None;
    }
    let (mut out, mut count) = (c, 0);
    unicode_normalization::char::decompose_canonical(c, |d| {
        out = d;
        count += 1;
    });
    (count == 1 && out != c).then_some(out)
}

/// The number of variant characters the table knows (for diagnostics and tests).
pub fn table_len() -> usize {
    KANJI_VARIANTS.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fold(s: &str) -> String {
        s.chars()
            .map(|c| standard_form(c).map_or(c, |(t, _)| t))
            .collect()
    }

    #[test]
    fn common_surname_variants_fold_to_the_standard_form() {
        let pairs = [
            ("髙橋", "高橋"),
            ("山﨑", "山崎"),
            ("渡邊", "渡辺"),
            ("渡邉", "渡辺"),
            ("齋藤", "斎藤"),
            ("𠮷田", "吉田"),
            ("山嵜", "山崎"),
            ("濵田", "浜田"),
            ("濱田", "浜田"),
            ("德川", "徳川"),
            ("澤田", "沢田"),
            ("廣田", "広田"),
            ("櫻井", "桜井"),
            ("國枝", "国枝"),
            ("嶋田", "島田"),
            ("檜山", "桧山"),
            ("遙", "遥"),
            ("巖", "巌"),
            ("齊藤", "斉藤"),
        ];
        for (variant, standard) in pairs {
            assert_eq!(fold(variant), standard, "{variant}");
        }
    }

    #[test]
    fn different_everyday_characters_are_never_folded_together() {
        for (a, b) in [
            ("智子", "知子"),
            ("末松", "未松"),
            ("太郎", "太朗"),
            ("斉藤", "斎藤"),
            ("玉木", "王木"),
            ("功", "切"),
            ("書", "昼"),
            ("師", "帥"),
            ("着", "著"),
        ] {
            assert_ne!(fold(a), fold(b), "{a} {b}");
        }
    }

    #[test]
    fn pairs_refused_after_review_never_fold_together() {
        assert!(REJECTED_PAIRS.len() > 50);
        for &(a, b) in REJECTED_PAIRS {
            assert_ne!(
                fold(&a.to_string()),
                fold(&b.to_string()),
                "U+{:04X} U+{:04X}",
                a as u32,
                b as u32
            );
        }
        // The ones most likely in real names and places, spelled out.
        for (a, b) in [
            ("槁", "橋"),
            ("个", "介"),
            ("剌", "刺"),
            ("傅", "伝"),
            ("隹", "佳"),
        ] {
            assert_ne!(fold(a), fold(b), "{a} {b}");
        }
    }

    #[test]
    fn sai_and_sai_stay_apart_and_each_old_form_folds_to_its_own() {
        assert_eq!(fold("齋藤"), "斎藤");
        assert_eq!(fold("齊藤"), "斉藤");
        assert_ne!(fold("齋藤"), fold("齊藤"));
        assert_ne!(fold("斎藤"), fold("斉藤"));
    }

    /// Issue 28: pairs of one character held because the build read only the first candidate
    /// of a map entry, or because the JIS revisions were not in the table.
    #[test]
    fn old_and_new_forms_held_in_issue_28_fold_together() {
        for pair in [
            // Every candidate of the 法務省 scheme, in both directions.
            "祢禰", "禱祷", "祿禄", "迪廸", "頴穎", "伜倅", "聟婿", "繫繋", "鬱欝", "穰穣", "礒磯",
            "晄晃", // What the JIS revisions did.
            "濤涛", "籠篭", "蠣蛎", "鰺鯵", "諫諌", "礪砺", "檮梼", "槇槙", "堯尭", "瑤瑶", "麩麸",
            "驒騨", "凜凛", "熙煕", "鷗鴎",
        ] {
            let mut chars = pair.chars();
            let (a, b) = (chars.next().unwrap(), chars.next().unwrap());
            assert_eq!(fold(&a.to_string()), fold(&b.to_string()), "{pair}");
        }
    }

    /// Issue 28, the rest of the JIS lists: the seven old shapes of the 29 codes JIS X
    /// 0208:1983 changed that were not yet in the table (JIS X 0213:2000 brought each back), and
    /// 遙 of row 84. Each folds into the JIS X 0208 form, in both directions of a comparison.
    #[test]
    fn the_rest_of_the_old_shapes_jis_x_0213_brought_back_fold_to_the_jis_x_0208_form() {
        for pair in [
            "啞唖", "軀躯", "鹼鹸", "搔掻", "囊嚢", "醱醗", "麵麺",
            "遙遥", // and the 22 before:
            "鷗鴎", "驒騨", "嚙噛", "瀆涜", "禱祷", "蟬蝉", "摑掴", "繡繍", "蔣蒋", "醬醤", "簞箪",
            "頰頬", "塡填", "俠侠", "屢屡", "蠟蝋", "顚顛", "焰焔", "萊莱", "潑溌", "麴麹", "攢攅",
        ] {
            let mut chars = pair.chars();
            let (old, new) = (chars.next().unwrap(), chars.next().unwrap());
            assert_eq!(standard_form(old).map(|(s, _)| s), Some(new), "{pair}");
            assert_eq!(standard_form(new), None, "{pair}");
        }
        assert_eq!(
            standard_form('囊'),
            Some(('嚢', Rule::KanjiVariantJisRevision))
        );
    }

    /// Every pair of the JIS lists, in a name and in an address, compares as a variant in
    /// both directions (never notation: a different code point is a different character as
    /// far as text can tell).
    #[test]
    fn every_jis_revision_pair_is_a_variant_both_ways_in_names_and_addresses() {
        use crate::domain::{
            MatchClass,
            fields::{address, kanji_name},
        };
        for &(a, b) in JIS_REVISION_PAIRS {
            let (name_a, name_b) = (format!("{a}田 花子"), format!("{b}田 花子"));
            let (place_a, place_b) = (
                format!("東京都千代田区{a}町1-2-3"),
                format!("東京都千代田区{b}町1-2-3"),
            );
            for (x, y) in [(&name_a, &name_b), (&name_b, &name_a)] {
                let class = kanji_name::compare(x, y).class;
                assert_eq!(class, MatchClass::Variant, "U+{:04X}", a as u32);
            }
            for (x, y) in [(&place_a, &place_b), (&place_b, &place_a)] {
                let class = address::compare(x, y).class;
                assert_eq!(class, MatchClass::Variant, "U+{:04X}", a as u32);
            }
        }
    }

    /// Characters of the JIS X 0213:2004 glyph list that have a related character of their own
    /// in Unicode, written apart by people: never folded (build.rs says why).
    #[test]
    fn related_characters_of_the_2004_glyph_list_stay_apart() {
        for (a, b) in [
            ("瀕", "濱"),
            ("瀕", "浜"),
            ("槌", "椎"),
            ("鎚", "錘"),
            ("薯", "藷"),
            ("歎", "嘆"),
            ("廻", "回"),
            ("淫", "婬"),
            ("甕", "瓮"),
            ("兎", "免"),
            ("辻", "込"),
            ("箸", "著"),
        ] {
            assert_ne!(fold(a), fold(b), "{a} {b}");
        }
    }

    #[test]
    fn every_reviewed_pair_folds_together() {
        for pairs in [EQUAL_RANK_PAIRS, OVERRIDE_PAIRS, JIS_REVISION_PAIRS] {
            for &(a, b) in pairs {
                let (fa, fb) = (fold(&a.to_string()), fold(&b.to_string()));
                assert_eq!(fa, fb, "U+{:04X} U+{:04X}", a as u32, b as u32);
            }
        }
        assert!(EQUAL_RANK_PAIRS.len() >= 120 && JIS_REVISION_PAIRS.len() >= 68);
    }

    #[test]
    fn a_pair_from_the_jis_revisions_names_its_own_rule() {
        assert_eq!(
            standard_form('驒'),
            Some(('騨', Rule::KanjiVariantJisRevision))
        );
        assert_eq!(
            standard_form('礪'),
            Some(('砺', Rule::KanjiVariantJisRevision))
        );
        assert_eq!(standard_form('騨'), None);
    }

    /// Characters that place-name search conflates but that are different in a person's name.
    #[test]
    fn characters_place_name_search_conflates_stay_apart() {
        for (a, b) in [
            ("斎", "斉"),
            ("埼", "崎"),
            ("阪", "坂"),
            ("佐", "左"),
            ("洲", "州"),
            ("舟", "船"),
            ("齋", "齊"),
            ("宍", "肉"),
            ("杯", "盃"),
            ("燗", "爛"),
            ("切", "功"),
            ("着", "著"),
            ("桅", "梔"),
        ] {
            assert_ne!(fold(a), fold(b), "{a} {b}");
        }
    }

    #[test]
    fn compatibility_ideographs_with_a_decomposition_are_their_unified_ideograph() {
        assert_eq!(compatibility('\u{F9A8}'), Some('令'));
        assert_eq!(compatibility('\u{FA10}'), Some('塚'));
        assert_eq!(compatibility('\u{2F800}'), Some('丽'));
        for c in ['令', '崎', '高', 'A', 'ア'] {
            assert_eq!(compatibility(c), None, "{c}");
        }
        // The twelve unified ideographs of the block have no decomposition; 﨑 is a variant.
        let unified: Vec<char> = ('\u{F900}'..='\u{FAFF}')
            .filter(|&c| compatibility(c).is_none())
            .filter(|&c| ('\u{FA0E}'..='\u{FA29}').contains(&c))
            .collect();
        assert_eq!(
            unified,
            [
                '﨎', '﨏', '﨑', '﨓', '﨔', '﨟', '﨡', '﨣', '﨤', '﨧', '﨨', '﨩'
            ]
        );
        assert_eq!(standard_form('﨑'), Some(('崎', Rule::KanjiVariantMoj)));
        // Every decomposing one is left to this rule, never to the variant table.
        for c in ('\u{F900}'..='\u{FAFF}').chain('\u{2F800}'..='\u{2FA1F}') {
            if compatibility(c).is_some() {
                assert_eq!(standard_form(c), None, "U+{:04X}", c as u32);
            }
        }
    }

    #[test]
    fn new_forms_are_not_mapped_back_to_old_forms() {
        for c in ['真', '徳', '寿', '麦', '辺', '高', '崎'] {
            assert_eq!(standard_form(c), None, "{c}");
        }
    }

    #[test]
    fn the_fast_reject_bits_agree_with_the_table() {
        for code in 0x3400..0x1_0000u32 {
            let Some(c) = char::from_u32(code) else {
                continue;
            };
            let in_table = KANJI_VARIANTS
                .binary_search_by_key(&c, |&(v, _, _)| v)
                .is_ok();
            assert_eq!(standard_form(c).is_some(), in_table, "U+{code:04X}");
        }
    }

    #[test]
    fn the_table_is_sorted_and_has_no_chains() {
        assert!(KANJI_VARIANTS.windows(2).all(|w| w[0].0 < w[1].0));
        for &(_, standard, _) in KANJI_VARIANTS {
            assert_eq!(
                standard_form(standard),
                None,
                "chain at U+{:04X}",
                standard as u32
            );
        }
        assert!(table_len() > 1000);
    }
}
