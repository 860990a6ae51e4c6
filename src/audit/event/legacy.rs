//! Format 1: rows as the first release wrote them, read and verified as they are.
//!
//! The first release stored every field in its own column — the comparisons as JSON
//! (`comparisons`), the hold reasons as the transport's enum names (`HOLD_REASON_…`), refusal
//! reasons in the transport's spelling (`NUMBER_MISMATCH`), and the encoded response beside
//! them — and hashed that content in an encoding of its own. Those rows are evidence, so they
//! are never rewritten: a format 1 row is read back verbatim ([`LegacyEvent`]), verified with
//! the encoding it was hashed in ([`event_hash`]), and translated into today's event
//! ([`to_event`]) for everything else. Nothing writes format 1 any more.

use prost::Message;
use sha2::{Digest, Sha256};

use crate::{
    audit::{
        AccessDenied, CommitAccepted, CommitRefused, ComparisonRow, Decided, EventType,
        Fingerprint, HoldAssigned, HoldResolved, NewEvent, event::Hash,
    },
    domain::{
        Field, MatchClass, Stage,
        gate::{CommitRefusal, DecisionKind, HoldReason, Resolution},
        subject::SubjectKind,
    },
};

/// One comparison as a format 1 row spells it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LegacyComparison {
    /// `declared_vs_query` …
    pub stage: String,
    /// `kanji_name` …
    pub field: String,
    /// `exact` …
    pub class: String,
    /// Folding rule ids.
    pub rules: Vec<String>,
    /// For candidate stages, which candidate; 0 otherwise.
    pub candidate_index: u32,
}

/// A format 1 row's content, column by column, exactly as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct LegacyEvent {
    /// The event type id.
    pub event_type: EventType,
    /// Whole microseconds since the Unix epoch.
    pub occurred_at_us: i64,
    /// Who called.
    pub caller: String,
    /// The insurer.
    pub insurer_number: String,
    /// The subject.
    pub subject_id: String,
    /// `member`, `dependent` or empty.
    pub subject_kind: String,
    /// The idempotency key (decisions).
    pub request_id: String,
    /// The verification.
    pub verification_id: String,
    /// The decision, the resolution or the refused RPC, by event type.
    pub decision: Option<String>,
    /// The policy version.
    pub policy_version: String,
    /// The comparisons.
    pub comparisons: Vec<LegacyComparison>,
    /// Hold reasons in the transport's spelling (`HOLD_REASON_NO_CANDIDATE`).
    pub hold_reasons: Vec<String>,
    /// The number's fingerprint.
    pub number_fingerprint: Option<Fingerprint>,
    /// The request's fingerprint.
    pub request_fingerprint: Option<Fingerprint>,
    /// The encoded response (VerifyResponse, CommitRegistrationResponse or HoldResolution).
    pub response: Vec<u8>,
    /// A refusal or denial reason in the transport's spelling (`NUMBER_MISMATCH`).
    pub reason: Option<String>,
}

impl std::fmt::Debug for LegacyEvent {
    /// Ids only, like [`NewEvent`]'s.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LegacyEvent")
            .field("event_type", &self.event_type)
            .field("verification_id", &self.verification_id)
            .field("subject_id", &"<redacted>")
            .field("decision", &self.decision)
            .finish_non_exhaustive()
    }
}

/// A format 1 row: its content and the link it stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyRow {
    /// The stored `prev_hash`.
    pub prev_hash: Hash,
    /// The stored content.
    pub event: LegacyEvent,
}

/// Versions format 1's own encoding.
const ENCODING_TAG: &[u8] = b"verify-identity/audit-event/v1";

/// The same, for events carrying a refusal reason (added after the first rows were written).
const ENCODING_TAG_V2: &[u8] = b"verify-identity/audit-event/v2";

