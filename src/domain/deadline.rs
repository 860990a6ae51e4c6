//! The registration deadline: one rule, here, for every path (Verify, VerifyBatch, `bulk`,
//! `check`).
//!
//! An insurer must register within 5 days of receiving the form (資格取得届). Periods in days
//! are counted as Japanese law counts them (民法140条): the day of receipt is not counted, and
//! the period ends when its last day ends (民法141条). So a form received on 12-01, at any hour,
//! must be registered by the end of 12-06, that is by 12-07 00:00 in Japan. Weekends and
//! holidays are not skipped: an earlier deadline is the safe side.
//!
//! The rejected alternative, receipt + 120 hours, made the deadline depend on the hour the
//! form was stamped (a form received at 09:00 was overdue at 09:00 five days later, one
//! received at 23:59 almost a day later) and disagreed with `bulk`, which only knows the date.

use std::time::{Duration, SystemTime};

/// How many days after the day of receipt the insurer has.
pub const REGISTRATION_DAYS: u64 = 5;

/// Japan's offset from UTC. Japan has no daylight saving time, so a fixed offset is exact.
const JST_OFFSET_SECS: i64 = 9 * 3600;
const SECS_PER_DAY: i64 = 86_400;

/// When a form received at `received_at` must have been registered: the end (24:00 in Japan)
/// of the fifth day after the day of receipt. `None` when the instant is before 1970 or too
/// far in the future to represent (such a receipt time is refused at the edge anyway).
pub fn register_by(received_at: SystemTime) -> Option<SystemTime> {
    let since_epoch = received_at.duration_since(SystemTime::UNIX_EPOCH).ok()?;
    let secs = i64::try_from(since_epoch.as_secs()).ok()?;
    let day_in_japan = (secs.checked_add(JST_OFFSET_SECS)?).div_euclid(SECS_PER_DAY);
    // The end of day + 5 is the start of day + 6, midnight in Japan.
    let ends = (day_in_japan.checked_add(REGISTRATION_DAYS as i64 + 1)?)
        .checked_mul(SECS_PER_DAY)?
        .checked_sub(JST_OFFSET_SECS)?;
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(u64::try_from(ends).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seconds since the epoch of a time written in Japan's local time.
    fn jst(y: i32, m: u32, d: u32, hh: u32, mm: u32) -> SystemTime {
        // Days from the civil date (H. Hinnant's algorithm), enough for a test table.
        let y = i64::from(if m <= 2 { y - 1 } else { y });
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = i64::from((m + 9) % 12);
        let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        let secs =
            days * SECS_PER_DAY + i64::from(hh) * 3600 + i64::from(mm) * 60 - JST_OFFSET_SECS;
        SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap())
    }

    #[test]
    fn a_form_received_at_any_hour_is_due_at_the_end_of_the_fifth_day_after() {
        let due = jst(2026, 12, 7, 0, 0);
        for (hh, mm) in [(0, 0), (0, 1), (9, 0), (14, 30), (23, 59)] {
            assert_eq!(
                register_by(jst(2026, 12, 1, hh, mm)),
                Some(due),
                "{hh}:{mm}"
            );
        }
    }

    #[test]
    fn midnight_in_japan_starts_a_new_day_of_receipt() {
        // 23:59:59 on 12-01 and 00:00 on 12-02 are a day apart in deadline.
        let last_second = jst(2026, 12, 2, 0, 0) - Duration::from_secs(1);
        assert_eq!(register_by(last_second), Some(jst(2026, 12, 7, 0, 0)));
        assert_eq!(
            register_by(jst(2026, 12, 2, 0, 0)),
            Some(jst(2026, 12, 8, 0, 0))
        );
    }

    #[test]
    fn the_deadline_crosses_month_and_year_ends_and_leap_days() {
        assert_eq!(
            register_by(jst(2026, 11, 28, 10, 0)),
            Some(jst(2026, 12, 4, 0, 0))
        );
        assert_eq!(
            register_by(jst(2026, 12, 29, 16, 0)),
            Some(jst(2027, 1, 4, 0, 0))
        );
        assert_eq!(
            register_by(jst(2028, 2, 26, 8, 0)),
            Some(jst(2028, 3, 3, 0, 0)),
            "2028 is a leap year: 02-29 is one of the five days"
        );
        assert_eq!(
            register_by(jst(2027, 2, 26, 8, 0)),
            Some(jst(2027, 3, 4, 0, 0))
        );
    }

    #[test]
    fn a_utc_evening_is_already_the_next_day_in_japan() {
        // 2026-11-30T15:00Z is 2026-12-01 00:00 in Japan.
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_050_800);
        assert_eq!(t, jst(2026, 12, 1, 0, 0));
        assert_eq!(register_by(t), Some(jst(2026, 12, 7, 0, 0)));
    }

    #[test]
    fn an_instant_before_1970_has_no_deadline() {
        let before = SystemTime::UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(register_by(before), None);
    }
}
