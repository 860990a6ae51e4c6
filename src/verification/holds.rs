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

use std::time::SystemTime;

use crate::{
    audit::{
        self, AppendOutcome, Decided, HoldAssigned, HoldResolved, NewEvent, StoredEvent,
        store::open_holds::{self, OpenHoldCount, OpenHoldsQuery, OpenHoldsRange},
    },
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
    /// In triage order: how many are open, overdue (at the listing's time) and in each risk
    /// class (before the filters). `None` oldest first.
    pub counts: Option<HoldCounts>,
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

    /// How many holds of `insurer` are open now, overdue and per risk class: one count over
    /// the open holds table's index.
    pub async fn hold_counts(&self, insurer: &str) -> Result<HoldCounts, VerificationError> {
        let now = audit::micros_since_epoch(SystemTime::now());
        Ok(counts_of(&self.store.open_hold_counts(insurer, now).await?))
    }

    /// One page of open holds, filtered, in the order asked for (see
    /// [`holds_cursor`](crate::verification::holds_cursor) for what a page token continues).
    ///
    /// Both orders read the open holds table (migrations 0008), which keeps each open hold's
    /// deadline, risk class, reasons and assignee beside its row id. Oldest first is one range
    /// of it from the cursor's row on. Triage order is a sequence of groups — overdue at the
    /// listing's time or not, then risk class — each one range of the triage index read in row
    /// order; the page takes groups in turn from the cursor's until it is full, skipping the
    /// groups the counts show empty. A page reads about a page of rows, whatever the queue's
    /// length (BENCHMARKS.md, "The clerks' queue").
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
        // The page plus one, to know whether a next page exists.
        let wanted = page_size + 1;
        let mut query = OpenHoldsQuery {
            insurer_number: request.insurer.as_str(),
            range: OpenHoldsRange::Oldest {
                rank_bits: open_holds::rank_bits(&request.risk_classes),
                overdue_only: request.overdue_only,
            },
            after_id: cursor.after.id(),
            as_of_us: cursor.as_of_us,
            reason_bits: open_holds::reason_bits(&request.reasons),
            assignee: request.assignee.as_ref().map_or("", |a| a.as_str()),
            unassigned_only: request.unassigned_only,
            limit: wanted as i64,
        };
        let mut found: Vec<StoredEvent> = Vec::with_capacity(wanted);
        let counts = match order {
            HoldsOrder::OldestFirst => {
                found = self.store.open_holds_page(&query).await?;
                None
            }
            HoldsOrder::Triage => {
                let groups = self
                    .store
                    .open_hold_counts(request.insurer.as_str(), cursor.as_of_us)
                    .await?;
                let ranks: Vec<i64> = open_holds::all_ranks()
                    .filter(|&rank| {
                        request.risk_classes.is_empty()
                            || request
                                .risk_classes
                                .iter()
                                .any(|&c| open_holds::risk_rank(Some(c)) == rank)
                    })
                    .collect();
                let overdue_groups: &[bool] = if request.overdue_only {
                    &[true]
                } else {
                    &[true, false]
                };
                'groups: for &overdue in overdue_groups {
                    for &rank in &ranks {
                        let held = groups
                            .iter()
                            .any(|g| g.risk_rank == rank && (g.overdue == 1) == overdue && g.n > 0);
                        let Some(after_id) = cursor.after.start_in_group(overdue, rank as u8)
                        else {
                            continue;
                        };
                        if !held {
                            continue;
                        }
                        query.range = OpenHoldsRange::Triage {
                            risk_rank: rank,
                            overdue,
                        };
                        query.after_id = after_id;
                        query.limit = (wanted - found.len()) as i64;
                        found.extend(self.store.open_holds_page(&query).await?);
                        if found.len() >= wanted {
                            break 'groups;
                        }
                    }
                }
                Some(counts_of(&groups))
            }
        };
        // Each hold's key from its decision, as the cursor judges it.
        let mut page = Vec::with_capacity(found.len());
        for stored in found {
            let held = decided(&stored)?;
            let overdue = held.register_by.is_some_and(|by| by < as_of);
            let key = SortKey::of(order, stored.id, overdue, held.risk_class());
            page.push((key, stored));
        }
        let next_page_token = if page.len() > page_size {
            page.truncate(page_size);
            page.last()
                .map(|(last, _)| HoldsCursor {
                    after: *last,
                    ..cursor
                })
                // The one place a cursor becomes a token.
                .map(|next| self.page_tokens.seal(&request.insurer, &next.to_bytes()))
                .unwrap_or_default()
        } else {
            String::new()
        };
        let mut holds = Vec::with_capacity(page.len());
        for (_, stored) in &page {
            holds.push(self.record(stored).await?);
        }
        Ok(HoldsPage {
            holds,
            next_page_token,
            counts,
        })
    }
}

/// The counts at the top of the queue from the table's groups.
fn counts_of(groups: &[OpenHoldCount]) -> HoldCounts {
    let count = |n: i64| usize::try_from(n).unwrap_or(0);
    HoldCounts {
        open: groups.iter().map(|g| count(g.n)).sum(),
        overdue: groups
            .iter()
            .filter(|g| g.overdue == 1)
            .map(|g| count(g.n))
            .sum(),
        by_risk: RiskClass::ALL
            .into_iter()
            .map(|class| {
                let rank = open_holds::risk_rank(Some(class));
                let n = groups
                    .iter()
                    .filter(|g| g.risk_rank == rank)
                    .map(|g| count(g.n))
                    .sum();
                (class, n)
            })
            .filter(|(_, n)| *n > 0)
            .collect(),
    }
}

/// Why `replacement` may not replace the hold `held` ([`registration::check_replacement`]);
/// `None` when it may. The one rule both ResolveHold and the console's list of candidates use.
pub(crate) fn replacement_refusal(
    held: &Decided,
    replacement: &Decided,
) -> Option<ReplacementRefusal> {
    registration::check_replacement(
        (&held.subject_id, held.occurred_at),
        (&replacement.subject_id, replacement.occurred_at),
    )
    .err()
}

/// Refuses a replacement that is not a later decision about the held subject
/// ([`replacement_refusal`]), in the contract's words.
fn check_replacement(held: &Decided, replacement: &Decided) -> Result<(), VerificationError> {
    match replacement_refusal(held, replacement) {
        None => Ok(()),
        Some(ReplacementRefusal::OtherSubject) => Err(VerificationError::refused(
            "REPLACEMENT_OTHER_SUBJECT",
            "replaced_by_verification_id is a verification of another subject",
        )),
        Some(ReplacementRefusal::NotLater) => Err(VerificationError::refused(
            "REPLACEMENT_NOT_LATER",
            "replaced_by_verification_id was decided before the hold",
        )),
    }
}
