use super::*;

fn params(from: &str, to: &str, min: &str) -> Params {
    let v = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    Params {
        insurer: None,
        from: v(from),
        to: v(to),
        min: v(min),
    }
}

#[test]
fn without_a_period_the_last_ninety_days_today_included() {
    let today: Date = "2026-12-06".parse().unwrap();
    let (asked, bad) = parse(&params("", "", ""), today);
    assert!(bad.is_empty());
    assert_eq!(asked.from, "2026-09-08".parse::<Date>().unwrap());
    assert_eq!(asked.to, today);
    assert_eq!(asked.min_closed, DEFAULT_MIN_CLOSED);
}

#[test]
fn every_unreadable_field_is_named() {
    let today: Date = "2026-12-06".parse().unwrap();
    let (_, bad) = parse(&params("2026-13-01", "yesterday", "0"), today);
    assert_eq!(bad, [Bad::From, Bad::To, Bad::Min]);
    let (_, bad) = parse(&params("2026-12-02", "2026-12-01", ""), today);
    assert_eq!(bad, [Bad::Order]);
    assert_eq!(Bad::Order.field(), "to");
    let (asked, bad) = parse(&params("2026-12-01", "2026-12-01", "3"), today);
    assert!(bad.is_empty());
    assert_eq!(asked.min_closed, 3);
}

#[test]
fn a_day_starts_at_midnight_in_japan() {
    let day: Date = "2026-12-06".parse().unwrap();
    let t = start_of(day);
    let utc = jiff::Timestamp::try_from(t).unwrap();
    assert_eq!(utc.to_string(), "2026-12-05T15:00:00Z");
}
