//! The open holds table (migrations 0008): one row per held decision that no resolution has
//! closed, with what the clerks' queue sorts and filters by, so that a page of the queue in
//! triage order reads a page of rows instead of decoding every open hold.
//!
//! Derived data, kept in step with the events: [`changes`] says what a batch of appended
//! events does to the table, and each backend applies it in the transaction that appends them
//! (`BatchTransaction::apply_open_holds`). A log written before the table existed is filled
//! from its events when a store opens it ([`fill_if_pending`]); `audit verify` rebuilds the
//! table from the events and reports every difference (`audit::invariants`).
//!
//! The sort keys of the queue are stored as numbers: a risk class as its position in
//! [`RiskClass::ALL`] (most urgent first), hold reasons as a bit set over [`HoldReason::ALL`].
//! Adding a class or a reason at the end of those lists keeps every stored value right; a
//! class inserted in the middle would need the table rebuilt (delete its rows and insert the
//! `open_holds_fill` row: the next start fills it again).

use std::{collections::HashMap, fmt};

use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Pool, Transaction, Type};

use crate::{
    audit::store::fill,
    audit::{
        AppendOutcome, AuditError, Decided, NewEvent, StoredEvent, micros_since_epoch,
        store::rows::{self, EventRow},
        store::sql,
    },
    domain::{
        gate::{DecisionKind, HoldReason},
        risk::RiskClass,
    },
};

/// One row of `open_holds`.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OpenHoldRow {
    /// The row id of the held decision.
    pub hold_id: i64,
    /// The insurer.
    pub insurer_number: String,
    /// The held verification.
    pub verification_id: String,
    /// Its subject.
    pub subject_id: String,
    /// Its registration deadline, whole microseconds since the epoch.
    pub register_by_us: Option<i64>,
    /// Its risk class's [`risk_rank`].
    pub risk_rank: i64,
    /// Its hold reasons' [`reason_bits`].
    pub reasons: i64,
    /// Who works it; empty: nobody.
    pub assignee: String,
}

impl fmt::Debug for OpenHoldRow {
    /// The row id only: the other columns hold a subject id and a clerk's name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenHoldRow")
            .field("hold_id", &self.hold_id)
            .finish_non_exhaustive()
    }
}

impl OpenHoldRow {
    /// The row a held decision stored as row `hold_id` starts with; `None` for a decision
    /// that is not a hold.
    pub fn of(hold_id: i64, d: &Decided) -> Option<Self> {
        (d.decision == DecisionKind::Hold).then(|| OpenHoldRow {
            hold_id,
            insurer_number: d.insurer_number.clone(),
            verification_id: d.verification_id.clone(),
            subject_id: d.subject_id.clone(),
            register_by_us: d.register_by.map(micros_since_epoch),
            risk_rank: risk_rank(d.risk_class()),
            reasons: reason_bits(&d.hold_reasons),
            assignee: String::new(),
        })
    }
}

/// The stored rank of a risk class: its position in [`RiskClass::ALL`]; after every class for
/// none (which a held decision always has).
pub fn risk_rank(risk: Option<RiskClass>) -> i64 {
    risk.and_then(|r| RiskClass::ALL.iter().position(|&c| c == r))
        .unwrap_or(RiskClass::ALL.len()) as i64
}

/// The ranks of every class and of "none", in triage order.
pub fn all_ranks() -> std::ops::RangeInclusive<i64> {
    0..=RiskClass::ALL.len() as i64
}

/// The stored bit set of hold reasons: bit n for [`HoldReason::ALL`]`[n]`.
pub fn reason_bits(reasons: &[HoldReason]) -> i64 {
    reasons
        .iter()
        .filter_map(|r| HoldReason::ALL.iter().position(|c| c == r))
        .fold(0, |bits, n| bits | (1 << n))
}

/// The stored bit set of risk ranks: bit n for rank n (what a risk class filter asks for).
pub fn rank_bits(classes: &[RiskClass]) -> i64 {
    classes
        .iter()
        .map(|&c| risk_rank(Some(c)))
        .fold(0, |bits, n| bits | (1 << n))
}

/// What one appended event does to the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenHoldChange<'a> {
    /// A hold was decided: its row.
    Open(OpenHoldRow),
    /// A hold was claimed or released: (insurer, verification, assignee or '').
    Assign(&'a str, &'a str, &'a str),
    /// A hold was resolved: (insurer, verification).
    Close(&'a str, &'a str),
}

