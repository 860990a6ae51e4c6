//! A stored verification and where it stands: decided, held, its hold resolved, or committed.
//! What GetVerification, ResolveHold and ListHolds answer with, and what the console shows.

use std::time::SystemTime;

use crate::{
    audit::{Decided, HoldResolved, NewEvent, StoredEvent},
    domain::gate::DecisionKind,
    verification::{VerificationError, Verifications},
};

/// Where a verification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Decided register or return; nothing has followed.
    Decided,
    /// Decided hold; not resolved yet.
    Held,
    /// A hold an operator closed.
    HoldResolved,
    /// A register decision whose number was committed.
    Committed,
}

impl State {
    /// The stable id (`held` …).
    pub const fn id(self) -> &'static str {
        match self {
            State::Decided => "decided",
            State::Held => "held",
            State::HoldResolved => "hold_resolved",
            State::Committed => "committed",
        }
    }
}

/// A stored decision with what followed it. Its `Debug` shows the verification id and state
/// only: the events hold fingerprints of numbers and operators' notes.
#[derive(Clone)]
pub struct VerificationRecord {
    /// The decision as stored.
    pub decided: Decided,
    /// Where it stands now.
    pub state: State,
    /// How its hold was closed, once it was.
    pub resolution: Option<HoldResolved>,
    /// When its number was committed, once it was.
    pub committed_at: Option<SystemTime>,
    /// Who works the hold now (the last claim, unless released since); `None`: nobody.
    pub assignee: Option<String>,
}

impl std::fmt::Debug for VerificationRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerificationRecord")
            .field("verification_id", &self.decided.verification_id)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// The stored decision of `stored`, which every lookup by verification id returns.
pub(crate) fn decided(stored: &StoredEvent) -> Result<&Decided, VerificationError> {
    stored
        .event
        .as_decided()
        .ok_or_else(|| VerificationError::Internal("a verification id names no decision".into()))
}

impl Verifications {
    /// A stored decision with its current state, from every later event of its verification.
    pub async fn record(
        &self,
        stored: &StoredEvent,
    ) -> Result<VerificationRecord, VerificationError> {
        let decided = decided(stored)?.clone();
        let later = self
            .store
            .find_events(&decided.insurer_number, &decided.verification_id)
            .await?;
        let committed_at = later.iter().find_map(|e| match &e.event {
            NewEvent::CommitAccepted(c) => Some(c.occurred_at),
            _ => None,
        });
        let resolution = later.iter().find_map(|e| match &e.event {
            NewEvent::HoldResolved(r) => Some(r.clone()),
            _ => None,
        });
        let assignee = later
            .iter()
            .rev()
            .find_map(|e| match &e.event {
                NewEvent::HoldAssigned(a) => Some(a.assignee.clone()),
                _ => None,
            })
            .filter(|a| !a.is_empty());
        let state = if committed_at.is_some() {
            State::Committed
        } else if resolution.is_some() {
            State::HoldResolved
        } else if decided.decision == DecisionKind::Hold {
            State::Held
        } else {
            State::Decided
        };
        Ok(VerificationRecord {
            decided,
            state,
            resolution,
            committed_at,
            assignee,
        })
    }

    /// The verification `verification_id` of `insurer_number` with its state; `NotFound` when
    /// that insurer made none (whether or not another did).
    pub async fn get(
        &self,
        insurer_number: &str,
        verification_id: &str,
    ) -> Result<VerificationRecord, VerificationError> {
        let stored = self
            .store
            .find_verification(insurer_number, verification_id)
            .await?
            .ok_or(VerificationError::NotFound(
                "no such verification for this insurer",
            ))?;
        self.record(&stored).await
    }
}
