//! CommitRegistration: the last check before a number leaves for the 中間サーバー.
//!
//! The order of the checks is part of the contract: the cheapest facts about the stored
//! decision first, then an earlier commit of the same verification (a repeat is answered with
//! the original even after the decision has expired), then the deadline, and last the
//! database's own word on duplicates, which is the only check that holds against a concurrent
//! commit on another replica. Every refusal is an audit event with its reason, and so is every
//! success; a malformed request is neither.

use std::time::SystemTime;

use crate::{
    audit::{
        self, AppendOutcome, CommitAccepted, CommitRefused, Fingerprint, NewEvent, Registration,
        StoredEvent,
    },
    domain::{
        gate::CommitRefusal,
        registration::{self, CommitFacts},
    },
    verification::{
        VerificationError, Verifications, inputs::CommitRegistration,
        previous_keys::registrations_under_previous_keys,
    },
};

/// An accepted commit, as every repeat of it is answered too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// The commit's id.
    pub commit_id: String,
    /// When it was accepted (whole microseconds, as stored).
    pub committed_at: SystemTime,
}

/// The contract's spelling of a refusal (`ErrorInfo.reason`, documented on
/// CommitRegistration in the proto) and its message. The audit log stores the domain's id.
pub(crate) fn refusal_reason(refusal: CommitRefusal) -> &'static str {
    match refusal {
        CommitRefusal::VerificationNotFound => "VERIFICATION_NOT_FOUND",
        CommitRefusal::SubjectMismatch => "SUBJECT_MISMATCH",
        CommitRefusal::NotRegister => "NOT_REGISTER",
        CommitRefusal::NumberMismatch => "NUMBER_MISMATCH",
        CommitRefusal::Expired => "EXPIRED",
        CommitRefusal::NumberRegisteredToAnotherSubject => "NUMBER_REGISTERED_TO_ANOTHER_SUBJECT",
        CommitRefusal::SubjectHasAnotherNumber => "SUBJECT_HAS_ANOTHER_NUMBER",
    }
}

fn refusal_message(refusal: CommitRefusal) -> &'static str {
    match refusal {
        CommitRefusal::VerificationNotFound => "no such verification for this insurer",
        CommitRefusal::SubjectMismatch => "the verification is about another subject",
        CommitRefusal::NotRegister => "the verification did not decide register",
        CommitRefusal::NumberMismatch => "the number is not the selected candidate's",
        CommitRefusal::Expired => "the verification is too old to commit; verify again",
        CommitRefusal::NumberRegisteredToAnotherSubject => {
            "the number is already registered for another subject"
        }
        CommitRefusal::SubjectHasAnotherNumber => {
            "the subject already has another registered number"
        }
    }
}

/// What the checks on the stored decision concluded.
enum Checked {
    /// Refuse with this reason.
    Refuse(CommitRefusal),
    /// This verification was committed before: answer with the original.
    Repeat(Committed),
    /// Try to claim the registration.
    Claim,
}

impl Verifications {
    /// One commit: durable (accepted or refused) before it is answered.
    pub async fn commit(
        &self,
        request: CommitRegistration,
        caller: &str,
    ) -> Result<Committed, VerificationError> {
        let request = &request;
        let fp = self.keys.current().fingerprint_number(&request.number);
        let stored = self
            .store
            .find_verification(request.insurer.as_str(), request.verification_id.as_str())
            .await?;
        let checked = match &stored {
            None => Checked::Refuse(CommitRefusal::VerificationNotFound),
            Some(stored) => self.check(stored, request).await?,
        };
        match checked {
            Checked::Refuse(refusal) => {
                return Err(self.refuse(request, &fp, refusal, caller).await);
            }
            Checked::Repeat(original) => return Ok(original),
            Checked::Claim => {}
        }
        if let Some(refusal) = self.registered_under_previous_keys(request).await? {
            return Err(self.refuse(request, &fp, refusal, caller).await);
        }

        // Whole microseconds, as the audit log stores it, so that GetVerification reports
        // exactly the committed_at this call returns.
        let committed_at = audit::time_from_micros(audit::micros_since_epoch(SystemTime::now()));
        let commit = CommitAccepted {
            occurred_at: committed_at,
            caller: caller.to_owned(),
            insurer_number: request.insurer.as_str().to_owned(),
            subject_id: request.subject_id.as_str().to_owned(),
            verification_id: request.verification_id.as_str().to_owned(),
            commit_id: uuid::Uuid::now_v7().to_string(),
            number_fingerprint: fp.clone(),
            // Keyed: the request holds the number.
            request_fingerprint: Some(self.keys.current().fingerprint(&request.content)),
        };
        let response = commit_response(&commit);
        let event = NewEvent::CommitAccepted(commit);
        match self.append(event).await? {
            AppendOutcome::Appended { .. } => {
                tracing::info!(verification_id = %request.verification_id.as_str(), "commit accepted");
                Ok(response)
            }
            AppendOutcome::RegistrationTaken { existing } => {
                self.collided(request, &fp, &existing, caller).await
            }
            AppendOutcome::DuplicateRequest { .. }
            | AppendOutcome::AlreadyResolved
            | AppendOutcome::RegisteredElsewhere { .. } => Err(VerificationError::Internal(
                "a commit was taken for a decision or resolution".into(),
            )),
        }
    }

