//! Why a use case did not do what it was asked: the caller's fault kept apart from ours, as
//! every interface must tell them apart (a gRPC status, a page that says what to fix, an exit
//! status). Messages never carry request values: they are personal data.

use crate::{audit::AuditError, domain::violation::FieldViolation};

/// What can go wrong in a use case.
#[derive(Debug, thiserror::Error)]
pub enum VerificationError {
    /// The input is malformed; each violation names a field.
    #[error("invalid request: {} field(s) violated", .0.len())]
    InvalidArgument(Vec<FieldViolation>),
    /// The idempotency key was used before for different content.
    #[error("{0}")]
    AlreadyExists(&'static str),
    /// No such verification for this insurer (the same answer whether it exists for another
    /// insurer or not at all).
    #[error("{0}")]
    NotFound(&'static str),
    /// The gate refuses: the input is well formed but the state does not allow it. `reason` is
    /// the stable id (`NUMBER_MISMATCH` …) that interfaces show and the audit log records.
    #[error("{message} ({reason})")]
    Refused {
        /// Stable id, documented in the proto.
        reason: &'static str,
        /// A description without personal data.
        message: &'static str,
    },
    /// The audit log cannot take the event: nothing was decided.
    #[error("the audit log is unavailable; nothing was recorded or decided")]
    Unavailable,
    /// A bug or corrupt data.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<AuditError> for VerificationError {
    fn from(e: AuditError) -> Self {
        match e {
            AuditError::Unavailable(_) => VerificationError::Unavailable,
            other => VerificationError::Internal(other.to_string()),
        }
    }
}

impl VerificationError {
    /// A refusal of the holds queue (`HOLD_NOT_OPEN` …).
    pub(crate) const fn refused(reason: &'static str, message: &'static str) -> Self {
        VerificationError::Refused { reason, message }
    }
}
