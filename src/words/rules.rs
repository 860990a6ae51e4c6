//! Each folding rule explained in a sentence, by its stable id.

use super::Lang;

/// What folding rule `id` did, in a sentence; `None` for an id this release does not know
/// (a rule retired since the event was written).
pub fn rule(id: &str, lang: Lang) -> Option<&'static str> {
    Some(match id {
        "width" => lang.pick(
            "全角・半角の違いを同じとみなしました。",
            "Full- and half-width forms taken as the same.",
        ),
        "space" => lang.pick(
            "空白や区切り（・）を無視しました。",
            "Spaces and separators (・) ignored.",
        ),
        "latin.case" => lang.pick(
            "英字の大文字・小文字を区別しませんでした。",
            "Latin letters compared without case.",
        ),
        "kana.script" => lang.pick(
            "ひらがなをカタカナとして比べました。",
            "Hiragana compared as katakana.",
        ),
        "hyphen" => lang.pick(
            "長音やハイフンの似た記号を同じとみなしました。",
            "Long-vowel and hyphen look-alikes unified.",
        ),
        "date.format" => lang.pick(
            "同じ日付の書き方の違いです（1975/1/1 と 1975年1月1日 など）。",
            "Different spellings of the same day.",
        ),
        "date.era" => lang.pick(
            "和暦と西暦（または元号の書き方）の違いで、同じ日です。",
            "Japanese era and Gregorian spellings of the same day.",
        ),
        "sex.code" => lang.pick(
            "性別の書き方の違いです（1 と 男 など）。",
            "Different spellings of the same sex code (1 and 男 …).",
        ),
        "address.numbers" => lang.pick(
            "丁目・番地・号とハイフン、漢数字と算用数字の違いです。",
            "Address numbers: 丁目/番地/号 against hyphens, kanji against arabic digits.",
        ),
        "kana.small" => lang.pick(
            "小書きカナ（ョ・ッ）を大きいカナとして比べました。",
            "Small kana (ョ, ッ) compared as large.",
        ),
        "kana.ji_zu" => lang.pick(
            "ヂとジ、ヅとズを同じとみなしました。",
            "ヂ/ジ and ヅ/ズ taken as the same.",
        ),
        "kana.obsolete" => lang.pick(
            "ヲ・ヰ・ヱ をオ・イ・エとして比べました。",
            "ヲ, ヰ, ヱ compared as オ, イ, エ.",
        ),
        "kana.vu" => lang.pick("ヴをバ行として比べました。", "ヴ compared as the バ row."),
        "kanji.variant.mj.jis" => lang.pick(
            "異体字（JIS の包摂規準）を同じ字とみなしました。",
            "Variant kanji under the JIS scheme taken as the same character.",
        ),
        "kanji.variant.mj.moj" => lang.pick(
            "異体字（法務省通達の縮退）を同じ字とみなしました（邊と辺など）。",
            "Variant kanji under the Ministry of Justice scheme (邊 and 辺 …).",
        ),
        "kanji.variant.jis_revision" => lang.pick(
            "JIS 規格の改正で入れ替わった・簡略化された字形（濤と涛、鷗と鴎など）を同じ字とみなしました。",
            "Forms that a JIS X 0208/0213 revision swapped or simplified (濤/涛, 鷗/鴎 …) taken as the same character.",
        ),
        "kanji.compatibility" => lang.pick(
            "互換漢字（令 U+F9A8 など）を統合漢字として比べました。字は同じです。",
            "A CJK compatibility ideograph compared as its unified ideograph: the same character.",
        ),
        "kana.not_recorded" => lang.pick(
            "J-LIS の記録にフリガナがまだ記載されていません（＊や空欄）。不一致ではありません。",
            "J-LIS has no reading recorded yet (asterisks or empty): not a mismatch.",
        ),
        "kanji.iteration" => lang.pick(
            "々 と繰り返す漢字を同じとみなしました（佐々木と佐佐木）。",
            "々 taken as the kanji it repeats.",
        ),
        "kana.iteration" => lang.pick(
            "ゝゞヽヾ と繰り返すかなを同じとみなしました。",
            "Kana iteration marks taken as the kana they repeat.",
        ),
        "kanji.variation_selector" => lang.pick(
            "字形を選ぶ異体字セレクタを無視しました。",
            "An ideographic variation selector ignored.",
        ),
        "wildcard" => lang.pick(
            "外字の代替記号（●・〓）を任意の1文字とみなしました。",
            "A substitute mark (●, 〓) matched one character.",
        ),
        "address.ke" => lang.pick(
            "地名のケ・ヶ・ガ・が を同じとみなしました。",
            "ケ/ヶ/ガ/が in place names taken as the same.",
        ),
        "address.no" => lang.pick(
            "地名の之・ノ・の を同じとみなしました。",
            "之/ノ/の in place names taken as the same.",
        ),
        "address.aza" => lang.pick(
            "大字・字の有無を無視しました。",
            "大字/字 present on one side only.",
        ),
        "address.county" => lang.pick("郡の省略を無視しました。", "郡 omitted on one side."),
        "address.building" => lang.pick(
            "建物名・部屋番号（方書）の有無を無視しました。",
            "Building and room present on one side only.",
        ),
        "address.prefecture" => lang.pick(
            "都道府県の省略を無視しました（残りで特定できる場合）。",
            "Prefecture omitted where the rest names it.",
        ),
        "address.cho" => lang.pick(
            "「目」のない「丁」（堺市の二丁など）の前の漢数字と算用数字の違いです。",
            "A number before 丁 without 目 (as in Sakai), in kanji against arabic digits.",
        ),
        "address.town_number" => lang.pick(
            "町名の一部の数字（十二番丁・一ノ町など）の漢数字と算用数字の違いです。",
            "A number that is part of a town name (十二番丁, 一ノ町), in kanji against arabic digits.",
        ),
        "address.formal_numerals" => lang.pick(
            "大字の数字（壱・弐・参・拾）を数字として読みました。",
            "Formal numerals (壱, 弐, 参, 拾) read as numbers.",
        ),
        "address.inner_aza" => lang.pick(
            "小字の前の「字」の有無を無視しました。",
            "A 字 before a minor district (小字) written on one side only.",
        ),
        "address.street_direction" => lang.pick(
            "京都の通り名の送り仮名の違いです（上る・上ル・上がる、西入・西入ル、通り・通 など）。方角と通り名は比べています。",
            "The okurigana of a Kyoto street part (上る/上ル/上がる, 西入/西入ル, 通り/通 …); the direction and the streets are compared.",
        ),
        "address.tsu" => lang.pick(
            "地名の漢字の間のツ・ッ・つの違いを同じとみなしました（四ツ谷と四ッ谷など）。",
            "ツ/ッ/つ between kanji in place names taken as the same (四ツ谷 and 四ッ谷 …).",
        ),
        "address.postcode" => lang.pick(
            "住所の前の郵便番号（〒100-8926 など）の有無を無視しました。",
            "A postal code (〒100-8926) before the address on one side only.",
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Rule;

    #[test]
    fn every_rule_of_the_domain_is_explained_in_both_languages() {
        for r in Rule::ALL {
            assert!(rule(r.id(), Lang::Ja).is_some(), "{}", r.id());
            assert!(rule(r.id(), Lang::En).is_some(), "{}", r.id());
        }
        assert_eq!(rule("no.such.rule", Lang::Ja), None);
    }
}
