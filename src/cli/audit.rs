//! `verify-identity audit verify|export|checkpoint|checkpoint-key`: recompute every hash
//! chain of the audit store (and check it against signed checkpoints), write its events as
//! JSON Lines for auditors, write a signed checkpoint of every chain head, or create the key
//! pair checkpoints are signed with.

mod checkpoint;

use std::{io::Write, path::PathBuf};

use crate::{
    audit::{self, AuditBackend, checkpoint::check::Expectations, checkpoint::key::CheckpointKey},
    cli::error::CommandResult,
    cli::exit,
};

/// Arguments of `audit`.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// What to do with the audit log.
    #[command(subcommand)]
    pub command: AuditCommand,
}

/// Audit subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Recompute every chain; report the events checked and the first broken event. Rebuild
    /// the gate's tables (request ids, registrations, hold resolutions) from the chain and name
    /// every row the chain does not support, every fact a table lacks and every fact the chain
    /// records twice. With --checkpoints, also check every chain against every checkpoint in the file: a chain
    /// shorter than a checkpoint, missing, or holding another event at a checkpointed position
    /// is named, and so is a checkpoint whose signature does not verify. Exit status 0 when
    /// intact, 5 when broken, 1 when the store or a file cannot be read (or the checkpoint
    /// file holds no checkpoint), 2 for bad flags.
    Verify {
        /// Audit database URL.
        #[arg(long, env = "VERIFY_IDENTITY_DATABASE", default_value = crate::config::DEFAULT_DATABASE)]
        database: String,
        /// A file of checkpoints (`audit checkpoint` lines, JSON Lines).
        #[arg(long)]
        checkpoints: Option<PathBuf>,
        /// The public key the checkpoints were signed with (`audit checkpoint-key` wrote it,
        /// as FILE.pub).
        #[arg(long, conflicts_with = "checkpoint_key")]
        checkpoint_public_key: Option<PathBuf>,
        /// Or the signing key itself, whose public key is then used.
        #[arg(long)]
        checkpoint_key: Option<PathBuf>,
    },
    /// Write every event, oldest first, as one JSON object per line (JSON Lines): decoded, with
    /// its row id, chain position and hash. Fingerprints stay fingerprints. Exit status 0, 2
    /// for a bad --insurer or --since, 1 when the store cannot be read.
    Export {
        /// Audit database URL.
        #[arg(long, env = "VERIFY_IDENTITY_DATABASE", default_value = crate::config::DEFAULT_DATABASE)]
        database: String,
        /// Only the events of this insurer (保険者番号, 8 digits).
        #[arg(long)]
        insurer: Option<String>,
        /// Only events from this time on: RFC 3339 (`2026-12-01T09:00:00Z`) or a UTC date
        /// (`2026-12-01`).
        #[arg(long)]
        since: Option<String>,
    },
    /// Write a checkpoint: the head (writer, seq, hash, time) of every chain, signed, as one
    /// JSON line appended to --out (created mode 0600) or printed. Keep checkpoints outside
    /// the database: `audit verify --checkpoints` then finds a chain cut short or removed.
    /// Exit status 0, 1 when the store or the key cannot be read or the file written.
    Checkpoint {
        /// Audit database URL.
        #[arg(long, env = "VERIFY_IDENTITY_DATABASE", default_value = crate::config::DEFAULT_DATABASE)]
        database: String,
        /// The signing key (`audit checkpoint-key` creates one).
        #[arg(long, env = "VERIFY_IDENTITY_CHECKPOINT_KEY_FILE")]
        key: PathBuf,
        /// Append the line to this file instead of printing it.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Create the Ed25519 key pair checkpoints are signed with: the signing key at --out
    /// (mode 0600, never overwritten), the public key at --public-out (default: the same
    /// name with .pub), and the public key printed. Auditors get the public key only.
    CheckpointKey {
        /// Where the signing key goes.
        #[arg(long)]
        out: PathBuf,
        /// Where the public key goes (default: --out with `.pub` appended).
        #[arg(long)]
        public_out: Option<PathBuf>,
    },
}

/// Events read per query while exporting.
const EXPORT_PAGE: i64 = 1_000;

/// Runs the command. It reports each failure itself, on lines with the context only it has
/// (the case, the row, the finding), so it always ends with a status (see `cli::error`).
pub async fn run(args: &AuditArgs) -> CommandResult {
    Ok(run_and_report(args).await)
}

/// Runs the subcommand and returns the exit status.
async fn run_and_report(args: &AuditArgs) -> u8 {
    match &args.command {
        AuditCommand::Verify {
            database,
            checkpoints,
            checkpoint_public_key,
            checkpoint_key,
        } => {
            let against = match checkpoints {
                None => None,
                Some(path) => {
                    let key = match checkpoint::public_key(
                        checkpoint_public_key.as_deref(),
                        checkpoint_key.as_deref(),
                    ) {
                        Ok(key) => key,
                        Err(code) => return code,
                    };
                    match checkpoint::read(path, &key) {
                        Ok(expectations) => Some((path.as_path(), expectations)),
                        Err(code) => return code,
                    }
                }
            };
            match open("verify", database).await {
                Ok(store) => verify(store.as_ref(), against).await,
                Err(code) => code,
            }
        }
        AuditCommand::Checkpoint { database, key, out } => {
            let key = match CheckpointKey::load(key, "--key") {
                Ok(key) => key,
                Err(e) => {
                    eprintln!(
                        "verify-identity audit checkpoint: {}",
                        checkpoint::key_error(&e)
                    );
                    return exit::FAILURE;
                }
            };
            match open("checkpoint", database).await {
                Ok(store) => checkpoint::write(store.as_ref(), &key, out.as_deref()).await,
                Err(code) => code,
            }
        }
        AuditCommand::CheckpointKey { out, public_out } => {
            checkpoint::create_key(out, public_out.as_deref())
        }
        AuditCommand::Export {
            database,
            insurer,
            since,
        } => {
            if let Some(insurer) = insurer {
                if !crate::contract::parse::is_insurer_number(insurer) {
                    eprintln!(
                        "verify-identity audit export: --insurer must be 8 digits (保険者番号)"
                    );
                    return exit::BAD_INPUT;
                }
            }
            let since_us = match since.as_deref().map(parse_since).transpose() {
                Ok(us) => us.unwrap_or(i64::MIN),
                Err(()) => {
                    eprintln!(
                        "verify-identity audit export: --since must be RFC 3339 \
                         (2026-12-01T09:00:00Z) or a date (2026-12-01)"
                    );
                    return exit::BAD_INPUT;
                }
            };
            match open("export", database).await {
                Ok(store) => export(store.as_ref(), insurer.as_deref(), since_us).await,
                Err(code) => code,
            }
        }
    }
}

