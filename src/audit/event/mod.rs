//! The events callers hand in: one variant per kind, each carrying only what it needs, in the
//! domain's own vocabulary (stable ids, never the transport's enum names).

pub(in crate::audit) mod comparisons;
pub mod encoding;
pub mod fingerprint;
pub mod keyring;
pub mod legacy;
pub(in crate::audit) mod pb;

use std::{fmt, time::SystemTime};

use crate::{
    audit::{FingerprintKey, micros_since_epoch},
    domain::{
        Field, MatchClass, Stage,
        gate::{
            Case, CommitRefusal, Decision, DecisionKind, HoldReason, Resolution, StageComparison,
        },
        hold_cause::HoldCause,
        risk::{self, RiskClass},
        subject::SubjectKind,
    },
};

/// A SHA-256 hash of an event, as stored (bytes, not hex): what links the chain, computed from
/// an event's encoding ([`encoding::event_hash`]).
pub type Hash = [u8; 32];

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
    /// A clerk claimed or released an open hold.
    HoldAssigned,
}

impl EventType {
    /// Every event type, for parsing and documentation.
    pub const ALL: [EventType; 6] = [
        EventType::VerificationDecided,
        EventType::CommitAccepted,
        EventType::CommitRefused,
        EventType::HoldResolved,
        EventType::AccessDenied,
        EventType::HoldAssigned,
    ];

    /// The stable id stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::VerificationDecided => "verification.decided",
            EventType::CommitAccepted => "commit.accepted",
            EventType::CommitRefused => "commit.refused",
            EventType::HoldResolved => "hold.resolved",
            EventType::AccessDenied => "access.denied",
            EventType::HoldAssigned => "hold.assigned",
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
/// Rules stay strings: a folding rule may be renamed or retired by a later version, and the
/// events that needed it must still read back as they were written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComparisonRow {
    /// Which two records were compared.
    pub stage: Stage,
    /// Which of the five fields.
    pub field: Field,
    /// The outcome class.
    pub class: MatchClass,
    /// The folding rule ids needed to reach the class.
    pub rules: Vec<String>,
    /// For candidate stages, which candidate; 0 otherwise.
    pub candidate_index: u32,
}

impl From<&StageComparison> for ComparisonRow {
    fn from(c: &StageComparison) -> Self {
        ComparisonRow {
            stage: c.stage,
            field: c.field,
            class: c.comparison.class,
            rules: c.comparison.rules.ids().map(str::to_string).collect(),
            candidate_index: u32::try_from(c.candidate_index).unwrap_or(u32::MAX),
        }
    }
}

/// The gate decided a case ([`EventType::VerificationDecided`]). Holds everything the
/// response said, so the response is rebuilt from it rather than stored beside it.
#[derive(Clone, PartialEq, Eq)]
pub struct Decided {
    /// When; stored as whole microseconds since the Unix epoch (finer parts are dropped, and the
    /// hash covers the stored value so that it still verifies after a round trip).
    pub occurred_at: SystemTime,
    /// Who called (the authenticated client), so an auditor can tell systems apart.
    pub caller: String,
    /// The insurer (保険者番号) the event belongs to; every lookup is scoped by it.
    pub insurer_number: String,
    /// The insurer's own id for the person, so that a commit can be checked against it.
    pub subject_id: String,
    /// Member or dependent, as the caller said: GetVerification reports it.
    pub subject_kind: SubjectKind,
    /// The caller's idempotency key.
    pub request_id: String,
    /// The service's id for the verification, returned to the caller.
    pub verification_id: String,
    /// The version of the gate policy that decided, so the decision can be explained later.
    pub policy_version: String,
    /// Register, hold or return.
    pub decision: DecisionKind,
    /// Every comparison the gate made.
    pub comparisons: Vec<ComparisonRow>,
    /// Why the case was held, sorted; empty otherwise.
    pub hold_reasons: Vec<HoldReason>,
    /// For return: the fields the form must complete.
    pub fields_to_complete: Vec<Field>,
    /// For register: the index of the candidate whose number may be registered.
    pub selected_candidate: Option<u32>,
    /// The registration deadline (receipt of the form plus the registration period), when the
    /// caller said when the form was received.
    pub register_by: Option<SystemTime>,
    /// The fingerprint of the selected candidate's number, so a later commit can be gated and
    /// duplicates found without keeping the number.
    pub number_fingerprint: Option<Fingerprint>,
    /// A keyed digest of the whole request content, so an idempotent replay can be told apart
    /// from a different request reusing the id. Keyed because the content holds the number: a
    /// plain hash of it would itself be 個人番号.
    pub request_fingerprint: Option<Fingerprint>,
    /// For a hold: the fingerprint of each candidate's number, in candidate order (`None` for a
    /// candidate whose number could not be read), all under one key; empty otherwise. What
    /// tells, without a clerk, whether a re-query or the person brought the same number back
    /// ([`crate::verification::hold_stats`]).
    pub candidate_fingerprints: Vec<Option<Fingerprint>>,
}

