//! The `fingerprint_keys` table: which keys a store holds fingerprints under, oldest first.
//!
//! Read at the start of every process that writes, and written only by an adoption: a
//! compare-and-append in one transaction that excludes every other adoption (SQLite:
//! `BEGIN IMMEDIATE`; PostgreSQL: an advisory lock), so that two replicas starting at once with
//! two different keys cannot both be adopted. What to adopt is decided by
//! `audit::key_adoption`; this file only reads and appends rows, once for both backends.

use std::time::SystemTime;

use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Transaction, Type};

use crate::audit::{AuditError, micros_since_epoch, store::rows, store::sql, time_from_micros};

/// A key as the store records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdoptedKey {
    /// Its place in the order of adoption; the highest is the current key.
    pub seq: i64,
    /// The id stored with every fingerprint the key made.
    pub key_id: String,
    /// [`FingerprintKey::check`](crate::audit::FingerprintKey::check) of its secret.
    pub key_check: String,
    /// When the first process using it started.
    pub adopted_at: SystemTime,
}

/// A key to adopt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyToAdopt {
    /// The id its fingerprints carry.
    pub key_id: String,
    /// [`FingerprintKey::check`](crate::audit::FingerprintKey::check) of its secret.
    pub key_check: String,
}

/// What an adoption found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Adoption {
    /// The store still held the keys expected; the new ones are appended. All keys now.
    Done(Vec<AdoptedKey>),
    /// Another process adopted keys since they were read: nothing was written. The keys now
    /// (the caller decides again with them).
    Changed(Vec<AdoptedKey>),
}

/// A row of [`sql::SELECT_ADOPTED_KEYS`].
#[derive(sqlx::FromRow)]
pub(crate) struct AdoptedKeyRow {
    seq: i64,
    key_id: String,
    key_check: String,
    adopted_at_us: i64,
}

impl From<AdoptedKeyRow> for AdoptedKey {
    fn from(r: AdoptedKeyRow) -> Self {
        AdoptedKey {
            seq: r.seq,
            key_id: r.key_id,
            key_check: r.key_check,
            adopted_at: time_from_micros(r.adopted_at_us),
        }
    }
}

/// The adopted keys, oldest first, read through `executor`.
pub(crate) async fn read<'c, DB, E>(executor: E) -> Result<Vec<AdoptedKey>, sqlx::Error>
where
    DB: Database,
    E: Executor<'c, Database = DB>,
    for<'r> AdoptedKeyRow: FromRow<'r, DB::Row>,
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
{
    let rows = sqlx::query_as::<DB, AdoptedKeyRow>(sql::SELECT_ADOPTED_KEYS)
        .fetch_all(executor)
        .await?;
    Ok(rows.into_iter().map(AdoptedKey::from).collect())
}

/// Appends `new` (in order: the last becomes current) if the store still holds exactly
/// `expected`, in `tx`, which the caller opened so that no other adoption runs beside it;
/// commits either way.
pub(crate) async fn adopt_in<DB>(
    mut tx: Transaction<'static, DB>,
    expected: &[AdoptedKey],
    new: &[KeyToAdopt],
) -> Result<Adoption, AuditError>
where
    DB: Database,
    for<'r> AdoptedKeyRow: FromRow<'r, DB::Row>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
    for<'c> &'c mut <DB as Database>::Connection: Executor<'c, Database = DB>,
{
    let failed = |e: sqlx::Error| rows::unavailable(&e);
    let found = read(&mut *tx).await.map_err(failed)?;
    if found != expected {
        tx.rollback().await.map_err(failed)?;
        return Ok(Adoption::Changed(found));
    }
    let now = micros_since_epoch(SystemTime::now());
    for key in new {
        sqlx::query::<DB>(sql::INSERT_ADOPTED_KEY)
            .bind(key.key_id.as_str())
            .bind(key.key_check.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
    }
    let adopted = read(&mut *tx).await.map_err(failed)?;
    tx.commit().await.map_err(failed)?;
    Ok(Adoption::Done(adopted))
}
