//! Synthetic people: pools of names and addresses, and the invented person drawn from them
//! ([`notation`](super::notation) writes them down).
//!
//! Every entry is common enough to be unremarkable and none describes a real person: a name is
//! drawn from one pool, a birthday and lot number at random, and the combination is invented.
//! The pools carry, next to each value, the notation variants the core is meant to fold (old or
//! variant kanji, a small-kana-less legacy reading, a prefecture the municipality implies) and
//! the look-alikes it must not fold (智子/知子, ナカジマ/ナカシマ), so that the generator can produce
//! both registrable and held cases from the same people.

use rand::{Rng, seq::SliceRandom};

use super::dates::Day;
use crate::domain::number::IndividualNumber;

/// A family name.
pub struct Family {
    /// As usually written.
    pub kanji: &'static str,
    /// The reading in katakana.
    pub kana: &'static str,
    /// An old or variant form that registries and forms use for the same name (髙橋 for
    /// 高橋): the core folds it as `variant`.
    pub variant: Option<&'static str>,
    /// Another common reading of the same kanji (ナカシマ for 中島): a different person as far
    /// as the check is concerned.
    pub other_reading: Option<&'static str>,
}

/// A given name.
pub struct Given {
    /// As usually written.
    pub kanji: &'static str,
    /// The reading in katakana.
    pub kana: &'static str,
    /// 1 = male, 2 = female (the public-sector code).
    pub sex: u8,
    /// Different kanji read the same way (知子 for 智子): a different person.
    pub look_alike: Option<&'static str>,
}

/// A town with the prefecture and municipality it is in.
pub struct Town {
    /// 都道府県.
    pub prefecture: &'static str,
    /// 郡 for towns and villages, written by the registry and often dropped on forms.
    pub county: &'static str,
    /// The municipality, with the ward for designated cities (横浜市中区).
    pub municipality: &'static str,
    /// 大字 written by the registry and often dropped on forms; empty when there is none.
    pub oaza: &'static str,
    /// The town (町域).
    pub town: &'static str,
    /// The highest 丁目, or 0 when the town uses 番地 without 丁目 (地番 style).
    pub chome: u8,
    /// Whether the municipality alone names the prefecture (designated cities, Tokyo's wards,
    /// capitals and core cities): only then may a form omit the prefecture and still match.
    pub implies_prefecture: bool,
}

const fn family(
    kanji: &'static str,
    kana: &'static str,
    variant: Option<&'static str>,
    other_reading: Option<&'static str>,
) -> Family {
    Family {
        kanji,
        kana,
        variant,
        other_reading,
    }
}

const fn given(
    kanji: &'static str,
    kana: &'static str,
    sex: u8,
    look_alike: Option<&'static str>,
) -> Given {
    Given {
        kanji,
        kana,
        sex,
        look_alike,
    }
}

const fn town(
    prefecture: &'static str,
    municipality: &'static str,
    town: &'static str,
    chome: u8,
) -> Town {
    Town {
        prefecture,
        county: "",
        municipality,
        oaza: "",
        town,
        chome,
        implies_prefecture: true,
    }
}

/// The most common family names, and a few whose variant forms or second readings are the
/// everyday source of notation differences.
pub const FAMILIES: &[Family] = &[
    family("佐藤", "サトウ", None, None),
    family("鈴木", "スズキ", None, None),
    family("高橋", "タカハシ", Some("髙橋"), None),
    family("田中", "タナカ", None, None),
    family("伊藤", "イトウ", None, None),
    family("渡辺", "ワタナベ", Some("渡邊"), None),
    family("渡辺", "ワタナベ", Some("渡邉"), None),
    family("山本", "ヤマモト", None, None),
    family("中村", "ナカムラ", None, None),
    family("小林", "コバヤシ", None, None),
    family("加藤", "カトウ", None, None),
    family("吉田", "ヨシダ", Some("𠮷田"), None),
    family("山田", "ヤマダ", None, None),
    family("佐々木", "ササキ", None, None),
    family("山口", "ヤマグチ", None, None),
    family("松本", "マツモト", None, None),
    family("井上", "イノウエ", None, None),
    family("木村", "キムラ", None, None),
    family("林", "ハヤシ", None, None),
    family("斎藤", "サイトウ", Some("齋藤"), None),
    family("斉藤", "サイトウ", Some("齊藤"), None),
    family("佐々木", "ササキ", Some("佐佐木"), None),
    family("清水", "シミズ", None, None),
    family("山崎", "ヤマザキ", Some("山﨑"), Some("ヤマサキ")),
    family("森", "モリ", None, None),
    family("池田", "イケダ", None, None),
    family("橋本", "ハシモト", None, None),
    family("阿部", "アベ", None, None),
    family("石川", "イシカワ", None, None),
    family("中島", "ナカジマ", Some("中嶋"), Some("ナカシマ")),
    family("前田", "マエダ", None, None),
    family("小川", "オガワ", None, None),
    family("長谷川", "ハセガワ", None, None),
    family("後藤", "ゴトウ", None, None),
    family("近藤", "コンドウ", None, None),
    family("遠藤", "エンドウ", None, None),
    family("坂本", "サカモト", None, None),
    family("浜田", "ハマダ", Some("濱田"), None),
    family("宮崎", "ミヤザキ", Some("宮﨑"), Some("ミヤサキ")),
    family("沢田", "サワダ", Some("澤田"), None),
    family("桜井", "サクライ", Some("櫻井"), None),
    family("広瀬", "ヒロセ", Some("廣瀬"), None),
    family("角田", "カクタ", None, Some("ツノダ")),
];

