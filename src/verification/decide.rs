//! Decide and append: the one path from a Verify request to a durable decision.
//!
//! Verify and VerifyBatch call it through the gRPC service; `bulk --database` calls it
//! directly (embedded, no server), so that both give the same decision, write the same audit event and
//! treat a repeated request id the same way. The rejected alternative, a copy of this path in
//! the bulk command, would let the two drift apart in exactly the cases that matter (a replay,
//! a number registered elsewhere).

use std::{fmt, sync::Arc, time::SystemTime};

use tracing::{Instrument as _, field::Empty};

use crate::{
    audit::{
        self, AppendOutcome, AuditBackend, AuditHandle, Decided, DecidedIds, Fingerprint, KeyRing,
        NewEvent, Registration,
    },
    domain::{
        gate::{self, Decision},
        policy::Policy,
    },
    verification::{VerificationError, inputs::Verify},
};

use super::previous_keys::registrations_under_previous_keys;

/// What a decision needs: the policy, the audit log and the keys of its fingerprints.
///
/// Cheap to share behind an `Arc`; every call is independent, and the group-commit writer
/// behind [`AuditHandle`] turns concurrent calls into grouped appends.
pub struct Decider {
    /// The gate policy, fixed for the life of the process (its version goes into every event).
    policy: Policy,
    /// The group-commit writer: callers are answered after their batch commits.
    audit: AuditHandle,
    /// Reads (idempotent replays).
    store: Arc<dyn AuditBackend>,
    /// The keys of the fingerprints of numbers and request contents: the current one makes
    /// them, every one matches a replay or a registration made before a rotation.
    keys: KeyRing,
    /// Called as soon as a write fails (the server flips its health to NOT_SERVING).
    on_unavailable: Arc<dyn Fn() + Send + Sync>,
}

/// A decision as [`Decider::verify`] returns it. Its `Debug` shows the verification id only:
/// the event holds fingerprints of numbers.
#[derive(Clone)]
pub struct Verified {
    /// The decision as stored: the answer is rebuilt from it, so that a replay and
    /// GetVerification say exactly what the first answer said.
    pub decided: Decided,
    /// The audit row id of the event this call appended; `None` for a replay of an earlier
    /// decision (nothing was written).
    pub appended: Option<i64>,
}

impl std::fmt::Debug for Verified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verified")
            .field("verification_id", &self.decided.verification_id)
            .field("appended", &self.appended)
            .finish_non_exhaustive()
    }
}

impl Decider {
    /// The policy it decides with (the hold statistics judge refused comparisons by it).
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// A decider on `audit` (appends) and `store` (reads).
    pub fn new(
        policy: Policy,
        audit: AuditHandle,
        store: Arc<dyn AuditBackend>,
        keys: KeyRing,
        on_unavailable: Arc<dyn Fn() + Send + Sync>,
    ) -> Self {
        Decider {
            policy,
            audit,
            store,
            keys,
            on_unavailable,
        }
    }

    /// One verification, durable before it is returned.
    ///
    /// The audit store refuses a register decision that contradicts the registrations it
    /// holds (a number registered to another subject, a subject with another number); the
    /// gate then holds the case and that decision is appended instead, under the same
    /// verification id. Checking in the store's append transaction costs no read per call.
    ///
    /// `content` is the request as received (its encoding), which identifies it for
    /// idempotency: the same request id with other content is refused.
    pub async fn verify(
        &self,
        parsed: Verify,
        content: &[u8],
        caller: &str,
    ) -> Result<Verified, VerificationError> {
        let request_fp = self.keys.current().fingerprint(content);
        let span = decision_span(parsed.case.candidates.len());
        let mut decision = span.in_scope(|| gate::decide(&parsed.case, &self.policy));
        decision = self
            .hold_for_previous_keys(&parsed, decision)
            .instrument(span.clone())
            .await?;
        record_on_span(&span, &decision);
        drop(span);
        let verification_id = uuid::Uuid::now_v7().to_string();
        // At most twice: the second decision is a hold, which no registration contradicts.
        for _ in 0..2 {
            // Whole microseconds, as the audit log stores it, so that a replay rebuilt from the
            // event says exactly what this answer says.
            let decided_at = audit::time_from_micros(audit::micros_since_epoch(SystemTime::now()));
            let ids = self.ids(&parsed, caller, &verification_id, &request_fp, decided_at);
            let event = Decided::from_decision(ids, &decision, &parsed.case, self.keys.current());
            match self.audit.append(NewEvent::Decided(event.clone())).await {
                Ok(AppendOutcome::Appended { id }) => {
                    record_decision(&decision, &verification_id);
                    return Ok(Verified {
                        decided: event,
                        appended: Some(id),
                    });
                }
                Ok(AppendOutcome::DuplicateRequest { .. }) => {
                    let decided = self.replay(&parsed, content).await?;
                    return Ok(Verified {
                        decided,
                        appended: None,
                    });
                }
                Ok(AppendOutcome::RegisteredElsewhere { registrations }) => {
                    let found = registrations_in_view(parsed.subject_id.as_str(), &registrations);
                    let span = decision_span(parsed.case.candidates.len());
                    decision = gate::hold_for_registrations(decision, found);
                    record_on_span(&span, &decision);
                }
                Ok(AppendOutcome::RegistrationTaken { .. } | AppendOutcome::AlreadyResolved) => {
                    return Err(VerificationError::Internal(
                        "a decision was treated as a commit or resolution".into(),
                    ));
                }
                Err(e) => {
                    tracing::error!(error = %e, "audit append failed; nothing returned");
                    (self.on_unavailable)();
                    return Err(e.into());
                }
            }
        }
        Err(VerificationError::Internal(
            "the audit store refused a decision held for its registrations".into(),
        ))
    }

