//! Address comparison: properties over generated addresses.

use super::super::*;
use crate::domain::MatchClass::{Exact, Mismatch, Missing, Notation};
use proptest::prelude::*;

const TOWNS: &[&str] = &[
    "東京都新宿区西新宿",
    "東京都千代田区霞が関",
    "北海道札幌市中央区北1条西",
    "福島県伊達郡川俣町大字鶴沢字東",
    "東京都千代田区霞が関",
    "北海道札幌市中央区北3条西",
    "京都府京都市中京区烏丸通四条下ル水銀屋町",
    "福島県伊達郡川俣町大字鶴沢字東",
    "神奈川県横浜市中区日本大通",
    "大阪府大阪市北区梅田",
    "東京都港区六本木",
    "東京都三鷹市下連雀",
    "長野県長野市大字鶴賀",
    "新宿区百人町",
];

const BUILDINGS: &[&str] = &[
    "グランドメゾン101号室",
    "都庁第一本庁舎",
    "サンハイツ2F",
    "405",
];

/// 1 ..= 999 in 漢数字, positional (二十四, 百二, 十).
fn kanji(mut n: u32) -> String {
    const DIGITS: [&str; 10] = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    let mut out = String::new();
    for (unit, name) in [(100, "百"), (10, "十")] {
        let d = n / unit;
        if d > 0 {
            if d > 1 {
                out.push_str(DIGITS[d as usize]);
            }
            out.push_str(name);
        }
        n %= unit;
    }
    out.push_str(DIGITS[n as usize]);
    out
}

/// A number block in one of several notations: hyphens or 丁目/番/号, arabic or 漢数字, with or
/// without a trailing 号.
fn block(numbers: &[u32], kanji_digits: bool, units: bool, trailing: bool) -> String {
    // A lone 漢数字 with no unit is a place name, not a number: give it a unit.
    let units = units || (kanji_digits && numbers.len() == 1);
    let mut out = String::new();
    for (i, &n) in numbers.iter().enumerate() {
        if i > 0 {
            out.push_str(match (units, numbers.len(), i) {
                (false, _, _) => "-",
                (true, 2, 1) => "番地",
                (true, _, 1) => "丁目",
                (true, _, 2) => "番",
                (true, _, _) => "号-",
            });
        }
        if kanji_digits {
            out.push_str(&kanji(n))
        } else {
            out.push_str(&n.to_string())
        }
    }
    if (units && numbers.len() == 1) || (trailing && !units) {
        out.push_str(if numbers.len() == 1 { "番地" } else { "号" });
    } else if units && numbers.len() == 3 {
        out.push('号');
    }
    out
}

fn address(town: &str, block: &str, building: Option<&str>) -> String {
    match building {
        Some(b) => format!("{town}{block} {b}"),
        None => format!("{town}{block}"),
    }
}

fn digitish(c: char) -> bool {
    c.is_ascii_digit() || ('０'..='９').contains(&c) || "〇一二三四五六七八九十百千".contains(c)
}

/// Typographic noise: full-width digits, letters and hyphens, hyphen look-alikes, whitespace
/// between characters. Never whitespace inside a number (which would split it) or between 番地,
/// 番 or 号 and a number (where whitespace ends the block and makes the number a room).
fn noisy(s: &str, seed: &[u8]) -> String {
    let mut out = String::new();
    let mut prev: Option<char> = None;
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let r = seed.get(i % seed.len().max(1)).copied().unwrap_or(0);
        let splits_number =
            prev.is_some_and(|p| digitish(p) || matches!(p, '地' | '番' | '号')) && digitish(c);
        if !splits_number && r % 7 == 0 {
            out.push(if r % 2 == 0 { ' ' } else { '\u{3000}' });
        }
        match c {
            '0'..='9' | 'A'..='Z' if r % 3 == 0 => {
                out.push(char::from_u32(c as u32 + 0xFEE0).unwrap_or(c))
            }
            '-' if r % 3 == 0 => out.push(['－', '−', '‐', 'ー', '―'][(r / 3 % 5) as usize]),
            _ => out.push(c),
        }
        prev = Some(c);
    }
    if seed.first().is_some_and(|r| r % 5 == 0) {
        out.push('\u{3000}');
    }
    out
}

