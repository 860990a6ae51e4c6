//! SQLite's writer: one blocking connection on a thread of its own.
//!
//! sqlx runs every SQLite connection on a worker thread and hands it each statement over a
//! channel: an append batch (BEGIN, the registrations probe, the key claims, the INSERT, COMMIT)
//! was six round trips between the writer task and that thread, each a wake-up and a context
//! switch on a loaded core, and sqlx's own argument and row buffers on top (BENCHMARKS.md). Here
//! the group-commit writer hands the whole batch to this thread once; the thread runs the same
//! append algorithm ([`store::append_in`]) on a rusqlite connection, statement by statement
//! without leaving the thread, and hands back the outcomes once.
//!
//! Both libraries link the same SQLite (one `libsqlite3-sys`), so this connection and sqlx's
//! read pool share the file exactly as two sqlx connections would. Reads stay on sqlx.
//!
//! A batch that fails closes the connection and the next one opens a fresh connection: after
//! `SQLITE_FULL` a connection can be left believing a transaction is open, so that every later
//! BEGIN fails; a fresh connection recovers as soon as the cause (the full disk) is gone.

use std::{
    borrow::Cow,
    collections::{HashMap, HashSet},
    fmt,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use rusqlite::{Connection, OpenFlags, Statement, ToSql, ffi};
use tokio::sync::{mpsc, oneshot};

use super::wal_checkpointer::{self, FinishRequest};
use crate::audit::{
    AppendOutcome, AuditError, ChainState, CommitAccepted, Hash, NewEvent, Registration,
    event::encoding,
    micros_since_epoch,
    store::open_holds::{self, OpenHoldChange},
    store::rows::RegistrationRow,
    store::sql::PlannedRow,
    store::sql::{self, RegistrationProbe},
    store::{self, BatchTransaction},
};

/// Prepared statements kept per connection: one per statement kind and batch size seen.
const STATEMENT_CACHE: usize = 256;

/// A batch for the writer thread, and where to send it back.
struct Job {
    chain: ChainState,
    events: Vec<NewEvent>,
    reply: oneshot::Sender<Done>,
}

/// A batch handed back: the chain as it is now (advanced, or as it was on failure), the
/// events (for the caller to reuse), and what became of them.
struct Done {
    chain: ChainState,
    events: Vec<NewEvent>,
    result: Result<Vec<AppendOutcome>, sqlx::Error>,
}

/// The way in to the writer thread. The thread ends at [`close`](Self::close), or when every
/// clone is dropped.
#[derive(Clone)]
pub(crate) struct WriterThread {
    /// `None` once closed.
    jobs: Arc<Mutex<Option<mpsc::Sender<Job>>>>,
    /// The thread, for `close` to wait for.
    thread: Arc<Mutex<Option<std::thread::JoinHandle<()>>>>,
}

impl fmt::Debug for WriterThread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WriterThread")
    }
}

impl WriterThread {
    /// Opens the writer connection on `file` (which the read pool has created and migrated)
    /// and starts its thread. Fails when the connection cannot be opened.
    /// `finish` is the checkpoint task's request to complete its copy between two batches.
    pub(crate) fn start(
        file: &Path,
        memory: super::PageMemory,
        finish: FinishRequest,
    ) -> Result<Self, AuditError> {
        let conn = open(file, memory)
            .map_err(|e| crate::audit::store::rows::unavailable(&into_sqlx(e)))?;
        // One batch at a time: the group-commit writer waits for each before the next.
        let (jobs, rx) = mpsc::channel(1);
        let file = file.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("audit-sqlite-writer".into())
            .spawn(move || run(file, memory, conn, rx, finish))
            .map_err(|e| AuditError::Config(format!("cannot start the writer: {}", e.kind())))?;
        Ok(WriterThread {
            jobs: Arc::new(Mutex::new(Some(jobs))),
            thread: Arc::new(Mutex::new(Some(thread))),
        })
    }

