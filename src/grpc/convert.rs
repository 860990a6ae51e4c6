//! Between the contract's messages and the domain: parse at the edge into validated domain
//! types, and turn decisions back into messages.
//!
//! Validation errors name the offending field by its path in the request
//! (`candidates[1].fields.birth_date`) and describe the problem without quoting the value: the
//! value is personal data.

use std::time::{Duration, SystemTime};

use crate::{
    audit::Decided,
    domain::{
        Field, MatchClass, Stage,
        compare::Record,
        gate::{Candidate, Case, Decision, DecisionKind, HoldReason, Resolution},
        number::{IndividualNumber, NumberError},
        subject::SubjectKind,
        text::chars,
    },
    grpc::pb,
};

/// The longest value accepted per field, in characters. Generous for real data (the longest
/// Japanese addresses with building names run to about 120 characters) and small enough that
/// a request cannot make the service fold megabytes.
pub const MAX_FIELD_CHARS: [usize; 5] = [100, 100, 40, 16, 300];
/// The most candidates accepted in one request. A 5情報 lookup returns zero or one person in
/// practice; a handful means the query was weak; dozens means something upstream is broken.
pub const MAX_CANDIDATES: usize = 20;
/// The longest idempotency key or subject id accepted.
pub const MAX_ID_CHARS: usize = 128;
/// How long an insurer has to register after receiving the form.
pub const REGISTRATION_PERIOD: Duration = Duration::from_secs(5 * 24 * 60 * 60);

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// The field's path in the request, e.g. `candidates[0].individual_number`.
    pub field: String,
    /// What is wrong, without the value.
    pub description: String,
}

impl std::fmt::Display for FieldViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.description)
    }
}

/// Whether the caller's identifiers are required (the service) or optional (a local check).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identifiers {
    /// request_id and insurer_number must be present.
    Required,
    /// They may be empty; when present they are still validated.
    Optional,
}

