//! The edge in: the contract's request messages parsed into the validated inputs of the use
//! cases ([`crate::verification::inputs`]) and the domain's case. Every interface that takes
//! the contract's shapes parses here: the gRPC handlers, `check`, `bulk`'s rows.
//!
//! Validation errors name the offending field by its path in the request
//! (`candidates[1].fields.birth_date`) and describe the problem without quoting the value: the
//! value is personal data.

mod history;
mod hold_stats;
mod scan;

use std::time::{Duration, SystemTime};

use crate::{
    contract::pb,
    domain::{
        Field,
        compare::Record,
        deadline,
        gate::{Candidate, Case, HoldReason, Resolution},
        hold_cause::HoldCause,
        ids::{
            self, IdError, InsurerNumber, Note, OperatorId, RequestId, SubjectId, VerificationId,
        },
        number::{IndividualNumber, NumberError},
        risk::RiskClass,
    },
    verification::{
        holds_cursor::HoldsOrder,
        inputs::{AssignHold, CommitRegistration, GetVerification, ListHolds, ResolveHold, Verify},
        page_token,
    },
};
pub use history::parse_subject_history;
pub use hold_stats::parse_hold_stats;
use scan::scan;

pub use crate::domain::violation::FieldViolation;

/// The longest value accepted per field, in characters. Generous for real data (the longest
/// Japanese addresses with building names run to about 120 characters) and small enough that
/// a request cannot make the service fold megabytes.
pub const MAX_FIELD_CHARS: [usize; 5] = [100, 100, 40, 16, 300];
/// The most candidates accepted in one request. A 5情報 lookup returns zero or one person in
/// practice; a handful means the query was weak; dozens means something upstream is broken.
pub const MAX_CANDIDATES: usize = 20;
pub use crate::domain::ids::MAX_ID_CHARS;

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
    InsurerNumber::is_valid(s)
}

/// Parses a Verify request: every field validated, each violation named.
pub fn parse_verify(req: &pb::VerifyRequest) -> Result<Verify, Vec<FieldViolation>> {
    verify_from_parts(req, RecordsOf::cloned_from(req))
}

/// [`parse_verify`] of a request that is not needed afterwards: its five-field records are
/// moved into the case instead of copied (a bulk run parses millions of requests).
pub fn parse_verify_owned(mut req: pb::VerifyRequest) -> Result<Verify, Vec<FieldViolation>> {
    let records = RecordsOf::taken_from(&mut req);
    verify_from_parts(&req, records)
}

fn verify_from_parts(
    req: &pb::VerifyRequest,
    records: RecordsOf,
) -> Result<Verify, Vec<FieldViolation>> {
    let case = case_from_parts(req, Identifiers::Required, records)?;
    let mut v = Vec::new();
    let insurer = InsurerNumber::parse(&req.insurer_number)
        .map_err(|e| violation(&mut v, "insurer_number", &e.to_string()))
        .ok();
    let request_id = RequestId::parse(&req.request_id)
        .map_err(|e| violation(&mut v, "request_id", &e.to_string()))
        .ok();
    // A decision is about a person: without the insurer's id for them no duplicate check can
    // run (is this number already someone else's? has this person another?), and a register
    // decision could never be committed. Refusing is clearer for an integrator than a hold
    // that no clerk could resolve either.
    let subject_id = SubjectId::parse(&req.subject_id)
        .map_err(|e| {
            let why = match e {
                IdError::Missing => {
                    "is required: the insurer's id for the person (e.g. 記号番号), without \
                     which no duplicate check can run and no registration be committed"
                        .to_owned()
                }
                other => other.to_string(),
            };
            violation(&mut v, "subject_id", &why);
        })
        .ok();
    if req.subject_kind == pb::SubjectKind::Unspecified as i32 {
        violation(
            &mut v,
            "subject_kind",
            "is required: SUBJECT_KIND_MEMBER or SUBJECT_KIND_DEPENDENT",
        );
    }
    match (insurer, request_id, subject_id) {
        (Some(insurer), Some(request_id), Some(subject_id)) if v.is_empty() => Ok(Verify {
            insurer,
            request_id,
            subject_id,
            subject_kind: req.subject_kind().into(),
            register_by: register_by(req),
            case,
        }),
        _ => Err(v),
    }
}

/// The five-field records of a request, apart from the rest of it: copied, or moved out.
struct RecordsOf {
    declared: Option<pb::FiveFields>,
    query: Option<pb::FiveFields>,
    candidates: Vec<Option<pb::FiveFields>>,
}

