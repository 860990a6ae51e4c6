//! `verify-identity gen-roster`: write a synthetic roster CSV (registration or reverse) for
//! trying the `bulk` command, in UTF-8 or CP932, streamed row by row.
//!
//! The rows come from [`crate::synthetic::roster`]; this file lays them out as CSV and encodes
//! them. CP932 files end lines with CRLF, as Windows programs write them; UTF-8 files with LF
//! and no byte-order mark. Every cell is encoded on its own and a character CP932 cannot hold
//! stops the run with the row and column named (never the value): a file the bulk command
//! would misread is worse than none. The pools are chosen to fit CP932; the one family-name
//! variant that does not (𠮷田) is left out when writing CP932.

use std::{
    io::{self, BufWriter, Write},
    path::PathBuf,
    time::Instant,
};

use encoding_rs::SHIFT_JIS;

use crate::{
    cli::{
        error::{CommandError, CommandResult},
        exit,
    },
    roster::{Kind, files::OutputFile},
    synthetic::{
        people::Family,
        roster::{RosterGenerator, days_back},
    },
};

/// Arguments of `verify-identity gen-roster`.
#[derive(Debug, clap::Args)]
pub struct GenRosterArgs {
    /// How many rows (after the header).
    #[arg(long)]
    pub rows: u64,
    /// Which roster: before registration, or registered numbers against J-LIS.
    #[arg(long, value_enum)]
    pub kind: Kind,
    /// Where to write it (`-` for standard output).
    #[arg(long)]
    pub output: PathBuf,
    /// The text encoding of the file.
    #[arg(long, value_enum, default_value_t = EncodingArg::Utf8)]
    pub encoding: EncodingArg,
    /// Seed for the data; printed when not given, so any file can be written again.
    #[arg(long)]
    pub seed: Option<u64>,
    /// 保険者番号 (8 digits) on every row.
    #[arg(long, default_value = "32130011", value_parser = parse_insurer)]
    pub insurer: String,
    /// The last day forms were received on (YYYY-MM-DD; today by default); rows spread over
    /// the 30 days before it. The same seed and day write the same file.
    #[arg(long, value_parser = parse_day)]
    pub received_until: Option<(i32, u32, u32)>,
}

/// Encodings as typed on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EncodingArg {
    /// UTF-8 without a byte-order mark, LF line ends.
    #[value(name = "utf-8", alias = "utf8")]
    Utf8,
    /// CP932 (Windows-31J, Shift_JIS as Windows writes it), CRLF line ends.
    #[value(name = "cp932", alias = "shift_jis", alias = "sjis")]
    Cp932,
}

fn parse_insurer(s: &str) -> Result<String, String> {
    if crate::contract::parse::is_insurer_number(s) {
        Ok(s.to_owned())
    } else {
        Err("must be 8 digits".to_owned())
    }
}

fn parse_day(s: &str) -> Result<(i32, u32, u32), String> {
    let date: jiff::civil::Date = s.parse().map_err(|_| "must be YYYY-MM-DD".to_owned())?;
    Ok((
        i32::from(date.year()),
        date.month() as u32,
        date.day() as u32,
    ))
}

/// Whether every spelling of a family name can be written in CP932.
fn fits_cp932(f: &Family) -> bool {
    [Some(f.kanji), Some(f.kana), f.variant, f.other_reading]
        .into_iter()
        .flatten()
        .all(|s| !SHIFT_JIS.encode(s).2)
}

/// Writes the roster; the summary goes to standard error.
pub fn run(args: &GenRosterArgs) -> CommandResult {
    let seed = args.seed.unwrap_or_else(rand::random);
    if args.seed.is_none() {
        eprintln!("verify-identity gen-roster: --seed {seed}");
    }
    let until = args.received_until.unwrap_or_else(|| {
        let today = jiff::Timestamp::now()
            .to_zoned_datetime(jiff::tz::TimeZone::system())
            .date();
        (
            i32::from(today.year()),
            today.month() as u32,
            today.day() as u32,
        )
    });
    let started = Instant::now();
    let written = if args.output.as_os_str() == "-" {
        let written = write_roster(
            args,
            seed,
            until,
            BufWriter::with_capacity(1 << 16, io::stdout().lock()),
        );
        match written {
            // `gen-roster --output - | head`: the reader has what it wanted.
            Err(e) if e.reader_went_away() => return Ok(exit::OK),
            other => other.map_err(failed)?,
        }
    } else {
        // Whole or not at all, private, never through a link (roster/files.rs).
        let create = OutputFile::create(&args.output).map_err(failed)?;
        let mut out = BufWriter::with_capacity(1 << 16, create);
        let written = write_roster(args, seed, until, &mut out).map_err(failed)?;
        out.into_inner()
            .map_err(|e| {
                failed(format!(
                    "cannot write {}: {}",
                    args.output.display(),
                    e.error()
                ))
            })?
            .persist()
            .map_err(failed)?;
        written
    };
    eprintln!(
        "verify-identity gen-roster: {written} rows in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(exit::OK)
}

fn failed(e: impl ToString) -> CommandError {
    CommandError::failed(e.to_string())
}

/// Why a roster could not be written. Never quotes a cell.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// A generated value has a character CP932 cannot hold.
    #[error("row {row}, column {column}: a character CP932 cannot hold")]
    Unencodable {
        /// The row (0 is the header).
        row: u64,
        /// The column's name.
        column: &'static str,
    },
    /// The output refused a write.
    #[error("cannot write {what}: {source}")]
    Write {
        /// Which part: a row or the end of the roster.
        what: String,
        /// The cause.
        source: csv::Error,
    },
}

