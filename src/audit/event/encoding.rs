//! The canonical encoding of an event (format 2, `proto/verifyidentity/audit/v1/event.proto`):
//! what a row stores and what the chain hashes. Pure: no I/O.
//!
//! A row keeps the fields numbered 1–15 of `Event` in columns (queries look them up) and the
//! encoding of the rest in its `body`. The hash is SHA-256 over the encoding of the whole
//! message: the column fields encoded, then the body — which is the same bytes a protobuf
//! encoder writes for the whole message, because it writes fields in number order.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prost::Message;
use sha2::{Digest, Sha256};

use crate::{
    audit::{
        AccessDenied, CommitAccepted, CommitRefused, ComparisonRow, Decided, EventType,
        Fingerprint, HoldAssigned, HoldResolved, NewEvent, event::Hash, event::pb,
        micros_since_epoch, time_from_micros,
    },
    domain::{
        Field, MatchClass, Stage,
        gate::{CommitRefusal, DecisionKind, HoldReason, Resolution},
        hold_cause::HoldCause,
        subject::SubjectKind,
    },
};

/// The format version of rows written in this encoding. Format 1 is the first release's
/// columns (`legacy`).
pub const FORMAT: i32 = 2;

/// The hash of `e` at position `seq` of `writer_id`'s chain, after `prev_hash`.
pub fn event_hash(prev_hash: &Hash, writer_id: &str, seq: i64, e: &NewEvent) -> Hash {
    event_hash_with_body(prev_hash, writer_id, seq, e, &body(e))
}

/// [`event_hash`] with `e`'s [`body`] already encoded (an append stores the same bytes, so it
/// encodes them once for both).
pub fn event_hash_with_body(
    prev_hash: &Hash,
    writer_id: &str,
    seq: i64,
    e: &NewEvent,
    body: &[u8],
) -> Hash {
    let head = head(prev_hash, writer_id, seq, e).encode_to_vec();
    let mut h = Sha256::new();
    h.update(&head);
    h.update(body);
    h.finalize().into()
}

/// The column fields of `e` as an `Event` (the body fields left empty).
fn head(prev_hash: &Hash, writer_id: &str, seq: i64, e: &NewEvent) -> pb::Event {
    pb::Event {
        prev_hash: prev_hash.to_vec(),
        writer_id: writer_id.to_owned(),
        seq,
        kind: e.event_type().as_str().to_owned(),
        occurred_at_us: micros_since_epoch(e.occurred_at()),
        insurer_number: e.insurer_number().to_owned(),
        verification_id: e.verification_id().to_owned(),
        decision: e.decision().map_or("", DecisionKind::id).to_owned(),
        ..Default::default()
    }
}

/// The `body` column of `e`: the encoding of its fields numbered 16 and up.
pub fn body(e: &NewEvent) -> Vec<u8> {
    use pb::event::Detail;
    let detail = match e {
        NewEvent::Decided(d) => Detail::Decided(decided_to_pb(d)),
        NewEvent::CommitAccepted(c) => Detail::CommitAccepted(pb::CommitAccepted {
            commit_id: c.commit_id.clone(),
            number: Some(fingerprint_to_pb(&c.number_fingerprint)),
            request: c
                .request_fingerprint
                .as_ref()
                .map(|f| fingerprint_after(f, Some(&c.number_fingerprint))),
        }),
        NewEvent::CommitRefused(c) => Detail::CommitRefused(pb::CommitRefused {
            reason: c.reason.id().to_owned(),
            number: c.number_fingerprint.as_ref().map(fingerprint_to_pb),
            request: c
                .request_fingerprint
                .as_ref()
                .map(|f| fingerprint_after(f, c.number_fingerprint.as_ref())),
        }),
        NewEvent::HoldResolved(r) => Detail::HoldResolved(pb::HoldResolved {
            resolution: r.resolution.id().to_owned(),
            operator_id: r.operator_id.clone(),
            note: r.note.clone(),
            replaced_by_verification_id: r.replaced_by_verification_id.clone(),
            cause: r.cause.map_or("", HoldCause::id).to_owned(),
        }),
        // A single refusal leaves the count and the first time unset, as events of earlier
        // releases did: decoding then re-encoding any stored event gives its stored bytes.
        NewEvent::HoldAssigned(a) => Detail::HoldAssigned(pb::HoldAssigned {
            assignee: a.assignee.clone(),
        }),
        NewEvent::AccessDenied(a) => Detail::AccessDenied(pb::AccessDenied {
            rpc: a.rpc.clone(),
            reason: a.reason.clone(),
            count: if a.count == 1 { 0 } else { a.count },
            peer: a.peer.clone(),
            first_occurred_at_us: a.first_occurred_at.map_or(0, micros_since_epoch),
        }),
    };
    pb::Event {
        caller: e.caller().to_owned(),
        subject_id: e.subject_id().to_owned(),
        request_id: e.request_id().to_owned(),
        detail: Some(detail),
        ..Default::default()
    }
    .encode_to_vec()
}

