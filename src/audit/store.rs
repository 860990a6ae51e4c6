//! The one storage trait, and the append algorithm every backend shares.
//!
//! A backend supplies SQL; the rules live here, once: which events are duplicates, which
//! chain positions the others get, and that the caller's chain advances only after the
//! commit. A backend implements `BatchTransaction` for its transaction type and calls
//! `append_in`.

use std::collections::{HashMap, HashSet, hash_map::Entry};

use async_trait::async_trait;
use sqlx::{Database, Encode, QueryBuilder, Type};

use crate::audit::{
    AppendOutcome, AuditError, ChainState, EventType, Fingerprint, NewEvent, Registration,
    StoredEvent, comparisons, micros_since_epoch, time_from_micros,
};

/// Where audit events are kept. Object-safe: the service holds an `Arc<dyn AuditBackend>`.
///
/// Every implementation runs the suite in `audit::conformance`, so they behave alike.
#[async_trait]
pub trait AuditBackend: Send + Sync {
    /// Stores `events` in one transaction, at the end of `chain`, and reports what became of
    /// each (in order).
    ///
    /// A [`EventType::VerificationDecided`] event whose (insurer, request id) is already
    /// stored — or appears earlier in the same batch — is not written: its outcome is
    /// [`AppendOutcome::DuplicateRequest`] with the stored verification id. Everything else is
    /// appended. On success `chain` has advanced past the appended events; on failure nothing
    /// was committed (unless the commit's acknowledgement was lost), `chain` is marked
    /// uncertain so the next call re-reads its end, and the error is
    /// [`AuditError::Unavailable`]. An event that fails [`validate`] refuses the whole batch
    /// with [`AuditError::Invalid`] before anything is written.
    async fn append_batch(
        &self,
        chain: &mut ChainState,
        events: &[NewEvent],
    ) -> Result<Vec<AppendOutcome>, AuditError> {
        events.iter().try_for_each(validate)?;
        self.append_valid_batch(chain, events).await
    }

    /// [`append_batch`](Self::append_batch) for events that already passed [`validate`]: the
    /// group-commit writer checks each event when it is queued (so that a bad one fails alone)
    /// and need not check the batch again. Each backend implements only this.
    async fn append_valid_batch(
        &self,
        chain: &mut ChainState,
        events: &[NewEvent],
    ) -> Result<Vec<AppendOutcome>, AuditError>;

    /// The decision with this verification id, if `insurer_number` made it. Scoped by insurer
    /// so that one insurer can never read another's decisions by guessing ids.
    async fn find_verification(
        &self,
        insurer_number: &str,
        verification_id: &str,
    ) -> Result<Option<StoredEvent>, AuditError>;

    /// The decision stored for this idempotency key, if any: how a replay finds the original
    /// response.
    async fn find_by_request(
        &self,
        insurer_number: &str,
        request_id: &str,
    ) -> Result<Option<StoredEvent>, AuditError>;

    /// Every event about this verification of `insurer_number` (its decision, commits,
    /// refusals, resolutions), oldest first: how its current state is worked out.
    async fn find_events(
        &self,
        insurer_number: &str,
        verification_id: &str,
    ) -> Result<Vec<StoredEvent>, AuditError>;

    /// The registrations of `insurer_number` that hold this number fingerprint or this
    /// subject (at most two), outside any append. (Verify's own check runs inside the append
    /// transaction: see `refuse_register_decisions_against_registrations`.)
    async fn find_registrations(
        &self,
        insurer_number: &str,
        number_fingerprint: &Fingerprint,
        subject_id: &str,
    ) -> Result<Vec<Registration>, AuditError>;

