//! The durable, tamper-evident audit log: every decision is stored before it is returned.
//!
//! The audit database holds 特定個人情報: keyed fingerprints (HMAC-SHA256) of individual
//! numbers, which by law are themselves 個人番号. Nothing else personal ever reaches this
//! module — no names, addresses, birth dates or numbers in the clear — and nothing it logs,
//! counts or reports carries event content.
//!
//! # Layout
//!
//! Five rooms, each importing only those listed before it (and this file's ground):
//!
//! - this file: the ground every room stands on — what callers get back ([`StoredEvent`],
//!   [`AppendOutcome`]), the error type, the time encoding — and the facade of re-exports.
//! - [`event`]: the events callers hand in ([`NewEvent`], one variant per kind), their canonical
//!   binary form ([`event::encoding`], format 2, `proto/verifyidentity/audit/v1/event.proto`),
//!   the first release's rows ([`event::legacy`], format 1, read and verified as stored), and the
//!   keyed fingerprints of numbers and requests ([`event::fingerprint`], [`event::keyring`]: the
//!   current key and the ones a rotation replaced). Pure: no I/O.
//! - [`chain`]: the hash chain — per-writer chain state, where a chain stands, verification.
//!   Pure: no I/O.
//! - [`checkpoint`]: signed records of every chain head, kept outside the database, which show
//!   a chain cut short or removed (the one thing the chain cannot show): the Ed25519 key pair
//!   ([`checkpoint::key`]), taking and appending them ([`checkpoint::file`]), and the stored
//!   chains compared with them ([`checkpoint::check`]).
//! - [`store`]: the one storage trait, [`AuditBackend`], and the append algorithm both backends
//!   share (idempotency, chain assignment, one transaction per batch); [`connect`] picks a
//!   backend from the URL; `sql` the statements both run, `read` the read path, `rows` rows back
//!   into events; one file per backend ([`store::sqlite`], [`store::postgres`]), each with its
//!   migrations and append-only triggers; [`store::writer`] the group commit; the store's table of
//!   adopted keys and the key ids of stored events; `conformance` (tests only), the one suite
//!   every backend runs.
//! - above the store: [`key_adoption`], which keys a writing process may use, decided against the
//!   store at start (refusing a key that lacks one the store holds fingerprints under);
//!   [`invariants`], the gate's tables rebuilt from the chain and compared with the database;
//!   [`verify`], every chain recomputed and checked against checkpoints; [`export`], events as
//!   JSON for auditors. `keyfile`: secret key files read with the same checks (fingerprint and
//!   checkpoint keys).

pub mod chain;
pub mod checkpoint;
pub mod event;
pub mod export;
pub mod invariants;
pub mod key_adoption;
mod keyfile;
pub mod store;
#[cfg(test)]
pub(crate) mod tests_support;
pub mod verify;

use std::{
    fmt,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

pub use chain::{BrokenEvent, ChainState, Hash, VerifyReport};
pub use event::{
    AccessDenied, CommitAccepted, CommitRefused, ComparisonRow, Decided, DecidedIds, EventType,
    Fingerprint, HoldAssigned, HoldResolved, NewEvent,
};
pub use event::{fingerprint::FingerprintKey, keyring::KeyRing};
pub use store::{
    AuditBackend, AuditReads, ReadsFromPool,
    connect::{connect, connect_with},
    rows::validate,
    sqlite::PageMemory,
    writer::{AuditHandle, AuditWriter},
};
pub use verify::verify_store;

/// An event as stored: the event, its place in its writer's chain, and its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// The database's row id: stable, and how a broken event is named to an auditor.
    pub id: i64,
    /// The chain (one per writer process) this event belongs to.
    pub writer_id: String,
    /// The position in that chain, from 1 without gaps.
    pub seq: i64,
    /// The hash of this event, covering the previous event's hash, `writer_id`, `seq` and
    /// every field.
    pub hash: Hash,
    /// The content.
    pub event: NewEvent,
    /// For a row the first release wrote (format 1): the row as stored, which is what its hash
    /// covers. `None` for rows in the canonical encoding (format 2).
    pub(crate) legacy: Option<Box<event::legacy::LegacyRow>>,
}

impl StoredEvent {
    /// The row's format version: 1 for the first release's columns, 2 for the canonical
    /// encoding of `proto/verifyidentity/audit/v1/event.proto`.
    pub fn format(&self) -> i32 {
        if self.legacy.is_some() {
            1
        } else {
            event::encoding::FORMAT
        }
    }
}

/// What became of one appended event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendOutcome {
    /// Stored and committed, with this row id.
    Appended {
        /// The row id.
        id: i64,
    },
    /// A decision for the same (insurer, request id) was already stored, earlier or in the same
    /// batch; nothing was written. The caller decides (by comparing request fingerprints)
    /// whether this is a replay or a conflicting reuse of the id.
    DuplicateRequest {
        /// The verification id of the decision already stored.
        existing_verification_id: String,
    },
    /// A [`EventType::CommitAccepted`] event whose number or subject is already registered
    /// for this insurer; nothing was written. The caller tells an idempotent repeat (the same
    /// verification) from a duplicate (another subject or another number).
    RegistrationTaken {
        /// The registration already stored that the commit collided with.
        existing: Registration,
    },
    /// A [`EventType::HoldResolved`] event for a hold that is already closed (earlier or in
    /// the same batch); nothing was written.
    AlreadyResolved,
    /// A register decision whose number is registered to another subject of the insurer, or
    /// whose subject is registered with another number; nothing was written. The caller
    /// decides again with these registrations in view (the gate holds) and appends that.
    RegisteredElsewhere {
        /// The registrations the decision contradicts.
        registrations: Vec<Registration>,
    },
}

