//! The command line: one module per subcommand. `main.rs` holds the command enum (so that the
//! load generator, a command of its own tree, is not imported from here), parses arguments and
//! maps the outcome to an exit status.

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
