//! 生年月日: parsing every notation seen on forms and in the registry, and comparing two of them.
//!
//! A registry birth date is (era or year, month, day) with a precision: the resident registry
//! records partly unknown dates (月日不詳, 上旬, 頃, 推定), and keeps days that are not on the
//! calendar (2月29日 in a common year, 2月30日) to stay consistent with the 戸籍. The parsed form is
//! a Gregorian (year, month, day) triple with that precision, never a `chrono` date that would
//! roll an impossible day over into the next month.
//!
//! A complete date must be a day of the calendar. A day that does not exist (2月30日, 2月29日 of a
//! common year, 4月31日) is unparseable even when every side spells it the same way, so the gate
//! holds it: the same impossible triple on the form and in the registry says that two records
//! were keyed alike, not that they are one person's, and a registry day that does not exist is
//! for a clerk to confirm with the person (docs/rules.md, "What is never folded"). It is never
//! rolled over either: 1975-02-29 is not 1975-03-01.
//!
//! Parsing is one pass over the characters into at most a dozen tokens on the stack,
//! then a match on the token shape: no regex (a full verification must stay within a few
//! microseconds) and no allocation. Anything the grammar does not know is unparseable rather
//! than guessed, because a guess could make two different people equal.

mod lex;
#[cfg(test)]
mod tests;
mod trim;

use std::fmt;

use crate::domain::{Comparison, MatchClass, Rule, RuleSet};
use lex::{Tok, lex};
use trim::{strip_midnight, strip_weekday};

/// How much of a birth date is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Precision {
    /// Empty or whitespace only.
    Missing,
    /// Not a date this module can read, a day that is not on the calendar (2月30日), outside
    /// its era, or before 1873 (lunisolar calendar).
    Unparseable,
    /// Year, month and day are known, and they are a day of the calendar.
    Complete,
    /// Year and month are known, the day is unknown (日不詳).
    YearMonth,
    /// Only the year is known (月日不詳).
    Year,
    /// Approximate: 上旬/中旬/下旬, 頃 or 推定.
    Approximate,
    /// Nothing is known (年月日不詳, 不詳).
    Unknown,
}

/// An era. The discriminant is the code used in the 7-digit GYYMMDD form minus one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Era {
    Meiji,
    Taisho,
    Showa,
    Heisei,
    Reiwa,
}

/// A day as (year, month, day); tuples compare lexicographically, which is what the era
/// boundaries need (also for a partial date, whose unknown parts span a range).
type Ymd = (i32, u8, u8);

/// The first day of the Gregorian calendar in Japan; earlier dates are lunisolar.
const GREGORIAN_FIRST: Ymd = (1873, 1, 1);

impl Era {
    const ALL: [Era; 5] = [Era::Meiji, Era::Taisho, Era::Showa, Era::Heisei, Era::Reiwa];

    /// First and last day (both inclusive; the boundary days carry two labels).
    fn range(self) -> (Ymd, Option<Ymd>) {
        match self {
            Era::Meiji => ((1868, 1, 25), Some((1912, 7, 30))),
            Era::Taisho => ((1912, 7, 30), Some((1926, 12, 25))),
            Era::Showa => ((1926, 12, 25), Some((1989, 1, 7))),
            Era::Heisei => ((1989, 1, 8), Some((2019, 4, 30))),
            Era::Reiwa => ((2019, 5, 1), None),
        }
    }
}

/// How the era was written. Different spellings of the same day are [`Rule::DateEra`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum EraSpelling {
    /// 昭和.
    Full,
    /// 昭.
    Short,
    /// S or s (the case is kept apart, as [`Rule::LatinCase`]).
    Letter,
    /// The leading digit of the 7-digit GYYMMDD form.
    Code,
    /// One square character: ㍾ ㍽ ㍼ ㍻ ㋿ (Unicode's compatibility forms of the era names,
    /// which NFKC spells out as 明治 大正 昭和 平成 令和).
    Square,
}

/// Gregorian or which era, and how it was spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Notation {
    Gregorian,
    Era(Era, EraSpelling),
}

/// How a number was written; two equal triples with different spellings need
/// [`Rule::DateFormat`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
enum NumKind {
    #[default]
    Arabic,
    /// 一九七五, 〇一.
    KanjiPositional,
    /// 五十, 三十一.
    KanjiTen,
    /// 元 (年).
    Gan,
    /// A day written as a word: 元日 (1月1日), 朔日 (the first), 晦日 (the last, only where it
    /// is also the 30th), 大晦日 (12月31日).
    Word,
}

/// A number's spelling: kind and digit count (so 01 and 1 differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
struct Spell {
    kind: NumKind,
    digits: u8,
}