    /// Held decisions of `insurer_number` that no resolution has closed, oldest first (by
    /// row id), starting after row `after_id`, at most `limit`.
    async fn list_open_holds(
        &self,
        insurer_number: &str,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, AuditError>;

    /// Succeeds when the database answers: the health check's NOT_SERVING signal.
    async fn ping(&self) -> Result<(), AuditError>;

    /// Every event, ordered by `(writer_id, seq)`, for verification.
    ///
    /// Reads the whole store into memory, which is fine for the sizes seen so far; streaming
    /// the rows chain by chain is the next step for very large stores.
    async fn read_chains(&self) -> Result<Vec<StoredEvent>, AuditError>;

    /// Closes the connections (SQLite checkpoints its write-ahead log), for a clean shutdown.
    async fn close(&self);

    /// Runs raw SQL behind the store's back: how tests play the tamperer.
    #[cfg(test)]
    async fn execute_raw(&self, sql: &str) -> Result<u64, String>;

    /// Removes the append-only triggers, as a tamperer with schema rights could.
    #[cfg(test)]
    async fn drop_append_only_triggers(&self);

    /// The first column of the first row of `sql`, as text: how tests read settings.
    #[cfg(test)]
    async fn fetch_text(&self, sql: &str) -> Result<String, String>;
}

/// Rows per multi-row INSERT. Each event row binds 22 parameters: 1,000 rows stay well under
/// both SQLite's 32,766 and PostgreSQL's 65,535 parameters per statement.
pub(crate) const ROWS_PER_STATEMENT: usize = 1_000;

/// The stored columns of an event, in insert order.
pub(crate) const EVENT_COLUMNS: &str = "writer_id, seq, event_type, occurred_at_us, caller, \
     insurer_number, subject_id, subject_kind, request_id, verification_id, decision, policy_version, \
     comparisons, hold_reasons, number_fp_key_id, number_fp, request_fp_key_id, request_fp, \
     response, prev_hash, hash, reason";

/// Reads one decision by verification id. `$n` placeholders work on both databases.
pub(crate) const SELECT_VERIFICATION: &str = "SELECT id, writer_id, seq, event_type, \
     occurred_at_us, caller, insurer_number, subject_id, subject_kind, request_id, verification_id, decision, \
     policy_version, comparisons, hold_reasons, number_fp_key_id, number_fp, \
     request_fp_key_id, request_fp, response, prev_hash, hash, reason \
     FROM audit_events \
     WHERE insurer_number = $1 AND verification_id = $2 AND event_type = 'verification.decided' \
     ORDER BY id LIMIT 1";

/// Reads one decision by idempotency key, through the key table.
pub(crate) const SELECT_BY_REQUEST: &str = "SELECT e.id, e.writer_id, e.seq, e.event_type, \
     e.occurred_at_us, e.caller, e.insurer_number, e.subject_id, e.subject_kind, e.request_id, \
     e.verification_id, e.decision, e.policy_version, e.comparisons, e.hold_reasons, \
     e.number_fp_key_id, e.number_fp, e.request_fp_key_id, e.request_fp, e.response, \
     e.prev_hash, e.hash, e.reason \
     FROM verification_requests r \
     JOIN audit_events e ON e.insurer_number = r.insurer_number \
      AND e.verification_id = r.verification_id AND e.event_type = 'verification.decided' \
     WHERE r.insurer_number = $1 AND r.request_id = $2 \
     ORDER BY e.id LIMIT 1";

/// Reads every event in chain order.
pub(crate) const SELECT_CHAINS: &str = "SELECT id, writer_id, seq, event_type, \
     occurred_at_us, caller, insurer_number, subject_id, subject_kind, request_id, verification_id, decision, \
     policy_version, comparisons, hold_reasons, number_fp_key_id, number_fp, \
     request_fp_key_id, request_fp, response, prev_hash, hash, reason \
     FROM audit_events ORDER BY writer_id, seq";

/// Reads every event of one verification, oldest first.
pub(crate) const SELECT_VERIFICATION_EVENTS: &str = "SELECT id, writer_id, seq, event_type, \
     occurred_at_us, caller, insurer_number, subject_id, subject_kind, request_id, verification_id, decision, \
     policy_version, comparisons, hold_reasons, number_fp_key_id, number_fp, \
     request_fp_key_id, request_fp, response, prev_hash, hash, reason \
     FROM audit_events WHERE insurer_number = $1 AND verification_id = $2 ORDER BY id";

/// Open holds of one insurer after a row id, oldest first.
pub(crate) const SELECT_OPEN_HOLDS: &str = "SELECT id, writer_id, seq, event_type, \
     occurred_at_us, caller, insurer_number, subject_id, subject_kind, request_id, verification_id, decision, \
     policy_version, comparisons, hold_reasons, number_fp_key_id, number_fp, \
     request_fp_key_id, request_fp, response, prev_hash, hash, reason \
     FROM audit_events e \
     WHERE e.insurer_number = $1 AND e.event_type = 'verification.decided' \
      AND e.decision = 'hold' AND e.id > $2 \
      AND NOT EXISTS (SELECT 1 FROM hold_resolutions h \
       WHERE h.insurer_number = e.insurer_number AND h.verification_id = e.verification_id) \
     ORDER BY e.id LIMIT $3";

/// Closes a hold; an already closed one inserts nothing.
pub(crate) const INSERT_HOLD_RESOLUTION: &str = "INSERT INTO hold_resolutions \
     (insurer_number, verification_id, resolved_at_us) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";

/// Claims a registration; a conflict on either UNIQUE constraint inserts nothing.
pub(crate) const INSERT_REGISTRATION: &str = "INSERT INTO registrations \
     (insurer_number, number_fp_key_id, number_fp, subject_id, verification_id, committed_at_us) \
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING";

/// The columns of a registration, in [`RegistrationRow`] order.
const REGISTRATION_COLUMNS: &str =
    "insurer_number, number_fp_key_id, number_fp, subject_id, verification_id, committed_at_us";

/// The end of one writer's chain: its last `(seq, hash)`.
pub(crate) const SELECT_CHAIN_TAIL: &str =
    "SELECT seq, hash FROM audit_events WHERE writer_id = $1 ORDER BY seq DESC LIMIT 1";

/// The database operations of one append transaction. Each backend implements them with its
/// own SQL; [`append_in`] decides what to call with what.
///
/// The two implementations are near copies on purpose. The rejected alternative, one impl
/// generic over `sqlx::Database`, cannot execute a `QueryBuilder`: `IntoArguments<'q, DB>`
/// then pins the builder's borrow to its argument lifetime, which only concrete (covariant)
/// argument types can shorten.
pub(crate) trait BatchTransaction: Send {
    /// The last `(seq, hash)` stored for `writer_id`, if any.
    async fn chain_tail(&mut self, writer_id: &str) -> Result<Option<(i64, String)>, sqlx::Error>;