/// What a [`Decided`] event says besides the decision itself: when, who called, whose case
/// under which ids, and the request's fingerprint. The caller knows these; the gate does not.
#[derive(Debug, Clone)]
pub struct DecidedIds {
    /// When (see [`Decided::occurred_at`]).
    pub occurred_at: SystemTime,
    /// Who called.
    pub caller: String,
    /// The insurer (保険者番号).
    pub insurer_number: String,
    /// The insurer's own id for the person (empty when the request gave none).
    pub subject_id: String,
    /// Member or dependent.
    pub subject_kind: SubjectKind,
    /// The caller's idempotency key.
    pub request_id: String,
    /// The service's id for the verification.
    pub verification_id: String,
    /// The version of the policy that decided.
    pub policy_version: String,
    /// The registration deadline, when the form's receipt is known.
    pub register_by: Option<SystemTime>,
    /// The keyed digest of the whole request content.
    pub request_fingerprint: Option<Fingerprint>,
}

impl Decided {
    /// The event of `decision` on `case`, under `ids`: the comparisons, hold reasons and fields
    /// as stable ids, and the selected candidate's number only as its fingerprint under `key`.
    ///
    /// The one way a decision becomes an event, so that what the service stores and what the
    /// examples and tests build from the same decision cannot drift apart.
    pub fn from_decision(
        ids: DecidedIds,
        decision: &Decision,
        case: &Case,
        key: &FingerprintKey,
    ) -> Self {
        let number_fingerprint = decision
            .selected_candidate
            .and_then(|i| case.candidates.get(i))
            .and_then(|c| c.number.as_ref().ok())
            .map(|n| key.fingerprint_number(n));
        let candidate_fingerprints = if decision.kind == DecisionKind::Hold {
            case.candidates
                .iter()
                .map(|c| c.number.as_ref().ok().map(|n| key.fingerprint_number(n)))
                .collect()
        } else {
            Vec::new()
        };
        Decided {
            occurred_at: ids.occurred_at,
            caller: ids.caller,
            insurer_number: ids.insurer_number,
            subject_id: ids.subject_id,
            subject_kind: ids.subject_kind,
            request_id: ids.request_id,
            verification_id: ids.verification_id,
            policy_version: ids.policy_version,
            decision: decision.kind,
            comparisons: decision
                .comparisons
                .iter()
                .map(ComparisonRow::from)
                .collect(),
            hold_reasons: decision.hold_reasons.clone(),
            fields_to_complete: decision.fields_to_complete.clone(),
            selected_candidate: decision
                .selected_candidate
                .map(|i| u32::try_from(i).unwrap_or(u32::MAX)),
            register_by: ids.register_by,
            number_fingerprint,
            request_fingerprint: ids.request_fingerprint,
            candidate_fingerprints,
        }
    }

    /// How urgent the case is when it was held, derived from the stored comparisons and hold
    /// reasons exactly as for a fresh decision; `None` otherwise.
    pub fn risk_class(&self) -> Option<RiskClass> {
        risk::risk_class(
            self.decision,
            &self.hold_reasons,
            self.comparisons.iter().map(|c| risk::Compared {
                stage: c.stage,
                field: c.field,
                class: c.class,
            }),
        )
    }
}

/// A number was committed against a register decision ([`EventType::CommitAccepted`]).
#[derive(Clone, PartialEq, Eq)]
pub struct CommitAccepted {
    /// When (also the `committed_at` returned to the caller).
    pub occurred_at: SystemTime,
    /// Who called.
    pub caller: String,
    /// The insurer.
    pub insurer_number: String,
    /// The subject the number is registered for.
    pub subject_id: String,
    /// The register decision the commit is made against.
    pub verification_id: String,
    /// The id returned to the caller, returned again to a repeat.
    pub commit_id: String,
    /// The committed number's fingerprint: its registration row is keyed by it.
    pub number_fingerprint: Fingerprint,
    /// The fingerprint of the commit request's content.
    pub request_fingerprint: Option<Fingerprint>,
}

/// The gate refused a commit ([`EventType::CommitRefused`]).
#[derive(Clone, PartialEq, Eq)]
pub struct CommitRefused {
    /// When.
    pub occurred_at: SystemTime,
    /// Who called.
    pub caller: String,
    /// The insurer.
    pub insurer_number: String,
    /// The subject the caller named.
    pub subject_id: String,
    /// The verification the caller named.
    pub verification_id: String,
    /// Why.
    pub reason: CommitRefusal,
    /// The fingerprint of the number the caller tried to commit.
    pub number_fingerprint: Option<Fingerprint>,
    /// The fingerprint of the commit request's content.
    pub request_fingerprint: Option<Fingerprint>,
}

