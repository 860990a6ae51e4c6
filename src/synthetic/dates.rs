//! Birth dates for synthetic people, and the notations forms and registries write them in.
//!
//! The generator works on Gregorian days and writes each one in any of the notations the core
//! reads as the same day (西暦, 和暦, S50.1.1, the 7-digit era code, full-width digits).
//! Birthdays are drawn between 1940 and 2023, so only 昭和, 平成 and 令和 occur; the two era
//! boundary days inside that span (1989-01-07/08 and 2019-04-30/05-01) fall on one side each
//! and need no special case.

use std::fmt::Write as _;

use rand::Rng;

/// A Gregorian day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day {
    /// The year (1940‥2023).
    pub year: i32,
    /// The month, 1‥12.
    pub month: u32,
    /// The day of the month.
    pub day: u32,
}

/// An era a birthday between 1940 and 2023 can fall in.
struct Era {
    name: &'static str,
    initial: char,
    /// The first digit of the 7-digit GYYMMDD form.
    code: u32,
    /// The first day, as (year, month, day).
    first: (i32, u32, u32),
}

/// Newest first, so the first era that began on or before a day is its era.
const ERAS: [Era; 3] = [
    Era {
        name: "令和",
        initial: 'R',
        code: 5,
        first: (2019, 5, 1),
    },
    Era {
        name: "平成",
        initial: 'H',
        code: 4,
        first: (1989, 1, 8),
    },
    Era {
        name: "昭和",
        initial: 'S',
        code: 3,
        first: (1926, 12, 25),
    },
];

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl Day {
    /// A random birthday between 1940 and 2023: members and their dependents, children included.
    pub fn random(rng: &mut impl Rng) -> Day {
        let year = rng.gen_range(1940..=2023);
        let month = rng.gen_range(1..=12);
        let day = rng.gen_range(1..=days_in_month(year, month));
        Day { year, month, day }
    }

    /// The next or previous day: a birthday one day off is the classic keying error that must
    /// hold a case.
    pub fn shifted(self, forward: bool) -> Day {
        let Day {
            mut year,
            mut month,
            mut day,
        } = self;
        if forward {
            day += 1;
            if day > days_in_month(year, month) {
                day = 1;
                month += 1;
                if month > 12 {
                    month = 1;
                    year += 1;
                }
            }
        } else if day > 1 {
            day -= 1;
        } else {
            if month == 1 {
                month = 12;
                year -= 1;
            } else {
                month -= 1;
            }
            day = days_in_month(year, month);
        }
        Day { year, month, day }
    }

    /// The era (name, initial, code) and the year within it.
    fn era(self) -> (&'static str, char, u32, i32) {
        let ymd = (self.year, self.month, self.day);
        let era = ERAS
            .iter()
            .find(|era| ymd >= era.first)
            .expect("birthdays are drawn after 1926-12-25");
        (era.name, era.initial, era.code, self.year - era.first.0 + 1)
    }

    /// The day in one of the notations the core reads as the same day, chosen at random.
    pub fn write(self, rng: &mut impl Rng) -> String {
        let Day {
            year,
            month: m,
            day: d,
        } = self;
        let (era, initial, code, ey) = self.era();
        let mut s = String::with_capacity(24);
        // `write!` to a String cannot fail.
        let _ = match rng.gen_range(0..10) {
            0 => write!(s, "{year}-{m:02}-{d:02}"),
            1 => write!(s, "{year}/{m}/{d}"),
            2 => write!(s, "{year}{m:02}{d:02}"),
            3 => write!(s, "{year}年{m}月{d}日"),
            4 if ey == 1 => write!(s, "{era}元年{m}月{d}日"),
            4 | 5 => write!(s, "{era}{ey}年{m}月{d}日"),
            6 => write!(s, "{initial}{ey}.{m}.{d}"),
            7 => write!(
                s,
                "{}{ey}/{m}/{d}",
                era.chars().next().expect("an era name")
            ),
            8 => write!(s, "{code}{ey:02}{m:02}{d:02}"),
            _ => {
                s.push_str(era);
                for (n, unit) in [(ey as u32, '年'), (m, '月'), (d, '日')] {
                    full_width_number(n, &mut s);
                    s.push(unit);
                }
                Ok(())
            }
        };
        s
    }
}

/// Arabic digits in full width (１２), as keyed on many Japanese systems.
pub fn full_width_number(n: u32, out: &mut String) {
    for b in n.to_string().bytes() {
        out.push(
            char::from_u32(u32::from('０') + u32::from(b - b'0')).expect("a full-width digit"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{MatchClass, fields::birth_date};
    use rand::{SeedableRng, rngs::StdRng};

    #[test]
    fn every_notation_of_a_day_is_the_same_day_for_the_core() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..2_000 {
            let day = Day::random(&mut rng);
            let (a, b) = (day.write(&mut rng), day.write(&mut rng));
            let class = birth_date::compare(&a, &b).class;
            assert!(
                matches!(class, MatchClass::Exact | MatchClass::Notation),
                "{day:?}: {class:?}"
            );
        }
    }

    #[test]
    fn a_day_apart_is_a_mismatch_for_the_core_across_month_year_and_era_ends() {
        let mut rng = StdRng::seed_from_u64(8);
        let edges = [
            (1988, 12, 31),
            (1989, 1, 7),
            (2019, 4, 30),
            (2000, 2, 29),
            (1999, 2, 28),
        ];
        let days = edges.map(|(year, month, day)| Day { year, month, day });
        let random: Vec<Day> = (0..500).map(|_| Day::random(&mut rng)).collect();
        for day in days.into_iter().chain(random) {
            for forward in [true, false] {
                let other = day.shifted(forward);
                assert_ne!(other, day);
                assert_eq!(other.shifted(!forward), day);
                let class = birth_date::compare(&day.write(&mut rng), &other.write(&mut rng)).class;
                assert_eq!(class, MatchClass::Mismatch, "{day:?} vs {other:?}");
            }
        }
    }

    #[test]
    fn the_first_year_of_an_era_is_written_gannen() {
        let mut rng = StdRng::seed_from_u64(9);
        let day = Day {
            year: 1989,
            month: 1,
            day: 8,
        };
        let written: Vec<String> = (0..200).map(|_| day.write(&mut rng)).collect();
        assert!(written.iter().any(|s| s == "平成元年1月8日"));
        assert!(written.iter().any(|s| s == "4010108"));
        assert!(written.iter().any(|s| s == "H1.1.8"));
    }
}
