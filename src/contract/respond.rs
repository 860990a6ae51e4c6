//! The edge out: decisions and stored verifications as the contract's response messages. A
//! replay and GetVerification rebuild exactly the response the caller first got from the
//! stored event.

use std::time::SystemTime;

use crate::{
    audit::Decided,
    contract::{parse::register_by, pb},
    domain::{gate::Decision, hold_cause::HoldCause},
    verification::{
        Committed, State, VerificationRecord,
        commit::refusal_reason,
        history::{HistoryEvent, HistoryKind, SubjectHistoryPage},
        hold_stats::{HoldStats, Outcomes},
    },
};

/// The response a stored decision was answered with, rebuilt from the event: a replay and
/// GetVerification return exactly what the caller got.
pub fn response_from_decided(d: &Decided) -> pb::VerifyResponse {
    pb::VerifyResponse {
        verification_id: d.verification_id.clone(),
        request_id: d.request_id.clone(),
        error: None,
        decision: pb::Decision::from(d.decision).into(),
        comparisons: d
            .comparisons
            .iter()
            .map(|c| pb::FieldComparison {
                stage: pb::Stage::from(c.stage).into(),
                field: pb::Field::from(c.field).into(),
                match_class: pb::MatchClass::from(c.class).into(),
                rules: c.rules.clone(),
                candidate_index: c.candidate_index,
            })
            .collect(),
        hold_reasons: d
            .hold_reasons
            .iter()
            .map(|&r| pb::HoldReason::from(r).into())
            .collect(),
        fields_to_complete: d
            .fields_to_complete
            .iter()
            .map(|&f| pb::Field::from(f).into())
            .collect(),
        selected_candidate: d
            .selected_candidate
            .map_or(-1, |i| i32::try_from(i).unwrap_or(i32::MAX)),
        decided_at: Some(timestamp(d.occurred_at)),
        register_by: d.register_by.map(timestamp),
        risk_class: pb::RiskClass::from(d.risk_class()).into(),
    }
}

/// Builds the response for a decision.
pub fn response_from_decision(
    decision: &Decision,
    verification_id: String,
    decided_at: SystemTime,
    request: &pb::VerifyRequest,
) -> pb::VerifyResponse {
    pb::VerifyResponse {
        verification_id,
        request_id: request.request_id.clone(),
        error: None,
        decision: pb::Decision::from(decision.kind).into(),
        comparisons: decision
            .comparisons
            .iter()
            .map(|c| pb::FieldComparison {
                stage: pb::Stage::from(c.stage).into(),
                field: pb::Field::from(c.field).into(),
                match_class: pb::MatchClass::from(c.comparison.class).into(),
                rules: c.comparison.rules.ids().map(str::to_owned).collect(),
                candidate_index: c.candidate_index as u32,
            })
            .collect(),
        hold_reasons: decision
            .hold_reasons
            .iter()
            .map(|&r| pb::HoldReason::from(r).into())
            .collect(),
        fields_to_complete: decision
            .fields_to_complete
            .iter()
            .map(|&f| pb::Field::from(f).into())
            .collect(),
        selected_candidate: decision.selected_candidate.map_or(-1, |i| i as i32),
        decided_at: Some(timestamp(decided_at)),
        register_by: register_by(request).map(timestamp),
        risk_class: pb::RiskClass::from(decision.risk_class()).into(),
    }
}

/// A `SystemTime` as a protobuf timestamp.
pub fn timestamp(t: SystemTime) -> pbjson_types::Timestamp {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    pbjson_types::Timestamp {
        seconds: d.as_secs() as i64,
        nanos: d.subsec_nanos() as i32,
    }
}

/// A stored verification with its state, as GetVerification, ResolveHold and ListHolds answer.
pub fn record(r: &VerificationRecord) -> pb::VerificationRecord {
    let d = &r.decided;
    pb::VerificationRecord {
        verification: Some(response_from_decided(d)),
        insurer_number: d.insurer_number.clone(),
        subject_id: d.subject_id.clone(),
        request_id: d.request_id.clone(),
        subject_kind: pb::SubjectKind::from(d.subject_kind).into(),
        state: pb::VerificationState::from(r.state).into(),
        resolution: r.resolution.as_ref().map(|h| pb::HoldResolution {
            resolution: pb::Resolution::from(h.resolution).into(),
            operator_id: h.operator_id.clone(),
            note: h.note.clone(),
            replaced_by_verification_id: h.replaced_by_verification_id.clone(),
            resolved_at: Some(timestamp(h.occurred_at)),
            cause: h
                .cause
                .map_or(pb::HoldCause::Unspecified, pb::HoldCause::from)
                .into(),
        }),
        committed_at: r.committed_at.map(timestamp),
        assignee: r.assignee.clone().unwrap_or_default(),
    }
}

/// An accepted commit (and every repeat of it).
pub fn committed(c: &Committed) -> pb::CommitRegistrationResponse {
    pb::CommitRegistrationResponse {
        commit_id: c.commit_id.clone(),
        committed_at: Some(timestamp(c.committed_at)),
    }
}