/// A clerk claimed an open hold, or released it ([`EventType::HoldAssigned`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldAssigned {
    /// When.
    pub occurred_at: SystemTime,
    /// Who called (the clerk, or the gRPC caller).
    pub caller: String,
    /// The insurer.
    pub insurer_number: String,
    /// The held decision's subject.
    pub subject_id: String,
    /// The held verification.
    pub verification_id: String,
    /// Who works it from now on; empty: nobody.
    pub assignee: String,
}

/// An operator closed a held case ([`EventType::HoldResolved`]).
#[derive(Clone, PartialEq, Eq)]
pub struct HoldResolved {
    /// When (also the `resolved_at` GetVerification reports).
    pub occurred_at: SystemTime,
    /// Who called.
    pub caller: String,
    /// The insurer.
    pub insurer_number: String,
    /// The held decision's subject.
    pub subject_id: String,
    /// The held verification.
    pub verification_id: String,
    /// How it was closed.
    pub resolution: Resolution,
    /// The operator who closed it.
    pub operator_id: String,
    /// The operator's note (never personal data, by the operators' rules).
    pub note: String,
    /// For a re-query: the verification that replaces the held one; empty otherwise.
    pub replaced_by_verification_id: String,
    /// The clerk's cause, when one was given (the statistics count it).
    pub cause: Option<HoldCause>,
}

/// Calls refused before they did anything ([`EventType::AccessDenied`]): one event stands for
/// every refusal of one peer, caller, RPC, insurer and reason in one interval, so that a flood
/// of refused calls costs the log a row per interval, not a row per call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessDenied {
    /// When the last of the counted refusals happened.
    pub occurred_at: SystemTime,
    /// The caller's name, or `unauthenticated`.
    pub caller: String,
    /// The insurer the request named, when it was a well-formed 保険者番号; empty otherwise.
    pub insurer_number: String,
    /// The refused RPC's method name (`Verify` …).
    pub rpc: String,
    /// `UNAUTHENTICATED`, `ROLE_NOT_GRANTED`, `INSURER_NOT_GRANTED` or `RATE_LIMITED`.
    pub reason: String,
    /// How many refusals the event stands for (at least 1; events of earlier releases, 1).
    pub count: u64,
    /// The address (IPv4) or /64 prefix (IPv6) the calls came from; empty when unknown or
    /// when several peers were counted together.
    pub peer: String,
    /// When the first of the counted refusals happened; `None` for a single refusal.
    pub first_occurred_at: Option<SystemTime>,
}

/// An event as callers hand it in. Carries ids, classes, rule ids and fingerprints only.
#[derive(Clone, PartialEq, Eq)]
pub enum NewEvent {
    /// The gate decided a case.
    Decided(Decided),
    /// A number was committed.
    CommitAccepted(CommitAccepted),
    /// A commit was refused.
    CommitRefused(CommitRefused),
    /// A held case was closed.
    HoldResolved(HoldResolved),
    /// A call was refused.
    AccessDenied(AccessDenied),
    /// A held case was claimed or released.
    HoldAssigned(HoldAssigned),
}

impl NewEvent {
    /// What kind of event this is.
    pub fn event_type(&self) -> EventType {
        match self {
            NewEvent::Decided(_) => EventType::VerificationDecided,
            NewEvent::CommitAccepted(_) => EventType::CommitAccepted,
            NewEvent::CommitRefused(_) => EventType::CommitRefused,
            NewEvent::HoldResolved(_) => EventType::HoldResolved,
            NewEvent::AccessDenied(_) => EventType::AccessDenied,
            NewEvent::HoldAssigned(_) => EventType::HoldAssigned,
        }
    }

    /// When it happened.
    pub fn occurred_at(&self) -> SystemTime {
        match self {
            NewEvent::Decided(e) => e.occurred_at,
            NewEvent::CommitAccepted(e) => e.occurred_at,
            NewEvent::CommitRefused(e) => e.occurred_at,
            NewEvent::HoldResolved(e) => e.occurred_at,
            NewEvent::AccessDenied(e) => e.occurred_at,
            NewEvent::HoldAssigned(e) => e.occurred_at,
        }
    }

    /// Who called.
    pub fn caller(&self) -> &str {
        match self {
            NewEvent::Decided(e) => &e.caller,
            NewEvent::CommitAccepted(e) => &e.caller,
            NewEvent::CommitRefused(e) => &e.caller,
            NewEvent::HoldResolved(e) => &e.caller,
            NewEvent::AccessDenied(e) => &e.caller,
            NewEvent::HoldAssigned(e) => &e.caller,
        }
    }

