//! The counts of a run: by decision, hold reason and risk class, and a stage × field grid of
//! comparisons that cannot pass under any policy. What the summary table and the report show.

use std::fmt::Write as _;

use crate::{
    domain::{
        Field, MatchClass, Stage,
        gate::{DecisionKind, HoldReason},
        risk::RiskClass,
    },
    roster::{
        Kind,
        outcome::{RowOutcome, stages},
    },
};

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
    pub hold_reasons: [u64; 8],
    /// By risk class, in [`RiskClass::ALL`] order.
    pub risk: [u64; 7],
    /// Per stage and field: rows whose class there is mismatch, missing or unparseable.
    pub grid: [[u64; 5]; 3],
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

    /// Counts one row that went to the errors file with `problems` problems.
    pub fn add_error(&mut self, problems: usize) {
        self.rows_in += 1;
        self.error_rows += 1;
        self.problems += problems as u64;
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
