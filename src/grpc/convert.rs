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
        deadline,
        gate::{Candidate, Case, Decision, DecisionKind, HoldReason, Resolution},
        ids::{
            self, IdError, InsurerNumber, Note, OperatorId, RequestId, SubjectId, VerificationId,
        },
        number::{IndividualNumber, NumberError},
        risk::RiskClass,
        subject::SubjectKind,
        text::chars,
    },
    grpc::{holds_cursor::HoldsOrder, page_token, pb},
};

/// The longest value accepted per field, in characters. Generous for real data (the longest
/// Japanese addresses with building names run to about 120 characters) and small enough that
/// a request cannot make the service fold megabytes.
pub const MAX_FIELD_CHARS: [usize; 5] = [100, 100, 40, 16, 300];
/// The most candidates accepted in one request. A 5情報 lookup returns zero or one person in
/// practice; a handful means the query was weak; dozens means something upstream is broken.
pub const MAX_CANDIDATES: usize = 20;
pub use crate::domain::ids::MAX_ID_CHARS;

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
    InsurerNumber::is_valid(s)
}

/// A Verify request parsed once at the edge: the handler never checks these again.
#[derive(Debug)]
pub struct Verify {
    /// Whose request.
    pub insurer: InsurerNumber,
    /// The caller's idempotency key.
    pub request_id: RequestId,
    /// The insurer's id for the person (required: see [`parse_verify`]).
    pub subject_id: SubjectId,
    /// Member or dependent.
    pub subject_kind: SubjectKind,
    /// The registration deadline: the form's receipt plus the registration period.
    pub register_by: Option<SystemTime>,
    /// The five fields at every stage and the candidates.
    pub case: Case,
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
            subject_kind: subject_kind_from_pb(req.subject_kind()),
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

/// The length of `value` in characters, and whether it holds a control character and a
/// bidirectional formatting character.
///
/// Every such character is encoded with a lead byte below 0x20, 0x7F (C0 and DEL), 0xC2 (C1),
/// 0xD8 (U+061C) or 0xE2 (U+200E–U+2069): a value without those bytes, as almost every name
/// and address is, is counted eight bytes at a time without decoding a character.
fn scan(value: &str) -> (usize, bool, bool) {
    let bytes = value.as_bytes();
    let (mut continuations, mut suspect) = (0, false);
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let w = u64::from_ne_bytes(word.try_into().expect("eight bytes"));
        continuations += swar::continuation_bytes(w);
        suspect |= swar::may_start_a_control(w);
    }
    for &b in words.remainder() {
        continuations += usize::from((b as i8) < -0x40);
        suspect |= b < 0x20 || matches!(b, 0x7F | 0xC2 | 0xD8 | 0xE2);
    }
    if !suspect {
        return (bytes.len() - continuations, false, false);
    }
    value
        .chars()
        .fold((0, false, false), |(n, control, bidi), c| {
            (
                n + 1,
                control || chars::is_control(c),
                bidi || chars::is_bidi_control(c),
            )
        })
}

/// Tests on eight bytes at once (the bit tricks of "Bit Twiddling Hacks"), exact for the word
/// as a whole.
mod swar {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;

    /// How many of the bytes are UTF-8 continuation bytes (`10xxxxxx`).
    pub(super) fn continuation_bytes(w: u64) -> usize {
        // Bit 7 set and bit 6 clear; the shift moves each byte's bit 6 onto its bit 7.
        // The flags moved to each byte's bit 0 and summed by one multiplication (no byte sum
        // exceeds 8, so nothing carries); `count_ones` is no faster without a POPCNT target.
        let flags = (w & !(w << 1) & HIGHS) >> 7;
        (flags.wrapping_mul(ONES) >> 56) as usize
    }