impl From<State> for pb::VerificationState {
    fn from(state: State) -> Self {
        match state {
            State::Decided => pb::VerificationState::Decided,
            State::Held => pb::VerificationState::Held,
            State::HoldResolved => pb::VerificationState::HoldResolved,
            State::Committed => pb::VerificationState::Committed,
        }
    }
}

/// The hold statistics, as HoldStats answers.
pub fn hold_stats(s: &HoldStats) -> pb::HoldStatsResponse {
    pb::HoldStatsResponse {
        rows: s
            .rows
            .iter()
            .map(|r| {
                let k = &r.held_by;
                pb::HoldStatsRow {
                    insurer_number: r.insurer.clone(),
                    stage: k
                        .stage
                        .map_or(pb::Stage::Unspecified, pb::Stage::from)
                        .into(),
                    field: k
                        .field
                        .map_or(pb::Field::Unspecified, pb::Field::from)
                        .into(),
                    match_class: k
                        .class
                        .map_or(pb::MatchClass::Unspecified, pb::MatchClass::from)
                        .into(),
                    reason: pb::HoldReason::from(k.reason).into(),
                    risk_class: pb::RiskClass::from(k.risk).into(),
                    outcomes: Some(outcomes(&r.outcomes)),
                }
            })
            .collect(),
        totals: Some(outcomes(&s.totals)),
        suggestions: s
            .suggestions
            .iter()
            .map(|g| pb::HoldStatsSuggestion {
                stage: pb::Stage::from(g.stage).into(),
                field: pb::Field::from(g.field).into(),
                match_class: pb::MatchClass::from(g.class).into(),
                closed: g.closed,
                same_person: g.same_person,
                different_person: g.different_person,
                same_person_per_mille: u32::try_from(g.same_person * 1000 / g.closed.max(1))
                    .unwrap_or(1000),
                setting: g.setting.clone(),
                policy_can: g.policy_can,
            })
            .collect(),
        as_of: Some(timestamp(s.as_of)),
        policy_version: s.policy_version.clone(),
        min_closed: s.min_closed,
    }
}

fn outcomes(o: &Outcomes) -> pb::HoldStatsOutcomes {
    let duration = |d: std::time::Duration| pbjson_types::Duration {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: d.subsec_nanos() as i32,
    };
    pb::HoldStatsOutcomes {
        holds: o.holds,
        open: o.open,
        open_overdue: o.open_overdue,
        requeried: o.requeried,
        number_from_person: o.number_from_person,
        withdrawn: o.withdrawn,
        causes: HoldCause::ALL
            .iter()
            .zip(o.causes)
            .filter(|(_, n)| *n > 0)
            .map(|(c, count)| pb::HoldStatsCauseCount {
                cause: pb::HoldCause::from(*c).into(),
                count,
            })
            .collect(),
        no_cause: o.no_cause,
        same_number_back: o.same_number_back,
        other_number_back: o.other_number_back,
        overdue_at_close: o.overdue_at_close,
        resolve_median: o.resolve_median.map(duration),
        resolve_p90: o.resolve_p90.map(duration),
        overdue_per_mille: u32::try_from(o.overdue_per_mille()).unwrap_or(1000),
    }
}

/// A subject's history (SubjectHistory).
pub fn subject_history(page: &SubjectHistoryPage) -> pb::SubjectHistoryResponse {
    use pb::subject_history_event::Event;
    let event = |e: &HistoryEvent| pb::SubjectHistoryEvent {
        occurred_at: Some(timestamp(e.occurred_at)),
        verification_id: e.verification_id.clone(),
        actor: e.actor.clone(),
        event: Some(match &e.kind {
            HistoryKind::Decided {
                decision,
                hold_reasons,
                risk_class,
            } => Event::Decided(pb::SubjectHistoryDecided {
                decision: pb::Decision::from(*decision).into(),
                hold_reasons: hold_reasons
                    .iter()
                    .map(|r| pb::HoldReason::from(*r).into())
                    .collect(),
                risk_class: pb::RiskClass::from(*risk_class).into(),
            }),
            HistoryKind::HoldAssigned { assignee } => Event::Assigned(pb::SubjectHistoryAssigned {
                assignee: assignee.clone().unwrap_or_default(),
            }),
            HistoryKind::HoldResolved {
                resolution,
                cause,
                replaced_by,
            } => Event::Resolved(pb::SubjectHistoryResolved {
                resolution: pb::Resolution::from(*resolution).into(),
                cause: cause
                    .map_or(pb::HoldCause::Unspecified, pb::HoldCause::from)
                    .into(),
                replaced_by_verification_id: replaced_by.clone().unwrap_or_default(),
            }),
            HistoryKind::CommitAccepted { commit_id } => {
                Event::CommitAccepted(pb::SubjectHistoryCommitAccepted {
                    commit_id: commit_id.clone(),
                })
            }
            HistoryKind::CommitRefused { reason } => {
                Event::CommitRefused(pb::SubjectHistoryCommitRefused {
                    reason: refusal_reason(*reason).to_owned(),
                })
            }
        }),
    };
    pb::SubjectHistoryResponse {
        events: page.events.iter().map(event).collect(),
        truncated: page.truncated,
    }
}
