//! Held cases: the operators' queue (ListHolds), its closing (ResolveHold), and the state of
//! a verification as GetVerification reports it.
//!
//! A resolution is an audit event like every other gate event: how it was closed, by which
//! operator, with which note and replacement, so the chain covers all of it. That a
//! hold closes once is the database's rule (`hold_resolutions`), not a read-then-write here,
//! so two operators on two replicas cannot both close it. A replacement must be a later
//! decision about the same subject of the same insurer: otherwise a re-query could close one
//! person's hold with another person's clean result.
//!
//! ListHolds' page tokens are sealed ([`crate::grpc::page_token`]); the cursor inside is the
//! row id the next page starts after.

use std::time::SystemTime;

use crate::{
    audit::{self, AppendOutcome, Decided, HoldResolved, NewEvent, StoredEvent},
    domain::gate::{DecisionKind, HoldReason},
    grpc::convert::{self, FieldViolation},
    grpc::{page_token::InvalidToken, pb, status::ServiceError},
};

use super::Inner;

/// Held decisions read per store query while filling a page.
const SCAN_CHUNK: i64 = 500;

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
        request: convert::ResolveHold,
        caller: &str,
    ) -> Result<pb::ResolveHoldResponse, ServiceError> {
        let how = request.resolution;
        let insurer = request.insurer.as_str();
        let stored = self
            .store
            .find_verification(insurer, request.verification_id.as_str())
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
        if let Some(id) = &request.replaced_by {
            let replacement = self
                .store
                .find_verification(insurer, id.as_str())
                .await?
                .ok_or(ServiceError::FailedPrecondition {
                    reason: "REPLACEMENT_NOT_FOUND",
                    message: "replaced_by_verification_id names no verification of this insurer",
                })?;
            check_replacement(held, decided(&replacement)?)?;
        }
        let resolved_at = audit::time_from_micros(audit::micros_since_epoch(SystemTime::now()));
        let event = NewEvent::HoldResolved(HoldResolved {
            occurred_at: resolved_at,
            caller: caller.to_owned(),
            insurer_number: held.insurer_number.clone(),
            subject_id: held.subject_id.clone(),
            verification_id: held.verification_id.clone(),
            resolution: how,
            replaced_by_verification_id: request
                .replaced_by
                .as_ref()
                .map_or_else(String::new, |id| id.as_str().to_owned()),
            operator_id: request.operator_id.as_str().to_owned(),
            note: request.note.into_string(),
        });
        match self.append(event).await? {
            AppendOutcome::Appended { .. } => {
                tracing::info!(verification_id = %held.verification_id, resolution = how.id(), "hold resolved");
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
        request: convert::ListHolds,
    ) -> Result<pb::ListHoldsResponse, ServiceError> {
        let page_size = request.page_size;
        let mut after = match &request.page_token {
            None => 0,
            Some(token) => self
                .page_tokens
                .open(&request.insurer, token)
                .ok()
                .and_then(|cursor| Some(i64::from_be_bytes(cursor.try_into().ok()?)))
                .ok_or_else(|| {
                    ServiceError::InvalidArgument(vec![FieldViolation {
                        field: "page_token".into(),
                        description: InvalidToken.to_string(),
                    }])
                })?,
        };
        let wanted = &request.reasons;
        let now = SystemTime::now();
        let mut page: Vec<StoredEvent> = Vec::with_capacity(page_size + 1);
        // One more than the page, to know whether a next page exists.
        while page.len() <= page_size {
            let chunk = self
                .store
                .list_open_holds(request.insurer.as_str(), after, SCAN_CHUNK)
                .await?;
            let exhausted = (chunk.len() as i64) < SCAN_CHUNK;
            for stored in chunk {
                after = stored.id;
                if page.len() <= page_size && matches(&stored, wanted, request.overdue_only, &now)?
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
                .map(|last| {
                    self.page_tokens
                        .seal(&request.insurer, &last.id.to_be_bytes())
                })
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

/// Refuses a replacement that is not a later decision about the held subject. The insurer is
/// the same already: the replacement was looked up under the held decision's insurer.
fn check_replacement(held: &Decided, replacement: &Decided) -> Result<(), ServiceError> {
    // A hold without a subject id cannot be shown to be about the replacement's person.
    if held.subject_id.is_empty() || replacement.subject_id != held.subject_id {
        return Err(ServiceError::FailedPrecondition {
            reason: "REPLACEMENT_OTHER_SUBJECT",
            message: "replaced_by_verification_id is a verification of another subject",
        });
    }
    if replacement.occurred_at <= held.occurred_at {
        return Err(ServiceError::FailedPrecondition {
            reason: "REPLACEMENT_NOT_LATER",
            message: "replaced_by_verification_id was decided before the hold",
        });
    }
    Ok(())
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