/// The hash a format 1 row was stored with: SHA-256 over a tag and every field in a fixed
/// order, each length-prefixed (strings, byte strings), tagged (options) or counted (lists);
/// hashes as lowercase hex.
pub fn event_hash(prev_hash: &Hash, writer_id: &str, seq: i64, e: &LegacyEvent) -> Hash {
    let mut h = Canonical(Sha256::new());
    h.bytes(if e.reason.is_some() {
        ENCODING_TAG_V2
    } else {
        ENCODING_TAG
    });
    h.str(&hex::encode(prev_hash));
    h.str(writer_id);
    h.i64(seq);
    h.str(e.event_type.as_str());
    h.i64(e.occurred_at_us);
    h.str(&e.caller);
    h.str(&e.insurer_number);
    h.str(&e.subject_id);
    h.str(&e.subject_kind);
    h.str(&e.request_id);
    h.str(&e.verification_id);
    h.opt_str(e.decision.as_deref());
    h.str(&e.policy_version);
    h.count(e.comparisons.len());
    for c in &e.comparisons {
        h.str(&c.stage);
        h.str(&c.field);
        h.str(&c.class);
        h.count(c.rules.len());
        for rule in &c.rules {
            h.str(rule);
        }
        h.i64(i64::from(c.candidate_index));
    }
    h.count(e.hold_reasons.len());
    for reason in &e.hold_reasons {
        h.str(reason);
    }
    h.fingerprint(e.number_fingerprint.as_ref());
    h.fingerprint(e.request_fingerprint.as_ref());
    h.bytes(&e.response);
    if let Some(reason) = &e.reason {
        h.str(reason);
    }
    h.0.finalize().into()
}

/// Feeds values into a hasher so that the byte stream decodes back unambiguously.
struct Canonical(Sha256);

impl Canonical {
    fn bytes(&mut self, b: &[u8]) {
        self.count(b.len());
        self.0.update(b);
    }

    fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    fn count(&mut self, n: usize) {
        self.0.update((n as u64).to_be_bytes());
    }

    fn i64(&mut self, n: i64) {
        self.0.update(n.to_be_bytes());
    }

    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            None => self.0.update([0]),
            Some(s) => {
                self.0.update([1]);
                self.str(s);
            }
        }
    }

    fn fingerprint(&mut self, f: Option<&Fingerprint>) {
        match f {
            None => self.0.update([0]),
            Some(f) => {
                self.0.update([1]);
                self.str(&f.key_id);
                self.str(&f.mac_hex);
            }
        }
    }
}

/// The fields of the stored VerifyResponse that the event no longer keeps elsewhere (field
/// numbers of `verifyidentity.v1.VerifyResponse`, frozen with these rows).
#[derive(Clone, PartialEq, Message)]
struct StoredVerifyResponse {
    #[prost(int32, repeated, tag = "5")]
    fields_to_complete: Vec<i32>,
    #[prost(int32, tag = "6")]
    selected_candidate: i32,
    #[prost(message, optional, tag = "8")]
    register_by: Option<StoredTimestamp>,
}

/// `google.protobuf.Timestamp`.
#[derive(Clone, PartialEq, Message)]
struct StoredTimestamp {
    #[prost(int64, tag = "1")]
    seconds: i64,
    #[prost(int32, tag = "2")]
    nanos: i32,
}

/// The stored CommitRegistrationResponse's commit id.
#[derive(Clone, PartialEq, Message)]
struct StoredCommit {
    #[prost(string, tag = "1")]
    commit_id: String,
}

/// The stored HoldResolution's fields beyond the resolution and its time.
#[derive(Clone, PartialEq, Message)]
struct StoredResolution {
    #[prost(string, tag = "2")]
    operator_id: String,
    #[prost(string, tag = "3")]
    note: String,
    #[prost(string, tag = "4")]
    replaced_by_verification_id: String,
}

