//! The one place where service errors become gRPC statuses.
//!
//! "The caller did something wrong" (INVALID_ARGUMENT, ALREADY_EXISTS, NOT_FOUND) is kept apart
//! from "we cannot do it now" (UNAVAILABLE) and "we broke" (INTERNAL). Messages and details
//! never carry request values: they are personal data.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::{
    contract::pb, domain::violation::FieldViolation, grpc::auth::AuthError,
    verification::VerificationError,
};

/// The `domain` of every `google.rpc.ErrorInfo` this service returns.
pub const ERROR_DOMAIN: &str = "verifyidentity.v1";

/// What can go wrong in a call: the transport's own refusal (who may call), or the use case's.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The caller is unknown (UNAUTHENTICATED) or may not do this (PERMISSION_DENIED).
    #[error("{0}")]
    Denied(#[from] AuthError),
    /// The request was parsed and the use case refused or failed.
    #[error("{0}")]
    Failed(#[from] VerificationError),
}

/// A request that did not parse: each violation names a field.
impl From<Vec<FieldViolation>> for ServiceError {
    fn from(violations: Vec<FieldViolation>) -> Self {
        ServiceError::Failed(VerificationError::InvalidArgument(violations))
    }
}

impl ServiceError {
    /// The gRPC code.
    pub fn code(&self) -> Code {
        match self {
            ServiceError::Denied(AuthError::Unauthenticated) => Code::Unauthenticated,
            ServiceError::Denied(_) => Code::PermissionDenied,
            ServiceError::Failed(e) => match e {
                VerificationError::InvalidArgument(_) => Code::InvalidArgument,
                VerificationError::AlreadyExists(_) => Code::AlreadyExists,
                VerificationError::NotFound(_) => Code::NotFound,
                VerificationError::Refused { .. } => Code::FailedPrecondition,
                VerificationError::Unavailable => Code::Unavailable,
                VerificationError::Internal(_) => Code::Internal,
            },
        }
    }

    /// The same error as a VerifyBatch item error.
    pub fn to_item_error(&self) -> pb::ItemError {
        pb::ItemError {
            code: self.code() as i32,
            message: self.to_string(),
            field_violations: match self {
                ServiceError::Failed(VerificationError::InvalidArgument(v)) => v
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
            ServiceError::Failed(VerificationError::InvalidArgument(violations)) => {
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
            ServiceError::Failed(VerificationError::Refused { reason, .. }) => {
                Status::with_error_details(
                    Code::FailedPrecondition,
                    e.to_string(),
                    ErrorDetails::with_error_info(*reason, ERROR_DOMAIN, HashMap::new()),
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
        let status: Status = ServiceError::from(vec![FieldViolation {
            field: "insurer_number".into(),
            description: "must be 8 digits".into(),
        }])
        .into();
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let bad = details.bad_request().expect("BadRequest detail");
        assert_eq!(bad.field_violations[0].field, "insurer_number");
    }

    #[test]
    fn unknown_callers_are_unauthenticated_and_known_ones_out_of_bounds_permission_denied() {
        let unknown: Status = ServiceError::from(AuthError::Unauthenticated).into();
        assert_eq!(unknown.code(), Code::Unauthenticated);
        let outside: Status = ServiceError::from(AuthError::InsurerNotGranted {
            caller: "registration-system".into(),
        })
        .into();
        assert_eq!(outside.code(), Code::PermissionDenied);
    }

    #[test]
    fn a_gate_refusal_is_failed_precondition_with_its_reason_in_error_info() {
        let status: Status = ServiceError::from(VerificationError::Refused {
            reason: "NUMBER_MISMATCH",
            message: "the number is not the selected candidate's",
        })
        .into();
        assert_eq!(status.code(), Code::FailedPrecondition);
        let info = status.get_error_details().error_info().cloned().unwrap();
        assert_eq!(info.reason, "NUMBER_MISMATCH");
        assert_eq!(info.domain, ERROR_DOMAIN);
    }
}
