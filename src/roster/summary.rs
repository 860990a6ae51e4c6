//! The counts of a run: by decision, hold reason and risk class, and a stage × field grid of
//! comparisons that cannot pass under any policy. What the summary table and the report show.

use std::{collections::BTreeMap, fmt::Write as _};

use crate::{
    domain::{
        Field, MatchClass, Stage,
        gate::{DecisionKind, HoldReason},
        risk::RiskClass,
    },
    roster::{
        Kind,
        outcome::{RowOutcome, stages},
        row::{RowError, RowErrorKind},
    },
};

/// `10000` → `10,000`: a manager reads a six-digit count at a glance only with separators.
pub use crate::chart::thousands;

/// A run stops early when its first this many rows have all failed: a wrong encoding or
/// delimiter fails every row the same way, and reading millions more would only fill the
/// errors file.
pub const EARLY_STOP_ROWS: u64 = 1_000;

/// The counts of one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Data rows read.
    pub rows_in: u64,
    /// Rows decided (in the result file).
    pub decided: u64,
    /// Rows in the errors file.
    pub error_rows: u64,
    /// Problems in the errors file (a row may have several).
    pub problems: u64,
    /// Decided rows whose decision was made by an earlier run (replays).
    pub earlier: u64,
    /// By decision, in [`DecisionKind::ALL`] order.
    pub decisions: [u64; 3],
    /// By hold reason, in [`HoldReason::ALL`] order.
    pub hold_reasons: [u64; HoldReason::ALL.len()],
    /// By risk class, in [`RiskClass::ALL`] order.
    pub risk: [u64; RiskClass::ALL.len()],
    /// Per stage and field: rows whose class there is mismatch, missing or unparseable.
    pub grid: [[u64; 5]; 3],
    /// Rows in the errors file by kind of problem, in [`RowErrorKind::ALL`] order (a row with
    /// problems of two kinds counts under both).
    pub error_kinds: [u64; 6],
    /// Problems by kind, column and message (messages never hold a value): what the report
    /// lists. Bounded by the header's columns times the messages the row layer writes.
    pub error_cells: BTreeMap<(RowErrorKind, String, String), u64>,
}

/// Whether a class can never pass, whatever the policy (variant may or may not).
pub fn never_passes(class: MatchClass) -> bool {
    class >= MatchClass::Mismatch
}

impl Summary {
    /// Counts one decided row.
    pub fn add(&mut self, o: &RowOutcome) {
        self.rows_in += 1;
        self.decided += 1;
        self.earlier += u64::from(o.earlier);
        self.decisions[o.decision as usize] += 1;
        for r in &o.hold_reasons {
            self.hold_reasons[*r as usize] += 1;
        }
        if let Some(c) = o.risk {
            self.risk[c as usize] += 1;
        }
        for (s, row) in o.classes.iter().enumerate() {
            for (f, class) in row.iter().enumerate() {
                if class.is_some_and(never_passes) {
                    self.grid[s][f] += 1;
                }
            }
        }
    }

    /// Counts one row that went to the errors file with these problems.
    pub fn add_error(&mut self, problems: &[RowError]) {
        self.rows_in += 1;
        self.error_rows += 1;
        self.problems += problems.len() as u64;
        for kind in RowErrorKind::ALL {
            if problems.iter().any(|p| p.kind == kind) {
                self.error_kinds[kind as usize] += 1;
            }
        }
        for p in problems {
            *self
                .error_cells
                .entry((p.kind, p.column.clone(), p.message.clone()))
                .or_default() += 1;
        }
    }

    /// Whether the run failed as a whole: more than half of its rows could not be decided. A
    /// run like that is never "complete", whatever else happened: most likely the roster was
    /// read the wrong way (encoding, mapping, delimiter), and its results must not be taken.
    pub fn mostly_failed(&self) -> bool {
        self.rows_in > 0 && self.error_rows * 2 > self.rows_in
    }

    /// Whether the first [`EARLY_STOP_ROWS`] rows have all failed: the run stops there.
    pub fn first_rows_all_failed(&self) -> bool {
        self.decided == 0 && self.error_rows >= EARLY_STOP_ROWS
    }

