//! Every event and the rows of the gate's tables, read in one snapshot of the store, written
//! once for both backends.
//!
//! One snapshot because a running service appends an event and claims its row in one
//! transaction: events read in one statement and rows in a later one would show the rows of
//! events appended in between as rows the chain does not support (or, read the other way
//! round, facts without rows). PostgreSQL reads in a REPEATABLE READ transaction; SQLite's
//! read transaction keeps one snapshot of its write-ahead log until it ends.

use sqlx::{Database, Executor, FromRow, IntoArguments, Pool};

use crate::audit::{
    AuditError, Registration, StoredEvent,
    invariants::{GateTables, LookupRow, RequestRow, ResolutionRow},
    store::hold_facts::{self, CandidateRow, HoldFactRow},
    store::open_holds::{self, OpenHoldRow},
    store::rows::{self, EventRow, RegistrationRow},
    store::sql,
    store::subject_decisions::{self, SubjectDecisionRow},
};

/// `verification_requests` in key order.
const SELECT_REQUESTS: &str = "SELECT insurer_number, request_id, verification_id \
     FROM verification_requests ORDER BY insurer_number, request_id";

/// `registrations` in key order.
const SELECT_REGISTRATIONS: &str = "SELECT insurer_number, number_fp_key_id, number_fp, \
     subject_id, verification_id, committed_at_us FROM registrations \
     ORDER BY insurer_number, number_fp";

/// `hold_resolutions` in key order.
const SELECT_RESOLUTIONS: &str = "SELECT insurer_number, verification_id, resolved_at_us \
     FROM hold_resolutions ORDER BY insurer_number, verification_id";

/// The lookup columns of format 2 events that have any (format 1 rows hold the same columns
/// as their hashed content).
const SELECT_LOOKUPS: &str = "SELECT id, event_type, insurer_number, request_id, subject_id, \
     number_fp_key_id, number_fp FROM audit_events WHERE format = 2 AND (request_id IS NOT NULL \
     OR subject_id IS NOT NULL OR number_fp_key_id IS NOT NULL OR number_fp IS NOT NULL) \
     ORDER BY id";

/// Every event in chain order and every row of the gate's tables, in one read transaction;
/// `snapshot` (PostgreSQL's isolation level) runs first when given.
pub(crate) async fn chains_and_tables<DB: Database>(
    pool: &Pool<DB>,
    snapshot: Option<&str>,
) -> Result<(Vec<StoredEvent>, GateTables), AuditError>
where
    for<'r> EventRow: FromRow<'r, DB::Row>,
    for<'r> RequestRow: FromRow<'r, DB::Row>,
    for<'r> RegistrationRow: FromRow<'r, DB::Row>,
    for<'r> ResolutionRow: FromRow<'r, DB::Row>,
    for<'r> LookupRow: FromRow<'r, DB::Row>,
    for<'r> OpenHoldRow: FromRow<'r, DB::Row>,
    for<'r> SubjectDecisionRow: FromRow<'r, DB::Row>,
    for<'r> HoldFactRow: FromRow<'r, DB::Row>,
    for<'r> CandidateRow: FromRow<'r, DB::Row>,
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
    for<'c> &'c mut <DB as Database>::Connection: Executor<'c, Database = DB>,
{
    let unavailable = |e: sqlx::Error| rows::unavailable(&e);
    let mut tx = pool.begin().await.map_err(unavailable)?;
    if let Some(snapshot) = snapshot {
        sqlx::query(snapshot)
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
    }
    let events = sqlx::query_as::<DB, EventRow>(sql::SELECT_CHAINS)
        .fetch_all(&mut *tx)
        .await;
    let events = rows::decode_rows(events)?;
    let requests = sqlx::query_as::<DB, RequestRow>(SELECT_REQUESTS)
        .fetch_all(&mut *tx)
        .await
        .map_err(unavailable)?;
    let registrations = sqlx::query_as::<DB, RegistrationRow>(SELECT_REGISTRATIONS)
        .fetch_all(&mut *tx)
        .await
        .map_err(unavailable)?
        .into_iter()
        .map(Registration::from)
        .collect();
    let resolutions = sqlx::query_as::<DB, ResolutionRow>(SELECT_RESOLUTIONS)
        .fetch_all(&mut *tx)
        .await
        .map_err(unavailable)?;
    let lookups = sqlx::query_as::<DB, LookupRow>(SELECT_LOOKUPS)
        .fetch_all(&mut *tx)
        .await
        .map_err(unavailable)?;
    let open_holds = sqlx::query_as::<DB, OpenHoldRow>(open_holds::SELECT_ALL)
        .fetch_all(&mut *tx)
        .await
        .map_err(unavailable)?;
    let subject_decisions = sqlx::query_as::<DB, SubjectDecisionRow>(subject_decisions::SELECT_ALL)
        .fetch_all(&mut *tx)
        .await
        .map_err(unavailable)?;
    let hold_facts = sqlx::query_as::<DB, HoldFactRow>(hold_facts::SELECT_ALL)
        .fetch_all(&mut *tx)
        .await
        .map_err(unavailable)?;
    let hold_candidates = sqlx::query_as::<DB, CandidateRow>(hold_facts::SELECT_ALL_CANDIDATES)
        .fetch_all(&mut *tx)
        .await
        .map_err(unavailable)?;
    // Read only: nothing to keep.
    tx.rollback().await.map_err(unavailable)?;
    Ok((
        events,
        GateTables {
            requests,
            registrations,
            resolutions,
            lookups,
            open_holds,
            subject_decisions,
            hold_facts,
            hold_candidates,
        },
    ))
}
