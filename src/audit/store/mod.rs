//! The one storage trait, and the append algorithm every backend shares.
//!
//! A backend supplies SQL; the rules live here, once: which events are duplicates, which
//! chain positions the others get, and that the caller's chain advances only after the
//! commit. A backend implements `BatchTransaction` for its transaction type and calls
//! `append_in`.

pub mod adopted_keys;
#[cfg(test)]
mod conformance;
pub mod connect;
pub mod console_sessions;
mod fault;
mod fill;
pub mod hold_facts;
pub mod hold_groups;
pub mod key_ids;
pub mod open_holds;
pub mod postgres;
pub(in crate::audit) mod read;
#[cfg(test)]
pub(crate) mod tamper;
pub use console_sessions::ConsoleSessionStore;
pub(crate) use fault::{AppendFault, hash_column};
pub use read::SqlxStore;
pub mod rows;
pub mod sql;
pub mod sqlite;
pub(crate) mod statement;
pub mod subject_decisions;
pub mod writer;

use std::collections::{HashMap, HashSet, hash_map::Entry};

use async_trait::async_trait;

use crate::{
    audit::{
        AppendOutcome, AuditError, ChainState, CommitAccepted, EventType, Fingerprint, Hash,
        NewEvent, Registration, StoredEvent,
        chain::ChainHead,
        event::encoding,
        store::adopted_keys::{AdoptedKey, Adoption, KeyToAdopt},
        store::key_ids::KeyIdsPage,
        store::rows::validate,
        store::sql::{PlannedRow, ROWS_PER_STATEMENT, RegistrationProbe},
    },
    domain::gate::DecisionKind,
};

/// The reads every store answers the same way, with the same statements: written once, for
/// any store that reads through one sqlx pool ([`read::SqlxStore`]), in `read.rs`.
#[async_trait]
pub trait AuditReads: Send + Sync {
    /// The registrations of `insurer_number` that hold this number fingerprint or this
    /// subject (at most two), outside any append. (Verify's own check runs inside the append
    /// transaction: see `refuse_register_decisions_against_registrations`.)
    async fn find_registrations(
        &self,
        insurer_number: &str,
        number_fingerprint: &Fingerprint,
        subject_id: &str,
    ) -> Result<Vec<Registration>, AuditError>;

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

