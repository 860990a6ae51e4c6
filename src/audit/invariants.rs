//! The gate's tables rebuilt from the chain: what `audit verify` checks besides the links.
//! Pure: no I/O (the rows are read by [`read`]).
//!
//! Three tables decide what the service admits: `verification_requests` (one decision per
//! request id of an insurer), `registrations` (per insurer, one subject per number and one
//! number per subject) and `hold_resolutions` (a hold closes once). Each row is claimed in the
//! transaction that appends its event, so every row has its event and every event of those
//! kinds has its row. The chain is the evidence — hash-linked and checkpointed — and the tables
//! are not: a row deleted behind the service's back leaves every link intact, and the service
//! could then admit a second decision, commit or resolution where the table no longer said no.
//! So verification rebuilds, from every decision, commit and resolution event, what each table
//! must hold, and compares ([`Finding`]):
//!
//! - a fact of the chain that its table lacks (a deleted row);
//! - a row under the key of a chain fact with other content (an edited row);
//! - a row no event supports (a forged row);
//! - a fact the chain records twice: two decisions of one request id, two commits of one number
//!   or of one subject, two resolutions of one hold — what a deleted row let through;
//! - an event's lookup columns (the copies of its request id, subject and number fingerprint
//!   that the service's chain lookups use, outside the hash) that are not its content.
//!
//! A finding names its table, its kind and an event id or a row's position, never a value: the
//! keys are request ids, subject ids and number fingerprints, and a fingerprint is 個人番号.
//!
//! The comparison is a sort-merge join per table: the facts and the rows are each sorted by
//! key once and walked side by side, so memory stays one small record per fact and per row.
//! The rejected alternative, a hash map per table keyed by owned strings, cost three times the
//! memory of the facts on a million-event log.

mod finding;
mod hold_facts;
mod open_holds;
pub(crate) mod read;
#[cfg(test)]
mod tests;

use std::fmt;

pub use finding::{Finding, GateTable, Twice};

use crate::audit::{
    Fingerprint, HoldResolved, NewEvent, Registration, StoredEvent, micros_since_epoch,
    store::hold_facts::{CandidateRow, HoldFactRow},
    store::open_holds::OpenHoldRow,
    store::subject_decisions::SubjectDecisionRow,
};

/// The rows of the gate's tables, each list in its table's [`GateTable::key_order`].
#[derive(Debug, Default)]
pub struct GateTables {
    /// `verification_requests`.
    pub requests: Vec<RequestRow>,
    /// `registrations`.
    pub registrations: Vec<Registration>,
    /// `hold_resolutions`.
    pub resolutions: Vec<ResolutionRow>,
    /// The lookup columns of format 2 events that have them (format 1 rows keep the same
    /// columns as their content, which their hash covers).
    pub lookups: Vec<LookupRow>,
    /// `open_holds`.
    pub open_holds: Vec<OpenHoldRow>,
    /// `subject_decisions`.
    pub subject_decisions: Vec<SubjectDecisionRow>,
    /// `hold_facts`, in key order.
    pub hold_facts: Vec<HoldFactRow>,
    /// `hold_candidates`, by hold id, key id and MAC.
    pub hold_candidates: Vec<CandidateRow>,
}

/// A row of `verification_requests`.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RequestRow {
    /// The insurer.
    pub insurer_number: String,
    /// The caller's idempotency key.
    pub request_id: String,
    /// The decision it names.
    pub verification_id: String,
}

/// A row of `hold_resolutions`.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ResolutionRow {
    /// The insurer.
    pub insurer_number: String,
    /// The held verification.
    pub verification_id: String,
    /// When it was closed.
    pub resolved_at_us: i64,
}

