use super::*;
use MatchClass::{Exact, Mismatch, Missing, Notation as Not, Unparseable as Unp};
use Rule::{
    DateEra as Era_, DateFormat as Fmt, Hyphen, KanjiCompatibility, LatinCase, Space, Width,
};
use proptest::prelude::*;

/// (a, b, class, rules). Every case is also checked with the sides swapped.
const CASES: &[(&str, &str, MatchClass, &[Rule])] = &[
    // exact
    ("1975-01-01", "1975-01-01", Exact, &[]),
    ("昭和50年1月1日", "昭和50年1月1日", Exact, &[]),
    ("S50.1.1", "S50.1.1", Exact, &[]),
    ("3500101", "3500101", Exact, &[]),
    ("１９７５年１月１日", "１９７５年１月１日", Exact, &[]),
    // Gregorian spellings
    ("1975-01-01", "1975/1/1", Not, &[Fmt]),
    ("1975-01-01", "1975.1.1", Not, &[Fmt]),
    ("1975-01-01 00:00:00", "1975-01-01", Not, &[Fmt]),
    ("1975/1/1 0:00", "昭和50年1月1日", Not, &[Era_, Fmt]),
    ("1975-01-01T00:00:00.000Z", "1975-01-01", Not, &[Fmt]),
    ("1975-01-01 12:00:00", "1975-01-01", Unp, &[]),
    ("1975-01-01 00:00:01", "1975-01-01", Unp, &[]),
    ("00:00:00", "1975-01-01", Unp, &[]),
    ("1975-01-01", "19750101", Not, &[Fmt]),
    ("1975-01-01", "1975年1月1日", Not, &[Fmt]),
    ("1975-01-01", "1975-1-1", Not, &[Fmt]),
    ("1975年01月01日", "1975年1月1日", Not, &[Fmt]),
    ("一九七五年一月一日", "1975年1月1日", Not, &[Fmt]),
    ("1975/4/30", "1975-04-30", Not, &[Fmt]),
    // the same era, another spelling of the numbers
    ("昭和50年1月1日", "昭和五十年一月一日", Not, &[Fmt]),
    ("昭和50年12月31日", "昭和五十年十二月三十一日", Not, &[Fmt]),
    ("昭和50年10月20日", "昭和五〇年一〇月二〇日", Not, &[Fmt]),
    ("S50.1.1", "S50/1/1", Not, &[Fmt]),
    ("平成元年1月8日", "平成1年1月8日", Not, &[Fmt]),
    // era against Gregorian, and era spellings
    ("昭和50年1月1日", "1975-01-01", Not, &[Era_]),
    ("昭和50年1月1日", "S50.1.1", Not, &[Era_]),
    ("昭和50年1月1日", "3500101", Not, &[Era_]),
    ("S50.1.1", "昭50/1/1", Not, &[Era_]),
    ("昭50.1.1", "1975/1/1", Not, &[Era_]),
    ("S50年1月1日", "昭和50年1月1日", Not, &[Era_]),
    ("H1.1.8", "1989-01-08", Not, &[Era_]),
    ("平成元年1月8日", "H1.1.8", Not, &[Era_]),
    ("4310430", "H31.4.30", Not, &[Era_]),
    ("2140101", "大正14年1月1日", Not, &[Era_]),
    ("1120101", "明治12年1月1日", Not, &[Era_]),
    ("明治6年1月1日", "1873-01-01", Not, &[Era_]),
    // era boundaries: both labels of 1912-07-30 and 1926-12-25, last and first days
    ("M45.7.29", "1912-07-29", Not, &[Era_]),
    ("T1.7.30", "明治45年7月30日", Not, &[Era_]),
    ("大正元年7月30日", "1912-07-30", Not, &[Era_]),
    ("大正15年12月25日", "昭和元年12月25日", Not, &[Era_]),
    ("S1.12.25", "1926/12/25", Not, &[Era_]),
    ("昭和64年1月7日", "1989-01-07", Not, &[Era_]),
    ("平成31年4月30日", "2019-04-30", Not, &[Era_]),
    ("令和元年5月1日", "2019-05-01", Not, &[Era_]),
    ("令和元年5月1日", "R1.5.1", Not, &[Era_]),
    ("令和元年5月1日", "5010501", Not, &[Era_]),
    ("r01.05.01", "5010501", Not, &[Era_]),
    // era names as one square character, and a compatibility ideograph 令 (U+F9A8)
    ("㍻元年1月8日", "平成元年1月8日", Not, &[Era_]),
    ("㍼50年1月1日", "1975-01-01", Not, &[Era_]),
    ("㍽15年12月25日", "大正15年12月25日", Not, &[Era_]),
    ("㍾45年7月29日", "M45.7.29", Not, &[Era_]),
    ("㋿1年5月1日", "令和元年5月1日", Not, &[Era_]),
    (
        "\u{F9A8}和2年1月1日",
        "令和2年1月1日",
        Not,
        &[KanjiCompatibility],
    ),
    (
        "\u{F9A8}和2年1月1日",
        "R2.1.1",
        Not,
        &[KanjiCompatibility, Era_],
    ),
    ("㍻2年1月8日", "平成元年1月8日", Mismatch, &[]),
    ("㍼50年1月1日", "㍻50年1月1日", Unp, &[]),
    ("㍻31年5月1日", "2019-05-01", Unp, &[]),
    ("㋿1年4月30日", "2019-04-30", Unp, &[]),
    // dates as people write them (issue 28)
    ("西暦2023年1月1日", "2023-01-01", Not, &[Fmt]),
    (
        "西暦 1975年1月1日",
        "昭和50年1月1日",
        Not,
        &[Space, Fmt, Era_],
    ),
    ("西暦昭和50年1月1日", "昭和50年1月1日", Unp, &[]),
    ("西暦", "1975-01-01", Unp, &[]),
    ("昭和45年 1/1", "昭和45年1月1日", Not, &[Space, Fmt]),
    ("昭和45年1/1", "1970-01-01", Not, &[Era_]),
    ("昭和45年1/2", "1970-01-01", Mismatch, &[]),
    ("1 9 2 8 年 3 月 4 日", "1928年3月4日", Not, &[Space]),
    (
        "１ ９ ２ ８年３月４日",
        "1928-03-04",
        Not,
        &[Width, Space, Fmt],
    ),
    ("昭和5 0年1月1日", "S50.1.1", Not, &[Space, Era_]),
    ("1 9 2 8 年 3 月 4 日", "1929年3月4日", Mismatch, &[]),
    ("1 975年1月1日", "1975年1月1日", Unp, &[]),
    ("1 9 75年1月1日", "1975年1月1日", Unp, &[]),
    ("2018/1/2(火)", "2018-01-02", Not, &[Fmt]),
    ("2018/1/2 （火曜日）", "H30.1.2", Not, &[Fmt, Era_]),
    ("平成30年1月2日(火曜)", "2018/1/2", Not, &[Fmt, Era_]),
    ("2018/1/2(水)", "2018-01-02", Unp, &[]),
    ("2018/1/3(火)", "2018-01-03", Unp, &[]),
    ("2018/1(火)", "2018-01-02", Unp, &[]),
    ("(火)", "2018-01-02", Unp, &[]),
    ("昭和50年元日", "1975-01-01", Not, &[Era_]),
    ("2023年元日", "2023年1月1日", Not, &[Fmt]),
    ("昭和50年3月朔日", "昭和50年3月1日", Not, &[Fmt]),
    ("昭和50年4月晦日", "1975-04-30", Not, &[Era_]),
    ("昭和50年大晦日", "1975-12-31", Not, &[Era_]),
    ("昭和50年元日", "1975-01-02", Mismatch, &[]),
    ("昭和50年3月朔日", "1975-03-02", Mismatch, &[]),
    ("昭和50年3月晦日", "1975-03-31", Unp, &[]),
    ("昭和50年3月晦日", "1975-03-30", Unp, &[]),
    ("昭和50年2月晦日", "1975-02-28", Unp, &[]),
    ("昭和50年大晦日", "1975-12-30", Mismatch, &[]),
    // days that are not on the calendar never match, not even themselves
    ("昭和44年2月30日", "昭和44年2月30日", Unp, &[]),
    ("2026-02-30", "2026-02-30", Unp, &[]),
    ("1969-02-29", "1969-02-29", Unp, &[]),
    ("昭和50年2月29日", "1975-02-29", Unp, &[]),
    ("平成元年2月30日", "H1.2.30", Unp, &[]),
    ("1975/4/31", "1975-04-31", Unp, &[]),
    ("3440230", "3440230", Unp, &[]),
    ("1900-02-29", "1900-02-29", Unp, &[]),
    ("令和8年6月31日", "令和8年6月31日", Unp, &[]),
    // leap days that exist
    ("2000-02-29", "平成12年2月29日", Not, &[Era_]),
    ("昭和51年2月29日", "1976/2/29", Not, &[Era_]),
    // Latin case, width, whitespace, hyphen look-alikes
    ("s50/01/01", "S50/01/01", Not, &[LatinCase]),
    ("s50.1.1", "S50/1/1", Not, &[LatinCase, Fmt]),
    ("１９７５－０１－０１", "1975-01-01", Not, &[Width]),
    ("Ｓ５０．１．１", "S50.1.1", Not, &[Width]),
    ("１９７５年１月１日", "1975-01-01", Not, &[Width, Fmt]),
    (" 1975-01-01\u{3000}", "1975-01-01", Not, &[Space]),
    ("昭和 50年 1月 1日", "昭和50年1月1日", Not, &[Space]),
    (
        "昭和\u{3000}五十年\u{3000}一月\u{3000}一日",
        "1975/1/1",
        Not,
        &[Space, Era_],
    ),
    ("1975ー01ー01", "1975-01-01", Not, &[Hyphen]),
    // mismatches
    ("1975-01-01", "1975-01-02", Mismatch, &[]),
    ("1975-01-02", "1975-02-01", Mismatch, &[]),
    ("1975-01-01", "1976-01-01", Mismatch, &[]),
    ("昭和50年1月1日", "昭和51年1月1日", Mismatch, &[]),
    ("S50.1.1", "H7.1.1", Mismatch, &[]),
    ("3500101", "3500102", Mismatch, &[]),
    ("1975-02-29", "1975-03-01", Unp, &[]),
    ("昭和50年2月29日", "1975-03-01", Unp, &[]),
    ("1912-07-30", "1912-07-31", Mismatch, &[]),
    // missing wins over everything else
    ("", "1975-01-01", Missing, &[]),
    ("\u{3000} ", "昭和50年1月1日", Missing, &[]),
    ("", "", Missing, &[]),
    ("", "不詳", Missing, &[]),
    ("\t", "1975-13-01", Missing, &[]),
    // unknown parts never match, not even themselves
    ("昭和50年月日不詳", "昭和50年月日不詳", Unp, &[]),
    ("1975年月日不詳", "1975年月日不詳", Unp, &[]),
    ("年月日不詳", "1975-01-01", Unp, &[]),
    ("不詳", "不詳", Unp, &[]),
    ("昭和50年1月上旬", "昭和50年1月上旬", Unp, &[]),
    ("昭和50年1月下旬", "1975-01-25", Unp, &[]),
    ("昭和50年頃", "1975-01-01", Unp, &[]),
    ("1975年1月頃", "1975年1月頃", Unp, &[]),
    ("推定昭和50年", "推定昭和50年", Unp, &[]),
    ("昭和50年1月日不詳", "1975-01-01", Unp, &[]),
    ("1975-01-01", "昭和50年1月", Unp, &[]),
    // outside the era, lunisolar, or not a date
    ("昭和64年1月8日", "1989-01-08", Unp, &[]),
    ("平成31年5月1日", "2019-05-01", Unp, &[]),
    ("大正1年7月29日", "1912-07-29", Unp, &[]),
    ("明治45年7月31日", "1912-07-31", Unp, &[]),
    ("昭和元年12月24日", "1926-12-24", Unp, &[]),
    ("3640108", "3640108", Unp, &[]),
    ("平成31年4月31日", "2019-04-31", Unp, &[]),
    ("明治5年1月1日", "1872-01-01", Unp, &[]),
    ("1872-12-31", "1872-12-31", Unp, &[]),
    ("昭和0年1月1日", "1925-01-01", Unp, &[]),
    ("1975-13-01", "1975-13-01", Unp, &[]),
    ("1975-01-32", "1975-02-01", Unp, &[]),
    ("1975-00-10", "1975-01-10", Unp, &[]),
    ("1975-01-00", "1975-01-01", Unp, &[]),
    ("75-01-01", "1975-01-01", Unp, &[]),
    ("750101", "750101", Unp, &[]),
    ("6500101", "6500101", Unp, &[]),
    ("1975/01-01", "1975-01-01", Unp, &[]),
    ("元年1月1日", "元年1月1日", Unp, &[]),
    ("19 75-01-01", "1975-01-01", Unp, &[]),
    ("Q50.1.1", "S50.1.1", Unp, &[]),
    ("昭和50年1月1日生", "昭和50年1月1日", Not, &[Fmt]),
];