    /// Held decisions of `insurer_number` that no resolution has closed, oldest first (by
    /// row id), starting after row `after_id`, at most `limit`.
    async fn list_open_holds(
        &self,
        insurer_number: &str,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, AuditError>;

    /// Held decisions of every insurer that no resolution has closed, by insurer number and
    /// then row id, starting after (`after_insurer`, `after_id`), at most `limit` (the
    /// managers' gauges; `("", 0)` starts at the first).
    async fn list_all_open_holds(
        &self,
        after_insurer: &str,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, AuditError>;

    /// Events in row order after row `after_id`, at most `limit`, optionally only of one
    /// insurer and only from a time on: what `audit export` pages through.
    async fn export_page(
        &self,
        insurer_number: Option<&str>,
        since_us: i64,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, AuditError>;

    /// Every event, ordered by `(writer_id, seq)`, for verification.
    ///
    /// Reads the whole store into memory, which is fine for the sizes seen so far; streaming
    /// the rows chain by chain is the next step for very large stores.
    async fn read_chains(&self) -> Result<Vec<StoredEvent>, AuditError>;

    /// The newest event of every chain, in writer id order, read in one statement: what a
    /// checkpoint records.
    async fn chain_heads(&self) -> Result<Vec<ChainHead>, AuditError>;

    /// The key ids of the fingerprints of up to `limit` events after row `after_id`, read
    /// without decoding the events: how a store written before the adopted keys table is
    /// scanned once.
    async fn key_ids_page(&self, after_id: i64, limit: i64) -> Result<KeyIdsPage, AuditError>;

    /// Succeeds when the database answers: the health check's NOT_SERVING signal.
    async fn ping(&self) -> Result<(), AuditError>;

    /// One page of the open holds of one insurer, through the open holds table (migrations
    /// 0008): the held decisions, in hold id order within the range `query` reads.
    async fn open_holds_page(
        &self,
        query: &open_holds::OpenHoldsQuery<'_>,
    ) -> Result<Vec<StoredEvent>, AuditError>;

    /// How many holds of `insurer_number` are open, per risk rank and overdue at `as_of_us`
    /// (whole microseconds) or not; groups with none left out.
    async fn open_hold_counts(
        &self,
        insurer_number: &str,
        as_of_us: i64,
    ) -> Result<Vec<open_holds::OpenHoldCount>, AuditError>;

    /// Every event of every decision about `subject_id` of `insurer_number` — the decisions
    /// and the assignments, resolutions and commits that followed each — in row order, at
    /// most `limit`, through the subject decisions table (migrations 0010). Empty for a
    /// subject this insurer never decided about, whether or not another insurer did.
    async fn subject_history(
        &self,
        insurer_number: &str,
        subject_id: &str,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, AuditError>;
    /// The held decisions of `insurer_number` (or of every insurer when `None`) decided in
    /// `[from_us, to_us)`, grouped by everything the hold statistics count them by, through
    /// the hold facts tables (migrations 0011); open holds are overdue when their deadline is
    /// before `as_of_ns` (nanoseconds since the epoch, `hold_facts::nanos_since_epoch`).
    async fn hold_groups(
        &self,
        insurer_number: Option<&str>,
        from_us: i64,
        to_us: i64,
        as_of_ns: i64,
    ) -> Result<Vec<hold_groups::HoldGroup>, AuditError>;
}

/// Where audit events are kept. Object-safe: the service holds an `Arc<dyn AuditBackend>`.
///
/// Every implementation runs the suite in `audit::store::conformance`, so they behave alike.
#[async_trait]
pub trait AuditBackend: AuditReads + ConsoleSessionStore {
    /// The database system, as OpenTelemetry names it (`db.system`): `sqlite` or `postgresql`.
    fn system(&self) -> &'static str;

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
        self.append_valid_batch(chain, events.to_vec()).await.1
    }

    /// [`append_batch`](Self::append_batch) for events that already passed [`validate`], taken
    /// by value and handed back: the group-commit writer checks each event when it is queued
    /// (so that a bad one fails alone) and reuses its buffer for the next batch, and a backend
    /// whose writer runs on a thread of its own (SQLite) moves the batch there without copying
    /// it. Each backend implements only this.
    async fn append_valid_batch(
        &self,
        chain: &mut ChainState,
        events: Vec<NewEvent>,
    ) -> (Vec<NewEvent>, Result<Vec<AppendOutcome>, AuditError>);

    /// The fingerprint keys this store holds fingerprints under, oldest first: the last is the
    /// current key. Empty for a store no writing process has opened since it had the table.
    async fn adopted_keys(&self) -> Result<Vec<AdoptedKey>, AuditError>;

    /// Appends `new` to the adopted keys (the last becoming current) if they are still
    /// `expected`, excluding every other adoption meanwhile; otherwise writes nothing and says
    /// what they are now. How `audit::key_adoption` records a first or a rotated key.
    async fn adopt_keys(
        &self,
        expected: &[AdoptedKey],
        new: &[KeyToAdopt],
    ) -> Result<Adoption, AuditError>;

    /// Every event, as [`read_chains`](Self::read_chains) reads them, and every row of the
    /// gate's tables, in one snapshot of the store: what `audit verify` holds the tables
    /// against (`audit::invariants`).
    async fn read_chains_and_tables(
        &self,
    ) -> Result<(Vec<StoredEvent>, crate::audit::invariants::GateTables), AuditError>;

    /// Closes the connections (SQLite checkpoints its write-ahead log), for a clean shutdown.
    async fn close(&self);
}

/// The database operations of one append transaction. Each backend implements them with its
/// own SQL; [`append_in`] decides what to call with what.
///
/// The two implementations are near copies on purpose. The rejected alternative, one impl
/// generic over `sqlx::Database`, cannot execute a `QueryBuilder`: `IntoArguments<'q, DB>`
/// then pins the builder's borrow to its argument lifetime, which only concrete (covariant)
/// argument types can shorten.
pub(crate) trait BatchTransaction: Send {
    /// What the database reports: sqlx's error for PostgreSQL, the SQLite writer thread's own
    /// ([`sqlite::blocking::WriteError`]) for its rusqlite connection. Each backend turns it
    /// into an [`AuditError`] once, where it called [`append_in`].
    type Error: From<AppendFault>;

    /// The last `(seq, hash)` stored for `writer_id`, if any.
    async fn chain_tail(&mut self, writer_id: &str) -> Result<Option<(i64, Hash)>, Self::Error>;

    /// Inserts the idempotency keys of `claims` unless already present; returns the keys that
    /// were new.
    async fn claim_requests(
        &mut self,
        claims: &[&NewEvent],
    ) -> Result<HashSet<(String, String)>, Self::Error>;

    /// The verification ids already stored for these (insurer, request id) keys.
    async fn existing_verification_ids(
        &mut self,
        keys: &[(&str, &str)],
    ) -> Result<HashMap<(String, String), String>, Self::Error>;

    /// Inserts the registration a [`EventType::CommitAccepted`] event claims; `false` when
    /// its number or subject is already registered for the insurer (nothing inserted).
    async fn claim_registration(&mut self, e: &CommitAccepted) -> Result<bool, Self::Error>;

    /// Closes the hold a [`EventType::HoldResolved`] event resolves; `false` when it was
    /// closed already (nothing inserted).
    async fn claim_resolution(&mut self, e: &NewEvent) -> Result<bool, Self::Error>;

    /// The registrations holding any of these `(insurer, number fingerprint MAC, subject id)`
    /// numbers or subjects (per insurer), inside the transaction, in one statement.
    async fn registrations(
        &mut self,
        probes: &[RegistrationProbe<'_>],
    ) -> Result<Vec<Registration>, Self::Error>;

    /// Inserts the planned rows under `writer_id`; returns `(seq, id)` for each.
    async fn insert_events(
        &mut self,
        writer_id: &str,
        rows: &[PlannedRow<'_>],
    ) -> Result<Vec<(i64, i64)>, Self::Error>;

    /// Applies what the batch's appended events do to the open holds table, in order
    /// ([`open_holds::changes`]).
    async fn apply_open_holds(
        &mut self,
        changes: &[open_holds::OpenHoldChange<'_>],
    ) -> Result<(), Self::Error>;

    /// Inserts the subject decisions rows of the batch's appended decisions
    /// ([`subject_decisions::rows_of`]).
    async fn apply_subject_decisions(
        &mut self,
        rows: &[subject_decisions::SubjectDecisionRow],
    ) -> Result<(), Self::Error>;

    /// Applies what the batch's appended events do to the hold facts tables, in order
    /// ([`hold_facts::changes`]).
    async fn apply_hold_facts(
        &mut self,
        changes: &[hold_facts::HoldFactChange<'_>],
    ) -> Result<(), Self::Error>;

    /// Commits.
    async fn commit(self) -> Result<(), Self::Error>;
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
) -> Result<Vec<AppendOutcome>, T::Error> {
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
            let body = encoding::body(e);
            let (seq, hash) = working.push_encoded(e, &body);
            rows.push(PlannedRow {
                event: e,
                seq,
                hash,
                body,
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
                .ok_or(AppendFault::RowNotReturned)?;
            *outcome = Some(AppendOutcome::Appended { id: *id });
        }
        // The queue's table in the same transaction as the events it is derived from.
        let changes = open_holds::changes(events, &outcomes);
        if !changes.is_empty() {
            tx.apply_open_holds(&changes).await?;
        }
        // And the subjects' history table.
        let subjects = subject_decisions::rows_of(events, &outcomes);
        if !subjects.is_empty() {
            tx.apply_subject_decisions(&subjects).await?;
        }
        // And the statistics' rows, likewise.
        let facts = hold_facts::changes(events, &outcomes);
        if !facts.is_empty() {
            tx.apply_hold_facts(&facts).await?;
        }
    }
    tx.commit().await?;
    *chain = working;
    Ok(outcomes
        .into_iter()
        .map(|o| o.expect("every event has an outcome"))
        .collect())
}

/// Refuses every register decision in `events` whose number is registered to another subject
/// of its insurer, or whose subject is registered with another number, under the key of the
/// decision's fingerprint: its outcome becomes
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
) -> Result<(), T::Error> {
    let probes: Vec<RegistrationProbe<'_>> = events
        .iter()
        .filter_map(|e| {
            let fp = registered_number(e)?;
            Some((e.insurer_number(), fp.mac_hex.as_str(), e.subject_id()))
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
            .filter(|r| r.insurer_number == e.insurer_number())
            // Only registrations under the decision's own key: a MAC under another key says
            // nothing about whether the number is the same. Those are registrations made before
            // a key rotation, which no process writes any more (the registrations trigger
            // admits the current key only), so the caller checks them before the append,
            // recomputing the number's MAC under each previous key (`Decider`).
            .filter(|r| r.number_fingerprint.key_id == fp.key_id)
            .filter(|r| {
                let same_number = r.number_fingerprint.mac_hex == fp.mac_hex;
                let same_subject = r.subject_id == e.subject_id();
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
    match e {
        NewEvent::Decided(d) if d.decision == DecisionKind::Register => {
            d.number_fingerprint.as_ref()
        }
        _ => None,
    }
}

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
) -> Result<(), T::Error> {
    let mut first_of_key: HashMap<(&str, &str), usize> = HashMap::new();
    let mut repeats: Vec<(usize, usize)> = Vec::new();
    let mut claims: Vec<&NewEvent> = Vec::new();
    let mut claimed: Vec<usize> = Vec::new();
    for (i, e) in events.iter().enumerate() {
        if e.event_type() != EventType::VerificationDecided || outcomes[i].is_some() {
            continue;
        }
        match first_of_key.entry((e.insurer_number(), e.request_id())) {
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
    let is_new = |e: &NewEvent| {
        new_keys.contains(&(e.insurer_number().to_owned(), e.request_id().to_owned()))
    };
    let taken: Vec<usize> = claimed
        .into_iter()
        .filter(|&i| !is_new(&events[i]))
        .collect();
    if !taken.is_empty() {
        let keys: Vec<(&str, &str)> = taken
            .iter()
            .map(|&i| (events[i].insurer_number(), events[i].request_id()))
            .collect();
        let existing = tx.existing_verification_ids(&keys).await?;
        for i in taken {
            let key = (
                events[i].insurer_number().to_owned(),
                events[i].request_id().to_owned(),
            );
            // The key conflicted, so its row exists: absent means it vanished mid-transaction.
            let stored = existing.get(&key).ok_or(AppendFault::RowNotReturned)?;
            outcomes[i] = Some(duplicate_of(stored));
        }
    }
    for (i, first) in repeats {
        outcomes[i] = Some(match &outcomes[first] {
            Some(duplicate) => duplicate.clone(),
            None => duplicate_of(events[first].verification_id()),
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
) -> Result<(), T::Error> {
    for (e, outcome) in events.iter().zip(outcomes.iter_mut()) {
        if outcome.is_some() {
            continue;
        }
        let commit = match e {
            NewEvent::HoldResolved(_) => {
                if !tx.claim_resolution(e).await? {
                    *outcome = Some(AppendOutcome::AlreadyResolved);
                }
                continue;
            }
            NewEvent::CommitAccepted(commit) => commit,
            _ => continue,
        };
        if tx.claim_registration(commit).await? {
            continue;
        }
        let fp = commit.number_fingerprint.mac_hex.as_str();
        let existing = tx
            .registrations(&[(&commit.insurer_number, fp, &commit.subject_id)])
            .await?
            .into_iter()
            .next()
            // The claim conflicted, so a row exists: absent means it vanished mid-transaction.
            .ok_or(AppendFault::RowNotReturned)?;
        *outcome = Some(AppendOutcome::RegistrationTaken { existing });
    }
    Ok(())
}

/// Records the verification id stored for `key`: the key table's, or the chain's when the key
/// table has none (its row is gone). The chain's is kept only as a stand-in: a row that names
/// another verification than the chain is `audit verify`'s to report, not the append's to mend.
pub(crate) fn prefer_the_key_table(
    found: &mut HashMap<(String, String), String>,
    key: (String, String),
    verification_id: String,
    from_chain: bool,
) {
    if from_chain {
        found.entry(key).or_insert(verification_id);
    } else {
        found.insert(key, verification_id);
    }
}

fn duplicate_of(verification_id: &str) -> AppendOutcome {
    AppendOutcome::DuplicateRequest {
        existing_verification_id: verification_id.to_string(),
    }
}
