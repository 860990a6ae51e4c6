//! The hold statistics' one read: the held decisions of a period grouped by everything
//! HoldStats counts them by, over the hold facts tables (migrations 0011), so that a few
//! hundred group rows cross from the database instead of ~400,000 events (BENCHMARKS.md).
//!
//! Per hold, the statement works out what the use case used to work out from the events:
//!
//! - **overdue**: an open hold past its deadline at `$4`, a closed one past it at its close;
//! - **time to resolve**: from decision to resolution, for a hold resolved no earlier than it
//!   was decided; kept per group as a list (`string_agg`, both databases), because the median
//!   and the 90th percentile of a row of the statistics cannot be added from its groups';
//! - **same number back**: the number that came back — the replacing decision's (re-queried,
//!   stored with the resolution), or the one the subject was registered with (number from the
//!   person: the registrations table, or the chain's commit when its row is gone) — against
//!   the hold's candidates under that number's key: 1 one of them, 0 none of them, NULL when
//!   no number came back or no candidate is under its key.

use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Pool, Type};

use crate::audit::{AuditError, store::rows};

/// One group of held decisions that HoldStats counts alike.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct HoldGroup {
    /// The insurer.
    pub insurer_number: String,
    /// The holds' distinct comparisons (`hold_facts::comparisons_key`).
    pub comparisons: String,
    /// Their hold reasons' bit set.
    pub reasons: i64,
    /// Their risk rank.
    pub risk_rank: i64,
    /// How they were resolved (its id); `None`: open.
    pub resolution: Option<String>,
    /// The cause given (its id).
    pub cause: Option<String>,
    /// 1: past the deadline (at close, or at the statistics' time while open).
    pub overdue: i64,
    /// 1 same number back, 0 another number, `None` unknown or not applicable.
    pub same_number: Option<i64>,
    /// How many holds.
    pub holds: i64,
    /// Their times to resolve, whole microseconds, comma-separated; `None` when none.
    pub took_us: Option<String>,
}

/// The number that came back for `f`, key id and MAC (`$x` stands for which).
macro_rules! came_back {
    ($rep:literal, $reg:literal) => {
        concat!(
            "CASE WHEN f.resolution = 'requeried' THEN f.",
            $rep,
            " WHEN f.resolution = 'number_from_person' AND f.subject_id <> '' THEN COALESCE(\
              (SELECT r.",
            $reg,
            " FROM registrations r WHERE r.insurer_number = f.insurer_number \
               AND r.subject_id = f.subject_id), \
              (SELECT x.",
            $reg,
            " FROM audit_events x WHERE x.event_type = 'commit.accepted' \
               AND x.insurer_number = f.insurer_number AND x.subject_id IS NOT NULL \
               AND x.subject_id = f.subject_id ORDER BY x.id LIMIT 1)) END"
        )
    };
}

/// The grouping statement, with the holds' filter `$where` on `hold_facts f`.
macro_rules! groups {
    ($where:literal) => {
        concat!(
            "SELECT insurer_number, comparisons, reasons, risk_rank, resolution, cause, overdue, \
              same_number, CAST(COUNT(*) AS BIGINT) AS holds, \
              string_agg(CAST(took_us AS TEXT), ',') AS took_us \
             FROM (SELECT h.insurer_number, h.comparisons, h.reasons, h.risk_rank, h.resolution, \
              h.cause, h.overdue, h.took_us, \
              CAST(CASE WHEN h.back_key_id IS NULL OR h.back_mac IS NULL THEN NULL \
               WHEN EXISTS (SELECT 1 FROM hold_candidates c WHERE c.hold_id = h.hold_id \
                AND c.key_id = h.back_key_id AND c.mac = h.back_mac) THEN 1 \
               WHEN EXISTS (SELECT 1 FROM hold_candidates c WHERE c.hold_id = h.hold_id \
                AND c.key_id = h.back_key_id) THEN 0 END AS BIGINT) AS same_number \
             FROM (SELECT f.insurer_number, f.hold_id, f.comparisons, f.reasons, f.risk_rank, \
               f.resolution, f.cause, \
               CAST(CASE WHEN f.resolution IS NULL \
                 THEN CASE WHEN f.register_by_ns < $4 THEN 1 ELSE 0 END \
                WHEN f.register_by_ns < f.resolved_at_us * 1000 THEN 1 ELSE 0 END AS BIGINT) \
                AS overdue, \
               CASE WHEN f.resolved_at_us >= f.decided_at_us \
                THEN f.resolved_at_us - f.decided_at_us END AS took_us, ",
            came_back!("back_key_id", "number_fp_key_id"),
            " AS back_key_id, ",
            came_back!("back_mac", "number_fp"),
            " AS back_mac FROM hold_facts f WHERE ",
            $where,
            " AND f.decided_at_us >= $2 AND f.decided_at_us < $3) h) g \
             GROUP BY insurer_number, comparisons, reasons, risk_rank, resolution, cause, \
              overdue, same_number"
        )
    };
}

/// The groups of one insurer's (`$1`) holds decided in [`$2`, `$3`), overdue judged at `$4`
/// (nanoseconds).
const GROUPS: &str = groups!("f.insurer_number = $1");

/// [`GROUPS`] for every insurer (`$1` NULL): the `$1 IS NULL OR …` form would keep SQLite
/// from reading one insurer's range of the key.
const GROUPS_ALL: &str = groups!("$1 IS NULL");

/// The groups of the holds of `insurer_number` (or of every insurer) decided in
/// `[from_us, to_us)`, open holds judged overdue when their deadline is before `as_of_ns`
/// (nanoseconds since the epoch).
pub(crate) async fn groups<DB: Database>(
    pool: &Pool<DB>,
    insurer_number: Option<&str>,
    (from_us, to_us): (i64, i64),
    as_of_ns: i64,
) -> Result<Vec<HoldGroup>, AuditError>
where
    for<'r> HoldGroup: FromRow<'r, DB::Row>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
    for<'c> &'c mut <DB as Database>::Connection: Executor<'c, Database = DB>,
{
    let sql = match insurer_number {
        Some(_) => GROUPS,
        None => GROUPS_ALL,
    };
    sqlx::query_as::<DB, HoldGroup>(sql)
        .bind(insurer_number)
        .bind(from_us)
        .bind(to_us)
        .bind(as_of_ns)
        .fetch_all(pool)
        .await
        .map_err(|e| rows::unavailable(&e))
}