    /// What went wrong most often, in a sentence that says what to do about it (`encoding`
    /// is the roster's, as read). `None` when no row failed.
    pub fn headline(&self, encoding: &str) -> Option<String> {
        let (kind, rows) = RowErrorKind::ALL
            .iter()
            .map(|k| (*k, self.error_kinds[*k as usize]))
            .max_by_key(|(k, n)| (*n, std::cmp::Reverse(*k as usize)))
            .filter(|(_, n)| *n > 0)?;
        let rows = thousands(rows);
        let top = |kind: RowErrorKind| {
            self.error_cells
                .iter()
                .filter(|((k, _, _), _)| *k == kind)
                .max_by_key(|(_, n)| **n)
                .map(|((_, column, message), _)| format!("{column}: {message}"))
                .unwrap_or_default()
        };
        Some(match kind {
            RowErrorKind::Encoding => {
                let other = if encoding.eq_ignore_ascii_case("UTF-8") {
                    "CP932 (Shift_JIS): give --encoding cp932"
                } else {
                    "UTF-8: give --encoding utf-8"
                };
                format!("{rows} rows could not be decoded as {encoding}: is the file {other}")
            }
            RowErrorKind::Shape => format!(
                "{rows} rows do not have the header's number of columns: is the file \
                 comma-separated, with its quotes balanced, and is the first row its header? \
                 (most often {})",
                top(kind)
            ),
            RowErrorKind::Value => format!(
                "{rows} rows have values the service refuses; most often {}: check the \
                 column mapping (--columns)",
                top(kind)
            ),
            RowErrorKind::RequestId => format!(
                "{rows} rows reuse a request id with other content: did the roster change \
                 after an earlier run into the same audit log?"
            ),
            RowErrorKind::Permission => format!(
                "{rows} rows are for an insurer the caller may not act for (--insurer or the \
                 insurer_number column)"
            ),
            RowErrorKind::OutputEncoding => format!(
                "{rows} rows have a subject id the result file's encoding cannot hold: give \
                 --output-encoding utf-8"
            ),
        })
    }

    /// Whether every row read is accounted for.
    pub fn balanced(&self) -> bool {
        self.rows_in == self.decided + self.error_rows
    }

    /// The summary table printed at the end of a run.
    pub fn table(&self, kind: Kind) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "rows: {} in = {} decided + {} in the errors file ({} problems){}",
            self.rows_in,
            self.decided,
            self.error_rows,
            self.problems,
            if self.earlier > 0 {
                format!("; {} decided by an earlier run", self.earlier)
            } else {
                String::new()
            }
        );
        let _ = writeln!(s, "\ndecision");
        for (k, n) in DecisionKind::ALL.iter().zip(self.decisions) {
            let _ = writeln!(s, "  {:<38}{n:>10}", k.id());
        }
        let _ = writeln!(s, "\nhold reason");
        for (r, n) in HoldReason::ALL.iter().zip(self.hold_reasons) {
            let _ = writeln!(s, "  {:<38}{n:>10}", r.id());
        }
        let _ = writeln!(s, "\nrisk class (holds)");
        for (c, n) in RiskClass::ALL.iter().zip(self.risk) {
            let _ = writeln!(s, "  {:<38}{n:>10}", c.id());
        }
        let _ = writeln!(s, "\nmismatch, missing or unparseable, by stage and field");
        let _ = write!(s, "  {:<24}", "");
        for f in Field::ALL {
            let _ = write!(s, "{:>12}", f.as_str());
        }
        s.push('\n');
        for stage in stages(kind) {
            let _ = write!(s, "  {:<24}", stage.as_str());
            for f in Field::ALL {
                let _ = write!(s, "{:>12}", self.grid[*stage as usize][f as usize]);
            }
            s.push('\n');
        }
        s
    }

    /// The count of one cell of the grid.
    pub fn cell(&self, stage: Stage, field: Field) -> u64 {
        self.grid[stage as usize][field as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(kind: RowErrorKind, column: &str, message: &str) -> RowError {
        RowError {
            kind,
            column: column.into(),
            message: message.into(),
        }
    }

    #[test]
    fn a_run_is_mostly_failed_only_when_more_than_half_its_rows_failed() {
        let mut s = Summary {
            rows_in: 4,
            decided: 2,
            error_rows: 2,
            ..Summary::default()
        };
        assert!(!s.mostly_failed(), "half is not more than half");
        s.rows_in += 1;
        s.error_rows += 1;
        assert!(s.mostly_failed());
        assert!(!Summary::default().mostly_failed(), "an empty roster");
    }

    #[test]
    fn the_headline_names_the_most_frequent_kind_and_what_to_do() {
        let mut s = Summary::default();
        for _ in 0..3 {
            s.add_error(&[
                error(RowErrorKind::Encoding, "kanji_name", "is not valid UTF-8"),
                error(RowErrorKind::Encoding, "address", "is not valid UTF-8"),
            ]);
        }
        s.add_error(&[error(
            RowErrorKind::Shape,
            "(row)",
            "has 4 columns; the header has 16",
        )]);
        assert_eq!(
            s.error_kinds[RowErrorKind::Encoding as usize],
            3,
            "rows, not problems"
        );
        assert_eq!(s.problems, 7);
        let headline = s.headline("UTF-8").unwrap();
        assert!(
            headline.starts_with("3 rows could not be decoded as UTF-8: is the file CP932"),
            "{headline}"
        );
        assert!(s.headline("CP932").unwrap().contains("--encoding utf-8"));
        assert_eq!(Summary::default().headline("UTF-8"), None);
    }

    #[test]
    fn the_first_thousand_rows_all_failing_stops_a_run_but_one_decided_row_does_not() {
        let mut s = Summary::default();
        for _ in 0..EARLY_STOP_ROWS {
            s.add_error(&[error(RowErrorKind::Value, "sex", "is not a sex code")]);
        }
        assert!(s.first_rows_all_failed());
        s.decided = 1;
        assert!(!s.first_rows_all_failed());
    }
}