    /// The checks that need only the stored decision and its later events.
    async fn check(
        &self,
        stored: &StoredEvent,
        request: &CommitRegistration,
    ) -> Result<Checked, VerificationError> {
        let NewEvent::Decided(decided) = &stored.event else {
            return Err(VerificationError::Internal(
                "a verification id names no decision".into(),
            ));
        };
        // Under the key the decision's fingerprint names: a decision made before a key
        // rotation is committed after it with the same number.
        let facts = CommitFacts {
            decision: decided.decision,
            same_subject: decided.subject_id == request.subject_id.as_str(),
            same_number: decided
                .number_fingerprint
                .as_ref()
                .is_some_and(|stored| self.keys.matches_number(stored, &request.number)),
        };
        if let Some(refusal) = registration::refuse_commit(&facts) {
            return Ok(Checked::Refuse(refusal));
        }
        if let Some(original) = self
            .original_commit(request.insurer.as_str(), request.verification_id.as_str())
            .await?
        {
            return Ok(Checked::Repeat(original));
        }
        if registration::commit_expired(decided.occurred_at, self.commit_ttl, SystemTime::now()) {
            return Ok(Checked::Refuse(CommitRefusal::Expired));
        }
        Ok(Checked::Claim)
    }

    /// The answer to a commit whose registration the database refused: a repeat (the same
    /// number for the same subject, committed by a concurrent call) or a duplicate.
    async fn collided(
        &self,
        request: &CommitRegistration,
        fp: &Fingerprint,
        existing: &Registration,
        caller: &str,
    ) -> Result<Committed, VerificationError> {
        let same_number = self
            .keys
            .matches_number(&existing.number_fingerprint, &request.number);
        let same_subject = existing.subject_id == request.subject_id.as_str();
        let refusal = match (same_number, same_subject) {
            (true, true) => {
                return self
                    .original_commit(request.insurer.as_str(), &existing.verification_id)
                    .await?
                    .ok_or_else(|| {
                        VerificationError::Internal(
                            "a registration without its commit event".into(),
                        )
                    });
            }
            (true, false) => CommitRefusal::NumberRegisteredToAnotherSubject,
            (false, _) => CommitRefusal::SubjectHasAnotherNumber,
        };
        Err(self.refuse(request, fp, refusal, caller).await)
    }

    /// The refusal a registration made under a key the current one replaced calls for: the
    /// number registered then to another subject, or the subject then with another number.
    /// (Under the current key, the database's claim decides.)
    async fn registered_under_previous_keys(
        &self,
        request: &CommitRegistration,
    ) -> Result<Option<CommitRefusal>, VerificationError> {
        if self.keys.previous().is_empty() {
            return Ok(None);
        }
        let found = registrations_under_previous_keys(
            self.store.as_ref(),
            &self.keys,
            request.insurer.as_str(),
            request.subject_id.as_str(),
            &request.number,
        )
        .await?;
        Ok(if found.number_registered_to_another_subject {
            Some(CommitRefusal::NumberRegisteredToAnotherSubject)
        } else if found.subject_has_another_number {
            Some(CommitRefusal::SubjectHasAnotherNumber)
        } else {
            None
        })
    }

    /// The response of the accepted commit of this verification, if there is one.
    async fn original_commit(
        &self,
        insurer_number: &str,
        verification_id: &str,
    ) -> Result<Option<Committed>, VerificationError> {
        let events = self
            .store
            .find_events(insurer_number, verification_id)
            .await?;
        Ok(events.iter().find_map(|e| match &e.event {
            NewEvent::CommitAccepted(commit) => Some(commit_response(commit)),
            _ => None,
        }))
    }

    /// Records a refusal and returns the error to answer with (UNAVAILABLE when the refusal
    /// itself cannot be recorded).
    async fn refuse(
        &self,
        request: &CommitRegistration,
        fp: &Fingerprint,
        refusal: CommitRefusal,
        caller: &str,
    ) -> VerificationError {
        let event = NewEvent::CommitRefused(CommitRefused {
            occurred_at: SystemTime::now(),
            caller: caller.to_owned(),
            insurer_number: request.insurer.as_str().to_owned(),
            subject_id: request.subject_id.as_str().to_owned(),
            verification_id: request.verification_id.as_str().to_owned(),
            reason: refusal,
            number_fingerprint: Some(fp.clone()),
            // Keyed: the request holds the number.
            request_fingerprint: Some(self.keys.current().fingerprint(&request.content)),
        });
        if let Err(e) = self.append(event).await {
            return e;
        }
        let reason = refusal_reason(refusal);
        tracing::info!(reason, "commit refused");
        metrics::counter!("verify_commit_refusals_total", "reason" => reason).increment(1);
        VerificationError::Refused {
            reason,
            message: refusal_message(refusal),
        }
    }

    /// Appends through the group-commit writer; an outage turns health off.
    pub(crate) async fn append(&self, event: NewEvent) -> Result<AppendOutcome, VerificationError> {
        self.audit.append(event).await.map_err(|e| {
            tracing::error!(error = %e, "audit append failed; nothing returned");
            (self.on_unavailable)();
            VerificationError::from(e)
        })
    }
}

/// The answer to an accepted commit, and to every repeat of it.
fn commit_response(commit: &CommitAccepted) -> Committed {
    Committed {
        commit_id: commit.commit_id.clone(),
        committed_at: commit.occurred_at,
    }
}