/// Given names, with the small kana (ショウ, キョウ) that legacy systems write large.
pub const GIVENS: &[Given] = &[
    given("一郎", "イチロウ", 1, None),
    given("翔太", "ショウタ", 1, None),
    given("大輔", "ダイスケ", 1, None),
    given("健一", "ケンイチ", 1, Some("謙一")),
    given("拓也", "タクヤ", 1, None),
    given("直樹", "ナオキ", 1, Some("尚樹")),
    given("和也", "カズヤ", 1, None),
    given("誠", "マコト", 1, None),
    given("浩", "ヒロシ", 1, Some("博")),
    given("隆", "タカシ", 1, None),
    given("亮", "リョウ", 1, None),
    given("正樹", "マサキ", 1, Some("雅樹")),
    given("雄一", "ユウイチ", 1, None),
    given("蓮", "レン", 1, None),
    given("悠真", "ユウマ", 1, None),
    given("修", "オサム", 1, None),
    given("花子", "ハナコ", 2, None),
    given("智子", "トモコ", 2, Some("知子")),
    given("裕子", "ユウコ", 2, Some("祐子")),
    given("陽子", "ヨウコ", 2, Some("洋子")),
    given("恵子", "ケイコ", 2, Some("啓子")),
    given("美咲", "ミサキ", 2, None),
    given("由美", "ユミ", 2, None),
    given("恭子", "キョウコ", 2, None),
    given("真由美", "マユミ", 2, None),
    given("明美", "アケミ", 2, None),
    given("結衣", "ユイ", 2, None),
    given("陽菜", "ヒナ", 2, None),
    given("さくら", "サクラ", 2, None),
    given("久美子", "クミコ", 2, None),
    given("純子", "ジュンコ", 2, None),
    given("千尋", "チヒロ", 2, None),
];

/// Towns in designated cities, Tokyo's wards and capitals (which imply their prefecture), plus
/// a municipality whose name exists in two prefectures and a 郡/大字 village address.
pub const TOWNS: &[Town] = &[
    town("東京都", "新宿区", "西新宿", 8),
    town("東京都", "世田谷区", "太子堂", 5),
    town("東京都", "練馬区", "豊玉北", 6),
    town("東京都", "渋谷区", "道玄坂", 2),
    town("東京都", "文京区", "本郷", 7),
    town("東京都", "杉並区", "阿佐谷南", 3),
    town("東京都", "大田区", "蒲田", 5),
    town("神奈川県", "横浜市中区", "山下町", 0),
    town("神奈川県", "横浜市港北区", "日吉", 7),
    town("神奈川県", "川崎市中原区", "小杉町", 3),
    town("神奈川県", "相模原市中央区", "中央", 6),
    town("埼玉県", "さいたま市浦和区", "高砂", 4),
    town("千葉県", "千葉市中央区", "富士見", 2),
    town("大阪府", "大阪市北区", "梅田", 3),
    town("大阪府", "大阪市中央区", "大手前", 4),
    town("大阪府", "堺市堺区", "南瓦町", 0),
    town("愛知県", "名古屋市中区", "栄", 5),
    town("愛知県", "名古屋市中村区", "名駅", 5),
    town("福岡県", "福岡市中央区", "天神", 4),
    town("福岡県", "北九州市小倉北区", "京町", 4),
    town("宮城県", "仙台市青葉区", "国分町", 3),
    town("広島県", "広島市中区", "基町", 0),
    town("静岡県", "静岡市葵区", "追手町", 0),
    town("新潟県", "新潟市中央区", "東大通", 2),
    town("岡山県", "岡山市北区", "駅前町", 2),
    town("兵庫県", "神戸市中央区", "加納町", 6),
    town("熊本県", "熊本市中央区", "手取本町", 0),
    town("埼玉県", "川越市", "新富町", 2),
    Town {
        prefecture: "長野県",
        county: "",
        municipality: "長野市",
        oaza: "大字",
        town: "鶴賀",
        chome: 0,
        implies_prefecture: true,
    },
    // 府中市 also exists in 広島県: the prefecture must always be written.
    Town {
        prefecture: "東京都",
        county: "",
        municipality: "府中市",
        oaza: "",
        town: "宮西町",
        chome: 5,
        implies_prefecture: false,
    },
    Town {
        prefecture: "長野県",
        county: "北佐久郡",
        municipality: "軽井沢町",
        oaza: "大字",
        town: "軽井沢",
        chome: 0,
        implies_prefecture: false,
    },
];

