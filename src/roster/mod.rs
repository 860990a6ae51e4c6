//! Roster files for `verify-identity bulk`: whole insurer rosters as CSV, checked row by row.
//!
//! # Layout
//!
//! - [`columns`]: which column holds what — the default header names, a `--columns` TOML
//!   mapping (header names or positions), and the kind of roster.
//! - [`decode`]: UTF-8 (with or without BOM) and CP932, field by field, so that a byte that
//!   does not decode, or a character CP932 cannot hold, is named by its row and column.
//! - [`open`]: everything worked out before the first row — encoding, header, kind, columns,
//!   the flags that stand in for columns, the namespace of derived request ids.
//! - [`row`]: one CSV record → one `VerifyRequest`, its request id, and the CSV column of a
//!   request field a violation names.
//! - [`outcome`]: what is kept of a decision (ids and classes only, no personal data), and
//!   the result and error files.
//! - [`files`]: the files a run writes — never an input, never through a link, private, and
//!   under their names only once whole.
//! - [`summary`]: the counts printed at the end of a run.
//! - [`report`]: the same figures as one self-contained HTML page (inline SVG).

pub mod columns;
pub mod decode;
pub mod files;
pub mod open;
pub mod outcome;
pub mod report;
pub mod row;
pub mod summary;

/// Which kind of roster a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// New registrations: form, J-LIS query and candidates (5情報 lookup).
    Registration,
    /// A reverse check of registered numbers: the insurer's record against J-LIS's record for
    /// that number (the lookup-by-number shape: no query, one candidate).
    Reverse,
}

impl Kind {
    /// The stable id used in flags, mapping files and reports.
    pub const fn id(self) -> &'static str {
        match self {
            Kind::Registration => "registration",
            Kind::Reverse => "reverse",
        }
    }
}
