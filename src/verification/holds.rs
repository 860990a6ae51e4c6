//! Held cases: the operators' queue (ListHolds) and its closing (ResolveHold).
//!
//! A resolution is an audit event like every other gate event: how it was closed, by which
//! operator, with which note and replacement, so the chain covers all of it. That a
//! hold closes once is the database's rule (`hold_resolutions`), not a read-then-write here,
//! so two operators on two replicas cannot both close it. A replacement must be a later
//! decision about the same subject of the same insurer: otherwise a re-query could close one
//! person's hold with another person's clean result.
//!
//! ListHolds' page tokens are sealed ([`crate::verification::page_token`]); the cursor inside is a
//! [`HoldsCursor`]: the listing's order, the time its first page was read, and the sort key the
//! next page starts after. A token of another order is refused like any other bad token.

use std::{cmp::Ordering, collections::BinaryHeap, time::SystemTime};

use crate::{
    audit::{self, AppendOutcome, Decided, HoldAssigned, HoldResolved, NewEvent, StoredEvent},
    domain::{
        gate::DecisionKind,
        registration::{self, ReplacementRefusal},
        risk::RiskClass,
        violation::FieldViolation,
    },
    verification::{
        State, VerificationError, Verifications,
        holds_cursor::{HoldsCursor, HoldsOrder, SortKey},
        inputs::{AssignHold, ListHolds, ResolveHold},
        page_token::InvalidToken,
        record::{VerificationRecord, decided},
    },
};

/// One page of the holds queue.
#[derive(Debug, Clone)]
pub struct HoldsPage {
    /// The holds, in the listing's order.
    pub holds: Vec<VerificationRecord>,
    /// The sealed token of the next page; empty on the last.
    pub next_page_token: String,
}

/// How many holds are open at an insurer: in all, overdue, and per risk class (most urgent
/// first), as the top of the clerks' queue shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HoldCounts {
    /// Open holds.
    pub open: usize,
    /// Open holds past their registration deadline.
    pub overdue: usize,
    /// Open holds per risk class, in [`RiskClass::ALL`]'s order, classes with none left out.
    pub by_risk: Vec<(RiskClass, usize)>,
}

/// Held decisions read per store query while filling a page.
const SCAN_CHUNK: i64 = 500;

