//! What the result file keeps of a decision — ids, decision, reasons and classes, no personal
//! data — and the result and error files.
//!
//! The result file holds nothing beyond the ids already in the roster (the subject id) and the
//! service's own ids (the verification id): no names, dates, addresses or numbers, so it can be
//! passed around an office without becoming 特定個人情報. An error names the line and the
//! column, never the value.

use std::io::Write;

use crate::{
    contract::pb,
    domain::{
        Field, MatchClass, Stage,
        gate::{Decision, DecisionKind, HoldReason},
        risk::RiskClass,
    },
    roster::{
        Kind,
        decode::{self, TextEncoding},
        row::RowError,
    },
};

/// The outcome of one decided row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowOutcome {
    /// The line the record starts on.
    pub line: u64,
    /// The insurer's id for the person.
    pub subject_id: String,
    /// The service's id of the decision; empty in a dry run.
    pub verification_id: String,
    /// Register, hold or return.
    pub decision: DecisionKind,
    /// Why it is held.
    pub hold_reasons: Vec<HoldReason>,
    /// What the form must complete (return).
    pub fields_to_complete: Vec<Field>,
    /// The risk class of a hold.
    pub risk: Option<RiskClass>,
    /// Per stage and field, the least passing class over the candidates; `None` where the
    /// stage did not run.
    pub classes: [[Option<MatchClass>; 5]; 3],
    /// Whether the decision was made before this run (an idempotent replay).
    pub earlier: bool,
}

fn worst(slot: &mut Option<MatchClass>, class: MatchClass) {
    *slot = Some(slot.map_or(class, |c| c.max(class)));
}

impl RowOutcome {
    /// From a decision made here (a dry run).
    pub fn from_decision(line: u64, subject_id: String, d: &Decision) -> Self {
        let mut classes = [[None; 5]; 3];
        for c in &d.comparisons {
            worst(
                &mut classes[c.stage as usize][c.field as usize],
                c.comparison.class,
            );
        }
        RowOutcome {
            line,
            subject_id,
            verification_id: String::new(),
            decision: d.kind,
            hold_reasons: d.hold_reasons.clone(),
            fields_to_complete: d.fields_to_complete.clone(),
            risk: d.risk_class(),
            classes,
            earlier: false,
        }
    }

    /// From the service's answer; `None` when it names no decision.
    pub fn from_response(
        line: u64,
        subject_id: String,
        r: &pb::VerifyResponse,
        earlier: bool,
    ) -> Option<Self> {
        let decision = match r.decision() {
            pb::Decision::Register => DecisionKind::Register,
            pb::Decision::Hold => DecisionKind::Hold,
            pb::Decision::Return => DecisionKind::Return,
            pb::Decision::Unspecified => return None,
        };
        let mut classes = [[None; 5]; 3];
        for c in &r.comparisons {
            let stage = Stage::ALL
                .into_iter()
                .find(|s| pb::Stage::from(*s) as i32 == c.stage)?;
            let field = Field::ALL
                .into_iter()
                .find(|f| pb::Field::from(*f) as i32 == c.field)?;
            let class = MatchClass::ALL
                .into_iter()
                .find(|m| pb::MatchClass::from(*m) as i32 == c.match_class)?;
            worst(&mut classes[stage as usize][field as usize], class);
        }
        Some(RowOutcome {
            line,
            subject_id,
            verification_id: r.verification_id.clone(),
            decision,
            hold_reasons: r
                .hold_reasons()
                .filter_map(|r| HoldReason::try_from(r).ok())
                .collect(),
            fields_to_complete: r
                .fields_to_complete()
                .filter_map(|f| Field::ALL.into_iter().find(|x| pb::Field::from(*x) == f))
                .collect(),
            risk: RiskClass::try_from(r.risk_class()).ok(),
            classes,
            earlier,
        })
    }
}

/// The stages a kind of roster runs: a reverse check has no query.
pub fn stages(kind: Kind) -> &'static [Stage] {
    match kind {
        Kind::Registration => &Stage::ALL,
        Kind::Reverse => &[Stage::DeclaredVsCandidate],
    }
}

