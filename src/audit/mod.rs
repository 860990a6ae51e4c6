//! The durable, tamper-evident audit log: every decision is stored before it is returned.
//!
//! The audit database holds 特定個人情報: keyed fingerprints (HMAC-SHA256) of individual
//! numbers, which by law are themselves 個人番号. Nothing else personal ever reaches this
//! module — no names, addresses, birth dates or numbers in the clear — and nothing it logs,
//! counts or reports carries event content.
//!
//! # Layout
//!
//! - this file: the event types callers hand in ([`NewEvent`]) and get back ([`StoredEvent`]),
//!   the error type, and [`connect`], which picks a backend from the URL.
//! - [`fingerprint`]: the keyed fingerprint of a number or a request, and its key file.
//! - [`chain`]: the hash chain — canonical encoding, per-writer chain state, verification.
//!   Pure: no I/O.
//! - `comparisons`: the stored (JSON) form of an event's comparisons.
//! - [`store`]: the one storage trait, [`AuditBackend`], and the append algorithm both
//!   backends share (idempotency, chain assignment, one transaction per batch).
//! - [`sqlite`], [`postgres`]: one file per backend, each with its own migrations
//!   (`migrations/sqlite`, `migrations/postgres`) and append-only triggers.
//! - [`writer`]: group commit — one task batches concurrent appends into one transaction.
//! - [`verify`]: recompute every chain in a store.
//! - `conformance` (tests only): one suite that every backend runs.

pub mod chain;
mod comparisons;
#[cfg(test)]
mod conformance;
pub mod fingerprint;
pub mod postgres;
pub mod sqlite;
pub mod store;
pub mod verify;
pub mod writer;

use std::{
    fmt,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use crate::domain::gate::StageComparison;

pub use chain::{BrokenEvent, ChainState, VerifyReport};
pub use fingerprint::FingerprintKey;
pub use store::AuditBackend;
pub use verify::verify_store;
pub use writer::{AuditHandle, AuditWriter};

/// What happened. The string ids are stored in the database and covered by the hash chain, so
/// they never change once released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// The gate decided a verification (register, hold or return).
    VerificationDecided,
    /// A registration of a number was accepted against an earlier decision.
    CommitAccepted,
    /// A registration of a number was refused (no decision, a hold, another number …).
    CommitRefused,
    /// An operator resolved a held case.
    HoldResolved,
    /// A call was refused: unknown credentials, or a caller outside its roles or insurers.
    AccessDenied,
}

impl EventType {
    /// Every event type, for parsing and documentation.
    pub const ALL: [EventType; 5] = [
        EventType::VerificationDecided,
        EventType::CommitAccepted,
        EventType::CommitRefused,
        EventType::HoldResolved,
        EventType::AccessDenied,
    ];

    /// The stable id stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::VerificationDecided => "verification.decided",
            EventType::CommitAccepted => "commit.accepted",
            EventType::CommitRefused => "commit.refused",
            EventType::HoldResolved => "hold.resolved",
            EventType::AccessDenied => "access.denied",
        }
    }

    /// The event type with this stable id, if any.
    pub fn parse(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == id)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A keyed fingerprint (HMAC-SHA256) standing in for an individual number or a request.
///
/// By law a fingerprint of a number is itself 個人番号: its `Debug` shows only the key id,
/// never the MAC.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    /// Which key produced the MAC, so that keys can be rotated and old rows still read.
    pub key_id: String,
    /// The MAC, lowercase hex.
    pub mac_hex: String,
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fingerprint")
            .field("key_id", &self.key_id)
            .field("mac_hex", &"<redacted>")
            .finish()
    }
}

/// One field comparison at one stage, as the audit stores it: ids only, never the values.
///
/// Strings rather than domain enums so that the stored form stays readable by later versions
/// even when the domain adds a class or a rule.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ComparisonRow {
    /// Which two records were compared (`declared_vs_query` …).
    pub stage: String,
    /// Which of the five fields (`kanji_name` …).
    pub field: String,
    /// The outcome class (`exact`, `notation`, `variant` …).
    pub class: String,
    /// The folding rule ids needed to reach the class.
    pub rules: Vec<String>,
    /// For candidate stages, which candidate; 0 otherwise.
    pub candidate_index: u32,
}

impl From<&StageComparison> for ComparisonRow {
    /// The stored form of one of the gate's comparisons: the domain's stable ids, so every
    /// caller writes the same strings.
    fn from(c: &StageComparison) -> Self {
        ComparisonRow {
            stage: c.stage.as_str().to_string(),
            field: c.field.as_str().to_string(),
            class: c.comparison.class.as_str().to_string(),
            rules: c.comparison.rules.ids().map(str::to_string).collect(),
            candidate_index: u32::try_from(c.candidate_index).unwrap_or(u32::MAX),
        }
    }
}

