//! The read path, written once for both backends: the same statements, the same binds, the
//! same decoding. A backend names its pool ([`SqlxStore`]) and answers every method of
//! [`AuditReads`] through a [`Reader`] of it.
//!
//! Generic over the database, with the bounds both sqlx drivers meet spelled out once, on the
//! `impl` block (a trait gathering them would not carry them to its users: where clauses on a
//! trait are not implied). Reads whose statement grows with their input are built as a
//! [`Statement`](crate::audit::store::statement::Statement), whose text and arguments are run
//! here generically; a `QueryBuilder` could not be (see `statement.rs`). The append path stays
//! with each backend: SQLite's writer is a rusqlite connection of its own (`BatchTransaction`).

use async_trait::async_trait;
use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Pool, Type};

use crate::audit::{
    AuditError, Fingerprint, Registration, StoredEvent,
    chain::ChainHead,
    store::AuditReads,
    store::hold_groups::{self, HoldGroup},
    store::key_ids::{self, KeyIdRow, KeyIdsPage},
    store::open_holds::{OpenHoldCount, OpenHoldRow, OpenHolds, OpenHoldsQuery},
    store::rows::{self, EventRow, HeadRow, RegistrationRow},
    store::sql::{self, RegistrationProbe},
    store::subject_decisions,
};

/// The read half of a store, over its pool.
pub(crate) struct Reader<'p, DB: Database>(pub(crate) &'p Pool<DB>);

