//! The production backend: PostgreSQL, with several replicas appending to one database.
//!
//! Replicas never wait on each other for the chain: each writes its own chain (its writer id
//! is fresh per process start), so the only shared rows are the idempotency keys, and two
//! replicas contend only when they decide the same request at the same moment — where the
//! second waits for the first's commit and then reports a duplicate.
//!
//! Durability: every connection sets `synchronous_commit = on`, whatever the server default,
//! so a commit has reached the write-ahead log on disk before a caller is answered.

use std::{
    collections::{HashMap, HashSet},
    str::FromStr,
    time::Duration,
};

use async_trait::async_trait;
use sqlx::{
    PgPool, Pool, Postgres, Row, Transaction,
    postgres::{PgConnectOptions, PgPoolOptions},
};

use crate::audit::{
    AppendOutcome, AuditError, ChainState, CommitAccepted, Hash, NewEvent, Registration,
    StoredEvent,
    invariants::{self, GateTables},
    micros_since_epoch,
    store::adopted_keys::{self, AdoptedKey, Adoption, KeyToAdopt},
    store::hold_facts,
    store::open_holds::{self, OpenHoldChange},
    store::read::SqlxStore,
    store::rows::{self, RegistrationRow},
    store::sql::PlannedRow,
    store::sql::{self, RegistrationProbe},
    store::subject_decisions::{self, SubjectDecisionRow},
    store::{self, AuditBackend, BatchTransaction},
};

/// How long a caller waits for a connection before the store counts as unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections per process: one for the writer task, the rest for lookups and health checks.
const MAX_CONNECTIONS: u32 = 8;

/// The audit store in a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresBackend {
    /// The connections, all with durable commits.
    pool: PgPool,
}

impl PostgresBackend {
    /// Connects to the database named by `url` and applies the migrations.
    ///
    /// The tables go into the first schema of the connection's `search_path`, which the URL
    /// can set (`?options=-c%20search_path%3Daudit` or `?options[search_path]=audit`): how
    /// tests get a fresh schema each, and how a deployment can keep the audit apart.
    pub async fn connect(url: &str) -> Result<Self, AuditError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|_| AuditError::Config("the PostgreSQL URL cannot be parsed".into()))?
            .options([("synchronous_commit", "on")]);
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // sqlx would otherwise ping every connection it hands out: one more round trip per
            // statement. A connection that broke while idle fails its next statement instead,
            // which fails closed (UNAVAILABLE) and is discarded; the health check pings anyway.
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(|e| rows::unavailable(&e))?;
        sqlx::migrate!("migrations/postgres")
            .run(&pool)
            .await
            .map_err(rows::migration_error)?;
        // A log written before migration 0008 gets its open holds table, under a lock that
        // makes every other replica's appends (and fills) wait meanwhile.
        let fill = pool.begin().await.map_err(|e| rows::unavailable(&e))?;
        open_holds::fill_if_pending(fill, Some(open_holds::LOCK_PG)).await?;
        // And, after migration 0010, its subject decisions table.
        let fill = pool.begin().await.map_err(|e| rows::unavailable(&e))?;
        subject_decisions::fill_if_pending(fill, Some(subject_decisions::LOCK_PG)).await?;
        // And one written before migration 0011 its hold facts, likewise.
        let fill = pool.begin().await.map_err(|e| rows::unavailable(&e))?;
        hold_facts::fill_if_pending(fill, Some(hold_facts::LOCK_PG)).await?;
        Ok(PostgresBackend { pool })
    }
}

impl PostgresBackend {
    /// One append transaction, run again when PostgreSQL aborted it for a conflict.
    async fn append_retrying(
        &self,
        chain: &mut ChainState,
        events: &[NewEvent],
    ) -> Result<Vec<AppendOutcome>, AuditError> {
        let mut retries = 0;
        loop {
            let result = match self.pool.begin().await {
                Ok(tx) => store::append_in(PgTx(tx), chain, events).await,
                Err(e) => Err(e),
            };
            match result {
                // Two replicas whose batches claim the same keys in different orders (two
                // commit races, one on each) deadlock; PostgreSQL aborts one transaction whole,
                // so nothing of it was written and `chain` is still exact: run it again, and
                // its claims then meet the other's committed rows as ordinary conflicts.
                Err(e) if retries < CONFLICT_RETRIES && is_transient_conflict(&e) => {
                    retries += 1;
                    tracing::debug!(retries, "audit batch aborted by a conflict; retrying");
                }
                other => {
                    return other.map_err(|e| {
                        chain.mark_uncertain();
                        rows::unavailable(&e)
                    });
                }
            }
        }
    }
}