    /// Whether some byte is below 0x20 or is 0x7F, 0xC2, 0xD8 or 0xE2.
    pub(super) fn may_start_a_control(w: u64) -> bool {
        let below_0x20 = w.wrapping_sub(ONES * 0x20) & !w;
        let equal = |b: u64| {
            let x = w ^ (ONES * b);
            x.wrapping_sub(ONES) & !x
        };
        (below_0x20 | equal(0x7F) | equal(0xC2) | equal(0xD8) | equal(0xE2)) & HIGHS != 0
    }
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

/// The contract's enum value for a risk class; `UNSPECIFIED` when there is none (not a hold).
pub fn risk_class_to_pb(class: Option<RiskClass>) -> pb::RiskClass {
    match class {
        None => pb::RiskClass::Unspecified,
        Some(RiskClass::BirthOrSex) => pb::RiskClass::BirthOrSex,
        Some(RiskClass::Structural) => pb::RiskClass::Structural,
        Some(RiskClass::Names) => pb::RiskClass::Names,
        Some(RiskClass::NameAndAddress) => pb::RiskClass::NameAndAddress,
        Some(RiskClass::AddressOnly) => pb::RiskClass::AddressOnly,
        Some(RiskClass::OneNameOnly) => pb::RiskClass::OneNameOnly,
        Some(RiskClass::NotationOrVariantOnly) => pb::RiskClass::NotationOrVariantOnly,
    }
}

/// The domain's risk class for the contract's enum value; `None` for `UNSPECIFIED`.
pub fn risk_class_from_pb(class: pb::RiskClass) -> Option<RiskClass> {
    RiskClass::ALL
        .into_iter()
        .find(|&c| risk_class_to_pb(Some(c)) == class)
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

/// When the insurer must have registered ([`deadline::register_by`]: the end of the fifth day
/// after the day of receipt, in Japan).
pub fn register_by(request: &pb::VerifyRequest) -> Option<SystemTime> {
    let received = request.received_at.as_ref()?;
    let seconds = u64::try_from(received.seconds).ok()?;
    let nanos = u32::try_from(received.nanos).ok()?;
    deadline::register_by(SystemTime::UNIX_EPOCH + Duration::new(seconds, nanos))
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
        risk_class: risk_class_to_pb(d.risk_class()).into(),
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
        register_by: register_by(request).map(timestamp),
        risk_class: risk_class_to_pb(decision.risk_class()).into(),
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

/// Records the violation of `field` if `parsed` failed; the value if it did not.
fn field<T>(v: &mut Vec<FieldViolation>, field: &str, parsed: Result<T, IdError>) -> Option<T> {
    parsed.map_err(|e| violation(v, field, &e.to_string())).ok()
}

/// A GetVerification request, parsed.
#[derive(Debug, Clone)]
pub struct GetVerification {
    /// Whose verification.
    pub insurer: InsurerNumber,
    /// Which.
    pub verification_id: VerificationId,
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

/// A CommitRegistration request, parsed.
#[derive(Debug, Clone)]
pub struct CommitRegistration {
    /// Whose verification.
    pub insurer: InsurerNumber,
    /// The register decision to commit against.
    pub verification_id: VerificationId,
    /// Who the number is for.
    pub subject_id: SubjectId,
    /// The number to register (its `Debug` never shows the digits).
    pub number: IndividualNumber,
    /// The encoded request, fingerprinted for the audit log (it holds the number).
    pub content: Vec<u8>,
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

/// A ResolveHold request, parsed.
#[derive(Debug, Clone)]
pub struct ResolveHold {
    /// Whose hold.
    pub insurer: InsurerNumber,
    /// The held verification.
    pub verification_id: VerificationId,
    /// How it is closed.
    pub resolution: Resolution,
    /// For a re-query: the verification that replaces the held one (never the held one).
    pub replaced_by: Option<VerificationId>,
    /// Who closes it.
    pub operator_id: OperatorId,
    /// The operator's note.
    pub note: Note,
}

/// Parses a ResolveHold request.
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
        .and_then(resolution_from_pb);
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
            })
        }
        _ => Err(v),
    }
}

/// ListHolds' page size when the caller gives none.
const DEFAULT_PAGE_SIZE: usize = 50;
/// The largest page ListHolds returns, whatever the caller asks.
const MAX_PAGE_SIZE: usize = 500;

/// A ListHolds request, parsed.
#[derive(Debug, Clone)]
pub struct ListHolds {
    /// Whose holds.
    pub insurer: InsurerNumber,
    /// At most this many.
    pub page_size: usize,
    /// The caller's page token, still sealed: bounded and hex here, opened by the service
    /// (which holds the key); `None` for the first page.
    pub page_token: Option<String>,
    /// Only holds with one of these reasons (all when empty).
    pub reasons: Vec<HoldReason>,
    /// Only holds of one of these risk classes (all when empty).
    pub risk_classes: Vec<RiskClass>,
    /// Only holds past their registration deadline.
    pub overdue_only: bool,
    /// The order of the listing.
    pub order: HoldsOrder,
}

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
            .and_then(risk_class_from_pb)
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
            .and_then(hold_reason_from_pb)
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
    match insurer {
        Some(insurer) if v.is_empty() => Ok(ListHolds {
            insurer,
            page_size,
            page_token,
            reasons,
            risk_classes,
            overdue_only: r.overdue_only,
            order,
        }),
        _ => Err(v),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn scan_by_characters(value: &str) -> (usize, bool, bool) {
        (
            value.chars().count(),
            value.chars().any(chars::is_control),
            value.chars().any(chars::is_bidi_control),
        )
    }

    #[test]
    fn the_byte_scan_finds_every_control_and_bidirectional_character() {
        // Every offset in an eight-byte word, and across the boundary of two.
        for prefix in ["", "a", "ab", "abc", "abcd", "abcde", "abcdef", "abcdefg"] {
            for c in (0..0x3000u32).filter_map(char::from_u32) {
                let value = format!("{prefix}山田{c}太郎");
                assert_eq!(
                    scan(&value),
                    scan_by_characters(&value),
                    "U+{:04X} after {prefix:?}",
                    c as u32
                );
            }
        }
    }

    proptest! {
        #[test]
        fn the_byte_scan_agrees_with_a_scan_by_characters(value in "\\PC{0,12}|.{0,12}|[\u{0}-\u{3000}]{0,12}") {
            prop_assert_eq!(scan(&value), scan_by_characters(&value));
        }
    }
}
