//! `--database URL`: the server's own decide-and-append path on the same audit log.

use std::sync::{Arc, mpsc};
use tracing::Instrument as _;

use futures::StreamExt;
use prost::Message as _;

use super::{
    BulkArgs, EMBEDDED_CALLER, EMBEDDED_CHUNKS_IN_FLIGHT, EMBEDDED_MAX_BATCH, EMBEDDED_QUEUE,
    reader::runtime,
    reader::{Chunk, Decided, Newest, RowResult, chunk_stream},
    sink::Sink,
};
use crate::{
    audit::{
        self, AuditBackend, AuditWriter,
        key_adoption::{self, OpenedKeys},
    },
    cli::check,
    contract::{parse, pb, respond},
    roster::{
        outcome::RowOutcome,
        row::{RowContext, RowError, RowErrorKind},
    },
    verification::{Decider, VerificationError},
};

/// The audit store of an embedded run, and the keys it agreed to.
pub(super) struct Embedded {
    /// The runtime the store was opened on (and the run goes on).
    pub(super) rt: tokio::runtime::Runtime,
    /// The store.
    pub(super) store: Arc<dyn AuditBackend>,
    /// Its fingerprint keys.
    pub(super) keys: OpenedKeys,
}

/// Opens `database` and has it agree to the fingerprint keys, as `serve` does: the store must
/// know the keys before anything is written with them.
pub(super) fn open_embedded(args: &BulkArgs, database: &str) -> Result<Embedded, String> {
    let settings = args.keys.settings();
    let key_file = key_adoption::key_file(database, settings.file.as_deref())
        .map_err(|e| format!("fingerprint key: {e}"))?;
    let rt = runtime();
    let (store, keys) = rt.block_on(async {
        // A stream of appends: a small page cache and no memory map keep the run's memory flat.
        let store = audit::connect_with(database, audit::PageMemory::STREAMING)
            .await
            .map_err(|e| e.to_string())?;
        match key_adoption::open(store.as_ref(), &key_file, &settings).await {
            Ok(keys) => Ok((store, keys)),
            Err(e) => {
                store.close().await;
                Err(format!("fingerprint key: {e}"))
            }
        }
    })?;
    if keys.created {
        eprintln!(
            "created a new fingerprint key at {} (mode 0600) for this empty audit store; back \
             it up with the audit database",
            std::path::absolute(&keys.file)
                .unwrap_or_else(|_| keys.file.clone())
                .display()
        );
    }
    Ok(Embedded { rt, store, keys })
}

/// Embedded: the server's decide-and-append path, on the audit database itself.
pub(super) async fn run_embedded(
    args: &BulkArgs,
    store: Arc<dyn AuditBackend>,
    keys: OpenedKeys,
    ctx: Arc<RowContext>,
    chunks: mpsc::Receiver<Result<Chunk, String>>,
    sink: &mut Sink,
) -> Result<Option<String>, String> {
    let policy = check::load_policy(args.policy.as_deref()).map_err(|e| e.to_string())?;
    let (handle, writer) = AuditWriter::spawn(store.clone(), EMBEDDED_QUEUE, EMBEDDED_MAX_BATCH);
    let decider = Arc::new(Decider::new(
        policy,
        handle,
        store.clone(),
        keys.ring,
        Arc::new(|| {}),
    ));
    let run_span = tracing::Span::current();
    let mut decided = chunk_stream(chunks)
        .map(|chunk| {
            let (decider, ctx, run_span) = (decider.clone(), ctx.clone(), run_span.clone());
            tokio::spawn(async move {
                let chunk = chunk?;
                let span = super::chunk_span(&run_span, &chunk);
                decide_embedded(&decider, &ctx, chunk)
                    .instrument(span)
                    .await
            })
        })
        .buffered(EMBEDDED_CHUNKS_IN_FLIGHT);
    let mut newest: Newest = None;
    let mut result = Ok(());
    while let Some(joined) = decided.next().await {
        let step = joined
            .map_err(|e| format!("a decision task failed: {e}"))
            .and_then(|r| r)
            .and_then(|(d, n)| {
                if n.as_ref().map(|n| n.0) > newest.as_ref().map(|n| n.0) {
                    newest = n;
                }
                sink.write(d)
            });
        if let Err(e) = step {
            result = Err(e);
            break;
        }
    }
    drop(decided);
    drop(decider);
    // Every handle is gone: the writer commits what is queued and ends.
    let _ = writer.await;
    let chain = match &newest {
        Some((_, insurer, vid)) => match store.find_verification(insurer, vid).await {
            Ok(Some(e)) => Some(format!(
                "chain {} at seq {} (event hash {}…)",
                e.writer_id,
                e.seq,
                &hex::encode(e.hash)[..16]
            )),
            _ => None,
        },
        None => Some("no new events (every row was decided by an earlier run)".into()),
    };
    store.close().await;
    result.map(|()| chain)
}

