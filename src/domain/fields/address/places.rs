//! Prefectures, and the municipalities whose name alone says which prefecture they are in.
//!
//! The municipality table exists for one decision: a form that omits the prefecture
//! (`新宿区西新宿2-8-1`) may still match a registry address that writes it (`東京都新宿区…`), but only
//! when the rest of the address names that prefecture beyond doubt. It holds the 20 designated
//! cities (政令指定都市), the 23 wards of Tokyo, the prefectural capitals that are not designated
//! cities, and the core cities (中核市). Every one of those names is unique nationwide.
//!
//! Deliberately left out: city names that exist in two prefectures (府中市: 東京都 and 広島県; 伊達市:
//! 北海道 and 福島県), and every town and village (町/村), whose names repeat across prefectures
//! (朝日町, 美郷町, 森町 …). A municipality that is not in the table never supplies a prefecture,
//! so such an address compares lower and the gate holds it: a missing entry costs a confirmation,
//! a wrong entry would make two different places equal.
//!
//! Tokyo's wards are listed, except the three whose names are also wards of designated cities
//! (中央区, 北区, 港区: 大阪市北区, 名古屋市港区 …). A form that writes `北区赤羽` has left out
//! both the prefecture and perhaps a city, and the rest does not name the prefecture beyond
//! doubt. The table is only ever matched at the start of the text after the prefecture.

/// The 47 prefectures by name, sorted by UTF-8 bytes for binary search, with their JIS X 0401
/// code (北海道 = 1 … 沖縄県 = 47).
const PREFECTURES: [(&str, u8); 47] = [
    ("三重県", 24),
    ("京都府", 26),
    ("佐賀県", 41),
    ("兵庫県", 28),
    ("北海道", 1),
    ("千葉県", 12),
    ("和歌山県", 30),
    ("埼玉県", 11),
    ("大分県", 44),
    ("大阪府", 27),
    ("奈良県", 29),
    ("宮城県", 4),
    ("宮崎県", 45),
    ("富山県", 16),
    ("山口県", 35),
    ("山形県", 6),
    ("山梨県", 19),
    ("岐阜県", 21),
    ("岡山県", 33),
    ("岩手県", 3),
    ("島根県", 32),
    ("広島県", 34),
    ("徳島県", 36),
    ("愛媛県", 38),
    ("愛知県", 23),
    ("新潟県", 15),
    ("東京都", 13),
    ("栃木県", 9),
    ("沖縄県", 47),
    ("滋賀県", 25),
    ("熊本県", 43),
    ("石川県", 17),
    ("神奈川県", 14),
    ("福井県", 18),
    ("福岡県", 40),
    ("福島県", 7),
    ("秋田県", 5),
    ("群馬県", 10),
    ("茨城県", 8),
    ("長崎県", 42),
    ("長野県", 20),
    ("青森県", 2),
    ("静岡県", 22),
    ("香川県", 37),
    ("高知県", 39),
    ("鳥取県", 31),
    ("鹿児島県", 46),
];

