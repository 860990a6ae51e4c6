//! The hold facts tables (migrations 0011): one row per held decision with what the hold
//! statistics count of it, and one row per candidate fingerprint of it, so that HoldStats is
//! one GROUP BY instead of decoding every hold, its resolution and the decision that replaced
//! it (BENCHMARKS.md, "Hold statistics").
//!
//! Derived data, kept in step with the events as the open holds table is: [`changes`] says what
//! a batch of appended events does to the tables, and each backend applies it in the
//! transaction that appends them (`BatchTransaction::apply_hold_facts`). A log written before
//! the tables existed is filled from its events when a store opens it ([`fill_if_pending`]);
//! `audit verify` rebuilds the rows from the events and reports every difference
//! (`audit::invariants`).
//!
//! What is stored is what the events say, never a judgement of the running policy: a hold's
//! comparisons are all kept but the exact ones (which no policy refuses), and which of them
//! the policy refuses is decided when the statistics are read. The one value taken from another event is the number fingerprint of
//! the decision that replaced a re-queried hold, read when its resolution is appended (the
//! service admits only a replacement decided before the resolution, so the first decision of
//! that verification id is already in the chain then).

use std::fmt;

use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Transaction, Type};

use crate::{
    audit::store::fill,
    audit::{
        AppendOutcome, AuditError, ComparisonRow, Decided, Fingerprint, HoldResolved, NewEvent,
        event::encoding::{self, Columns},
        micros_since_epoch,
        store::open_holds::{reason_bits, risk_rank},
        store::rows::{self, EventRow},
    },
    domain::{Field, MatchClass, Stage, gate::DecisionKind},
};

/// One row of `hold_facts`, with the hold's candidate fingerprints (`hold_candidates`).
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct HoldFactRow {
    /// The insurer.
    pub insurer_number: String,
    /// The held verification.
    pub verification_id: String,
    /// The row id of the held decision.
    pub hold_id: i64,
    /// Its subject (a number from the person is looked up by it).
    pub subject_id: String,
    /// When it was decided, whole microseconds since the epoch.
    pub decided_at_us: i64,
    /// Its registration deadline, nanoseconds since the epoch ([`nanos_since_epoch`]).
    pub register_by_ns: Option<i64>,
    /// Its distinct comparisons ([`comparisons_key`]).
    pub comparisons: String,
    /// Its hold reasons' bit set (as in `open_holds`).
    pub reasons: i64,
    /// Its risk class's rank (as in `open_holds`).
    pub risk_rank: i64,
    /// The id of its first resolution; `None` while open.
    pub resolution: Option<String>,
    /// The id of that resolution's cause.
    pub cause: Option<String>,
    /// When it was resolved, whole microseconds since the epoch.
    pub resolved_at_us: Option<i64>,
    /// Re-queried: the key id of the replacing decision's number fingerprint.
    pub back_key_id: Option<String>,
    /// Re-queried: the MAC of the replacing decision's number fingerprint.
    pub back_mac: Option<String>,
    /// Its candidates' number fingerprints, distinct, sorted (the `hold_candidates` rows).
    #[sqlx(skip)]
    pub candidates: Vec<(String, String)>,
}

impl fmt::Debug for HoldFactRow {
    /// The row id only: the other columns hold a subject id and number fingerprints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HoldFactRow")
            .field("hold_id", &self.hold_id)
            .finish_non_exhaustive()
    }
}

impl HoldFactRow {
    /// The row a held decision stored as row `hold_id` starts with (open); `None` for a
    /// decision that is not a hold.
    pub fn of(hold_id: i64, d: &Decided) -> Option<Self> {
        if d.decision != DecisionKind::Hold {
            return None;
        }
        let mut candidates: Vec<(String, String)> = d
            .candidate_fingerprints
            .iter()
            .flatten()
            .map(|c| (c.key_id.clone(), c.mac_hex.clone()))
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        Some(HoldFactRow {
            insurer_number: d.insurer_number.clone(),
            verification_id: d.verification_id.clone(),
            hold_id,
            subject_id: d.subject_id.clone(),
            decided_at_us: micros_since_epoch(d.occurred_at),
            register_by_ns: d.register_by.map(nanos_since_epoch),
            comparisons: comparisons_key(&d.comparisons),
            reasons: reason_bits(&d.hold_reasons),
            risk_rank: risk_rank(d.risk_class()),
            resolution: None,
            cause: None,
            resolved_at_us: None,
            back_key_id: None,
            back_mac: None,
            candidates,
        })
    }

