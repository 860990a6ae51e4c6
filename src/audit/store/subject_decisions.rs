//! The subject decisions table (migrations 0010): one row per decision, (insurer, subject) →
//! (row id, verification id), so that the history of a subject — every decision of it and
//! every event that followed one — is found without decoding any body.
//!
//! Since format 2 a decision keeps its subject id in its body; the events that follow it
//! (assignments, resolutions, commits) carry its verification id in a column. A history is
//! therefore the subject's rows here joined with the events of those verifications through
//! the verification index ([`HISTORY`]).
//!
//! Derived data, kept in step with the events: each backend inserts the rows of a batch's
//! appended decisions in the transaction that appends them
//! (`BatchTransaction::apply_subject_decisions`). A log written before the table existed is
//! filled from its decisions when a store opens it ([`fill_if_pending`]); `audit verify`
//! rebuilds the table from the decisions and reports every difference (`audit::invariants`).

use std::fmt;

use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Pool, Transaction, Type};

use crate::audit::{
    AppendOutcome, AuditError, NewEvent, StoredEvent,
    store::fill,
    store::rows::{self, EventRow},
};

/// One row of `subject_decisions`.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SubjectDecisionRow {
    /// The insurer.
    pub insurer_number: String,
    /// The subject decided about.
    pub subject_id: String,
    /// The row id of the decision in `audit_events`.
    pub decision_id: i64,
    /// Its verification id.
    pub verification_id: String,
}

impl fmt::Debug for SubjectDecisionRow {
    /// The row id only: the other columns hold a subject id.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubjectDecisionRow")
            .field("decision_id", &self.decision_id)
            .finish_non_exhaustive()
    }
}

impl SubjectDecisionRow {
    /// The row of the event stored as row `id`; `None` for an event that is not a decision.
    pub fn of(id: i64, event: &NewEvent) -> Option<Self> {
        let d = event.as_decided()?;
        Some(SubjectDecisionRow {
            insurer_number: d.insurer_number.clone(),
            subject_id: d.subject_id.clone(),
            decision_id: id,
            verification_id: d.verification_id.clone(),
        })
    }
}

/// The rows of the decisions a batch appended, in batch order.
pub(crate) fn rows_of(
    events: &[NewEvent],
    outcomes: &[Option<AppendOutcome>],
) -> Vec<SubjectDecisionRow> {
    events
        .iter()
        .zip(outcomes)
        .filter_map(|(e, outcome)| match outcome {
            Some(AppendOutcome::Appended { id }) => SubjectDecisionRow::of(*id, e),
            _ => None,
        })
        .collect()
}

/// Inserts a decision's row; a row already there (filled at start while this batch waited)
/// stays.
pub(crate) const INSERT: &str = "INSERT INTO subject_decisions (insurer_number, subject_id, \
     decision_id, verification_id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";

/// Every row in key order (insurer, verification), for `audit verify`.
pub(crate) const SELECT_ALL: &str = "SELECT insurer_number, subject_id, decision_id, \
     verification_id FROM subject_decisions ORDER BY insurer_number, verification_id";

/// The columns of an event row as `sql.rs` reads them, of the events table named `e`.
macro_rules! event_columns_e {
    () => {
        "e.id, e.format, e.writer_id, e.seq, e.event_type, e.occurred_at_us, e.insurer_number, e.verification_id, e.decision, e.hash, e.body, e.caller, e.subject_id, e.subject_kind, e.request_id, e.policy_version, e.comparisons, e.hold_reasons, e.number_fp_key_id, e.number_fp, e.request_fp_key_id, e.request_fp, e.response, e.prev_hash, e.reason"
    };
}

/// Every event of the verifications of subject `$2` of insurer `$1` — their decisions and
/// whatever followed each — in row order, at most `$3`: one range of the table's key, then
/// the verification index once per decision.
const HISTORY: &str = concat!(
    "SELECT ",
    event_columns_e!(),
    " FROM subject_decisions s JOIN audit_events e \
      ON e.insurer_number = s.insurer_number AND e.verification_id = s.verification_id \
     WHERE s.insurer_number = $1 AND s.subject_id = $2 ORDER BY e.id LIMIT $3"
);

/// Every decision after row `$1`, in row order, at most `$2` (the fill).
const SELECT_DECISIONS: &str = concat!(
    "SELECT ",
    event_columns_e!(),
    " FROM audit_events e WHERE e.event_type = 'verification.decided' AND e.id > $1 \
     ORDER BY e.id LIMIT $2"
);

/// The history of one subject, over a pool of either backend.
pub(crate) async fn history<DB: Database>(
    pool: &Pool<DB>,
    insurer_number: &str,
    subject_id: &str,
    limit: i64,
) -> Result<Vec<StoredEvent>, AuditError>
where
    for<'r> EventRow: FromRow<'r, DB::Row>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
    for<'c> &'c mut <DB as Database>::Connection: Executor<'c, Database = DB>,
{
    let rows = sqlx::query_as::<DB, EventRow>(HISTORY)
        .bind(insurer_number)
        .bind(subject_id)
        .bind(limit)
        .fetch_all(pool)
        .await;
    rows::decode_rows(rows)
}

/// Fills the table from the decisions when migration 0010 left its `subject_decisions_fill`
/// row, and deletes that row, in `tx` (begun holding the write lock, as for the open holds:
/// SQLite's `BEGIN IMMEDIATE`; PostgreSQL's [`LOCK_PG`]), so that two processes opening one
/// store fill it once and no append falls between the read and the fill.
pub(crate) async fn fill_if_pending<DB: Database>(
    mut tx: Transaction<'_, DB>,
    lock: Option<&str>,
) -> Result<(), AuditError>
where
    for<'r> EventRow: FromRow<'r, DB::Row>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
    for<'c> &'c mut <DB as Database>::Connection: Executor<'c, Database = DB>,
{
    let unavailable = |e: sqlx::Error| rows::unavailable(&e);
    if !fill::pending(&mut tx, lock, "subject_decisions_fill").await? {
        return tx.rollback().await.map_err(unavailable);
    }
    let mut after_id = 0;
    loop {
        let page = sqlx::query_as::<DB, EventRow>(SELECT_DECISIONS)
            .bind(after_id)
            .bind(FILL_CHUNK)
            .fetch_all(&mut *tx)
            .await;
        let page = rows::decode_rows(page)?;
        for stored in &page {
            let Some(row) = SubjectDecisionRow::of(stored.id, &stored.event) else {
                continue;
            };
            sqlx::query(INSERT)
                .bind(row.insurer_number.as_str())
                .bind(row.subject_id.as_str())
                .bind(row.decision_id)
                .bind(row.verification_id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(unavailable)?;
        }
        match page.last() {
            Some(last) if page.len() as i64 == FILL_CHUNK => after_id = last.id,
            _ => break,
        }
    }
    sqlx::query("DELETE FROM subject_decisions_fill")
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
    tx.commit().await.map_err(unavailable)
}

/// Decisions read per statement while filling.
const FILL_CHUNK: i64 = 1_000;

/// PostgreSQL: taken by a filling start, so that a second process starting at the same time
/// waits and then finds the table filled, and no replica appends meanwhile.
pub(crate) const LOCK_PG: &str = "LOCK TABLE subject_decisions IN EXCLUSIVE MODE";