#[test]
fn every_table_case_compares_as_listed_from_both_sides() {
    assert!(CASES.len() >= 60);
    for (i, &(a, b, class, rules)) in CASES.iter().enumerate() {
        let want = Comparison::with(class, RuleSet::of(rules));
        assert_eq!(compare(a, b), want, "case {i}: {a} vs {b}");
        assert_eq!(compare(b, a), want, "case {i} swapped: {b} vs {a}");
    }
}

#[test]
fn a_birth_date_one_day_apart_is_a_mismatch() {
    assert_eq!(compare("昭和50年1月1日", "S50.1.2").class, Mismatch);
}

#[test]
fn an_impossible_date_is_unparseable_even_when_every_side_spells_it_alike() {
    for raw in [
        "昭和44年2月30日",
        "2026-02-30",
        "1969-02-29",
        "S44.2.30",
        "1975年4月31日",
    ] {
        assert_eq!(
            BirthDate::parse(raw).precision(),
            Precision::Unparseable,
            "{raw}"
        );
        assert_eq!(compare(raw, raw), Comparison::of(Unp), "{raw}");
    }
    assert_eq!(
        BirthDate::parse("1976-02-29").precision(),
        Precision::Complete
    );
    assert_eq!(
        BirthDate::parse("2000-02-29").precision(),
        Precision::Complete
    );
    // Never rolled over into the next month either.
    assert_eq!(compare("1975-02-29", "1975-03-01").class, Unp);
}