    /// A register decision held when its number or subject is registered under a key the
    /// ring's current one replaced (registrations under the current key are checked in the
    /// append); every other decision unchanged.
    async fn hold_for_previous_keys(
        &self,
        parsed: &Verify,
        decision: Decision,
    ) -> Result<Decision, VerificationError> {
        if decision.kind != gate::DecisionKind::Register || self.keys.previous().is_empty() {
            return Ok(decision);
        }
        let number = decision
            .selected_candidate
            .and_then(|i| parsed.case.candidates.get(i))
            .and_then(|c| c.number.as_ref().ok());
        let Some(number) = number else {
            return Ok(decision);
        };
        let subject_id = parsed.subject_id.as_str();
        let found = registrations_under_previous_keys(
            self.store.as_ref(),
            &self.keys,
            parsed.insurer.as_str(),
            subject_id,
            number,
        )
        .await?;
        Ok(gate::hold_for_registrations(decision, found))
    }

    /// The stored answer for a repeated idempotency key, if the content (`encoded`, the
    /// request as received) is the same: fingerprinted under the key the stored fingerprint
    /// names, which may be one a rotation replaced.
    async fn replay(&self, request: &Verify, encoded: &[u8]) -> Result<Decided, VerificationError> {
        let stored = self
            .store
            .find_by_request(request.insurer.as_str(), request.request_id.as_str())
            .await?
            .ok_or_else(|| {
                VerificationError::Internal("duplicate request without a stored event".into())
            })?;
        let NewEvent::Decided(decided) = stored.event else {
            return Err(VerificationError::Internal(
                "an idempotency key names no decision".into(),
            ));
        };
        let same = decided
            .request_fingerprint
            .as_ref()
            .is_some_and(|stored| self.keys.matches(stored, encoded));
        if !same {
            return Err(VerificationError::AlreadyExists(
                "request_id was already used by this insurer for a request with different content",
            ));
        }
        tracing::info!(verification_id = %decided.verification_id, "idempotent replay");
        Ok(decided)
    }

    /// What the event of a decision on `request` says besides the decision: the same for
    /// both attempts of `verify` but for the time.
    fn ids(
        &self,
        request: &Verify,
        caller: &str,
        verification_id: &str,
        request_fingerprint: &Fingerprint,
        decided_at: SystemTime,
    ) -> DecidedIds {
        DecidedIds {
            occurred_at: decided_at,
            caller: caller.to_owned(),
            insurer_number: request.insurer.as_str().to_owned(),
            subject_id: request.subject_id.as_str().to_owned(),
            subject_kind: request.subject_kind,
            request_id: request.request_id.as_str().to_owned(),
            verification_id: verification_id.to_owned(),
            policy_version: self.policy.version.clone(),
            register_by: request.register_by,
            request_fingerprint: Some(request_fingerprint.clone()),
        }
    }
}

/// What the gate needs to know of the registrations a register decision contradicted.
fn registrations_in_view(subject_id: &str, found: &[Registration]) -> gate::Registrations {
    gate::Registrations {
        number_registered_to_another_subject: found.iter().any(|r| r.subject_id != subject_id),
        subject_has_another_number: found.iter().any(|r| r.subject_id == subject_id),
    }
}

/// The span of one decision (for traces only: the log has the "decided" line). Its fields are
/// ids, classes and counts, filled by [`record_on_span`].
fn decision_span(candidates: usize) -> tracing::Span {
    tracing::info_span!(
        target: "verify_identity::trace",
        "decide",
        candidates = i64::try_from(candidates).unwrap_or(i64::MAX),
        decision = Empty,
        risk_class = Empty,
        hold_reasons = Empty,
        classes = Empty,
        rule_ids = Empty,
    )
}

/// Fills the fields of a [`decision_span`]. Nothing is formatted when no layer takes the span
/// (traces off).
fn record_on_span(span: &tracing::Span, decision: &Decision) {
    if span.is_disabled() {
        return;
    }
    span.record("decision", decision.kind.id());
    if let Some(risk) = decision.risk_class() {
        span.record("risk_class", risk.id());
    }
    if !decision.hold_reasons.is_empty() {
        let reasons: Vec<&str> = decision.hold_reasons.iter().map(|r| r.id()).collect();
        span.record("hold_reasons", reasons.join(","));
    }
    span.record("classes", tracing::field::display(Classes(decision)));
    let mut rules = crate::domain::RuleSet::EMPTY;
    for c in &decision.comparisons {
        rules = rules.union(c.comparison.rules);
    }
    if !rules.is_empty() {
        span.record("rule_ids", rules.ids().collect::<Vec<_>>().join(","));
    }
}

/// Every comparison of a decision as `stage.field[candidate]=class`, space-separated: which
/// comparisons held the case, without any value compared.
struct Classes<'a>(&'a Decision);

impl fmt::Display for Classes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.0.comparisons.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{}.{}", c.stage.as_str(), c.field.as_str())?;
            if c.stage != crate::domain::Stage::DeclaredVsQuery {
                write!(f, "[{}]", c.candidate_index)?;
            }
            write!(f, "={}", c.comparison.class.as_str())?;
        }
        Ok(())
    }
}

/// Metrics and the log line of a decision that was appended.
fn record_decision(decision: &Decision, verification_id: &str) {
    metrics::counter!("verify_decisions_total", "decision" => decision.kind.id()).increment(1);
    for reason in &decision.hold_reasons {
        metrics::counter!("verify_hold_reasons_total", "reason" => reason.id()).increment(1);
    }
    tracing::info!(
        verification_id = %verification_id,
        decision = decision.kind.id(),
        holds = decision.hold_reasons.len(),
        "decided"
    );
}