/// The transport's spelling of a hold reason in format 1 rows: `HOLD_REASON_` and the id in
/// capitals (`HOLD_REASON_NO_CANDIDATE`).
pub fn hold_reason_spelling(reason: HoldReason) -> String {
    format!("HOLD_REASON_{}", reason.id().to_uppercase())
}

/// The transport's spelling of a commit refusal in format 1 rows (`NUMBER_MISMATCH`).
pub fn refusal_spelling(reason: CommitRefusal) -> String {
    reason.id().to_uppercase()
}

/// The field as format 1 responses numbered it (`verifyidentity.v1.Field`).
fn field_from_number(n: i32) -> Option<Field> {
    usize::try_from(n - 1)
        .ok()
        .and_then(|i| Field::ALL.get(i).copied())
}

/// Today's event for a format 1 row, or what in it cannot be read (no event content).
pub fn to_event(
    e: &LegacyEvent,
    occurred_at: std::time::SystemTime,
) -> Result<NewEvent, &'static str> {
    let decision = e.decision.as_deref().unwrap_or("");
    Ok(match e.event_type {
        EventType::VerificationDecided => {
            let response = StoredVerifyResponse::decode(e.response.as_slice())
                .map_err(|_| "the stored response does not decode")?;
            let hold_reasons = e
                .hold_reasons
                .iter()
                .map(|r| {
                    HoldReason::ALL
                        .into_iter()
                        .find(|h| hold_reason_spelling(*h) == *r)
                        .ok_or("unknown hold reason")
                })
                .collect::<Result<_, _>>()?;
            NewEvent::Decided(Decided {
                occurred_at,
                caller: e.caller.clone(),
                insurer_number: e.insurer_number.clone(),
                subject_id: e.subject_id.clone(),
                subject_kind: SubjectKind::from_id(&e.subject_kind)
                    .ok_or("unknown subject kind")?,
                request_id: e.request_id.clone(),
                verification_id: e.verification_id.clone(),
                policy_version: e.policy_version.clone(),
                decision: DecisionKind::from_id(decision).ok_or("unknown decision")?,
                comparisons: e
                    .comparisons
                    .iter()
                    .map(comparison)
                    .collect::<Result<_, _>>()?,
                hold_reasons,
                fields_to_complete: response
                    .fields_to_complete
                    .iter()
                    .map(|&n| field_from_number(n).ok_or("unknown field"))
                    .collect::<Result<_, _>>()?,
                selected_candidate: u32::try_from(response.selected_candidate).ok(),
                register_by: response.register_by.map(|t| {
                    std::time::UNIX_EPOCH
                        + std::time::Duration::new(
                            u64::try_from(t.seconds).unwrap_or(0),
                            u32::try_from(t.nanos).unwrap_or(0),
                        )
                }),
                number_fingerprint: e.number_fingerprint.clone(),
                request_fingerprint: e.request_fingerprint.clone(),
                // Format 1 predates them: its holds say nothing of their candidates' numbers.
                candidate_fingerprints: Vec::new(),
            })
        }
        EventType::CommitAccepted => {
            let response = StoredCommit::decode(e.response.as_slice())
                .map_err(|_| "the stored commit does not decode")?;
            NewEvent::CommitAccepted(CommitAccepted {
                occurred_at,
                caller: e.caller.clone(),
                insurer_number: e.insurer_number.clone(),
                subject_id: e.subject_id.clone(),
                verification_id: e.verification_id.clone(),
                commit_id: response.commit_id,
                number_fingerprint: e
                    .number_fingerprint
                    .clone()
                    .ok_or("a commit without its number's fingerprint")?,
                request_fingerprint: e.request_fingerprint.clone(),
            })
        }
        EventType::CommitRefused => {
            let reason = e.reason.as_deref().unwrap_or("");
            NewEvent::CommitRefused(CommitRefused {
                occurred_at,
                caller: e.caller.clone(),
                insurer_number: e.insurer_number.clone(),
                subject_id: e.subject_id.clone(),
                verification_id: e.verification_id.clone(),
                reason: CommitRefusal::ALL
                    .into_iter()
                    .find(|r| refusal_spelling(*r) == reason)
                    .ok_or("unknown refusal")?,
                number_fingerprint: e.number_fingerprint.clone(),
                request_fingerprint: e.request_fingerprint.clone(),
            })
        }
        EventType::HoldResolved => {
            let response = StoredResolution::decode(e.response.as_slice())
                .map_err(|_| "the stored resolution does not decode")?;
            NewEvent::HoldResolved(HoldResolved {
                occurred_at,
                caller: e.caller.clone(),
                insurer_number: e.insurer_number.clone(),
                subject_id: e.subject_id.clone(),
                verification_id: e.verification_id.clone(),
                resolution: Resolution::from_id(decision).ok_or("unknown resolution")?,
                operator_id: response.operator_id,
                note: response.note,
                replaced_by_verification_id: response.replaced_by_verification_id,
                // Format 1 predates causes.
                cause: None,
            })
        }
        // Format 1 predates the console: no such row was ever written in it.
        EventType::ConsoleSignedIn | EventType::ConsoleSignedOut => {
            return Err("a console session event in format 1");
        }
        EventType::HoldAssigned => NewEvent::HoldAssigned(HoldAssigned {
            occurred_at,
            caller: e.caller.clone(),
            insurer_number: e.insurer_number.clone(),
            subject_id: e.subject_id.clone(),
            verification_id: e.verification_id.clone(),
            assignee: decision.to_owned(),
        }),
        EventType::AccessDenied => NewEvent::AccessDenied(AccessDenied {
            occurred_at,
            caller: e.caller.clone(),
            insurer_number: e.insurer_number.clone(),
            rpc: decision.to_owned(),
            reason: e.reason.clone().unwrap_or_default(),
            // Format 1 wrote one event per refusal.
            count: 1,
            peer: String::new(),
            first_occurred_at: None,
        }),
    })
}

