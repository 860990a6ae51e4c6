//! Where decided rows go: the result and errors files, the summary, the progress line.

use std::{
    io::{BufWriter, IsTerminal},
    path::Path,
    time::Instant,
};

use super::{
    BulkArgs, PLAIN_PROGRESS_EVERY,
    reader::{Decided, RowResult},
};
use crate::roster::{
    files::OutputFile,
    outcome::{ErrorWriter, ResultWriter},
    row::RowContext,
    summary::{self, Summary},
};

pub(super) struct Sink {
    /// Set when the first rows all failed and the run stopped there.
    pub(super) gave_up: bool,
    results: Option<ResultWriter<BufWriter<OutputFile>>>,
    errors: Option<ErrorWriter<BufWriter<OutputFile>>>,
    pub(super) summary: Summary,
    progress: Progress,
}

impl Sink {
    pub(super) fn open(
        args: &BulkArgs,
        errors_path: &Path,
        ctx: &RowContext,
        bom: bool,
        file_len: u64,
    ) -> Result<Self, String> {
        let create = |p: &Path| {
            OutputFile::create(p)
                .map(|f| BufWriter::with_capacity(1 << 20, f))
                .map_err(|e| e.to_string())
        };
        let io = |e: std::io::Error| format!("cannot write: {e}");
        Ok(Sink {
            gave_up: false,
            results: Some(
                ResultWriter::new(
                    create(&args.output)?,
                    ctx.layout.kind,
                    ctx.output_encoding,
                    bom,
                )
                .map_err(io)?,
            ),
            errors: Some(
                ErrorWriter::new(create(errors_path)?, ctx.output_encoding, bom).map_err(io)?,
            ),
            summary: Summary::default(),
            progress: Progress::new(args.quiet, file_len),
        })
    }

    pub(super) fn write(&mut self, decided: Decided) -> Result<(), String> {
        for r in decided.rows {
            match r {
                RowResult::Decided(o) => {
                    self.results
                        .as_mut()
                        .ok_or("the result file is closed")?
                        .write(&o)
                        .map_err(|e| format!("cannot write the result file: {e}"))?;
                    self.summary.add(&o);
                }
                RowResult::Failed(line, errors) => {
                    self.errors
                        .as_mut()
                        .ok_or("the errors file is closed")?
                        .write(line, &errors)
                        .map_err(|e| format!("cannot write the errors file: {e}"))?;
                    self.summary.add_error(&errors);
                }
            }
        }
        self.progress.update(decided.end_byte, self.summary.rows_in);
        if self.summary.first_rows_all_failed() {
            self.gave_up = true;
            return Err(format!(
                "the first {} rows all failed",
                summary::thousands(self.summary.error_rows)
            ));
        }
        Ok(())
    }

    /// Ends the output: each file is flushed, synced and renamed to its final name. A run that
    /// failed or stopped keeps what it wrote too (its errors file says what to fix; a resumed
    /// run writes every row again); only a killed run leaves the previous files in place.
    pub(super) fn finish(&mut self) -> Result<(), String> {
        self.progress.finish();
        let whole = |w: BufWriter<OutputFile>| w.into_inner().map_err(|e| e.into_error());
        if let Some(results) = self.results.take() {
            let file = results
                .finish()
                .and_then(whole)
                .map_err(|e| e.to_string())?;
            file.persist().map_err(|e| e.to_string())?;
        }
        if let Some(errors) = self.errors.take() {
            let file = errors.finish().and_then(whole).map_err(|e| e.to_string())?;
            file.persist().map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// Progress on standard error: a bar on a terminal, a line every few seconds otherwise,
/// nothing with `--quiet`. Counts and rates only.
pub(super) struct Progress {
    bar: Option<indicatif::ProgressBar>,
    plain: bool,
    started: Instant,
    last_line: Instant,
    file_len: u64,
}

impl Progress {
    pub(super) fn new(quiet: bool, file_len: u64) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let bar = (!quiet && terminal).then(|| {
            let bar = indicatif::ProgressBar::new(file_len);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:32.cyan/blue} {percent:>3}% {msg} ETA {eta}",
                )
                .expect("the template is valid"),
            );
            bar
        });
        Progress {
            bar,
            plain: !quiet && !terminal,
            started: Instant::now(),
            last_line: Instant::now(),
            file_len,
        }
    }

    pub(super) fn update(&mut self, byte: u64, rows: u64) {
        let rate = rows as f64 / self.started.elapsed().as_secs_f64().max(1e-3);
        if let Some(bar) = &self.bar {
            bar.set_position(byte);
            bar.set_message(format!("{rows} rows, {rate:.0} rows/s"));
        } else if self.plain && self.last_line.elapsed() >= PLAIN_PROGRESS_EVERY {
            self.last_line = Instant::now();
            let percent = 100.0 * byte as f64 / self.file_len.max(1) as f64;
            eprintln!("bulk: {rows} rows ({percent:.0}%), {rate:.0} rows/s");
        }
    }

    pub(super) fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