/// The fixed columns of the result file, before the stage × field classes.
pub const RESULT_COLUMNS: [&str; 7] = [
    "line",
    "subject_id",
    "verification_id",
    "decision",
    "hold_reasons",
    "fields_to_complete",
    "risk_class",
];

/// The result file: one row per decided input row.
pub struct ResultWriter<W: Write> {
    /// The CSV writer.
    csv: csv::Writer<W>,
    /// The output encoding.
    encoding: TextEncoding,
    /// Which stage columns.
    stages: &'static [Stage],
}

fn csv_writer<W: Write>(mut out: W, bom: bool) -> std::io::Result<csv::Writer<W>> {
    if bom {
        out.write_all(decode::BOM)?;
    }
    Ok(csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out))
}

impl<W: Write> ResultWriter<W> {
    /// Starts the file with its header.
    pub fn new(out: W, kind: Kind, encoding: TextEncoding, bom: bool) -> std::io::Result<Self> {
        let mut csv = csv_writer(out, bom)?;
        let stages = stages(kind);
        let mut header: Vec<String> = RESULT_COLUMNS.iter().map(|s| (*s).to_owned()).collect();
        for stage in stages {
            for field in Field::ALL {
                header.push(format!("{}.{}", stage.as_str(), field.as_str()));
            }
        }
        csv.write_record(&header)?;
        Ok(ResultWriter {
            csv,
            encoding,
            stages,
        })
    }

    /// Writes one outcome.
    pub fn write(&mut self, o: &RowOutcome) -> std::io::Result<()> {
        // Field by field into the writer's buffer: a million rows make no vector of copies.
        let subject = decode::encode(self.encoding, &o.subject_id)
            // Checked when the row was read; never reached.
            .unwrap_or_default();
        let csv = &mut self.csv;
        csv.write_field(o.line.to_string())?;
        csv.write_field(&subject)?;
        csv.write_field(&o.verification_id)?;
        csv.write_field(o.decision.id())?;
        // Empty for most rows: no vector and no string is allocated then.
        csv.write_field(
            o.hold_reasons
                .iter()
                .map(|r| r.id())
                .collect::<Vec<_>>()
                .join(";"),
        )?;
        csv.write_field(
            o.fields_to_complete
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
                .join(";"),
        )?;
        csv.write_field(o.risk.map_or("", RiskClass::id))?;
        for stage in self.stages {
            for field in Field::ALL {
                let class = o.classes[*stage as usize][field as usize];
                csv.write_field(class.map_or("", MatchClass::as_str))?;
            }
        }
        // Ends the record.
        csv.write_record(None::<&[u8]>)?;
        Ok(())
    }

    /// Flushes and returns the inner writer.
    pub fn finish(self) -> std::io::Result<W> {
        self.csv.into_inner().map_err(|e| e.into_error())
    }
}

/// The errors file: one row per problem (a row may have several), with line and column.
pub struct ErrorWriter<W: Write> {
    /// The CSV writer.
    csv: csv::Writer<W>,
    /// The output encoding.
    encoding: TextEncoding,
}

impl<W: Write> ErrorWriter<W> {
    /// Starts the file with its header.
    pub fn new(out: W, encoding: TextEncoding, bom: bool) -> std::io::Result<Self> {
        let mut csv = csv_writer(out, bom)?;
        csv.write_record(["line", "column", "error"])?;
        Ok(ErrorWriter { csv, encoding })
    }

    /// Writes the problems of the row at `line`.
    pub fn write(&mut self, line: u64, errors: &[RowError]) -> std::io::Result<()> {
        for e in errors {
            // A header name the output encoding cannot hold is written as its position
            // would be unknown here; the logical description stays readable.
            let column = decode::encode(self.encoding, &e.column).map_or_else(
                || b"(column name not representable)".to_vec(),
                |c| c.into_owned(),
            );
            self.csv
                .write_record([line.to_string().as_bytes(), &column, e.message.as_bytes()])?;
        }
        Ok(())
    }

    /// Flushes and returns the inner writer.
    pub fn finish(self) -> std::io::Result<W> {
        self.csv.into_inner().map_err(|e| e.into_error())
    }
}
