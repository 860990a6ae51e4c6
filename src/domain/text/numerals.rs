//! 漢数字: reading a run of kanji numerals as a number, for every field that reads them (the
//! numbers of an address, the parts of a birth date).
//!
//! Two ways of writing are read:
//!
//! - **with multipliers**: 二十四 = 24, 百二 = 102, 十 = 10, 千九百七十五 = 1975. Each multiplier
//!   (十 百 千) appears at most once and in falling order, with at most one digit before it.
//! - **digit by digit**: 一九七五 = 1975, 二〇 = 20, 〇一 = 1 (how dates and lot numbers are
//!   written in vertical text). 〇 is a digit only here: a run that mixes 〇 with a multiplier
//!   (二十〇, 〇十) is not read.
//!
//! Anything else (二三十, 十十, 百千) is not a number, and the caller keeps the characters as text.
//! Which characters a caller lets into a run is the caller's: a birth date reads only 〇 to 十.
//!
//! ○ (U+25CB, a circle) is not 〇 (U+3007, the numeral zero): forms write ○ for an unknown
//! digit (○月上旬), and reading it as zero would invent a date.

/// What one kanji numeral is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Numeral {
    /// 〇 一 二 三 四 五 六 七 八 九: 0 to 9.
    Digit(u8),
    /// 十 百 千: 10, 100 or 1000 times the digit before it (or once, with none).
    Multiplier(u32),
}

/// The numeral `c` is, or `None`.
///
/// The formal forms (大字) 壱 弐 参 拾 of legal documents and old registries are read too: a 地番
/// written 壱番地 in a 登記 is lot 1. Whether a run of them is a number where it stands is the
/// caller's decision, as for any numeral (壱岐市 is a place name).
pub fn numeral(c: char) -> Option<Numeral> {
    // A match, not a search through a table: this runs for every character of an address.
    Some(match c {
        '〇' => Numeral::Digit(0),
        '一' | '壱' => Numeral::Digit(1),
        '二' | '弐' => Numeral::Digit(2),
        '三' | '参' => Numeral::Digit(3),
        '四' => Numeral::Digit(4),
        '五' => Numeral::Digit(5),
        '六' => Numeral::Digit(6),
        '七' => Numeral::Digit(7),
        '八' => Numeral::Digit(8),
        '九' => Numeral::Digit(9),
        '十' | '拾' => Numeral::Multiplier(10),
        '百' => Numeral::Multiplier(100),
        '千' => Numeral::Multiplier(1000),
        _ => return None,
    })
}

/// Whether `c` is one of the common numerals 〇 一 … 九 十 百 千 (not the formal forms).
pub fn is_common(c: char) -> bool {
    numeral(c).is_some() && !is_formal(c)
}

/// Whether `c` is a formal numeral (大字): 壱 弐 参 拾.
pub fn is_formal(c: char) -> bool {
    matches!(c, '壱' | '弐' | '参' | '拾')
}

/// A run of numerals read as a number.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Reading {
    /// The number.
    pub value: u32,
    /// Whether it was written with a multiplier (二十四) rather than digit by digit (二四).
    /// A birth date keeps this apart, as two spellings of one day.
    pub multiplied: bool,
}

/// The longest run read digit by digit: no address or date number is longer, and a longer one
/// would overflow.
const MAX_DIGITS: usize = 9;