    /// Stops taking batches, lets the one in progress finish and waits until the thread has
    /// closed its connection.
    pub(crate) async fn close(&self) {
        drop(lock(&self.jobs).take());
        let thread = lock(&self.thread).take();
        if let Some(thread) = thread {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }

    /// Appends `events` at the end of `chain` in one transaction on the writer thread, and
    /// hands the events back. `chain` advances on success; it is left as it was when the
    /// thread cannot be reached (its caller marks it uncertain on any error).
    pub(crate) async fn append(
        &self,
        chain: &mut ChainState,
        events: Vec<NewEvent>,
    ) -> (Vec<NewEvent>, Result<Vec<AppendOutcome>, sqlx::Error>) {
        let Some(jobs) = lock(&self.jobs).clone() else {
            return (events, Err(sqlx::Error::PoolClosed));
        };
        let (reply, answer) = oneshot::channel();
        let job = Job {
            chain: chain.clone(),
            events,
            reply,
        };
        if let Err(mpsc::error::SendError(job)) = jobs.send(job).await {
            return (job.events, Err(sqlx::Error::WorkerCrashed));
        }
        match answer.await {
            Ok(done) => {
                *chain = done.chain;
                (done.events, done.result)
            }
            Err(_) => (Vec::new(), Err(sqlx::Error::WorkerCrashed)),
        }
    }
}

/// The lock, even if a thread panicked holding it (what it guards stays consistent: an
/// `Option` taken or not).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The thread: one batch after another, until every [`WriterThread`] is dropped, finishing
/// the checkpoint task's copy between two batches when it asks. Closing the connection at the
/// end lets SQLite checkpoint and remove the log if no other connection is open.
fn run(
    file: PathBuf,
    memory: super::PageMemory,
    conn: Connection,
    mut jobs: mpsc::Receiver<Job>,
    finish: FinishRequest,
) {
    let mut conn = Some(conn);
    while let Some(Job {
        mut chain,
        events,
        reply,
    }) = jobs.blocking_recv()
    {
        let result = match conn.take().map_or_else(|| open(&file, memory), Ok) {
            Ok(mut c) => {
                // A panic in one batch fails that batch alone (its connection is dropped, its
                // transaction rolled back) instead of stopping every append until a restart.
                let attempt = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    append(&mut c, &mut chain, &events)
                }));
                match attempt {
                    Ok(result) => {
                        if result.is_ok() {
                            conn = Some(c);
                        }
                        result
                    }
                    Err(_) => Err(sqlx::Error::WorkerCrashed),
                }
            }
            Err(e) => Err(into_sqlx(e)),
        };
        let _ = reply.send(Done {
            chain,
            events,
            result,
        });
        // After the answer, so that no caller of this batch waits for it.
        if finish.take()
            && let Some(c) = &conn
            && let Err(e) = wal_checkpointer::finish_on_writer(c)
        {
            wal_checkpointer::failed(&into_sqlx(e));
        }
    }
}

/// Opens the writer connection with the same durability settings as the read pool's, no
/// checkpoints inside commits (the checkpointer does them) and no memory map.
fn open(file: &Path, memory: super::PageMemory) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        file,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(super::BUSY_TIMEOUT)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; \
         PRAGMA synchronous = FULL; \
         PRAGMA foreign_keys = ON; \
         PRAGMA recursive_triggers = ON; \
         PRAGMA temp_store = MEMORY; \
         PRAGMA wal_autocheckpoint = 0;",
    )?;
    // No memory map here, whatever the readers have: once the log starts over, the writer
    // reads the pages it changes from the database file, and with random keys in the indexes
    // that is, over time, every page of them. Through a map each of those pages stayed
    // resident in this process (RssFile 22 → 126 MB in ten minutes at 4,500/s); through its
    // page cache they are bounded by `cache_size`, at the same CPU per call (BENCHMARKS.md).
    conn.execute_batch(&format!(
        "PRAGMA mmap_size = 0; PRAGMA cache_size = -{}; PRAGMA journal_size_limit = {};",
        memory.cache_kib,
        super::WAL_SIZE_LIMIT
    ))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// One append transaction, driven to completion on this thread. The transaction's futures
/// never wait (every call below is blocking), so polling them once each is the whole run.
fn append(
    conn: &mut Connection,
    chain: &mut ChainState,
    events: &[NewEvent],
) -> Result<Vec<AppendOutcome>, sqlx::Error> {
    conn.execute_batch("BEGIN IMMEDIATE").map_err(into_sqlx)?;
    let tx = BlockingTx {
        conn,
        committed: false,
    };
    futures::executor::block_on(store::append_in(tx, chain, events))
}

