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
    collections::{HashMap, HashSet},
    fmt,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use rusqlite::{Connection, OpenFlags, Statement, ToSql};
use tokio::sync::{mpsc, oneshot};

use super::wal_checkpointer::{self, FinishRequest};
use crate::audit::{
    AppendOutcome, AuditError, ChainState, CommitAccepted, Hash, NewEvent, Registration,
    event::encoding,
    micros_since_epoch,
    store::open_holds::{self, OpenHoldChange},
    store::rows::{self, RegistrationRow},
    store::sql::PlannedRow,
    store::sql::{self, RegistrationProbe},
    store::subject_decisions::{self, SubjectDecisionRow},
    store::{self, AppendFault, BatchTransaction},
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
    result: Result<Vec<AppendOutcome>, WriteError>,
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
        let conn = open(file, memory).map_err(|e| WriteError::from(e).into_audit())?;
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
    ) -> (Vec<NewEvent>, Result<Vec<AppendOutcome>, WriteError>) {
        let Some(jobs) = lock(&self.jobs).clone() else {
            return (events, Err(WriteError::Closed));
        };
        let (reply, answer) = oneshot::channel();
        let job = Job {
            chain: chain.clone(),
            events,
            reply,
        };
        if let Err(mpsc::error::SendError(job)) = jobs.send(job).await {
            return (job.events, Err(WriteError::Crashed));
        }
        match answer.await {
            Ok(done) => {
                *chain = done.chain;
                (done.events, done.result)
            }
            Err(_) => (Vec::new(), Err(WriteError::Crashed)),
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
                    Err(_) => Err(WriteError::Crashed),
                }
            }
            Err(e) => Err(WriteError::from(e)),
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
            wal_checkpointer::count_failure(&WriteError::from(e).describe());
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
) -> Result<Vec<AppendOutcome>, WriteError> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
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

    fn bind(&mut self, value: impl ToSql) -> Result<&mut Self, WriteError> {
        self.stmt.raw_bind_parameter(self.next, value)?;
        self.next += 1;
        Ok(self)
    }
}