const fn spell(kind: NumKind, digits: u8) -> Spell {
    Spell { kind, digits }
}

/// A number as read, with its spelling.
type Part = (u32, Spell);

/// The textual layout: separators, 年月日 or packed digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
enum Style {
    /// Not read (missing, unparseable or unknown dates).
    #[default]
    Unset,
    /// `-`, `/` or `.` between the parts.
    Sep(char),
    /// 年, 月, 日.
    Kanji,
    /// YYYYMMDD or GYYMMDD.
    Packed,
    /// 年 after the year, then month and day with a separator (昭和45年 1/1).
    YearThenSep(char),
}

/// Everything about the spelling except width, whitespace and hyphen look-alikes: equal shapes
/// of equal triples in the same notation render to the same folded text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
struct Shape {
    style: Style,
    year: Spell,
    month: Spell,
    day: Spell,
}

/// A parsed birth date (keeps enough to decide notation vs exact, never panics).
///
/// It holds the date itself, so its `Debug` is written by hand to print only the precision.
#[derive(Clone, PartialEq, Eq)]
pub struct BirthDate {
    /// What is known; the fields below are meaningful only as far as this says.
    precision: Precision,
    /// Gregorian year (era dates are converted), so that different eras of one day compare.
    year: i32,
    /// 1..=12, or 0 when unknown.
    month: u8,
    /// 1..=31, or 0 when unknown.
    day: u8,
    /// Gregorian or which era and how spelled, to report [`Rule::DateEra`].
    notation: Notation,
    /// Whether an era letter was lower case, to report [`Rule::LatinCase`].
    lower_letter: bool,
    /// Separators and number spellings, to report [`Rule::DateFormat`].
    shape: Shape,
    /// Width, space and hyphen folds that were applied to this side.
    folds: RuleSet,
    /// A hash of the raw text, to tell "the same string" (exact) without keeping the text.
    /// It is consulted only once the triples are known equal, so a collision can at worst
    /// label a notation match exact; it can never make two different days equal.
    fingerprint: u64,
}

impl fmt::Debug for BirthDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BirthDate(<redacted>, precision={:?})", self.precision)
    }
}

impl BirthDate {
    /// Parses any supported notation. Infallible: what cannot be read becomes
    /// [`Precision::Unparseable`], so that the comparison (not the caller) decides what to do.
    pub fn parse(raw: &str) -> BirthDate {
        let mut date = BirthDate {
            precision: Precision::Unparseable,
            year: 0,
            month: 0,
            day: 0,
            notation: Notation::Gregorian,
            lower_letter: false,
            shape: Shape::default(),
            folds: RuleSet::EMPTY,
            fingerprint: fingerprint(raw.as_bytes()),
        };
        // Forms often write the date followed by 生 or 生まれ ("born"): a spelling, not a part of
        // the date.
        let trimmed = raw.trim_end_matches(|c: char| c.is_whitespace());
        let (text, born) = match trimmed
            .strip_suffix("生まれ")
            .or_else(|| trimmed.strip_suffix("生"))
        {
            Some(rest) => (rest, true),
            None => (raw, false),
        };
        // Spreadsheet exports write a date cell as a timestamp at midnight (1975-01-01 00:00:00):
        // also a spelling. Any other time of day is not a birth date.
        let (text, midnight) = match strip_midnight(text) {
            Some(rest) => (rest, true),
            None => (text, false),
        };
        // A weekday after the date (`2018/1/2(火)`, `（火曜日）`) is a spelling too, but one that
        // can be checked: a weekday that is not the date's makes the date unreadable.
        let (text, weekday) = match strip_weekday(text) {
            Some((rest, w)) => (rest, Some(w)),
            None => (text, None),
        };
        // 西暦 before a Gregorian date says only that it is Gregorian.
        let (text, seireki) = match text.trim_start().strip_prefix("西暦") {
            Some(rest) => (rest, true),
            None => (text, false),
        };
        let Some(lx) = lex(text) else { return date };
        date.folds = lx.folds;
        if born || midnight || weekday.is_some() || seireki {
            date.folds.insert(Rule::DateFormat);
        }
        date.lower_letter = lx.lower_letter;
        let toks = lx.toks.get(..lx.len).unwrap_or_default();
        date.precision = if toks.is_empty() {
            Precision::Missing
        } else {
            date.read(toks).unwrap_or(Precision::Unparseable)
        };
        let complete = date.precision == Precision::Complete;
        if (seireki
            && (date.notation != Notation::Gregorian || date.precision == Precision::Missing))
            || weekday.is_some_and(|w| !complete || w != date.weekday())
        {
            date.precision = Precision::Unparseable;
        }
        date
    }