    /// This row closed by `r`, whose replacement (re-queried) carried `back`.
    pub fn resolve(&mut self, r: &HoldResolved, back: Option<Fingerprint>) {
        self.resolution = Some(r.resolution.id().to_owned());
        self.cause = r.cause.map(|c| c.id().to_owned());
        self.resolved_at_us = Some(micros_since_epoch(r.occurred_at));
        (self.back_key_id, self.back_mac) = match back {
            Some(fp) => (Some(fp.key_id), Some(fp.mac_hex)),
            None => (None, None),
        };
    }
}

/// `t` in nanoseconds since the epoch, as exact as an event keeps a deadline (a time before
/// the epoch is stored as the epoch, as the event's encoding does; after 2262, the largest).
pub fn nanos_since_epoch(t: std::time::SystemTime) -> i64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// The stored form of a decision's distinct comparisons that were not exact (no policy
/// refuses an exact one, `Policy::accepts`; most of a hold's comparisons are exact, and leaving
/// them out keeps the row and the statistics' grouping key short): each as the positions of
/// its stage, field and class in [`Stage::ALL`], [`Field::ALL`] and [`MatchClass::ALL`]
/// ("s.f.c"), sorted, joined by ",". Adding a value at the end of those lists keeps every
/// stored key right.
pub fn comparisons_key(comparisons: &[ComparisonRow]) -> String {
    let position = |c: &ComparisonRow| {
        let s = Stage::ALL.iter().position(|&x| x == c.stage)?;
        let f = Field::ALL.iter().position(|&x| x == c.field)?;
        let k = MatchClass::ALL.iter().position(|&x| x == c.class)?;
        Some(format!("{s}.{f}.{k}"))
    };
    let mut keys: Vec<String> = comparisons
        .iter()
        .filter(|c| c.class != MatchClass::Exact)
        .filter_map(position)
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys.join(",")
}

/// The comparisons of a stored [`comparisons_key`]; `None` when it is not one.
pub fn parse_comparisons(key: &str) -> Option<Vec<(Stage, Field, MatchClass)>> {
    if key.is_empty() {
        return Some(Vec::new());
    }
    key.split(',')
        .map(|triple| {
            let mut parts = triple.split('.').map(|p| p.parse::<usize>().ok());
            let stage = *Stage::ALL.get(parts.next()??)?;
            let field = *Field::ALL.get(parts.next()??)?;
            let class = *MatchClass::ALL.get(parts.next()??)?;
            parts.next().is_none().then_some((stage, field, class))
        })
        .collect()
}

/// What one appended event does to the tables.
#[derive(Clone)]
pub enum HoldFactChange<'a> {
    /// A hold was decided: its row and candidates (boxed: a row is 35 times a reference).
    Hold(Box<HoldFactRow>),
    /// A hold was resolved (its first resolution fills the row).
    Resolve(&'a HoldResolved),
}

impl fmt::Debug for HoldFactChange<'_> {
    /// The kind and hold id only: a resolution names a subject.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HoldFactChange::Hold(row) => f.debug_tuple("Hold").field(row).finish(),
            HoldFactChange::Resolve(_) => f.write_str("Resolve(..)"),
        }
    }
}

/// What the appended events among `events` do to the tables, in batch order.
pub(crate) fn changes<'a>(
    events: &'a [NewEvent],
    outcomes: &[Option<AppendOutcome>],
) -> Vec<HoldFactChange<'a>> {
    events
        .iter()
        .zip(outcomes)
        .filter_map(|(e, outcome)| {
            let Some(AppendOutcome::Appended { id }) = outcome else {
                return None;
            };
            match e {
                NewEvent::Decided(d) => {
                    HoldFactRow::of(*id, d).map(|r| HoldFactChange::Hold(Box::new(r)))
                }
                NewEvent::HoldResolved(r) => Some(HoldFactChange::Resolve(r)),
                _ => None,
            }
        })
        .collect()
}

/// Inserts a hold's row; a row already there (filled at start while this batch waited) stays.
pub(crate) const INSERT: &str = "INSERT INTO hold_facts (insurer_number, verification_id, \
     hold_id, subject_id, decided_at_us, register_by_ns, comparisons, reasons, risk_rank) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING";

/// Inserts one candidate fingerprint of a hold.
pub(crate) const INSERT_CANDIDATE: &str = "INSERT INTO hold_candidates (hold_id, key_id, mac) \
     VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";

/// Fills in the first resolution of a hold: `$1` resolution, `$2` cause, `$3` when, `$4` and
/// `$5` the replacement's number fingerprint, of (`$6` insurer, `$7` verification). Placeholders
/// in order of first use: the SQLite writer binds by position.
pub(crate) const RESOLVE: &str = "UPDATE hold_facts SET resolution = $1, cause = $2, \
     resolved_at_us = $3, back_key_id = $4, back_mac = $5 \
     WHERE insurer_number = $6 AND verification_id = $7 AND resolution IS NULL";