/// Reads `run` (numerals only; anything else makes it unreadable). `None` when the run is empty,
/// not numerals, or not a number in either way of writing (see the module's documentation).
pub fn read(run: impl IntoIterator<Item = char> + Clone) -> Option<Reading> {
    let multiplied = run
        .clone()
        .into_iter()
        .any(|c| matches!(numeral(c), Some(Numeral::Multiplier(_))));
    if !multiplied {
        let (mut value, mut len) = (0u32, 0usize);
        for c in run {
            let Some(Numeral::Digit(d)) = numeral(c) else {
                return None;
            };
            len += 1;
            if len > MAX_DIGITS {
                return None;
            }
            value = value * 10 + u32::from(d);
        }
        return (len > 0).then_some(Reading {
            value,
            multiplied: false,
        });
    }
    let (mut total, mut digit, mut last) = (0u32, None, 10_000u32);
    for c in run {
        match numeral(c)? {
            Numeral::Digit(0) => return None,
            Numeral::Digit(d) => {
                if digit.replace(u32::from(d)).is_some() {
                    return None;
                }
            }
            Numeral::Multiplier(m) => {
                if m >= last {
                    return None;
                }
                total += digit.take().unwrap_or(1) * m;
                last = m;
            }
        }
    }
    Some(Reading {
        value: total + digit.unwrap_or(0),
        multiplied: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DIGITS: [char; 10] = ['〇', '一', '二', '三', '四', '五', '六', '七', '八', '九'];

    /// `n` (1..=9999) written with multipliers, as people write it: 二千三百四, 十一, 百.
    fn with_multipliers(n: u32, formal: bool) -> String {
        let mut s = String::new();
        for (unit, name) in [(1000, '千'), (100, '百'), (10, '十')] {
            let d = n / unit % 10;
            let name = if formal && unit == 10 { '拾' } else { name };
            if d > 1 {
                s.push(DIGITS[d as usize]);
            }
            if d > 0 {
                s.push(name);
            }
        }
        if !n.is_multiple_of(10) {
            s.push(DIGITS[(n % 10) as usize]);
        }
        if formal {
            s = s
                .replace('一', "壱")
                .replace('二', "弐")
                .replace('三', "参");
        }
        s
    }

    /// `n` written digit by digit: 二〇二四.
    fn digit_by_digit(n: u32) -> String {
        n.to_string()
            .chars()
            .map(|c| DIGITS[c as usize - '0' as usize])
            .collect()
    }

    fn value(s: &str) -> Option<u32> {
        read(s.chars()).map(|r| r.value)
    }

    proptest! {
        #[test]
        fn every_number_written_with_multipliers_reads_back(n in 1u32..=9999) {
            let r = read(with_multipliers(n, false).chars());
            prop_assert_eq!(r, Some(Reading { value: n, multiplied: n >= 10 }));
        }

        #[test]
        fn every_number_written_in_formal_numerals_reads_back(n in 1u32..=9999) {
            prop_assert_eq!(value(&with_multipliers(n, true)), Some(n));
        }

        #[test]
        fn every_number_written_digit_by_digit_reads_back(n in 1u32..=9999) {
            let r = read(digit_by_digit(n).chars());
            prop_assert_eq!(r, Some(Reading { value: n, multiplied: false }));
        }

        #[test]
        fn a_leading_zero_digit_changes_nothing_but_the_spelling(n in 1u32..=9999) {
            prop_assert_eq!(value(&format!("〇{}", digit_by_digit(n))), Some(n));
        }
    }

    #[test]
    fn every_number_up_to_9999_reads_back_in_both_spellings() {
        for n in 1..=9999 {
            assert_eq!(value(&with_multipliers(n, false)), Some(n), "{n}");
            assert_eq!(value(&with_multipliers(n, true)), Some(n), "{n}");
            assert_eq!(value(&digit_by_digit(n)), Some(n), "{n}");
        }
    }

    #[test]
    fn zero_is_a_digit_only_when_written_digit_by_digit() {
        assert_eq!(value("二〇"), Some(20));
        assert_eq!(value("一〇二"), Some(102));
        assert_eq!(value("〇一"), Some(1));
        assert_eq!(value("〇"), Some(0));
        assert_eq!(value("二十〇"), None);
        assert_eq!(value("〇十"), None);
        assert_eq!(value("千〇二"), None);
    }

    #[test]
    fn runs_that_are_no_number_are_not_read() {
        for s in [
            "",
            "二三十",
            "十十",
            "百千",
            "十百",
            "二二十",
            "十二三",
            "一二三四五六七八九〇",
            "三鷹",
        ] {
            assert_eq!(value(s), None, "{s}");
        }
        assert_eq!(value("一十"), Some(10));
        assert_eq!(value("百二"), Some(102));
        assert_eq!(value("拾"), Some(10));
    }

    #[test]
    fn the_circle_placeholder_is_not_zero() {
        assert_eq!(numeral('○'), None);
        assert_eq!(value("二○"), None);
    }

    #[test]
    fn common_and_formal_numerals_are_told_apart() {
        for c in "〇一二三四五六七八九十百千".chars() {
            assert!(is_common(c) && !is_formal(c), "{c}");
        }
        for c in "壱弐参拾".chars() {
            assert!(!is_common(c) && is_formal(c), "{c}");
        }
    }
}
