//! Where a ListHolds page ends: the order of the listing, the time its first page was read,
//! and the sort key of the last hold returned.
//!
//! A page token carries a [`HoldsCursor`] as the bytes of [`HoldsCursor::to_bytes`]; how those
//! bytes become the token text is the service's business (one encode and one decode call in
//! `service/holds.rs`), so that sealing the token changes those two lines and nothing here.
//!
//! The cursor is a *sort key*, not an offset: the next page is every open hold whose key is
//! greater, in the listing's order. A hold closed between two pages therefore shifts nothing,
//! and a hold decided between them appears if it sorts after the cursor (in oldest-first
//! order it always does). In triage order the key starts with "overdue", which changes with
//! time; the cursor keeps the time of the listing's first page ([`HoldsCursor::as_of_us`])
//! and every page judges "overdue" against that time, so the order is one fixed order for the
//! whole listing. The rejected alternative, judging each page against the clock, would let a
//! hold that passes its deadline between two pages jump from after the cursor to before it
//! (skipped) or, once the cursor is among the overdue, from before it to after it (repeated).

use std::time::SystemTime;

use crate::{audit, domain::risk::RiskClass};

/// The order of a hold listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldsOrder {
    /// By decision, oldest first.
    OldestFirst,
    /// Overdue first, then by risk class (most urgent first), then oldest first.
    Triage,
}

impl HoldsOrder {
    /// The byte that stands for the order in a cursor.
    const fn code(self) -> u8 {
        match self {
            HoldsOrder::OldestFirst => 1,
            HoldsOrder::Triage => 2,
        }
    }

    /// The order a cursor byte stands for.
    fn from_code(code: u8) -> Option<Self> {
        [HoldsOrder::OldestFirst, HoldsOrder::Triage]
            .into_iter()
            .find(|o| o.code() == code)
    }
}

/// Where one hold sorts in a listing. Ordered field by field; unique, because it ends with the
/// row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SortKey {
    /// 0 for an overdue hold, 1 otherwise (always 0 in oldest-first order).
    group: u8,
    /// The position of the risk class in [`RiskClass::ALL`] (always 0 in oldest-first order).
    risk: u8,
    /// The row id of the held decision: older decisions have smaller ids.
    id: i64,
}

/// The rank of a hold without a risk class, which a held decision always has: last.
const NO_RISK: u8 = RiskClass::ALL.len() as u8;

impl SortKey {
    /// The key before every hold: where a listing starts.
    pub const START: SortKey = SortKey {
        group: 0,
        risk: 0,
        id: 0,
    };

    /// The key of the held decision in row `id` in `order`.
    pub fn of(order: HoldsOrder, id: i64, overdue: bool, risk: Option<RiskClass>) -> Self {
        match order {
            HoldsOrder::OldestFirst => SortKey {
                group: 0,
                risk: 0,
                id,
            },
            HoldsOrder::Triage => SortKey {
                group: u8::from(!overdue),
                risk: risk.map_or(NO_RISK, |r| {
                    RiskClass::ALL.iter().position(|&c| c == r).unwrap_or(0) as u8
                }),
                id,
            },
        }
    }

    /// The row id the key ends with.
    pub fn id(self) -> i64 {
        self.id
    }

    /// Where a triage listing after this key starts in the group of the holds `overdue` (or
    /// not) of risk rank `rank` (the position in [`RiskClass::ALL`], its length for none):
    /// `None` when the whole group sorts before the key, otherwise the row id the group is
    /// read after (0: all of it).
    pub fn start_in_group(self, overdue: bool, rank: u8) -> Option<i64> {
        match (u8::from(!overdue), rank).cmp(&(self.group, self.risk)) {
            std::cmp::Ordering::Less => None,
            std::cmp::Ordering::Equal => Some(self.id),
            std::cmp::Ordering::Greater => Some(0),
        }
    }
}

/// The continuation of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldsCursor {
    /// The listing's order: a cursor continues only a listing in the same order.
    pub order: HoldsOrder,
    /// When the listing's first page was read (microseconds since the Unix epoch): "overdue"
    /// means past the deadline at this time, on every page.
    pub as_of_us: i64,
    /// The key of the last hold returned; the next page starts after it.
    pub after: SortKey,
}