    /// Reads the token sequence and fills the date; on `None` nothing has been written.
    fn read(&mut self, toks: &[Tok]) -> Option<Precision> {
        use Tok::{
            Ganjitsu, Hi, Jun, Koro, Misoka, Nen, Num, Omisoka, Sakujitsu, Sep, Suitei, Tsuki,
            Unknown,
        };
        let mut t = toks;
        let mut approximate = false;
        if let [Suitei, rest @ ..] = t {
            (approximate, t) = (true, rest);
        }
        if let [rest @ .., Koro] = t {
            (approximate, t) = (true, rest);
        }
        let mut era = None;
        if let [Tok::Era(e, s), rest @ ..] = t {
            (era, t) = (Some((*e, *s)), rest);
        }
        const TWO: Spell = spell(NumKind::Arabic, 2);
        let (y, m, d, style, precision): (Part, Option<Part>, Option<Part>, _, _) = match *t {
            [Unknown] | [Nen, Tsuki, Hi, Unknown] => return Some(Precision::Unknown),
            // YYYYMMDD, and GYYMMDD with the era code 1..=5 in front.
            [Num(v, s)] if era.is_none() && s == spell(NumKind::Arabic, 8) => {
                let y = (v / 10_000, spell(NumKind::Arabic, 4));
                let (m, d) = ((v / 100 % 100, TWO), (v % 100, TWO));
                (y, Some(m), Some(d), Style::Packed, Precision::Complete)
            }
            [Num(v, s)] if era.is_none() && s == spell(NumKind::Arabic, 7) => {
                let e = *Era::ALL.get((v / 1_000_000).checked_sub(1)? as usize)?;
                era = Some((e, EraSpelling::Code));
                let (y, m, d) = (
                    (v / 10_000 % 100, TWO),
                    (v / 100 % 100, TWO),
                    (v % 100, TWO),
                );
                (y, Some(m), Some(d), Style::Packed, Precision::Complete)
            }
            [Num(y, ys), Sep(a), Num(m, ms), Sep(b), Num(d, ds)] if a == b => (
                (y, ys),
                Some((m, ms)),
                Some((d, ds)),
                Style::Sep(a),
                Precision::Complete,
            ),
            [Num(y, ys), Nen, ref rest @ ..] => {
                const WORD: Spell = spell(NumKind::Word, 0);
                let mut style = Style::Kanji;
                let (m, d, precision) = match *rest {
                    [] => (None, None, Precision::Year),
                    [Unknown] | [Tsuki, Hi, Unknown] | [Tsuki, Unknown] => {
                        (None, None, Precision::Year)
                    }
                    [Num(m, ms), Tsuki] | [Num(m, ms), Tsuki, Hi, Unknown] => {
                        (Some((m, ms)), None, Precision::YearMonth)
                    }
                    [Num(m, ms), Tsuki, Unknown] => (Some((m, ms)), None, Precision::YearMonth),
                    [Num(m, ms), Tsuki, Jun] => (Some((m, ms)), None, Precision::Approximate),
                    [Num(m, ms), Tsuki, Num(d, ds), Hi] => {
                        (Some((m, ms)), Some((d, ds)), Precision::Complete)
                    }
                    [Num(m, ms), Sep(a), Num(d, ds)] => {
                        style = Style::YearThenSep(a);
                        (Some((m, ms)), Some((d, ds)), Precision::Complete)
                    }
                    [Ganjitsu] => (Some((1, WORD)), Some((1, WORD)), Precision::Complete),
                    [Omisoka] => (Some((12, WORD)), Some((31, WORD)), Precision::Complete),
                    [Num(m, ms), Tsuki, Sakujitsu] => {
                        (Some((m, ms)), Some((1, WORD)), Precision::Complete)
                    }
                    // 晦日 is the last day of a month, but みそか is also read as the 30th: only
                    // in a month of thirty days are both the same day.
                    [Num(m @ (4 | 6 | 9 | 11), ms), Tsuki, Misoka] => {
                        (Some((m, ms)), Some((30, WORD)), Precision::Complete)
                    }
                    _ => return None,
                };
                ((y, ys), m, d, style, precision)
            }
            _ => return None,
        };

        // Spelling checks: a Gregorian year has four digits (a two-digit one is ambiguous), an
        // era year at most two, 元 only as an era year, month and day at most two digits.
        let (y, ys) = y;
        let short = |s: Spell| match s.kind {
            NumKind::Arabic | NumKind::KanjiPositional => s.digits <= 2,
            NumKind::KanjiTen | NumKind::Word => true,
            NumKind::Gan => false,
        };
        match era {
            None if ys.digits == 4
                && matches!(ys.kind, NumKind::Arabic | NumKind::KanjiPositional) => {}
            Some(_) if ys.kind == NumKind::Gan || short(ys) => {}
            _ => return None,
        }
        if y == 0 || m.is_some_and(|(_, s)| !short(s)) || d.is_some_and(|(_, s)| !short(s)) {
            return None;
        }
        let month = match m {
            Some((v @ 1..=12, _)) => v as u8,
            Some(_) => return None,
            None => 0,
        };
        let day = match d {
            Some((v @ 1..=31, _)) => v as u8,
            Some(_) => return None,
            None => 0,
        };

        // Range checks on the span of days the known parts allow: it must overlap the era
        // and the Gregorian calendar.
        let year = match era {
            Some((e, _)) => e.range().0.0 + i32::try_from(y).ok()?.checked_sub(1)?,
            None => i32::try_from(y).ok()?,
        };
        // A complete date must be a day of the calendar: 2月30日, 2月29日 of a common year and
        // 4月31日 do not exist, and are unparseable however they are spelled (never rolled over).
        if day != 0 && day > days_in_month(year, month) {
            return None;
        }
        let lo = (year, month.max(1), day.max(1));
        let hi = (
            year,
            if month == 0 { 12 } else { month },
            if day == 0 { 31 } else { day },
        );
        if hi < GREGORIAN_FIRST {
            return None;
        }
        if let Some((e, _)) = era {
            let (first, last) = e.range();
            if hi < first || last.is_some_and(|last| lo > last) {
                return None;
            }
        }

        self.year = year;
        self.month = month;
        self.day = day;
        self.notation = era.map_or(Notation::Gregorian, |(e, s)| Notation::Era(e, s));
        self.shape = Shape {
            style,
            year: ys,
            month: m.map(|(_, s)| s).unwrap_or_default(),
            day: d.map(|(_, s)| s).unwrap_or_default(),
        };
        Some(if approximate {
            Precision::Approximate
        } else {
            precision
        })
    }