impl SqlxStore for PostgresBackend {
    type Db = Postgres;

    fn pool(&self) -> &Pool<Postgres> {
        &self.pool
    }
}

#[async_trait]
impl AuditBackend for PostgresBackend {
    fn system(&self) -> &'static str {
        "postgresql"
    }

    async fn append_valid_batch(
        &self,
        chain: &mut ChainState,
        events: Vec<NewEvent>,
    ) -> (Vec<NewEvent>, Result<Vec<AppendOutcome>, AuditError>) {
        let result = self.append_retrying(chain, &events).await;
        (events, result)
    }

    async fn adopted_keys(&self) -> Result<Vec<AdoptedKey>, AuditError> {
        adopted_keys::read(&self.pool)
            .await
            .map_err(|e| rows::unavailable(&e))
    }

    async fn adopt_keys(
        &self,
        expected: &[AdoptedKey],
        new: &[KeyToAdopt],
    ) -> Result<Adoption, AuditError> {
        let mut tx = self.pool.begin().await.map_err(|e| rows::unavailable(&e))?;
        sqlx::query(sql::LOCK_ADOPTED_KEYS_PG)
            .execute(&mut *tx)
            .await
            .map_err(|e| rows::unavailable(&e))?;
        adopted_keys::adopt_in(tx, expected, new).await
    }

    async fn read_chains_and_tables(&self) -> Result<(Vec<StoredEvent>, GateTables), AuditError> {
        invariants::read::chains_and_tables(
            &self.pool,
            Some("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"),
        )
        .await
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

/// How often a batch aborted by a deadlock or a serialization failure is run again.
const CONFLICT_RETRIES: usize = 5;

/// A deadlock (40P01) or serialization failure (40001): PostgreSQL rolled the whole
/// transaction back, and running it again is safe.
fn is_transient_conflict(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|code| code == "40P01" || code == "40001")
}