/// The first decision of (`$1` insurer, `$2` verification): the columns its number
/// fingerprint is read from ([`decision_number`]).
pub(crate) const SELECT_DECISION: &str = "SELECT format, event_type, occurred_at_us, \
     insurer_number, verification_id, decision, body, number_fp_key_id, number_fp \
     FROM audit_events WHERE insurer_number = $1 AND verification_id = $2 \
      AND event_type = 'verification.decided' ORDER BY id LIMIT 1";

/// The columns [`SELECT_DECISION`] reads, by name.
#[derive(sqlx::FromRow)]
pub(crate) struct DecisionColumns {
    pub(crate) format: i32,
    pub(crate) event_type: String,
    pub(crate) occurred_at_us: i64,
    pub(crate) insurer_number: String,
    pub(crate) verification_id: String,
    pub(crate) decision: Option<String>,
    pub(crate) body: Option<Vec<u8>>,
    pub(crate) number_fp_key_id: Option<String>,
    pub(crate) number_fp: Option<String>,
}

/// The number fingerprint of the decision stored as `row`: format 1 keeps it in its columns,
/// format 2 in its body. A body that cannot be decoded gives none: the event is then
/// unreadable everywhere, and `audit verify` reports it.
pub(crate) fn decision_number(row: DecisionColumns) -> Option<Fingerprint> {
    if row.format != encoding::FORMAT {
        return Some(Fingerprint {
            key_id: row.number_fp_key_id?,
            mac_hex: row.number_fp?,
        });
    }
    let columns = Columns {
        kind: &row.event_type,
        occurred_at_us: row.occurred_at_us,
        insurer_number: &row.insurer_number,
        verification_id: &row.verification_id,
        decision: row.decision.as_deref().unwrap_or(""),
    };
    match encoding::decode(&columns, row.body.as_deref()?) {
        Ok(NewEvent::Decided(d)) => d.number_fingerprint,
        _ => None,
    }
}

/// Every row in key order (insurer, verification, hold), for `audit verify`.
pub(crate) const SELECT_ALL: &str = "SELECT insurer_number, verification_id, hold_id, \
     subject_id, decided_at_us, register_by_ns, comparisons, reasons, risk_rank, resolution, \
     cause, resolved_at_us, back_key_id, back_mac FROM hold_facts \
     ORDER BY insurer_number, verification_id, hold_id";

/// Every candidate row, by hold, for `audit verify`.
pub(crate) const SELECT_ALL_CANDIDATES: &str =
    "SELECT hold_id, key_id, mac FROM hold_candidates ORDER BY hold_id, key_id, mac";

/// A row of `hold_candidates`.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CandidateRow {
    /// The hold.
    pub hold_id: i64,
    /// The fingerprint's key id.
    pub key_id: String,
    /// The fingerprint's MAC.
    pub mac: String,
}

impl fmt::Debug for CandidateRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CandidateRow")
            .field("hold_id", &self.hold_id)
            .finish_non_exhaustive()
    }
}

