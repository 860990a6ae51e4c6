//! Whether to write colour: only to a terminal, and never when `NO_COLOR` is set.
//!
//! One rule for the operator's output (`check`, `verify`) and for `serve`'s log (which is why it
//! lives below both the command line and the telemetry setup), so a log
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

/// The width of the terminal standard output writes to, in columns (`COLUMNS` when set, else
/// the terminal's own size); `None` for a pipe or a file, whose lines nobody wraps.
pub fn stdout_width() -> Option<usize> {
    use std::io::IsTerminal as _;
    if !std::io::stdout().is_terminal() {
        return None;
    }
    if let Some(n) = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()) {
        return Some(n);
    }
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one winsize into `size`, which lives across the call; it fails
    // (and writes nothing) when standard output is not a terminal.
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

/// How many terminal columns `text` takes: East Asian wide characters (漢字, かな, ・, 、) take
/// two, so tables with Japanese words line up only when padded by this, never by
/// `chars().count()`. Ambiguous ones (①, ↔) count one, as terminals draw them by default.
pub fn display_width(text: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(text)
}

#[cfg(test)]
mod tests {
    use super::{colour, display_width};

    #[test]
    fn wide_characters_take_two_columns() {
        assert_eq!(display_width("risk"), 4);
        assert_eq!(display_width("保留理由"), 8);
        assert_eq!(display_width("J-LISの該当者なし"), 17);
        assert_eq!(display_width("① 生年月日"), 10);
    }

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
