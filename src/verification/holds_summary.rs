//! What a manager's dashboard shows of the holds queue: how many holds are open per insurer,
//! risk class and overdue, and how old the oldest open hold of each insurer is.
//!
//! One pass over the open holds of every insurer, a page at a time (memory stays one page),
//! with the same rules as ListHolds: a hold is overdue once its registration deadline has
//! passed, its risk class is derived from the decision. The server refreshes the gauges from it
//! on a schedule, so a scrape costs nothing; BENCHMARKS.md has what a pass costs with 100,000
//! open holds.

use std::{collections::BTreeMap, time::SystemTime};

use crate::{
    domain::risk::RiskClass,
    verification::{VerificationError, Verifications, record::decided},
};

/// Rows read per page.
const PAGE: i64 = 2_000;

/// Open holds, counted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HoldsSummary {
    /// Open holds per (insurer number, risk class, overdue). The class is `None` for a hold the
    /// risk rules cannot place (none today; kept apart rather than guessed).
    pub open: BTreeMap<(String, Option<RiskClass>, bool), u64>,
    /// The age in seconds of each insurer's oldest open hold, at `as_of`.
    pub oldest_age_seconds: BTreeMap<String, f64>,
}

impl Verifications {
    /// Counts the open holds of every insurer as of `as_of`.
    pub async fn holds_summary(
        &self,
        as_of: SystemTime,
    ) -> Result<HoldsSummary, VerificationError> {
        let mut summary = HoldsSummary::default();
        let mut after = 0;
        loop {
            let page = self.store.list_all_open_holds(after, PAGE).await?;
            let last_page = (page.len() as i64) < PAGE;
            for stored in &page {
                after = stored.id;
                let held = decided(stored)?;
                let overdue = held.register_by.is_some_and(|by| by < as_of);
                *summary
                    .open
                    .entry((held.insurer_number.clone(), held.risk_class(), overdue))
                    .or_default() += 1;
                let age = as_of
                    .duration_since(held.occurred_at)
                    .map_or(0.0, |d| d.as_secs_f64());
                let oldest = summary
                    .oldest_age_seconds
                    .entry(held.insurer_number.clone())
                    .or_insert(age);
                *oldest = oldest.max(age);
            }
            if last_page {
                return Ok(summary);
            }
        }
    }
}