/// Whether `s` is a 保険者番号: 8 ASCII digits. The one definition every edge check uses.
pub fn is_insurer_number(s: &str) -> bool {
    s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Validates a request and converts it into a domain case.
pub fn case_from_request(
    req: &pb::VerifyRequest,
    identifiers: Identifiers,
) -> Result<Case, Vec<FieldViolation>> {
    let mut v = Vec::new();
    let required = identifiers == Identifiers::Required;
    check_id(&mut v, "request_id", &req.request_id, required);
    if req.insurer_number.is_empty() {
        if required {
            violation(&mut v, "insurer_number", "is required");
        }
    } else if !is_insurer_number(&req.insurer_number) {
        violation(&mut v, "insurer_number", "must be 8 digits (保険者番号)");
    }
    check_id(&mut v, "subject_id", &req.subject_id, false);
    if pb::SubjectKind::try_from(req.subject_kind).is_err() {
        violation(&mut v, "subject_kind", "is not a known SubjectKind");
    }

    let declared = record(&mut v, "declared", req.declared.as_ref());
    let query = req.query.as_ref().map(|q| record(&mut v, "query", Some(q)));
    if req.candidates.len() > MAX_CANDIDATES {
        violation(
            &mut v,
            "candidates",
            &format!(
                "has {} entries; at most {MAX_CANDIDATES} are accepted",
                req.candidates.len()
            ),
        );
    }
    let candidates = req
        .candidates
        .iter()
        .take(MAX_CANDIDATES)
        .enumerate()
        .map(|(i, c)| {
            let record = record(
                &mut v,
                &format!("candidates[{i}].fields"),
                c.fields.as_ref(),
            );
            let path = format!("candidates[{i}].individual_number");
            let number = match IndividualNumber::parse(&c.individual_number) {
                Err(NumberError::Empty) => {
                    violation(&mut v, &path, "is required for every candidate");
                    Err(NumberError::Empty)
                }
                Err(NumberError::NotADigit) => {
                    violation(&mut v, &path, "may contain only digits, spaces and hyphens");
                    Err(NumberError::NotADigit)
                }
                other => other,
            };
            Candidate { record, number }
        })
        .collect();
    let declared_number = match IndividualNumber::parse(&req.declared_individual_number) {
        Err(NumberError::Empty) => None,
        Err(NumberError::NotADigit) => {
            violation(
                &mut v,
                "declared_individual_number",
                "may contain only digits, spaces and hyphens",
            );
            None
        }
        other => Some(other),
    };
    if let Some(ts) = &req.received_at {
        if !(0..=253_402_300_799).contains(&ts.seconds) || !(0..1_000_000_000).contains(&ts.nanos) {
            violation(&mut v, "received_at", "is not a valid timestamp");
        }
    }
    if v.is_empty() {
        Ok(Case {
            declared,
            query,
            candidates,
            declared_number,
        })
    } else {
        Err(v)
    }
}

fn violation(v: &mut Vec<FieldViolation>, field: &str, description: &str) {
    v.push(FieldViolation {
        field: field.to_owned(),
        description: description.to_owned(),
    });
}

fn check_id(v: &mut Vec<FieldViolation>, field: &str, value: &str, required: bool) {
    if value.is_empty() {
        if required {
            violation(v, field, "is required");
        }
    } else if value.chars().count() > MAX_ID_CHARS {
        violation(
            v,
            field,
            &format!("is longer than {MAX_ID_CHARS} characters"),
        );
    } else if value.chars().any(|c| c.is_control()) {
        violation(v, field, "contains a control character");
    }
}

fn record(v: &mut Vec<FieldViolation>, path: &str, fields: Option<&pb::FiveFields>) -> Record {
    let Some(f) = fields else {
        return Record::default();
    };
    let record = Record {
        kanji_name: f.kanji_name.clone(),
        kana_name: f.kana_name.clone(),
        birth_date: f.birth_date.clone(),
        sex: f.sex.clone(),
        address: f.address.clone(),
    };
    for field in Field::ALL {
        let value = record.get(field);
        let max = MAX_FIELD_CHARS[field as usize];
        if value.chars().count() > max {
            violation(
                v,
                &format!("{path}.{}", field.as_str()),
                &format!("is longer than {max} characters"),
            );
        } else if value.chars().any(chars::is_control) {
            violation(
                v,
                &format!("{path}.{}", field.as_str()),
                "contains a control character",
            );
        }
    }
    record
}

/// The contract's enum value for a decision.
pub fn decision_to_pb(kind: DecisionKind) -> pb::Decision {
    match kind {
        DecisionKind::Register => pb::Decision::Register,
        DecisionKind::Hold => pb::Decision::Hold,
        DecisionKind::Return => pb::Decision::Return,
    }
}

/// The contract's enum value for a field.
pub fn field_to_pb(field: Field) -> pb::Field {
    match field {
        Field::KanjiName => pb::Field::KanjiName,
        Field::KanaName => pb::Field::KanaName,
        Field::BirthDate => pb::Field::BirthDate,
        Field::Sex => pb::Field::Sex,
        Field::Address => pb::Field::Address,
    }
}

/// The contract's enum value for a stage.
pub fn stage_to_pb(stage: Stage) -> pb::Stage {
    match stage {
        Stage::DeclaredVsQuery => pb::Stage::DeclaredVsQuery,
        Stage::QueryVsCandidate => pb::Stage::QueryVsCandidate,
        Stage::DeclaredVsCandidate => pb::Stage::DeclaredVsCandidate,
    }
}

/// The contract's enum value for a class.
pub fn class_to_pb(class: MatchClass) -> pb::MatchClass {
    match class {
        MatchClass::Exact => pb::MatchClass::Exact,
        MatchClass::Notation => pb::MatchClass::Notation,
        MatchClass::Variant => pb::MatchClass::Variant,
        MatchClass::Mismatch => pb::MatchClass::Mismatch,
        MatchClass::Missing => pb::MatchClass::Missing,
        MatchClass::Unparseable => pb::MatchClass::Unparseable,
    }
}

/// The contract's enum value for a hold reason.
pub fn hold_reason_to_pb(reason: HoldReason) -> pb::HoldReason {
    match reason {
        HoldReason::FieldDiffers => pb::HoldReason::FieldDiffers,
        HoldReason::NoCandidate => pb::HoldReason::NoCandidate,
        HoldReason::MultipleCandidates => pb::HoldReason::MultipleCandidates,
        HoldReason::InvalidCheckDigit => pb::HoldReason::InvalidCheckDigit,
        HoldReason::DeclaredNumberDiffers => pb::HoldReason::DeclaredNumberDiffers,
        HoldReason::QueryIncomplete => pb::HoldReason::QueryIncomplete,
        HoldReason::NumberRegisteredToAnotherSubject => {
            pb::HoldReason::NumberRegisteredToAnotherSubject
        }
        HoldReason::SubjectHasAnotherNumber => pb::HoldReason::SubjectHasAnotherNumber,
    }
}

/// The domain's hold reason for the contract's enum value; `None` for `UNSPECIFIED`.
pub fn hold_reason_from_pb(reason: pb::HoldReason) -> Option<HoldReason> {
    HoldReason::ALL
        .into_iter()
        .find(|r| hold_reason_to_pb(*r) == reason)
}

/// The contract's enum value for a resolution.
pub fn resolution_to_pb(r: Resolution) -> pb::Resolution {
    match r {
        Resolution::Requeried => pb::Resolution::Requeried,
        Resolution::NumberFromPerson => pb::Resolution::NumberFromPerson,
        Resolution::Withdrawn => pb::Resolution::Withdrawn,
    }
}

/// The domain's resolution for the contract's enum value; `None` for `UNSPECIFIED`.
pub fn resolution_from_pb(r: pb::Resolution) -> Option<Resolution> {
    Resolution::ALL
        .into_iter()
        .find(|x| resolution_to_pb(*x) == r)
}

/// The contract's enum value for a subject kind.
pub fn subject_kind_to_pb(kind: SubjectKind) -> pb::SubjectKind {
    match kind {
        SubjectKind::Unspecified => pb::SubjectKind::Unspecified,
        SubjectKind::Member => pb::SubjectKind::Member,
        SubjectKind::Dependent => pb::SubjectKind::Dependent,
    }
}

/// The domain's subject kind for the contract's enum value.
pub fn subject_kind_from_pb(kind: pb::SubjectKind) -> SubjectKind {
    match kind {
        pb::SubjectKind::Unspecified => SubjectKind::Unspecified,
        pb::SubjectKind::Member => SubjectKind::Member,
        pb::SubjectKind::Dependent => SubjectKind::Dependent,
    }
}

/// When the insurer must have registered: the form's receipt plus the registration period.
pub fn register_by(request: &pb::VerifyRequest) -> Option<SystemTime> {
    let received = request.received_at.as_ref()?;
    let seconds = u64::try_from(received.seconds).ok()?;
    let nanos = u32::try_from(received.nanos).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::new(seconds, nanos) + REGISTRATION_PERIOD)
}