pub(super) async fn decide_embedded(
    decider: &Decider,
    ctx: &RowContext,
    chunk: Chunk,
) -> Result<(Decided, Newest), String> {
    let mut slots: Vec<Option<RowResult>> = Vec::with_capacity(chunk.rows.len());
    let mut work = Vec::new();
    for (i, (line, record)) in chunk.rows.iter().enumerate() {
        match ctx.prepare(*line, record) {
            Ok(p) => {
                slots.push(None);
                work.push((i, p));
            }
            Err(e) => slots.push(Some(RowResult::Failed(*line, e))),
        }
    }
    let answers = futures::future::join_all(work.into_iter().map(|(i, mut p)| async move {
        let insurer = p.request.insurer_number.clone();
        let request = std::mem::take(&mut p.request);
        let answer = verify_row(decider, request).await;
        (i, p, insurer, answer)
    }))
    .await;
    let mut newest: Newest = None;
    for (i, p, insurer, answer) in answers {
        slots[i] = Some(match answer {
            Ok((response, appended)) => {
                if let Some(id) = appended {
                    if newest.as_ref().is_none_or(|n| id > n.0) {
                        newest = Some((id, insurer, response.verification_id.clone()));
                    }
                }
                match RowOutcome::from_response(p.line, p.subject_id, &response, appended.is_none())
                {
                    Some(o) => RowResult::Decided(o),
                    None => return Err("the core returned no decision".into()),
                }
            }
            Err(VerificationError::InvalidArgument(v)) => {
                RowResult::Failed(p.line, ctx.errors_from(&p.group_of, &v))
            }
            Err(e @ VerificationError::AlreadyExists(_)) => {
                RowResult::Failed(p.line, vec![request_id_error(ctx, &e.to_string())])
            }
            Err(e) => return Err(format!("line {}: {e}", p.line)),
        });
    }
    Ok((
        Decided {
            seq: chunk.seq,
            end_byte: chunk.end_byte,
            rows: slots
                .into_iter()
                .map(|s| s.expect("every row has a result"))
                .collect(),
        },
        newest,
    ))
}

/// One row through the service's own decide-and-append path, parsed as the server parses a
/// request: the answer as Verify gives it, and the row id of the event appended (`None` for a
/// row an earlier run decided).
pub(super) async fn verify_row(
    decider: &Decider,
    request: pb::VerifyRequest,
) -> Result<(pb::VerifyResponse, Option<i64>), VerificationError> {
    let content = request.encode_to_vec();
    let parsed = parse::parse_verify_owned(request).map_err(VerificationError::InvalidArgument)?;
    let verified = decider.verify(parsed, &content, EMBEDDED_CALLER).await?;
    Ok((
        respond::response_from_decided(&verified.decided),
        verified.appended,
    ))
}

pub(super) fn request_id_error(ctx: &RowContext, message: &str) -> RowError {
    RowError {
        kind: RowErrorKind::RequestId,
        column: ctx.layout.request_id.map_or_else(
            || "(derived request id)".to_owned(),
            |i| ctx.layout.name(i).to_owned(),
        ),
        message: format!("{message} (the row changed since it was decided under this request id)"),
    }
}
