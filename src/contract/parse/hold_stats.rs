//! Parsing a HoldStats request.

use std::time::{Duration, SystemTime};

use super::{FieldViolation, field, violation};
use crate::{
    contract::pb,
    domain::ids::InsurerNumber,
    verification::hold_stats::{DEFAULT_MIN_CLOSED, HoldStatsQuery, InsurerScope},
};

/// At most this many insurers named in one request.
const MAX_INSURERS: usize = 1_000;

/// Parses a HoldStats request. The insurers stay as named: an empty list (every insurer the
/// caller may act for) is resolved by the interface, which knows the caller.
pub fn parse_hold_stats(
    r: &pb::HoldStatsRequest,
    now: SystemTime,
) -> Result<HoldStatsQuery, Vec<FieldViolation>> {
    let mut v = Vec::new();
    if r.insurer_numbers.len() > MAX_INSURERS {
        violation(&mut v, "insurer_numbers", "names more than 1,000 insurers");
    }
    let insurers: Vec<InsurerNumber> = r
        .insurer_numbers
        .iter()
        .take(MAX_INSURERS)
        .enumerate()
        .filter_map(|(i, n)| {
            field(
                &mut v,
                &format!("insurer_numbers[{i}]"),
                InsurerNumber::parse(n),
            )
        })
        .collect();
    let from = match &r.from {
        None => {
            violation(&mut v, "from", "is required");
            None
        }
        Some(ts) => time(&mut v, "from", ts),
    };
    let to = match &r.to {
        None => Some(now),
        Some(ts) => time(&mut v, "to", ts),
    };
    if let (Some(from), Some(to)) = (from, to)
        && from >= to
    {
        violation(&mut v, "to", "must be later than from");
    }
    match (from, to) {
        (Some(from), Some(to)) if v.is_empty() => Ok(HoldStatsQuery {
            insurers: InsurerScope::Only(insurers),
            from,
            to,
            min_closed: match r.min_closed {
                0 => DEFAULT_MIN_CLOSED,
                n => n,
            },
        }),
        _ => Err(v),
    }
}

/// A timestamp from 1970 on with valid nanoseconds.
fn time(
    v: &mut Vec<FieldViolation>,
    name: &str,
    ts: &pbjson_types::Timestamp,
) -> Option<SystemTime> {
    match (u64::try_from(ts.seconds), u32::try_from(ts.nanos)) {
        (Ok(seconds), Ok(nanos)) if nanos < 1_000_000_000 && seconds < 253_402_300_800 => {
            Some(SystemTime::UNIX_EPOCH + Duration::new(seconds, nanos))
        }
        _ => {
            violation(v, name, "is not a valid timestamp from 1970 to 9999");
            None
        }
    }
}
