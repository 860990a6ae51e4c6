//! The key ids of stored events, read without decoding the events: what a store written before
//! the `fingerprint_keys` table holds fingerprints under (`audit::key_adoption` reads it once).
//!
//! Format 2 rows keep their fingerprints inside `body`, so no index can answer "which key ids"
//! (a `SELECT DISTINCT` would read every row too). The rows are read page by page, selecting the
//! body and the two key id columns of format 1 rows only, and each body is decoded into a
//! message that names just the fingerprint fields (prost skips every other field without
//! allocating): measured 3–5 times faster than decoding whole events (BENCHMARKS.md).

use std::collections::BTreeSet;

use prost::Message;
use sqlx::{Database, Encode, Executor, IntoArguments, Pool, Type};

use crate::audit::{AuditError, store::rows};

/// Reads the rows after a row id: `(id, number_fp_key_id, request_fp_key_id, body)`.
const SELECT_KEY_IDS: &str = "SELECT id, number_fp_key_id, request_fp_key_id, body \
     FROM audit_events WHERE id > $1 ORDER BY id LIMIT $2";

/// A row of [`SELECT_KEY_IDS`]: the row id, the two key id columns of a format 1 row, the body
/// of a format 2 row.
pub(crate) type KeyIdRow = (i64, Option<String>, Option<String>, Option<Vec<u8>>);

/// One page of key ids.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct KeyIdsPage {
    /// The distinct key ids of the page's fingerprints.
    pub key_ids: BTreeSet<String>,
    /// The id of the page's last row; `None` for an empty page (the end).
    pub last_id: Option<i64>,
    /// Rows read.
    pub rows: usize,
}

/// The key ids of the fingerprints of up to `limit` rows after row `after_id`.
pub(crate) async fn page<DB: Database>(
    pool: &Pool<DB>,
    after_id: i64,
    limit: i64,
) -> Result<KeyIdsPage, AuditError>
where
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'r> KeyIdRow: sqlx::FromRow<'r, DB::Row>,
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
    for<'c> &'c mut <DB as Database>::Connection: Executor<'c, Database = DB>,
{
    let found: Vec<KeyIdRow> = sqlx::query_as(SELECT_KEY_IDS)
        .bind(after_id)
        .bind(limit)
        .fetch_all(pool)
        .await
        .map_err(|e| rows::unavailable(&e))?;
    let mut page = KeyIdsPage {
        rows: found.len(),
        last_id: found.last().map(|r| r.0),
        ..KeyIdsPage::default()
    };
    for (id, number, request, body) in found {
        page.key_ids.extend(number.into_iter().chain(request));
        if let Some(body) = body {
            let slim = SlimBody::decode(body.as_slice())
                .map_err(|_| AuditError::Corrupt(format!("audit event {id}: the body")))?;
            page.key_ids.extend(slim.key_ids());
        }
    }
    Ok(page)
}

/// `Event`'s body fields, but only the fingerprints of the kinds that have them (field numbers
/// of `proto/verifyidentity/audit/v1/event.proto`).
#[derive(Clone, PartialEq, Message)]
struct SlimBody {
    /// `Event.decided`.
    #[prost(message, optional, tag = "20")]
    decided: Option<DecidedFingerprints>,
    /// `Event.commit_accepted`.
    #[prost(message, optional, tag = "21")]
    commit_accepted: Option<CommitFingerprints>,
    /// `Event.commit_refused`.
    #[prost(message, optional, tag = "22")]
    commit_refused: Option<CommitFingerprints>,
}

/// `Decided.number` and `Decided.request`.
#[derive(Clone, PartialEq, Message)]
struct DecidedFingerprints {
    /// The number's fingerprint.
    #[prost(message, optional, tag = "9")]
    number: Option<SlimFingerprint>,
    /// The request's fingerprint (its key id empty when it is the number's).
    #[prost(message, optional, tag = "10")]
    request: Option<SlimFingerprint>,
    /// `Decided.candidate_key_id` (empty when it is the request's).
    #[prost(string, tag = "12")]
    candidate_key_id: String,
}

/// `CommitAccepted`'s and `CommitRefused`'s `number` and `request`.
#[derive(Clone, PartialEq, Message)]
struct CommitFingerprints {
    /// The number's fingerprint.
    #[prost(message, optional, tag = "2")]
    number: Option<SlimFingerprint>,
    /// The request's fingerprint.
    #[prost(message, optional, tag = "3")]
    request: Option<SlimFingerprint>,
}

/// `Fingerprint.key_id` (the MAC is skipped).
#[derive(Clone, PartialEq, Message)]
struct SlimFingerprint {
    /// Which key made it.
    #[prost(string, tag = "1")]
    key_id: String,
}

impl SlimBody {
    /// The non-empty key ids it names.
    fn key_ids(self) -> impl Iterator<Item = String> {
        let (number, request, candidates) =
            match (self.decided, self.commit_accepted, self.commit_refused) {
                (Some(d), _, _) => (d.number, d.request, d.candidate_key_id),
                (_, Some(c), _) | (_, _, Some(c)) => (c.number, c.request, String::new()),
                _ => (None, None, String::new()),
            };
        number
            .into_iter()
            .chain(request)
            .map(|f| f.key_id)
            .chain([candidates])
            .filter(|id| !id.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{event::encoding, tests_support};

    #[test]
    fn the_slim_decoding_finds_the_key_ids_the_full_decoding_finds() {
        for mut event in tests_support::one_of_each() {
            // A request fingerprint under another key than the number's, where there are both.
            if let crate::audit::NewEvent::Decided(d) = &mut event {
                if let Some(r) = d.request_fingerprint.as_mut() {
                    r.key_id = "k-request".into();
                }
                // And candidates under a third.
                d.candidate_fingerprints = vec![Some(crate::audit::Fingerprint {
                    key_id: "k-candidates".into(),
                    mac_hex: "ab".repeat(32),
                })];
            }
            let candidates = match &event {
                crate::audit::NewEvent::Decided(d) => encoding::candidate_key_id(d),
                _ => None,
            };
            let expected: BTreeSet<String> =
                [event.number_fingerprint(), event.request_fingerprint()]
                    .into_iter()
                    .flatten()
                    .map(|f| f.key_id.clone())
                    .chain(candidates.map(str::to_owned))
                    .collect();
            let slim = SlimBody::decode(encoding::body(&event).as_slice()).unwrap();
            let found: BTreeSet<String> = slim.key_ids().collect();
            assert_eq!(found, expected, "{:?}", event.event_type());
        }
    }
}