/// What the appended events among `events` do to the table, in batch order (a claim and a
/// resolution of one hold in one batch apply in the order they were appended).
pub(crate) fn changes<'a>(
    events: &'a [NewEvent],
    outcomes: &[Option<AppendOutcome>],
) -> Vec<OpenHoldChange<'a>> {
    events
        .iter()
        .zip(outcomes)
        .filter_map(|(e, outcome)| {
            let Some(AppendOutcome::Appended { id }) = outcome else {
                return None;
            };
            match e {
                NewEvent::Decided(d) => OpenHoldRow::of(*id, d).map(OpenHoldChange::Open),
                NewEvent::HoldAssigned(a) => Some(OpenHoldChange::Assign(
                    &a.insurer_number,
                    &a.verification_id,
                    &a.assignee,
                )),
                NewEvent::HoldResolved(r) => {
                    Some(OpenHoldChange::Close(&r.insurer_number, &r.verification_id))
                }
                _ => None,
            }
        })
        .collect()
}

/// The columns of an event row as `sql.rs` reads them, of the events table named `e`.
macro_rules! event_columns_e {
    () => {
        "e.id, e.format, e.writer_id, e.seq, e.event_type, e.occurred_at_us, e.insurer_number, e.verification_id, e.decision, e.hash, e.body, e.caller, e.subject_id, e.subject_kind, e.request_id, e.policy_version, e.comparisons, e.hold_reasons, e.number_fp_key_id, e.number_fp, e.request_fp_key_id, e.request_fp, e.response, e.prev_hash, e.reason"
    };
}

/// Inserts a hold's row; a row already there (filled at start while this batch waited) stays.
pub(crate) const INSERT: &str = "INSERT INTO open_holds (hold_id, insurer_number, \
     verification_id, subject_id, register_by_us, risk_rank, reasons, assignee) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING";

/// Sets who works a hold: `$1` who ('' nobody), `$2` insurer, `$3` verification. (Placeholders
/// in order of first use: the SQLite writer binds by position.)
pub(crate) const ASSIGN: &str =
    "UPDATE open_holds SET assignee = $1 WHERE insurer_number = $2 AND verification_id = $3";

/// Removes a resolved hold.
pub(crate) const CLOSE: &str =
    "DELETE FROM open_holds WHERE insurer_number = $1 AND verification_id = $2";

/// Every row in key order (insurer, verification), for `audit verify`.
pub(crate) const SELECT_ALL: &str = "SELECT hold_id, insurer_number, verification_id, \
     subject_id, register_by_us, risk_rank, reasons, assignee FROM open_holds \
     ORDER BY insurer_number, verification_id";

/// Open holds of one insurer per (risk rank, overdue at `$2`): through the triage index
/// alone.
const COUNTS: &str = "SELECT risk_rank, \
     CAST(CASE WHEN register_by_us < $2 THEN 1 ELSE 0 END AS BIGINT) AS overdue, \
     CAST(COUNT(*) AS BIGINT) AS n FROM open_holds WHERE insurer_number = $1 \
     GROUP BY risk_rank, CASE WHEN register_by_us < $2 THEN 1 ELSE 0 END";

/// The filters every page query ends with: `$5` reason bits (0: any), `$6` assignee ('' :
/// anyone), `$7` 1 for unassigned only.
macro_rules! filters {
    () => {
        " AND ($5 = 0 OR (o.reasons & $5) <> 0) AND ($6 = '' OR o.assignee = $6) \
          AND ($7 = 0 OR o.assignee = '')"
    };
}

/// One (risk rank `$2`, overdue at `$4`) group of one insurer's open holds after row `$3`,
/// oldest first, at most `$8`: a range of the triage index.
const TRIAGE_OVERDUE: &str = concat!(
    "SELECT ",
    event_columns_e!(),
    " FROM open_holds o JOIN audit_events e ON e.id = o.hold_id \
     WHERE o.insurer_number = $1 AND o.risk_rank = $2 AND o.hold_id > $3 \
      AND o.register_by_us < $4",
    filters!(),
    " ORDER BY o.hold_id LIMIT $8"
);

