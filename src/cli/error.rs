//! The command line's one error convention.
//!
//! Every subcommand's `run` returns a [`CommandResult`]: `Ok(status)` when it ran to the end
//! (the status says how it ended — 0, a decision's 3 or 4, `audit verify`'s 5, `bulk`'s 6 — or
//! 1 when it has already reported each of its failures on its own lines), `Err` when it stopped
//! on one error, which `main` prints once as `verify-identity <command>: <message>` and maps to
//! its status here. Library code below the command line has typed errors of its own; the
//! product does not use `anyhow` (only the examples, which are tools run by hand, do).

use crate::cli::exit;

/// Why a command stopped. The message names the flag, file or setting to fix, never a value
/// of a person.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// Something the person typed or pointed to is unusable (a flag, a file, a value): exit 2.
    #[error("{0}")]
    BadInput(String),
    /// The work could not be done (a server, a store, a file system): exit 1.
    #[error("{0}")]
    Failed(String),
}

/// What every subcommand returns; see the module documentation.
pub type CommandResult = Result<u8, CommandError>;

impl CommandError {
    /// A [`CommandError::BadInput`] with this message.
    pub fn bad_input(message: impl Into<String>) -> Self {
        CommandError::BadInput(message.into())
    }

    /// A [`CommandError::Failed`] with this message.
    pub fn failed(message: impl Into<String>) -> Self {
        CommandError::Failed(message.into())
    }

    /// The one map from errors to exit statuses.
    pub fn exit_code(&self) -> u8 {
        match self {
            CommandError::BadInput(_) => exit::BAD_INPUT,
            CommandError::Failed(_) => exit::FAILURE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_input_exits_2_and_failures_exit_1() {
        assert_eq!(
            CommandError::bad_input("--server").exit_code(),
            exit::BAD_INPUT
        );
        assert_eq!(CommandError::failed("store").exit_code(), exit::FAILURE);
    }
}
