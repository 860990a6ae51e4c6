//! What each use case takes: requests parsed once at an interface's edge into validated domain
//! types. A use case never checks these again, and never sees a transport's message type.

use std::time::SystemTime;

use crate::{
    domain::{
        gate::{Case, HoldReason, Resolution},
        hold_cause::HoldCause,
        ids::{InsurerNumber, Note, OperatorId, RequestId, SubjectId, VerificationId},
        number::IndividualNumber,
        risk::RiskClass,
        subject::SubjectKind,
    },
    verification::holds_cursor::HoldsOrder,
};

/// A Verify request parsed once at the edge: the handler never checks these again.
#[derive(Debug)]
pub struct Verify {
    /// Whose request.
    pub insurer: InsurerNumber,
    /// The caller's idempotency key.
    pub request_id: RequestId,
    /// The insurer's id for the person (required: see [`parse_verify`]).
    pub subject_id: SubjectId,
    /// Member or dependent.
    pub subject_kind: SubjectKind,
    /// The registration deadline: the form's receipt plus the registration period.
    pub register_by: Option<SystemTime>,
    /// The five fields at every stage and the candidates.
    pub case: Case,
}

/// A GetVerification request, parsed.
#[derive(Debug, Clone)]
pub struct GetVerification {
    /// Whose verification.
    pub insurer: InsurerNumber,
    /// Which.
    pub verification_id: VerificationId,
}

/// A CommitRegistration request, parsed.
#[derive(Debug, Clone)]
pub struct CommitRegistration {
    /// Whose verification.
    pub insurer: InsurerNumber,
    /// The register decision to commit against.
    pub verification_id: VerificationId,
    /// Who the number is for.
    pub subject_id: SubjectId,
    /// The number to register (its `Debug` never shows the digits).
    pub number: IndividualNumber,
    /// The encoded request, fingerprinted for the audit log (it holds the number).
    pub content: Vec<u8>,
}

/// A ResolveHold request, parsed.
#[derive(Debug, Clone)]
pub struct ResolveHold {
    /// Whose hold.
    pub insurer: InsurerNumber,
    /// The held verification.
    pub verification_id: VerificationId,
    /// How it is closed.
    pub resolution: Resolution,
    /// For a re-query: the verification that replaces the held one (never the held one).
    pub replaced_by: Option<VerificationId>,
    /// Who closes it.
    pub operator_id: OperatorId,
    /// The operator's note.
    pub note: Note,
    /// The clerk's cause, when given.
    pub cause: Option<HoldCause>,
}

/// An AssignHold request, parsed.
#[derive(Debug, Clone)]
pub struct AssignHold {
    /// Whose hold.
    pub insurer: InsurerNumber,
    /// The held verification.
    pub verification_id: VerificationId,
    /// Who works it from now on; `None` releases it.
    pub assignee: Option<OperatorId>,
}

/// A ListHolds request, parsed.
#[derive(Debug, Clone)]
pub struct ListHolds {
    /// Whose holds.
    pub insurer: InsurerNumber,
    /// At most this many.
    pub page_size: usize,
    /// The caller's page token, still sealed: bounded and hex here, opened by the service
    /// (which holds the key); `None` for the first page.
    pub page_token: Option<String>,
    /// Only holds with one of these reasons (all when empty).
    pub reasons: Vec<HoldReason>,
    /// Only holds of one of these risk classes (all when empty).
    pub risk_classes: Vec<RiskClass>,
    /// Only holds past their registration deadline.
    pub overdue_only: bool,
    /// Only holds this person works (their last claim, not released); `None`: anyone's.
    pub assignee: Option<OperatorId>,
    /// Only holds nobody works.
    pub unassigned_only: bool,
    /// The order of the listing.
    pub order: HoldsOrder,
}

/// A SubjectHistory request, parsed.
#[derive(Debug, Clone)]
pub struct SubjectHistory {
    /// Whose subject.
    pub insurer: InsurerNumber,
    /// Which person (the insurer's id for them).
    pub subject_id: SubjectId,
}