fn comparison(c: &LegacyComparison) -> Result<ComparisonRow, &'static str> {
    Ok(ComparisonRow {
        stage: Stage::from_id(&c.stage).ok_or("unknown stage")?,
        field: Field::from_id(&c.field).ok_or("unknown field")?,
        class: MatchClass::from_id(&c.class).ok_or("unknown class")?,
        rules: c.rules.clone(),
        candidate_index: c.candidate_index,
    })
}

/// The format 1 row the first release would have written for `e`: how tests build logs that
/// mix both formats.
#[cfg(test)]
pub(crate) fn from_event(e: &NewEvent) -> LegacyEvent {
    let mut legacy = LegacyEvent {
        event_type: e.event_type(),
        occurred_at_us: crate::audit::micros_since_epoch(e.occurred_at()),
        caller: e.caller().to_owned(),
        insurer_number: e.insurer_number().to_owned(),
        subject_id: e.subject_id().to_owned(),
        subject_kind: String::new(),
        request_id: e.request_id().to_owned(),
        verification_id: e.verification_id().to_owned(),
        decision: None,
        policy_version: "default".into(),
        comparisons: Vec::new(),
        hold_reasons: Vec::new(),
        number_fingerprint: e.number_fingerprint().cloned(),
        request_fingerprint: e.request_fingerprint().cloned(),
        response: Vec::new(),
        reason: None,
    };
    match e {
        NewEvent::Decided(d) => {
            legacy.subject_kind = d.subject_kind.id().to_owned();
            legacy.decision = Some(d.decision.id().to_owned());
            legacy.policy_version = d.policy_version.clone();
            legacy.comparisons = d
                .comparisons
                .iter()
                .map(|c| LegacyComparison {
                    stage: c.stage.as_str().into(),
                    field: c.field.as_str().into(),
                    class: c.class.as_str().into(),
                    rules: c.rules.clone(),
                    candidate_index: c.candidate_index,
                })
                .collect();
            legacy.hold_reasons = d
                .hold_reasons
                .iter()
                .map(|r| hold_reason_spelling(*r))
                .collect();
            legacy.response = StoredVerifyResponse {
                fields_to_complete: d
                    .fields_to_complete
                    .iter()
                    .map(|f| Field::ALL.iter().position(|x| x == f).unwrap_or(0) as i32 + 1)
                    .collect(),
                selected_candidate: d.selected_candidate.map_or(-1, |i| i as i32),
                register_by: d.register_by.map(|t| {
                    let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
                    StoredTimestamp {
                        seconds: d.as_secs() as i64,
                        nanos: d.subsec_nanos() as i32,
                    }
                }),
            }
            .encode_to_vec();
        }
        NewEvent::CommitAccepted(c) => {
            legacy.response = StoredCommit {
                commit_id: c.commit_id.clone(),
            }
            .encode_to_vec();
        }
        NewEvent::CommitRefused(c) => legacy.reason = Some(refusal_spelling(c.reason)),
        NewEvent::HoldResolved(r) => {
            legacy.decision = Some(r.resolution.id().to_owned());
            legacy.response = StoredResolution {
                operator_id: r.operator_id.clone(),
                note: r.note.clone(),
                replaced_by_verification_id: r.replaced_by_verification_id.clone(),
            }
            .encode_to_vec();
        }
        NewEvent::HoldAssigned(a) => legacy.decision = Some(a.assignee.clone()),
        NewEvent::ConsoleSignedIn(i) => legacy.decision = Some(i.method.id().to_owned()),
        NewEvent::ConsoleSignedOut(o) => legacy.decision = Some(o.ending.id().to_owned()),
        NewEvent::AccessDenied(a) => {
            legacy.decision = Some(a.rpc.clone());
            legacy.reason = Some(a.reason.clone());
        }
    }
    legacy
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::tests_support;

    #[test]
    fn every_kind_of_event_reads_back_from_the_row_the_first_release_wrote() {
        for e in tests_support::one_of_each() {
            let legacy = from_event(&e);
            let read = to_event(&legacy, e.occurred_at());
            match e.event_type() {
                // Newer than format 1: such a row is refused, never misread.
                EventType::ConsoleSignedIn | EventType::ConsoleSignedOut => {
                    assert!(read.is_err(), "{e:?}")
                }
                _ => assert_eq!(read.unwrap(), e),
            }
        }
    }

    #[test]
    fn the_transport_spellings_of_format_1_are_frozen() {
        assert_eq!(
            hold_reason_spelling(HoldReason::NumberRegisteredToAnotherSubject),
            "HOLD_REASON_NUMBER_REGISTERED_TO_ANOTHER_SUBJECT"
        );
        assert_eq!(refusal_spelling(CommitRefusal::NotRegister), "NOT_REGISTER");
    }

    #[test]
    fn a_format_1_hash_is_the_one_the_first_release_computed() {
        // Computed independently (outside this code) from the encoding described above.
        let e = LegacyEvent {
            event_type: EventType::AccessDenied,
            occurred_at_us: 1,
            caller: "c".into(),
            insurer_number: String::new(),
            subject_id: String::new(),
            subject_kind: String::new(),
            request_id: String::new(),
            verification_id: String::new(),
            decision: Some("Verify".into()),
            policy_version: String::new(),
            comparisons: vec![],
            hold_reasons: vec![],
            number_fingerprint: None,
            request_fingerprint: None,
            response: vec![],
            reason: None,
        };
        let hash = hex::encode(event_hash(&[0; 32], "w", 1, &e));
        assert_eq!(hash, RECORDED_V1_HASH);
    }

    const RECORDED_V1_HASH: &str =
        "b87190255748376a653e1110507551193172d66720f464f75e67ed2588e16bb3";
}
