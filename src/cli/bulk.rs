//! `verify-identity bulk ROSTER.csv --output RESULTS.csv`: a whole roster, row by row.
//!
//! Three ways to run, one pipeline: a reader thread splits the file into records (raw bytes,
//! so CP932 is decoded field by field later) and hands them on in chunks; each chunk's rows
//! become `VerifyRequest`s and are decided; the results are written in input order.
//!
//! - `--dry-run`: decided here by the core, on every core (chunks in parallel, written in
//!   order); nothing is stored, so no verification ids and nothing can be committed.
//! - `--database URL` (embedded): the server's own decide-and-append path
//!   ([`Decider`]) on the same audit log, without a server. Chunks are decided on the
//!   runtime's threads and their appends reach the group-commit writer together.
//! - otherwise through a server (`--server URL`): one VerifyBatch stream per chunk, a few
//!   chunks at once, so that the server decides on all its cores; what is in flight is
//!   bounded by the chunks in flight, HTTP/2 flow control and the server's `batch_in_flight`.
//!
//! Personal data never reaches the progress output, the summary, the report, the result file
//! or the errors file: rows are named by line and column.

use std::{
    collections::{BTreeMap, VecDeque},
    fs::File,
    io::{BufReader, BufWriter, IsTerminal},
    path::{Path, PathBuf},
    sync::{Arc, Mutex, mpsc},
    time::{Duration, Instant, SystemTime},
};

use csv::ByteRecord;
use futures::StreamExt;
use prost::Message as _;

use crate::{
    audit::{
        self, AuditBackend, AuditWriter,
        key_adoption::{self, OpenedKeys},
    },
    cli::{check, client::ClientArgs, exit},
    config::KeyArgs,
    config::redact_url,
    contract::{parse, pb, respond},
    domain::{gate, policy::Policy},
    roster::{
        Kind,
        decode::EncodingArg,
        files::{self, OutputFile},
        open::{self, OpenOptions},
        outcome::{ErrorWriter, ResultWriter, RowOutcome},
        report::{self, RunInfo, RunMode, RunOutcome},
        row::{RowContext, RowError, RowErrorKind},
        summary::{self, Summary},
    },
    verification::{Decider, VerificationError},
};

/// Rows per chunk handed from the reader to the deciders.
const CHUNK_ROWS: usize = 1024;
/// Chunks decided at once in embedded mode (their appends form the writer's groups).
const EMBEDDED_CHUNKS_IN_FLIGHT: usize = 4;
/// The embedded audit writer's queue and largest transaction.
const EMBEDDED_QUEUE: usize = 8192;
const EMBEDDED_MAX_BATCH: usize = 4096;
/// Chunks (VerifyBatch streams) in flight at once through a server.
const SERVER_CHUNKS_IN_FLIGHT: usize = 4;
/// The caller recorded in the audit events of an embedded run.
pub const EMBEDDED_CALLER: &str = "bulk";
/// How often plain progress lines are written when standard error is not a terminal.
const PLAIN_PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// Who a row is about, when no column says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SubjectKindArg {
    /// The insured member.
    Member,
    /// A dependent.
    Dependent,
}

