//! The individual number (個人番号): 11 base digits and a check digit.
//!
//! By law any stand-in for the number is itself 個人番号, so the type is built to keep it out
//! of logs: `Debug` and `Display` never show a digit, errors never carry the input, and the
//! digits are reachable only through [`IndividualNumber::expose_digits`], whose name makes
//! every use easy to find in review.

use std::fmt;

use crate::domain::text::chars;

/// A 12-digit individual number with a valid check digit.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IndividualNumber([u8; 12]);

/// Why a string is not a valid individual number. Carries no digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    /// Nothing was given.
    #[error("the individual number is empty")]
    Empty,
    /// A character other than digits, spaces and hyphens.
    #[error("the individual number contains a character that is not a digit")]
    NotADigit,
    /// Not 12 digits.
    #[error("the individual number has {0} digits, not 12")]
    WrongLength(usize),
    /// The check digit does not match the base digits (a typo).
    #[error("the individual number's check digit is wrong")]
    BadCheckDigit,
}

/// Weights of the 11 base digits, read left to right.
const WEIGHTS: [u32; 11] = [6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2];

/// The check digit for 11 base digits: r = Σ digit × weight mod 11; 0 if r ≤ 1, else 11 − r.
pub fn check_digit(base: &[u8; 11]) -> u8 {
    let sum: u32 = base
        .iter()
        .zip(WEIGHTS)
        .map(|(&d, w)| u32::from(d) * w)
        .sum();
    let r = sum % 11;
    if r <= 1 { 0 } else { (11 - r) as u8 }
}

impl IndividualNumber {
    /// Parses digits, allowing spaces, hyphens and full-width digits as written on forms.
    pub fn parse(raw: &str) -> Result<Self, NumberError> {
        let mut digits = [0u8; 12];
        let mut n = 0usize;
        for c in raw.chars() {
            let d = match c {
                '0'..='9' => c as u32 - '0' as u32,
                '０'..='９' => c as u32 - '０' as u32,
                _ if chars::is_space(c) || chars::is_hyphen_like(c) => continue,
                _ => return Err(NumberError::NotADigit),
            };
            if n < 12 {
                digits[n] = d as u8;
            }
            n += 1;
        }
        match n {
            0 => Err(NumberError::Empty),
            12 => {
                let base: &[u8; 11] = digits[..11].try_into().expect("11 digits");
                if check_digit(base) == digits[11] {
                    Ok(IndividualNumber(digits))
                } else {
                    Err(NumberError::BadCheckDigit)
                }
            }
            n => Err(NumberError::WrongLength(n)),
        }
    }

    /// Builds a number from 11 base digits, computing the check digit (for synthetic test
    /// data and the load generator).
    pub fn from_base(base: [u8; 11]) -> Self {
        let mut digits = [0u8; 12];
        digits[..11].copy_from_slice(&base);
        digits[11] = check_digit(&base);
        IndividualNumber(digits)
    }

    /// The 12 digits as ASCII. Every call site handles 特定個人情報: use it only to compute a
    /// keyed fingerprint or to hand the number on to where it is registered.
    pub fn expose_digits(&self) -> [u8; 12] {
        self.0.map(|d| b'0' + d)
    }
}

impl fmt::Debug for IndividualNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IndividualNumber(<redacted>)")
    }
}

impl fmt::Display for IndividualNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<個人番号>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_reference_examples_validate() {
        for valid in [
            "123456789018",
            "983205673214",
            "111111111118",
            "123456789000",
        ] {
            assert!(IndividualNumber::parse(valid).is_ok(), "{valid}");
        }
        assert_eq!(
            IndividualNumber::parse("983205673210"),
            Err(NumberError::BadCheckDigit)
        );
    }

    #[test]
    fn spaces_hyphens_and_full_width_digits_are_accepted() {
        let plain = IndividualNumber::parse("123456789018").unwrap();
        for written in [
            "1234 5678 9018",
            "1234-5678-9018",
            "１２３４５６７８９０１８",
            "1234　5678　9018",
        ] {
            assert_eq!(
                IndividualNumber::parse(written).unwrap(),
                plain,
                "{written}"
            );
        }
    }

    #[test]
    fn malformed_numbers_are_refused_with_the_reason() {
        assert_eq!(IndividualNumber::parse(""), Err(NumberError::Empty));
        assert_eq!(IndividualNumber::parse("  "), Err(NumberError::Empty));
        assert_eq!(
            IndividualNumber::parse("12345678901"),
            Err(NumberError::WrongLength(11))
        );
        assert_eq!(
            IndividualNumber::parse("1234567890180"),
            Err(NumberError::WrongLength(13))
        );
        assert_eq!(
            IndividualNumber::parse("12345678901a"),
            Err(NumberError::NotADigit)
        );
    }

    #[test]
    fn debug_display_and_errors_never_show_digits() {
        let n = IndividualNumber::parse("983205673214").unwrap();
        for shown in [
            format!("{n:?}"),
            format!("{n}"),
            format!("{:?}", Some(&n)),
            NumberError::BadCheckDigit.to_string(),
            NumberError::WrongLength(11).to_string(),
        ] {
            assert!(
                !shown.contains("9832") && !shown.contains("3214"),
                "{shown}"
            );
        }
    }

    proptest! {
        #[test]
        fn every_number_built_from_base_digits_parses_back(base in proptest::array::uniform11(0u8..10)) {
            let n = IndividualNumber::from_base(base);
            let text = String::from_utf8(n.expose_digits().to_vec()).unwrap();
            prop_assert_eq!(IndividualNumber::parse(&text), Ok(n));
        }

        #[test]
        fn changing_one_digit_breaks_the_check(base in proptest::array::uniform11(0u8..10), at in 0usize..11, delta in 1u8..10) {
            let n = IndividualNumber::from_base(base);
            let mut digits = n.expose_digits();
            digits[at] = b'0' + (digits[at] - b'0' + delta) % 10;
            let text = String::from_utf8(digits.to_vec()).unwrap();
            // Weights 2..7 are all coprime to 11, so a single changed digit changes the sum mod 11;
            // only when both remainders map to check digit 0 (r = 0 and r = 1) can it survive.
            if let Ok(m) = IndividualNumber::parse(&text) {
                prop_assert_ne!(m, n);
                prop_assert_eq!(check_digit(&base), 0);
            }
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC*") {
            let _ = IndividualNumber::parse(&s);
        }
    }
}