/// Folding rule ids every event may refer to by number: index `i` is rule reference `i` in the
/// comparison stream. Frozen with the format (event.proto): ids are only ever appended, and a
/// rule not listed here is written by name in the event's `rules` instead.
const KNOWN_RULES: [&str; 22] = [
    "width",
    "space",
    "latin.case",
    "kana.script",
    "hyphen",
    "date.format",
    "date.era",
    "sex.code",
    "address.numbers",
    "kana.small",
    "kana.ji_zu",
    "kana.obsolete",
    "kana.vu",
    "kanji.variant.mj.jis",
    "kanji.variant.mj.moj",
    "wildcard",
    "address.ke",
    "address.no",
    "address.aza",
    "address.county",
    "address.building",
    "address.prefecture",
];

/// Rule references from this number on name `rules[reference - NAMED_RULES]`.
const NAMED_RULES: u32 = 64;

fn decided_to_pb(d: &Decided) -> pb::Decided {
    let mut rules: Vec<&str> = Vec::new();
    let mut stream = Vec::with_capacity(d.comparisons.len() * 2);
    for c in &d.comparisons {
        let count = u32::try_from(c.rules.len()).unwrap_or(u32::MAX);
        stream.push(
            stage_code(c.stage)
                | field_code(c.field) << 2
                | class_code(c.class) << 5
                | count << 8
                | c.candidate_index << 12,
        );
        for rule in &c.rules {
            let reference = match KNOWN_RULES.iter().position(|r| *r == rule.as_str()) {
                Some(known) => known,
                None => match rules.iter().position(|r| *r == rule.as_str()) {
                    Some(i) => NAMED_RULES as usize + i,
                    None => {
                        rules.push(rule);
                        NAMED_RULES as usize + rules.len() - 1
                    }
                },
            };
            stream.push(u32::try_from(reference).unwrap_or(u32::MAX));
        }
    }
    pb::Decided {
        subject_kind: d.subject_kind.id().to_owned(),
        policy_version: d.policy_version.clone(),
        rules: rules.into_iter().map(str::to_owned).collect(),
        comparisons: stream,
        hold_reasons: d.hold_reasons.iter().map(|r| r.id().to_owned()).collect(),
        fields_to_complete: d
            .fields_to_complete
            .iter()
            .map(|f| f.as_str().to_owned())
            .collect(),
        selected_candidate: d.selected_candidate,
        register_by: d.register_by.map(instant_to_pb),
        number: d.number_fingerprint.as_ref().map(fingerprint_to_pb),
        request: d
            .request_fingerprint
            .as_ref()
            .map(|f| fingerprint_after(f, d.number_fingerprint.as_ref())),
        candidate_numbers: d
            .candidate_fingerprints
            .iter()
            .map(|f| {
                f.as_ref()
                    .map(|f| fingerprint_to_pb(f).mac)
                    .unwrap_or_default()
            })
            .collect(),
        candidate_key_id: candidate_key_id(d)
            .filter(|k| d.request_fingerprint.as_ref().map(|r| r.key_id.as_str()) != Some(*k))
            .unwrap_or_default()
            .to_owned(),
    }
}

/// The one key id of a decision's candidate fingerprints (`validate` refuses several).
pub(crate) fn candidate_key_id(d: &Decided) -> Option<&str> {
    d.candidate_fingerprints
        .iter()
        .flatten()
        .map(|f| f.key_id.as_str())
        .next()
}

/// The candidate fingerprints stored as `macs` under `key_id` (the request's key when empty).
fn candidates_from_pb(
    macs: Vec<Vec<u8>>,
    key_id: String,
    request: Option<&Fingerprint>,
) -> Result<Vec<Option<Fingerprint>>, &'static str> {
    let key_id = match (key_id.is_empty(), request) {
        (false, _) => key_id,
        (true, Some(request)) => request.key_id.clone(),
        (true, None) if macs.iter().all(Vec::is_empty) => String::new(),
        (true, None) => return Err("candidate fingerprints without a key id"),
    };
    Ok(macs
        .into_iter()
        .map(|mac| {
            (!mac.is_empty()).then(|| Fingerprint {
                key_id: key_id.clone(),
                mac_hex: hex::encode(mac),
            })
        })
        .collect())
}

