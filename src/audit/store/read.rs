//! The read path, written once for both backends: the same statements, the same binds, the
//! same decoding. Each backend's `AuditBackend` methods hand their pool to these.
//!
//! Generic over the database, with the bounds both sqlx drivers meet spelled out per function
//! (a trait gathering them would not carry them to its users: where clauses on a trait are
//! not implied). The append path cannot be written this way: a `QueryBuilder`'s arguments pin
//! its borrow (see `store::BatchTransaction`).

use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Pool, Type};

use crate::audit::{
    AuditError, StoredEvent,
    chain::ChainHead,
    store::rows::{self, EventRow, HeadRow},
    store::sql,
};

/// The events `sql` selects with two text binds.
pub(crate) async fn events_by<DB: Database>(
    pool: &Pool<DB>,
    sql: &str,
    a: &str,
    b: &str,
) -> Result<Vec<StoredEvent>, AuditError>
where
    for<'r> EventRow: FromRow<'r, DB::Row>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
    for<'c> &'c mut <DB as Database>::Connection: Executor<'c, Database = DB>,
{
    let rows = sqlx::query_as::<DB, EventRow>(sql)
        .bind(a)
        .bind(b)
        .fetch_all(pool)
        .await;
    rows::decode_rows(rows)
}

/// Open holds of one insurer after a row id, oldest first.
pub(crate) async fn open_holds<DB: Database>(
    pool: &Pool<DB>,
    insurer_number: &str,
    after_id: i64,
    limit: i64,
) -> Result<Vec<StoredEvent>, AuditError>
where
    for<'r> EventRow: FromRow<'r, DB::Row>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
    for<'c> &'c mut <DB as Database>::Connection: Executor<'c, Database = DB>,
{
    let rows = sqlx::query_as::<DB, EventRow>(sql::SELECT_OPEN_HOLDS)
        .bind(insurer_number)
        .bind(after_id)
        .bind(limit)
        .fetch_all(pool)
        .await;
    rows::decode_rows(rows)
}

/// Held decisions decided in `[from_us, to_us)`, of one insurer or all, after a row id.
pub(crate) async fn holds_between<DB: Database>(
    pool: &Pool<DB>,
    insurer_number: Option<&str>,
    (from_us, to_us): (i64, i64),
    after_id: i64,
    limit: i64,
) -> Result<Vec<StoredEvent>, AuditError>
where
    for<'r> EventRow: FromRow<'r, DB::Row>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
    for<'c> &'c mut <DB as Database>::Connection: Executor<'c, Database = DB>,
{
    let sql = match insurer_number {
        Some(_) => sql::SELECT_HOLDS_BETWEEN,
        None => sql::SELECT_ALL_HOLDS_BETWEEN,
    };
    let rows = sqlx::query_as::<DB, EventRow>(sql)
        .bind(insurer_number)
        .bind(from_us)
        .bind(to_us)
        .bind(after_id)
        .bind(limit)
        .fetch_all(pool)
        .await;
    rows::decode_rows(rows)
}

/// Open holds of every insurer after row `after_id`, at most `limit`, in row order.
pub(crate) async fn all_open_holds<DB: Database>(
    pool: &Pool<DB>,
    after_id: i64,
    limit: i64,
) -> Result<Vec<StoredEvent>, AuditError>
where
    for<'r> EventRow: FromRow<'r, DB::Row>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
    for<'c> &'c mut <DB as Database>::Connection: Executor<'c, Database = DB>,
{
    let rows = sqlx::query_as::<DB, EventRow>(sql::SELECT_ALL_OPEN_HOLDS)
        .bind(after_id)
        .bind(limit)
        .fetch_all(pool)
        .await;
    rows::decode_rows(rows)
}

/// One page of `audit export`.
pub(crate) async fn export_page<DB: Database>(
    pool: &Pool<DB>,
    insurer_number: Option<&str>,
    since_us: i64,
    after_id: i64,
    limit: i64,
) -> Result<Vec<StoredEvent>, AuditError>
where
    for<'r> EventRow: FromRow<'r, DB::Row>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
    for<'c> &'c mut <DB as Database>::Connection: Executor<'c, Database = DB>,
{
    let rows = sqlx::query_as::<DB, EventRow>(sql::SELECT_EXPORT)
        .bind(insurer_number)
        .bind(since_us)
        .bind(after_id)
        .bind(limit)
        .fetch_all(pool)
        .await;
    rows::decode_rows(rows)
}

/// Every event in chain order.
pub(crate) async fn chains<DB: Database>(pool: &Pool<DB>) -> Result<Vec<StoredEvent>, AuditError>
where
    for<'r> EventRow: FromRow<'r, DB::Row>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
    for<'c> &'c mut <DB as Database>::Connection: Executor<'c, Database = DB>,
{
    let rows = sqlx::query_as::<DB, EventRow>(sql::SELECT_CHAINS)
        .fetch_all(pool)
        .await;
    rows::decode_rows(rows)
}

/// The newest event of every chain, in writer id order.
pub(crate) async fn chain_heads<DB: Database>(pool: &Pool<DB>) -> Result<Vec<ChainHead>, AuditError>
where
    for<'r> HeadRow: FromRow<'r, DB::Row>,
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
    for<'c> &'c mut <DB as Database>::Connection: Executor<'c, Database = DB>,
{
    let rows = sqlx::query_as::<DB, HeadRow>(sql::SELECT_CHAIN_HEADS)
        .fetch_all(pool)
        .await
        .map_err(|e| rows::unavailable(&e))?;
    rows.into_iter().map(HeadRow::into_head).collect()
}