/// The first byte of every cursor; a new layout gets a new one.
const VERSION: u8 = 1;
/// version, order, as_of (8), group, risk, id (8).
const LEN: usize = 20;

impl HoldsCursor {
    /// The cursor as bytes: the whole of what a page token carries.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(LEN);
        bytes.push(VERSION);
        bytes.push(self.order.code());
        bytes.extend_from_slice(&self.as_of_us.to_be_bytes());
        bytes.push(self.after.group);
        bytes.push(self.after.risk);
        bytes.extend_from_slice(&self.after.id.to_be_bytes());
        bytes
    }

    /// The cursor `bytes` hold, if [`HoldsCursor::to_bytes`] wrote them.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let bytes: &[u8; LEN] = bytes.try_into().ok()?;
        if bytes[0] != VERSION {
            return None;
        }
        let order = HoldsOrder::from_code(bytes[1])?;
        let as_of_us = i64::from_be_bytes(bytes[2..10].try_into().ok()?);
        let after = SortKey {
            group: bytes[10],
            risk: bytes[11],
            id: i64::from_be_bytes(bytes[12..20].try_into().ok()?),
        };
        let plausible = match order {
            HoldsOrder::OldestFirst => after.group == 0 && after.risk == 0,
            HoldsOrder::Triage => after.group <= 1 && after.risk <= NO_RISK,
        };
        (plausible && after.id >= 0).then_some(HoldsCursor {
            order,
            as_of_us,
            after,
        })
    }

    /// The time "overdue" is judged against.
    pub fn as_of(&self) -> SystemTime {
        audit::time_from_micros(self.as_of_us)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_from_its_bytes() {
        for order in [HoldsOrder::OldestFirst, HoldsOrder::Triage] {
            for risk in RiskClass::ALL.map(Some).into_iter().chain([None]) {
                let cursor = HoldsCursor {
                    order,
                    as_of_us: 1_796_000_000_123_456,
                    after: SortKey::of(order, 4_711, true, risk),
                };
                assert_eq!(HoldsCursor::from_bytes(&cursor.to_bytes()), Some(cursor));
            }
        }
    }

    #[test]
    fn bytes_a_cursor_never_writes_are_refused() {
        let good = HoldsCursor {
            order: HoldsOrder::Triage,
            as_of_us: 1,
            after: SortKey::of(HoldsOrder::Triage, 9, false, Some(RiskClass::Names)),
        }
        .to_bytes();
        assert!(HoldsCursor::from_bytes(&good[..LEN - 1]).is_none());
        assert!(HoldsCursor::from_bytes(&[good.as_slice(), &[0]].concat()).is_none());
        for (at, value) in [
            (0, 2),
            (1, 0),
            (1, 3),
            (10, 2),
            (11, NO_RISK + 1),
            (12, 0x80),
        ] {
            let mut bad = good.clone();
            bad[at] = value;
            assert!(
                HoldsCursor::from_bytes(&bad).is_none(),
                "byte {at} = {value}"
            );
        }
        assert!(HoldsCursor::from_bytes(b"holds-after:12").is_none());
    }

    #[test]
    fn triage_puts_overdue_first_then_the_most_urgent_class_then_the_oldest() {
        let key = |id, overdue, risk| SortKey::of(HoldsOrder::Triage, id, overdue, Some(risk));
        let mut keys = [
            key(1, false, RiskClass::BirthOrSex),
            key(2, true, RiskClass::AddressOnly),
            key(3, true, RiskClass::BirthOrSex),
            key(4, false, RiskClass::BirthOrSex),
            key(5, true, RiskClass::AddressOnly),
        ];
        keys.sort();
        assert_eq!(
            keys.iter().map(|k| k.id()).collect::<Vec<_>>(),
            [3, 2, 5, 1, 4]
        );
        let oldest = |id| SortKey::of(HoldsOrder::OldestFirst, id, id % 2 == 0, None);
        assert!(oldest(1) < oldest(2) && SortKey::START < oldest(1));
    }
}
