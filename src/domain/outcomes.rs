//! The words of the gate's outcomes: decisions, hold reasons, resolutions and commit refusals.
//!
//! Each has a stable id that the audit log stores and the contract, metrics and exports use. They
//! live apart from the gate's logic so that the risk triage (which reads hold reasons) and the
//! gate (which reads the triage) do not import each other.

/// What the insurer should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecisionKind {
    /// The selected candidate's number may be registered.
    Register,
    /// Do not take the number; confirm with the person.
    Hold,
    /// Send the form back to the employer for completion.
    Return,
}

/// Why a case is held. Order is the contract's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HoldReason {
    /// A field compared outside the policy.
    FieldDiffers,
    /// J-LIS returned nobody.
    NoCandidate,
    /// J-LIS returned several people.
    MultipleCandidates,
    /// A candidate's number is invalid.
    InvalidCheckDigit,
    /// The number on the form differs from the candidate's, or is itself invalid.
    DeclaredNumberDiffers,
    /// The query lacks a field.
    QueryIncomplete,
    /// The number is already registered for another subject (decided by the audit store).
    NumberRegisteredToAnotherSubject,
    /// The subject already has another registered number (decided by the audit store).
    SubjectHasAnotherNumber,
}

impl DecisionKind {
    /// Every decision, in contract order.
    pub const ALL: [DecisionKind; 3] = [
        DecisionKind::Register,
        DecisionKind::Hold,
        DecisionKind::Return,
    ];

    /// The stable id: stored in the audit log, shown in exports and metrics. Never changes.
    pub const fn id(self) -> &'static str {
        match self {
            DecisionKind::Register => "register",
            DecisionKind::Hold => "hold",
            DecisionKind::Return => "return",
        }
    }

    /// The decision with this id, if any.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.id() == id)
    }
}

impl HoldReason {
    /// Every hold reason, in contract order.
    pub const ALL: [HoldReason; 8] = [
        HoldReason::FieldDiffers,
        HoldReason::NoCandidate,
        HoldReason::MultipleCandidates,
        HoldReason::InvalidCheckDigit,
        HoldReason::DeclaredNumberDiffers,
        HoldReason::QueryIncomplete,
        HoldReason::NumberRegisteredToAnotherSubject,
        HoldReason::SubjectHasAnotherNumber,
    ];

    /// The stable id: stored in the audit log and used to filter held cases. Never changes.
    pub const fn id(self) -> &'static str {
        match self {
            HoldReason::FieldDiffers => "field_differs",
            HoldReason::NoCandidate => "no_candidate",
            HoldReason::MultipleCandidates => "multiple_candidates",
            HoldReason::InvalidCheckDigit => "invalid_check_digit",
            HoldReason::DeclaredNumberDiffers => "declared_number_differs",
            HoldReason::QueryIncomplete => "query_incomplete",
            HoldReason::NumberRegisteredToAnotherSubject => "number_registered_to_another_subject",
            HoldReason::SubjectHasAnotherNumber => "subject_has_another_number",
        }
    }

    /// The hold reason with this id, if any.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.id() == id)
    }
}

/// How an operator closed a held case after confirming with the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resolution {
    /// The person was looked up again; a new verification replaces the held one.
    Requeried,
    /// The number came from the person; it still needs its own verification.
    NumberFromPerson,
    /// The application was cancelled.
    Withdrawn,
}

impl Resolution {
    /// Every resolution, in contract order.
    pub const ALL: [Resolution; 3] = [
        Resolution::Requeried,
        Resolution::NumberFromPerson,
        Resolution::Withdrawn,
    ];

    /// The stable id stored in the audit log. Never changes.
    pub const fn id(self) -> &'static str {
        match self {
            Resolution::Requeried => "requeried",
            Resolution::NumberFromPerson => "number_from_person",
            Resolution::Withdrawn => "withdrawn",
        }
    }

    /// The resolution with this id, if any.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.id() == id)
    }
}

/// Why the registration gate refuses to commit a number against a verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommitRefusal {
    /// No verification with this id for this insurer (another insurer's id looks the same,
    /// so that ids cannot be probed across insurers).
    VerificationNotFound,
    /// The verification is about another subject.
    SubjectMismatch,
    /// The decision was hold or return.
    NotRegister,
    /// The number is not the selected candidate's.
    NumberMismatch,
    /// The decision is older than the commit TTL.
    Expired,
    /// The number is already registered for another subject of this insurer.
    NumberRegisteredToAnotherSubject,
    /// The subject already has a different registered number.
    SubjectHasAnotherNumber,
}

impl CommitRefusal {
    /// Every refusal, in contract order.
    pub const ALL: [CommitRefusal; 7] = [
        CommitRefusal::VerificationNotFound,
        CommitRefusal::SubjectMismatch,
        CommitRefusal::NotRegister,
        CommitRefusal::NumberMismatch,
        CommitRefusal::Expired,
        CommitRefusal::NumberRegisteredToAnotherSubject,
        CommitRefusal::SubjectHasAnotherNumber,
    ];

    /// The stable id stored in the audit log. Never changes.
    pub const fn id(self) -> &'static str {
        match self {
            CommitRefusal::VerificationNotFound => "verification_not_found",
            CommitRefusal::SubjectMismatch => "subject_mismatch",
            CommitRefusal::NotRegister => "not_register",
            CommitRefusal::NumberMismatch => "number_mismatch",
            CommitRefusal::Expired => "expired",
            CommitRefusal::NumberRegisteredToAnotherSubject => {
                "number_registered_to_another_subject"
            }
            CommitRefusal::SubjectHasAnotherNumber => "subject_has_another_number",
        }
    }

    /// The refusal with this id, if any.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.id() == id)
    }
}
