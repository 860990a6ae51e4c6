//! 性別: code 1 = 男 (male), 2 = 女 (female) across public-sector files, also written 男/女,
//! 男性/女性, M/F, male/female. Anything else is unparseable; there is no variant class for sex.

use crate::domain::{
    Comparison, MatchClass, Rule, RuleSet,
    text::{chars, width},
};

/// The two codes of the resident registry.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SexCode {
    /// Code 1.
    Male,
    /// Code 2.
    Female,
}

/// A parsed sex field.
#[derive(Clone, PartialEq, Eq)]
pub struct Sex {
    raw: String,
    /// The value after width, space and case folding: equal spellings compare by this.
    spelled: String,
    /// Which notation rules the folding above needed.
    folded: RuleSet,
    state: State,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Missing,
    Unparseable,
    Code(SexCode),
}

impl Sex {
    /// Parses a raw value.
    pub fn parse(raw: &str) -> Self {
        let (widened, width_changed) = width::fold_width(raw);
        let mut folded = RuleSet::EMPTY;
        if width_changed {
            folded.insert(Rule::Width);
        }
        let mut spelled = String::with_capacity(widened.len());
        for c in widened.chars() {
            if chars::is_space(c) {
                folded.insert(Rule::Space);
            } else if c.is_ascii_uppercase() {
                folded.insert(Rule::LatinCase);
                spelled.push(c.to_ascii_lowercase());
            } else {
                spelled.push(c);
            }
        }
        let state = match spelled.as_str() {
            "" => State::Missing,
            "1" | "男" | "男性" | "m" | "male" => State::Code(SexCode::Male),
            "2" | "女" | "女性" | "f" | "female" => State::Code(SexCode::Female),
            _ => State::Unparseable,
        };
        Sex {
            raw: raw.to_owned(),
            spelled,
            folded,
            state,
        }
    }

    /// The code, when the value could be read.
    pub fn code(&self) -> Option<SexCode> {
        match self.state {
            State::Code(code) => Some(code),
            _ => None,
        }
    }

    /// Compares two values.
    pub fn compare(&self, other: &Self) -> Comparison {
        match (self.state, other.state) {
            (State::Missing, _) | (_, State::Missing) => Comparison::of(MatchClass::Missing),
            (State::Unparseable, _) | (_, State::Unparseable) => {
                Comparison::of(MatchClass::Unparseable)
            }
            (State::Code(a), State::Code(b)) if a != b => Comparison::of(MatchClass::Mismatch),
            _ if self.raw == other.raw => Comparison::of(MatchClass::Exact),
            _ if self.spelled == other.spelled => {
                // Same spelling once folded: only the folds that differ between sides count.
                let rules = RuleSet::of(
                    &[Rule::Width, Rule::Space, Rule::LatinCase]
                        .into_iter()
                        .filter(|&r| self.folded.contains(r) != other.folded.contains(r))
                        .collect::<Vec<_>>(),
                );
                let rules = if rules.is_empty() {
                    self.folded.union(other.folded)
                } else {
                    rules
                };
                Comparison::with(MatchClass::Notation, rules)
            }
            _ => Comparison::with(MatchClass::Notation, RuleSet::one(Rule::SexCode)),
        }
    }
}

impl std::fmt::Debug for Sex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sex(<redacted>)")
    }
}

/// Compares two raw values.
pub fn compare(a: &str, b: &str) -> Comparison {
    Sex::parse(a).compare(&Sex::parse(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use MatchClass::*;

    #[test]
    fn table_of_sex_spellings() {
        let cases: &[(&str, &str, MatchClass, &[&str])] = &[
            ("1", "1", Exact, &[]),
            ("男", "男", Exact, &[]),
            ("1", "男", Notation, &["sex.code"]),
            ("1", "男性", Notation, &["sex.code"]),
            ("2", "女", Notation, &["sex.code"]),
            ("2", "女性", Notation, &["sex.code"]),
            ("M", "1", Notation, &["sex.code"]),
            ("F", "female", Notation, &["sex.code"]),
            ("male", "MALE", Notation, &["latin.case"]),
            ("１", "1", Notation, &["width"]),
            ("２", "女", Notation, &["sex.code"]),
            (" 1", "1", Notation, &["space"]),
            ("1", "2", Mismatch, &[]),
            ("男", "女", Mismatch, &[]),
            ("男性", "2", Mismatch, &[]),
            ("M", "F", Mismatch, &[]),
            ("3", "1", Unparseable, &[]),
            ("9", "9", Unparseable, &[]),
            ("不明", "1", Unparseable, &[]),
            ("", "1", Missing, &[]),
            ("　", "2", Missing, &[]),
        ];
        for &(a, b, class, rules) in cases {
            let got = compare(a, b);
            let ids: Vec<_> = got.rules.ids().collect();
            assert_eq!((got.class, ids), (class, rules.to_vec()), "{a} / {b}");
            assert_eq!(got, compare(b, a), "symmetry {a} / {b}");
        }
    }

    #[test]
    fn debug_never_shows_the_value() {
        assert_eq!(format!("{:?}", Sex::parse("女")), "Sex(<redacted>)");
    }
}