/// The lookup columns of one event row.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LookupRow {
    /// The event's row id.
    pub id: i64,
    /// Its kind (covered by the hash).
    pub event_type: String,
    /// Its insurer (covered by the hash).
    pub insurer_number: String,
    /// A decision's request id.
    pub request_id: Option<String>,
    /// A commit's subject.
    pub subject_id: Option<String>,
    /// A commit's number fingerprint: the key id.
    pub number_fp_key_id: Option<String>,
    /// A commit's number fingerprint: the MAC, hex.
    pub number_fp: Option<String>,
}

impl fmt::Debug for RequestRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestRow").finish_non_exhaustive()
    }
}

impl fmt::Debug for ResolutionRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolutionRow").finish_non_exhaustive()
    }
}

impl fmt::Debug for LookupRow {
    /// The row id only: the other columns hold a request id, a subject and a fingerprint.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LookupRow")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// What the tables were checked against, and what was found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TablesReport {
    /// Rows read: requests, registrations, resolutions, events with lookup columns.
    pub rows: [usize; 4],
    /// Facts the chain records: decisions, commits, resolutions.
    pub facts: [usize; 3],
    /// Everything found, by table, then kind, then id.
    pub findings: Vec<Finding>,
}

impl TablesReport {
    /// Whether every row is supported and every fact has its row, once.
    pub fn is_intact(&self) -> bool {
        self.findings.is_empty()
    }
}

/// A decision: its idempotency key and the verification it made.
struct RequestFact {
    key: (Box<str>, Box<str>),
    verification_id: Box<str>,
    event_id: i64,
}

/// A commit: the registration it claimed.
struct CommitFact {
    /// (insurer, number MAC).
    key: (Box<str>, Box<str>),
    key_id: Box<str>,
    subject_id: Box<str>,
    verification_id: Box<str>,
    at_us: i64,
    event_id: i64,
}

/// A resolution: the hold it closed.
struct ResolutionFact {
    /// (insurer, verification).
    key: (Box<str>, Box<str>),
    at_us: i64,
    event_id: i64,
}

/// An assignment: (insurer, verification, event id, assignee or empty).
type AssignmentFact = (Box<str>, Box<str>, i64, Box<str>);

/// The facts of the chain, gathered event by event ([`Facts::observe`]) in one pass beside
/// the chain walk, then held against the tables ([`Facts::check`]).
#[derive(Default)]
pub struct Facts {
    requests: Vec<RequestFact>,
    commits: Vec<CommitFact>,
    resolutions: Vec<ResolutionFact>,
    /// Every held decision's first row of `open_holds`.
    holds: Vec<OpenHoldRow>,
    /// Every assignment: (insurer, verification, event id, assignee).
    assignments: Vec<AssignmentFact>,
    /// Every decision's row of `subject_decisions`.
    subjects: Vec<SubjectDecisionRow>,
    /// Every held decision's row of `hold_facts` as it was appended (open).
    hold_facts: Vec<HoldFactRow>,
    /// Every resolution: (event id, the event).
    endings: Vec<(i64, HoldResolved)>,
    /// The number fingerprint of every decision that has one: (event id, number).
    numbers: Vec<(i64, Fingerprint)>,
}

impl fmt::Debug for Facts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Facts")
            .field("requests", &self.requests.len())
            .field("commits", &self.commits.len())
            .field("resolutions", &self.resolutions.len())
            .finish()
    }
}

fn boxed(s: &str) -> Box<str> {
    s.into()
}