/// [`TRIAGE_OVERDUE`] for the holds not overdue at `$4`.
const TRIAGE_NOT_OVERDUE: &str = concat!(
    "SELECT ",
    event_columns_e!(),
    " FROM open_holds o JOIN audit_events e ON e.id = o.hold_id \
     WHERE o.insurer_number = $1 AND o.risk_rank = $2 AND o.hold_id > $3 \
      AND (o.register_by_us IS NULL OR o.register_by_us >= $4)",
    filters!(),
    " ORDER BY o.hold_id LIMIT $8"
);

/// One insurer's open holds after row `$3`, oldest first, at most `$8`; `$2` risk rank bits
/// (0: any), `$4` the time overdue is judged at and `$9` 1 for overdue only.
const OLDEST: &str = concat!(
    "SELECT ",
    event_columns_e!(),
    " FROM open_holds o JOIN audit_events e ON e.id = o.hold_id \
     WHERE o.insurer_number = $1 AND o.hold_id > $3 \
      AND ($2 = 0 OR ((CAST(1 AS BIGINT) << CAST(o.risk_rank AS INTEGER)) & $2) <> 0) \
      AND ($9 = 0 OR o.register_by_us < $4)",
    filters!(),
    " ORDER BY o.hold_id LIMIT $8"
);

/// Which open holds a page query reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenHoldsRange {
    /// Every open hold, oldest first.
    Oldest {
        /// Only these risk ranks ([`rank_bits`]); 0: any.
        rank_bits: i64,
        /// Only holds overdue at the listing's time.
        overdue_only: bool,
    },
    /// One group of the triage order: one risk rank, overdue or not at the listing's time.
    Triage {
        /// The [`risk_rank`].
        risk_rank: i64,
        /// Overdue (`true`) or not.
        overdue: bool,
    },
}

/// A page query of the open holds of one insurer.
#[derive(Debug, Clone)]
pub struct OpenHoldsQuery<'a> {
    /// The insurer.
    pub insurer_number: &'a str,
    /// The range read.
    pub range: OpenHoldsRange,
    /// Rows after this hold id.
    pub after_id: i64,
    /// The time overdue is judged at, whole microseconds.
    pub as_of_us: i64,
    /// Only holds with one of these reasons ([`reason_bits`]); 0: any.
    pub reason_bits: i64,
    /// Only holds this person works; empty: anyone.
    pub assignee: &'a str,
    /// Only holds nobody works.
    pub unassigned_only: bool,
    /// At most this many.
    pub limit: i64,
}

/// How many open holds of one risk rank are overdue or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct OpenHoldCount {
    /// The [`risk_rank`].
    pub risk_rank: i64,
    /// 1 overdue, 0 not.
    pub overdue: i64,
    /// How many.
    pub n: i64,
}

/// The reads of the table, over a pool of either backend.
pub(crate) struct OpenHolds<'p, DB: Database>(pub(crate) &'p Pool<DB>);

impl<DB: Database> OpenHolds<'_, DB>
where
    for<'r> EventRow: FromRow<'r, DB::Row>,
    for<'r> OpenHoldCount: FromRow<'r, DB::Row>,
    for<'r> OpenHoldRow: FromRow<'r, DB::Row>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
    for<'c> &'c mut <DB as Database>::Connection: Executor<'c, Database = DB>,
{
    /// One page of `query`, with the decisions' events.
    pub(crate) async fn page(
        &self,
        query: &OpenHoldsQuery<'_>,
    ) -> Result<Vec<StoredEvent>, AuditError> {
        let (text, first) = match query.range {
            OpenHoldsRange::Oldest { rank_bits, .. } => (OLDEST, rank_bits),
            OpenHoldsRange::Triage {
                risk_rank,
                overdue: true,
            } => (TRIAGE_OVERDUE, risk_rank),
            OpenHoldsRange::Triage { risk_rank, .. } => (TRIAGE_NOT_OVERDUE, risk_rank),
        };
        let overdue_only = match query.range {
            OpenHoldsRange::Oldest { overdue_only, .. } => i64::from(overdue_only),
            OpenHoldsRange::Triage { .. } => 0,
        };
        let mut q = sqlx::query_as::<DB, EventRow>(text)
            .bind(query.insurer_number)
            .bind(first)
            .bind(query.after_id)
            .bind(query.as_of_us)
            .bind(query.reason_bits)
            .bind(query.assignee)
            .bind(i64::from(query.unassigned_only))
            .bind(query.limit);
        if text == OLDEST {
            q = q.bind(overdue_only);
        }
        rows::decode_rows(q.fetch_all(self.0).await)
    }

    /// Open holds of one insurer per (risk rank, overdue at `as_of_us`), groups with none left
    /// out.
    pub(crate) async fn counts(
        &self,
        insurer_number: &str,
        as_of_us: i64,
    ) -> Result<Vec<OpenHoldCount>, AuditError> {
        sqlx::query_as::<DB, OpenHoldCount>(COUNTS)
            .bind(insurer_number)
            .bind(as_of_us)
            .fetch_all(self.0)
            .await
            .map_err(|e| rows::unavailable(&e))
    }
}