    /// Inserts the idempotency keys of `claims` unless already present; returns the keys that
    /// were new.
    async fn claim_requests(
        &mut self,
        claims: &[&NewEvent],
    ) -> Result<HashSet<(String, String)>, sqlx::Error>;

    /// The verification ids already stored for these (insurer, request id) keys.
    async fn existing_verification_ids(
        &mut self,
        keys: &[(&str, &str)],
    ) -> Result<HashMap<(String, String), String>, sqlx::Error>;

    /// Inserts the registration a [`EventType::CommitAccepted`] event claims; `false` when
    /// its number or subject is already registered for the insurer (nothing inserted).
    async fn claim_registration(&mut self, e: &NewEvent) -> Result<bool, sqlx::Error>;

    /// Closes the hold a [`EventType::HoldResolved`] event resolves; `false` when it was
    /// closed already (nothing inserted).
    async fn claim_resolution(&mut self, e: &NewEvent) -> Result<bool, sqlx::Error>;

    /// The registrations holding any of these `(insurer, number fingerprint MAC, subject id)`
    /// numbers or subjects (per insurer), inside the transaction, in one statement.
    async fn registrations(
        &mut self,
        probes: &[RegistrationProbe<'_>],
    ) -> Result<Vec<Registration>, sqlx::Error>;

    /// Inserts the planned rows under `writer_id`; returns `(seq, id)` for each.
    async fn insert_events(
        &mut self,
        writer_id: &str,
        rows: &[PlannedRow<'_>],
    ) -> Result<Vec<(i64, i64)>, sqlx::Error>;

    /// Commits.
    async fn commit(self) -> Result<(), sqlx::Error>;
}

/// One event with its place in the chain, ready to insert.
pub(crate) struct PlannedRow<'a> {
    /// The event.
    pub(crate) event: &'a NewEvent,
    /// Its position in the writer's chain.
    pub(crate) seq: i64,
    /// The previous event's hash.
    pub(crate) prev_hash: String,
    /// Its own hash.
    pub(crate) hash: String,
}

/// The append algorithm, on an open transaction: idempotency keys first (so duplicates take
/// no chain position), then chain positions on a copy of `chain`, then one multi-row INSERT
/// per chunk, then the commit — and only then does `chain` advance.
///
/// Errors leave `chain` untouched; the caller marks it uncertain.
pub(crate) async fn append_in<T: BatchTransaction>(
    mut tx: T,
    chain: &mut ChainState,
    events: &[NewEvent],
) -> Result<Vec<AppendOutcome>, sqlx::Error> {
    let mut working = if chain.is_uncertain() {
        chain.resynced(tx.chain_tail(chain.writer_id()).await?)
    } else {
        chain.clone()
    };
    let mut outcomes: Vec<Option<AppendOutcome>> = vec![None; events.len()];
    refuse_register_decisions_against_registrations(&mut tx, events, &mut outcomes).await?;
    find_duplicates(&mut tx, events, &mut outcomes).await?;
    claim_registrations(&mut tx, events, &mut outcomes).await?;

    let mut rows = Vec::new();
    for (e, outcome) in events.iter().zip(&outcomes) {
        if outcome.is_none() {
            let (seq, prev_hash, hash) = working.push(e);
            rows.push(PlannedRow {
                event: e,
                seq,
                prev_hash,
                hash,
            });
        }
    }
    if !rows.is_empty() {
        let ids: HashMap<i64, i64> = tx
            .insert_events(working.writer_id(), &rows)
            .await?
            .into_iter()
            .collect();
        let mut rows = rows.iter();
        for outcome in outcomes.iter_mut().filter(|o| o.is_none()) {
            let seq = rows.next().map(|row| row.seq);
            let id = seq
                .and_then(|seq| ids.get(&seq))
                .ok_or(sqlx::Error::RowNotFound)?;
            *outcome = Some(AppendOutcome::Appended { id: *id });
        }
    }
    tx.commit().await?;
    *chain = working;
    Ok(outcomes
        .into_iter()
        .map(|o| o.expect("every event has an outcome"))
        .collect())
}

/// `(insurer, number fingerprint MAC, subject id)`: what a registration lookup asks about.
pub(crate) type RegistrationProbe<'a> = (&'a str, &'a str, &'a str);

/// Refuses every register decision in `events` whose number is registered to another subject
/// of its insurer, or whose subject is registered with another number: its outcome becomes
/// [`AppendOutcome::RegisteredElsewhere`] and it is not written (nor does it claim its
/// idempotency key), so the caller can decide again — a hold — and append that instead.
///
/// Checked here, in the append transaction and in one statement per batch, rather than by a
/// read before the decision: no extra round trip per call, and no window between the check
/// and the write within one store. A commit racing on another replica is still stopped by the
/// registration claim at commit time.
async fn refuse_register_decisions_against_registrations<T: BatchTransaction>(
    tx: &mut T,
    events: &[NewEvent],
    outcomes: &mut [Option<AppendOutcome>],
) -> Result<(), sqlx::Error> {
    let probes: Vec<RegistrationProbe<'_>> = events
        .iter()
        .filter_map(|e| {
            let fp = registered_number(e)?;
            Some((
                e.insurer_number.as_str(),
                fp.mac_hex.as_str(),
                e.subject_id.as_str(),
            ))
        })
        .collect();
    if probes.is_empty() {
        return Ok(());
    }
    let mut found = Vec::new();
    for chunk in probes.chunks(ROWS_PER_STATEMENT) {
        found.extend(tx.registrations(chunk).await?);
    }
    if found.is_empty() {
        return Ok(());
    }
    for (e, outcome) in events.iter().zip(outcomes.iter_mut()) {
        let Some(fp) = registered_number(e) else {
            continue;
        };
        let conflicting: Vec<Registration> = found
            .iter()
            .filter(|r| r.insurer_number == e.insurer_number)
            .filter(|r| {
                let same_number = r.number_fingerprint.mac_hex == fp.mac_hex;
                let same_subject = r.subject_id == e.subject_id;
                same_number != same_subject
            })
            .cloned()
            .collect();
        if !conflicting.is_empty() {
            *outcome = Some(AppendOutcome::RegisteredElsewhere {
                registrations: conflicting,
            });
        }
    }
    Ok(())
}

/// The number fingerprint of a register decision; `None` for every other event.
fn registered_number(e: &NewEvent) -> Option<&Fingerprint> {
    let is_register =
        e.event_type == EventType::VerificationDecided && e.decision.as_deref() == Some(REGISTER);
    e.number_fingerprint.as_ref().filter(|_| is_register)
}

/// The stored spelling of a register decision.
const REGISTER: &str = "register";

/// Claims the idempotency key of every decision in `events` that has no outcome yet, and sets
/// the duplicate outcome of those that must not be written.
///
/// The first decision per (insurer, request id) in the batch claims the key; a later one in
/// the same batch is a duplicate of whatever the first turned out to be — the new decision, or
/// the stored one it duplicates in turn.
async fn find_duplicates<T: BatchTransaction>(
    tx: &mut T,
    events: &[NewEvent],
    outcomes: &mut [Option<AppendOutcome>],
) -> Result<(), sqlx::Error> {
    let mut first_of_key: HashMap<(&str, &str), usize> = HashMap::new();
    let mut repeats: Vec<(usize, usize)> = Vec::new();
    let mut claims: Vec<&NewEvent> = Vec::new();
    let mut claimed: Vec<usize> = Vec::new();
    for (i, e) in events.iter().enumerate() {
        if e.event_type != EventType::VerificationDecided || outcomes[i].is_some() {
            continue;
        }
        match first_of_key.entry((&e.insurer_number, &e.request_id)) {
            Entry::Occupied(first) => repeats.push((i, *first.get())),
            Entry::Vacant(slot) => {
                slot.insert(i);
                claims.push(e);
                claimed.push(i);
            }
        }
    }
    if claims.is_empty() {
        return Ok(());
    }

    let new_keys = tx.claim_requests(&claims).await?;
    let is_new =
        |e: &NewEvent| new_keys.contains(&(e.insurer_number.clone(), e.request_id.clone()));
    let taken: Vec<usize> = claimed
        .into_iter()
        .filter(|&i| !is_new(&events[i]))
        .collect();
    if !taken.is_empty() {
        let keys: Vec<(&str, &str)> = taken
            .iter()
            .map(|&i| {
                (
                    events[i].insurer_number.as_str(),
                    events[i].request_id.as_str(),
                )
            })
            .collect();
        let existing = tx.existing_verification_ids(&keys).await?;
        for i in taken {
            let key = (
                events[i].insurer_number.clone(),
                events[i].request_id.clone(),
            );
            // The key conflicted, so its row exists: absent means it vanished mid-transaction.
            let stored = existing.get(&key).ok_or(sqlx::Error::RowNotFound)?;
            outcomes[i] = Some(duplicate_of(stored));
        }
    }
    for (i, first) in repeats {
        outcomes[i] = Some(match &outcomes[first] {
            Some(duplicate) => duplicate.clone(),
            None => duplicate_of(&events[first].verification_id),
        });
    }
    Ok(())
}

/// Claims the registration of every commit, and closes the hold of every resolution, in
/// `events` that is still to be written, in batch order, so that of two commits colliding in one batch the first wins just as it would across
/// batches. A commit whose claim conflicts is not written: its outcome names the registration
/// it collided with.
async fn claim_registrations<T: BatchTransaction>(
    tx: &mut T,
    events: &[NewEvent],
    outcomes: &mut [Option<AppendOutcome>],
) -> Result<(), sqlx::Error> {
    for (e, outcome) in events.iter().zip(outcomes.iter_mut()) {
        if outcome.is_some() {
            continue;
        }
        if e.event_type == EventType::HoldResolved {
            if !tx.claim_resolution(e).await? {
                *outcome = Some(AppendOutcome::AlreadyResolved);
            }
            continue;
        }
        if e.event_type != EventType::CommitAccepted {
            continue;
        }
        if tx.claim_registration(e).await? {
            continue;
        }
        let fp = e
            .number_fingerprint
            .as_ref()
            .map_or("", |f| f.mac_hex.as_str());
        let existing = tx
            .registrations(&[(&e.insurer_number, fp, &e.subject_id)])
            .await?
            .into_iter()
            .next()
            // The claim conflicted, so a row exists: absent means it vanished mid-transaction.
            .ok_or(sqlx::Error::RowNotFound)?;
        *outcome = Some(AppendOutcome::RegistrationTaken { existing });
    }
    Ok(())
}

fn duplicate_of(verification_id: &str) -> AppendOutcome {
    AppendOutcome::DuplicateRequest {
        existing_verification_id: verification_id.to_string(),
    }
}

/// The multi-row INSERT of idempotency keys for `claims`, returning the keys that were new.
pub(crate) fn claim_requests_query<'a, DB>(claims: &[&'a NewEvent]) -> QueryBuilder<'a, DB>
where
    DB: Database,
    &'a str: Encode<'a, DB> + Type<DB>,
    Option<&'a str>: Encode<'a, DB> + Type<DB>,
{
    let mut qb = QueryBuilder::new(
        "INSERT INTO verification_requests \
         (insurer_number, request_id, verification_id, request_fp_key_id, request_fp) ",
    );
    qb.push_values(claims, |mut b, e| {
        let fp = e.request_fingerprint.as_ref();
        b.push_bind(e.insurer_number.as_str())
            .push_bind(e.request_id.as_str())
            .push_bind(e.verification_id.as_str())
            .push_bind(fp.map(|f| f.key_id.as_str()))
            .push_bind(fp.map(|f| f.mac_hex.as_str()));
    });
    qb.push(
        " ON CONFLICT (insurer_number, request_id) DO NOTHING RETURNING insurer_number, request_id",
    );
    qb
}