/// Every complete date that parses is a day of the Gregorian calendar as jiff (an
/// independent implementation) counts them; every other day of a month is unparseable.
#[test]
fn a_date_parses_exactly_when_it_is_a_day_of_the_calendar() {
    for year in [1873i16, 1900, 1969, 1975, 1976, 2000, 2024, 2026] {
        for month in 1..=12i8 {
            for day in 1..=31i8 {
                let real = jiff::civil::Date::new(year, month, day).is_ok();
                let parsed = BirthDate::parse(&format!("{year}-{month:02}-{day:02}"));
                let want = if real {
                    Precision::Complete
                } else {
                    Precision::Unparseable
                };
                assert_eq!(parsed.precision(), want, "{year}-{month}-{day}");
            }
        }
    }
}

#[test]
fn partly_unknown_dates_keep_their_precision() {
    let cases = [
        ("", Precision::Missing),
        ("昭和50年月日不詳", Precision::Year),
        ("昭和50年", Precision::Year),
        ("昭和50年1月日不詳", Precision::YearMonth),
        ("1975年1月", Precision::YearMonth),
        ("昭和50年1月上旬", Precision::Approximate),
        ("昭和50年1月中旬", Precision::Approximate),
        ("推定昭和50年", Precision::Approximate),
        ("1975年1月1日頃", Precision::Approximate),
        ("年月日不詳", Precision::Unknown),
        ("不明", Precision::Unknown),
        ("昭和70年月日不詳", Precision::Unparseable),
        ("明治5年月日不詳", Precision::Unparseable),
        ("S50.1.1", Precision::Complete),
    ];
    for (raw, want) in cases {
        assert_eq!(BirthDate::parse(raw).precision(), want, "{raw}");
    }
}

