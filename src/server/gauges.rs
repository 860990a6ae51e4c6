//! The gauges a manager's dashboard and the alerts read, refreshed on a schedule so that a
//! scrape only reads numbers already there (a scrape that counted 100,000 open holds itself
//! would cost each scraper, and each replica, that pass every 15 s):
//!
//! - `verify_holds_open{insurer,risk_class,overdue}`: open holds;
//! - `verify_holds_oldest_open_age_seconds{insurer}`: the age of each insurer's oldest open hold;
//! - `verify_holds_refresh_seconds`: what the last pass over the holds took, and
//!   `verify_holds_refresh_failures_total`;
//! - `audit_checkpoint_age_seconds`: the time since the last checkpoint was written (from the
//!   start of the process until the first is), with checkpoints configured.
//!
//! Every replica on one database reports the same holds: a dashboard takes `max by`, not `sum`.
//! A label set that disappears (an insurer's last overdue hold resolved) is set to 0, not left
//! at its last value.

use std::{
    collections::BTreeSet,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime},
};

use crate::verification::{HoldsSummary, Verifications};

/// How often the gauges are refreshed.
pub(super) const INTERVAL: Duration = Duration::from_secs(15);

/// Seconds since the Unix epoch, now.
pub(super) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// When the last checkpoint was written (Unix seconds), shared by the checkpoint task and the
/// gauges.
#[derive(Debug, Clone)]
pub(super) struct LastCheckpoint(Arc<AtomicU64>);

impl LastCheckpoint {
    /// None written yet: the age counts from now (the start).
    pub(super) fn starting_now() -> Self {
        LastCheckpoint(Arc::new(AtomicU64::new(unix_now())))
    }

    /// A checkpoint was written now.
    pub(super) fn written(&self) {
        let now = unix_now();
        self.0.store(now, Ordering::Relaxed);
        metrics::gauge!("audit_checkpoint_last_written_timestamp_seconds").set(now as f64);
        metrics::gauge!("audit_checkpoint_age_seconds").set(0.0);
    }

    fn age_seconds(&self) -> f64 {
        unix_now().saturating_sub(self.0.load(Ordering::Relaxed)) as f64
    }
}

/// The label sets set last time, to zero the ones that disappear.
type Labels = BTreeSet<(String, &'static str, &'static str)>;

/// Refreshes the gauges every [`INTERVAL`], the first at once.
pub(super) async fn on_schedule(
    verifications: Arc<Verifications>,
    checkpoint: Option<LastCheckpoint>,
) {
    let mut tick = tokio::time::interval(INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut open_before = Labels::new();
    let mut oldest_before = BTreeSet::<String>::new();
    loop {
        tick.tick().await;
        if let Some(c) = &checkpoint {
            metrics::gauge!("audit_checkpoint_age_seconds").set(c.age_seconds());
        }
        let started = Instant::now();
        match verifications.holds_summary(SystemTime::now()).await {
            Ok(summary) => {
                metrics::gauge!("verify_holds_refresh_seconds")
                    .set(started.elapsed().as_secs_f64());
                (open_before, oldest_before) = publish(&summary, &open_before, &oldest_before);
            }
            Err(error) => {
                metrics::counter!("verify_holds_refresh_failures_total").increment(1);
                tracing::warn!(%error, "the holds gauges could not be refreshed");
            }
        }
    }
}

/// Sets the holds gauges of `summary`, and zeroes the label sets of the last time that it no
/// longer has; returns this time's label sets.
fn publish(
    summary: &HoldsSummary,
    open_before: &Labels,
    oldest_before: &BTreeSet<String>,
) -> (Labels, BTreeSet<String>) {
    let mut open = Labels::new();
    for ((insurer, risk, overdue), count) in &summary.open {
        let labels = (
            insurer.clone(),
            risk.map_or("unclassified", |r| r.id()),
            if *overdue { "true" } else { "false" },
        );
        set_open(&labels, *count as f64);
        open.insert(labels);
    }
    for gone in open_before.difference(&open) {
        set_open(gone, 0.0);
    }
    let oldest: BTreeSet<String> = summary.oldest_age_seconds.keys().cloned().collect();
    for (insurer, age) in &summary.oldest_age_seconds {
        metrics::gauge!("verify_holds_oldest_open_age_seconds", "insurer" => insurer.clone())
            .set(*age);
    }
    for gone in oldest_before.difference(&oldest) {
        metrics::gauge!("verify_holds_oldest_open_age_seconds", "insurer" => gone.clone()).set(0.0);
    }
    (open, oldest)
}

fn set_open((insurer, risk, overdue): &(String, &'static str, &'static str), value: f64) {
    metrics::gauge!(
        "verify_holds_open",
        "insurer" => insurer.clone(),
        "risk_class" => *risk,
        "overdue" => *overdue
    )
    .set(value);
}