/// Applies `changes` on `conn` (a transaction's connection), in order.
pub(crate) async fn apply<DB: Database>(
    conn: &mut DB::Connection,
    changes: &[HoldFactChange<'_>],
) -> Result<(), sqlx::Error>
where
    for<'r> DecisionColumns: FromRow<'r, DB::Row>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
    for<'e> &'e mut DB::Connection: Executor<'e, Database = DB>,
{
    for change in changes {
        match change {
            HoldFactChange::Hold(row) => {
                sqlx::query(INSERT)
                    .bind(row.insurer_number.as_str())
                    .bind(row.verification_id.as_str())
                    .bind(row.hold_id)
                    .bind(row.subject_id.as_str())
                    .bind(row.decided_at_us)
                    .bind(row.register_by_ns)
                    .bind(row.comparisons.as_str())
                    .bind(row.reasons)
                    .bind(row.risk_rank)
                    .execute(&mut *conn)
                    .await?;
                for (key_id, mac) in &row.candidates {
                    sqlx::query(INSERT_CANDIDATE)
                        .bind(row.hold_id)
                        .bind(key_id.as_str())
                        .bind(mac.as_str())
                        .execute(&mut *conn)
                        .await?;
                }
            }
            HoldFactChange::Resolve(r) => {
                let back = match r.resolution {
                    crate::domain::gate::Resolution::Requeried => {
                        sqlx::query_as::<DB, DecisionColumns>(SELECT_DECISION)
                            .bind(r.insurer_number.as_str())
                            .bind(r.replaced_by_verification_id.as_str())
                            .fetch_optional(&mut *conn)
                            .await?
                            .and_then(decision_number)
                    }
                    _ => None,
                };
                sqlx::query(RESOLVE)
                    .bind(r.resolution.id())
                    .bind(r.cause.map(|c| c.id()))
                    .bind(micros_since_epoch(r.occurred_at))
                    .bind(back.as_ref().map(|b| b.key_id.as_str()))
                    .bind(back.as_ref().map(|b| b.mac_hex.as_str()))
                    .bind(r.insurer_number.as_str())
                    .bind(r.verification_id.as_str())
                    .execute(&mut *conn)
                    .await?;
            }
        }
    }
    Ok(())
}

/// The columns of an event row as `sql.rs` reads them, of the events table named `e`.
macro_rules! event_columns_e {
    () => {
        "e.id, e.format, e.writer_id, e.seq, e.event_type, e.occurred_at_us, e.insurer_number, \
         e.verification_id, e.decision, e.hash, e.body, e.caller, e.subject_id, e.subject_kind, \
         e.request_id, e.policy_version, e.comparisons, e.hold_reasons, e.number_fp_key_id, \
         e.number_fp, e.request_fp_key_id, e.request_fp, e.response, e.prev_hash, e.reason"
    };
}

/// Every held decision after (`$1` insurer, `$2` row), at most `$3`, through the holds index.
const SELECT_HOLDS: &str = concat!(
    "SELECT ",
    event_columns_e!(),
    " FROM audit_events e WHERE e.event_type = 'verification.decided' AND e.decision = 'hold' \
      AND (e.insurer_number, e.id) > ($1, $2) ORDER BY e.insurer_number, e.id LIMIT $3"
);

/// Every resolution after row `$1`, at most `$2`, in row order.
const SELECT_RESOLUTIONS: &str = concat!(
    "SELECT ",
    event_columns_e!(),
    " FROM audit_events e WHERE e.event_type = 'hold.resolved' AND e.id > $1 \
     ORDER BY e.id LIMIT $2"
);

/// Events read per statement while filling.
const FILL_CHUNK: i64 = 1_000;

/// Fills the tables from the events when migration 0011 left its `hold_facts_fill` row, and
/// deletes that row, in `tx` (begun holding the write lock, as for `open_holds`): every hold,
/// then every resolution in row order, applied as the append path applies them.
pub(crate) async fn fill_if_pending<DB: Database>(
    mut tx: Transaction<'_, DB>,
    lock: Option<&str>,
) -> Result<(), AuditError>
where
    for<'r> EventRow: FromRow<'r, DB::Row>,
    for<'r> DecisionColumns: FromRow<'r, DB::Row>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
    for<'c> &'c mut <DB as Database>::Connection: Executor<'c, Database = DB>,
{
    let unavailable = |e: sqlx::Error| rows::unavailable(&e);
    if !fill::pending(&mut tx, lock, "hold_facts_fill").await? {
        return tx.rollback().await.map_err(unavailable);
    }
    let (mut after_insurer, mut after_id) = (String::new(), 0);
    loop {
        let page = sqlx::query_as::<DB, EventRow>(SELECT_HOLDS)
            .bind(after_insurer.as_str())
            .bind(after_id)
            .bind(FILL_CHUNK)
            .fetch_all(&mut *tx)
            .await;
        let page = rows::decode_rows(page)?;
        let changes: Vec<HoldFactChange<'_>> = page
            .iter()
            .filter_map(|s| s.event.as_decided().and_then(|d| HoldFactRow::of(s.id, d)))
            .map(|row| HoldFactChange::Hold(Box::new(row)))
            .collect();
        apply::<DB>(&mut *tx, &changes).await.map_err(unavailable)?;
        match page.last() {
            Some(last) if page.len() as i64 == FILL_CHUNK => {
                after_insurer = last.event.insurer_number().to_owned();
                after_id = last.id;
            }
            _ => break,
        }
    }
    let mut after_id = 0;
    loop {
        let page = sqlx::query_as::<DB, EventRow>(SELECT_RESOLUTIONS)
            .bind(after_id)
            .bind(FILL_CHUNK)
            .fetch_all(&mut *tx)
            .await;
        let page = rows::decode_rows(page)?;
        let changes: Vec<HoldFactChange<'_>> = page
            .iter()
            .filter_map(|s| match &s.event {
                NewEvent::HoldResolved(r) => Some(HoldFactChange::Resolve(r)),
                _ => None,
            })
            .collect();
        apply::<DB>(&mut *tx, &changes).await.map_err(unavailable)?;
        match page.last() {
            Some(last) if page.len() as i64 == FILL_CHUNK => after_id = last.id,
            _ => break,
        }
    }
    sqlx::query("DELETE FROM hold_facts_fill")
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
    tx.commit().await.map_err(unavailable)
}

/// PostgreSQL: taken by a filling start (see `open_holds::LOCK_PG`).
pub(crate) const LOCK_PG: &str = "LOCK TABLE hold_facts IN EXCLUSIVE MODE";
