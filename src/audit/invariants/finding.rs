//! What `audit verify` can find wrong in the gate's tables, and how it names it: a table, a
//! kind and an event id or a row's position, never a value.

use std::fmt;

/// A table whose rows the chain must support.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum GateTable {
    /// One decision per (insurer, request id).
    VerificationRequests,
    /// One subject per (insurer, number) and one number per (insurer, subject).
    Registrations,
    /// One resolution per held (insurer, verification).
    HoldResolutions,
    /// The lookup columns of `audit_events` (request id, subject, number fingerprint), which
    /// the chain lookups of the append path read and the hash does not cover.
    LookupColumns,
    /// One row per open hold, with its deadline, risk class, reasons and assignee: derived
    /// data the clerks' queue reads (migrations 0008).
    OpenHolds,
    /// One row per decision, by subject: derived data the history of a subject reads
    /// (migrations 0010).
    SubjectDecisions,
    /// One row per held decision with what the hold statistics count of it: derived data
    /// (migrations 0011).
    HoldFacts,
    /// One row per candidate fingerprint of a held decision (migrations 0011).
    HoldCandidates,
}

impl GateTable {
    /// The table's name as an operator finds it in the database.
    pub fn name(self) -> &'static str {
        match self {
            GateTable::VerificationRequests => "verification_requests",
            GateTable::Registrations => "registrations",
            GateTable::HoldResolutions => "hold_resolutions",
            GateTable::LookupColumns => "audit_events (lookup columns)",
            GateTable::OpenHolds => "open_holds",
            GateTable::SubjectDecisions => "subject_decisions",
            GateTable::HoldFacts => "hold_facts",
            GateTable::HoldCandidates => "hold_candidates",
        }
    }

    /// The order rows are numbered in, as SQL, so that an operator can find row `n` with
    /// `ORDER BY … LIMIT 1 OFFSET n - 1`.
    pub fn key_order(self) -> &'static str {
        match self {
            GateTable::VerificationRequests => "insurer_number, request_id",
            GateTable::Registrations => "insurer_number, number_fp",
            GateTable::HoldResolutions => "insurer_number, verification_id",
            GateTable::LookupColumns => "id",
            GateTable::OpenHolds => "insurer_number, verification_id",
            GateTable::SubjectDecisions => "insurer_number, verification_id",
            GateTable::HoldFacts => "insurer_number, verification_id, hold_id",
            GateTable::HoldCandidates => "hold_id, key_id, mac",
        }
    }
}

/// What the chain records once and records twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Twice {
    /// Two decisions under one request id of one insurer.
    Request,
    /// Two commits of one number of one insurer.
    Number,
    /// Two commits for one subject of one insurer.
    Subject,
    /// Two resolutions of one hold.
    Resolution,
    /// Two held decisions under one verification id of one insurer.
    Hold,
    /// Two decisions under one verification id of one insurer.
    Decision,
}

/// One way the tables and the chain disagree. Names tables, event ids and row positions
/// only, never a value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Finding {
    /// The chain records a fact the table has no row for.
    MissingRow {
        /// The table.
        table: GateTable,
        /// The event that records the fact.
        event_id: i64,
    },
    /// A row under the key of a chain fact, with other content.
    RowDisagrees {
        /// The table.
        table: GateTable,
        /// The row's position (from 1) in [`GateTable::key_order`].
        row: usize,
        /// The (first) event that records the fact under that key.
        event_id: i64,
    },
    /// A row that no event of the chain supports.
    UnsupportedRow {
        /// The table.
        table: GateTable,
        /// The row's position (from 1) in [`GateTable::key_order`].
        row: usize,
    },
    /// The chain records one fact twice: the table let a second one through.
    RecordedTwice {
        /// The table that should have refused it.
        table: GateTable,
        /// Which fact.
        what: Twice,
        /// The event that recorded it first (lowest id).
        first: i64,
        /// The event that recorded it again.
        again: i64,
    },
}

impl Finding {
    /// The table the finding is about.
    pub fn table(&self) -> GateTable {
        match self {
            Finding::MissingRow { table, .. }
            | Finding::RowDisagrees { table, .. }
            | Finding::UnsupportedRow { table, .. }
            | Finding::RecordedTwice { table, .. } => *table,
        }
    }

    /// The finding's kind as printed: `MISSING ROW`, `ROW DISAGREES`, `UNSUPPORTED ROW`,
    /// `RECORDED TWICE`.
    pub fn kind(&self) -> &'static str {
        match self {
            Finding::MissingRow { .. } => "MISSING ROW",
            Finding::RowDisagrees { .. } => "ROW DISAGREES",
            Finding::UnsupportedRow { .. } => "UNSUPPORTED ROW",
            Finding::RecordedTwice { .. } => "RECORDED TWICE",
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let table = self.table();
        write!(f, "{}: {}: ", table.name(), self.kind())?;
        let event = match table {
            GateTable::VerificationRequests => "decision event",
            GateTable::Registrations => "commit event",
            GateTable::HoldResolutions => "resolution event",
            GateTable::LookupColumns => "event",
            GateTable::OpenHolds => "open held decision",
            GateTable::SubjectDecisions => "decision event",
            GateTable::HoldFacts | GateTable::HoldCandidates => "held decision",
        };
        match self {
            Finding::MissingRow { event_id, .. } => {
                write!(f, "{event} id {event_id} has no row")
            }
            Finding::RowDisagrees { event_id, .. } if table == GateTable::LookupColumns => write!(
                f,
                "{event} id {event_id} has lookup columns that are not its content"
            ),
            Finding::RowDisagrees { row, event_id, .. } => write!(
                f,
                "row {row} (ORDER BY {}) is not what {event} id {event_id} records under its key",
                table.key_order()
            ),
            Finding::UnsupportedRow { row, .. } => write!(
                f,
                "row {row} (ORDER BY {}) has no {event} in the chain",
                table.key_order()
            ),
            Finding::RecordedTwice {
                what, first, again, ..
            } => {
                let fact = match what {
                    Twice::Request => "decide one request id of one insurer",
                    Twice::Hold => "hold one verification id of one insurer",
                    Twice::Decision => "decide one verification id of one insurer",
                    Twice::Number => "commit one number of one insurer",
                    Twice::Subject => "commit a number for one subject of one insurer",
                    Twice::Resolution => "close one hold",
                };
                write!(f, "{event} ids {first} and {again} both {fact}")
            }
        }
    }
}