#[test]
fn debug_output_never_shows_the_date() {
    let shown = format!("{:?}", BirthDate::parse("昭和50年1月23日"));
    assert_eq!(shown, "BirthDate(<redacted>, precision=Complete)");
}

/// An era containing the triple (the later one when `late` and there are two). None only
/// for a day between 平成's last and 令和's first day that is not on the calendar.
fn era_of(t: Ymd, late: bool) -> Option<Era> {
    let mut eras = Era::ALL.iter().copied().filter(|e| {
        let (first, last) = e.range();
        first <= t && last.is_none_or(|last| t <= last)
    });
    let first = eras.next()?;
    Some(if late {
        eras.next().unwrap_or(first)
    } else {
        first
    })
}

fn kanji(n: u32) -> String {
    const D: [char; 10] = ['〇', '一', '二', '三', '四', '五', '六', '七', '八', '九'];
    let (t, u) = ((n / 10) as usize, (n % 10) as usize);
    let mut s = String::new();
    if t > 1 {
        s.push(D[t]);
    }
    if t > 0 {
        s.push('十');
    }
    if u > 0 || t == 0 {
        s.push(D[u]);
    }
    s
}

/// One of the supported spellings of a triple.
fn render((y, m, d): Ymd, format: u8, late: bool, width: bool, space: bool) -> String {
    let Some(era) = era_of((y, m, d), late) else {
        return format!("{y}-{m:02}-{d:02}");
    };
    let ey = y - era.range().0.0 + 1;
    let idx = era as usize;
    let full = ["明治", "大正", "昭和", "平成", "令和"][idx];
    let short = ["明", "大", "昭", "平", "令"][idx];
    let letter = ["M", "T", "S", "H", "R"][idx];
    let gan = if ey == 1 {
        "元".to_owned()
    } else {
        ey.to_string()
    };
    let mut s = match format % 16 {
        0 => format!("{y}-{m:02}-{d:02}"),
        1 => format!("{y}/{m}/{d}"),
        2 => format!("{y}.{m}.{d}"),
        3 => format!("{y}{m:02}{d:02}"),
        4 => format!("{y}年{m}月{d}日"),
        5 => format!("{y}-{m}-{d}"),
        6 => format!("{full}{gan}年{m}月{d}日"),
        7 => format!(
            "{full}{}年{}月{}日",
            kanji(ey as u32),
            kanji(m.into()),
            kanji(d.into())
        ),
        8 => format!("{letter}{ey}.{m}.{d}"),
        9 => format!("{}{ey:02}/{m:02}/{d:02}", letter.to_ascii_lowercase()),
        10 => format!("{short}{ey}/{m}/{d}"),
        11 => format!("{short}{ey}.{m}.{d}"),
        12 => format!("{letter}{ey}年{m}月{d}日"),
        13 => format!("{}{ey:02}{m:02}{d:02}", idx + 1),
        14 => {
            let digits: String = y
                .to_string()
                .chars()
                .map(|c| kanji(c as u32 - 48))
                .collect();
            format!("{digits}年{}月{}日", kanji(m.into()), kanji(d.into()))
        }
        _ => format!("{full} {ey} 年 {m} 月 {d} 日"),
    };
    if width {
        s = s
            .chars()
            .map(|c| match c {
                '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
                _ => c,
            })
            .collect();
    }
    if space {
        s = format!(" {s}\u{3000}");
    }
    s
}

