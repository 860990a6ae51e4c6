//! The lexer: one pass over the characters of a birth date into at most a dozen tokens.

use super::{Era, EraSpelling, NumKind, Spell, spell};
use crate::domain::{
    Rule, RuleSet,
    text::{kanji, numerals, width},
};

/// At most this many tokens; the longest real form (推定昭和50年1月1日頃) has ten.
pub(super) const MAX_TOKENS: usize = 12;

/// A lexical token; the grammar is a match on the token sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tok {
    Num(u32, Spell),
    Era(Era, EraSpelling),
    /// `-`, `/` or `.`.
    Sep(char),
    /// 年.
    Nen,
    /// 月.
    Tsuki,
    /// 日.
    Hi,
    /// 不詳 or 不明.
    Unknown,
    /// 上旬, 中旬, 下旬.
    Jun,
    /// 頃.
    Koro,
    /// 推定.
    Suitei,
    /// 元日: 1月1日.
    Ganjitsu,
    /// 朔日: the first day of the month.
    Sakujitsu,
    /// 晦日: the last day of the month.
    Misoka,
    /// 大晦日: 12月31日.
    Omisoka,
}

/// Token buffer and the folds seen while filling it.
pub(super) struct Lexer {
    /// On the stack: a birth date is short, and parsing must not allocate.
    pub(super) toks: [Tok; MAX_TOKENS],
    pub(super) len: usize,
    /// Width, space and hyphen folds applied so far.
    pub(super) folds: RuleSet,
    /// Whether the era letter was lower case.
    pub(super) lower_letter: bool,
    /// Pending arabic digits: value and count (0: none). Two plain fields rather than an
    /// `Option` of a tuple, which cost a store-forwarding stall per digit.
    arabic: u32,
    arabic_digits: u8,
    /// Pending kanji numerals, count.
    kanji: ([char; 4], usize),
    /// Whether the pending arabic number was written one digit at a time with whitespace
    /// between (`1 9 2 8`, as forms with a box per digit are typed or read by OCR).
    spaced: bool,
}

impl Lexer {
    fn push(&mut self, tok: Tok) -> Option<()> {
        *self.toks.get_mut(self.len)? = tok;
        self.len += 1;
        Some(())
    }

    /// Ends a pending number, turning it into a token.
    fn flush(&mut self) -> Option<()> {
        if self.arabic_digits > 0 {
            let (value, digits) = (self.arabic, self.arabic_digits);
            (self.arabic, self.arabic_digits) = (0, 0);
            // Ten digits or more would overflow and is no date part anyway.
            if digits > 8 {
                return None;
            }
            self.push(Tok::Num(value, spell(NumKind::Arabic, digits)))?;
        }
        self.spaced = false;
        let (buf, n) = std::mem::take(&mut self.kanji);
        if n > 0 {
            let run = buf.get(..n)?;
            let reading = numerals::read(run.iter().copied())?;
            let kind = if reading.multiplied {
                NumKind::KanjiTen
            } else {
                NumKind::KanjiPositional
            };
            self.push(Tok::Num(reading.value, spell(kind, n as u8)))?;
        }
        Some(())
    }
}

/// Full-width ASCII and hyphen look-alikes to ASCII, with the rule that folding needed.
pub(super) fn fold_char(c: char) -> (char, Option<Rule>) {
    match c {
        // Not ～: a wave dash is no separator of a date (see `width::full_width_ascii`).
        '\u{FF01}'..='\u{FF5D}' => match width::full_width_ascii(c) {
            Some(ascii) => (ascii, Some(Rule::Width)),
            None => (c, None),
        },
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{30FC}' | '\u{FF70}' => ('-', Some(Rule::Hyphen)),
        // 令 (U+F9A8) in 令和 from a system that kept KS X 1001's duplicate: the same character.
        '\u{F900}'..='\u{FAFF}' => match kanji::compatibility(c) {
            Some(unified) => (unified, Some(Rule::KanjiCompatibility)),
            None => (c, None),
        },
        _ => (c, None),
    }
}

/// Whether the text after the whitespace at hand is one digit, then something other than a
/// digit: the next box of a number typed one digit at a time.
fn single_digit_next(chars: &std::iter::Peekable<std::str::Chars<'_>>) -> bool {
    let mut look = chars.clone().skip_while(|c| c.is_whitespace());
    look.next().is_some_and(|c| fold_char(c).0.is_ascii_digit())
        && !look.next().is_some_and(|c| fold_char(c).0.is_ascii_digit())
}

