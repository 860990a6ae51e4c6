//! The one place where service errors become gRPC statuses.
//!
//! "The caller did something wrong" (INVALID_ARGUMENT, ALREADY_EXISTS, NOT_FOUND) is kept apart
//! from "we cannot do it now" (UNAVAILABLE) and "we broke" (INTERNAL). Messages and details
//! never carry request values: they are personal data.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::{audit::AuditError, convert::FieldViolation, grpc::pb};

/// What can go wrong in a call.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The request is malformed; each violation names a field.
    #[error("invalid request: {} field(s) violated", .0.len())]
    InvalidArgument(Vec<FieldViolation>),
    /// The idempotency key was used before for different content.
    #[error("{0}")]
    AlreadyExists(String),
    /// No such verification for this insurer.
    #[error("{0}")]
    NotFound(String),
    /// The audit log cannot take the event: nothing was decided.
    #[error("the audit log is unavailable; nothing was recorded or decided")]
    Unavailable,
    /// A bug or corrupt data.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<AuditError> for ServiceError {
    fn from(e: AuditError) -> Self {
        match e {
            AuditError::Unavailable(_) => ServiceError::Unavailable,
            other => ServiceError::Internal(other.to_string()),
        }
    }
}

impl ServiceError {
    /// The gRPC code.
    pub fn code(&self) -> Code {
        match self {
            ServiceError::InvalidArgument(_) => Code::InvalidArgument,
            ServiceError::AlreadyExists(_) => Code::AlreadyExists,
            ServiceError::NotFound(_) => Code::NotFound,
            ServiceError::Unavailable => Code::Unavailable,
            ServiceError::Internal(_) => Code::Internal,
        }
    }

    /// The same error as a VerifyBatch item error.
    pub fn to_item_error(&self) -> pb::ItemError {
        pb::ItemError {
            code: self.code() as i32,
            message: self.to_string(),
            field_violations: match self {
                ServiceError::InvalidArgument(v) => v
                    .iter()
                    .map(|v| pb::FieldViolation {
                        field: v.field.clone(),
                        description: v.description.clone(),
                    })
                    .collect(),
                _ => Vec::new(),
            },
        }
    }
}

impl From<ServiceError> for Status {
    fn from(e: ServiceError) -> Self {
        match &e {
            ServiceError::InvalidArgument(violations) => {
                let mut details = ErrorDetails::new();
                for v in violations {
                    details.add_bad_request_violation(v.field.clone(), v.description.clone());
                }
                let summary: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
                Status::with_error_details(
                    Code::InvalidArgument,
                    format!("invalid request: {}", summary.join(", ")),
                    details,
                )
            }
            other => Status::new(other.code(), other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_arguments_carry_bad_request_violations_naming_the_field() {
        let status: Status = ServiceError::InvalidArgument(vec![FieldViolation {
            field: "insurer_number".into(),
            description: "must be 8 digits".into(),
        }])
        .into();
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let bad = details.bad_request().expect("BadRequest detail");
        assert_eq!(bad.field_violations[0].field, "insurer_number");
    }
}