/// A day of the calendar between 1873 and 2029.
/// 0 Sunday … 6 Saturday, by jiff (not by the code under test).
fn jiff_weekday((y, m, d): Ymd) -> u8 {
    let date = jiff::civil::Date::new(y as i16, m as i8, d as i8).expect("a calendar day");
    date.weekday().to_sunday_zero_offset() as u8
}

/// The ways of issue 28: 西暦, one digit per box, a weekday, 元日/朔日/晦日/大晦日, 年 then
/// slashes.
fn people_write((y, m, d): Ymd, form: u8) -> String {
    let weekday = "日月火水木金土"
        .chars()
        .nth(usize::from(jiff_weekday((y, m, d))));
    let weekday = weekday.unwrap_or('日');
    match form {
        0 => format!("西暦{y}年{m}月{d}日"),
        1 => {
            let boxes: Vec<String> = y.to_string().chars().map(String::from).collect();
            format!("{} 年 {m} 月 {d} 日", boxes.join(" "))
        }
        2 => format!("{y}/{m}/{d}({weekday})"),
        3 => match (m, d) {
            (1, 1) => format!("{y}年元日"),
            (12, 31) => format!("{y}年大晦日"),
            (4 | 6 | 9 | 11, 30) => format!("{y}年{m}月晦日"),
            (_, 1) => format!("{y}年{m}月朔日"),
            _ => format!("{y}年{m}月{d}日"),
        },
        4 => format!("{y}年 {m}/{d}"),
        _ => format!("{y}-{m:02}-{d:02} （{weekday}曜日）"),
    }
}

