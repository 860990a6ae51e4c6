//! The command line: one module per subcommand. `main.rs` only parses arguments and maps the
//! outcome to an exit status.

pub mod audit;
pub mod bulk;
pub mod check;
pub mod client;
pub mod console_user;
pub mod error;
pub mod explain;
pub mod gen_roster;
pub mod hold_stats;
pub mod holds;
pub mod output;
pub mod serve;
pub mod times;
pub mod verify;

use clap::{Parser, Subcommand};

/// verify-identity: compare the five identity fields before an individual number is
/// registered, and decide register / hold / return.
#[derive(Debug, Parser)]
#[command(name = "verify-identity", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands. Each one's exit statuses are in its `--help` (the second paragraph, which
/// clap shows there) and in the README's table; [`exit`] has them all.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decide one case locally from a VerifyRequest in proto3 JSON (a file, or - for stdin) and
    /// print the decision (text on a terminal, the VerifyResponse as JSON in a pipe).
    ///
    /// Exit status: 0 register, 3 hold, 4 return, 2 bad input (or an unusable policy file).
    Check(check::CheckArgs),
    /// Run the gRPC service (defaults: 127.0.0.1:50051, audit in sqlite:var/audit.sqlite).
    ///
    /// Exit status: 0 after a graceful stop (SIGTERM, SIGINT), 1 when it cannot start or
    /// stops on an error (the message says which setting or file).
    Serve(crate::config::ServeArgs),
    /// Send a VerifyRequest (proto3 JSON) to a running server and print the decision.
    ///
    /// Exit status: 0 register, 3 hold, 4 return, 2 bad input (refused by the server or
    /// unreadable here), 1 when the server cannot be reached or fails.
    Verify(verify::VerifyArgs),
    /// Generate realistic synthetic load against a server; rps and latency percentiles.
    ///
    /// Exit status: 0 when the run completed, 1 when it could not start or the server failed.
    Loadgen(crate::loadgen::LoadgenArgs),
    /// The operators' queue of held cases: list, show and resolve, through the server.
    ///
    /// Exit status: 0 done, 2 refused as bad input (the message names the flag), 1 when the
    /// server cannot be reached, refuses for another reason or does not know the case.
    Holds(holds::HoldsArgs),
    /// Work with the audit log: verify its chains, export it, write and check checkpoints.
    ///
    /// Exit status: 0 intact (or done), 5 broken (each finding named), 2 bad flags, 1 when the
    /// log or a file cannot be read.
    Audit(audit::AuditArgs),
    /// Check a whole roster (CSV, UTF-8 or CP932) row by row: embedded (--database), through
    /// a server (--server, VerifyBatch) or as a dry run; writes a result file with ids and
    /// classes only, an errors file, and optionally an HTML report.
    ///
    /// Exit status: 0 when every row was decided or reported and most were decided, 1 when the
    /// run could not complete (start it again to resume), 2 when the roster, its mapping or an
    /// output path is unusable, 6 when most rows could not be decided (more than half, or the
    /// first 1,000: the run stops there).
    Bulk(Box<bulk::BulkArgs>),
    /// Write a synthetic roster CSV (registration or reverse) for trying `bulk`.
    ///
    /// Exit status: 0 written, 1 when it cannot be written, 2 bad flags.
    GenRoster(gen_roster::GenRosterArgs),
    /// Add a clerk who signs in to the console (`serve --console-listen`): the password is
    /// written to the settings file only as its argon2id hash, and never echoed.
    ///
    /// Exit status: 0 added, 2 bad flags, password or settings file, 1 when the file cannot be
    /// written.
    ConsoleUser(console_user::ConsoleUserArgs),
}

/// Exit statuses shared by the subcommands.
pub mod exit {
    /// The decision is register (or the command succeeded).
    pub const OK: u8 = 0;
    /// Something went wrong that is not the input's fault.
    pub const FAILURE: u8 = 1;
    /// The input is not a valid request.
    pub const BAD_INPUT: u8 = 2;
    /// The decision is hold.
    pub const HOLD: u8 = 3;
    /// The decision is return.
    pub const RETURN: u8 = 4;
    /// `audit verify`: the log is broken.
    pub const BROKEN: u8 = 5;
    /// `bulk`: most rows (more than half, or the first 1,000) could not be decided: the roster
    /// was most likely read the wrong way.
    pub const ROWS_FAILED: u8 = 6;
}