/// The registrations holding any probed (insurer, number) or (insurer, subject): one SELECT
/// per unique constraint, each an index lookup per probe.
pub(crate) fn registrations_query<'a, DB>(probes: &[RegistrationProbe<'a>]) -> QueryBuilder<'a, DB>
where
    DB: Database,
    &'a str: Encode<'a, DB> + Type<DB>,
{
    let mut qb = QueryBuilder::new(format!(
        "SELECT {REGISTRATION_COLUMNS} FROM registrations WHERE (insurer_number, number_fp) IN ("
    ));
    qb.push_values(probes, |mut b, (insurer, number_fp, _)| {
        b.push_bind(*insurer).push_bind(*number_fp);
    });
    qb.push(format!(
        ") UNION SELECT {REGISTRATION_COLUMNS} FROM registrations \
         WHERE (insurer_number, subject_id) IN ("
    ));
    qb.push_values(probes, |mut b, (insurer, _, subject_id)| {
        b.push_bind(*insurer).push_bind(*subject_id);
    });
    qb.push(")");
    qb
}

/// The lookup of stored verification ids for (insurer, request id) keys.
///
/// `(a, b) IN (VALUES …)` because SQLite accepts a row value on the left of IN only with a
/// subquery on the right; PostgreSQL accepts it too.
pub(crate) fn existing_ids_query<'a, DB>(keys: &[(&'a str, &'a str)]) -> QueryBuilder<'a, DB>
where
    DB: Database,
    &'a str: Encode<'a, DB> + Type<DB>,
{
    let mut qb = QueryBuilder::new(
        "SELECT insurer_number, request_id, verification_id FROM verification_requests \
         WHERE (insurer_number, request_id) IN (",
    );
    qb.push_values(keys, |mut b, (insurer, request)| {
        b.push_bind(*insurer).push_bind(*request);
    });
    qb.push(")");
    qb
}

