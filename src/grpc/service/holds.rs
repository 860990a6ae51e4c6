//! Held cases: the operators' queue (ListHolds), its closing (ResolveHold), and the state of
//! a verification as GetVerification reports it.
//!
//! A resolution is an audit event like every other gate event: how it was closed, by which
//! operator, with which note and replacement, so the chain covers all of it. That a
//! hold closes once is the database's rule (`hold_resolutions`), not a read-then-write here,
//! so two operators on two replicas cannot both close it.

use std::time::SystemTime;

use crate::{
    audit::{self, AppendOutcome, Decided, HoldResolved, NewEvent, StoredEvent},
    domain::gate::{DecisionKind, HoldReason, Resolution},
    grpc::convert::{self, FieldViolation},
    grpc::{pb, status::ServiceError},
};

use super::{Inner, is_insurer_number};

/// ListHolds' page size when the caller gives none.
const DEFAULT_PAGE_SIZE: usize = 50;
/// The largest page ListHolds returns, whatever the caller asks.
const MAX_PAGE_SIZE: usize = 500;
/// Held decisions read per store query while filling a page.
const SCAN_CHUNK: i64 = 500;
/// Prefix of page tokens, so a token from another API is refused rather than misread.
const TOKEN_PREFIX: &str = "holds-after:";

/// The stored decision of `stored`, which every lookup by verification id returns.
fn decided(stored: &StoredEvent) -> Result<&Decided, ServiceError> {
    stored
        .event
        .as_decided()
        .ok_or_else(|| ServiceError::Internal("a verification id names no decision".into()))
}

impl Inner {
    /// A stored decision with its current state, from every later event of its verification.
    pub(super) async fn record(
        &self,
        stored: &StoredEvent,
    ) -> Result<pb::VerificationRecord, ServiceError> {
        let decided = decided(stored)?;
        let verification = convert::response_from_decided(decided);
        let later = self
            .store
            .find_events(&decided.insurer_number, &decided.verification_id)
            .await?;
        let committed_at = later.iter().find_map(|e| match &e.event {
            NewEvent::CommitAccepted(c) => Some(convert::timestamp(c.occurred_at)),
            _ => None,
        });
        let resolution = later.iter().find_map(|e| match &e.event {
            NewEvent::HoldResolved(r) => Some(pb::HoldResolution {
                resolution: convert::resolution_to_pb(r.resolution).into(),
                operator_id: r.operator_id.clone(),
                note: r.note.clone(),
                replaced_by_verification_id: r.replaced_by_verification_id.clone(),
                resolved_at: Some(convert::timestamp(r.occurred_at)),
            }),
            _ => None,
        });
        let state = if committed_at.is_some() {
            pb::VerificationState::Committed
        } else if resolution.is_some() {
            pb::VerificationState::HoldResolved
        } else if verification.decision() == pb::Decision::Hold {
            pb::VerificationState::Held
        } else {
            pb::VerificationState::Decided
        };
        Ok(pb::VerificationRecord {
            verification: Some(verification),
            insurer_number: decided.insurer_number.clone(),
            subject_id: decided.subject_id.clone(),
            request_id: decided.request_id.clone(),
            subject_kind: convert::subject_kind_to_pb(decided.subject_kind).into(),
            state: state.into(),
            resolution,
            committed_at,
        })
    }

    /// Closes an open hold, once.
    pub(super) async fn resolve_hold(
        &self,
        request: &pb::ResolveHoldRequest,
        caller: &str,
    ) -> Result<pb::ResolveHoldResponse, ServiceError> {
        let how = validate_resolve(request)?;
        let insurer = request.insurer_number.as_str();
        let stored = self
            .store
            .find_verification(insurer, &request.verification_id)
            .await?
            .ok_or_else(|| {
                ServiceError::NotFound("no such verification for this insurer".into())
            })?;
        let held = decided(&stored)?;
        if held.decision != DecisionKind::Hold {
            return Err(ServiceError::FailedPrecondition {
                reason: "NOT_HELD",
                message: "the verification did not decide hold",
            });
        }
        if request.resolution() == pb::Resolution::Requeried
            && self
                .store
                .find_verification(insurer, &request.replaced_by_verification_id)
                .await?
                .is_none()
        {
            return Err(ServiceError::FailedPrecondition {
                reason: "REPLACEMENT_NOT_FOUND",
                message: "replaced_by_verification_id names no verification of this insurer",
            });
        }
        let resolved_at = audit::time_from_micros(audit::micros_since_epoch(SystemTime::now()));
        let event = NewEvent::HoldResolved(HoldResolved {
            occurred_at: resolved_at,
            caller: caller.to_owned(),
            insurer_number: held.insurer_number.clone(),
            subject_id: held.subject_id.clone(),
            verification_id: held.verification_id.clone(),
            resolution: how,
            operator_id: request.operator_id.clone(),
            note: request.note.clone(),
            replaced_by_verification_id: request.replaced_by_verification_id.clone(),
        });
        match self.append(event).await? {
            AppendOutcome::Appended { .. } => {
                tracing::info!(verification_id = %request.verification_id, resolution = how.id(), "hold resolved");
            }
            AppendOutcome::AlreadyResolved => {
                return Err(ServiceError::FailedPrecondition {
                    reason: "HOLD_NOT_OPEN",
                    message: "the hold was already resolved",
                });
            }
            AppendOutcome::DuplicateRequest { .. }
            | AppendOutcome::RegistrationTaken { .. }
            | AppendOutcome::RegisteredElsewhere { .. } => {
                return Err(ServiceError::Internal(
                    "a resolution was taken for a decision or commit".into(),
                ));
            }
        }
        Ok(pb::ResolveHoldResponse {
            record: Some(self.record(&stored).await?),
        })
    }

