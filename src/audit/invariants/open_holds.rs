//! `open_holds` (migrations 0008) rebuilt from the chain: every held decision that no
//! resolution closed, with the assignee of its last assignment.

use crate::audit::{
    invariants::{AssignmentFact, ResolutionFact},
    store::open_holds::OpenHoldRow,
};

/// The rows `open_holds` must hold: every held decision that no resolution closed (by its
/// insurer and verification), with the assignee of its last assignment, sorted by key and then
/// hold id.
pub(super) fn expected(
    mut holds: Vec<OpenHoldRow>,
    resolutions: &[ResolutionFact],
    mut assignments: Vec<AssignmentFact>,
) -> Vec<OpenHoldRow> {
    // `resolutions` is sorted by key already.
    holds.retain(|h| {
        resolutions
            .binary_search_by(|r| {
                (&*r.key.0, &*r.key.1).cmp(&(h.insurer_number.as_str(), h.verification_id.as_str()))
            })
            .is_err()
    });
    holds.sort_unstable_by(|a, b| {
        (&a.insurer_number, &a.verification_id, a.hold_id).cmp(&(
            &b.insurer_number,
            &b.verification_id,
            b.hold_id,
        ))
    });
    // By key, then event id: the last insert of each key is its last assignment.
    assignments.sort_unstable();
    let mut last: std::collections::HashMap<(&str, &str), &str> = std::collections::HashMap::new();
    for (insurer, verification, _, assignee) in &assignments {
        last.insert((insurer, verification), assignee);
    }
    for h in &mut holds {
        if let Some(who) = last.get(&(h.insurer_number.as_str(), h.verification_id.as_str())) {
            h.assignee = (*who).to_owned();
        }
    }
    holds
}