/// Information-losing differences that the variant rules accept: a prefecture the municipality
/// names, the 郡, 大字, ヶ for が, an old kanji, the building.
fn lossy(s: &str, seed: &[u8]) -> String {
    let bit = |i: usize| seed.get(i % seed.len().max(1)).is_some_and(|r| r & 1 == 1);
    let mut out = s.to_owned();
    for (i, (from, to)) in [
        ("東京都", ""),
        ("北海道札幌市", "札幌市"),
        ("伊達郡", ""),
        ("大字", ""),
        ("霞が関", "霞ヶ関"),
        ("鶴沢", "鶴澤"),
    ]
    .into_iter()
    .enumerate()
    {
        // A prefecture is dropped only where the municipality names it (三鷹市 is not listed).
        let named = |rest: &str| {
            let chars: Vec<char> = rest.chars().collect();
            super::places::prefecture_of_municipality(&chars).is_some()
        };
        let drop_prefecture = out.strip_prefix(from).is_some_and(named);
        if bit(i) && (i > 1 || drop_prefecture) {
            out = out.replacen(from, to, 1);
        }
    }
    if bit(6) {
        out = out.split(' ').next().unwrap_or_default().to_owned();
    }
    out
}

/// A town, the numbers of its block and maybe a building. A bare room number follows only a
/// block of two or more numbers: after a single number (`西新宿1 405`) it reads as the rest of
/// the lot, not as a room.
fn address_parts() -> impl Strategy<Value = (&'static str, Vec<u32>, Option<&'static str>)> {
    (
        prop::sample::select(TOWNS),
        prop::collection::vec(1u32..=999, 1..=4),
        prop::option::of(prop::sample::select(BUILDINGS)),
    )
        .prop_map(|(town, numbers, building)| {
            let bare_room = numbers.len() == 1 && building == Some("405");
            (
                town,
                numbers,
                if bare_room {
                    Some(BUILDINGS[0])
                } else {
                    building
                },
            )
        })
}

/// Fragments of addresses, to build strings that reach deep into the parser.
const FRAGMENTS: &[&str] = &[
    "東京都",
    "北海道",
    "京都府",
    "新宿区",
    "札幌市",
    "府中市",
    "虻田郡",
    "倶知安町",
    "大字",
    "字",
    "鶴沢",
    "東",
    "西",
    "北",
    "3",
    "１",
    "二",
    "十",
    "百",
    "〇",
    "丁目",
    "番地",
    "番",
    "号",
    "号室",
    "の",
    "ノ",
    "之",
    "ケ",
    "ヶ",
    "が",
    "-",
    "－",
    "ー",
    "ｰ",
    " ",
    "\u{3000}",
    "・",
    "●",
    "〓",
    "澤",
    "沢",
    "髙",
    "グランド",
    "ｸﾞﾗﾝﾄﾞ",
    "101",
    "条",
    "〒",
    "0",
    "123456789012",
    "a",
    "Ａ",
    "\u{3099}",
    "ﾞ",
    "大和郡山市",
    "市",
    "町",
    "村",
];