/// Municipalities whose name alone identifies the prefecture, sorted by UTF-8 bytes, with the
/// prefecture code. See the module documentation for what is in and what is deliberately out.
const MUNICIPALITIES: [(&str, u8); 106] = [
    ("いわき市", 7),    // 福島県, core
    ("さいたま市", 11), // 埼玉県, designated
    ("一宮市", 23),     // 愛知県, core
    ("下関市", 35),     // 山口県, core
    ("世田谷区", 13),   // 東京都, ward
    ("中野区", 13),     // 東京都, ward
    ("久留米市", 40),   // 福岡県, core
    ("京都市", 26),     // 京都府, designated
    ("仙台市", 4),      // 宮城県, designated
    ("佐世保市", 42),   // 長崎県, core
    ("佐賀市", 41),     // 佐賀県, capital
    ("倉敷市", 33),     // 岡山県, core
    ("八尾市", 27),     // 大阪府, core
    ("八戸市", 2),      // 青森県, core
    ("八王子市", 13),   // 東京都, core
    ("函館市", 1),      // 北海道, core
    ("前橋市", 10),     // 群馬県, capital
    ("北九州市", 40),   // 福岡県, designated
    ("千代田区", 13),   // 東京都, ward
    ("千葉市", 12),     // 千葉県, designated
    ("台東区", 13),     // 東京都, ward
    ("名古屋市", 23),   // 愛知県, designated
    ("吹田市", 27),     // 大阪府, core
    ("呉市", 34),       // 広島県, core
    ("和歌山市", 30),   // 和歌山県, capital
    ("品川区", 13),     // 東京都, ward
    ("堺市", 27),       // 大阪府, designated
    ("墨田区", 13),     // 東京都, ward
    ("大分市", 44),     // 大分県, capital
    ("大津市", 25),     // 滋賀県, capital
    ("大田区", 13),     // 東京都, ward
    ("大阪市", 27),     // 大阪府, designated
    ("奈良市", 29),     // 奈良県, capital
    ("姫路市", 28),     // 兵庫県, core
    ("宇都宮市", 9),    // 栃木県, capital
    ("宮崎市", 45),     // 宮崎県, capital
    ("富山市", 16),     // 富山県, capital
    ("寝屋川市", 27),   // 大阪府, core
    ("尼崎市", 28),     // 兵庫県, core
    ("山口市", 35),     // 山口県, capital
    ("山形市", 6),      // 山形県, capital
    ("岐阜市", 21),     // 岐阜県, capital
    ("岡山市", 33),     // 岡山県, designated
    ("岡崎市", 23),     // 愛知県, core
    ("川口市", 11),     // 埼玉県, core
    ("川崎市", 14),     // 神奈川県, designated
    ("川越市", 11),     // 埼玉県, core
    ("広島市", 34),     // 広島県, designated
    ("徳島市", 36),     // 徳島県, capital
    ("文京区", 13),     // 東京都, ward
    ("新宿区", 13),     // 東京都, ward
    ("新潟市", 15),     // 新潟県, designated
    ("旭川市", 1),      // 北海道, core
    ("明石市", 28),     // 兵庫県, core
    ("札幌市", 1),      // 北海道, designated
    ("杉並区", 13),     // 東京都, ward
    ("東大阪市", 27),   // 大阪府, core
    ("松山市", 38),     // 愛媛県, capital
    ("松本市", 20),     // 長野県, core
    ("松江市", 32),     // 島根県, capital
    ("板橋区", 13),     // 東京都, ward
    ("枚方市", 27),     // 大阪府, core
    ("柏市", 12),       // 千葉県, core
    ("横浜市", 14),     // 神奈川県, designated
    ("横須賀市", 14),   // 神奈川県, core
    ("水戸市", 8),      // 茨城県, capital
    ("江戸川区", 13),   // 東京都, ward
    ("江東区", 13),     // 東京都, ward
    ("津市", 24),       // 三重県, capital
    ("浜松市", 22),     // 静岡県, designated
    ("渋谷区", 13),     // 東京都, ward
    ("熊本市", 43),     // 熊本県, designated
    ("甲府市", 19),     // 山梨県, capital
    ("盛岡市", 3),      // 岩手県, capital
    ("目黒区", 13),     // 東京都, ward
    ("相模原市", 14),   // 神奈川県, designated
    ("神戸市", 28),     // 兵庫県, designated
    ("福井市", 18),     // 福井県, capital
    ("福山市", 34),     // 広島県, core
    ("福岡市", 40),     // 福岡県, designated
    ("福島市", 7),      // 福島県, capital
    ("秋田市", 5),      // 秋田県, capital
    ("練馬区", 13),     // 東京都, ward
    ("船橋市", 12),     // 千葉県, core
    ("荒川区", 13),     // 東京都, ward
    ("葛飾区", 13),     // 東京都, ward
    ("西宮市", 28),     // 兵庫県, core
    ("豊中市", 27),     // 大阪府, core
    ("豊島区", 13),     // 東京都, ward
    ("豊橋市", 23),     // 愛知県, core
    ("豊田市", 23),     // 愛知県, core
    ("越谷市", 11),     // 埼玉県, core
    ("足立区", 13),     // 東京都, ward
    ("那覇市", 47),     // 沖縄県, capital
    ("郡山市", 7),      // 福島県, core
    ("金沢市", 17),     // 石川県, capital
    ("長崎市", 42),     // 長崎県, capital
    ("長野市", 20),     // 長野県, capital
    ("青森市", 2),      // 青森県, capital
    ("静岡市", 22),     // 静岡県, designated
    ("高崎市", 10),     // 群馬県, core
    ("高松市", 37),     // 香川県, capital
    ("高槻市", 27),     // 大阪府, core
    ("高知市", 39),     // 高知県, capital
    ("鳥取市", 31),     // 鳥取県, capital
    ("鹿児島市", 46),   // 鹿児島県, capital
];