/// Building names appended by some sources and not others (方書).
pub const BUILDINGS: &[&str] = &[
    "メゾン緑が丘",
    "グランドハイツ",
    "サンライズマンション",
    "コーポ桜",
    "パークレジデンス",
    "ハイム青葉",
];

/// An invented person: a name from the pools, a random birthday, town, block and number.
pub struct Person {
    /// The family name.
    pub family: &'static Family,
    /// The given name, which also gives the sex.
    pub given: &'static Given,
    /// The birthday.
    pub birth: Day,
    /// Where the person lives.
    pub town: &'static Town,
    /// 丁目, 番, 号 — or 番地 and its sub-number (0 for none) in a town without 丁目.
    pub block: [u32; 3],
    /// Building and room (方書), written by some sources only.
    pub building: Option<(&'static str, u32)>,
    /// The individual number, with a valid check digit.
    pub number: IndividualNumber,
}

impl Person {
    /// Someone new from the pools.
    pub fn random(rng: &mut impl Rng) -> Person {
        Self::random_with(rng, |_| true, |_| true)
    }

    /// Someone new whose names pass the filters (hold cases need a look-alike or a second
    /// reading).
    pub fn random_with(
        rng: &mut impl Rng,
        family: impl Fn(&Family) -> bool,
        given: impl Fn(&Given) -> bool,
    ) -> Person {
        let family = loop {
            let f = FAMILIES.choose(rng).expect("families");
            if family(f) {
                break f;
            }
        };
        let given = loop {
            let g = GIVENS.choose(rng).expect("given names");
            if given(g) {
                break g;
            }
        };
        let town = TOWNS.choose(rng).expect("towns");
        Person {
            family,
            given,
            birth: Day::random(rng),
            town,
            block: random_block(town, rng),
            building: rng.gen_bool(0.2).then(|| {
                let building = BUILDINGS.choose(rng).expect("buildings");
                (
                    *building,
                    rng.gen_range(1..=12) * 100 + rng.gen_range(1..=9),
                )
            }),
            number: random_number(rng),
        }
    }

    /// The same person; `IndividualNumber` is deliberately not `Copy`.
    pub fn duplicate(&self) -> Person {
        Person {
            number: self.number.clone(),
            ..*self
        }
    }
}

/// A valid synthetic number from random base digits.
pub fn random_number(rng: &mut impl Rng) -> IndividualNumber {
    IndividualNumber::from_base(std::array::from_fn(|_| rng.gen_range(0..10)))
}

/// A block in `town`: 丁目, 番, 号, or 番地 and an optional sub-number.
pub fn random_block(town: &Town, rng: &mut impl Rng) -> [u32; 3] {
    if town.chome == 0 {
        [
            rng.gen_range(1..=2_000),
            if rng.gen_bool(0.6) {
                rng.gen_range(1..=20)
            } else {
                0
            },
            0,
        ]
    } else {
        [
            rng.gen_range(1..=u32::from(town.chome)),
            rng.gen_range(1..=30),
            rng.gen_range(1..=25),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{MatchClass, fields};
    use crate::synthetic::notation::{has_small_kana, without_small_kana};

    #[test]
    fn every_variant_family_name_is_a_variant_for_the_core_and_every_look_alike_is_not() {
        for f in FAMILIES {
            if let Some(v) = f.variant {
                let c = fields::kanji_name::compare(f.kanji, v);
                assert_eq!(c.class, MatchClass::Variant, "family name {:?}", c.rules);
            }
            if let Some(r) = f.other_reading {
                assert_eq!(
                    fields::kana_name::compare(f.kana, r).class,
                    MatchClass::Mismatch
                );
            }
        }
        for g in GIVENS {
            if let Some(l) = g.look_alike {
                assert_eq!(
                    fields::kanji_name::compare(g.kanji, l).class,
                    MatchClass::Mismatch
                );
            }
            if has_small_kana(g.kana) {
                let c = fields::kana_name::compare(g.kana, &without_small_kana(g.kana));
                assert_eq!(c.class, MatchClass::Variant);
            }
        }
    }
}
