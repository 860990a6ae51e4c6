//! The embedded default backend: one SQLite file, write-ahead log, durable commits.
//!
//! `synchronous = FULL` makes every commit reach the disk before it returns: a decision the
//! service has answered survives a power cut. Group commit ([`crate::audit::store::writer`]) is what
//! keeps that affordable. Transactions start with `BEGIN IMMEDIATE`, taking the write lock up
//! front, so a second process on the same file waits (`busy_timeout`) instead of failing half
//! way through a batch when its read lock cannot be upgraded.

mod blocking;
mod wal_checkpointer;

use std::{path::Path, str::FromStr, time::Duration};

use async_trait::async_trait;
use sqlx::{
    Pool, Sqlite, SqlitePool,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

use crate::audit::{
    AppendOutcome, AuditError, ChainState, NewEvent, StoredEvent,
    invariants::{self, GateTables},
    store::AuditBackend,
    store::adopted_keys::{self, AdoptedKey, Adoption, KeyToAdopt},
    store::read::SqlxStore,
    store::rows::{self},
    store::{hold_facts, open_holds, subject_decisions},
};

/// How long a statement waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// The size the write-ahead log's file is cut back to when the log starts over, if it grew
/// past it. In steady use the log starts over about once a second ([`wal_checkpointer`]) and
/// reaches a second's worth of commits, ~200 MB at 5,000 calls/s with 16 KiB pages; below
/// that size its file is overwritten in place. A smaller limit (64 MiB was the first) cut the
/// file back and grew it again every second, and the file system's truncation and allocation
/// on the commit path stalled commits for ~40 ms each second and raised the median latency at
/// half load by about half (BENCHMARKS.md). The limit only bounds the file after a burst or a
/// long reader has grown it further.
const WAL_SIZE_LIMIT: u64 = 1 << 30;
/// Rows a query may have buffered between the connection's thread and its reader (sqlx: 50).
const ROW_CHANNEL: usize = 4_096;
/// Read connections (WAL lets them run beside the writer).
const MAX_CONNECTIONS: u32 = 4;

/// How much memory each connection may give to database pages. Durability is the same
/// under every choice; only reads and peak memory differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageMemory {
    /// The page cache of each connection, in KiB.
    pub cache_kib: u32,
    /// How much of the file reads may map instead of copying it with `pread`.
    pub mmap_bytes: u64,
}

impl PageMemory {
    /// The server: lookups of earlier decisions (replays, GetVerification, holds) read pages
    /// again and again, so each connection keeps 64 MiB of them and each read connection maps
    /// 256 MiB of the file (the writer never maps it: `sqlite/blocking.rs`).
    pub const SERVER: PageMemory = PageMemory {
        cache_kib: 64 * 1024,
        mmap_bytes: 256 * 1024 * 1024,
    };

    /// A stream of appends that never reads an event back (`bulk --database`): a small cache
    /// serves it as fast, and a map only adds resident pages. Measured on the 1,000,000-row
    /// roster: 21 s instead of 25 s and ~65 MB less (BENCHMARKS.md).
    pub const STREAMING: PageMemory = PageMemory {
        cache_kib: 8 * 1024,
        mmap_bytes: 0,
    };
}

/// The audit store in a SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteBackend {
    /// The connections for reads, all with the durability pragmas applied.
    pool: SqlitePool,
    /// The one connection appends go through, blocking, on a thread of its own. SQLite runs
    /// one writer at a time anyway; keeping it on one connection keeps that connection's page
    /// cache valid from batch to batch (a write through another connection makes each one
    /// re-read every page it touches), and its own thread saves a hand-off per statement.
    writer: blocking::WriterThread,
}

impl SqliteBackend {
    /// Opens (creating it and its directory if missing) the SQLite file named by `url` and
    /// applies the migrations.
    ///
    /// An in-memory database is refused: the audit log must be durable, and a silent
    /// in-memory default would lose every decision at exit.
    pub async fn connect(url: &str) -> Result<Self, AuditError> {
        Self::connect_with(url, PageMemory::SERVER).await
    }

