//! The SQL both backends run, written once: `$n` placeholders, row values and
//! `ON CONFLICT … RETURNING` work on SQLite and PostgreSQL alike.

use sqlx::{Database, Encode, QueryBuilder, Type};

use crate::audit::{Hash, NewEvent, micros_since_epoch, store::statement::Statement};

/// One event with its place in the chain, ready to insert.
pub(crate) struct PlannedRow<'a> {
    /// The event.
    pub(crate) event: &'a NewEvent,
    /// Its position in the writer's chain.
    pub(crate) seq: i64,
    /// Its own hash.
    pub(crate) hash: Hash,
    /// The `body` column: the encoding of its body fields.
    pub(crate) body: Vec<u8>,
}

/// Rows per multi-row INSERT. An event row binds 14 parameters: 1,000 rows stay well under
/// both SQLite's 32,766 and PostgreSQL's 65,535 parameters per statement.
pub(crate) const ROWS_PER_STATEMENT: usize = 1_000;

/// The columns an event row is read back with, in [`EventRow`](crate::audit::store::rows::EventRow)
/// order: the columns of both formats (the format 1 ones are NULL in format 2 rows).
macro_rules! event_columns {
    () => {
        "id, format, writer_id, seq, event_type, occurred_at_us, insurer_number, \
         verification_id, decision, hash, body, caller, subject_id, subject_kind, request_id, \
         policy_version, comparisons, hold_reasons, number_fp_key_id, number_fp, \
         request_fp_key_id, request_fp, response, prev_hash, reason"
    };
}

/// Reads one decision by verification id.
pub(crate) const SELECT_VERIFICATION: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM audit_events \
     WHERE insurer_number = $1 AND verification_id = $2 AND event_type = 'verification.decided' \
     ORDER BY id LIMIT 1"
);

/// Reads one decision by idempotency key: through the key table, and through the chain's own
/// lookup column (migrations 0007), so that a replay still finds its decision when the key's
/// row is gone. The earliest wins: a later decision under the same key is one the chain should
/// not hold (`audit verify` names it).
pub(crate) const SELECT_BY_REQUEST: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM audit_events \
     WHERE insurer_number = $1 AND event_type = 'verification.decided' \
      AND verification_id = (SELECT verification_id FROM verification_requests \
       WHERE insurer_number = $1 AND request_id = $2) \
     UNION ALL SELECT ",
    event_columns!(),
    " FROM audit_events \
     WHERE insurer_number = $1 AND event_type = 'verification.decided' \
      AND request_id IS NOT NULL AND request_id = $2 \
     ORDER BY id LIMIT 1"
);

/// Reads every event in chain order.
pub(crate) const SELECT_CHAINS: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM audit_events ORDER BY writer_id, seq"
);

/// Reads every event of one verification, oldest first.
pub(crate) const SELECT_VERIFICATION_EVENTS: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM audit_events WHERE insurer_number = $1 AND verification_id = $2 ORDER BY id"
);

/// Reads events in row order after a row id, optionally of one insurer (`$1`, or NULL for
/// all) and from a time on (`$2` whole microseconds): what `audit export` pages through.
pub(crate) const SELECT_EXPORT: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM audit_events \
     WHERE ($1 IS NULL OR insurer_number = $1) AND occurred_at_us >= $2 AND id > $3 \
     ORDER BY id LIMIT $4"
);

/// Open holds of one insurer after a row id, oldest first. A hold is open while the chain
/// holds no resolution of it: the chain, not `hold_resolutions`, so that a deleted row cannot
/// reopen a closed hold (nor a forged one hide an open one). The verification index finds it.
pub(crate) const SELECT_OPEN_HOLDS: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM audit_events e \
     WHERE e.insurer_number = $1 AND e.event_type = 'verification.decided' \
      AND e.decision = 'hold' AND e.id > $2 \
      AND NOT EXISTS (SELECT 1 FROM audit_events r \
       WHERE r.insurer_number = e.insurer_number AND r.verification_id = e.verification_id \
        AND r.event_type = 'hold.resolved') \
     ORDER BY e.id LIMIT $3"
);

/// Every open hold of every insurer, by insurer and row (the managers' gauges): the same rule
/// as [`SELECT_OPEN_HOLDS`], continued after the (insurer, row) of the last page. That order is
/// the holds index's own, so a pass reads the held rows only; in row order alone it read
/// every event of the log (BENCHMARKS.md, "Holds gauges").
pub(crate) const SELECT_ALL_OPEN_HOLDS: &str = concat!(
    "SELECT ",
    event_columns!(),
    " FROM audit_events e \
     WHERE e.event_type = 'verification.decided' AND e.decision = 'hold' \
      AND (e.insurer_number, e.id) > ($1, $2) \
      AND NOT EXISTS (SELECT 1 FROM audit_events r \
       WHERE r.insurer_number = e.insurer_number AND r.verification_id = e.verification_id \
        AND r.event_type = 'hold.resolved') \
     ORDER BY e.insurer_number, e.id LIMIT $3"
);