fn triple() -> impl Strategy<Value = Ymd> {
    (1873i32..2030, 1u8..=12, 1u8..=31).prop_map(|(y, m, d)| (y, m, d.min(days_in_month(y, m))))
}

fn spelling() -> impl Strategy<Value = (u8, bool, bool, bool)> {
    (0u8..16, any::<bool>(), any::<bool>(), any::<bool>())
}

/// Strings made of the characters the grammar knows, to reach deep into it.
const NEAR_DATES: &str = "[0-9０-９年月日昭和平成令大正明治元十一二三五〇SHRTMsr/.．\\-ー上中下旬頃推定不詳明 　㍻㍼㍽㍾㋿\u{F9A8}]{0,16}";

proptest! {
    #[test]
    fn comparison_is_symmetric(a in NEAR_DATES, b in NEAR_DATES) {
        prop_assert_eq!(compare(&a, &b), compare(&b, &a));
    }

    #[test]
    fn comparison_of_rendered_dates_is_symmetric(
        t in triple(), u in triple(), s in spelling(), r in spelling(),
    ) {
        let (a, b) = (render(t, s.0, s.1, s.2, s.3), render(u, r.0, r.1, r.2, r.3));
        prop_assert_eq!(compare(&a, &b), compare(&b, &a));
    }

    #[test]
    fn two_different_days_never_compare_better_than_mismatch(
        t in triple(), delta in (-1i32..=1, -1i8..=1, -1i8..=1), far in triple(),
        use_far in any::<bool>(), s in spelling(), r in spelling(),
    ) {
        let near = (
            (t.0 + delta.0).clamp(1873, 2029),
            t.1.saturating_add_signed(delta.1).clamp(1, 12),
            t.2.saturating_add_signed(delta.2).clamp(1, 31),
        );
        let u = if use_far { far } else { near };
        // A zero delta (or an equal far day) becomes the day before or after instead.
        let u = if u == t { (t.0, t.1, if t.2 == 1 { 2 } else { t.2 - 1 }) } else { u };
        let (a, b) = (render(t, s.0, s.1, s.2, s.3), render(u, r.0, r.1, r.2, r.3));
        // A neighbour that is not on the calendar (2月30日) is unparseable: held too.
        let want = if u.2 > days_in_month(u.0, u.1) { Unp } else { Mismatch };
        prop_assert_eq!(compare(&a, &b), Comparison::of(want), "{} vs {}", a, b);
    }

    #[test]
    fn the_same_day_in_two_spellings_is_exact_or_notation(
        t in triple(), s in spelling(), r in spelling(),
    ) {
        let (a, b) = (render(t, s.0, s.1, s.2, s.3), render(t, r.0, r.1, r.2, r.3));
        let got = compare(&a, &b);
        if a == b {
            prop_assert_eq!(got, Comparison::of(Exact), "{}", a);
        } else {
            prop_assert_eq!(got.class, Not, "{} vs {}", a, b);
            prop_assert!(!got.rules.is_empty(), "{} vs {}", a, b);
        }
    }

    /// Each way people write a date (issue 28) is the same day in another spelling, and
    /// never another day; the weekday is checked against jiff's calendar.
    #[test]
    fn dates_as_people_write_them_are_that_day_and_no_other(
        t in triple(), u in triple(), form in 0u8..6, s in spelling(),
    ) {
        let written = people_write(t, form);
        let got = compare(&written, &render(t, s.0, s.1, s.2, s.3));
        prop_assert!(matches!(got.class, Not | Exact), "{} {:?}", written, got);
        let other = if u == t { (t.0, t.1, if t.2 == 1 { 2 } else { t.2 - 1 }) } else { u };
        let got = compare(&written, &render(other, s.0, s.1, s.2, s.3));
        prop_assert_eq!(got, Comparison::of(Mismatch), "{}", written);
    }

    #[test]
    fn a_weekday_that_is_not_the_dates_is_never_a_match(t in triple(), shift in 1u8..7) {
        let right = jiff_weekday(t);
        let name = |w: u8| "日月火水木金土".chars().nth(usize::from(w % 7)).unwrap_or('日');
        let wrong = format!("{}/{}/{}({})", t.0, t.1, t.2, name(right + shift));
        prop_assert_eq!(compare(&wrong, &render(t, 0, false, false, false)).class, Unp);
        let right = format!("{}/{}/{}({})", t.0, t.1, t.2, name(right));
        prop_assert_eq!(compare(&right, &render(t, 0, false, false, false)).class, Not);
    }

    #[test]
    fn arbitrary_text_never_panics(a in any::<String>(), b in NEAR_DATES) {
        let parsed = BirthDate::parse(&a);
        let _ = parsed.compare(&BirthDate::parse(&b));
        let _ = parsed.compare(&parsed);
        let shown = format!("{parsed:?}");
        prop_assert!(shown.starts_with("BirthDate(<redacted>"));
    }
}

#[test]
fn a_date_followed_by_born_is_the_same_date_in_another_spelling() {
    for written in [
        "昭和50年1月1日生",
        "昭和50年1月1日生まれ",
        "S50.1.1 生",
        "1975年1月1日生",
    ] {
        let got = compare(written, "昭和50年1月1日");
        assert_eq!(got.class, MatchClass::Notation, "{written}");
    }
    assert_eq!(
        compare("昭和50年1月2日生", "昭和50年1月1日").class,
        MatchClass::Mismatch
    );
    assert_eq!(compare("生", "昭和50年1月1日").class, MatchClass::Missing);
}

#[test]
fn a_wave_dash_is_no_separator_of_a_date() {
    // ～ is never width-folded to `~` (width::full_width_ascii): a date that holds one is a
    // range or a note, not a day.
    for text in [
        "1975～01～01",
        "1975〜1〜1",
        "昭和50年1月1日～",
        "１９７５～０１～０１",
    ] {
        assert_eq!(
            BirthDate::parse(text).precision(),
            Precision::Unparseable,
            "{text}"
        );
    }
    assert_eq!(compare("1975～01～01", "1975-01-01").class, Unp);
}