impl RecordsOf {
    fn cloned_from(req: &pb::VerifyRequest) -> Self {
        RecordsOf {
            declared: req.declared.clone(),
            query: req.query.clone(),
            candidates: req
                .candidates
                .iter()
                .take(MAX_CANDIDATES)
                .map(|c| c.fields.clone())
                .collect(),
        }
    }

    /// Leaves `None` in the request's record fields (their presence is judged here).
    fn taken_from(req: &mut pb::VerifyRequest) -> Self {
        RecordsOf {
            declared: req.declared.take(),
            query: req.query.take(),
            candidates: req
                .candidates
                .iter_mut()
                .take(MAX_CANDIDATES)
                .map(|c| c.fields.take())
                .collect(),
        }
    }
}

/// Validates a request and converts it into a domain case. The service parses a whole
/// [`Verify`] with [`parse_verify`]; a local check, whose identifiers are optional, uses this.
pub fn case_from_request(
    req: &pb::VerifyRequest,
    identifiers: Identifiers,
) -> Result<Case, Vec<FieldViolation>> {
    case_from_parts(req, identifiers, RecordsOf::cloned_from(req))
}

/// The case of `req`, whose five-field records are `records` (the request's own may have been
/// moved out).
fn case_from_parts(
    req: &pb::VerifyRequest,
    identifiers: Identifiers,
    records: RecordsOf,
) -> Result<Case, Vec<FieldViolation>> {
    let mut v = Vec::new();
    let required = identifiers == Identifiers::Required;
    check_id(&mut v, "request_id", &req.request_id, required);
    if req.insurer_number.is_empty() {
        if required {
            violation(&mut v, "insurer_number", "is required");
        }
    } else if let Err(e) = InsurerNumber::parse(&req.insurer_number) {
        violation(&mut v, "insurer_number", &e.to_string());
    }
    check_id(&mut v, "subject_id", &req.subject_id, false);
    if pb::SubjectKind::try_from(req.subject_kind).is_err() {
        violation(&mut v, "subject_kind", "is not a known SubjectKind");
    }

    let declared = record(&mut v, format_args!("declared"), records.declared);
    let query = records
        .query
        .map(|q| record(&mut v, format_args!("query"), Some(q)));
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
        .zip(records.candidates)
        .enumerate()
        .map(|(i, (c, fields))| {
            // Paths are spelled only for a violation: most rows have none.
            let record = record(&mut v, format_args!("candidates[{i}].fields"), fields);
            let path = || format!("candidates[{i}].individual_number");
            let number = match IndividualNumber::parse(&c.individual_number) {
                Err(NumberError::Empty) => {
                    violation(&mut v, &path(), "is required for every candidate");
                    Err(NumberError::Empty)
                }
                Err(NumberError::NotADigit) => {
                    violation(
                        &mut v,
                        &path(),
                        "may contain only digits, spaces and hyphens",
                    );
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
    if let Some(ts) = &req.received_at
        && (!(0..=253_402_300_799).contains(&ts.seconds) || !(0..1_000_000_000).contains(&ts.nanos))
    {
        violation(&mut v, "received_at", "is not a valid timestamp");
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
    match ids::canonical(value) {
        Ok(_) => {}
        Err(IdError::Missing) if !required => {}
        Err(e) => violation(v, field, &e.to_string()),
    }
}

fn record(
    v: &mut Vec<FieldViolation>,
    path: std::fmt::Arguments<'_>,
    fields: Option<pb::FiveFields>,
) -> Record {
    let Some(f) = fields else {
        return Record::default();
    };
    let record = Record {
        kanji_name: f.kanji_name,
        kana_name: f.kana_name,
        birth_date: f.birth_date,
        sex: f.sex,
        address: f.address,
    };
    for field in Field::ALL {
        let max = MAX_FIELD_CHARS[field as usize];
        // One scan gives the length and whether a control or bidirectional character occurs;
        // a value too long is reported as such whatever else it holds.
        let (chars_seen, control, bidi) = scan(record.get(field));
        let problem = if chars_seen > max {
            format!("is longer than {max} characters")
        } else if control {
            "contains a control character".to_owned()
        } else if bidi {
            "contains a bidirectional formatting character (U+202A–U+202E, U+2066–U+2069, \
             U+200E, U+200F or U+061C)"
                .to_owned()
        } else {
            continue;
        };
        violation(v, &format!("{path}.{}", field.as_str()), &problem);
    }
    record
}

/// When the insurer must have registered ([`deadline::register_by`]: the end of the fifth day
/// after the day of receipt, in Japan).
pub fn register_by(request: &pb::VerifyRequest) -> Option<SystemTime> {
    let received = request.received_at.as_ref()?;
    let seconds = u64::try_from(received.seconds).ok()?;
    let nanos = u32::try_from(received.nanos).ok()?;
    deadline::register_by(SystemTime::UNIX_EPOCH + Duration::new(seconds, nanos))
}

/// Records the violation of `field` if `parsed` failed; the value if it did not.
fn field<T>(v: &mut Vec<FieldViolation>, field: &str, parsed: Result<T, IdError>) -> Option<T> {
    parsed.map_err(|e| violation(v, field, &e.to_string())).ok()
}

/// Parses a GetVerification request.
pub fn parse_get_verification(
    r: &pb::GetVerificationRequest,
) -> Result<GetVerification, Vec<FieldViolation>> {
    let mut v = Vec::new();
    let verification_id = field(
        &mut v,
        "verification_id",
        VerificationId::parse(&r.verification_id),
    );
    let insurer = field(
        &mut v,
        "insurer_number",
        InsurerNumber::parse(&r.insurer_number),
    );
    match (insurer, verification_id) {
        (Some(insurer), Some(verification_id)) => Ok(GetVerification {
            insurer,
            verification_id,
        }),
        _ => Err(v),
    }
}

/// Parses a CommitRegistration request.
pub fn parse_commit(
    r: &pb::CommitRegistrationRequest,
) -> Result<CommitRegistration, Vec<FieldViolation>> {
    use prost::Message;
    let mut v = Vec::new();
    let verification_id = field(
        &mut v,
        "verification_id",
        VerificationId::parse(&r.verification_id),
    );
    let subject_id = field(&mut v, "subject_id", SubjectId::parse(&r.subject_id));
    let insurer = field(
        &mut v,
        "insurer_number",
        InsurerNumber::parse(&r.insurer_number),
    );
    let number = IndividualNumber::parse(&r.individual_number)
        // The error names what is wrong, never the digits.
        .map_err(|e| violation(&mut v, "individual_number", &e.to_string()))
        .ok();
    match (insurer, verification_id, subject_id, number) {
        (Some(insurer), Some(verification_id), Some(subject_id), Some(number)) => {
            Ok(CommitRegistration {
                insurer,
                verification_id,
                subject_id,
                number,
                content: r.encode_to_vec(),
            })
        }
        _ => Err(v),
    }
}

/// An AssignHold request, parsed; every malformed field named (an empty assignee releases).
pub fn parse_assign_hold(r: &pb::AssignHoldRequest) -> Result<AssignHold, Vec<FieldViolation>> {
    let mut v = Vec::new();
    let verification_id = field(
        &mut v,
        "verification_id",
        VerificationId::parse(&r.verification_id),
    );
    let insurer = field(
        &mut v,
        "insurer_number",
        InsurerNumber::parse(&r.insurer_number),
    );
    let assignee = match OperatorId::parse(&r.assignee) {
        Ok(a) => Some(a),
        Err(IdError::Missing) => None,
        Err(e) => {
            violation(&mut v, "assignee", &e.to_string());
            None
        }
    };
    match (verification_id, insurer) {
        (Some(verification_id), Some(insurer)) if v.is_empty() => Ok(AssignHold {
            insurer,
            verification_id,
            assignee,
        }),
        _ => Err(v),
    }
}

/// A ResolveHold request, parsed; every malformed field named.
pub fn parse_resolve_hold(r: &pb::ResolveHoldRequest) -> Result<ResolveHold, Vec<FieldViolation>> {
    let mut v = Vec::new();
    let verification_id = field(
        &mut v,
        "verification_id",
        VerificationId::parse(&r.verification_id),
    );
    let insurer = field(
        &mut v,
        "insurer_number",
        InsurerNumber::parse(&r.insurer_number),
    );
    let operator_id = field(&mut v, "operator_id", OperatorId::parse(&r.operator_id));
    let note = field(&mut v, "note", Note::parse(&r.note));
    let resolution = pb::Resolution::try_from(r.resolution)
        .ok()
        .and_then(|r| Resolution::try_from(r).ok());
    if resolution.is_none() {
        violation(
            &mut v,
            "resolution",
            "must be REQUERIED, NUMBER_FROM_PERSON or WITHDRAWN",
        );
    }
    let mut replaced_by = None;
    if resolution == Some(Resolution::Requeried) {
        replaced_by = match VerificationId::parse(&r.replaced_by_verification_id) {
            Ok(id) => Some(id),
            Err(IdError::Missing) => {
                violation(
                    &mut v,
                    "replaced_by_verification_id",
                    "is required for RESOLUTION_REQUERIED",
                );
                None
            }
            Err(e) => {
                violation(&mut v, "replaced_by_verification_id", &e.to_string());
                None
            }
        };
        if r.replaced_by_verification_id == r.verification_id {
            violation(
                &mut v,
                "replaced_by_verification_id",
                "must name another verification",
            );
        }
    } else if !r.replaced_by_verification_id.is_empty() {
        // Not used by the other resolutions, but still never let through unchecked.
        let _ = field(
            &mut v,
            "replaced_by_verification_id",
            VerificationId::parse(&r.replaced_by_verification_id),
        );
    }
    // Optional: UNSPECIFIED is no cause; a number outside the list is named, not dropped.
    let cause = match pb::HoldCause::try_from(r.cause) {
        Ok(pb::HoldCause::Unspecified) => None,
        Ok(known) => HoldCause::try_from(known).ok(),
        Err(_) => {
            violation(
                &mut v,
                "cause",
                "must be one of the HoldCause values (or unspecified)",
            );
            None
        }
    };
    match (insurer, verification_id, resolution, operator_id, note) {
        (Some(insurer), Some(verification_id), Some(resolution), Some(operator_id), Some(note))
            if v.is_empty() =>
        {
            Ok(ResolveHold {
                insurer,
                verification_id,
                resolution,
                replaced_by,
                operator_id,
                note,
                cause,
            })
        }
        _ => Err(v),
    }
}

/// ListHolds' page size when the caller gives none.
const DEFAULT_PAGE_SIZE: usize = 50;
/// The largest page ListHolds returns, whatever the caller asks.
const MAX_PAGE_SIZE: usize = 500;

/// Parses a ListHolds request.
pub fn parse_list_holds(r: &pb::ListHoldsRequest) -> Result<ListHolds, Vec<FieldViolation>> {
    let mut v = Vec::new();
    let insurer = field(
        &mut v,
        "insurer_number",
        InsurerNumber::parse(&r.insurer_number),
    );
    let page_size = match r.page_size {
        0 => DEFAULT_PAGE_SIZE,
        n if n < 0 => {
            violation(&mut v, "page_size", "must not be negative");
            DEFAULT_PAGE_SIZE
        }
        n => usize::try_from(n)
            .unwrap_or(MAX_PAGE_SIZE)
            .min(MAX_PAGE_SIZE),
    };
    let page_token = (!r.page_token.is_empty()).then(|| r.page_token.clone());
    if page_token.as_deref().is_some_and(|t| {
        t.len() > page_token::MAX_TOKEN_CHARS || !t.bytes().all(|b| b.is_ascii_hexdigit())
    }) {
        violation(&mut v, "page_token", &page_token::InvalidToken.to_string());
    }
    let mut risk_classes = Vec::with_capacity(r.risk_classes.len());
    for (i, &value) in r.risk_classes.iter().enumerate() {
        // Unknown values are refused rather than dropped: dropping the only one would turn a
        // filter into "all".
        match pb::RiskClass::try_from(value)
            .ok()
            .and_then(|c| RiskClass::try_from(c).ok())
        {
            Some(class) => risk_classes.push(class),
            None => violation(
                &mut v,
                &format!("risk_classes[{i}]"),
                "is not a risk class (RISK_CLASS_UNSPECIFIED is no filter)",
            ),
        }
    }
    let mut reasons = Vec::with_capacity(r.reasons.len());
    for (i, &value) in r.reasons.iter().enumerate() {
        // As risk classes: `[999]` or `[UNSPECIFIED]` once dropped the filter and listed every
        // hold.
        match pb::HoldReason::try_from(value)
            .ok()
            .and_then(|r| HoldReason::try_from(r).ok())
        {
            Some(reason) => reasons.push(reason),
            None => violation(
                &mut v,
                &format!("reasons[{i}]"),
                "is not a hold reason (HOLD_REASON_UNSPECIFIED is no filter)",
            ),
        }
    }
    let order = match pb::HoldsOrder::try_from(r.order) {
        Ok(pb::HoldsOrder::Unspecified | pb::HoldsOrder::OldestFirst) => HoldsOrder::OldestFirst,
        Ok(pb::HoldsOrder::Triage) => HoldsOrder::Triage,
        Err(_) => {
            violation(&mut v, "order", "is not a known HoldsOrder");
            HoldsOrder::OldestFirst
        }
    };
    let assignee = match r.assignee.as_str() {
        "" => None,
        name => field(&mut v, "assignee", OperatorId::parse(name)),
    };
    if assignee.is_some() && r.unassigned_only {
        violation(
            &mut v,
            "unassigned_only",
            "cannot be combined with an assignee",
        );
    }
    match insurer {
        Some(insurer) if v.is_empty() => Ok(ListHolds {
            insurer,
            page_size,
            page_token,
            reasons,
            risk_classes,
            overdue_only: r.overdue_only,
            assignee,
            unassigned_only: r.unassigned_only,
            order,
        }),
        _ => Err(v),
    }
}
