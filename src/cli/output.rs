//! How `check` and `verify` print a response: proto3 JSON for programs, or the text
//! explanation for the clerk.
//!
//! The default follows `git` and `ls`: text when standard output is a terminal, JSON when it
//! is piped or redirected, so scripts that read the JSON keep working unchanged.

use std::io::IsTerminal;

use crate::{cli::explain, contract::pb, domain::policy::Policy, terminal};

/// What `--format` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The explanation for people: decision, next step, table, marked differences.
    Text,
    /// The VerifyResponse as proto3 JSON (what grpcurl prints).
    Json,
}

/// Text on a terminal, JSON otherwise, unless `--format` chose.
pub fn resolve(explicit: Option<Format>, stdout_is_terminal: bool) -> Format {
    explicit.unwrap_or(if stdout_is_terminal {
        Format::Text
    } else {
        Format::Json
    })
}

/// Prints `response` to standard output in `format` (or the default for this stdout).
/// `policy` marks which rows of the text table pass.
pub fn print_response(
    request: &pb::VerifyRequest,
    response: &pb::VerifyResponse,
    format: Option<Format>,
    policy: &Policy,
) {
    let is_terminal = std::io::stdout().is_terminal();
    match resolve(format, is_terminal) {
        Format::Json => crate::outln!(
            "{}",
            serde_json::to_string_pretty(response).expect("responses serialize")
        ),
        Format::Text => {
            let colour = terminal::colour_from_env(is_terminal);
            crate::out!("{}", explain::render(request, response, policy, colour));
        }
    }
}

/// Writes `text` to standard output. A reader that went away (`| head`) ends the output quietly,
/// as it does for other command-line tools, instead of panicking as `println!` does.
pub fn write_stdout(text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            STDOUT_GONE.store(true, std::sync::atomic::Ordering::Relaxed);
            Ok(())
        }
        other => other,
    }
}

/// Set once standard output's reader has gone: later output is dropped instead of attempted.
static STDOUT_GONE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// What [`out!`](crate::out) and [`outln!`](crate::outln) call: writes to standard output and
/// ends quietly when the reader went away. Every command prints through these, never through
/// `print!`/`println!`, which panic on a closed pipe (`bulk … | head -3` exited 101). Another
/// write error (a full disk behind a redirect) is said once on standard error.
pub fn stdout_fmt(args: std::fmt::Arguments<'_>) {
    use std::{io::Write as _, sync::atomic::Ordering};
    if STDOUT_GONE.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args) {
        STDOUT_GONE.store(true, Ordering::Relaxed);
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("verify-identity: cannot write to standard output: {e}");
        }
    }
}

/// `print!` that ends quietly on a closed pipe (see [`stdout_fmt`]).
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::output::stdout_fmt(format_args!($($arg)*))
    };
}

/// `println!` that ends quietly on a closed pipe (see [`stdout_fmt`]).
#[macro_export]
macro_rules! outln {
    () => {
        $crate::cli::output::stdout_fmt(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::output::stdout_fmt(format_args!("{}\n", format_args!($($arg)*)))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_text_on_a_terminal_and_json_in_a_pipe() {
        assert_eq!(resolve(None, true), Format::Text);
        assert_eq!(resolve(None, false), Format::Json);
        assert_eq!(resolve(Some(Format::Json), true), Format::Json);
        assert_eq!(resolve(Some(Format::Text), false), Format::Text);
    }
}
