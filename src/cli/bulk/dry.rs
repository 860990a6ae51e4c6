//! `--dry-run`: every row decided here by the core, chunks in parallel, nothing stored.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, mpsc},
};

use csv::ByteRecord;

use super::{
    BulkArgs,
    reader::{Chunk, Decided, RowResult},
    sink::Sink,
};
use crate::{
    cli::check,
    contract::parse,
    domain::{gate, policy::Policy},
    roster::{outcome::RowOutcome, row::RowContext},
};

/// The dry run: chunks decided on every core, written in order.
pub(super) fn run_dry(
    args: &BulkArgs,
    ctx: Arc<RowContext>,
    chunks: mpsc::Receiver<Result<Chunk, String>>,
    sink: &mut Sink,
) -> Result<Option<String>, String> {
    let policy = check::load_policy(args.policy.as_deref()).map_err(|e| e.to_string())?;
    let policy = Arc::new(policy);
    let chunks = Arc::new(Mutex::new(chunks));
    let (tx, rx) = mpsc::sync_channel::<Result<Decided, String>>(8);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let run_span = tracing::Span::current();
    for _ in 0..workers {
        let (chunks, tx, ctx, policy) = (chunks.clone(), tx.clone(), ctx.clone(), policy.clone());
        let run_span = run_span.clone();
        std::thread::spawn(move || {
            loop {
                let next = chunks.lock().expect("no worker panics holding it").recv();
                let Ok(next) = next else { return };
                let span = next.as_ref().map_or_else(
                    |_| tracing::Span::none(),
                    |c| super::chunk_span(&run_span, c),
                );
                let _entered = span.enter();
                let decided = next.map(|chunk| Decided {
                    seq: chunk.seq,
                    end_byte: chunk.end_byte,
                    rows: chunk
                        .rows
                        .iter()
                        .map(|(line, record)| decide_here(&ctx, &policy, *line, record))
                        .collect(),
                });
                if tx.send(decided).is_err() {
                    return;
                }
            }
        });
    }
    drop(tx);
    let mut pending = BTreeMap::new();
    let mut next = 0;
    for decided in rx {
        let decided = decided?;
        pending.insert(decided.seq, decided);
        while let Some(d) = pending.remove(&next) {
            sink.write(d)?;
            next += 1;
        }
    }
    if pending.is_empty() {
        Ok(None)
    } else {
        Err("a chunk of rows was lost".into())
    }
}

pub(super) fn decide_here(
    ctx: &RowContext,
    policy: &Policy,
    line: u64,
    record: &ByteRecord,
) -> RowResult {
    let prepared = match ctx.prepare(line, record) {
        Ok(p) => p,
        Err(e) => return RowResult::Failed(line, e),
    };
    match parse::parse_verify_owned(prepared.request) {
        Ok(v) => {
            let d = gate::decide(&v.case, policy);
            RowResult::Decided(RowOutcome::from_decision(line, prepared.subject_id, &d))
        }
        Err(violations) => {
            RowResult::Failed(line, ctx.errors_from(&prepared.group_of, &violations))
        }
    }
}
