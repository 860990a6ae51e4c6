//! The history of a subject (SubjectHistory, the case page): every decision about one subject
//! of one insurer and every assignment, resolution and commit that followed each, oldest
//! first; and, for a re-queried hold, which of the subject's other decisions may replace it.
//!
//! Read through the subject decisions table (migrations 0010), one statement. Scoped by
//! insurer like every lookup: a subject of another insurer is not found, the same answer as a
//! subject never decided about. What an entry carries is what the audit log holds — classes,
//! reasons, ids, times and the names of the clerks who acted — never a personal value, and
//! not a resolution's note either (free text a clerk typed; the case page shows it where it
//! belongs, under its own hold).

use std::time::SystemTime;

use crate::{
    audit::{Decided, NewEvent, StoredEvent},
    domain::{
        gate::{DecisionKind, HoldReason, Resolution},
        hold_cause::HoldCause,
        outcomes::CommitRefusal,
        registration::ReplacementRefusal,
        risk::RiskClass,
    },
    verification::{VerificationError, Verifications, holds, inputs::SubjectHistory},
};

/// At most this many events in one history: far more than a person gathers (a decision and a
/// few events per form), and a bound on what one call reads.
pub const MAX_EVENTS: i64 = 1_000;

/// What happened, in one event of a subject's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryKind {
    /// A decision.
    Decided {
        /// Register, hold or return.
        decision: DecisionKind,
        /// Why it held (empty otherwise).
        hold_reasons: Vec<HoldReason>,
        /// Its risk class, for a hold.
        risk_class: Option<RiskClass>,
    },
    /// A hold claimed (`Some`) or released (`None`).
    HoldAssigned {
        /// Who works it from then on.
        assignee: Option<String>,
    },
    /// A hold closed.
    HoldResolved {
        /// How.
        resolution: Resolution,
        /// The clerk's cause, when given.
        cause: Option<HoldCause>,
        /// For a re-query: the decision that replaced the hold.
        replaced_by: Option<String>,
    },
    /// A number committed against a register decision.
    CommitAccepted {
        /// The commit's id.
        commit_id: String,
    },
    /// A commit refused.
    CommitRefused {
        /// Why.
        reason: CommitRefusal,
    },
}

/// One event of a subject's history. Its `Debug` holds ids, classes and names only: no
/// personal value is in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEvent {
    /// When.
    pub occurred_at: SystemTime,
    /// The decision it is about (its own, for a decision).
    pub verification_id: String,
    /// Who caused it: the caller of a decision or commit, the clerk of an assignment or a
    /// resolution.
    pub actor: String,
    /// What happened.
    pub kind: HistoryKind,
}

/// A subject's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectHistoryPage {
    /// The events, oldest first.
    pub events: Vec<HistoryEvent>,
    /// More events exist than [`MAX_EVENTS`]: the oldest are shown.
    pub truncated: bool,
}

/// A decision of the subject as a replacement for a hold: listed, and choosable only when
/// the rule of ResolveHold would accept it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplacementCandidate {
    /// The decision's verification id.
    pub verification_id: String,
    /// What it decided.
    pub decision: DecisionKind,
    /// When.
    pub decided_at: SystemTime,
    /// `None` when it may replace the hold; otherwise why not.
    pub refusal: Option<ReplacementRefusal>,
}

impl HistoryEvent {
    /// The history entry of a stored event; `None` for kinds a history does not show.
    fn of(stored: &StoredEvent) -> Option<Self> {
        let e = &stored.event;
        let (occurred_at, actor, kind) = match e {
            NewEvent::Decided(d) => (
                d.occurred_at,
                d.caller.clone(),
                HistoryKind::Decided {
                    decision: d.decision,
                    hold_reasons: d.hold_reasons.clone(),
                    risk_class: d.risk_class(),
                },
            ),
            NewEvent::HoldAssigned(a) => (
                a.occurred_at,
                a.caller.clone(),
                HistoryKind::HoldAssigned {
                    assignee: Some(a.assignee.clone()).filter(|a| !a.is_empty()),
                },
            ),
            NewEvent::HoldResolved(r) => (
                r.occurred_at,
                r.operator_id.clone(),
                HistoryKind::HoldResolved {
                    resolution: r.resolution,
                    cause: r.cause,
                    replaced_by: Some(r.replaced_by_verification_id.clone())
                        .filter(|id| !id.is_empty()),
                },
            ),
            NewEvent::CommitAccepted(c) => (
                c.occurred_at,
                c.caller.clone(),
                HistoryKind::CommitAccepted {
                    commit_id: c.commit_id.clone(),
                },
            ),
            NewEvent::CommitRefused(c) => (
                c.occurred_at,
                c.caller.clone(),
                HistoryKind::CommitRefused { reason: c.reason },
            ),
            NewEvent::AccessDenied(_)
            | NewEvent::ConsoleSignedIn(_)
            | NewEvent::ConsoleSignedOut(_) => return None,
        };
        Some(HistoryEvent {
            occurred_at,
            verification_id: e.verification_id().to_owned(),
            actor,
            kind,
        })
    }
}

impl Verifications {
    /// The history of `request.subject_id` at `request.insurer`, oldest first; `NotFound` when
    /// that insurer never decided about the subject (whether or not another did).
    pub async fn subject_history(
        &self,
        request: SubjectHistory,
    ) -> Result<SubjectHistoryPage, VerificationError> {
        let stored = self
            .store
            .subject_history(
                request.insurer.as_str(),
                request.subject_id.as_str(),
                MAX_EVENTS + 1,
            )
            .await?;
        if stored.is_empty() {
            return Err(VerificationError::NotFound(
                "no verification of this subject for this insurer",
            ));
        }
        let truncated = stored.len() as i64 > MAX_EVENTS;
        Ok(SubjectHistoryPage {
            events: stored
                .iter()
                .take(MAX_EVENTS as usize)
                .filter_map(HistoryEvent::of)
                .collect(),
            truncated,
        })
    }

    /// What the case page of `decided` shows below the case: its subject's history, and the
    /// subject's other decisions, oldest first, each with whether it may replace the hold (by
    /// the rule ResolveHold applies) — what a re-query's resolution chooses from. One read.
    pub async fn case_history(&self, decided: &Decided) -> Result<CaseHistory, VerificationError> {
        let stored = self
            .store
            .subject_history(&decided.insurer_number, &decided.subject_id, MAX_EVENTS + 1)
            .await?;
        let truncated = stored.len() as i64 > MAX_EVENTS;
        let stored = &stored[..stored.len().min(MAX_EVENTS as usize)];
        let candidates = stored
            .iter()
            .filter_map(|e| e.event.as_decided())
            .filter(|d| d.verification_id != decided.verification_id)
            .map(|d| ReplacementCandidate {
                verification_id: d.verification_id.clone(),
                decision: d.decision,
                decided_at: d.occurred_at,
                refusal: holds::replacement_refusal(decided, d),
            })
            .collect();
        Ok(CaseHistory {
            history: SubjectHistoryPage {
                events: stored.iter().filter_map(HistoryEvent::of).collect(),
                truncated,
            },
            candidates,
        })
    }
}

/// A case's subject history and the decisions that may replace it ([`Verifications::case_history`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseHistory {
    /// The subject's history.
    pub history: SubjectHistoryPage,
    /// The subject's other decisions, oldest first.
    pub candidates: Vec<ReplacementCandidate>,
}