/// Whether `c` is a numeral a date is written with: 〇 to 九 and 十. (○, the placeholder for an
/// unknown digit, is not 〇; 百 and 千 and the formal 壱 弐 参 拾 do not occur in birth dates.)
fn is_date_numeral(c: char) -> bool {
    numerals::is_common(c) && !matches!(c, '百' | '千')
}

/// One pass over the characters. `None` means unparseable.
pub(super) fn lex(raw: &str) -> Option<Lexer> {
    let mut lx = Lexer {
        toks: [Tok::Nen; MAX_TOKENS],
        len: 0,
        folds: RuleSet::EMPTY,
        lower_letter: false,
        arabic: 0,
        arabic_digits: 0,
        kanji: (['〇'; 4], 0),
        spaced: false,
    };
    let mut chars = raw.chars().peekable();
    while let Some(raw_c) = chars.next() {
        if raw_c.is_whitespace() {
            lx.folds.insert(Rule::Space);
            // Whitespace ends a number ("19 75" is not read as 1975), except between single
            // digits: `1 9 2 8 年` is 1928 typed one box at a time. Only when every run is one
            // digit, so that no two numbers of more than one digit are ever run together.
            if (lx.arabic_digits == 1 || lx.spaced) && lx.kanji.1 == 0 && single_digit_next(&chars)
            {
                lx.spaced = true;
                continue;
            }
            lx.flush()?;
            continue;
        }
        let (c, fold) = fold_char(raw_c);
        if let Some(rule) = fold {
            lx.folds.insert(rule);
        }
        if c.is_ascii_digit() {
            let d = c as u32 - '0' as u32;
            if lx.kanji.1 > 0 {
                lx.flush()?;
            }
            if lx.spaced
                && chars
                    .peek()
                    .is_some_and(|&n| fold_char(n).0.is_ascii_digit())
            {
                // A run of two digits after single spaced ones (1 9 75): not one number.
                return None;
            }
            if lx.arabic_digits < 9 {
                lx.arabic = lx.arabic * 10 + d;
            }
            lx.arabic_digits = lx.arabic_digits.saturating_add(1);
            continue;
        }
        if is_date_numeral(c) {
            if lx.arabic_digits > 0 {
                lx.flush()?;
            }
            let (buf, n) = &mut lx.kanji;
            *buf.get_mut(*n)? = c;
            *n += 1;
            continue;
        }
        lx.flush()?;
        if c == '大' && chars.clone().take(2).eq(['晦', '日']) {
            chars.nth(1);
            lx.push(Tok::Omisoka)?;
            continue;
        }
        let mut follows = |next: char| chars.next_if_eq(&next).is_some();
        let tok = match c {
            '-' | '/' | '.' => Tok::Sep(c),
            '年' => Tok::Nen,
            '月' => Tok::Tsuki,
            '日' => Tok::Hi,
            '頃' => Tok::Koro,
            '元' if follows('日') => Tok::Ganjitsu,
            '元' => Tok::Num(1, spell(NumKind::Gan, 1)),
            '朔' if follows('日') => Tok::Sakujitsu,
            '晦' if follows('日') => Tok::Misoka,
            'M' | 'T' | 'S' | 'H' | 'R' | 'm' | 't' | 's' | 'h' | 'r' => {
                lx.lower_letter = c.is_ascii_lowercase();
                let i = "MTSHR".find(c.to_ascii_uppercase())?;
                Tok::Era(*Era::ALL.get(i)?, EraSpelling::Letter)
            }
            '明' | '大' | '昭' | '平' | '令' => {
                let i = "明大昭平令".chars().position(|k| k == c)?;
                let second = "治正和成和".chars().nth(i)?;
                let spelling = if follows(second) {
                    EraSpelling::Full
                } else {
                    EraSpelling::Short
                };
                Tok::Era(*Era::ALL.get(i)?, spelling)
            }
            '㍾' => Tok::Era(Era::Meiji, EraSpelling::Square),
            '㍽' => Tok::Era(Era::Taisho, EraSpelling::Square),
            '㍼' => Tok::Era(Era::Showa, EraSpelling::Square),
            '㍻' => Tok::Era(Era::Heisei, EraSpelling::Square),
            '㋿' => Tok::Era(Era::Reiwa, EraSpelling::Square),
            '上' | '中' | '下' if follows('旬') => Tok::Jun,
            '不' if follows('詳') || follows('明') => Tok::Unknown,
            '推' if follows('定') => Tok::Suitei,
            _ => return None,
        };
        lx.push(tok)?;
    }
    lx.flush()?;
    Some(lx)
}
