//! What a load phase measured, and how it is printed.
//!
//! Each worker keeps its own [`Stats`] (an HdrHistogram and plain counters) and the phase
//! merges them once at the end: a shared, locked histogram would put a lock on every request's
//! path and measure contention in the load generator instead of the server.

use std::{fmt::Write as _, time::Duration};

use hdrhistogram::Histogram;
use serde_json::{Value, json};

/// The longest latency the histograms hold, in microseconds (one hour); longer values are
/// recorded as this.
const MAX_MICROS: u64 = 3_600_000_000;

/// gRPC status code names by number, as grpcurl and the gRPC docs spell them.
const CODE_NAMES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

/// Which RPC a phase called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    /// `verifyidentity.v1.VerifyIdentity/Verify` with generated requests.
    Verify,
    /// `grpc.health.v1.Health/Check` for the whole server: the cheapest RPC the server has,
    /// the baseline that the figure of merit divides by.
    Health,
}

impl Target {
    /// The name printed for the phase.
    pub(super) fn name(self) -> &'static str {
        match self {
            Target::Verify => "Verify",
            Target::Health => "Health",
        }
    }

    /// What the outcome counters count: decisions for Verify, serving status for health.
    fn outcome_labels(self) -> [&'static str; 4] {
        match self {
            Target::Verify => ["register", "hold", "return", "unspecified"],
            Target::Health => ["serving", "not_serving", "unknown", "service_unknown"],
        }
    }
}

/// One worker's (or, merged, one phase's) measurements.
#[derive(Debug, Clone)]
pub(super) struct Stats {
    /// Microseconds from the send (the intended send, at a fixed rate) to the response.
    pub(super) latency: Histogram<u64>,
    /// At a fixed rate only: microseconds from the actual send, to tell the server's time from
    /// the time a request waited for the load generator.
    pub(super) service_time: Histogram<u64>,
    /// Successful responses.
    pub(super) completed: u64,
    /// Failed calls by gRPC code.
    pub(super) errors: [u64; 17],
    /// Successful responses by outcome (see [`Target`]).
    pub(super) outcomes: [u64; 4],
    /// Responses whose outcome differs from what the request was built for.
    pub(super) unexpected: u64,
    /// At a fixed rate: sends skipped because every in-flight slot was busy.
    pub(super) dropped: u64,
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("valid histogram bounds")
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros())
        .unwrap_or(u64::MAX)
        .clamp(1, MAX_MICROS)
}

impl Stats {
    /// Empty measurements.
    pub(super) fn new() -> Self {
        Stats {
            latency: histogram(),
            service_time: histogram(),
            completed: 0,
            errors: [0; 17],
            outcomes: [0; 4],
            unexpected: 0,
            dropped: 0,
        }
    }

    /// Records a successful call.
    pub(super) fn record_ok(
        &mut self,
        outcome: usize,
        expected: bool,
        latency: Duration,
        service: Option<Duration>,
    ) {
        self.completed += 1;
        self.outcomes[outcome] += 1;
        self.unexpected += u64::from(!expected);
        self.latency.saturating_record(micros(latency));
        if let Some(service) = service {
            self.service_time.saturating_record(micros(service));
        }
    }

    /// Records a failed call.
    pub(super) fn record_error(&mut self, code: tonic::Code) {
        self.errors[(code as usize).min(16)] += 1;
    }

    /// Adds another worker's measurements.
    pub(super) fn merge(&mut self, other: &Stats) {
        self.latency
            .add(&other.latency)
            .expect("histograms with the same bounds");
        self.service_time
            .add(&other.service_time)
            .expect("histograms with the same bounds");
        self.completed += other.completed;
        for (a, b) in self.errors.iter_mut().zip(other.errors) {
            *a += b;
        }
        for (a, b) in self.outcomes.iter_mut().zip(other.outcomes) {
            *a += b;
        }
        self.unexpected += other.unexpected;
        self.dropped += other.dropped;
    }

    /// All failed calls.
    pub(super) fn failed(&self) -> u64 {
        self.errors.iter().sum()
    }