/// Closes a hold; one already closed — by a row, or by a resolution the chain holds — inserts
/// nothing. The chain is asked through the verification index, whose columns the hash covers.
pub(crate) const INSERT_HOLD_RESOLUTION: &str = "INSERT INTO hold_resolutions \
     (insurer_number, verification_id, resolved_at_us) SELECT $1, $2, $3 \
     WHERE NOT EXISTS (SELECT 1 FROM audit_events WHERE insurer_number = $1 \
      AND verification_id = $2 AND event_type = 'hold.resolved') \
     ON CONFLICT DO NOTHING";

/// Claims a registration; a conflict on either UNIQUE constraint, or a commit of the number or
/// of the subject that the chain holds (through the lookup columns of migrations 0007), inserts
/// nothing.
pub(crate) const INSERT_REGISTRATION: &str = "INSERT INTO registrations \
     (insurer_number, number_fp_key_id, number_fp, subject_id, verification_id, committed_at_us) \
     SELECT $1, $2, $3, $4, $5, $6 \
     WHERE NOT EXISTS (SELECT 1 FROM audit_events WHERE event_type = 'commit.accepted' \
       AND insurer_number = $1 AND number_fp IS NOT NULL AND number_fp = $3) \
      AND NOT EXISTS (SELECT 1 FROM audit_events WHERE event_type = 'commit.accepted' \
       AND insurer_number = $1 AND subject_id IS NOT NULL AND subject_id = $4) \
     ON CONFLICT DO NOTHING";

/// The columns of a registration, in `RegistrationRow` order.
macro_rules! registration_columns {
    () => {
        "insurer_number, number_fp_key_id, number_fp, subject_id, verification_id, committed_at_us"
    };
}

/// The end of one writer's chain: its last `(seq, hash)`.
pub(crate) const SELECT_CHAIN_TAIL: &str =
    "SELECT seq, hash FROM audit_events WHERE writer_id = $1 ORDER BY seq DESC LIMIT 1";

/// The newest event of every chain: `(writer_id, seq, hash, occurred_at_us)`, in writer id
/// order, in one statement (one snapshot of the store), for a checkpoint.
///
/// The recursive part walks the `(writer_id, seq)` index from one writer id to the next
/// (a skip scan), so the cost grows with the number of chains, not of events; a plain
/// `GROUP BY writer_id` reads every index entry on PostgreSQL, which cannot skip.
pub(crate) const SELECT_CHAIN_HEADS: &str = "WITH RECURSIVE writers(writer_id) AS ( \
       SELECT MIN(writer_id) FROM audit_events \
       UNION ALL \
       SELECT (SELECT MIN(a.writer_id) FROM audit_events a WHERE a.writer_id > w.writer_id) \
       FROM writers w WHERE w.writer_id IS NOT NULL) \
     SELECT e.writer_id, e.seq, e.hash, e.occurred_at_us \
     FROM writers w JOIN audit_events e ON e.writer_id = w.writer_id \
      AND e.seq = (SELECT MAX(m.seq) FROM audit_events m WHERE m.writer_id = w.writer_id) \
     ORDER BY e.writer_id";

/// Whether the audit table answers: the health check.
pub(crate) const PING: &str = "SELECT 1 FROM audit_events LIMIT 1";

/// The multi-row INSERT of idempotency keys for `claims`, returning the keys that were new.
///
/// The request's fingerprint is not stored here: it is in the decision's own event, where a
/// replay reads it (the columns stay for keys written by the first release).
pub(crate) fn claim_requests_query<'a, DB>(claims: &[&'a NewEvent]) -> QueryBuilder<'a, DB>
where
    DB: Database,
    &'a str: Encode<'a, DB> + Type<DB>,
{
    let mut qb = QueryBuilder::new(CLAIM_REQUESTS_HEAD);
    qb.push_values(claims, |mut b, e| {
        b.push_bind(e.insurer_number())
            .push_bind(e.request_id())
            .push_bind(e.verification_id());
    });
    qb.push(CLAIM_REQUESTS_TAIL);
    qb
}

/// [`claim_requests_query`] before its rows: 3 values per row. A key the chain already holds a
/// decision for (through the lookup column of migrations 0007) is not new even when its row is
/// gone.
pub(crate) const CLAIM_REQUESTS_HEAD: &str = "INSERT INTO verification_requests (insurer_number, request_id, verification_id) \
     SELECT k.column1, k.column2, k.column3 FROM (";
