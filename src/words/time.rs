//! Times as a clerk reads them: Japan Standard Time to the minute (`2026年12月6日 14:05`), and
//! how a deadline stands against now in whole days.

use jiff::tz::TimeZone;

use super::Lang;

/// Japan's zone: the clerks' deadlines (and the statistics' periods) are counted in it,
/// whatever the server's zone is.
pub fn jst() -> TimeZone {
    TimeZone::get("Asia/Tokyo").unwrap_or_else(|_| TimeZone::fixed(jiff::tz::offset(9)))
}

/// A time in JST to the minute: `2026年12月6日 14:05` (Japanese) or `2026-12-06 14:05 JST`.
pub fn minutes_jst(epoch_seconds: i64, lang: Lang) -> String {
    match jiff::Timestamp::from_second(epoch_seconds) {
        Ok(t) => {
            let z = t.to_zoned_datetime(jst());
            match lang {
                Lang::Ja => z.strftime("%Y年%-m月%-d日 %H:%M").to_string(),
                Lang::En => z.strftime("%Y-%m-%d %H:%M JST").to_string(),
            }
        }
        Err(_) => "-".to_owned(),
    }
}

/// A day in JST: `2026年12月6日` (Japanese) or `2026-12-06`.
pub fn date_jst(date: jiff::civil::Date, lang: Lang) -> String {
    match lang {
        Lang::Ja => date.strftime("%Y年%-m月%-d日").to_string(),
        Lang::En => date.strftime("%Y-%m-%d").to_string(),
    }
}

/// A deadline in JST: one that ends at midnight is written as the day it ends, at 24:00 (the
/// way a period in days is counted: `2026年12月11日(金) 24:00`, not the next day's 00:00, which
/// a clerk reads as a day more); with the weekday, since clerks plan by it.
pub fn deadline_jst(epoch_seconds: i64, lang: Lang) -> String {
    let Ok(t) = jiff::Timestamp::from_second(epoch_seconds) else {
        return "-".to_owned();
    };
    let z = t.to_zoned_datetime(jst());
    let midnight = z.hour() == 0 && z.minute() == 0;
    let (day, time) = if midnight {
        match z.yesterday() {
            Ok(d) => (d, "24:00".to_owned()),
            Err(_) => (z.clone(), z.strftime("%H:%M").to_string()),
        }
    } else {
        (z.clone(), z.strftime("%H:%M").to_string())
    };
    match lang {
        Lang::Ja => {
            let week = ["日", "月", "火", "水", "木", "金", "土"];
            let w = week[usize::from(day.weekday().to_sunday_zero_offset().unsigned_abs())];
            format!("{}({w}) {time}", day.strftime("%Y年%-m月%-d日"))
        }
        Lang::En => format!("{} {time} JST", day.strftime("%a %Y-%m-%d")),
    }
}

/// How a deadline stands at `now` (seconds since the epoch), in whole days: `残り3日`,
/// `残り1日未満`, `2日超過`, `超過（1日未満）`.
pub fn deadline_note(deadline: i64, now: i64, lang: Lang) -> String {
    const DAY: i64 = 86_400;
    if now < deadline {
        match (deadline - now) / DAY {
            0 => lang.pick("残り1日未満", "less than a day left").to_owned(),
            n => match lang {
                Lang::Ja => format!("残り{n}日"),
                Lang::En if n == 1 => "1 day left".to_owned(),
                Lang::En => format!("{n} days left"),
            },
        }
    } else {
        match (now - deadline) / DAY {
            0 => lang
                .pick("期限超過（1日未満）", "overdue (less than a day)")
                .to_owned(),
            n => match lang {
                Lang::Ja => format!("期限を{n}日超過"),
                Lang::En if n == 1 => "overdue by 1 day".to_owned(),
                Lang::En => format!("overdue by {n} days"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_in_japan_to_the_minute_in_japanese_form() {
        // 2026-12-06T05:05:00Z is 14:05 in Japan.
        let t = 1_796_533_500;
        assert_eq!(minutes_jst(t, Lang::Ja), "2026年12月6日 14:05");
        assert_eq!(minutes_jst(t, Lang::En), "2026-12-06 14:05 JST");
    }

    #[test]
    fn a_deadline_at_midnight_is_the_end_of_its_day_with_the_weekday() {
        // 2026-12-11T15:00:00Z is 2026-12-12 00:00 in Japan: the end of Friday the 11th.
        let t = 1_797_001_200;
        assert_eq!(deadline_jst(t, Lang::Ja), "2026年12月11日(金) 24:00");
        assert_eq!(deadline_jst(t, Lang::En), "Fri 2026-12-11 24:00 JST");
        assert_eq!(deadline_jst(t + 3600, Lang::Ja), "2026年12月12日(土) 01:00");
    }

    #[test]
    fn a_deadline_says_whole_days_left_or_over() {
        let d = 1_000_000_000;
        assert_eq!(deadline_note(d, d - 3 * 86_400 - 5, Lang::Ja), "残り3日");
        assert_eq!(deadline_note(d, d - 60, Lang::Ja), "残り1日未満");
        assert_eq!(
            deadline_note(d, d + 2 * 86_400 + 1, Lang::Ja),
            "期限を2日超過"
        );
        assert_eq!(
            deadline_note(d, d + 2 * 86_400 + 1, Lang::En),
            "overdue by 2 days"
        );
    }
}
