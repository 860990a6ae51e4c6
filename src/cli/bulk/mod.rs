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
    path::{Path, PathBuf},
    time::{Duration, Instant, SystemTime},
};

use crate::{
    audit::{self},
    cli::error::CommandResult,
    cli::{client::ClientArgs, exit},
    config::KeyArgs,
    config::redact_url,
    contract::pb,
    roster::{
        Kind,
        decode::EncodingArg,
        files::{self, OutputFile},
        open::{self, OpenOptions},
        report::{self, RunInfo, RunMode, RunOutcome},
    },
    telemetry::{self, TRACE_ONLY, Traces},
};
use tracing::Instrument as _;

mod dry;
mod embedded;
mod reader;
mod sink;
mod through_server;

use self::{
    dry::run_dry,
    embedded::{Embedded, open_embedded, run_embedded},
    reader::{Chunk, runtime, spawn_reader},
    sink::Sink,
    through_server::run_server,
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
    /// Export the run's traces (a span per chunk; through a server, the server's spans join
    /// them) over OTLP/gRPC to this collector; off when omitted, unless
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
    #[arg(long, env = "VERIFY_IDENTITY_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
}

/// Trace export for this run, when `--otlp-endpoint` or the standard variables ask for it: the
/// run's spans only, no log (bulk reports on stdout and in its files).
fn start_traces(args: &BulkArgs) -> Result<Option<Traces>, String> {
    let settings = crate::config::traces::resolve(args.otlp_endpoint.clone(), None, |name| {
        std::env::var(name).ok()
    })
    .map_err(|e| e.to_string())?;
    let Some(settings) = settings else {
        return Ok(None);
    };
    let traces = Traces::otlp(&settings).map_err(|e| format!("traces: {e}"))?;
    telemetry::init_traces_only(&traces);
    Ok(Some(traces))
}

/// The span of one chunk of rows, a child of `parent` (the run's span).
fn chunk_span(parent: &tracing::Span, chunk: &Chunk) -> tracing::Span {
    tracing::info_span!(
        target: TRACE_ONLY,
        parent: parent,
        "bulk.chunk",
        chunk = i64::try_from(chunk.seq).unwrap_or(i64::MAX),
        rows = i64::try_from(chunk.rows.len()).unwrap_or(i64::MAX),
    )
}

/// Runs the command. It reports each failure itself, on lines with the context only it has
/// (the case, the row, the finding), so it always ends with a status (see `cli::error`).
pub fn run(args: &BulkArgs) -> CommandResult {
    Ok(run_and_report(args))
}

/// Runs `bulk`; returns the exit status.
fn run_and_report(args: &BulkArgs) -> u8 {
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
    let traces = match start_traces(args) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("verify-identity bulk: {e}");
            return exit::BAD_INPUT;
        }
    };
    let run_span = tracing::info_span!(target: TRACE_ONLY, "bulk", mode = ?mode);
    let chunks = spawn_reader(setup.reader, setup.first, setup.crlf);
    let outcome = if args.dry_run {
        run_span.in_scope(|| run_dry(args, ctx.clone(), chunks, &mut sink))
    } else if let Some(Embedded { rt, store, keys }) = embedded {
        rt.block_on(
            run_embedded(args, store, keys, ctx.clone(), chunks, &mut sink)
                .instrument(run_span.clone()),
        )
    } else {
        runtime().block_on(
            run_server(args, ctx.clone(), chunks, &mut sink, started_at)
                .instrument(run_span.clone()),
        )
    };
    drop(run_span);
    if let Some(traces) = traces {
        traces.shutdown(Duration::from_secs(5));
    }
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