/// A committed number: which subject and verification hold a number fingerprint, per insurer.
/// At most one per (insurer, fingerprint) and one per (insurer, subject).
#[derive(Clone, PartialEq, Eq)]
pub struct Registration {
    /// The insurer.
    pub insurer_number: String,
    /// The committed number's fingerprint.
    pub number_fingerprint: Fingerprint,
    /// The subject it is registered for.
    pub subject_id: String,
    /// The verification that allowed it.
    pub verification_id: String,
    /// When it was committed.
    pub committed_at: SystemTime,
}

impl fmt::Debug for Registration {
    /// Ids only; the subject id is personal to the insurer and left out like in [`NewEvent`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("insurer_number", &self.insurer_number)
            .field("number_fingerprint", &self.number_fingerprint)
            .field("subject_id", &"<redacted>")
            .field("verification_id", &self.verification_id)
            .finish()
    }
}

/// Why the audit log could not do what was asked. Messages never contain event content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// The database is unreachable or the transaction failed; nothing was committed (or, for a
    /// lost commit acknowledgement, it may have been: an idempotent retry finds out). The
    /// service maps this to UNAVAILABLE and returns nothing that could be acted on.
    #[error("the audit store is unavailable: {0}")]
    Unavailable(String),
    /// The stored data cannot be read back as events: a sign of tampering or a bug.
    #[error("the audit store is corrupt: {0}")]
    Corrupt(String),
    /// The URL, the key file or the database setup is wrong; retrying will not help.
    #[error("the audit store is misconfigured: {0}")]
    Config(String),
    /// This event cannot be stored as given (a NUL character, an oversized field): a bug in the
    /// caller, not an outage. Kept apart from `Unavailable` so one bad event never fails the
    /// other events of its batch and is not retried forever.
    #[error("the audit event is invalid: {0}")]
    Invalid(String),
}

/// Whole microseconds since the Unix epoch (negative before it), saturating far outside any
/// plausible clock. The stored and hashed form of [`NewEvent::occurred_at`].
pub(crate) fn micros_since_epoch(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_micros()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_micros()).map_or(i64::MIN, |us| -us),
    }
}

/// The inverse of [`micros_since_epoch`] for stored values.
pub(crate) fn time_from_micros(us: i64) -> SystemTime {
    let magnitude = Duration::from_micros(us.unsigned_abs());
    if us >= 0 {
        UNIX_EPOCH + magnitude
    } else {
        UNIX_EPOCH - magnitude
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_type_round_trips_through_its_stable_id() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
        assert_eq!(
            EventType::VerificationDecided.as_str(),
            "verification.decided"
        );
        assert_eq!(EventType::parse("verification.decided "), None);
    }

    #[test]
    fn times_round_trip_through_whole_microseconds_on_both_sides_of_the_epoch() {
        for us in [0, 1, -1, 1_700_000_000_123_456, -86_400_000_001] {
            assert_eq!(micros_since_epoch(time_from_micros(us)), us);
        }
        let t = UNIX_EPOCH + Duration::from_nanos(1_999);
        assert_eq!(micros_since_epoch(t), 1, "finer parts are dropped");
    }

    #[test]
    fn a_gate_comparison_is_stored_under_the_domains_ids() {
        use crate::domain::{
            Comparison, Field, MatchClass, Rule, RuleSet, Stage, gate::StageComparison,
        };
        let rule = Rule::ALL[0];
        let c = StageComparison {
            stage: Stage::QueryVsCandidate,
            field: Field::KanaName,
            comparison: Comparison::with(MatchClass::Variant, RuleSet::one(rule)),
            candidate_index: 1,
            accepted: true,
        };
        let row = ComparisonRow::from(&c);
        assert_eq!(
            row,
            ComparisonRow {
                stage: Stage::QueryVsCandidate,
                field: Field::KanaName,
                class: MatchClass::Variant,
                rules: vec![rule.id().to_string()],
                candidate_index: 1,
            }
        );
    }

    #[test]
    fn debug_output_shows_key_ids_but_no_macs_subject_ids_or_notes() {
        for event in tests_support::one_of_each() {
            let shown = format!("{event:?}");
            assert!(!shown.contains(&"ab".repeat(32)), "{shown}");
            assert!(!shown.contains(&"cd".repeat(32)), "{shown}");
            assert!(!shown.contains("subject-1"), "{shown}");
            assert!(!shown.contains("re-queried"), "{shown}");
            if event.number_fingerprint().is_some() {
                assert!(shown.contains("k-1"), "{shown}");
            }
        }
    }
}