impl Verifications {
    /// Closes an open hold, once.
    pub async fn resolve_hold(
        &self,
        request: ResolveHold,
        caller: &str,
    ) -> Result<VerificationRecord, VerificationError> {
        let how = request.resolution;
        let insurer = request.insurer.as_str();
        let stored = self
            .store
            .find_verification(insurer, request.verification_id.as_str())
            .await?
            .ok_or(VerificationError::NotFound(
                "no such verification for this insurer",
            ))?;
        let held = decided(&stored)?;
        if held.decision != DecisionKind::Hold {
            return Err(VerificationError::Refused {
                reason: "NOT_HELD",
                message: "the verification did not decide hold",
            });
        }
        if let Some(id) = &request.replaced_by {
            let replacement = self
                .store
                .find_verification(insurer, id.as_str())
                .await?
                .ok_or(VerificationError::Refused {
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
            cause: request.cause,
        });
        match self.append(event).await? {
            AppendOutcome::Appended { .. } => {
                tracing::info!(verification_id = %held.verification_id, resolution = how.id(), "hold resolved");
            }
            AppendOutcome::AlreadyResolved => {
                return Err(VerificationError::Refused {
                    reason: "HOLD_NOT_OPEN",
                    message: "the hold was already resolved",
                });
            }
            AppendOutcome::DuplicateRequest { .. }
            | AppendOutcome::RegistrationTaken { .. }
            | AppendOutcome::RegisteredElsewhere { .. } => {
                return Err(VerificationError::Internal(
                    "a resolution was taken for a decision or commit".into(),
                ));
            }
        }
        self.record(&stored).await
    }

    /// Claims an open hold for someone (`assignee`) or releases it (`None`): a `hold.assigned`
    /// event. A claim replaces an earlier one; the event says who took it over.
    pub async fn assign_hold(
        &self,
        request: AssignHold,
        caller: &str,
    ) -> Result<VerificationRecord, VerificationError> {
        let stored = self
            .store
            .find_verification(request.insurer.as_str(), request.verification_id.as_str())
            .await?
            .ok_or(VerificationError::NotFound(
                "no such verification for this insurer",
            ))?;
        let record = self.record(&stored).await?;
        match record.state {
            State::Held => {}
            State::HoldResolved => {
                return Err(VerificationError::refused(
                    "HOLD_NOT_OPEN",
                    "the hold was already resolved",
                ));
            }
            State::Decided | State::Committed => {
                return Err(VerificationError::refused(
                    "NOT_HELD",
                    "the verification did not decide hold",
                ));
            }
        }
        let held = &record.decided;
        let event = NewEvent::HoldAssigned(HoldAssigned {
            occurred_at: audit::time_from_micros(audit::micros_since_epoch(SystemTime::now())),
            caller: caller.to_owned(),
            insurer_number: held.insurer_number.clone(),
            subject_id: held.subject_id.clone(),
            verification_id: held.verification_id.clone(),
            assignee: request
                .assignee
                .as_ref()
                .map_or_else(String::new, |a| a.as_str().to_owned()),
        });
        match self.append(event).await? {
            AppendOutcome::Appended { .. } => {}
            _ => {
                return Err(VerificationError::Internal(
                    "an assignment was taken for another kind of event".into(),
                ));
            }
        }
        self.record(&stored).await
    }

    /// How many holds of `insurer` are open now, overdue and per risk class. Reads every open
    /// hold of the insurer, as a triage page does.
    pub async fn hold_counts(&self, insurer: &str) -> Result<HoldCounts, VerificationError> {
        let now = SystemTime::now();
        let mut counts = HoldCounts::default();
        let mut per = [0usize; RiskClass::ALL.len()];
        let mut scanned = 0;
        loop {
            let chunk = self
                .store
                .list_open_holds(insurer, scanned, SCAN_CHUNK)
                .await?;
            let exhausted = (chunk.len() as i64) < SCAN_CHUNK;
            for stored in chunk {
                scanned = stored.id;
                let held = decided(&stored)?;
                counts.open += 1;
                if held.register_by.is_some_and(|by| by < now) {
                    counts.overdue += 1;
                }
                if let Some(risk) = held.risk_class() {
                    if let Some(i) = RiskClass::ALL.iter().position(|c| *c == risk) {
                        per[i] += 1;
                    }
                }
            }
            if exhausted {
                break;
            }
        }
        counts.by_risk = RiskClass::ALL
            .into_iter()
            .zip(per)
            .filter(|(_, n)| *n > 0)
            .collect();
        Ok(counts)
    }

    /// One page of open holds, filtered, in the order asked for (see
    /// [`holds_cursor`](crate::verification::holds_cursor) for what a page token continues).
    ///
    /// Oldest first reads the store from the cursor's row on and stops when the page is full.
    /// Triage order depends on the risk class, which is derived from each decision and not
    /// stored, so every page reads all open holds of the insurer and keeps the page's worth
    /// that sort first after the cursor: memory stays one page, time grows with the queue.
    pub async fn list_holds(&self, request: ListHolds) -> Result<HoldsPage, VerificationError> {
        let order = request.order;
        let cursor = match &request.page_token {
            None => HoldsCursor {
                order,
                as_of_us: audit::micros_since_epoch(SystemTime::now()),
                after: SortKey::START,
            },
            // The one place a token becomes a cursor: opened with the insurer's key, then read.
            Some(token) => self
                .page_tokens
                .open(&request.insurer, token)
                .ok()
                .and_then(|bytes| HoldsCursor::from_bytes(&bytes))
                .filter(|c| c.order == order)
                .ok_or_else(|| {
                    VerificationError::InvalidArgument(vec![FieldViolation {
                        field: "page_token".into(),
                        description: InvalidToken.to_string(),
                    }])
                })?,
        };
        let as_of = cursor.as_of();
        let page_size = request.page_size;
        // The page plus one, to know whether a next page exists; the worst key on top.
        let mut best: BinaryHeap<Ranked> = BinaryHeap::with_capacity(page_size + 2);
        let mut scanned = match order {
            HoldsOrder::OldestFirst => cursor.after.id(),
            HoldsOrder::Triage => 0,
        };
        loop {
            let chunk = self
                .store
                .list_open_holds(request.insurer.as_str(), scanned, SCAN_CHUNK)
                .await?;
            let exhausted = (chunk.len() as i64) < SCAN_CHUNK;
            for stored in chunk {
                scanned = stored.id;
                let held = decided(&stored)?;
                let overdue = held.register_by.is_some_and(|by| by < as_of);
                let risk = held.risk_class();
                if !passes(&request, held, overdue, risk) {
                    continue;
                }
                let key = SortKey::of(order, stored.id, overdue, risk);
                if key > cursor.after {
                    best.push(Ranked { key, stored });
                    if best.len() > page_size + 1 {
                        best.pop();
                    }
                }
            }
            // Rows come in id order, which is the oldest-first key order: nothing later can
            // displace a full page.
            let full = order == HoldsOrder::OldestFirst && best.len() > page_size;
            if exhausted || full {
                break;
            }
        }
        let mut page = best.into_sorted_vec();
        let next_page_token = if page.len() > page_size {
            page.truncate(page_size);
            page.last()
                .map(|last| HoldsCursor {
                    after: last.key,
                    ..cursor
                })
                // The one place a cursor becomes a token.
                .map(|next| self.page_tokens.seal(&request.insurer, &next.to_bytes()))
                .unwrap_or_default()
        } else {
            String::new()
        };
        let mut holds = Vec::with_capacity(page.len());
        for ranked in &page {
            holds.push(self.record(&ranked.stored).await?);
        }
        Ok(HoldsPage {
            holds,
            next_page_token,
        })
    }
}

/// Refuses a replacement that is not a later decision about the held subject
/// ([`registration::check_replacement`]), in the contract's words.
fn check_replacement(held: &Decided, replacement: &Decided) -> Result<(), VerificationError> {
    registration::check_replacement(
        (&held.subject_id, held.occurred_at),
        (&replacement.subject_id, replacement.occurred_at),
    )
    .map_err(|refusal| match refusal {
        ReplacementRefusal::OtherSubject => VerificationError::refused(
            "REPLACEMENT_OTHER_SUBJECT",
            "replaced_by_verification_id is a verification of another subject",
        ),
        ReplacementRefusal::NotLater => VerificationError::refused(
            "REPLACEMENT_NOT_LATER",
            "replaced_by_verification_id was decided before the hold",
        ),
    })
}

/// A held decision with its place in the listing; ordered by that place alone.
struct Ranked {
    /// Where it sorts (unique: it ends with the row id).
    key: SortKey,
    /// The decision.
    stored: StoredEvent,
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Ranked {}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

/// Whether a held decision passes ListHolds' filters; `overdue` is judged at the listing's time.
fn passes(request: &ListHolds, held: &Decided, overdue: bool, risk: Option<RiskClass>) -> bool {
    let wanted = &request.reasons;
    if !wanted.is_empty() && !held.hold_reasons.iter().any(|r| wanted.contains(r)) {
        return false;
    }
    let classes = &request.risk_classes;
    if !classes.is_empty() && !risk.is_some_and(|r| classes.contains(&r)) {
        return false;
    }
    !request.overdue_only || overdue
}
