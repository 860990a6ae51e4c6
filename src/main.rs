//! The `verify-identity` binary: parse the command line, run, map the outcome to an exit status.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use verify_identity::cli::{audit, bulk, check, console_user, gen_roster, holds, serve, verify};
use verify_identity::loadgen;

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
/// clap shows there) and in the README's table; `cli::exit` has them all.
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
    Serve(verify_identity::config::ServeArgs),
    /// Send a VerifyRequest (proto3 JSON) to a running server and print the decision.
    ///
    /// Exit status: 0 register, 3 hold, 4 return, 2 bad input (refused by the server or
    /// unreadable here), 1 when the server cannot be reached or fails.
    Verify(verify::VerifyArgs),
    /// Generate realistic synthetic load against a server; rps and latency percentiles.
    ///
    /// Exit status: 0 when the run completed, 1 when it could not start or the server failed.
    Loadgen(loadgen::LoadgenArgs),
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

/// mimalloc asks for transparent huge pages (`madvise`), and then every 2 MiB region it
/// touches is resident and zeroed in full, however little of it holds live objects. The heap
/// here is small and spread over a few threads, so huge pages only cost memory: without them
/// the embedded bulk run of 1,000,000 rows peaks ~35 MB lower and spends less time zeroing
/// pages (BENCHMARKS.md). The kernel setting stays as it is for every other process.
fn keep_the_heap_in_small_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and only sets a flag of this process.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// See Cargo.toml: allocation-heavy request handling is measurably faster with mimalloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    keep_the_heap_in_small_pages();
    let cli = Cli::parse();
    let (name, result) = match cli.command {
        Command::Check(args) => ("check", check::run(&args)),
        Command::Serve(args) => ("serve", runtime().block_on(serve::run(&args))),
        Command::Verify(args) => ("verify", runtime().block_on(verify::run(&args))),
        Command::Loadgen(args) => ("loadgen", runtime().block_on(loadgen::run(&args))),
        Command::Holds(args) => ("holds", runtime().block_on(holds::run(&args))),
        Command::Audit(args) => ("audit", runtime().block_on(audit::run(&args))),
        Command::Bulk(args) => ("bulk", bulk::run(&args)),
        Command::ConsoleUser(args) => ("console-user", console_user::run(&args)),
        Command::GenRoster(args) => ("gen-roster", gen_roster::run(&args)),
    };
    // The one place a command's error is printed and mapped to its status (cli/error.rs).
    ExitCode::from(result.unwrap_or_else(|e| {
        eprintln!("verify-identity {name}: {e}");
        e.exit_code()
    }))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime starts")
}
