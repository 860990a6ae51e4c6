//! Property tests of the name folds and the gate, over generated Japanese-looking text and
//! arbitrary Unicode. (The birth date and address modules carry their own.)

use proptest::prelude::*;

use crate::domain::{
    MatchClass, RuleSet,
    compare::{PreparedRecord, Record},
    fields::{kana_name, kanji_name},
    gate::{Candidate, Case, DecisionKind, decide, decide_prepared},
    number::IndividualNumber,
    policy::Policy,
};

/// Kanji names mixing standard and variant characters, spaces and substitutes.
fn kanji_name_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop::sample::select(vec![
            '山', '田', '高', '髙', '橋', '崎', '﨑', '辺', '邊', '邉', '斎', '齋', '齊', '斉',
            '吉', '𠮷', '智', '知', '子', '太', '郎', '朗', '沢', '澤', ' ', '　', '●', '〓', 'A',
            'a', 'Ｂ', '祢', '禰', '礪', '砺', '驒', '騨', '鬱', '欝', '砿', '礦', '鉱', '埼',
            '阪', '坂', '宍', '肉', '令', '\u{F9A8}',
        ]),
        0..8,
    )
    .prop_map(|v| v.into_iter().collect())
}

/// Kana names in every script and width, with small kana and look-alike long vowels.
fn kana_name_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop::sample::select(vec![
            "ア", "ァ", "ヤ", "ャ", "ヨ", "ョ", "ツ", "ッ", "ジ", "ヂ", "ズ", "ヅ", "オ", "ヲ",
            "ブ", "ヴ", "ー", "－", "ｰ", "ｼ", "ｮ", "ﾀﾞ", "ﾊﾟ", "か", "が", "ぱ", "ゃ", " ", "　",
            "・", "ィ",
        ]),
        0..8,
    )
    .prop_map(|v| v.concat())
}

fn fold_all(fold: crate::domain::text::folding::FoldFn, s: &str) -> String {
    let all = RuleSet::from_iter(crate::domain::Rule::ALL.iter().copied());
    let mut out = String::new();
    fold(s, all, &mut out);
    out
}

