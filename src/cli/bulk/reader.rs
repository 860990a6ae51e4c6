//! The reader: the roster file split into chunks of raw records on a thread of its own.

use std::{fs::File, io::BufReader, sync::mpsc};

use csv::ByteRecord;

use super::CHUNK_ROWS;
use crate::roster::{outcome::RowOutcome, row::RowError};

/// A chunk of records from the reader.
pub(super) struct Chunk {
    /// Its place in the file.
    pub(super) seq: u64,
    /// `(line, record)`.
    pub(super) rows: Vec<(u64, ByteRecord)>,
    /// The byte offset after its last record (progress).
    pub(super) end_byte: u64,
    /// Where its records go back to the reader once decided.
    pub(super) recycle: mpsc::SyncSender<Vec<(u64, ByteRecord)>>,
}

impl Drop for Chunk {
    /// Hands the records back to the reader, which reads the next rows into them: a record's
    /// buffers are allocated once per run instead of once per row (and freed on the reader's
    /// own thread, not across threads). When the reader has enough spares they are dropped.
    fn drop(&mut self) {
        let _ = self.recycle.try_send(std::mem::take(&mut self.rows));
    }
}

/// What became of one row.
pub(super) enum RowResult {
    /// Decided.
    Decided(RowOutcome),
    /// Refused, for these reasons.
    Failed(u64, Vec<RowError>),
}

/// What a run decided, in order, chunk by chunk.
pub(super) struct Decided {
    pub(super) seq: u64,
    pub(super) rows: Vec<RowResult>,
    pub(super) end_byte: u64,
}

/// Reads records on their own thread, in chunks; an unreadable file ends the stream with an
/// error.
pub(super) fn spawn_reader(
    mut reader: csv::Reader<BufReader<File>>,
    first: Option<ByteRecord>,
    crlf: bool,
) -> mpsc::Receiver<Result<Chunk, String>> {
    let (tx, rx) = mpsc::sync_channel(4);
    let (recycle, recycled) = mpsc::sync_channel::<Vec<(u64, ByteRecord)>>(8);
    std::thread::spawn(move || {
        let mut seq = 0;
        let mut rows = Vec::with_capacity(CHUNK_ROWS);
        if let Some(first) = first {
            rows.push((1, first));
        }
        let mut spares = Vec::new();
        loop {
            if spares.is_empty() {
                spares = recycled.try_recv().unwrap_or_default();
            }
            // `read_byte_record` clears the record; its buffers keep their capacity.
            let mut record = spares.pop().map_or_else(ByteRecord::new, |(_, r)| r);
            match reader.read_byte_record(&mut record) {
                Ok(true) => {
                    // With CRLF line ends csv counts a record's line before the LF of the
                    // record before it: one short of the line it starts on.
                    let line = record.position().map_or(0, |p| p.line() + u64::from(crlf));
                    rows.push((line, record));
                    if rows.len() == CHUNK_ROWS {
                        let chunk = Chunk {
                            seq,
                            rows: std::mem::replace(&mut rows, Vec::with_capacity(CHUNK_ROWS)),
                            end_byte: reader.position().byte(),
                            recycle: recycle.clone(),
                        };
                        seq += 1;
                        if tx.send(Ok(chunk)).is_err() {
                            return;
                        }
                    }
                }
                Ok(false) => break,
                Err(e) => {
                    // The csv error names a line and byte, never the content.
                    let _ = tx.send(Err(format!("the roster cannot be read: {e}")));
                    return;
                }
            }
        }
        if !rows.is_empty() {
            let end_byte = reader.position().byte();
            let _ = tx.send(Ok(Chunk {
                seq,
                rows,
                end_byte,
                recycle,
            }));
        }
    });
    rx
}

/// Bridges the reader's channel into the runtime.
pub(super) fn chunk_stream(
    chunks: mpsc::Receiver<Result<Chunk, String>>,
) -> tokio_stream::wrappers::ReceiverStream<Result<Chunk, String>> {
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    std::thread::spawn(move || {
        for chunk in chunks {
            if tx.blocking_send(chunk).is_err() {
                return;
            }
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

/// The newest event this run appended: its row id, insurer and verification id.
pub(super) type Newest = Option<(i64, String, String)>;

pub(super) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime starts")
}