/// The multi-row INSERT of planned event rows, returning `(seq, id)` per row (matched by
/// seq: neither database promises RETURNING in VALUES order).
pub(crate) fn insert_events_query<'a, DB>(
    writer_id: &'a str,
    rows: &'a [PlannedRow<'a>],
    json: &'a [(String, String)],
) -> QueryBuilder<'a, DB>
where
    DB: Database,
    &'a str: Encode<'a, DB> + Type<DB>,
    Option<&'a str>: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
    &'a [u8]: Encode<'a, DB> + Type<DB>,
{
    let mut qb = QueryBuilder::new(format!("INSERT INTO audit_events ({EVENT_COLUMNS}) "));
    qb.push_values(
        rows.iter().zip(json),
        |mut b, (row, (comparisons, hold_reasons))| {
            let e = row.event;
            let number_fp = e.number_fingerprint.as_ref();
            let request_fp = e.request_fingerprint.as_ref();
            b.push_bind(writer_id)
                .push_bind(row.seq)
                .push_bind(e.event_type.as_str())
                .push_bind(micros_since_epoch(e.occurred_at))
                .push_bind(e.caller.as_str())
                .push_bind(e.insurer_number.as_str())
                .push_bind(e.subject_id.as_str())
                .push_bind(e.subject_kind.as_str())
                .push_bind(e.request_id.as_str())
                .push_bind(e.verification_id.as_str())
                .push_bind(e.decision.as_deref())
                .push_bind(e.policy_version.as_str())
                .push_bind(comparisons.as_str())
                .push_bind(hold_reasons.as_str())
                .push_bind(number_fp.map(|f| f.key_id.as_str()))
                .push_bind(number_fp.map(|f| f.mac_hex.as_str()))
                .push_bind(request_fp.map(|f| f.key_id.as_str()))
                .push_bind(request_fp.map(|f| f.mac_hex.as_str()))
                .push_bind(e.response.as_slice())
                .push_bind(row.prev_hash.as_str())
                .push_bind(row.hash.as_str())
                .push_bind(e.reason.as_deref());
        },
    );
    qb.push(" RETURNING seq, id");
    qb
}

