//! Times as the command line shows them to a person: to the minute, in the operator's zone
//! (`TZ`, else the system's), the zone named; and how a deadline stands against now.
//!
//! A clerk counts days to a deadline, so the zone is theirs and is said: an unmarked UTC time
//! was nine hours off in Japan. JSON output keeps RFC 3339 in UTC for programs.

use jiff::tz::TimeZone;

/// A time to the minute in `zone`, the zone named: `2026-11-24 00:00 JST`.
pub fn minutes(epoch_seconds: i64, zone: &TimeZone) -> String {
    match jiff::Timestamp::from_second(epoch_seconds) {
        Ok(t) => t
            .to_zoned_datetime(zone.clone())
            .strftime("%Y-%m-%d %H:%M %Z")
            .to_string(),
        // Outside jiff's range (years -9999..=9999): no deadline a clerk could meet.
        Err(_) => "-".to_owned(),
    }
}

/// How a deadline stands at `now` (both in seconds since the epoch), in whole days: `3 days
/// left`, `less than a day left`, `overdue by 2 days`, `overdue (less than a day)`.
pub fn deadline_note(deadline: i64, now: i64) -> String {
    const DAY: i64 = 86_400;
    let days = |s: i64| match s / DAY {
        1 => "1 day".to_owned(),
        n => format!("{n} days"),
    };
    if now < deadline {
        let left = deadline - now;
        if left < DAY {
            "less than a day left".to_owned()
        } else {
            format!("{} left", days(left))
        }
    } else {
        let over = now - deadline;
        if over < DAY {
            "OVERDUE (less than a day)".to_owned()
        } else {
            format!("OVERDUE by {}", days(over))
        }
    }
}

/// Now, in seconds since the epoch.
pub fn now_seconds() -> i64 {
    jiff::Timestamp::now().as_second()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_to_the_minute_in_the_given_zone_and_name_it() {
        // 2026-11-23T15:00:00Z, the hold example's deadline: 24:00 on 11-23 in Japan.
        let deadline = 1_795_446_000;
        let tokyo = TimeZone::get("Asia/Tokyo").unwrap();
        assert_eq!(minutes(deadline, &tokyo), "2026-11-24 00:00 JST");
        assert_eq!(minutes(deadline, &TimeZone::UTC), "2026-11-23 15:00 UTC");
    }

    #[test]
    fn a_deadline_says_the_whole_days_left_or_over() {
        let d = 1_000_000_000;
        assert_eq!(deadline_note(d, d - 3 * 86_400 - 5), "3 days left");
        assert_eq!(deadline_note(d, d - 86_400), "1 day left");
        assert_eq!(deadline_note(d, d - 60), "less than a day left");
        assert_eq!(deadline_note(d, d), "OVERDUE (less than a day)");
        assert_eq!(deadline_note(d, d + 2 * 86_400 + 1), "OVERDUE by 2 days");
    }
}
