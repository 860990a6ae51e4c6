//! `hold_facts` and `hold_candidates` (migrations 0011) rebuilt from the chain: what the
//! append path writes, from every held decision, every first resolution of one, and the first
//! decision of each verification that replaced one.

use crate::audit::{
    Fingerprint, HoldResolved,
    invariants::{Finding, GateTable},
    store::hold_facts::{CandidateRow, HoldFactRow},
};

/// The rows `hold_facts` must hold, sorted by key and then hold id: every held decision
/// (`holds`), closed by the first of `endings` (event id, resolution) of its key, with the
/// number of the first decision of its replacement for a re-queried one. `decisions` are
/// (insurer, verification, event id) of every decision, `numbers` (event id, number) of those
/// with a number fingerprint.
pub(super) fn expected(
    mut holds: Vec<HoldFactRow>,
    mut endings: Vec<(i64, HoldResolved)>,
    mut decisions: Vec<(&str, &str, i64)>,
    mut numbers: Vec<(i64, Fingerprint)>,
) -> Vec<HoldFactRow> {
    holds.sort_unstable_by(|a, b| {
        (&a.insurer_number, &a.verification_id, a.hold_id).cmp(&(
            &b.insurer_number,
            &b.verification_id,
            b.hold_id,
        ))
    });
    decisions.sort_unstable();
    numbers.sort_unstable_by_key(|(id, _)| *id);
    endings.sort_unstable_by_key(|(id, _)| *id);
    for (_, r) in &endings {
        let key = (r.insurer_number.as_str(), r.verification_id.as_str());
        let start = holds
            .partition_point(|h| (h.insurer_number.as_str(), h.verification_id.as_str()) < key);
        let same_key = holds[start..]
            .iter()
            .take_while(|h| (h.insurer_number.as_str(), h.verification_id.as_str()) == key)
            .count();
        let back = match r.resolution {
            crate::domain::gate::Resolution::Requeried => first_number(
                &decisions,
                &numbers,
                &r.insurer_number,
                &r.replaced_by_verification_id,
            ),
            _ => None,
        };
        for h in holds[start..start + same_key]
            .iter_mut()
            .filter(|h| h.resolution.is_none())
        {
            h.resolve(r, back.clone());
        }
    }
    holds
}

/// The number fingerprint of the first decision of (`insurer`, `verification`), if any.
fn first_number(
    decisions: &[(&str, &str, i64)],
    numbers: &[(i64, Fingerprint)],
    insurer: &str,
    verification: &str,
) -> Option<Fingerprint> {
    let at = decisions.partition_point(|&(i, v, _)| (i, v) < (insurer, verification));
    let &(i, v, id) = decisions.get(at)?;
    if (i, v) != (insurer, verification) {
        return None;
    }
    let n = numbers.binary_search_by_key(&id, |(id, _)| *id).ok()?;
    Some(numbers[n].1.clone())
}

/// `rows` (in table order) with their `candidates` (sorted by hold id, key id and MAC)
/// attached, and a finding for each candidate row of no hold facts row.
pub(super) fn with_candidates(
    mut rows: Vec<HoldFactRow>,
    candidates: Vec<CandidateRow>,
    findings: &mut Vec<Finding>,
) -> Vec<HoldFactRow> {
    let mut by_hold: Vec<(i64, usize)> = rows
        .iter()
        .enumerate()
        .map(|(n, r)| (r.hold_id, n))
        .collect();
    by_hold.sort_unstable();
    for (n, c) in candidates.into_iter().enumerate() {
        let start = by_hold.partition_point(|&(id, _)| id < c.hold_id);
        let owners: Vec<usize> = by_hold[start..]
            .iter()
            .take_while(|&&(id, _)| id == c.hold_id)
            .map(|&(_, row)| row)
            .collect();
        if owners.is_empty() {
            findings.push(Finding::UnsupportedRow {
                table: GateTable::HoldCandidates,
                row: n + 1,
            });
        }
        for row in owners {
            rows[row].candidates.push((c.key_id.clone(), c.mac.clone()));
        }
    }
    rows
}