/// The response a stored decision was answered with, rebuilt from the event: a replay and
/// GetVerification return exactly what the caller got.
pub fn response_from_decided(d: &Decided) -> pb::VerifyResponse {
    pb::VerifyResponse {
        verification_id: d.verification_id.clone(),
        request_id: d.request_id.clone(),
        error: None,
        decision: decision_to_pb(d.decision).into(),
        comparisons: d
            .comparisons
            .iter()
            .map(|c| pb::FieldComparison {
                stage: stage_to_pb(c.stage).into(),
                field: field_to_pb(c.field).into(),
                match_class: class_to_pb(c.class).into(),
                rules: c.rules.clone(),
                candidate_index: c.candidate_index,
            })
            .collect(),
        hold_reasons: d
            .hold_reasons
            .iter()
            .map(|&r| hold_reason_to_pb(r).into())
            .collect(),
        fields_to_complete: d
            .fields_to_complete
            .iter()
            .map(|&f| field_to_pb(f).into())
            .collect(),
        selected_candidate: d
            .selected_candidate
            .map_or(-1, |i| i32::try_from(i).unwrap_or(i32::MAX)),
        decided_at: Some(timestamp(d.occurred_at)),
        register_by: d.register_by.map(timestamp),
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
        decision: decision_to_pb(decision.kind).into(),
        comparisons: decision
            .comparisons
            .iter()
            .map(|c| pb::FieldComparison {
                stage: stage_to_pb(c.stage).into(),
                field: field_to_pb(c.field).into(),
                match_class: class_to_pb(c.comparison.class).into(),
                rules: c.comparison.rules.ids().map(str::to_owned).collect(),
                candidate_index: c.candidate_index as u32,
            })
            .collect(),
        hold_reasons: decision
            .hold_reasons
            .iter()
            .map(|&r| hold_reason_to_pb(r).into())
            .collect(),
        fields_to_complete: decision
            .fields_to_complete
            .iter()
            .map(|&f| field_to_pb(f).into())
            .collect(),
        selected_candidate: decision.selected_candidate.map_or(-1, |i| i as i32),
        decided_at: Some(timestamp(decided_at)),
        register_by: request
            .received_at
            .as_ref()
            .map(|r| pbjson_types::Timestamp {
                seconds: r.seconds + REGISTRATION_PERIOD.as_secs() as i64,
                nanos: r.nanos,
            }),
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