impl BatchTransaction for BlockingTx<'_> {
    type Error = WriteError;

    async fn chain_tail(&mut self, writer_id: &str) -> Result<Option<(i64, Hash)>, WriteError> {
        let mut stmt = self.conn.prepare_cached(sql::SELECT_CHAIN_TAIL)?;
        let mut rows = stmt.query([writer_id])?;
        match rows.next()? {
            Some(row) => {
                let seq: i64 = row.get(0)?;
                let hash: Vec<u8> = row.get(1)?;
                Ok(Some((seq, store::hash_column(hash)?)))
            }
            None => Ok(None),
        }
    }

    async fn claim_requests(
        &mut self,
        claims: &[&NewEvent],
    ) -> Result<HashSet<(String, String)>, WriteError> {
        let mut new_keys = HashSet::new();
        for chunk in claims.chunks(sql::ROWS_PER_STATEMENT) {
            let text = values_sql(
                sql::CLAIM_REQUESTS_HEAD,
                chunk.len(),
                3,
                sql::CLAIM_REQUESTS_TAIL,
            );
            let mut stmt = self.conn.prepare_cached(&text)?;
            let mut b = Binder::new(&mut stmt);
            for e in chunk {
                b.bind(e.insurer_number())?
                    .bind(e.request_id())?
                    .bind(e.verification_id())?;
            }
            let mut rows = stmt.raw_query();
            while let Some(row) = rows.next()? {
                new_keys.insert((row.get(0)?, row.get(1)?));
            }
        }
        Ok(new_keys)
    }

    async fn existing_verification_ids(
        &mut self,
        keys: &[(&str, &str)],
    ) -> Result<HashMap<(String, String), String>, WriteError> {
        let mut found = HashMap::new();
        for chunk in keys.chunks(sql::ROWS_PER_STATEMENT) {
            let mut text = values_sql(sql::EXISTING_IDS_HEAD, chunk.len(), 2, "");
            text.push_str(&values_sql(sql::EXISTING_IDS_IN_CHAIN, chunk.len(), 2, ")"));
            let mut stmt = self.conn.prepare_cached(&text)?;
            let mut b = Binder::new(&mut stmt);
            for _ in 0..2 {
                for (insurer, request) in chunk {
                    b.bind(insurer)?.bind(request)?;
                }
            }
            let mut rows = stmt.raw_query();
            while let Some(row) = rows.next()? {
                let key = (row.get(0)?, row.get(1)?);
                let id: String = row.get(2)?;
                let from_chain: i64 = row.get(3)?;
                store::prefer_the_key_table(&mut found, key, id, from_chain != 0);
            }
        }
        Ok(found)
    }

    async fn claim_registration(&mut self, e: &CommitAccepted) -> Result<bool, WriteError> {
        let fp = &e.number_fingerprint;
        let mut stmt = self.conn.prepare_cached(sql::INSERT_REGISTRATION)?;
        let changed = stmt.execute(rusqlite::params![
            e.insurer_number,
            fp.key_id,
            fp.mac_hex,
            e.subject_id,
            e.verification_id,
            micros_since_epoch(e.occurred_at),
        ])?;
        Ok(changed == 1)
    }

    async fn claim_resolution(&mut self, e: &NewEvent) -> Result<bool, WriteError> {
        let mut stmt = self.conn.prepare_cached(sql::INSERT_HOLD_RESOLUTION)?;
        let changed = stmt.execute(rusqlite::params![
            e.insurer_number(),
            e.verification_id(),
            micros_since_epoch(e.occurred_at()),
        ])?;
        Ok(changed == 1)
    }

    async fn registrations(
        &mut self,
        probes: &[RegistrationProbe<'_>],
    ) -> Result<Vec<Registration>, WriteError> {
        let n = probes.len();
        let mut text = values_sql(sql::REGISTRATIONS_BY_NUMBER, n, 2, "");
        text.push_str(&values_sql(sql::REGISTRATIONS_BY_SUBJECT, n, 2, ""));
        text.push_str(&values_sql(sql::COMMITS_BY_NUMBER, n, 2, ""));
        text.push_str(&values_sql(sql::COMMITS_BY_SUBJECT, n, 2, ")"));
        let mut stmt = self.conn.prepare_cached(&text)?;
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
        while let Some(row) = rows.next()? {
            let registration = RegistrationRow {
                insurer_number: row.get(0)?,
                number_fp_key_id: row.get(1)?,
                number_fp: row.get(2)?,
                subject_id: row.get(3)?,
                verification_id: row.get(4)?,
                committed_at_us: row.get(5)?,
            };
            found.push(Registration::from(registration));
        }
        Ok(found)
    }

    async fn insert_events(
        &mut self,
        writer_id: &str,
        rows: &[PlannedRow<'_>],
    ) -> Result<Vec<(i64, i64)>, WriteError> {
        let mut ids = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(sql::ROWS_PER_STATEMENT) {
            let text = values_sql(
                sql::INSERT_EVENTS_HEAD,
                chunk.len(),
                sql::EVENT_VALUES,
                sql::INSERT_EVENTS_TAIL,
            );
            let mut stmt = self.conn.prepare_cached(&text)?;
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
            while let Some(r) = returned.next()? {
                ids.push((r.get(0)?, r.get(1)?));
            }
        }
        Ok(ids)
    }

    async fn apply_open_holds(&mut self, changes: &[OpenHoldChange<'_>]) -> Result<(), WriteError> {
        for change in changes {
            match change {
                OpenHoldChange::Open(row) => {
                    let mut stmt = self.conn.prepare_cached(open_holds::INSERT)?;
                    stmt.execute(rusqlite::params![
                        row.hold_id,
                        row.insurer_number,
                        row.verification_id,
                        row.subject_id,
                        row.register_by_us,
                        row.risk_rank,
                        row.reasons,
                        row.assignee,
                    ])?;
                }
                OpenHoldChange::Assign(insurer, verification, assignee) => {
                    let mut stmt = self.conn.prepare_cached(open_holds::ASSIGN)?;
                    stmt.execute(rusqlite::params![assignee, insurer, verification])?;
                }
                OpenHoldChange::Close(insurer, verification) => {
                    let mut stmt = self.conn.prepare_cached(open_holds::CLOSE)?;
                    stmt.execute(rusqlite::params![insurer, verification])?;
                }
            }
        }
        Ok(())
    }

    async fn apply_subject_decisions(
        &mut self,
        rows: &[SubjectDecisionRow],
    ) -> Result<(), WriteError> {
        let mut stmt = self.conn.prepare_cached(subject_decisions::INSERT)?;
        for row in rows {
            stmt.execute(rusqlite::params![
                row.insurer_number,
                row.subject_id,
                row.decision_id,
                row.verification_id,
            ])?;
        }
        Ok(())
    }

    async fn apply_hold_facts(
        &mut self,
        changes: &[store::hold_facts::HoldFactChange<'_>],
    ) -> Result<(), WriteError> {
        hold_facts::apply(self.conn, changes)
    }

    async fn commit(mut self) -> Result<(), WriteError> {
        self.conn.execute_batch("COMMIT")?;
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

/// What the writer thread reports: SQLite's own failures by their extended result code (as
/// sqlx reports them), never SQLite's message, which can name values in some errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WriteError {
    /// SQLite failed the statement.
    Sqlite {
        /// The extended result code.
        code: i32,
        /// Raised by `registrations_under_the_current_key` (migrations/sqlite/0006): the
        /// trigger refusing a retired fingerprint key (a message of ours, which quotes nothing).
        key_not_current: bool,
    },
    /// rusqlite refused a value or a column, described without it.
    Rusqlite(&'static str),
    /// The append algorithm found the store inconsistent.
    Fault(AppendFault),
    /// The writer was closed.
    Closed,
    /// The writer thread is gone or panicked in the batch.
    Crashed,
}

impl From<rusqlite::Error> for WriteError {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::SqliteFailure(failure, message) => WriteError::Sqlite {
                code: failure.extended_code,
                key_not_current: message.is_some_and(|m| m.contains(sql::KEY_NOT_CURRENT)),
            },
            other => WriteError::Rusqlite(kind_of(&other)),
        }
    }
}

impl From<AppendFault> for WriteError {
    fn from(fault: AppendFault) -> Self {
        WriteError::Fault(fault)
    }
}

impl WriteError {
    /// A content-free description, in the words `rows::describe` uses for sqlx's errors.
    pub(crate) fn describe(&self) -> String {
        match self {
            WriteError::Sqlite { code, .. } => format!("database error (code {code})"),
            WriteError::Rusqlite(kind) => format!("cannot decode a value: {kind}"),
            WriteError::Fault(fault) => fault.describe().into(),
            WriteError::Closed => "the connection pool is closed".into(),
            WriteError::Crashed => "the database worker crashed".into(),
        }
    }

    /// The store's error: the key message when a retired key was refused, else `Unavailable`.
    pub(crate) fn into_audit(self) -> AuditError {
        match self {
            WriteError::Sqlite {
                key_not_current: true,
                ..
            } => rows::key_not_current(),
            other => AuditError::Unavailable(other.describe()),
        }
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

mod hold_facts;
#[cfg(test)]
mod tests;
