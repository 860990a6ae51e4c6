//! What the three derived tables (open holds, subject decisions, hold facts) share when a store
//! opens a log written before their migration: the migration leaves one row in a `*_fill`
//! table, and the first process to open the store fills the derived table from the events and
//! deletes that row, in one transaction that holds the write lock.

use sqlx::{Database, Executor, IntoArguments, Transaction};

use crate::audit::{AuditError, store::rows};

/// Takes `lock` (PostgreSQL's advisory lock; SQLite's `BEGIN IMMEDIATE` already holds the write
/// lock, so `None`) and says whether `fill_table`'s row is still there, that is whether this
/// process must fill; when not, ends `tx`.
pub(crate) async fn pending<DB: Database>(
    tx: &mut Transaction<'_, DB>,
    lock: Option<&str>,
    fill_table: &str,
) -> Result<bool, AuditError>
where
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
    for<'c> &'c mut <DB as Database>::Connection: Executor<'c, Database = DB>,
{
    let unavailable = |e: sqlx::Error| rows::unavailable(&e);
    if let Some(lock) = lock {
        sqlx::query(lock)
            .execute(&mut **tx)
            .await
            .map_err(unavailable)?;
    }
    let select = format!("SELECT pending FROM {fill_table}");
    let found = sqlx::query(&select)
        .fetch_optional(&mut **tx)
        .await
        .map_err(unavailable)?;
    Ok(found.is_some())
}