    /// One page of open holds, oldest first, filtered.
    pub(super) async fn list_holds(
        &self,
        request: &pb::ListHoldsRequest,
    ) -> Result<pb::ListHoldsResponse, ServiceError> {
        let (page_size, mut after) = validate_list(request)?;
        let wanted: Vec<HoldReason> = request
            .reasons()
            .filter_map(convert::hold_reason_from_pb)
            .collect();
        let now = SystemTime::now();
        let mut page: Vec<StoredEvent> = Vec::with_capacity(page_size + 1);
        // One more than the page, to know whether a next page exists.
        while page.len() <= page_size {
            let chunk = self
                .store
                .list_open_holds(&request.insurer_number, after, SCAN_CHUNK)
                .await?;
            let exhausted = (chunk.len() as i64) < SCAN_CHUNK;
            for stored in chunk {
                after = stored.id;
                if page.len() <= page_size && matches(&stored, &wanted, request.overdue_only, &now)?
                {
                    page.push(stored);
                }
            }
            if exhausted {
                break;
            }
        }
        let next_page_token = if page.len() > page_size {
            page.truncate(page_size);
            page.last()
                .map(|last| hex::encode(format!("{TOKEN_PREFIX}{}", last.id)))
                .unwrap_or_default()
        } else {
            String::new()
        };
        let mut holds = Vec::with_capacity(page.len());
        for stored in &page {
            holds.push(self.record(stored).await?);
        }
        Ok(pb::ListHoldsResponse {
            holds,
            next_page_token,
        })
    }
}

/// Whether a held decision passes ListHolds' filters.
fn matches(
    stored: &StoredEvent,
    wanted: &[HoldReason],
    overdue_only: bool,
    now: &SystemTime,
) -> Result<bool, ServiceError> {
    let held = decided(stored)?;
    if !wanted.is_empty() && !held.hold_reasons.iter().any(|r| wanted.contains(r)) {
        return Ok(false);
    }
    if overdue_only {
        return Ok(held.register_by.is_some_and(|by| by < *now));
    }
    Ok(true)
}

/// The resolution, or every malformed field.
fn validate_resolve(request: &pb::ResolveHoldRequest) -> Result<Resolution, ServiceError> {
    let mut violations = Vec::new();
    let mut violate = |field: &str, description: &str| {
        violations.push(FieldViolation {
            field: field.into(),
            description: description.into(),
        });
    };
    if request.verification_id.trim().is_empty() {
        violate("verification_id", "is required");
    }
    if !is_insurer_number(&request.insurer_number) {
        violate("insurer_number", "must be 8 digits (保険者番号)");
    }
    if request.operator_id.trim().is_empty() {
        violate("operator_id", "is required");
    }
    let how = pb::Resolution::try_from(request.resolution)
        .ok()
        .and_then(convert::resolution_from_pb);
    if how.is_none() {
        violate(
            "resolution",
            "must be REQUERIED, NUMBER_FROM_PERSON or WITHDRAWN",
        );
    }
    let requeried = request.resolution == pb::Resolution::Requeried as i32;
    if requeried && request.replaced_by_verification_id.trim().is_empty() {
        violate(
            "replaced_by_verification_id",
            "is required for RESOLUTION_REQUERIED",
        );
    }
    if requeried && request.replaced_by_verification_id == request.verification_id {
        violate(
            "replaced_by_verification_id",
            "must name another verification",
        );
    }
    match how {
        Some(how) if violations.is_empty() => Ok(how),
        _ => Err(ServiceError::InvalidArgument(violations)),
    }
}

/// The page size and the row id to list after, or every malformed field.
fn validate_list(request: &pb::ListHoldsRequest) -> Result<(usize, i64), ServiceError> {
    let mut violations = Vec::new();
    if !is_insurer_number(&request.insurer_number) {
        violations.push(FieldViolation {
            field: "insurer_number".into(),
            description: "must be 8 digits (保険者番号)".into(),
        });
    }
    let page_size = match request.page_size {
        0 => DEFAULT_PAGE_SIZE,
        n if n < 0 => {
            violations.push(FieldViolation {
                field: "page_size".into(),
                description: "must not be negative".into(),
            });
            DEFAULT_PAGE_SIZE
        }
        n => usize::try_from(n)
            .unwrap_or(MAX_PAGE_SIZE)
            .min(MAX_PAGE_SIZE),
    };
    let after = if request.page_token.is_empty() {
        Some(0)
    } else {
        hex::decode(&request.page_token)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| text.strip_prefix(TOKEN_PREFIX)?.parse::<i64>().ok())
    };
    if after.is_none() {
        violations.push(FieldViolation {
            field: "page_token".into(),
            description: "is not a token from ListHolds".into(),
        });
    }
    match after {
        Some(after) if violations.is_empty() => Ok((page_size, after)),
        _ => Err(ServiceError::InvalidArgument(violations)),
    }
}
