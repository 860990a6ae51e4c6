//! The `verify-identity` binary: parse the command line, run, map the outcome to an exit status.

use std::process::ExitCode;

use clap::Parser;
use verify_identity::cli::{
    Cli, Command, audit, bulk, check, console_user, gen_roster, holds, serve, verify,
};
use verify_identity::loadgen;

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