fn fragments() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FRAGMENTS), 0..14).prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn comparison_is_symmetric_in_class_and_rules(a in fragments(), b in fragments()) {
        prop_assert_eq!(compare(&a, &b), compare(&b, &a));
    }

    #[test]
    fn comparison_of_real_looking_addresses_is_symmetric(
        (town, numbers, building) in address_parts(),
        (town2, numbers2, building2) in address_parts(),
        seed in prop::collection::vec(any::<u8>(), 1..16),
    ) {
        let a = address(town, &block(&numbers, seed[0] % 2 == 0, seed[0] % 3 == 0, false), building);
        let b = noisy(&address(town2, &block(&numbers2, false, seed[0] % 5 == 0, true), building2), &seed);
        prop_assert_eq!(compare(&a, &b), compare(&b, &a));
    }

    #[test]
    fn an_address_with_typographic_noise_is_exact_or_notation(
        (town, numbers, building) in address_parts(),
        kanji_digits: bool,
        units: bool,
        seed in prop::collection::vec(any::<u8>(), 1..16),
    ) {
        let clean = address(town, &block(&numbers, kanji_digits, units, false), building);
        let noisy = noisy(&clean, &seed);
        let c = compare(&clean, &noisy);
        prop_assert!(matches!(c.class, Exact | Notation), "{:?} {} {}", c, clean, noisy);
    }

    #[test]
    fn the_same_numbers_in_any_notation_are_notation(
        (town, numbers, building) in address_parts(),
        styles in (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
    ) {
        let (k1, u1, t1, k2, u2, t2) = styles;
        let a = address(town, &block(&numbers, k1, u1, t1), building);
        let b = address(town, &block(&numbers, k2, u2, t2), building);
        let c = compare(&a, &b);
        prop_assert!(matches!(c.class, Exact | Notation), "{:?} {} {}", c, a, b);
    }

    #[test]
    fn one_different_number_in_the_block_is_always_a_mismatch(
        (town, numbers, building) in address_parts(),
        index in any::<prop::sample::Index>(),
        other in 1u32..=999,
        building_b: bool,
        styles in (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
        seed in prop::collection::vec(any::<u8>(), 1..16),
    ) {
        let mut changed = numbers.clone();
        let i = index.index(numbers.len());
        prop_assume!(changed[i] != other);
        changed[i] = other;
        let (k1, u1, t1, k2, u2, t2) = styles;
        let a = address(town, &block(&numbers, k1, u1, t1), building);
        let b = noisy(&address(town, &block(&changed, k2, u2, t2), building.filter(|_| building_b)), &seed);
        prop_assert_eq!(compare(&a, &b).class, Mismatch, "{} {}", a, b);
    }

    #[test]
    fn an_address_with_lossy_differences_is_never_a_mismatch(
        (town, numbers, building) in address_parts(),
        kanji_digits: bool,
        units: bool,
        seed in prop::collection::vec(any::<u8>(), 1..16),
    ) {
        let clean = address(town, &block(&numbers, kanji_digits, units, false), building);
        let lossy = noisy(&lossy(&clean, &seed), &seed[1..]);
        let c = compare(&clean, &lossy);
        prop_assert!(c.class != Mismatch, "{:?} {} {}", c, clean, lossy);
    }

    #[test]
    fn one_different_number_is_a_mismatch_even_with_lossy_differences(
        (town, numbers, building) in address_parts(),
        index in any::<prop::sample::Index>(),
        other in 1u32..=999,
        styles in (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
        seed in prop::collection::vec(any::<u8>(), 1..16),
    ) {
        let mut changed = numbers.clone();
        let i = index.index(numbers.len());
        prop_assume!(changed[i] != other);
        changed[i] = other;
        let (k1, u1, k2, u2) = styles;
        let a = address(town, &block(&numbers, k1, u1, false), building);
        let b = lossy(&address(town, &block(&changed, k2, u2, true), building), &seed);
        prop_assert_eq!(compare(&a, &b).class, Mismatch, "{} {}", a, b);
    }

    #[test]
    fn arbitrary_text_never_panics(a in any::<String>(), b in any::<String>()) {
        let _ = compare(&a, &b);
        let _ = format!("{:?}", Address::parse(&a));
    }

    #[test]
    fn fragments_never_panic_and_compare_exactly_with_themselves(a in fragments()) {
        let parsed = Address::parse(&a);
        let c = parsed.compare(&parsed);
        let expected = if parsed.is_empty() { Missing } else { Exact };
        prop_assert_eq!(c.class, expected);
    }
}
