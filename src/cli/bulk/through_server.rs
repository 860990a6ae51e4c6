//! Through a server: one VerifyBatch stream per chunk, a few chunks at once.

use std::{
    collections::VecDeque,
    sync::{Arc, mpsc},
    time::SystemTime,
};

use futures::StreamExt;
use tracing::Instrument as _;

use super::{
    BulkArgs, SERVER_CHUNKS_IN_FLIGHT,
    embedded::request_id_error,
    reader::{Chunk, Decided, RowResult, chunk_stream},
    sink::Sink,
};
use crate::{
    audit::{self},
    contract::pb,
    roster::{
        outcome::RowOutcome,
        row::{RowContext, RowError, RowErrorKind},
    },
};

/// Through a server: one VerifyBatch stream per chunk, [`SERVER_CHUNKS_IN_FLIGHT`] chunks at
/// once on one connection. The server decides each stream on a task of its own, so several
/// streams keep every server core deciding (one stream for the whole file left the server on
/// one core: BENCHMARKS.md); chunks come back in file order because `buffered` yields them in
/// the order they were started.
pub(super) async fn run_server(
    args: &BulkArgs,
    ctx: Arc<RowContext>,
    chunks: mpsc::Receiver<Result<Chunk, String>>,
    sink: &mut Sink,
    started_at: SystemTime,
) -> Result<Option<String>, String> {
    let server = &args.client.server;
    let endpoint = args.client.endpoint().map_err(|e| format!("{e:#}"))?;
    let auth = args.client.auth().map_err(|e| format!("{e:#}"))?;
    let channel = endpoint
        .connect()
        .await
        .map_err(|e| format!("cannot connect to {server}: {e}"))?;
    let client = pb::verify_identity_client::VerifyIdentityClient::with_interceptor(channel, auth)
        .max_decoding_message_size(16 * 1024 * 1024);
    let started_micros = audit::micros_since_epoch(started_at);
    let run_span = tracing::Span::current();
    let mut decided = chunk_stream(chunks)
        .map(|chunk| {
            let (client, ctx, run_span) = (client.clone(), ctx.clone(), run_span.clone());
            tokio::spawn(async move {
                let chunk = chunk?;
                let span = super::chunk_span(&run_span, &chunk);
                decide_remote(client, &ctx, chunk, started_micros)
                    .instrument(span)
                    .await
            })
        })
        .buffered(SERVER_CHUNKS_IN_FLIGHT);
    while let Some(joined) = decided.next().await {
        let d = joined
            .map_err(|e| format!("a decision task failed: {e}"))
            .and_then(|r| r)?;
        sink.write(d)?;
    }
    Ok(Some(format!("the server's chain ({server})")))
}

/// The gRPC client of `run_server`, with its credentials.
pub(super) type Client = pb::verify_identity_client::VerifyIdentityClient<
    tonic::service::interceptor::InterceptedService<
        tonic::transport::Channel,
        crate::cli::client::BearerAuth,
    >,
>;

/// One chunk through one VerifyBatch stream. Rows that cannot become a request are refused
/// here and keep their place; every other row gets the response in its position (VerifyBatch
/// answers in request order).
pub(super) async fn decide_remote(
    mut client: Client,
    ctx: &RowContext,
    chunk: Chunk,
    started_micros: i64,
) -> Result<Decided, String> {
    let mut slots: Vec<Option<RowResult>> = Vec::with_capacity(chunk.rows.len());
    let mut pending: VecDeque<(usize, u64, String, Vec<usize>)> = VecDeque::new();
    let mut requests = Vec::with_capacity(chunk.rows.len());
    for (line, record) in &chunk.rows {
        match ctx.prepare(*line, record) {
            Ok(p) => {
                pending.push_back((slots.len(), p.line, p.subject_id, p.group_of));
                requests.push(p.request);
                slots.push(None);
            }
            Err(e) => slots.push(Some(RowResult::Failed(*line, e))),
        }
    }
    if !requests.is_empty() {
        // The chunk's trace context goes with the stream, so that the server's spans of it
        // are children of this chunk's span.
        let mut request = tonic::Request::new(tokio_stream::iter(requests));
        crate::telemetry::traces::inject(&tracing::Span::current(), request.metadata_mut());
        let mut responses = client
            .verify_batch(request)
            .await
            .map_err(|s| format!("VerifyBatch refused: {:?}: {}", s.code(), s.message()))?
            .into_inner();
        while let Some(response) = responses.message().await.map_err(|s| {
            format!(
                "the server ended the stream: {:?}: {}",
                s.code(),
                s.message()
            )
        })? {
            let (slot, line, subject, groups) = pending
                .pop_front()
                .ok_or("a response came for no request")?;
            slots[slot] = Some(row_from_response(
                ctx,
                line,
                subject,
                &groups,
                &response,
                started_micros,
            )?);
        }
        if !pending.is_empty() {
            return Err("the server ended the stream before answering every row".into());
        }
    }
    Ok(Decided {
        seq: chunk.seq,
        rows: slots.into_iter().flatten().collect(),
        end_byte: chunk.end_byte,
    })
}

/// What one VerifyBatch response makes of its row: decided, refused for a reason that belongs
/// to the row (bad field, a request id reused, an insurer the caller may not act for), or an
/// error that stops the run (anything else: the server cannot decide).
pub(super) fn row_from_response(
    ctx: &RowContext,
    line: u64,
    subject: String,
    groups: &[usize],
    response: &pb::VerifyResponse,
    started_micros: i64,
) -> Result<RowResult, String> {
    let Some(e) = &response.error else {
        let earlier = response
            .decided_at
            .as_ref()
            .is_some_and(|t| t.seconds * 1_000_000 + i64::from(t.nanos / 1000) < started_micros);
        return RowOutcome::from_response(line, subject, response, earlier)
            .map(RowResult::Decided)
            .ok_or_else(|| format!("line {line}: the server returned no decision"));
    };
    Ok(match tonic::Code::from(e.code) {
        tonic::Code::InvalidArgument => RowResult::Failed(
            line,
            ctx.errors_from_violations(
                groups,
                e.field_violations
                    .iter()
                    .map(|v| (v.field.as_str(), v.description.as_str())),
            ),
        ),
        tonic::Code::AlreadyExists => {
            RowResult::Failed(line, vec![request_id_error(ctx, &e.message)])
        }
        tonic::Code::PermissionDenied => RowResult::Failed(
            line,
            vec![RowError {
                kind: RowErrorKind::Permission,
                column: ctx
                    .layout
                    .insurer_number
                    .map_or_else(|| "--insurer".to_owned(), |i| ctx.layout.name(i).to_owned()),
                message: "the caller may not act for this insurer".into(),
            }],
        ),
        code => return Err(format!("line {line}: {code:?}: {}", e.message)),
    })
}
