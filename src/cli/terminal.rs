//! Whether to write colour: only to a terminal, and never when `NO_COLOR` is set.
//!
//! One rule for the operator's output (`check`, `verify`) and for `serve`'s log, so a log
//! redirected to a file or a pipe never holds escape codes that a log shipper or `grep` would
//! have to strip. `NO_COLOR` follows no-color.org: any non-empty value turns colour off.

use std::ffi::OsString;

/// Colour for a stream that is (or is not) a terminal, given the value of `NO_COLOR`.
///
/// Takes the variable's value rather than reading it, so the rule is tested without touching
/// the process environment.
pub fn colour(stream_is_terminal: bool, no_color: Option<OsString>) -> bool {
    stream_is_terminal && no_color.is_none_or(|v| v.is_empty())
}

/// [`colour`] with this process's `NO_COLOR`.
pub fn colour_from_env(stream_is_terminal: bool) -> bool {
    colour(stream_is_terminal, std::env::var_os("NO_COLOR"))
}

#[cfg(test)]
mod tests {
    use super::colour;

    #[test]
    fn colour_is_for_terminals_only() {
        assert!(colour(true, None));
        assert!(!colour(false, None));
    }

    #[test]
    fn a_non_empty_no_color_turns_colour_off_and_an_empty_one_does_not() {
        assert!(!colour(true, Some("1".into())));
        assert!(!colour(false, Some("1".into())));
        assert!(colour(true, Some("".into())));
    }
}