/// An event as callers hand it in. Carries ids, classes, rule ids and fingerprints only.
#[derive(Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// What happened.
    pub event_type: EventType,
    /// When; stored as whole microseconds since the Unix epoch (finer parts are dropped, and the
    /// hash covers the stored value so that it still verifies after a round trip).
    pub occurred_at: SystemTime,
    /// Who called (the authenticated client), so an auditor can tell systems apart.
    pub caller: String,
    /// The insurer (保険者番号) the event belongs to; every lookup is scoped by it.
    pub insurer_number: String,
    /// The insurer's own id for the person, so all events about one person can be listed.
    pub subject_id: String,
    /// "member" or "dependent" (empty when not given): GetVerification reports it.
    pub subject_kind: String,
    /// The caller's idempotency key.
    pub request_id: String,
    /// The service's id for the verification, returned to the caller.
    pub verification_id: String,
    /// `register`, `hold` or `return` for decisions; how a hold was closed for resolutions;
    /// the refused RPC (`Verify` …) for access denials; `None` for events without one.
    pub decision: Option<String>,
    /// The version of the gate policy that decided, so the decision can be explained later.
    pub policy_version: String,
    /// Every comparison the gate made.
    pub comparisons: Vec<ComparisonRow>,
    /// Why the case was held (stable ids), empty otherwise.
    pub hold_reasons: Vec<String>,
    /// The fingerprint of the selected candidate's number, so a later commit can be gated and
    /// duplicates found without keeping the number.
    pub number_fingerprint: Option<Fingerprint>,
    /// A keyed digest of the whole request content, so an idempotent replay can be told apart
    /// from a different request reusing the id. Keyed because the content holds the number: a
    /// plain hash of it would itself be 個人番号.
    pub request_fingerprint: Option<Fingerprint>,
    /// The encoded response the service returned (no personal data), so a replay and
    /// GetVerification return exactly the original.
    pub response: Vec<u8>,
    /// For a refused commit: the machine-readable reason (`NUMBER_MISMATCH` …), the same id
    /// the caller got in its error details; for an access denial `UNAUTHENTICATED`,
    /// `ROLE_NOT_GRANTED` or `INSURER_NOT_GRANTED`. `None` for every other event.
    pub reason: Option<String>,
}

impl fmt::Debug for NewEvent {
    /// Ids and classes only; the subject id and the fingerprints' MACs are left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewEvent")
            .field("event_type", &self.event_type)
            .field("occurred_at_us", &micros_since_epoch(self.occurred_at))
            .field("caller", &self.caller)
            .field("insurer_number", &self.insurer_number)
            .field("subject_id", &"<redacted>")
            .field("request_id", &self.request_id)
            .field("verification_id", &self.verification_id)
            .field("decision", &self.decision)
            .field("policy_version", &self.policy_version)
            .field("comparisons", &self.comparisons.len())
            .field("hold_reasons", &self.hold_reasons)
            .field("number_fingerprint", &self.number_fingerprint)
            .field("request_fingerprint", &self.request_fingerprint)
            .field("response_bytes", &self.response.len())
            .field("reason", &self.reason)
            .finish()
    }
}

/// An event as stored: the event, its place in its writer's chain, and its hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// The database's row id: stable, and how a broken event is named to an auditor.
    pub id: i64,
    /// The chain (one per writer process) this event belongs to.
    pub writer_id: String,
    /// The position in that chain, from 1 without gaps.
    pub seq: i64,
    /// The hash of the previous event in the chain ([`chain::GENESIS`] for the first).
    pub prev_hash: String,
    /// The hash of this event, covering `prev_hash`, `writer_id`, `seq` and every field.
    pub hash: String,
    /// The content.
    pub event: NewEvent,
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

/// Opens the audit store named by `url` (`sqlite:…`, `postgres:…` or `postgresql:…`) and
/// applies its migrations.
///
/// The service holds the result as `Arc<dyn AuditBackend>` so that nothing above this module
/// knows which database it runs on.
pub async fn connect(url: &str) -> Result<Arc<dyn AuditBackend>, AuditError> {
    let scheme = url.split_once(':').map(|(scheme, _)| scheme);
    match scheme {
        Some("sqlite") => Ok(Arc::new(sqlite::SqliteBackend::connect(url).await?)),
        Some("postgres" | "postgresql") => {
            Ok(Arc::new(postgres::PostgresBackend::connect(url).await?))
        }
        _ => Err(AuditError::Config(
            "the audit database URL must start with sqlite:, postgres: or postgresql:".into(),
        )),
    }
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
    fn a_gate_comparison_is_stored_under_the_domains_stable_ids() {
        use crate::domain::{Comparison, Field, MatchClass, Rule, RuleSet, Stage};
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
                stage: "query_vs_candidate".into(),
                field: "kana_name".into(),
                class: "variant".into(),
                rules: vec![rule.id().to_string()],
                candidate_index: 1,
            }
        );
    }

    #[test]
    fn debug_output_shows_key_ids_but_no_macs_or_subject_ids() {
        let fp = Fingerprint {
            key_id: "k-abc".into(),
            mac_hex: "deadbeefcafe".into(),
        };
        let event = NewEvent {
            event_type: EventType::VerificationDecided,
            occurred_at: UNIX_EPOCH,
            caller: "caller".into(),
            insurer_number: "12345678".into(),
            subject_id: "subject-secret-42".into(),
            subject_kind: "member".into(),
            request_id: "r".into(),
            verification_id: "v".into(),
            decision: Some("register".into()),
            policy_version: "p".into(),
            comparisons: vec![],
            hold_reasons: vec![],
            number_fingerprint: Some(fp.clone()),
            request_fingerprint: Some(fp),
            response: vec![1, 2, 3],
            reason: None,
        };
        let shown = format!("{event:?}");
        assert!(shown.contains("k-abc"));
        assert!(!shown.contains("deadbeefcafe"));
        assert!(!shown.contains("subject-secret-42"));
    }
}