impl<DB: Database> Reader<'_, DB>
where
    for<'r> EventRow: FromRow<'r, DB::Row>,
    for<'r> HeadRow: FromRow<'r, DB::Row>,
    for<'r> RegistrationRow: FromRow<'r, DB::Row>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
    for<'c> &'c mut <DB as Database>::Connection: Executor<'c, Database = DB>,
{
    /// The decision `verification_id` of this insurer, if any.
    pub(crate) async fn verification(
        &self,
        insurer_number: &str,
        verification_id: &str,
    ) -> Result<Option<StoredEvent>, AuditError> {
        let rows = self.events_by(sql::SELECT_VERIFICATION, insurer_number, verification_id);
        Ok(rows.await?.into_iter().next())
    }

    /// The decision recorded under `request_id` for this insurer, if any.
    pub(crate) async fn by_request(
        &self,
        insurer_number: &str,
        request_id: &str,
    ) -> Result<Option<StoredEvent>, AuditError> {
        let rows = self.events_by(sql::SELECT_BY_REQUEST, insurer_number, request_id);
        Ok(rows.await?.into_iter().next())
    }

    /// Every event about one verification, in order.
    pub(crate) async fn verification_events(
        &self,
        insurer_number: &str,
        verification_id: &str,
    ) -> Result<Vec<StoredEvent>, AuditError> {
        let sql = sql::SELECT_VERIFICATION_EVENTS;
        self.events_by(sql, insurer_number, verification_id).await
    }

    /// The registrations holding any probed (insurer, number) or (insurer, subject).
    pub(crate) async fn registrations(
        &self,
        probes: &[RegistrationProbe<'_>],
    ) -> Result<Vec<Registration>, AuditError> {
        let (text, arguments) = sql::registrations::<DB>(probes).into_parts();
        let rows = sqlx::query_as_with::<DB, RegistrationRow, _>(&text, arguments)
            .fetch_all(self.0)
            .await
            .map_err(|e| rows::unavailable(&e))?;
        Ok(rows.into_iter().map(Registration::from).collect())
    }

    /// The events `sql` selects with two text binds.
    async fn events_by(&self, sql: &str, a: &str, b: &str) -> Result<Vec<StoredEvent>, AuditError> {
        let rows = sqlx::query_as::<DB, EventRow>(sql)
            .bind(a)
            .bind(b)
            .fetch_all(self.0)
            .await;
        rows::decode_rows(rows)
    }

    /// Open holds of one insurer after a row id, oldest first.
    pub(crate) async fn open_holds(
        &self,
        insurer_number: &str,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, AuditError> {
        let rows = sqlx::query_as::<DB, EventRow>(sql::SELECT_OPEN_HOLDS)
            .bind(insurer_number)
            .bind(after_id)
            .bind(limit)
            .fetch_all(self.0)
            .await;
        rows::decode_rows(rows)
    }

    /// Open holds of every insurer after (`after_insurer`, `after_id`), at most `limit`, by
    /// insurer and row.
    pub(crate) async fn all_open_holds(
        &self,
        after_insurer: &str,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, AuditError> {
        let rows = sqlx::query_as::<DB, EventRow>(sql::SELECT_ALL_OPEN_HOLDS)
            .bind(after_insurer)
            .bind(after_id)
            .bind(limit)
            .fetch_all(self.0)
            .await;
        rows::decode_rows(rows)
    }

    /// One page of `audit export`.
    pub(crate) async fn export_page(
        &self,
        insurer_number: Option<&str>,
        since_us: i64,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, AuditError> {
        let rows = sqlx::query_as::<DB, EventRow>(sql::SELECT_EXPORT)
            .bind(insurer_number)
            .bind(since_us)
            .bind(after_id)
            .bind(limit)
            .fetch_all(self.0)
            .await;
        rows::decode_rows(rows)
    }

    /// Every event in chain order.
    pub(crate) async fn chains(&self) -> Result<Vec<StoredEvent>, AuditError> {
        let rows = sqlx::query_as::<DB, EventRow>(sql::SELECT_CHAINS)
            .fetch_all(self.0)
            .await;
        rows::decode_rows(rows)
    }

    /// The newest event of every chain, in writer id order.
    pub(crate) async fn chain_heads(&self) -> Result<Vec<ChainHead>, AuditError> {
        let rows = sqlx::query_as::<DB, HeadRow>(sql::SELECT_CHAIN_HEADS)
            .fetch_all(self.0)
            .await
            .map_err(|e| rows::unavailable(&e))?;
        rows.into_iter().map(HeadRow::into_head).collect()
    }
}

/// A store over one sqlx pool. Implementing it is all a backend does to answer [`AuditReads`]
/// (the impl below, written once, reads through a [`Reader`] of that pool) and
/// [`ConsoleSessionStore`](crate::audit::store::ConsoleSessionStore) (`console_sessions.rs`).
pub trait SqlxStore: Send + Sync {
    /// The pool's database.
    type Db: Database;

    /// The pool the reads go to.
    fn pool(&self) -> &Pool<Self::Db>;
}

#[async_trait]
impl<T> AuditReads for T
where
    T: SqlxStore,
    for<'r> EventRow: FromRow<'r, <T::Db as Database>::Row>,
    for<'r> HeadRow: FromRow<'r, <T::Db as Database>::Row>,
    for<'r> RegistrationRow: FromRow<'r, <T::Db as Database>::Row>,
    for<'r> KeyIdRow: FromRow<'r, <T::Db as Database>::Row>,
    for<'r> OpenHoldCount: FromRow<'r, <T::Db as Database>::Row>,
    for<'r> OpenHoldRow: FromRow<'r, <T::Db as Database>::Row>,
    for<'r> HoldGroup: FromRow<'r, <T::Db as Database>::Row>,
    for<'q> Option<i64>: Encode<'q, T::Db> + Type<T::Db>,
    for<'q> &'q str: Encode<'q, T::Db> + Type<T::Db>,
    for<'q> Option<&'q str>: Encode<'q, T::Db> + Type<T::Db>,
    for<'q> i64: Encode<'q, T::Db> + Type<T::Db>,
    for<'q> <T::Db as Database>::Arguments<'q>: IntoArguments<'q, T::Db>,
    for<'c> &'c mut <T::Db as Database>::Connection: Executor<'c, Database = T::Db>,
{
    async fn find_registrations(
        &self,
        insurer_number: &str,
        number_fingerprint: &Fingerprint,
        subject_id: &str,
    ) -> Result<Vec<Registration>, AuditError> {
        let probe = (
            insurer_number,
            number_fingerprint.mac_hex.as_str(),
            subject_id,
        );
        Reader(self.pool()).registrations(&[probe]).await
    }

    async fn find_verification(
        &self,
        insurer_number: &str,
        verification_id: &str,
    ) -> Result<Option<StoredEvent>, AuditError> {
        let reader = Reader(self.pool());
        reader.verification(insurer_number, verification_id).await
    }

    async fn find_by_request(
        &self,
        insurer_number: &str,
        request_id: &str,
    ) -> Result<Option<StoredEvent>, AuditError> {
        let reader = Reader(self.pool());
        reader.by_request(insurer_number, request_id).await
    }

    async fn find_events(
        &self,
        insurer_number: &str,
        verification_id: &str,
    ) -> Result<Vec<StoredEvent>, AuditError> {
        let reader = Reader(self.pool());
        reader
            .verification_events(insurer_number, verification_id)
            .await
    }

    async fn list_open_holds(
        &self,
        insurer_number: &str,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, AuditError> {
        let reader = Reader(self.pool());
        reader.open_holds(insurer_number, after_id, limit).await
    }

    async fn list_all_open_holds(
        &self,
        after_insurer: &str,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, AuditError> {
        let reader = Reader(self.pool());
        reader.all_open_holds(after_insurer, after_id, limit).await
    }

    async fn key_ids_page(&self, after_id: i64, limit: i64) -> Result<KeyIdsPage, AuditError> {
        key_ids::page(self.pool(), after_id, limit).await
    }

    async fn ping(&self) -> Result<(), AuditError> {
        // Touch the audit table, not just the connection: a database that answers but has
        // lost the table cannot take decisions either.
        sqlx::query(sql::PING)
            .execute(self.pool())
            .await
            .map_err(|e| rows::unavailable(&e))?;
        Ok(())
    }

    async fn export_page(
        &self,
        insurer_number: Option<&str>,
        since_us: i64,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, AuditError> {
        let reader = Reader(self.pool());
        reader
            .export_page(insurer_number, since_us, after_id, limit)
            .await
    }

    async fn read_chains(&self) -> Result<Vec<StoredEvent>, AuditError> {
        Reader(self.pool()).chains().await
    }

    async fn chain_heads(&self) -> Result<Vec<ChainHead>, AuditError> {
        Reader(self.pool()).chain_heads().await
    }

    async fn open_holds_page(
        &self,
        query: &OpenHoldsQuery<'_>,
    ) -> Result<Vec<StoredEvent>, AuditError> {
        OpenHolds(self.pool()).page(query).await
    }

    async fn open_hold_counts(
        &self,
        insurer_number: &str,
        as_of_us: i64,
    ) -> Result<Vec<OpenHoldCount>, AuditError> {
        OpenHolds(self.pool())
            .counts(insurer_number, as_of_us)
            .await
    }

    async fn subject_history(
        &self,
        insurer_number: &str,
        subject_id: &str,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, AuditError> {
        subject_decisions::history(self.pool(), insurer_number, subject_id, limit).await
    }

    async fn hold_groups(
        &self,
        insurer_number: Option<&str>,
        from_us: i64,
        to_us: i64,
        as_of_ns: i64,
    ) -> Result<Vec<HoldGroup>, AuditError> {
        hold_groups::groups(self.pool(), insurer_number, (from_us, to_us), as_of_ns).await
    }
}