impl WriteError {
    /// Whether this is a write to a pipe whose reader went away (`gen-roster --output - | head`).
    fn reader_went_away(&self) -> bool {
        match self {
            WriteError::Write { source, .. } => {
                matches!(source.kind(), csv::ErrorKind::Io(e) if e.kind() == io::ErrorKind::BrokenPipe)
            }
            WriteError::Unencodable { .. } => false,
        }
    }
}

/// Writes the header and `args.rows` rows to `out`; returns the number of rows.
pub fn write_roster(
    args: &GenRosterArgs,
    seed: u64,
    until: (i32, u32, u32),
    out: impl Write,
) -> Result<u64, WriteError> {
    let kind = args.kind;
    let cp932 = args.encoding == EncodingArg::Cp932;
    let mut generator = RosterGenerator::new(
        kind,
        seed,
        args.insurer.clone(),
        days_back(until, 30),
        |f| !cp932 || fits_cp932(f),
    );
    let mut csv = csv::WriterBuilder::new()
        .terminator(if cp932 {
            csv::Terminator::CRLF
        } else {
            csv::Terminator::Any(b'\n')
        })
        .from_writer(out);
    let columns = kind.columns();
    let mut encoded: Vec<Vec<u8>> = vec![Vec::new(); columns.len()];
    let mut write = |row: u64, cells: &[&str]| -> Result<(), WriteError> {
        for ((cell, into), &column) in cells.iter().zip(&mut encoded).zip(columns) {
            into.clear();
            if cp932 {
                if !encode_cp932(cell, into) {
                    return Err(WriteError::Unencodable { row, column });
                }
            } else {
                into.extend_from_slice(cell.as_bytes());
            }
        }
        csv.write_record(&encoded)
            .map_err(|source| WriteError::Write {
                what: format!("row {row}"),
                source,
            })
    };
    write(0, columns)?;
    for n in 1..=args.rows {
        let row = generator.next_row();
        let cells: Vec<&str> = row.cells.iter().map(String::as_str).collect();
        write(n, &cells)?;
    }
    csv.flush().map_err(|e| WriteError::Write {
        what: "the roster".into(),
        source: e.into(),
    })?;
    Ok(args.rows)
}

/// Appends `cell` in CP932 to `into`; false for a character CP932 cannot hold, where
/// encoding_rs would otherwise write an HTML character reference.
fn encode_cp932(cell: &str, into: &mut Vec<u8>) -> bool {
    let (bytes, _, unmappable) = SHIFT_JIS.encode(cell);
    if unmappable {
        return false;
    }
    into.extend_from_slice(&bytes);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::people::{BUILDINGS, FAMILIES, GIVENS, TOWNS};

    #[test]
    fn a_character_cp932_cannot_hold_is_an_error_that_does_not_quote_it() {
        let mut out = Vec::new();
        assert!(!encode_cp932("𠮷田 一郎", &mut out));
        let e = WriteError::Unencodable {
            row: 7,
            column: "kanji_name",
        };
        assert_eq!(
            e.to_string(),
            "row 7, column kanji_name: a character CP932 cannot hold"
        );
        assert!(encode_cp932(
            "髙橋 一郎　ｲﾁﾛｳ　東京都府中市宮西町１－２－３",
            &mut out
        ));
        let (back, _, errors) = SHIFT_JIS.decode(&out);
        assert!(!errors);
        assert_eq!(back, "髙橋 一郎　ｲﾁﾛｳ　東京都府中市宮西町１－２－３");
    }

    #[test]
    fn every_pool_entry_fits_cp932_except_the_family_names_left_out_for_it() {
        let fits = |s: &str| !SHIFT_JIS.encode(s).2;
        let left_out: Vec<&str> = FAMILIES
            .iter()
            .filter(|f| !fits_cp932(f))
            .map(|f| f.kanji)
            .collect();
        assert_eq!(left_out, ["吉田"]);
        for g in GIVENS {
            assert!(fits(g.kanji) && fits(g.kana) && g.look_alike.is_none_or(fits));
        }
        for t in TOWNS {
            assert!(fits(t.prefecture) && fits(t.county) && fits(t.municipality));
            assert!(fits(t.oaza) && fits(t.town));
        }
        assert!(BUILDINGS.iter().all(|b| fits(b)));
    }
}