/// The JSON columns of each row: `(comparisons, hold_reasons)`.
pub(crate) fn json_columns(rows: &[PlannedRow<'_>]) -> Result<Vec<(String, String)>, sqlx::Error> {
    rows.iter()
        .map(|row| {
            let comparisons = comparisons::encode(&row.event.comparisons);
            let hold_reasons = serde_json::to_string(&row.event.hold_reasons);
            Ok((
                comparisons.map_err(|e| sqlx::Error::Encode(e.into()))?,
                hold_reasons.map_err(|e| sqlx::Error::Encode(e.into()))?,
            ))
        })
        .collect()
}

/// An event row as both databases return it.
#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    id: i64,
    writer_id: String,
    seq: i64,
    event_type: String,
    occurred_at_us: i64,
    caller: String,
    insurer_number: String,
    subject_id: String,
    subject_kind: String,
    request_id: String,
    verification_id: String,
    decision: Option<String>,
    policy_version: String,
    comparisons: String,
    hold_reasons: String,
    number_fp_key_id: Option<String>,
    number_fp: Option<String>,
    request_fp_key_id: Option<String>,
    request_fp: Option<String>,
    response: Vec<u8>,
    prev_hash: String,
    hash: String,
    reason: Option<String>,
}

impl EventRow {
    /// The stored event, or `Corrupt` naming the row (by id only) when a column cannot be read
    /// back — which only tampering or a bug can cause.
    pub(crate) fn into_stored(self) -> Result<StoredEvent, AuditError> {
        let id = self.id;
        let corrupt = |what: &str| AuditError::Corrupt(format!("audit event {id}: {what}"));
        let event_type =
            EventType::parse(&self.event_type).ok_or_else(|| corrupt("unknown event type"))?;
        let comparisons = comparisons::decode(&self.comparisons)
            .map_err(|_| corrupt("the comparisons are not valid JSON"))?;
        let hold_reasons: Vec<String> = serde_json::from_str(&self.hold_reasons)
            .map_err(|_| corrupt("the hold reasons are not valid JSON"))?;
        let fingerprint =
            |key_id: Option<String>, mac: Option<String>, what: &str| match (key_id, mac) {
                (Some(key_id), Some(mac_hex)) => Ok(Some(Fingerprint { key_id, mac_hex })),
                (None, None) => Ok(None),
                _ => Err(corrupt(what)),
            };
        let number_fingerprint = fingerprint(
            self.number_fp_key_id,
            self.number_fp,
            "half a number fingerprint",
        )?;
        let request_fingerprint = fingerprint(
            self.request_fp_key_id,
            self.request_fp,
            "half a request fingerprint",
        )?;
        Ok(StoredEvent {
            id,
            writer_id: self.writer_id,
            seq: self.seq,
            prev_hash: self.prev_hash,
            hash: self.hash,
            event: NewEvent {
                event_type,
                occurred_at: time_from_micros(self.occurred_at_us),
                caller: self.caller,
                insurer_number: self.insurer_number,
                subject_id: self.subject_id,
                subject_kind: self.subject_kind,
                request_id: self.request_id,
                verification_id: self.verification_id,
                decision: self.decision,
                policy_version: self.policy_version,
                comparisons,
                hold_reasons,
                number_fingerprint,
                request_fingerprint,
                response: self.response,
                reason: self.reason,
            },
        })
    }
}