    /// The day of the week of a complete date, 0 for Sunday (日) to 6 for Saturday (土).
    fn weekday(&self) -> u8 {
        // Days since 1970-01-01 (a Thursday), by Howard Hinnant's days_from_civil.
        let (m, d) = (i64::from(self.month), i64::from(self.day));
        let y = i64::from(self.year) - i64::from(m <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        (days + 4).rem_euclid(7) as u8
    }

    /// How much of the date is known.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// Compares two birth dates: exact, notation (same day in another spelling, with the rules
    /// that were needed), mismatch, missing, or unparseable (anything with an unknown part is
    /// never a match, so it holds the case for confirmation).
    pub fn compare(&self, other: &BirthDate) -> Comparison {
        let (a, b) = (self, other);
        if a.precision == Precision::Missing || b.precision == Precision::Missing {
            return Comparison::of(MatchClass::Missing);
        }
        if a.precision != Precision::Complete || b.precision != Precision::Complete {
            return Comparison::of(MatchClass::Unparseable);
        }
        // Triples of calendar days: equal triples are the same day.
        if (a.year, a.month, a.day) != (b.year, b.month, b.day) {
            return Comparison::of(MatchClass::Mismatch);
        }
        if a.fingerprint == b.fingerprint {
            return Comparison::of(MatchClass::Exact);
        }
        let mut rules = a.folds.union(b.folds);
        if a.notation != b.notation {
            rules.insert(Rule::DateEra);
        } else if a.shape != b.shape {
            rules.insert(Rule::DateFormat);
        }
        let letter = |d: &BirthDate| matches!(d.notation, Notation::Era(_, EraSpelling::Letter));
        if letter(a) && letter(b) && a.lower_letter != b.lower_letter {
            rules.insert(Rule::LatinCase);
        }
        Comparison::with(MatchClass::Notation, rules)
    }
}

/// Compares two birth dates as written; see [`BirthDate::compare`].
pub fn compare(a: &str, b: &str) -> Comparison {
    BirthDate::parse(a).compare(&BirthDate::parse(b))
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A 64-bit hash of the raw text, eight bytes per step (a byte-at-a-time FNV was a third of
/// the parse time). It only labels exact against notation, so it need not be cryptographic.
fn fingerprint(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mix = |h: u64, word: [u8; 8]| {
        let h = (h ^ u64::from_le_bytes(word)).wrapping_mul(K);
        h ^ (h >> 29)
    };
    let mut chunks = bytes.chunks_exact(8);
    let mut h = (bytes.len() as u64).wrapping_mul(K);
    for chunk in &mut chunks {
        h = mix(h, chunk.try_into().unwrap_or_default());
    }
    let mut tail = [0; 8];
    for (t, &b) in tail.iter_mut().zip(chunks.remainder()) {
        *t = b;
    }
    mix(h, tail)
}