/// `f`, its key id left out when it is the key of `first` (the usual case: one key makes both
/// fingerprints of an event).
fn fingerprint_after(f: &Fingerprint, first: Option<&Fingerprint>) -> pb::Fingerprint {
    let mut encoded = fingerprint_to_pb(f);
    if first.is_some_and(|first| first.key_id == f.key_id) {
        encoded.key_id.clear();
    }
    encoded
}

/// The inverse of [`fingerprint_after`].
fn fingerprint_following(f: pb::Fingerprint, first: Option<&Fingerprint>) -> Fingerprint {
    let mut decoded = fingerprint_from_pb(f);
    if let (true, Some(first)) = (decoded.key_id.is_empty(), first) {
        decoded.key_id = first.key_id.clone();
    }
    decoded
}

/// The columns a row keeps of its event, as read back.
pub(crate) struct Columns<'a> {
    /// `event_type`.
    pub(crate) kind: &'a str,
    /// `occurred_at_us`.
    pub(crate) occurred_at_us: i64,
    /// `insurer_number`.
    pub(crate) insurer_number: &'a str,
    /// `verification_id`.
    pub(crate) verification_id: &'a str,
    /// `decision`, empty when NULL.
    pub(crate) decision: &'a str,
}

/// The event stored as `columns` and `body`, or what is wrong with them (no event content).
pub(crate) fn decode(columns: &Columns<'_>, body: &[u8]) -> Result<NewEvent, &'static str> {
    use pb::event::Detail;
    let kind = EventType::parse(columns.kind).ok_or("unknown event type")?;
    let event = pb::Event::decode(body).map_err(|_| "the body does not decode")?;
    let occurred_at = time_from_micros(columns.occurred_at_us);
    let caller = event.caller;
    let insurer_number = columns.insurer_number.to_owned();
    let verification_id = columns.verification_id.to_owned();
    let subject_id = event.subject_id;
    let decision = DecisionKind::from_id(columns.decision);
    let decoded = match (kind, event.detail) {
        (EventType::VerificationDecided, Some(Detail::Decided(d))) => {
            let request = d.request.clone().map(|f| {
                let number = d.number.clone().map(fingerprint_from_pb);
                fingerprint_following(f, number.as_ref())
            });
            NewEvent::Decided(Decided {
                occurred_at,
                caller,
                insurer_number,
                subject_id,
                subject_kind: SubjectKind::from_id(&d.subject_kind)
                    .ok_or("unknown subject kind")?,
                request_id: event.request_id,
                verification_id,
                policy_version: d.policy_version,
                decision: decision.ok_or("unknown decision")?,
                comparisons: comparisons_from_pb(&d.rules, &d.comparisons)?,
                hold_reasons: d
                    .hold_reasons
                    .iter()
                    .map(|r| HoldReason::from_id(r).ok_or("unknown hold reason"))
                    .collect::<Result<_, _>>()?,
                fields_to_complete: d
                    .fields_to_complete
                    .iter()
                    .map(|f| Field::from_id(f).ok_or("unknown field"))
                    .collect::<Result<_, _>>()?,
                selected_candidate: d.selected_candidate,
                register_by: d.register_by.map(instant_from_pb).transpose()?,
                request_fingerprint: request.clone(),
                number_fingerprint: d.number.map(fingerprint_from_pb),
                candidate_fingerprints: candidates_from_pb(
                    d.candidate_numbers,
                    d.candidate_key_id,
                    request.as_ref(),
                )?,
            })
        }
        (EventType::CommitAccepted, Some(Detail::CommitAccepted(c))) => {
            let number = c
                .number
                .map(fingerprint_from_pb)
                .ok_or("a commit without its number's fingerprint")?;
            NewEvent::CommitAccepted(CommitAccepted {
                occurred_at,
                caller,
                insurer_number,
                subject_id,
                verification_id,
                commit_id: c.commit_id,
                request_fingerprint: c.request.map(|f| fingerprint_following(f, Some(&number))),
                number_fingerprint: number,
            })
        }
        (EventType::CommitRefused, Some(Detail::CommitRefused(c))) => {
            let number = c.number.map(fingerprint_from_pb);
            NewEvent::CommitRefused(CommitRefused {
                occurred_at,
                caller,
                insurer_number,
                subject_id,
                verification_id,
                reason: CommitRefusal::from_id(&c.reason).ok_or("unknown refusal")?,
                request_fingerprint: c.request.map(|f| fingerprint_following(f, number.as_ref())),
                number_fingerprint: number,
            })
        }
        (EventType::HoldResolved, Some(Detail::HoldResolved(r))) => {
            NewEvent::HoldResolved(HoldResolved {
                occurred_at,
                caller,
                insurer_number,
                subject_id,
                verification_id,
                resolution: Resolution::from_id(&r.resolution).ok_or("unknown resolution")?,
                operator_id: r.operator_id,
                note: r.note,
                replaced_by_verification_id: r.replaced_by_verification_id,
                cause: match r.cause.as_str() {
                    "" => None,
                    id => Some(HoldCause::from_id(id).ok_or("unknown hold cause")?),
                },
            })
        }
        (EventType::HoldAssigned, Some(Detail::HoldAssigned(a))) => {
            NewEvent::HoldAssigned(HoldAssigned {
                occurred_at,
                caller,
                insurer_number,
                subject_id,
                verification_id,
                assignee: a.assignee,
            })
        }
        (EventType::AccessDenied, Some(Detail::AccessDenied(a))) => {
            NewEvent::AccessDenied(AccessDenied {
                occurred_at,
                caller,
                insurer_number,
                rpc: a.rpc,
                reason: a.reason,
                count: a.count.max(1),
                peer: a.peer,
                first_occurred_at: (a.first_occurred_at_us != 0)
                    .then(|| time_from_micros(a.first_occurred_at_us)),
            })
        }
        _ => return Err("the body is not of the row's event type"),
    };
    if kind != EventType::VerificationDecided && !columns.decision.is_empty() {
        return Err("a decision on an event that is not one");
    }
    Ok(decoded)
}

fn comparisons_from_pb(
    rules: &[String],
    stream: &[u32],
) -> Result<Vec<ComparisonRow>, &'static str> {
    const BAD: &str = "the comparisons do not decode";
    let mut out = Vec::new();
    let mut codes = stream.iter().copied();
    while let Some(code) = codes.next() {
        let stage = *Stage::ALL.get((code & 0b11) as usize).ok_or(BAD)?;
        let field = *Field::ALL.get((code >> 2 & 0b111) as usize).ok_or(BAD)?;
        let class = *MatchClass::ALL
            .get((code >> 5 & 0b111) as usize)
            .ok_or(BAD)?;
        let count = code >> 8 & 0b1111;
        let mut ids = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let reference = codes.next().ok_or(BAD)?;
            let id = match reference.checked_sub(NAMED_RULES) {
                None => KNOWN_RULES.get(reference as usize).copied().ok_or(BAD)?,
                Some(named) => rules.get(named as usize).ok_or(BAD)?.as_str(),
            };
            ids.push(id.to_owned());
        }
        out.push(ComparisonRow {
            stage,
            field,
            class,
            rules: ids,
            candidate_index: code >> 12,
        });
    }
    Ok(out)
}

