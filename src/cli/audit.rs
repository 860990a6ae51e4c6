//! `verify-identity audit verify --database URL`: recompute every hash chain in the audit store.

use crate::{audit, cli::exit};

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
    /// Recompute every chain; report the events checked and the first broken event.
    /// Exit status 0 when intact, 5 when broken, 1 when the store cannot be read.
    Verify {
        /// Audit database URL.
        #[arg(long, env = "VERIFY_IDENTITY_DATABASE", default_value = crate::config::DEFAULT_DATABASE)]
        database: String,
    },
}

/// Exit status when a chain is broken.
pub const BROKEN: u8 = 5;

/// Runs the subcommand and returns the exit status.
pub async fn run(args: &AuditArgs) -> u8 {
    match &args.command {
        AuditCommand::Verify { database } => {
            // Verifying must never create an empty store where the real one was expected.
            if let Some(path) = database.strip_prefix("sqlite:") {
                let path = path.trim_start_matches("//");
                let path = path.split('?').next().unwrap_or(path);
                if !std::path::Path::new(path).exists() {
                    eprintln!("verify-identity audit verify: no audit database at {path}");
                    return exit::FAILURE;
                }
            }
            let store = match audit::connect(database).await {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("verify-identity audit verify: {e}");
                    return exit::FAILURE;
                }
            };
            match audit::verify::verify_store(store.as_ref()).await {
                Ok(report) => match &report.first_broken {
                    None => {
                        println!(
                            "audit log intact: {} events checked in {} chain(s)",
                            report.events_checked, report.chains
                        );
                        exit::OK
                    }
                    Some(b) => {
                        println!(
                            "audit log BROKEN: {} events checked in {} chain(s); first broken event: id {} (writer {}, seq {}): {}",
                            report.events_checked,
                            report.chains,
                            b.id,
                            b.writer_id,
                            b.seq,
                            b.reason
                        );
                        BROKEN
                    }
                },
                Err(e) => {
                    eprintln!("verify-identity audit verify: {e}");
                    exit::FAILURE
                }
            }
        }
    }
}