/// Fills the table from the events when migration 0008 left its `open_holds_fill` row, and
/// deletes that row, in `tx` (which the caller began holding the write lock: SQLite's
/// `BEGIN IMMEDIATE`; PostgreSQL's lock below), so that two processes opening one store fill
/// it once and no append falls between the read and the fill.
pub(crate) async fn fill_if_pending<DB: Database>(
    mut tx: Transaction<'_, DB>,
    lock: Option<&str>,
) -> Result<(), AuditError>
where
    for<'r> EventRow: FromRow<'r, DB::Row>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
    for<'c> &'c mut <DB as Database>::Connection: Executor<'c, Database = DB>,
{
    let unavailable = |e: sqlx::Error| rows::unavailable(&e);
    if !fill::pending(&mut tx, lock, "open_holds_fill").await? {
        return tx.rollback().await.map_err(unavailable);
    }
    // Who works each hold: the last assignment of each verification (few events).
    let assignments = sqlx::query_as::<DB, EventRow>(SELECT_ASSIGNMENTS)
        .fetch_all(&mut *tx)
        .await;
    let mut assignees: HashMap<(String, String), String> = HashMap::new();
    for stored in rows::decode_rows(assignments)? {
        if let NewEvent::HoldAssigned(a) = stored.event {
            assignees.insert((a.insurer_number, a.verification_id), a.assignee);
        }
    }
    let (mut after_insurer, mut after_id) = (String::new(), 0);
    loop {
        let page = sqlx::query_as::<DB, EventRow>(sql::SELECT_ALL_OPEN_HOLDS)
            .bind(after_insurer.as_str())
            .bind(after_id)
            .bind(FILL_CHUNK)
            .fetch_all(&mut *tx)
            .await;
        let page = rows::decode_rows(page)?;
        let exhausted = (page.len() as i64) < FILL_CHUNK;
        for stored in &page {
            let Some(mut row) = stored
                .event
                .as_decided()
                .and_then(|d| OpenHoldRow::of(stored.id, d))
            else {
                continue;
            };
            if let Some(who) =
                assignees.remove(&(row.insurer_number.clone(), row.verification_id.clone()))
            {
                row.assignee = who;
            }
            sqlx::query(INSERT)
                .bind(row.hold_id)
                .bind(row.insurer_number.as_str())
                .bind(row.verification_id.as_str())
                .bind(row.subject_id.as_str())
                .bind(row.register_by_us)
                .bind(row.risk_rank)
                .bind(row.reasons)
                .bind(row.assignee.as_str())
                .execute(&mut *tx)
                .await
                .map_err(unavailable)?;
        }
        match page.last() {
            Some(last) if !exhausted => {
                after_insurer = last.event.insurer_number().to_owned();
                after_id = last.id;
            }
            _ => break,
        }
    }
    sqlx::query("DELETE FROM open_holds_fill")
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
    tx.commit().await.map_err(unavailable)
}

/// Open holds read per statement while filling.
const FILL_CHUNK: i64 = 1_000;

/// Every assignment, in row order.
const SELECT_ASSIGNMENTS: &str = concat!(
    "SELECT ",
    event_columns_e!(),
    " FROM audit_events e WHERE e.event_type = 'hold.assigned' ORDER BY e.id"
);

/// PostgreSQL: taken by a filling start, so that a second process starting at the same time
/// waits and then finds the table filled, and no replica appends meanwhile.
pub(crate) const LOCK_PG: &str = "LOCK TABLE open_holds IN EXCLUSIVE MODE";