/// A registration row as both databases return it.
#[derive(sqlx::FromRow)]
pub(crate) struct RegistrationRow {
    insurer_number: String,
    number_fp_key_id: String,
    number_fp: String,
    subject_id: String,
    verification_id: String,
    committed_at_us: i64,
}

impl From<RegistrationRow> for Registration {
    fn from(r: RegistrationRow) -> Self {
        Registration {
            insurer_number: r.insurer_number,
            number_fingerprint: Fingerprint {
                key_id: r.number_fp_key_id,
                mac_hex: r.number_fp,
            },
            subject_id: r.subject_id,
            verification_id: r.verification_id,
            committed_at: time_from_micros(r.committed_at_us),
        }
    }
}

/// Refuses events no database would store alike: PostgreSQL rejects NUL in text, SQLite keeps
/// it. Checked before a batch is formed so one bad event never fails its batch-mates.
pub fn validate(e: &NewEvent) -> Result<(), AuditError> {
    let mut texts = vec![
        ("caller", e.caller.as_str()),
        ("insurer_number", &e.insurer_number),
        ("subject_id", &e.subject_id),
        ("subject_kind", &e.subject_kind),
        ("request_id", &e.request_id),
        ("verification_id", &e.verification_id),
        ("decision", e.decision.as_deref().unwrap_or("")),
        ("policy_version", &e.policy_version),
    ];
    for c in &e.comparisons {
        texts.extend([("comparisons", c.stage.as_str()), ("comparisons", &c.field)]);
        texts.push(("comparisons", &c.class));
        texts.extend(c.rules.iter().map(|r| ("comparisons", r.as_str())));
    }
    texts.extend(e.hold_reasons.iter().map(|r| ("hold_reasons", r.as_str())));
    texts.push(("reason", e.reason.as_deref().unwrap_or("")));
    for (what, fp) in [("number_fingerprint", &e.number_fingerprint)]
        .into_iter()
        .chain([("request_fingerprint", &e.request_fingerprint)])
    {
        if let Some(fp) = fp {
            texts.extend([(what, fp.key_id.as_str()), (what, &fp.mac_hex)]);
        }
    }
    if e.event_type == EventType::CommitAccepted && e.number_fingerprint.is_none() {
        // Its registration row is keyed by the fingerprint: without one it would claim nothing.
        return Err(AuditError::Invalid(
            "a commit.accepted event needs a number fingerprint".into(),
        ));
    }
    match texts.iter().find(|(_, text)| text.contains('\0')) {
        Some((what, _)) => Err(AuditError::Invalid(format!(
            "{what} contains a NUL character"
        ))),
        None => Ok(()),
    }
}