impl Facts {
    /// Notes what one stored event (in any order) says the tables must hold.
    pub fn observe(&mut self, stored: &StoredEvent) {
        let event_id = stored.id;
        match &stored.event {
            NewEvent::Decided(d) => {
                self.requests.push(RequestFact {
                    key: (boxed(&d.insurer_number), boxed(&d.request_id)),
                    verification_id: boxed(&d.verification_id),
                    event_id,
                });
                self.holds.extend(OpenHoldRow::of(event_id, d));
                self.subjects
                    .extend(SubjectDecisionRow::of(event_id, &stored.event));
                self.hold_facts.extend(HoldFactRow::of(event_id, d));
                if let Some(number) = &d.number_fingerprint {
                    self.numbers.push((event_id, number.clone()));
                }
            }
            NewEvent::HoldAssigned(a) => self.assignments.push((
                boxed(&a.insurer_number),
                boxed(&a.verification_id),
                event_id,
                boxed(&a.assignee),
            )),
            NewEvent::CommitAccepted(c) => self.commits.push(CommitFact {
                key: (
                    boxed(&c.insurer_number),
                    boxed(&c.number_fingerprint.mac_hex),
                ),
                key_id: boxed(&c.number_fingerprint.key_id),
                subject_id: boxed(&c.subject_id),
                verification_id: boxed(&c.verification_id),
                at_us: micros_since_epoch(c.occurred_at),
                event_id,
            }),
            NewEvent::HoldResolved(r) => {
                self.resolutions.push(ResolutionFact {
                    key: (boxed(&r.insurer_number), boxed(&r.verification_id)),
                    at_us: micros_since_epoch(r.occurred_at),
                    event_id,
                });
                self.endings.push((event_id, r.clone()));
            }
            NewEvent::CommitRefused(_)
            | NewEvent::AccessDenied(_)
            | NewEvent::ConsoleSignedIn(_)
            | NewEvent::ConsoleSignedOut(_) => {}
        }
    }

    /// Every disagreement between these facts and `tables`.
    pub fn check(mut self, tables: GateTables) -> TablesReport {
        let rows = [
            tables.requests.len(),
            tables.registrations.len(),
            tables.resolutions.len(),
            tables.lookups.len(),
        ];
        let facts = [
            self.requests.len(),
            self.commits.len(),
            self.resolutions.len(),
        ];
        let by_key = |a: &(Box<str>, Box<str>), b: &(Box<str>, Box<str>)| a.cmp(b);
        self.requests
            .sort_unstable_by(|a, b| by_key(&a.key, &b.key).then(a.event_id.cmp(&b.event_id)));
        self.commits
            .sort_unstable_by(|a, b| by_key(&a.key, &b.key).then(a.event_id.cmp(&b.event_id)));
        self.resolutions
            .sort_unstable_by(|a, b| by_key(&a.key, &b.key).then(a.event_id.cmp(&b.event_id)));

        let mut findings = Vec::new();
        join(
            GateTable::VerificationRequests,
            Twice::Request,
            &self.requests,
            |f| (&*f.key.0, &*f.key.1, f.event_id),
            &tables.requests,
            |r| (r.insurer_number.as_str(), r.request_id.as_str()),
            |f, r| *f.verification_id == *r.verification_id,
            &mut findings,
        );
        join(
            GateTable::Registrations,
            Twice::Number,
            &self.commits,
            |f| (&*f.key.0, &*f.key.1, f.event_id),
            &tables.registrations,
            |r| {
                (
                    r.insurer_number.as_str(),
                    r.number_fingerprint.mac_hex.as_str(),
                )
            },
            |f, r| {
                *f.key_id == *r.number_fingerprint.key_id
                    && *f.subject_id == *r.subject_id
                    && *f.verification_id == *r.verification_id
                    && f.at_us == micros_since_epoch(r.committed_at)
            },
            &mut findings,
        );
        join(
            GateTable::HoldResolutions,
            Twice::Resolution,
            &self.resolutions,
            |f| (&*f.key.0, &*f.key.1, f.event_id),
            &tables.resolutions,
            |r| (r.insurer_number.as_str(), r.verification_id.as_str()),
            |f, r| f.at_us == r.resolved_at_us,
            &mut findings,
        );
        let open = open_holds::expected(
            std::mem::take(&mut self.holds),
            &self.resolutions,
            std::mem::take(&mut self.assignments),
        );
        join(
            GateTable::OpenHolds,
            Twice::Hold,
            &open,
            |f| {
                (
                    f.insurer_number.as_str(),
                    f.verification_id.as_str(),
                    f.hold_id,
                )
            },
            &tables.open_holds,
            |r| (r.insurer_number.as_str(), r.verification_id.as_str()),
            |f, r| f == r,
            &mut findings,
        );
        self.subjects.sort_unstable_by(|a, b| {
            (&a.insurer_number, &a.verification_id, a.decision_id).cmp(&(
                &b.insurer_number,
                &b.verification_id,
                b.decision_id,
            ))
        });
        join(
            GateTable::SubjectDecisions,
            Twice::Decision,
            &self.subjects,
            |f| {
                (
                    f.insurer_number.as_str(),
                    f.verification_id.as_str(),
                    f.decision_id,
                )
            },
            &tables.subject_decisions,
            |r| (r.insurer_number.as_str(), r.verification_id.as_str()),
            |f, r| f == r,
            &mut findings,
        );
        let decisions = self
            .requests
            .iter()
            .map(|f| (&*f.key.0, &*f.verification_id, f.event_id))
            .collect();
        let expected_holds = hold_facts::expected(
            std::mem::take(&mut self.hold_facts),
            std::mem::take(&mut self.endings),
            decisions,
            std::mem::take(&mut self.numbers),
        );
        let stored =
            hold_facts::with_candidates(tables.hold_facts, tables.hold_candidates, &mut findings);
        join(
            GateTable::HoldFacts,
            Twice::Hold,
            &expected_holds,
            |f| {
                (
                    f.insurer_number.as_str(),
                    f.verification_id.as_str(),
                    f.hold_id,
                )
            },
            &stored,
            |r| (r.insurer_number.as_str(), r.verification_id.as_str()),
            |f, r| f == r,
            &mut findings,
        );
        findings.extend(subjects_committed_twice(&self.commits));
        findings.extend(lookups_disagreeing(
            &self.requests,
            &self.commits,
            &tables.lookups,
        ));
        findings.sort();
        findings.dedup();
        TablesReport {
            rows,
            facts,
            findings,
        }
    }
}