/// The prefecture written at the start of `chars`: its code and its length in characters.
///
/// Only the full official names match (東京都, not 東京): a suffix-less form is left as text and the
/// comparison classifies it lower.
pub(super) fn prefecture_at(chars: &[char]) -> Option<(u8, usize)> {
    // Names are three or four characters and end in 都, 道, 府 or 県: look the name up only at
    // that length, so that an address costs one binary search.
    let len = match chars {
        [_, _, '都' | '道' | '府' | '県', ..] => 3,
        [_, _, _, '県', ..] => 4,
        _ => return None,
    };
    lookup(&PREFECTURES, &chars[..len]).map(|code| (code, len))
}

/// The prefecture that the municipality written at the start of `chars` belongs to, when the
/// municipality is in [`MUNICIPALITIES`].
pub(super) fn prefecture_of_municipality(chars: &[char]) -> Option<u8> {
    // Every name is two to five characters and ends at its first 市 or 区 (tested below): look
    // the name up only at that length.
    let end = chars
        .iter()
        .take(5)
        .position(|&c| matches!(c, '市' | '区'))?;
    lookup(&MUNICIPALITIES, &chars[..=end])
}

/// The code of `name` in a table sorted by name (UTF-8 byte order is code point order).
fn lookup(table: &[(&str, u8)], name: &[char]) -> Option<u8> {
    let i = table
        .binary_search_by(|&(entry, _)| entry.chars().cmp(name.iter().copied()))
        .ok()?;
    Some(table[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefecture_at(s: &str) -> Option<(u8, usize)> {
        super::prefecture_at(&s.chars().collect::<Vec<_>>())
    }

    fn prefecture_of_municipality(s: &str) -> Option<u8> {
        super::prefecture_of_municipality(&s.chars().collect::<Vec<_>>())
    }

    #[test]
    fn the_tables_are_sorted_for_binary_search_and_have_no_duplicates() {
        assert!(PREFECTURES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(MUNICIPALITIES.windows(2).all(|w| w[0].0 < w[1].0));
        let mut codes: Vec<u8> = PREFECTURES.iter().map(|&(_, c)| c).collect();
        codes.sort_unstable();
        assert_eq!(codes, (1..=47).collect::<Vec<u8>>());
        assert!(MUNICIPALITIES.iter().all(|&(_, c)| (1..=47).contains(&c)));
    }

    #[test]
    fn every_municipality_ends_at_its_first_shi_or_ku() {
        for (name, _) in MUNICIPALITIES {
            let first = name.char_indices().find(|&(_, c)| matches!(c, '市' | '区'));
            assert_eq!(
                first.map(|(i, c)| i + c.len_utf8()),
                Some(name.len()),
                "{name}"
            );
            assert!((2..=5).contains(&name.chars().count()), "{name}");
        }
    }

    #[test]
    fn ambiguous_municipalities_are_not_in_the_table() {
        for name in [
            "府中市",
            "伊達市",
            "朝日町",
            "美郷町",
            "森町",
            "中区",
            "南区",
        ] {
            assert_eq!(prefecture_of_municipality(name), None, "{name}");
        }
    }

    #[test]
    fn a_prefecture_is_found_only_by_its_full_name() {
        assert_eq!(prefecture_at("東京都新宿区"), Some((13, 3)));
        assert_eq!(prefecture_at("神奈川県横浜市"), Some((14, 4)));
        assert_eq!(prefecture_at("北海道"), Some((1, 3)));
        assert_eq!(prefecture_at("東京新宿区"), None);
        assert_eq!(prefecture_at("京都市"), None);
        assert_eq!(prefecture_at("東"), None);
        assert_eq!(prefecture_at(""), None);
    }

    #[test]
    fn designated_cities_wards_and_capitals_name_their_prefecture() {
        assert_eq!(prefecture_of_municipality("札幌市中央区"), Some(1));
        assert_eq!(prefecture_of_municipality("さいたま市"), Some(11));
        assert_eq!(prefecture_of_municipality("千代田区霞が関"), Some(13));
        assert_eq!(prefecture_of_municipality("北区赤羽"), None);
        assert_eq!(prefecture_of_municipality("港区芝公園"), None);
        assert_eq!(prefecture_of_municipality("中央区銀座"), None);
        assert_eq!(prefecture_of_municipality("京都市中京区"), Some(26));
        assert_eq!(prefecture_of_municipality("津市"), Some(24));
        assert_eq!(prefecture_of_municipality("津山市"), None);
        assert_eq!(prefecture_of_municipality("北広島市"), None);
    }
}