/// [`claim_requests_query`] after its rows.
pub(crate) const CLAIM_REQUESTS_TAIL: &str = ") AS k WHERE NOT EXISTS (SELECT 1 FROM audit_events e \
      WHERE e.event_type = 'verification.decided' AND e.insurer_number = k.column1 \
       AND e.request_id IS NOT NULL AND e.request_id = k.column2) \
     ON CONFLICT (insurer_number, request_id) DO NOTHING RETURNING insurer_number, request_id";

/// `(insurer, number fingerprint MAC, subject id)`: what a registration lookup asks about.
pub(crate) type RegistrationProbe<'a> = (&'a str, &'a str, &'a str);

/// The registrations holding any probed (insurer, number) or (insurer, subject): one SELECT
/// per unique constraint, each an index lookup per probe, and the same two of the commits the
/// chain holds (their lookup columns, migrations 0007), so that a registration whose row is gone
/// still stands. A commit and its row read the same and count once (UNION).
pub(crate) fn registrations<'a, DB>(probes: &[RegistrationProbe<'a>]) -> Statement<'a, DB>
where
    DB: Database,
    &'a str: Encode<'a, DB> + Type<DB>,
{
    let mut statement = Statement::new(REGISTRATIONS_BY_NUMBER);
    statement.values(probes, |(insurer, number_fp, _)| [insurer, number_fp]);
    statement.push(REGISTRATIONS_BY_SUBJECT);
    statement.values(probes, |(insurer, _, subject_id)| [insurer, subject_id]);
    statement.push(COMMITS_BY_NUMBER);
    statement.values(probes, |(insurer, number_fp, _)| [insurer, number_fp]);
    statement.push(COMMITS_BY_SUBJECT);
    statement.values(probes, |(insurer, _, subject_id)| [insurer, subject_id]);
    statement.push(")");
    statement
}

/// [`registrations`] before its first list of rows: 2 values per row.
pub(crate) const REGISTRATIONS_BY_NUMBER: &str = concat!(
    "SELECT ",
    registration_columns!(),
    " FROM registrations WHERE (insurer_number, number_fp) IN ("
);
/// [`registrations`] after its first list of rows (2 values per row).
pub(crate) const REGISTRATIONS_BY_SUBJECT: &str = concat!(
    ") UNION SELECT ",
    registration_columns!(),
    " FROM registrations WHERE (insurer_number, subject_id) IN ("
);
/// The columns of a registration as a commit event's lookup columns give them.
macro_rules! commit_registration_columns {
    () => {
        "insurer_number, number_fp_key_id, number_fp, subject_id, verification_id, occurred_at_us"
    };
}
/// [`registrations`] after its second list of rows (2 values per row).
pub(crate) const COMMITS_BY_NUMBER: &str = concat!(
    ") UNION SELECT ",
    commit_registration_columns!(),
    " FROM audit_events WHERE event_type = 'commit.accepted' AND number_fp IS NOT NULL \
     AND (insurer_number, number_fp) IN ("
);
/// [`registrations`] after its third list of rows (2 values per row), which it ends
/// with `)`.
pub(crate) const COMMITS_BY_SUBJECT: &str = concat!(
    ") UNION SELECT ",
    commit_registration_columns!(),
    " FROM audit_events WHERE event_type = 'commit.accepted' AND subject_id IS NOT NULL \
     AND (insurer_number, subject_id) IN ("
);

/// The lookup of stored verification ids for (insurer, request id) keys: in the key table
/// (`from_chain` 0), and in the chain's lookup column (`from_chain` 1) for a key whose row is
/// gone.
///
/// `(a, b) IN (VALUES …)` because SQLite accepts a row value on the left of IN only with a
/// subquery on the right; PostgreSQL accepts it too.
pub(crate) fn existing_ids_query<'a, DB>(keys: &[(&'a str, &'a str)]) -> QueryBuilder<'a, DB>
where
    DB: Database,
    &'a str: Encode<'a, DB> + Type<DB>,
{
    let mut qb = QueryBuilder::new(EXISTING_IDS_HEAD);
    qb.push_values(keys, |mut b, (insurer, request)| {
        b.push_bind(*insurer).push_bind(*request);
    });
    qb.push(EXISTING_IDS_IN_CHAIN);
    qb.push_values(keys, |mut b, (insurer, request)| {
        b.push_bind(*insurer).push_bind(*request);
    });
    qb.push(")");
    qb
}