/// Walks `facts` (sorted by key, then event id) and `rows` (in table order) by key, side by
/// side, and reports each row no fact supports, each fact without its row, and each key the
/// chain records twice.
#[allow(clippy::too_many_arguments)]
fn join<'f, 'r, F, R>(
    table: GateTable,
    twice: Twice,
    facts: &'f [F],
    fact_key: impl Fn(&'f F) -> (&'f str, &'f str, i64),
    rows: &'r [R],
    row_key: impl Fn(&'r R) -> (&'r str, &'r str),
    same: impl Fn(&F, &R) -> bool,
    findings: &mut Vec<Finding>,
) {
    // Positions (from 1, in table order) sorted by key.
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&a, &b| row_key(&rows[a]).cmp(&row_key(&rows[b])));
    let (mut i, mut j) = (0, 0);
    while i < facts.len() || j < order.len() {
        let fact = facts.get(i).map(|f| {
            let (a, b, _) = fact_key(f);
            (a, b)
        });
        let row = order.get(j).map(|&r| row_key(&rows[r]));
        let key = match (fact, row) {
            (Some(f), Some(r)) => f.min(r),
            (Some(f), None) => f,
            (None, Some(r)) => r,
            (None, None) => break,
        };
        let group_end = facts[i..]
            .iter()
            .position(|f| {
                let (a, b, _) = fact_key(f);
                (a, b) != key
            })
            .map_or(facts.len(), |n| i + n);
        let rows_end = order[j..]
            .iter()
            .position(|&r| row_key(&rows[r]) != key)
            .map_or(order.len(), |n| j + n);
        let group = &facts[i..group_end];
        let first_id = group.first().map(|f| fact_key(f).2);
        for f in group.iter().skip(1) {
            findings.push(Finding::RecordedTwice {
                table,
                what: twice,
                first: first_id.expect("a group with a second fact has a first"),
                again: fact_key(f).2,
            });
        }
        let mut supported = vec![false; group.len()];
        let mut disagreeing_row = false;
        for &r in &order[j..rows_end] {
            let row = &rows[r];
            match group.iter().position(|f| same(f, row)) {
                Some(n) => supported[n] = true,
                None => match first_id {
                    Some(event_id) => {
                        disagreeing_row = true;
                        findings.push(Finding::RowDisagrees {
                            table,
                            row: r + 1,
                            event_id,
                        });
                    }
                    None => findings.push(Finding::UnsupportedRow { table, row: r + 1 }),
                },
            }
        }
        // A row that disagrees already names the fact of its key; a fact with no row at all
        // under its key is missing.
        if !disagreeing_row {
            for (f, _) in group.iter().zip(&supported).filter(|(_, s)| !**s) {
                findings.push(Finding::MissingRow {
                    table,
                    event_id: fact_key(f).2,
                });
            }
        }
        i = group_end;
        j = rows_end;
    }
}

/// Two commits for one subject of one insurer (with different numbers: the same number is
/// [`Twice::Number`]).
fn subjects_committed_twice(commits: &[CommitFact]) -> Vec<Finding> {
    let mut by_subject: Vec<&CommitFact> = commits.iter().collect();
    by_subject.sort_unstable_by(|a, b| {
        (&a.key.0, &a.subject_id, a.event_id).cmp(&(&b.key.0, &b.subject_id, b.event_id))
    });
    let mut found = Vec::new();
    for group in by_subject.chunk_by(|a, b| a.key.0 == b.key.0 && a.subject_id == b.subject_id) {
        let first = group[0];
        for again in &group[1..] {
            if again.key.1 != first.key.1 {
                found.push(Finding::RecordedTwice {
                    table: GateTable::Registrations,
                    what: Twice::Subject,
                    first: first.event_id,
                    again: again.event_id,
                });
            }
        }
    }
    found
}

/// Lookup columns that are not their event's content: a decision whose `request_id` column is
/// not its request id, a commit whose `subject_id` or number fingerprint columns are not its
/// own. An event whose columns are all NULL is not a finding: format 2 events written before
/// the columns existed have none, and the tables' own checks cover them.
fn lookups_disagreeing(
    requests: &[RequestFact],
    commits: &[CommitFact],
    lookups: &[LookupRow],
) -> Vec<Finding> {
    let mut decisions: Vec<&RequestFact> = requests.iter().collect();
    decisions.sort_unstable_by_key(|f| f.event_id);
    let mut commits: Vec<&CommitFact> = commits.iter().collect();
    commits.sort_unstable_by_key(|f| f.event_id);
    let mut found = Vec::new();
    for (n, row) in lookups.iter().enumerate() {
        let decision = decisions
            .binary_search_by(|f| f.event_id.cmp(&row.id))
            .ok()
            .map(|i| decisions[i]);
        let commit = commits
            .binary_search_by(|f| f.event_id.cmp(&row.id))
            .ok()
            .map(|i| commits[i]);
        let agrees = match (decision, commit) {
            (Some(d), None) => {
                row.request_id.as_deref() == Some(&*d.key.1)
                    && row.insurer_number == *d.key.0
                    && row.subject_id.is_none()
                    && row.number_fp.is_none()
                    && row.number_fp_key_id.is_none()
            }
            (None, Some(c)) => {
                row.subject_id.as_deref() == Some(&*c.subject_id)
                    && row.number_fp.as_deref() == Some(&*c.key.1)
                    && row.number_fp_key_id.as_deref() == Some(&*c.key_id)
                    && row.insurer_number == *c.key.0
                    && row.request_id.is_none()
            }
            // Lookup columns on an event of another kind: nothing should have written them.
            _ => false,
        };
        if !agrees {
            found.push(Finding::RowDisagrees {
                table: GateTable::LookupColumns,
                row: n + 1,
                event_id: row.id,
            });
        }
    }
    found
}