proptest! {
    #[test]
    fn kanji_folding_is_idempotent(s in kanji_name_text()) {
        let once = fold_all(kanji_name::fold, &s);
        prop_assert_eq!(fold_all(kanji_name::fold, &once), once);
    }

    #[test]
    fn kana_folding_is_idempotent(s in kana_name_text()) {
        let once = fold_all(kana_name::fold, &s);
        prop_assert_eq!(fold_all(kana_name::fold, &once), once);
    }

    #[test]
    fn name_comparison_is_symmetric(a in kanji_name_text(), b in kanji_name_text(), c in kana_name_text(), d in kana_name_text()) {
        prop_assert_eq!(kanji_name::compare(&a, &b), kanji_name::compare(&b, &a));
        prop_assert_eq!(kana_name::compare(&c, &d), kana_name::compare(&d, &c));
    }

    #[test]
    fn a_name_compared_with_itself_is_exact_unless_empty(a in kanji_name_text(), c in kana_name_text()) {
        for got in [kanji_name::compare(&a, &a).class, kana_name::compare(&c, &c).class] {
            prop_assert!(matches!(got, MatchClass::Exact | MatchClass::Missing));
        }
    }

    #[test]
    fn spacing_and_script_changes_are_at_worst_notation(c in kana_name_text()) {
        // Hiragana ⇄ katakana and inserted spaces never lose information.
        let hira: String = c.chars().map(|ch| match ch {
            'ァ'..='ヶ' => char::from_u32(ch as u32 - 0x60).unwrap(),
            _ => ch,
        }).collect();
        let spaced = format!(" {hira}　");
        let got = kana_name::compare(&c, &spaced);
        prop_assert!(got.class <= MatchClass::Notation || got.class == MatchClass::Missing, "{:?}", got);
    }

    #[test]
    fn arbitrary_unicode_never_panics(a in "\\PC{0,24}", b in "\\PC{0,24}") {
        let _ = kanji_name::compare(&a, &b);
        let _ = kana_name::compare(&a, &b);
        let _ = crate::domain::fields::sex::compare(&a, &b);
        let record = Record { kanji_name: a.clone(), kana_name: b.clone(), birth_date: a.clone(), sex: b.clone(), address: a.clone() };
        let case = Case {
            declared: record.clone(),
            query: Some(record.clone()),
            candidates: vec![Candidate { record, number: IndividualNumber::parse(&b) }],
            declared_number: Some(IndividualNumber::parse(&a)),
        };
        let _ = decide(&case, &Policy::default());
    }

    #[test]
    fn two_different_sexes_never_pass(a in prop::sample::select(vec!["1", "男", "男性", "M", "male", "１"]), b in prop::sample::select(vec!["2", "女", "女性", "F", "female", "２"])) {
        prop_assert_eq!(crate::domain::fields::sex::compare(a, b).class, MatchClass::Mismatch);
    }

    #[test]
    fn register_always_selects_exactly_one_valid_candidate(a in kanji_name_text(), base in proptest::array::uniform11(0u8..10)) {
        let record = Record { kanji_name: a, kana_name: "ヤマダ".into(), birth_date: "1980-01-01".into(), sex: "1".into(), address: "東京都千代田区千代田1-1".into() };
        let number = IndividualNumber::from_base(base);
        let case = Case { declared: record.clone(), query: Some(record.clone()), candidates: vec![Candidate { record, number: Ok(number) }], declared_number: None };
        let d = decide(&case, &Policy::default());
        match d.kind {
            DecisionKind::Register => prop_assert_eq!(d.selected_candidate, Some(0)),
            _ => prop_assert_eq!(d.selected_candidate, None),
        }
    }

    #[test]
    fn sharing_equal_fields_between_records_decides_as_parsing_each_on_its_own(
        picks in proptest::collection::vec(proptest::array::uniform5(0usize..3), 3..5),
        declared_number in proptest::option::of(0usize..2),
    ) {
        // Three values per field, some the same under notation, so that records share
        // some fields and not others.
        const VALUES: [[&str; 3]; 5] = [
            ["山田 太郎", "山田　太郎", "髙橋 花子"],
            ["ヤマダ タロウ", "ﾔﾏﾀﾞ ﾀﾛｳ", "タカハシ ハナコ"],
            ["1980-01-02", "S55.1.2", "1980-01-03"],
            ["1", "男", "2"],
            ["東京都千代田区千代田1-1", "東京都千代田区千代田一丁目1番", "千代田区千代田1-1-101"],
        ];
        let record = |p: &[usize; 5]| Record {
            kanji_name: VALUES[0][p[0]].into(),
            kana_name: VALUES[1][p[1]].into(),
            birth_date: VALUES[2][p[2]].into(),
            sex: VALUES[3][p[3]].into(),
            address: VALUES[4][p[4]].into(),
        };
        let numbers = [IndividualNumber::from_base([1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]), IndividualNumber::from_base([9; 11])];
        let case = Case {
            declared: record(&picks[0]),
            query: Some(record(&picks[1])),
            candidates: picks[2..].iter().map(|p| Candidate { record: record(p), number: Ok(numbers[0].clone()) }).collect(),
            declared_number: declared_number.map(|i| Ok(numbers[i].clone())),
        };
        let alone = (
            PreparedRecord::new(&case.declared),
            case.query.as_ref().map(PreparedRecord::new),
            case.candidates.iter().map(|c| PreparedRecord::new(&c.record)).collect::<Vec<_>>(),
        );
        let policy = Policy::default();
        prop_assert_eq!(
            decide(&case, &policy),
            decide_prepared(&case, &alone.0, alone.1.as_ref(), &alone.2, &policy)
        );
    }
}