/// A description of a database error that carries no event content: the error's kind and,
/// for errors the database raised, its SQLSTATE code and constraint name — never its message
/// or detail, which can quote values (PostgreSQL's "Key (…)=(…) already exists").
pub(crate) fn describe(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => {
            let code = db
                .code()
                .map_or_else(|| "none".to_string(), |c| c.into_owned());
            match db.constraint() {
                Some(constraint) => {
                    format!("database error (code {code}, constraint {constraint})")
                }
                None => format!("database error (code {code})"),
            }
        }
        sqlx::Error::Io(io) => format!("i/o error ({})", io.kind()),
        sqlx::Error::Tls(_) => "TLS error".into(),
        sqlx::Error::Protocol(_) => "protocol error".into(),
        sqlx::Error::PoolTimedOut => "timed out waiting for a database connection".into(),
        sqlx::Error::PoolClosed => "the connection pool is closed".into(),
        sqlx::Error::WorkerCrashed => "the database worker crashed".into(),
        sqlx::Error::RowNotFound => "an expected row is missing".into(),
        sqlx::Error::Configuration(_) => "configuration error".into(),
        sqlx::Error::ColumnDecode { index, .. } => format!("cannot decode column {index}"),
        sqlx::Error::Encode(_) => "cannot encode a value".into(),
        sqlx::Error::Decode(_) => "cannot decode a value".into(),
        _ => "database error".into(),
    }
}

/// `Unavailable` with a content-free description of `e`.
pub(crate) fn unavailable(e: &sqlx::Error) -> AuditError {
    AuditError::Unavailable(describe(e))
}

/// Reads and decodes rows, mapping failures the way every read path does.
pub(crate) fn decode_rows(
    rows: Result<Vec<EventRow>, sqlx::Error>,
) -> Result<Vec<StoredEvent>, AuditError> {
    rows.map_err(|e| unavailable(&e))?
        .into_iter()
        .map(EventRow::into_stored)
        .collect()
}

/// A migration failure: `Config` (the schema does not match this build), described without
/// database messages.
pub(crate) fn migration_error(e: sqlx::migrate::MigrateError) -> AuditError {
    match e {
        sqlx::migrate::MigrateError::Execute(e) => {
            AuditError::Unavailable(format!("running the migrations failed: {}", describe(&e)))
        }
        other => AuditError::Config(format!("the audit schema does not match: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    #[test]
    fn an_event_with_a_nul_character_is_invalid_and_the_error_names_only_the_field() {
        let mut e = NewEvent {
            event_type: EventType::VerificationDecided,
            occurred_at: UNIX_EPOCH,
            caller: String::new(),
            insurer_number: String::new(),
            subject_id: "secret\0subject".into(),
            subject_kind: "member".into(),
            request_id: String::new(),
            verification_id: String::new(),
            decision: None,
            policy_version: String::new(),
            comparisons: vec![],
            hold_reasons: vec![],
            number_fingerprint: None,
            request_fingerprint: None,
            response: vec![0],
            reason: None,
        };
        let err = validate(&e).unwrap_err();
        assert_eq!(
            err,
            AuditError::Invalid("subject_id contains a NUL character".into())
        );
        e.subject_id = "fine".into();
        assert_eq!(validate(&e), Ok(()));
        e.request_fingerprint = Some(Fingerprint {
            key_id: "k\0".into(),
            mac_hex: String::new(),
        });
        assert!(validate(&e).is_err());
    }
}