    /// [`connect`](Self::connect) with the page memory of `memory`.
    pub async fn connect_with(url: &str, memory: PageMemory) -> Result<Self, AuditError> {
        if url.contains(":memory:") || url.contains("mode=memory") {
            return Err(AuditError::Config(
                "the audit log must be durable: use a SQLite file, not an in-memory database"
                    .into(),
            ));
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|_| AuditError::Config("the SQLite URL cannot be parsed".into()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            // Without it, `INSERT OR REPLACE` deletes a conflicting row without firing the
            // append-only DELETE trigger.
            .pragma("recursive_triggers", "ON")
            // Throughput of durable commits (BENCHMARKS.md): 16 KiB pages hold several ~2 KiB
            // events each and halve the write calls per commit (only effective for a new
            // file); reads go through a memory map and a larger page cache instead of pread.
            .page_size(16 * 1024)
            .pragma("mmap_size", memory.mmap_bytes.to_string())
            .pragma("cache_size", format!("-{}", memory.cache_kib))
            // A multi-row INSERT with ON CONFLICT keeps a statement journal so that it can be
            // undone alone; in a file that is a write per page per statement, for data that
            // never needs to survive the transaction.
            .pragma("temp_store", "MEMORY")
            .pragma("journal_size_limit", WAL_SIZE_LIMIT.to_string())
            // sqlx hands each row from the connection's thread to the reader through a channel
            // of this many rows. At sqlx's 50, a reader that decodes slower than SQLite steps
            // keeps the channel full, so every row it takes wakes the connection's thread:
            // two futex calls and two context switches per row, which were most of HoldStats'
            // time over 250,000 holds (BENCHMARKS.md, "Hold statistics"). A page of the
            // largest reads fits whole (rows are ~1 KiB: a few MiB at most per query).
            .row_buffer_size(ROW_CHANNEL);
        create_parent_dir(options.get_filename())?;
        // The path as sqlx will open it (percent-decoded: `a%62c.sqlite` is `abc.sqlite`), so
        // that the file restricted is the file written.
        make_private(options.get_filename())?;
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(BUSY_TIMEOUT * 2)
            // A local file cannot drop a connection; sqlx's ping before every hand-out is a
            // round trip to the connection's thread for nothing.
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(|e| rows::unavailable(&e))?;
        sqlx::migrate!("migrations/sqlite")
            .run(&pool)
            .await
            .map_err(rows::migration_error)?;
        // Before the writer starts: a log written before migration 0008 gets its open holds
        // table, under the write lock, so that another process appending waits meanwhile.
        let fill = pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| rows::unavailable(&e))?;
        open_holds::fill_if_pending(fill, None).await?;
        // And, after migration 0010, its subject decisions table.
        let fill = pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| rows::unavailable(&e))?;
        subject_decisions::fill_if_pending(fill, None).await?;
        // And one written before migration 0011 its hold facts, likewise.
        let fill = pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| rows::unavailable(&e))?;
        hold_facts::fill_if_pending(fill, None).await?;
        // The writer never checkpoints inside a commit; the checkpointer task does it beside,
        // and asks the writer to finish each copy between two batches.
        let finish = wal_checkpointer::FinishRequest::default();
        let writer = blocking::WriterThread::start(
            pool.connect_options().get_filename(),
            memory,
            finish.clone(),
        )?;
        wal_checkpointer::spawn(pool.clone(), finish);
        Ok(SqliteBackend { pool, writer })
    }
}

/// The audit database holds 特定個人情報: its file is created readable by its owner only before
/// SQLite writes a byte (SQLite gives the -wal and -shm files the database file's permissions),
/// and an existing file and its companions are restricted before they are opened. Chmod-ing
/// after the migrations, the rejected alternative, leaves them readable by others meanwhile.
fn make_private(file: &Path) -> Result<(), AuditError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let failed = |what: &str, e: std::io::Error| {
        AuditError::Config(format!("cannot {what} the database file: {}", e.kind()))
    };
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(file)
    {
        Ok(_) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(failed("create", e)),
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut name = file.as_os_str().to_owned();
        name.push(suffix);
        let path = Path::new(&name);
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.is_file() && meta.permissions().mode() & 0o077 != 0 => {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                    .map_err(|e| failed("restrict", e))?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Creates the database's directory, and any missing parent, readable by the owner only
/// (0700, whatever the umask): it holds 特定個人情報. An existing directory is left as it is.
fn create_parent_dir(file: &Path) -> Result<(), AuditError> {
    use std::os::unix::fs::DirBuilderExt;
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| {
                AuditError::Config(format!(
                    "cannot create the database directory: {}",
                    e.kind()
                ))
            }),
        _ => Ok(()),
    }
}

impl SqlxStore for SqliteBackend {
    type Db = Sqlite;

    fn pool(&self) -> &Pool<Sqlite> {
        &self.pool
    }
}

#[async_trait]
impl AuditBackend for SqliteBackend {
    fn system(&self) -> &'static str {
        "sqlite"
    }

    async fn append_valid_batch(
        &self,
        chain: &mut ChainState,
        events: Vec<NewEvent>,
    ) -> (Vec<NewEvent>, Result<Vec<AppendOutcome>, AuditError>) {
        let (events, result) = self.writer.append(chain, events).await;
        let result = result.map_err(|e| {
            chain.mark_uncertain();
            e.into_audit()
        });
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
        let tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| rows::unavailable(&e))?;
        adopted_keys::adopt_in(tx, expected, new).await
    }

    async fn read_chains_and_tables(&self) -> Result<(Vec<StoredEvent>, GateTables), AuditError> {
        invariants::read::chains_and_tables(&self.pool, None).await
    }

    async fn close(&self) {
        // The writer first: SQLite checkpoints the log and removes it when the last connection
        // to the file closes, which is then one of the pool's.
        self.writer.close().await;
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tamper {
    use async_trait::async_trait;

    use super::SqliteBackend;
    use crate::audit::store::tamper::Tamper;

    #[async_trait]
    impl Tamper for SqliteBackend {
        async fn execute_raw(&self, sql: &str) -> Result<u64, String> {
            let done = sqlx::query(sql)
                .execute(&self.pool)
                .await
                .map_err(|e| e.to_string())?;
            Ok(done.rows_affected())
        }

        fn blob_literal(&self, bytes: &[u8]) -> String {
            format!("X'{}'", hex::encode(bytes))
        }

        async fn fetch_text(&self, sql: &str) -> Result<String, String> {
            let text = sqlx::query_scalar(sql).fetch_one(&self.pool).await;
            text.map_err(|e| e.to_string())
        }

        async fn drop_append_only_triggers(&self) {
            for trigger in [
                "audit_events_no_update",
                "audit_events_no_delete",
                "verification_requests_no_update",
                "verification_requests_no_delete",
            ] {
                let sql = format!("DROP TRIGGER {trigger}");
                sqlx::query(&sql)
                    .execute(&self.pool)
                    .await
                    .expect("drop trigger");
            }
        }
    }
}