/// One append transaction on PostgreSQL.
struct PgTx(Transaction<'static, Postgres>);

impl BatchTransaction for PgTx {
    type Error = sqlx::Error;

    async fn chain_tail(&mut self, writer_id: &str) -> Result<Option<(i64, Hash)>, sqlx::Error> {
        let row = sqlx::query(sql::SELECT_CHAIN_TAIL)
            .bind(writer_id)
            .fetch_optional(&mut *self.0)
            .await?;
        row.map(|r| Ok((r.try_get("seq")?, store::hash_column(r.try_get("hash")?)?)))
            .transpose()
    }

    async fn claim_requests(
        &mut self,
        claims: &[&NewEvent],
    ) -> Result<HashSet<(String, String)>, sqlx::Error> {
        let mut new_keys = HashSet::new();
        for chunk in claims.chunks(sql::ROWS_PER_STATEMENT) {
            let mut qb = sql::claim_requests_query::<Postgres>(chunk);
            for row in qb.build().fetch_all(&mut *self.0).await? {
                new_keys.insert((row.try_get("insurer_number")?, row.try_get("request_id")?));
            }
        }
        Ok(new_keys)
    }

    async fn existing_verification_ids(
        &mut self,
        keys: &[(&str, &str)],
    ) -> Result<HashMap<(String, String), String>, sqlx::Error> {
        let mut found = HashMap::new();
        for chunk in keys.chunks(sql::ROWS_PER_STATEMENT) {
            let mut qb = sql::existing_ids_query::<Postgres>(chunk);
            for row in qb.build().fetch_all(&mut *self.0).await? {
                let key = (row.try_get("insurer_number")?, row.try_get("request_id")?);
                let from_chain: i32 = row.try_get("from_chain")?;
                let id = row.try_get("verification_id")?;
                store::prefer_the_key_table(&mut found, key, id, from_chain != 0);
            }
        }
        Ok(found)
    }

    async fn claim_registration(&mut self, e: &CommitAccepted) -> Result<bool, sqlx::Error> {
        let fp = &e.number_fingerprint;
        let done = sqlx::query(sql::INSERT_REGISTRATION)
            .bind(e.insurer_number.as_str())
            .bind(fp.key_id.as_str())
            .bind(fp.mac_hex.as_str())
            .bind(e.subject_id.as_str())
            .bind(e.verification_id.as_str())
            .bind(micros_since_epoch(e.occurred_at))
            .execute(&mut *self.0)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn claim_resolution(&mut self, e: &NewEvent) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(sql::INSERT_HOLD_RESOLUTION)
            .bind(e.insurer_number())
            .bind(e.verification_id())
            .bind(micros_since_epoch(e.occurred_at()))
            .execute(&mut *self.0)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn registrations(
        &mut self,
        probes: &[RegistrationProbe<'_>],
    ) -> Result<Vec<Registration>, sqlx::Error> {
        let (text, arguments) = sql::registrations::<Postgres>(probes).into_parts();
        let rows = sqlx::query_as_with::<_, RegistrationRow, _>(&text, arguments)
            .fetch_all(&mut *self.0)
            .await?;
        Ok(rows.into_iter().map(Registration::from).collect())
    }

    async fn insert_events(
        &mut self,
        writer_id: &str,
        rows: &[PlannedRow<'_>],
    ) -> Result<Vec<(i64, i64)>, sqlx::Error> {
        let mut ids = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(sql::ROWS_PER_STATEMENT) {
            let mut qb = sql::insert_events_query::<Postgres>(writer_id, chunk);
            for row in qb.build().fetch_all(&mut *self.0).await? {
                ids.push((row.try_get("seq")?, row.try_get("id")?));
            }
        }
        Ok(ids)
    }

    async fn apply_open_holds(
        &mut self,
        changes: &[OpenHoldChange<'_>],
    ) -> Result<(), sqlx::Error> {
        for change in changes {
            match change {
                OpenHoldChange::Open(row) => {
                    sqlx::query(open_holds::INSERT)
                        .bind(row.hold_id)
                        .bind(row.insurer_number.as_str())
                        .bind(row.verification_id.as_str())
                        .bind(row.subject_id.as_str())
                        .bind(row.register_by_us)
                        .bind(row.risk_rank)
                        .bind(row.reasons)
                        .bind(row.assignee.as_str())
                        .execute(&mut *self.0)
                        .await?;
                }
                OpenHoldChange::Assign(insurer, verification, assignee) => {
                    sqlx::query(open_holds::ASSIGN)
                        .bind(*assignee)
                        .bind(*insurer)
                        .bind(*verification)
                        .execute(&mut *self.0)
                        .await?;
                }
                OpenHoldChange::Close(insurer, verification) => {
                    sqlx::query(open_holds::CLOSE)
                        .bind(*insurer)
                        .bind(*verification)
                        .execute(&mut *self.0)
                        .await?;
                }
            }
        }
        Ok(())
    }

    async fn apply_subject_decisions(
        &mut self,
        rows: &[SubjectDecisionRow],
    ) -> Result<(), sqlx::Error> {
        for row in rows {
            sqlx::query(subject_decisions::INSERT)
                .bind(row.insurer_number.as_str())
                .bind(row.subject_id.as_str())
                .bind(row.decision_id)
                .bind(row.verification_id.as_str())
                .execute(&mut *self.0)
                .await?;
        }
        Ok(())
    }

    async fn apply_hold_facts(
        &mut self,
        changes: &[hold_facts::HoldFactChange<'_>],
    ) -> Result<(), sqlx::Error> {
        hold_facts::apply::<Postgres>(&mut self.0, changes).await
    }

    async fn commit(self) -> Result<(), sqlx::Error> {
        self.0.commit().await
    }
}

#[cfg(test)]
mod tamper {
    use async_trait::async_trait;

    use super::PostgresBackend;
    use crate::audit::store::tamper::Tamper;

    #[async_trait]
    impl Tamper for PostgresBackend {
        async fn execute_raw(&self, sql: &str) -> Result<u64, String> {
            let done = sqlx::query(sql)
                .execute(&self.pool)
                .await
                .map_err(|e| e.to_string())?;
            Ok(done.rows_affected())
        }

        fn blob_literal(&self, bytes: &[u8]) -> String {
            format!("'\\x{}'::bytea", hex::encode(bytes))
        }

        async fn fetch_text(&self, sql: &str) -> Result<String, String> {
            let text = sqlx::query_scalar(sql).fetch_one(&self.pool).await;
            text.map_err(|e| e.to_string())
        }

        async fn drop_append_only_triggers(&self) {
            for (trigger, table) in [
                ("audit_events_no_update", "audit_events"),
                ("audit_events_no_delete", "audit_events"),
                ("audit_events_no_truncate", "audit_events"),
                ("verification_requests_no_update", "verification_requests"),
                ("verification_requests_no_delete", "verification_requests"),
                ("verification_requests_no_truncate", "verification_requests"),
            ] {
                let sql = format!("DROP TRIGGER {trigger} ON {table}");
                sqlx::query(&sql)
                    .execute(&self.pool)
                    .await
                    .expect("drop trigger");
            }
        }
    }
}