/// The store at `database`; never creates an empty store where the real one was expected.
async fn open(command: &str, database: &str) -> Result<std::sync::Arc<dyn AuditBackend>, u8> {
    if let Some(path) = database.strip_prefix("sqlite:") {
        let path = path.trim_start_matches("//");
        let path = path.split('?').next().unwrap_or(path);
        if !std::path::Path::new(path).exists() {
            eprintln!("verify-identity audit {command}: no audit database at {path}");
            return Err(exit::FAILURE);
        }
    }
    audit::connect(database).await.map_err(|e| {
        eprintln!("verify-identity audit {command}: {e}");
        exit::FAILURE
    })
}

/// Verifies every chain and, when given, checks it against the checkpoints read from a file.
async fn verify(store: &dyn AuditBackend, against: Option<(&std::path::Path, Expectations)>) -> u8 {
    let (path, mut expectations) = match against {
        Some((path, expectations)) => (Some(path), expectations),
        None => (None, Expectations::default()),
    };
    match audit::verify::verify_store_and_tables(store, &mut expectations).await {
        Ok((report, tables)) => {
            let chains_intact = match &report.first_broken {
                None => {
                    crate::outln!(
                        "audit log intact: {} events checked in {} chain(s)",
                        report.events_checked,
                        report.chains
                    );
                    true
                }
                Some(b) => {
                    crate::outln!(
                        "audit log BROKEN: {} events checked in {} chain(s); first broken event: id {} (writer {}, seq {}): {}",
                        report.events_checked,
                        report.chains,
                        b.id,
                        b.writer_id,
                        b.seq,
                        b.reason
                    );
                    false
                }
            };
            let tables_intact = report_tables(&tables);
            let checkpoints_intact =
                path.is_none_or(|path| checkpoint::report(path, &expectations));
            if chains_intact && tables_intact && checkpoints_intact {
                exit::OK
            } else {
                exit::BROKEN
            }
        }
        Err(e) => {
            eprintln!("verify-identity audit verify: {e}");
            exit::FAILURE
        }
    }
}

/// Prints the tables verdict; whether the tables and the chain agree.
fn report_tables(tables: &audit::invariants::TablesReport) -> bool {
    let [requests, registrations, resolutions, lookups] = tables.rows;
    let [decisions, commits, closings] = tables.facts;
    let counts = format!(
        "{requests} request id(s), {registrations} registration(s), {resolutions} hold \
         resolution(s) and {lookups} event lookup(s) against {decisions} decision(s), {commits} \
         commit(s) and {closings} resolution(s) of the chain"
    );
    if tables.is_intact() {
        crate::outln!("tables intact: {counts}");
        return true;
    }
    crate::outln!(
        "tables BROKEN: {} finding(s) in {counts}:",
        tables.findings.len()
    );
    for finding in &tables.findings {
        crate::outln!("  - {finding}");
    }
    false
}

async fn export(store: &dyn AuditBackend, insurer: Option<&str>, since_us: i64) -> u8 {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut after = 0;
    loop {
        let page = match store
            .export_page(insurer, since_us, after, EXPORT_PAGE)
            .await
        {
            Ok(page) => page,
            Err(e) => {
                eprintln!("verify-identity audit export: {e}");
                return exit::FAILURE;
            }
        };
        for stored in &page {
            after = stored.id;
            let line = audit::export::to_json(stored).to_string();
            if writeln!(out, "{line}").is_err() {
                // The reader went away (`| head`): nothing more to write.
                return exit::OK;
            }
        }
        if (page.len() as i64) < EXPORT_PAGE {
            break;
        }
    }
    if out.flush().is_err() {
        return exit::OK;
    }
    exit::OK
}

/// Whole microseconds since the epoch of an RFC 3339 time or a UTC date.
fn parse_since(text: &str) -> Result<i64, ()> {
    let text = if text.len() == 10 {
        format!("{text}T00:00:00Z")
    } else {
        text.to_owned()
    };
    let ts: pbjson_types::Timestamp =
        serde_json::from_value(serde_json::Value::String(text)).map_err(|_| ())?;
    Ok(ts.seconds * 1_000_000 + i64::from(ts.nanos / 1_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_rfc_3339_or_a_date() {
        assert_eq!(parse_since("1970-01-02"), Ok(86_400_000_000));
        assert_eq!(parse_since("1970-01-01T00:00:01.5Z"), Ok(1_500_000));
        assert_eq!(parse_since("yesterday"), Err(()));
    }
}
