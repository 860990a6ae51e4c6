//! The registration gate's own rules, pure: which stored decision a number may be committed
//! against, and which later decision may close a hold as its replacement. The use cases read
//! the facts from the audit store and ask here; the order of the checks is part of the contract.

use std::time::{Duration, SystemTime};

use crate::domain::gate::{CommitRefusal, DecisionKind};

/// What a commit is checked against: the stored decision, as compared with the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitFacts {
    /// The stored decision.
    pub decision: DecisionKind,
    /// Whether the request names the decision's subject.
    pub same_subject: bool,
    /// Whether the request's number is the selected candidate's.
    pub same_number: bool,
}

/// The refusal the stored decision alone calls for, checked in the contract's order: another
/// subject, then a decision that was not register, then another number.
pub fn refuse_commit(facts: &CommitFacts) -> Option<CommitRefusal> {
    if !facts.same_subject {
        Some(CommitRefusal::SubjectMismatch)
    } else if facts.decision != DecisionKind::Register {
        Some(CommitRefusal::NotRegister)
    } else if !facts.same_number {
        Some(CommitRefusal::NumberMismatch)
    } else {
        None
    }
}

/// Whether a register decision made at `decided_at` is too old to commit at `now`.
pub fn commit_expired(decided_at: SystemTime, ttl: Duration, now: SystemTime) -> bool {
    now > decided_at + ttl
}

/// Why a decision cannot replace a held one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplacementRefusal {
    /// It is about another subject (or the hold names none): a re-query could otherwise close
    /// one person's hold with another person's clean result.
    OtherSubject,
    /// It was decided before the hold, so it cannot be the re-query.
    NotLater,
}

/// Checks that a decision about `replacement_subject` at `replacement_at` may replace the hold
/// about `held_subject` decided at `held_at` (the insurer is the same already: the replacement
/// is looked up under the hold's insurer).
pub fn check_replacement(
    (held_subject, held_at): (&str, SystemTime),
    (replacement_subject, replacement_at): (&str, SystemTime),
) -> Result<(), ReplacementRefusal> {
    if held_subject.is_empty() || replacement_subject != held_subject {
        return Err(ReplacementRefusal::OtherSubject);
    }
    if replacement_at <= held_at {
        return Err(ReplacementRefusal::NotLater);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(decision: DecisionKind, same_subject: bool, same_number: bool) -> CommitFacts {
        CommitFacts {
            decision,
            same_subject,
            same_number,
        }
    }

    #[test]
    fn a_commit_is_refused_for_the_first_fact_that_fails_in_the_contracts_order() {
        use DecisionKind::{Hold, Register};
        assert_eq!(refuse_commit(&facts(Register, true, true)), None);
        assert_eq!(
            refuse_commit(&facts(Hold, false, false)),
            Some(CommitRefusal::SubjectMismatch)
        );
        assert_eq!(
            refuse_commit(&facts(Hold, true, false)),
            Some(CommitRefusal::NotRegister)
        );
        assert_eq!(
            refuse_commit(&facts(Register, true, false)),
            Some(CommitRefusal::NumberMismatch)
        );
    }

    #[test]
    fn a_decision_expires_after_its_ttl_and_not_at_it() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let ttl = Duration::from_secs(60);
        assert!(!commit_expired(t, ttl, t + ttl));
        assert!(commit_expired(t, ttl, t + ttl + Duration::from_micros(1)));
    }

    #[test]
    fn a_replacement_is_a_later_decision_about_the_same_subject() {
        let held = SystemTime::UNIX_EPOCH + Duration::from_secs(10);
        let later = held + Duration::from_secs(1);
        assert_eq!(check_replacement(("S1", held), ("S1", later)), Ok(()));
        assert_eq!(
            check_replacement(("S1", held), ("S2", later)),
            Err(ReplacementRefusal::OtherSubject)
        );
        assert_eq!(
            check_replacement(("", held), ("", later)),
            Err(ReplacementRefusal::OtherSubject)
        );
        assert_eq!(
            check_replacement(("S1", held), ("S1", held)),
            Err(ReplacementRefusal::NotLater)
        );
    }
}