/// [`existing_ids_query`] before its first rows (2 values per row).
pub(crate) const EXISTING_IDS_HEAD: &str = "SELECT insurer_number, request_id, verification_id, \
     0 AS from_chain FROM verification_requests WHERE (insurer_number, request_id) IN (";
/// [`existing_ids_query`] before its second rows (2 values per row), which it ends with `)`.
pub(crate) const EXISTING_IDS_IN_CHAIN: &str = ") UNION ALL SELECT insurer_number, request_id, \
     verification_id, 1 FROM audit_events WHERE event_type = 'verification.decided' \
     AND request_id IS NOT NULL AND (insurer_number, request_id) IN (";

/// The multi-row INSERT of planned event rows (format 2), returning `(seq, id)` per row
/// (matched by seq: neither database promises RETURNING in VALUES order).
pub(crate) fn insert_events_query<'a, DB>(
    writer_id: &'a str,
    rows: &'a [PlannedRow<'a>],
) -> QueryBuilder<'a, DB>
where
    DB: Database,
    &'a str: Encode<'a, DB> + Type<DB>,
    Option<&'a str>: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
    i32: Encode<'a, DB> + Type<DB>,
    &'a [u8]: Encode<'a, DB> + Type<DB>,
{
    let mut qb = QueryBuilder::new(INSERT_EVENTS_HEAD);
    qb.push_values(rows, |mut b, row| {
        let e = row.event;
        b.push_bind(writer_id)
            .push_bind(row.seq)
            .push_bind(crate::audit::event::encoding::FORMAT)
            .push_bind(e.event_type().as_str())
            .push_bind(micros_since_epoch(e.occurred_at()))
            .push_bind(e.insurer_number())
            .push_bind(e.verification_id())
            .push_bind(e.decision().map(|d| d.id()))
            .push_bind(row.hash.as_slice())
            .push_bind(row.body.as_slice());
        for column in lookup_columns(e) {
            b.push_bind(column);
        }
    });
    qb.push(INSERT_EVENTS_TAIL);
    qb
}

/// [`insert_events_query`] before its rows: [`EVENT_VALUES`] values per row.
pub(crate) const INSERT_EVENTS_HEAD: &str = "INSERT INTO audit_events (writer_id, seq, format, \
     event_type, occurred_at_us, insurer_number, verification_id, decision, hash, body, \
     request_id, subject_id, number_fp_key_id, number_fp) ";
/// Values per row of [`INSERT_EVENTS_HEAD`].
pub(crate) const EVENT_VALUES: usize = 14;

/// The lookup columns of `e` (migrations 0007), in [`INSERT_EVENTS_HEAD`] order: `request_id`
/// of a decision; `subject_id`, `number_fp_key_id`, `number_fp` of an accepted commit; NULL
/// for everything else, which no chain lookup asks about.
pub(crate) fn lookup_columns(e: &NewEvent) -> [Option<&str>; 4] {
    match e {
        NewEvent::Decided(d) => [Some(d.request_id.as_str()), None, None, None],
        NewEvent::CommitAccepted(c) => [
            None,
            Some(c.subject_id.as_str()),
            Some(c.number_fingerprint.key_id.as_str()),
            Some(c.number_fingerprint.mac_hex.as_str()),
        ],
        _ => [None; 4],
    }
}
/// [`insert_events_query`] after its rows.
pub(crate) const INSERT_EVENTS_TAIL: &str = " RETURNING seq, id";

/// The fingerprint keys a store has adopted, oldest first (`AdoptedKeyRow` order).
pub(crate) const SELECT_ADOPTED_KEYS: &str =
    "SELECT seq, key_id, key_check, adopted_at_us FROM fingerprint_keys ORDER BY seq";

/// Adopts one fingerprint key: the newest row is the current key.
pub(crate) const INSERT_ADOPTED_KEY: &str =
    "INSERT INTO fingerprint_keys (key_id, key_check, adopted_at_us) VALUES ($1, $2, $3)";

/// PostgreSQL: held by an adoption until it commits, so that adoptions run one at a time and
/// registrations in flight finish first (migrations/postgres/0006). SQLite needs none: its
/// adoption starts with `BEGIN IMMEDIATE`, which already excludes every other writer.
pub(crate) const LOCK_ADOPTED_KEYS_PG: &str =
    "SELECT pg_advisory_xact_lock(fingerprint_keys_lock_id())";

/// What the registrations trigger of both backends says when a process commits under a key
/// that is no longer the store's current one (migrations/*/0006); it quotes no data, so the
/// error can be recognised by it.
pub(crate) const KEY_NOT_CURRENT: &str = "the fingerprint key is not the current key of this store";