    /// The failures as `UNAVAILABLE 12, DEADLINE_EXCEEDED 3`, most frequent first.
    pub(super) fn errors_line(&self) -> String {
        let mut by_count: Vec<(usize, u64)> = self
            .errors
            .iter()
            .copied()
            .enumerate()
            .filter(|e| e.1 > 0)
            .collect();
        by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let parts: Vec<String> = by_count
            .iter()
            .map(|(code, n)| format!("{} {n}", CODE_NAMES[*code]))
            .collect();
        if parts.is_empty() {
            "none".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

/// p50, p90, p99, p99.9 and max in milliseconds.
fn percentiles_ms(h: &Histogram<u64>) -> [(&'static str, f64); 5] {
    let ms = |us: u64| us as f64 / 1000.0;
    [
        ("p50", ms(h.value_at_quantile(0.5))),
        ("p90", ms(h.value_at_quantile(0.9))),
        ("p99", ms(h.value_at_quantile(0.99))),
        ("p99.9", ms(h.value_at_quantile(0.999))),
        ("max", ms(h.max())),
    ]
}

/// One phase: a target, its measured window, and the merged measurements.
#[derive(Debug)]
pub(super) struct PhaseReport {
    /// What was called.
    pub(super) target: Target,
    /// The measured window (warmup excluded).
    pub(super) window: Duration,
    /// Whether requests were sent at a fixed rate (latency then counts from the intended send).
    pub(super) fixed_rate: bool,
    /// The merged measurements.
    pub(super) stats: Stats,
}

impl PhaseReport {
    /// Successful responses per second of the measured window.
    pub(super) fn rps(&self) -> f64 {
        self.stats.completed as f64 / self.window.as_secs_f64()
    }

    /// The phase as indented lines of text.
    pub(super) fn human(&self) -> String {
        let s = &self.stats;
        let mut out = String::new();
        let _ = writeln!(out, "{}", self.target.name());
        let _ = writeln!(
            out,
            "  completed   {} in {:.2} s: {:.1} rps",
            s.completed,
            self.window.as_secs_f64(),
            self.rps()
        );
        let _ = writeln!(out, "  errors      {}", s.errors_line());
        if self.fixed_rate {
            let _ = writeln!(
                out,
                "  dropped     {} (fell due while every in-flight slot was busy)",
                s.dropped
            );
        }
        if s.completed == 0 {
            return out;
        }
        let mut latency = |label: &str, h: &Histogram<u64>| {
            let _ = write!(out, "  {label:<11}");
            for (name, ms) in percentiles_ms(h) {
                let _ = write!(out, " {name} {ms:.3} ");
            }
            out.truncate(out.trim_end().len());
            out.push('\n');
        };
        latency("latency ms", &s.latency);
        if self.fixed_rate {
            latency("service ms", &s.service_time);
        }
        let heading = match self.target {
            Target::Verify => "decisions",
            Target::Health => "status",
        };
        let _ = write!(out, "  {heading:<11}");
        for (label, n) in self.target.outcome_labels().iter().zip(s.outcomes) {
            // Always show the three decisions; other outcomes only when they occurred.
            if n > 0 || self.target == Target::Verify && *label != "unspecified" {
                let share = 100.0 * n as f64 / s.completed as f64;
                let _ = write!(out, " {label} {n} ({share:.1}%) ");
            }
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
        if s.unexpected > 0 {
            let what = match self.target {
                Target::Verify => "decisions differ from the generated case's intended decision",
                Target::Health => "responses were not SERVING",
            };
            let _ = writeln!(out, "  unexpected  {} {what}", s.unexpected);
        }
        out
    }

    /// Throughput and latency percentiles in one line, for the per-window table.
    pub(super) fn latency_line(&self) -> String {
        let mut out = format!("{:.0} rps", self.rps());
        for (name, ms) in percentiles_ms(&self.stats.latency) {
            let _ = write!(out, ", {name} {ms:.2} ms");
        }
        out
    }

    /// The phase as a JSON object.
    pub(super) fn json(&self) -> Value {
        let s = &self.stats;
        let latency = |h: &Histogram<u64>| {
            let map: serde_json::Map<String, Value> = percentiles_ms(h)
                .iter()
                .map(|(name, ms)| (name.replace('.', "_"), json!(ms)))
                .collect();
            Value::Object(map)
        };
        let errors: serde_json::Map<String, Value> = s
            .errors
            .iter()
            .enumerate()
            .filter(|e| *e.1 > 0)
            .map(|(code, n)| (CODE_NAMES[code].to_owned(), json!(n)))
            .collect();
        let outcomes: serde_json::Map<String, Value> = self
            .target
            .outcome_labels()
            .iter()
            .zip(s.outcomes)
            .map(|(l, n)| ((*l).to_owned(), json!(n)))
            .collect();
        let mut phase = json!({
            "completed": s.completed,
            "failed": s.failed(),
            "errors": errors,
            "window_s": self.window.as_secs_f64(),
            "rps": self.rps(),
            "latency_ms": latency(&s.latency),
            "unexpected": s.unexpected,
        });
        phase[match self.target {
            Target::Verify => "decisions",
            Target::Health => "status",
        }] = Value::Object(outcomes);
        if self.fixed_rate {
            phase["dropped"] = json!(s.dropped);
            phase["service_time_ms"] = latency(&s.service_time);
        }
        phase
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats_of(latencies_us: &[u64]) -> Stats {
        let mut s = Stats::new();
        for &us in latencies_us {
            s.record_ok(0, true, Duration::from_micros(us), None);
        }
        s
    }

    #[test]
    fn merged_worker_histograms_equal_one_histogram_of_every_request() {
        let all: Vec<u64> = (1..=10_000).map(|i| i * 37 % 9_973 + 50).collect();
        let mut merged = Stats::new();
        for chunk in all.chunks(1_234) {
            merged.merge(&stats_of(chunk));
        }
        let single = stats_of(&all);
        assert_eq!(merged.completed, 10_000);
        assert_eq!(merged.latency.len(), single.latency.len());
        for q in [0.5, 0.9, 0.99, 0.999, 1.0] {
            assert_eq!(
                merged.latency.value_at_quantile(q),
                single.latency.value_at_quantile(q)
            );
        }
        assert_eq!(merged.latency.max(), single.latency.max());
    }

    #[test]
    fn errors_counters_and_outcomes_add_up_when_merged() {
        let mut a = Stats::new();
        a.record_error(tonic::Code::Unavailable);
        a.record_ok(
            1,
            false,
            Duration::from_millis(2),
            Some(Duration::from_millis(1)),
        );
        let mut b = Stats::new();
        b.record_error(tonic::Code::Unavailable);
        b.record_error(tonic::Code::DeadlineExceeded);
        b.dropped = 3;
        a.merge(&b);
        assert_eq!(a.failed(), 3);
        assert_eq!(a.errors_line(), "UNAVAILABLE 2, DEADLINE_EXCEEDED 1");
        assert_eq!((a.outcomes[1], a.unexpected, a.dropped), (1, 1, 3));
        assert_eq!(a.service_time.len(), 1);
    }

    #[test]
    fn latencies_beyond_the_histogram_are_recorded_as_its_maximum() {
        let mut s = Stats::new();
        s.record_ok(0, true, Duration::from_secs(10_000), None);
        s.record_ok(0, true, Duration::ZERO, None);
        assert_eq!(s.latency.len(), 2);
        assert!(s.latency.max() >= MAX_MICROS);
    }

    #[test]
    fn a_report_prints_rps_percentiles_and_decisions_in_text_and_json() {
        let mut stats = stats_of(&[1_000, 2_000, 3_000, 4_000]);
        stats.outcomes = [3, 1, 0, 0];
        let report = PhaseReport {
            target: Target::Verify,
            window: Duration::from_secs(2),
            fixed_rate: false,
            stats,
        };
        let text = report.human();
        assert!(text.contains("completed   4 in 2.00 s: 2.0 rps"), "{text}");
        assert!(
            text.contains("latency ms  p50 2.000  p90 4.001  p99 4.001  p99.9 4.001  max 4.001\n"),
            "{text}"
        );
        assert!(
            text.contains("decisions   register 3 (75.0%)  hold 1 (25.0%)  return 0 (0.0%)\n"),
            "{text}"
        );
        let json = report.json();
        assert_eq!(json["rps"], 2.0);
        assert_eq!(json["decisions"]["hold"], 1);
        assert!(json["latency_ms"]["p99_9"].as_f64().unwrap() >= 3.9);
        assert!(json.get("dropped").is_none());
    }
}