    /// The insurer the event belongs to.
    pub fn insurer_number(&self) -> &str {
        match self {
            NewEvent::Decided(e) => &e.insurer_number,
            NewEvent::CommitAccepted(e) => &e.insurer_number,
            NewEvent::CommitRefused(e) => &e.insurer_number,
            NewEvent::HoldResolved(e) => &e.insurer_number,
            NewEvent::AccessDenied(e) => &e.insurer_number,
            NewEvent::HoldAssigned(e) => &e.insurer_number,
        }
    }

    /// The verification the event is about; empty for an access denial.
    pub fn verification_id(&self) -> &str {
        match self {
            NewEvent::Decided(e) => &e.verification_id,
            NewEvent::CommitAccepted(e) => &e.verification_id,
            NewEvent::CommitRefused(e) => &e.verification_id,
            NewEvent::HoldResolved(e) => &e.verification_id,
            NewEvent::HoldAssigned(e) => &e.verification_id,
            NewEvent::AccessDenied(_) => "",
        }
    }

    /// The subject the event is about; empty for an access denial.
    pub fn subject_id(&self) -> &str {
        match self {
            NewEvent::Decided(e) => &e.subject_id,
            NewEvent::CommitAccepted(e) => &e.subject_id,
            NewEvent::CommitRefused(e) => &e.subject_id,
            NewEvent::HoldResolved(e) => &e.subject_id,
            NewEvent::HoldAssigned(e) => &e.subject_id,
            NewEvent::AccessDenied(_) => "",
        }
    }

    /// The decision's idempotency key; empty for every other event.
    pub fn request_id(&self) -> &str {
        match self {
            NewEvent::Decided(e) => &e.request_id,
            _ => "",
        }
    }

    /// The decision id of a decision; `None` for every other event.
    pub fn decision(&self) -> Option<DecisionKind> {
        match self {
            NewEvent::Decided(e) => Some(e.decision),
            _ => None,
        }
    }

    /// The number fingerprint the event carries, if any.
    pub fn number_fingerprint(&self) -> Option<&Fingerprint> {
        match self {
            NewEvent::Decided(e) => e.number_fingerprint.as_ref(),
            NewEvent::CommitAccepted(e) => Some(&e.number_fingerprint),
            NewEvent::CommitRefused(e) => e.number_fingerprint.as_ref(),
            NewEvent::HoldResolved(_) | NewEvent::AccessDenied(_) | NewEvent::HoldAssigned(_) => {
                None
            }
        }
    }

    /// The request fingerprint the event carries, if any.
    pub fn request_fingerprint(&self) -> Option<&Fingerprint> {
        match self {
            NewEvent::Decided(e) => e.request_fingerprint.as_ref(),
            NewEvent::CommitAccepted(e) => e.request_fingerprint.as_ref(),
            NewEvent::CommitRefused(e) => e.request_fingerprint.as_ref(),
            NewEvent::HoldResolved(_) | NewEvent::AccessDenied(_) | NewEvent::HoldAssigned(_) => {
                None
            }
        }
    }

    /// The decision, if this is one.
    pub fn as_decided(&self) -> Option<&Decided> {
        match self {
            NewEvent::Decided(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Debug for NewEvent {
    /// Kind, ids and sizes only; subject ids, notes and the fingerprints' MACs are left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("NewEvent");
        d.field("event_type", &self.event_type())
            .field("occurred_at_us", &micros_since_epoch(self.occurred_at()))
            .field("caller", &self.caller())
            .field("insurer_number", &self.insurer_number())
            .field("subject_id", &"<redacted>")
            .field("verification_id", &self.verification_id());
        match self {
            NewEvent::Decided(e) => d
                .field("request_id", &e.request_id)
                .field("decision", &e.decision)
                .field("policy_version", &e.policy_version)
                .field("comparisons", &e.comparisons.len())
                .field("hold_reasons", &e.hold_reasons)
                .field("candidate_fingerprints", &e.candidate_fingerprints.len()),
            NewEvent::CommitAccepted(e) => d.field("commit_id", &e.commit_id),
            NewEvent::CommitRefused(e) => d.field("reason", &e.reason),
            NewEvent::HoldResolved(e) => d
                .field("resolution", &e.resolution)
                .field("cause", &e.cause)
                .field("operator_id", &e.operator_id)
                .field("note", &"<redacted>"),
            NewEvent::AccessDenied(e) => d
                .field("rpc", &e.rpc)
                .field("reason", &e.reason)
                .field("count", &e.count)
                .field("peer", &e.peer),
            NewEvent::HoldAssigned(e) => d.field("assignee", &e.assignee),
        };
        d.field("number_fingerprint", &self.number_fingerprint())
            .field("request_fingerprint", &self.request_fingerprint())
            .finish()
    }
}

#[cfg(test)]
mod tests;