/// Arguments of `bulk`.
#[derive(Debug, clap::Args)]
pub struct BulkArgs {
    /// The roster (CSV).
    pub roster: PathBuf,
    /// The result file: one row per decided input row, ids and classes only.
    #[arg(long)]
    pub output: PathBuf,
    /// The errors file (line, column, error); default: the output's name with `.errors.csv`.
    #[arg(long)]
    pub errors: Option<PathBuf>,
    /// Write the run's report as one self-contained HTML page.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// The roster's kind; detected from the header when unambiguous.
    #[arg(long, value_enum)]
    pub kind: Option<Kind>,
    /// A TOML file mapping the logical columns to the file's header names or positions.
    #[arg(long)]
    pub columns: Option<PathBuf>,
    /// The roster's encoding (auto: a UTF-8 BOM or valid UTF-8 means UTF-8, else CP932).
    #[arg(long, value_enum, default_value = "auto")]
    pub encoding: EncodingArg,
    /// The encoding of the result and errors files (default: the roster's).
    #[arg(long, value_enum)]
    pub output_encoding: Option<EncodingArg>,
    /// The 保険者番号 of every row (when the roster has no insurer_number column).
    #[arg(long)]
    pub insurer: Option<String>,
    /// The subject kind of every row (when the roster has no subject_kind column).
    #[arg(long, value_enum)]
    pub subject_kind: Option<SubjectKindArg>,
    /// The header of the column holding the subject id (instead of `subject_id`).
    #[arg(long)]
    pub subject_id_column: Option<String>,
    /// Read a roster whose header has columns that nothing reads (the file's own columns).
    /// Without it such a column is refused, so that a misspelled name is never ignored.
    #[arg(long)]
    pub ignore_extra_columns: bool,
    /// Decide without storing anything: no audit events, no verification ids.
    #[arg(long, conflicts_with = "database")]
    pub dry_run: bool,
    /// Decide embedded, on this audit database (`sqlite:PATH`, `postgres://…`), without a
    /// server. Without it (and without --dry-run) rows go to --server.
    #[arg(long)]
    pub database: Option<String>,
    /// Embedded: the fingerprint keys (as `serve`).
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Embedded and dry run: the policy file (as `serve`).
    #[arg(long, env = "VERIFY_IDENTITY_POLICY")]
    pub policy: Option<PathBuf>,
    /// No progress output.
    #[arg(long)]
    pub quiet: bool,
    /// The server and the credentials to reach it.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// A chunk of records from the reader.
struct Chunk {
    /// Its place in the file.
    seq: u64,
    /// `(line, record)`.
    rows: Vec<(u64, ByteRecord)>,
    /// The byte offset after its last record (progress).
    end_byte: u64,
    /// Where its records go back to the reader once decided.
    recycle: mpsc::SyncSender<Vec<(u64, ByteRecord)>>,
}

impl Drop for Chunk {
    /// Hands the records back to the reader, which reads the next rows into them: a record's
    /// buffers are allocated once per run instead of once per row (and freed on the reader's
    /// own thread, not across threads). When the reader has enough spares they are dropped.
    fn drop(&mut self) {
        let _ = self.recycle.try_send(std::mem::take(&mut self.rows));
    }
}

/// What became of one row.
enum RowResult {
    /// Decided.
    Decided(RowOutcome),
    /// Refused, for these reasons.
    Failed(u64, Vec<RowError>),
}

/// What a run decided, in order, chunk by chunk.
struct Decided {
    seq: u64,
    rows: Vec<RowResult>,
    end_byte: u64,
}

/// Runs `bulk`; returns the exit status.
pub fn run(args: &BulkArgs) -> u8 {
    let started_at = SystemTime::now();
    let started = Instant::now();
    let errors_path = args
        .errors
        .clone()
        .unwrap_or_else(|| errors_path(&args.output));
    if let Err(e) = refuse_overwriting_inputs(args, &errors_path) {
        eprintln!("verify-identity bulk: {e}");
        return exit::BAD_INPUT;
    }
    let options = OpenOptions {
        roster: &args.roster,
        encoding: args.encoding,
        output_encoding: args.output_encoding,
        kind: args.kind,
        columns: args.columns.as_deref(),
        subject_id_column: args.subject_id_column.as_deref(),
        insurer: args.insurer.as_deref(),
        subject_kind: args.subject_kind.map(|k| match k {
            SubjectKindArg::Member => pb::SubjectKind::Member,
            SubjectKindArg::Dependent => pb::SubjectKind::Dependent,
        }),
        ignore_extra_columns: args.ignore_extra_columns,
        stores: !args.dry_run,
    };
    let setup = match open::open(&options) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("verify-identity bulk: {e}");
            return exit::BAD_INPUT;
        }
    };
    let ctx = setup.ctx.clone();
    let encoding = ctx.encoding;
    let kind = ctx.layout.kind;
    // Embedded: the store and its keys first, so that keys the store refuses stop the run
    // before any output file is written.
    let embedded = match (&args.database, args.dry_run) {
        (Some(db), false) => match open_embedded(args, db) {
            Ok(e) => Some(e),
            Err(e) => {
                eprintln!("verify-identity bulk: {e}");
                return exit::FAILURE;
            }
        },
        _ => None,
    };
    let mut sink = match Sink::open(args, &errors_path, &ctx, setup.bom_out, setup.file_len) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("verify-identity bulk: {e}");
            return exit::FAILURE;
        }
    };
    let (mode, target) = if args.dry_run {
        (RunMode::Dry, "none".to_owned())
    } else if let Some(db) = &args.database {
        (RunMode::Embedded, redact_url(db))
    } else {
        (RunMode::Server, args.client.server.clone())
    };
    let chunks = spawn_reader(setup.reader, setup.first, setup.crlf);
    let outcome = if args.dry_run {
        run_dry(args, ctx.clone(), chunks, &mut sink)
    } else if let Some(Embedded { rt, store, keys }) = embedded {
        rt.block_on(run_embedded(
            args,
            store,
            keys,
            ctx.clone(),
            chunks,
            &mut sink,
        ))
    } else {
        runtime().block_on(run_server(args, ctx.clone(), chunks, &mut sink, started_at))
    };
    let (stopped, chain) = match outcome {
        Ok(chain) => (None, chain),
        Err(why) => (Some(why), None),
    };
    let stopped = match (stopped, sink.finish()) {
        (None, Err(e)) => Some(format!("cannot write the output: {e}")),
        (s, _) => s,
    };
    let summary = sink.summary.clone();
    let outcome = RunOutcome::judge(&summary, stopped, sink.gave_up, encoding.name());
    crate::out!("{}", summary.table(kind));
    match &outcome {
        RunOutcome::Complete => crate::outln!(
            "complete: every row was decided or reported in {}",
            errors_path.display()
        ),
        RunOutcome::MostlyFailed { headline } => crate::outln!(
            "FAILED: {headline}. Nothing in this run's results should be used; every problem \
             is listed by line and column in {}",
            errors_path.display()
        ),
        RunOutcome::Stopped(why) => crate::outln!(
            "INCOMPLETE: {why}; start the same command again to resume (rows already decided \
             come back unchanged)"
        ),
    }
    if let Some(path) = &args.report {
        let info = RunInfo {
            file_name: file_name(&args.roster),
            kind,
            encoding: encoding.name().to_owned(),
            mode,
            target,
            started: jiff::Timestamp::try_from(started_at)
                .map(|t| t.round(jiff::Unit::Second).unwrap_or(t).to_string())
                .unwrap_or_default(),
            seconds: started.elapsed().as_secs_f64(),
            outcome: outcome.clone(),
            chain,
        };
        if let Err(e) = OutputFile::write_whole(path, report::html(&summary, &info).as_bytes()) {
            eprintln!("verify-identity bulk: {e}");
            return exit::FAILURE;
        }
    }
    match outcome {
        RunOutcome::Complete if summary.balanced() => exit::OK,
        RunOutcome::MostlyFailed { .. } => exit::ROWS_FAILED,
        _ => exit::FAILURE,
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Refuses a result, errors or report file that is one of the run's inputs (the roster, the
/// column mapping, the policy, the fingerprint key, the SQLite database) or another output.
fn refuse_overwriting_inputs(args: &BulkArgs, errors_path: &Path) -> Result<(), String> {
    let database = args.database.as_deref().and_then(sqlite_file);
    let key_file = args.database.as_deref().and_then(|url| {
        audit::key_adoption::key_file(url, args.keys.hmac_key_file.as_deref()).ok()
    });
    let mut inputs: Vec<(&str, &Path)> = vec![("the roster", &args.roster)];
    if let Some(p) = &args.columns {
        inputs.push(("the --columns file", p));
    }
    if let Some(p) = &args.policy {
        inputs.push(("the policy file", p));
    }
    if let Some(p) = &database {
        inputs.push(("the audit database", p));
    }
    if let Some(p) = &key_file {
        inputs.push(("the fingerprint key file", p));
    }
    for p in &args.keys.hmac_previous_key_files {
        inputs.push(("a previous fingerprint key file", p));
    }
    let errors_flag = if args.errors.is_some() {
        "--errors"
    } else {
        "the errors file (--output's name with .errors.csv)"
    };
    let mut outputs: Vec<(&str, &Path)> =
        vec![("--output", &args.output), (errors_flag, errors_path)];
    if let Some(p) = &args.report {
        outputs.push(("--report", p));
    }
    files::refuse_overwriting(&inputs, &outputs).map_err(|e| e.to_string())
}

/// The file of a `sqlite:` database URL (`sqlite:PATH`, `sqlite://PATH`, with or without
/// `?options`); `None` for other backends.
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// `results.csv` → `results.errors.csv`.
fn errors_path(output: &Path) -> PathBuf {
    let stem = output
        .file_stem()
        .map_or_else(|| "results".into(), |s| s.to_string_lossy().into_owned());
    output.with_file_name(format!("{stem}.errors.csv"))
}

/// Reads records on their own thread, in chunks; an unreadable file ends the stream with an
/// error.
fn spawn_reader(
    mut reader: csv::Reader<BufReader<File>>,
    first: Option<ByteRecord>,
    crlf: bool,
) -> mpsc::Receiver<Result<Chunk, String>> {
    let (tx, rx) = mpsc::sync_channel(4);
    let (recycle, recycled) = mpsc::sync_channel::<Vec<(u64, ByteRecord)>>(8);
    std::thread::spawn(move || {
        let mut seq = 0;
        let mut rows = Vec::with_capacity(CHUNK_ROWS);
        if let Some(first) = first {
            rows.push((1, first));
        }
        let mut spares = Vec::new();
        loop {
            if spares.is_empty() {
                spares = recycled.try_recv().unwrap_or_default();
            }
            // `read_byte_record` clears the record; its buffers keep their capacity.
            let mut record = spares.pop().map_or_else(ByteRecord::new, |(_, r)| r);
            match reader.read_byte_record(&mut record) {
                Ok(true) => {
                    // With CRLF line ends csv counts a record's line before the LF of the
                    // record before it: one short of the line it starts on.
                    let line = record.position().map_or(0, |p| p.line() + u64::from(crlf));
                    rows.push((line, record));
                    if rows.len() == CHUNK_ROWS {
                        let chunk = Chunk {
                            seq,
                            rows: std::mem::replace(&mut rows, Vec::with_capacity(CHUNK_ROWS)),
                            end_byte: reader.position().byte(),
                            recycle: recycle.clone(),
                        };
                        seq += 1;
                        if tx.send(Ok(chunk)).is_err() {
                            return;
                        }
                    }
                }
                Ok(false) => break,
                Err(e) => {
                    // The csv error names a line and byte, never the content.
                    let _ = tx.send(Err(format!("the roster cannot be read: {e}")));
                    return;
                }
            }
        }
        if !rows.is_empty() {
            let end_byte = reader.position().byte();
            let _ = tx.send(Ok(Chunk {
                seq,
                rows,
                end_byte,
                recycle,
            }));
        }
    });
    rx
}

/// The output side: result and errors files, the summary, progress.
struct Sink {
    /// Set when the first rows all failed and the run stopped there.
    gave_up: bool,
    results: Option<ResultWriter<BufWriter<OutputFile>>>,
    errors: Option<ErrorWriter<BufWriter<OutputFile>>>,
    summary: Summary,
    progress: Progress,
}

impl Sink {
    fn open(
        args: &BulkArgs,
        errors_path: &Path,
        ctx: &RowContext,
        bom: bool,
        file_len: u64,
    ) -> Result<Self, String> {
        let create = |p: &Path| {
            OutputFile::create(p)
                .map(|f| BufWriter::with_capacity(1 << 20, f))
                .map_err(|e| e.to_string())
        };
        let io = |e: std::io::Error| format!("cannot write: {e}");
        Ok(Sink {
            gave_up: false,
            results: Some(
                ResultWriter::new(
                    create(&args.output)?,
                    ctx.layout.kind,
                    ctx.output_encoding,
                    bom,
                )
                .map_err(io)?,
            ),
            errors: Some(
                ErrorWriter::new(create(errors_path)?, ctx.output_encoding, bom).map_err(io)?,
            ),
            summary: Summary::default(),
            progress: Progress::new(args.quiet, file_len),
        })
    }

    fn write(&mut self, decided: Decided) -> Result<(), String> {
        for r in decided.rows {
            match r {
                RowResult::Decided(o) => {
                    self.results
                        .as_mut()
                        .ok_or("the result file is closed")?
                        .write(&o)
                        .map_err(|e| format!("cannot write the result file: {e}"))?;
                    self.summary.add(&o);
                }
                RowResult::Failed(line, errors) => {
                    self.errors
                        .as_mut()
                        .ok_or("the errors file is closed")?
                        .write(line, &errors)
                        .map_err(|e| format!("cannot write the errors file: {e}"))?;
                    self.summary.add_error(&errors);
                }
            }
        }
        self.progress.update(decided.end_byte, self.summary.rows_in);
        if self.summary.first_rows_all_failed() {
            self.gave_up = true;
            return Err(format!(
                "the first {} rows all failed",
                summary::thousands(self.summary.error_rows)
            ));
        }
        Ok(())
    }

    /// Ends the output: each file is flushed, synced and renamed to its final name. A run that
    /// failed or stopped keeps what it wrote too (its errors file says what to fix; a resumed
    /// run writes every row again); only a killed run leaves the previous files in place.
    fn finish(&mut self) -> Result<(), String> {
        self.progress.finish();
        let whole = |w: BufWriter<OutputFile>| w.into_inner().map_err(|e| e.into_error());
        if let Some(results) = self.results.take() {
            let file = results
                .finish()
                .and_then(whole)
                .map_err(|e| e.to_string())?;
            file.persist().map_err(|e| e.to_string())?;
        }
        if let Some(errors) = self.errors.take() {
            let file = errors.finish().and_then(whole).map_err(|e| e.to_string())?;
            file.persist().map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// Progress on standard error: a bar on a terminal, a line every few seconds otherwise,
/// nothing with `--quiet`. Counts and rates only.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    plain: bool,
    started: Instant,
    last_line: Instant,
    file_len: u64,
}

impl Progress {
    fn new(quiet: bool, file_len: u64) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let bar = (!quiet && terminal).then(|| {
            let bar = indicatif::ProgressBar::new(file_len);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:32.cyan/blue} {percent:>3}% {msg} ETA {eta}",
                )
                .expect("the template is valid"),
            );
            bar
        });
        Progress {
            bar,
            plain: !quiet && !terminal,
            started: Instant::now(),
            last_line: Instant::now(),
            file_len,
        }
    }

    fn update(&mut self, byte: u64, rows: u64) {
        let rate = rows as f64 / self.started.elapsed().as_secs_f64().max(1e-3);
        if let Some(bar) = &self.bar {
            bar.set_position(byte);
            bar.set_message(format!("{rows} rows, {rate:.0} rows/s"));
        } else if self.plain && self.last_line.elapsed() >= PLAIN_PROGRESS_EVERY {
            self.last_line = Instant::now();
            let percent = 100.0 * byte as f64 / self.file_len.max(1) as f64;
            eprintln!("bulk: {rows} rows ({percent:.0}%), {rate:.0} rows/s");
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// The dry run: chunks decided on every core, written in order.
fn run_dry(
    args: &BulkArgs,
    ctx: Arc<RowContext>,
    chunks: mpsc::Receiver<Result<Chunk, String>>,
    sink: &mut Sink,
) -> Result<Option<String>, String> {
    let policy = check::load_policy(args.policy.as_deref()).map_err(|e| e.to_string())?;
    let policy = Arc::new(policy);
    let chunks = Arc::new(Mutex::new(chunks));
    let (tx, rx) = mpsc::sync_channel::<Result<Decided, String>>(8);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    for _ in 0..workers {
        let (chunks, tx, ctx, policy) = (chunks.clone(), tx.clone(), ctx.clone(), policy.clone());
        std::thread::spawn(move || {
            loop {
                let next = chunks.lock().expect("no worker panics holding it").recv();
                let Ok(next) = next else { return };
                let decided = next.map(|chunk| Decided {
                    seq: chunk.seq,
                    end_byte: chunk.end_byte,
                    rows: chunk
                        .rows
                        .iter()
                        .map(|(line, record)| decide_here(&ctx, &policy, *line, record))
                        .collect(),
                });
                if tx.send(decided).is_err() {
                    return;
                }
            }
        });
    }
    drop(tx);
    let mut pending = BTreeMap::new();
    let mut next = 0;
    for decided in rx {
        let decided = decided?;
        pending.insert(decided.seq, decided);
        while let Some(d) = pending.remove(&next) {
            sink.write(d)?;
            next += 1;
        }
    }
    if pending.is_empty() {
        Ok(None)
    } else {
        Err("a chunk of rows was lost".into())
    }
}

fn decide_here(ctx: &RowContext, policy: &Policy, line: u64, record: &ByteRecord) -> RowResult {
    let prepared = match ctx.prepare(line, record) {
        Ok(p) => p,
        Err(e) => return RowResult::Failed(line, e),
    };
    match parse::parse_verify_owned(prepared.request) {
        Ok(v) => {
            let d = gate::decide(&v.case, policy);
            RowResult::Decided(RowOutcome::from_decision(line, prepared.subject_id, &d))
        }
        Err(violations) => {
            RowResult::Failed(line, ctx.errors_from(&prepared.group_of, &violations))
        }
    }
}

/// Bridges the reader's channel into the runtime.
fn chunk_stream(
    chunks: mpsc::Receiver<Result<Chunk, String>>,
) -> tokio_stream::wrappers::ReceiverStream<Result<Chunk, String>> {
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    std::thread::spawn(move || {
        for chunk in chunks {
            if tx.blocking_send(chunk).is_err() {
                return;
            }
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

/// The newest event this run appended: its row id, insurer and verification id.
type Newest = Option<(i64, String, String)>;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime starts")
}

/// The audit store of an embedded run, and the keys it agreed to.
struct Embedded {
    /// The runtime the store was opened on (and the run goes on).
    rt: tokio::runtime::Runtime,
    /// The store.
    store: Arc<dyn AuditBackend>,
    /// Its fingerprint keys.
    keys: OpenedKeys,
}

/// Opens `database` and has it agree to the fingerprint keys, as `serve` does: the store must
/// know the keys before anything is written with them.
fn open_embedded(args: &BulkArgs, database: &str) -> Result<Embedded, String> {
    let settings = args.keys.settings();
    let key_file = key_adoption::key_file(database, settings.file.as_deref())
        .map_err(|e| format!("fingerprint key: {e}"))?;
    let rt = runtime();
    let (store, keys) = rt.block_on(async {
        // A stream of appends: a small page cache and no memory map keep the run's memory flat.
        let store = audit::connect_with(database, audit::PageMemory::STREAMING)
            .await
            .map_err(|e| e.to_string())?;
        match key_adoption::open(store.as_ref(), &key_file, &settings).await {
            Ok(keys) => Ok((store, keys)),
            Err(e) => {
                store.close().await;
                Err(format!("fingerprint key: {e}"))
            }
        }
    })?;
    if keys.created {
        eprintln!(
            "created a new fingerprint key at {} (mode 0600) for this empty audit store; back \
             it up with the audit database",
            std::path::absolute(&keys.file)
                .unwrap_or_else(|_| keys.file.clone())
                .display()
        );
    }
    Ok(Embedded { rt, store, keys })
}

/// Embedded: the server's decide-and-append path, on the audit database itself.
async fn run_embedded(
    args: &BulkArgs,
    store: Arc<dyn AuditBackend>,
    keys: OpenedKeys,
    ctx: Arc<RowContext>,
    chunks: mpsc::Receiver<Result<Chunk, String>>,
    sink: &mut Sink,
) -> Result<Option<String>, String> {
    let policy = check::load_policy(args.policy.as_deref()).map_err(|e| e.to_string())?;
    let (handle, writer) = AuditWriter::spawn(store.clone(), EMBEDDED_QUEUE, EMBEDDED_MAX_BATCH);
    let decider = Arc::new(Decider::new(
        policy,
        handle,
        store.clone(),
        keys.ring,
        Arc::new(|| {}),
    ));
    let mut decided = chunk_stream(chunks)
        .map(|chunk| {
            let (decider, ctx) = (decider.clone(), ctx.clone());
            tokio::spawn(async move { decide_embedded(&decider, &ctx, chunk?).await })
        })
        .buffered(EMBEDDED_CHUNKS_IN_FLIGHT);
    let mut newest: Newest = None;
    let mut result = Ok(());
    while let Some(joined) = decided.next().await {
        let step = joined
            .map_err(|e| format!("a decision task failed: {e}"))
            .and_then(|r| r)
            .and_then(|(d, n)| {
                if n.as_ref().map(|n| n.0) > newest.as_ref().map(|n| n.0) {
                    newest = n;
                }
                sink.write(d)
            });
        if let Err(e) = step {
            result = Err(e);
            break;
        }
    }
    drop(decided);
    drop(decider);
    // Every handle is gone: the writer commits what is queued and ends.
    let _ = writer.await;
    let chain = match &newest {
        Some((_, insurer, vid)) => match store.find_verification(insurer, vid).await {
            Ok(Some(e)) => Some(format!(
                "chain {} at seq {} (event hash {}…)",
                e.writer_id,
                e.seq,
                &hex::encode(e.hash)[..16]
            )),
            _ => None,
        },
        None => Some("no new events (every row was decided by an earlier run)".into()),
    };
    store.close().await;
    result.map(|()| chain)
}

async fn decide_embedded(
    decider: &Decider,
    ctx: &RowContext,
    chunk: Chunk,
) -> Result<(Decided, Newest), String> {
    let mut slots: Vec<Option<RowResult>> = Vec::with_capacity(chunk.rows.len());
    let mut work = Vec::new();
    for (i, (line, record)) in chunk.rows.iter().enumerate() {
        match ctx.prepare(*line, record) {
            Ok(p) => {
                slots.push(None);
                work.push((i, p));
            }
            Err(e) => slots.push(Some(RowResult::Failed(*line, e))),
        }
    }
    let answers = futures::future::join_all(work.into_iter().map(|(i, mut p)| async move {
        let insurer = p.request.insurer_number.clone();
        let request = std::mem::take(&mut p.request);
        let answer = verify_row(decider, request).await;
        (i, p, insurer, answer)
    }))
    .await;
    let mut newest: Newest = None;
    for (i, p, insurer, answer) in answers {
        slots[i] = Some(match answer {
            Ok((response, appended)) => {
                if let Some(id) = appended {
                    if newest.as_ref().is_none_or(|n| id > n.0) {
                        newest = Some((id, insurer, response.verification_id.clone()));
                    }
                }
                match RowOutcome::from_response(p.line, p.subject_id, &response, appended.is_none())
                {
                    Some(o) => RowResult::Decided(o),
                    None => return Err("the core returned no decision".into()),
                }
            }
            Err(VerificationError::InvalidArgument(v)) => {
                RowResult::Failed(p.line, ctx.errors_from(&p.group_of, &v))
            }
            Err(e @ VerificationError::AlreadyExists(_)) => {
                RowResult::Failed(p.line, vec![request_id_error(ctx, &e.to_string())])
            }
            Err(e) => return Err(format!("line {}: {e}", p.line)),
        });
    }
    Ok((
        Decided {
            seq: chunk.seq,
            end_byte: chunk.end_byte,
            rows: slots
                .into_iter()
                .map(|s| s.expect("every row has a result"))
                .collect(),
        },
        newest,
    ))
}

/// One row through the service's own decide-and-append path, parsed as the server parses a
/// request: the answer as Verify gives it, and the row id of the event appended (`None` for a
/// row an earlier run decided).
async fn verify_row(
    decider: &Decider,
    request: pb::VerifyRequest,
) -> Result<(pb::VerifyResponse, Option<i64>), VerificationError> {
    let content = request.encode_to_vec();
    let parsed = parse::parse_verify_owned(request).map_err(VerificationError::InvalidArgument)?;
    let verified = decider.verify(parsed, &content, EMBEDDED_CALLER).await?;
    Ok((
        respond::response_from_decided(&verified.decided),
        verified.appended,
    ))
}

fn request_id_error(ctx: &RowContext, message: &str) -> RowError {
    RowError {
        kind: RowErrorKind::RequestId,
        column: ctx.layout.request_id.map_or_else(
            || "(derived request id)".to_owned(),
            |i| ctx.layout.name(i).to_owned(),
        ),
        message: format!("{message} (the row changed since it was decided under this request id)"),
    }
}

/// Through a server: one VerifyBatch stream per chunk, [`SERVER_CHUNKS_IN_FLIGHT`] chunks at
/// once on one connection. The server decides each stream on a task of its own, so several
/// streams keep every server core deciding (one stream for the whole file left the server on
/// one core: BENCHMARKS.md); chunks come back in file order because `buffered` yields them in
/// the order they were started.
async fn run_server(
    args: &BulkArgs,
    ctx: Arc<RowContext>,
    chunks: mpsc::Receiver<Result<Chunk, String>>,
    sink: &mut Sink,
    started_at: SystemTime,
) -> Result<Option<String>, String> {
    let server = &args.client.server;
    let endpoint = args.client.endpoint().map_err(|e| format!("{e:#}"))?;
    let auth = args.client.auth().map_err(|e| format!("{e:#}"))?;
    let channel = endpoint
        .connect()
        .await
        .map_err(|e| format!("cannot connect to {server}: {e}"))?;
    let client = pb::verify_identity_client::VerifyIdentityClient::with_interceptor(channel, auth)
        .max_decoding_message_size(16 * 1024 * 1024);
    let started_micros = audit::micros_since_epoch(started_at);
    let mut decided = chunk_stream(chunks)
        .map(|chunk| {
            let (client, ctx) = (client.clone(), ctx.clone());
            tokio::spawn(async move { decide_remote(client, &ctx, chunk?, started_micros).await })
        })
        .buffered(SERVER_CHUNKS_IN_FLIGHT);
    while let Some(joined) = decided.next().await {
        let d = joined
            .map_err(|e| format!("a decision task failed: {e}"))
            .and_then(|r| r)?;
        sink.write(d)?;
    }
    Ok(Some(format!("the server's chain ({server})")))
}

/// The gRPC client of `run_server`, with its credentials.
type Client = pb::verify_identity_client::VerifyIdentityClient<
    tonic::service::interceptor::InterceptedService<
        tonic::transport::Channel,
        crate::cli::client::BearerAuth,
    >,
>;

/// One chunk through one VerifyBatch stream. Rows that cannot become a request are refused
/// here and keep their place; every other row gets the response in its position (VerifyBatch
/// answers in request order).
async fn decide_remote(
    mut client: Client,
    ctx: &RowContext,
    chunk: Chunk,
    started_micros: i64,
) -> Result<Decided, String> {
    let mut slots: Vec<Option<RowResult>> = Vec::with_capacity(chunk.rows.len());
    let mut pending: VecDeque<(usize, u64, String, Vec<usize>)> = VecDeque::new();
    let mut requests = Vec::with_capacity(chunk.rows.len());
    for (line, record) in &chunk.rows {
        match ctx.prepare(*line, record) {
            Ok(p) => {
                pending.push_back((slots.len(), p.line, p.subject_id, p.group_of));
                requests.push(p.request);
                slots.push(None);
            }
            Err(e) => slots.push(Some(RowResult::Failed(*line, e))),
        }
    }
    if !requests.is_empty() {
        let mut responses = client
            .verify_batch(tokio_stream::iter(requests))
            .await
            .map_err(|s| format!("VerifyBatch refused: {:?}: {}", s.code(), s.message()))?
            .into_inner();
        while let Some(response) = responses.message().await.map_err(|s| {
            format!(
                "the server ended the stream: {:?}: {}",
                s.code(),
                s.message()
            )
        })? {
            let (slot, line, subject, groups) = pending
                .pop_front()
                .ok_or("a response came for no request")?;
            slots[slot] = Some(row_from_response(
                ctx,
                line,
                subject,
                &groups,
                &response,
                started_micros,
            )?);
        }
        if !pending.is_empty() {
            return Err("the server ended the stream before answering every row".into());
        }
    }
    Ok(Decided {
        seq: chunk.seq,
        rows: slots.into_iter().flatten().collect(),
        end_byte: chunk.end_byte,
    })
}

/// What one VerifyBatch response makes of its row: decided, refused for a reason that belongs
/// to the row (bad field, a request id reused, an insurer the caller may not act for), or an
/// error that stops the run (anything else: the server cannot decide).
fn row_from_response(
    ctx: &RowContext,
    line: u64,
    subject: String,
    groups: &[usize],
    response: &pb::VerifyResponse,
    started_micros: i64,
) -> Result<RowResult, String> {
    let Some(e) = &response.error else {
        let earlier = response
            .decided_at
            .as_ref()
            .is_some_and(|t| t.seconds * 1_000_000 + i64::from(t.nanos / 1000) < started_micros);
        return RowOutcome::from_response(line, subject, response, earlier)
            .map(RowResult::Decided)
            .ok_or_else(|| format!("line {line}: the server returned no decision"));
    };
    Ok(match tonic::Code::from(e.code) {
        tonic::Code::InvalidArgument => RowResult::Failed(
            line,
            ctx.errors_from_violations(
                groups,
                e.field_violations
                    .iter()
                    .map(|v| (v.field.as_str(), v.description.as_str())),
            ),
        ),
        tonic::Code::AlreadyExists => {
            RowResult::Failed(line, vec![request_id_error(ctx, &e.message)])
        }
        tonic::Code::PermissionDenied => RowResult::Failed(
            line,
            vec![RowError {
                kind: RowErrorKind::Permission,
                column: ctx
                    .layout
                    .insurer_number
                    .map_or_else(|| "--insurer".to_owned(), |i| ctx.layout.name(i).to_owned()),
                message: "the caller may not act for this insurer".into(),
            }],
        ),
        code => return Err(format!("line {line}: {code:?}: {}", e.message)),
    })
}