/// Whether `c` fits the comparison stream (at most 15 rules; a candidate index below 2^20).
pub(crate) fn comparison_fits(c: &ComparisonRow) -> bool {
    c.rules.len() < 16 && c.candidate_index < 1 << 20
}

// The codes below are part of the stored format (event.proto): never renumber them.

fn stage_code(stage: Stage) -> u32 {
    match stage {
        Stage::DeclaredVsQuery => 0,
        Stage::QueryVsCandidate => 1,
        Stage::DeclaredVsCandidate => 2,
    }
}

fn field_code(field: Field) -> u32 {
    match field {
        Field::KanjiName => 0,
        Field::KanaName => 1,
        Field::BirthDate => 2,
        Field::Sex => 3,
        Field::Address => 4,
    }
}

fn class_code(class: MatchClass) -> u32 {
    match class {
        MatchClass::Exact => 0,
        MatchClass::Notation => 1,
        MatchClass::Variant => 2,
        MatchClass::Mismatch => 3,
        MatchClass::Missing => 4,
        MatchClass::Unparseable => 5,
        MatchClass::NotRecorded => 6,
    }
}

fn fingerprint_to_pb(f: &Fingerprint) -> pb::Fingerprint {
    pb::Fingerprint {
        key_id: f.key_id.clone(),
        // `validate` refuses a MAC that is not lowercase hex before anything is written.
        mac: hex::decode(&f.mac_hex).unwrap_or_default(),
    }
}

fn fingerprint_from_pb(f: pb::Fingerprint) -> Fingerprint {
    Fingerprint {
        key_id: f.key_id,
        mac_hex: hex::encode(f.mac),
    }
}

fn instant_to_pb(t: SystemTime) -> pb::Instant {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    pb::Instant {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
    }
}

fn instant_from_pb(i: pb::Instant) -> Result<SystemTime, &'static str> {
    let seconds = u64::try_from(i.seconds).map_err(|_| "a time before 1970")?;
    let nanos = u32::try_from(i.nanos).map_err(|_| "negative nanoseconds")?;
    Ok(UNIX_EPOCH + Duration::new(seconds, nanos))
}

#[cfg(test)]
mod tests;