/// One open transaction on the writer connection; rolled back when dropped uncommitted.
struct BlockingTx<'c> {
    conn: &'c mut Connection,
    committed: bool,
}

impl Drop for BlockingTx<'_> {
    fn drop(&mut self) {
        if !self.committed {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// Binds values to a statement's placeholders in order (1-based, as SQLite numbers them).
struct Binder<'s, 'c> {
    stmt: &'s mut Statement<'c>,
    next: usize,
}

impl<'s, 'c> Binder<'s, 'c> {
    fn new(stmt: &'s mut Statement<'c>) -> Self {
        Binder { stmt, next: 1 }
    }

    fn bind(&mut self, value: impl ToSql) -> Result<&mut Self, sqlx::Error> {
        self.stmt
            .raw_bind_parameter(self.next, value)
            .map_err(into_sqlx)?;
        self.next += 1;
        Ok(self)
    }
}

impl BatchTransaction for BlockingTx<'_> {
    async fn chain_tail(&mut self, writer_id: &str) -> Result<Option<(i64, Hash)>, sqlx::Error> {
        let mut stmt = self
            .conn
            .prepare_cached(sql::SELECT_CHAIN_TAIL)
            .map_err(into_sqlx)?;
        let mut rows = stmt.query([writer_id]).map_err(into_sqlx)?;
        match rows.next().map_err(into_sqlx)? {
            Some(row) => {
                let seq: i64 = row.get(0).map_err(into_sqlx)?;
                let hash: Vec<u8> = row.get(1).map_err(into_sqlx)?;
                Ok(Some((seq, store::hash_column(hash)?)))
            }
            None => Ok(None),
        }
    }

    async fn claim_requests(
        &mut self,
        claims: &[&NewEvent],
    ) -> Result<HashSet<(String, String)>, sqlx::Error> {
        let mut new_keys = HashSet::new();
        for chunk in claims.chunks(sql::ROWS_PER_STATEMENT) {
            let text = values_sql(
                sql::CLAIM_REQUESTS_HEAD,
                chunk.len(),
                3,
                sql::CLAIM_REQUESTS_TAIL,
            );
            let mut stmt = self.conn.prepare_cached(&text).map_err(into_sqlx)?;
            let mut b = Binder::new(&mut stmt);
            for e in chunk {
                b.bind(e.insurer_number())?
                    .bind(e.request_id())?
                    .bind(e.verification_id())?;
            }
            let mut rows = stmt.raw_query();
            while let Some(row) = rows.next().map_err(into_sqlx)? {
                new_keys.insert((
                    row.get(0).map_err(into_sqlx)?,
                    row.get(1).map_err(into_sqlx)?,
                ));
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
            let mut text = values_sql(sql::EXISTING_IDS_HEAD, chunk.len(), 2, "");
            text.push_str(&values_sql(sql::EXISTING_IDS_IN_CHAIN, chunk.len(), 2, ")"));
            let mut stmt = self.conn.prepare_cached(&text).map_err(into_sqlx)?;
            let mut b = Binder::new(&mut stmt);
            for _ in 0..2 {
                for (insurer, request) in chunk {
                    b.bind(insurer)?.bind(request)?;
                }
            }
            let mut rows = stmt.raw_query();
            while let Some(row) = rows.next().map_err(into_sqlx)? {
                let key = (
                    row.get(0).map_err(into_sqlx)?,
                    row.get(1).map_err(into_sqlx)?,
                );
                let id: String = row.get(2).map_err(into_sqlx)?;
                let from_chain: i64 = row.get(3).map_err(into_sqlx)?;
                store::prefer_the_key_table(&mut found, key, id, from_chain != 0);
            }
        }
        Ok(found)
    }

    async fn claim_registration(&mut self, e: &CommitAccepted) -> Result<bool, sqlx::Error> {
        let fp = &e.number_fingerprint;
        let mut stmt = self
            .conn
            .prepare_cached(sql::INSERT_REGISTRATION)
            .map_err(into_sqlx)?;
        let changed = stmt
            .execute(rusqlite::params![
                e.insurer_number,
                fp.key_id,
                fp.mac_hex,
                e.subject_id,
                e.verification_id,
                micros_since_epoch(e.occurred_at),
            ])
            .map_err(into_sqlx)?;
        Ok(changed == 1)
    }

    async fn claim_resolution(&mut self, e: &NewEvent) -> Result<bool, sqlx::Error> {
        let mut stmt = self
            .conn
            .prepare_cached(sql::INSERT_HOLD_RESOLUTION)
            .map_err(into_sqlx)?;
        let changed = stmt
            .execute(rusqlite::params![
                e.insurer_number(),
                e.verification_id(),
                micros_since_epoch(e.occurred_at()),
            ])
            .map_err(into_sqlx)?;
        Ok(changed == 1)
    }

    async fn registrations(
        &mut self,
        probes: &[RegistrationProbe<'_>],
    ) -> Result<Vec<Registration>, sqlx::Error> {
        let n = probes.len();
        let mut text = values_sql(sql::REGISTRATIONS_BY_NUMBER, n, 2, "");
        text.push_str(&values_sql(sql::REGISTRATIONS_BY_SUBJECT, n, 2, ""));
        text.push_str(&values_sql(sql::COMMITS_BY_NUMBER, n, 2, ""));
        text.push_str(&values_sql(sql::COMMITS_BY_SUBJECT, n, 2, ")"));
        let mut stmt = self.conn.prepare_cached(&text).map_err(into_sqlx)?;
        let mut b = Binder::new(&mut stmt);
        for _ in 0..2 {
            for (insurer, number_fp, _) in probes {
                b.bind(insurer)?.bind(number_fp)?;
            }
            for (insurer, _, subject) in probes {
                b.bind(insurer)?.bind(subject)?;
            }
        }
        let mut rows = stmt.raw_query();
        let mut found = Vec::new();
        while let Some(row) = rows.next().map_err(into_sqlx)? {
            let registration = RegistrationRow {
                insurer_number: row.get(0).map_err(into_sqlx)?,
                number_fp_key_id: row.get(1).map_err(into_sqlx)?,
                number_fp: row.get(2).map_err(into_sqlx)?,
                subject_id: row.get(3).map_err(into_sqlx)?,
                verification_id: row.get(4).map_err(into_sqlx)?,
                committed_at_us: row.get(5).map_err(into_sqlx)?,
            };
            found.push(Registration::from(registration));
        }
        Ok(found)
    }

    async fn insert_events(
        &mut self,
        writer_id: &str,
        rows: &[PlannedRow<'_>],
    ) -> Result<Vec<(i64, i64)>, sqlx::Error> {
        let mut ids = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(sql::ROWS_PER_STATEMENT) {
            let text = values_sql(
                sql::INSERT_EVENTS_HEAD,
                chunk.len(),
                sql::EVENT_VALUES,
                sql::INSERT_EVENTS_TAIL,
            );
            let mut stmt = self.conn.prepare_cached(&text).map_err(into_sqlx)?;
            let mut b = Binder::new(&mut stmt);
            for row in chunk {
                let e = row.event;
                b.bind(writer_id)?
                    .bind(row.seq)?
                    .bind(encoding::FORMAT)?
                    .bind(e.event_type().as_str())?
                    .bind(micros_since_epoch(e.occurred_at()))?
                    .bind(e.insurer_number())?
                    .bind(e.verification_id())?
                    .bind(e.decision().map(|d| d.id()))?
                    .bind(row.hash.as_slice())?
                    .bind(row.body.as_slice())?;
                for column in sql::lookup_columns(e) {
                    b.bind(column)?;
                }
            }
            let mut returned = stmt.raw_query();
            while let Some(r) = returned.next().map_err(into_sqlx)? {
                ids.push((r.get(0).map_err(into_sqlx)?, r.get(1).map_err(into_sqlx)?));
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
                    let mut stmt = self
                        .conn
                        .prepare_cached(open_holds::INSERT)
                        .map_err(into_sqlx)?;
                    stmt.execute(rusqlite::params![
                        row.hold_id,
                        row.insurer_number,
                        row.verification_id,
                        row.subject_id,
                        row.register_by_us,
                        row.risk_rank,
                        row.reasons,
                        row.assignee,
                    ])
                    .map_err(into_sqlx)?;
                }
                OpenHoldChange::Assign(insurer, verification, assignee) => {
                    let mut stmt = self
                        .conn
                        .prepare_cached(open_holds::ASSIGN)
                        .map_err(into_sqlx)?;
                    stmt.execute(rusqlite::params![assignee, insurer, verification])
                        .map_err(into_sqlx)?;
                }
                OpenHoldChange::Close(insurer, verification) => {
                    let mut stmt = self
                        .conn
                        .prepare_cached(open_holds::CLOSE)
                        .map_err(into_sqlx)?;
                    stmt.execute(rusqlite::params![insurer, verification])
                        .map_err(into_sqlx)?;
                }
            }
        }
        Ok(())
    }

    async fn commit(mut self) -> Result<(), sqlx::Error> {
        self.conn.execute_batch("COMMIT").map_err(into_sqlx)?;
        self.committed = true;
        Ok(())
    }
}

/// `head` + `rows` groups of `columns` placeholders + `tail`: the text of a multi-row
/// statement, the same for every batch of the same size (so its prepared form is reused).
fn values_sql(head: &str, rows: usize, columns: usize, tail: &str) -> String {
    let mut text = String::with_capacity(head.len() + tail.len() + rows * (columns * 2 + 3));
    text.push_str(head);
    // Also inside `(a, b) IN (VALUES …)`: SQLite takes a row value on the left of IN only
    // with a subquery on the right.
    text.push_str("VALUES ");
    for r in 0..rows {
        if r > 0 {
            text.push(',');
        }
        text.push('(');
        for c in 0..columns {
            if c > 0 {
                text.push(',');
            }
            text.push('?');
        }
        text.push(')');
    }
    text.push_str(tail);
    text
}

/// A rusqlite error as the sqlx error the store describes: SQLite's own failures keep their
/// extended result code (as sqlx reports it), and nothing keeps SQLite's message, which can
/// name values in some errors.
fn into_sqlx(e: rusqlite::Error) -> sqlx::Error {
    match e {
        rusqlite::Error::SqliteFailure(failure, message) => {
            sqlx::Error::Database(Box::new(SqliteFailure {
                code: failure.extended_code,
                key_not_current: message.is_some_and(|m| m.contains(sql::KEY_NOT_CURRENT)),
            }))
        }
        other => sqlx::Error::Decode(Box::new(Described(kind_of(&other)))),
    }
}

/// What a non-SQLite rusqlite error was, without its values.
fn kind_of(e: &rusqlite::Error) -> &'static str {
    match e {
        rusqlite::Error::InvalidColumnType(..) => "a column of an unexpected type",
        rusqlite::Error::InvalidColumnIndex(_) => "a column index out of range",
        rusqlite::Error::InvalidParameterCount(..) => "a wrong number of parameters",
        rusqlite::Error::IntegralValueOutOfRange(..) => "an integer out of range",
        _ => "a rusqlite error",
    }
}

/// A non-database error described without content.
#[derive(Debug)]
struct Described(&'static str);

impl fmt::Display for Described {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Described {}

/// A failure SQLite reported, by its extended result code only (SQLite's message can quote
/// values), and whether it is the registrations trigger refusing a retired fingerprint key
/// (a message of ours, which quotes nothing).
#[derive(Debug)]
struct SqliteFailure {
    /// The extended result code.
    code: i32,
    /// Raised by `registrations_under_the_current_key` (migrations/sqlite/0006).
    key_not_current: bool,
}

impl fmt::Display for SqliteFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SQLite error {}", self.code)
    }
}

impl std::error::Error for SqliteFailure {}

impl sqlx::error::DatabaseError for SqliteFailure {
    fn message(&self) -> &str {
        if self.key_not_current {
            sql::KEY_NOT_CURRENT
        } else {
            "SQLite error"
        }
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        Some(self.code.to_string().into())
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> sqlx::error::ErrorKind {
        match self.code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                sqlx::error::ErrorKind::UniqueViolation
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => sqlx::error::ErrorKind::ForeignKeyViolation,
            ffi::SQLITE_CONSTRAINT_NOTNULL => sqlx::error::ErrorKind::NotNullViolation,
            ffi::SQLITE_CONSTRAINT_CHECK => sqlx::error::ErrorKind::CheckViolation,
            _ => sqlx::error::ErrorKind::Other,
        }
    }
}

#[cfg(test)]
mod tests;
