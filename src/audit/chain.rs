//! The hash chain that makes the audit log tamper-evident. Pure: no I/O.
//!
//! Each writer (one per process start) keeps its own chain: event `n` of a writer stores the
//! hash of event `n - 1` and a hash over its own content and that link. Editing, removing or
//! reordering a stored event therefore breaks its hash or the next event's link. One chain per
//! writer, rather than one global chain, is what lets several replicas append to one
//! PostgreSQL database without serializing every call on a single "last hash" row;
//! verification walks every chain.
//!
//! The hash is SHA-256 over a canonical encoding: a version tag, then every field in a fixed
//! order, each length-prefixed (strings and byte strings), tagged (options) or counted
//! (lists), so that no two different events encode to the same bytes. It covers the event's
//! content as stored (times in whole microseconds), never the row id the database assigns.
//!
//! What the chain cannot show on its own: a chain cut short at its end, or a whole chain
//! removed, leaves every remaining link intact. The append-only triggers refuse both, and
//! anchoring chain heads outside the database (a later step) would prove it.

use sha2::{Digest, Sha256};

use crate::audit::{Fingerprint, NewEvent, StoredEvent, micros_since_epoch};

/// The `prev_hash` of the first event of every chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Versions the encoding, so a future change cannot collide with events hashed today.
const ENCODING_TAG: &[u8] = b"verify-identity/audit-event/v1";

/// The encoding of an event that carries a refusal reason: v1's fields, then the reason.
/// Events without one keep the v1 encoding, so every event stored before the reason column
/// existed still verifies; the tag keeps the two encodings from colliding.
const ENCODING_TAG_V2: &[u8] = b"verify-identity/audit-event/v2";

/// The hash of an event at position `seq` of `writer_id`'s chain, after `prev_hash`.
pub fn event_hash(prev_hash: &str, writer_id: &str, seq: i64, e: &NewEvent) -> String {
    let mut h = Canonical(Sha256::new());
    h.bytes(if e.reason.is_some() {
        ENCODING_TAG_V2
    } else {
        ENCODING_TAG
    });
    h.str(prev_hash);
    h.str(writer_id);
    h.i64(seq);
    h.str(e.event_type.as_str());
    h.i64(micros_since_epoch(e.occurred_at));
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
    hex::encode(h.0.finalize())
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

/// Where one writer's chain stands: what the next appended event links to.
///
/// The writer task owns one; a backend reads it, assigns positions on a copy inside its
/// transaction, and advances it only after the commit succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainState {
    /// A fresh UUID v7 per process start, so replicas never share (or wait on) a chain.
    writer_id: String,
    /// The `seq` the next event gets.
    next_seq: i64,
    /// The hash the next event links to.
    last_hash: String,
    /// Set when a transaction failed: its commit may have happened anyway (a lost
    /// acknowledgement), so the next append re-reads the chain's end from the database instead
    /// of trusting this copy. Without it, a lost acknowledgement would make every later append
    /// collide on `(writer_id, seq)` until restart.
    uncertain: bool,
}

impl Default for ChainState {
    fn default() -> Self {
        Self::new()
    }
}

impl ChainState {
    /// A new, empty chain under a fresh writer id.
    pub fn new() -> Self {
        Self::resume(uuid::Uuid::now_v7().to_string(), 1, GENESIS.to_string())
    }

    /// A chain positioned after its event `next_seq - 1`, whose hash is `last_hash`.
    pub fn resume(writer_id: String, next_seq: i64, last_hash: String) -> Self {
        ChainState {
            writer_id,
            next_seq,
            last_hash,
            uncertain: false,
        }
    }

    /// The writer id events of this chain are stored under.
    pub fn writer_id(&self) -> &str {
        &self.writer_id
    }

    /// The position the next event gets.
    pub fn next_seq(&self) -> i64 {
        self.next_seq
    }

    /// The hash the next event links to.
    pub fn last_hash(&self) -> &str {
        &self.last_hash
    }

    /// Whether the next append must re-read the chain's end from the database first.
    pub fn is_uncertain(&self) -> bool {
        self.uncertain
    }

    /// Records that a transaction failed, so the database is consulted before the next append.
    pub fn mark_uncertain(&mut self) {
        self.uncertain = true;
    }

    /// This chain positioned after the stored event (`seq`, `hash`), or at its start when the
    /// database holds none of its events.
    pub fn resynced(&self, tail: Option<(i64, String)>) -> Self {
        let (last_seq, last_hash) = tail.unwrap_or((0, GENESIS.to_string()));
        Self::resume(self.writer_id.clone(), last_seq + 1, last_hash)
    }

    /// Places `event` at the end of the chain: returns its `(seq, prev_hash, hash)` and
    /// advances this state past it.
    pub fn push(&mut self, event: &NewEvent) -> (i64, String, String) {
        let seq = self.next_seq;
        let hash = event_hash(&self.last_hash, &self.writer_id, seq, event);
        let prev = std::mem::replace(&mut self.last_hash, hash.clone());
        self.next_seq += 1;
        (seq, prev, hash)
    }
}

/// The result of walking every chain in a store.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VerifyReport {
    /// How many events were examined.
    pub events_checked: u64,
    /// How many chains (writers) they belong to.
    pub chains: u64,
    /// The first event found broken, in `(writer_id, seq)` order; `None` when all verify.
    pub first_broken: Option<BrokenEvent>,
}

impl VerifyReport {
    /// Whether every chain verified.
    pub fn is_intact(&self) -> bool {
        self.first_broken.is_none()
    }
}

/// An event whose hash, link or position does not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenEvent {
    /// The row id, to find it in the database.
    pub id: i64,
    /// Its chain.
    pub writer_id: String,
    /// Its stored position.
    pub seq: i64,
    /// What does not verify (no event content).
    pub reason: String,
}

/// Walks events ordered by `(writer_id, seq)`: each chain must start at 1 and be contiguous,
/// each `prev_hash` must be the previous event's hash, and each hash must recompute.
///
/// Every event is examined (so the count is complete) but only the first break is reported:
/// once a chain is broken, what follows is no longer trustworthy evidence either.
pub fn verify(events: impl Iterator<Item = StoredEvent>) -> VerifyReport {
    let mut report = VerifyReport::default();
    // The previous event's writer, seq and hash.
    let mut previous: Option<(String, i64, String)> = None;
    for e in events {
        report.events_checked += 1;
        let (expected_seq, expected_prev) = match &previous {
            Some((writer, seq, hash)) if *writer == e.writer_id => (seq + 1, hash.as_str()),
            _ => {
                report.chains += 1;
                (1, GENESIS)
            }
        };
        let reason = if e.seq != expected_seq {
            Some(format!("seq {} where {expected_seq} was expected", e.seq))
        } else if e.prev_hash != expected_prev {
            Some("prev_hash does not match the previous event's hash".to_string())
        } else if event_hash(&e.prev_hash, &e.writer_id, e.seq, &e.event) != e.hash {
            Some("the hash does not match the event's content".to_string())
        } else {
            None
        };
        if let (Some(reason), None) = (reason, &report.first_broken) {
            report.first_broken = Some(BrokenEvent {
                id: e.id,
                writer_id: e.writer_id.clone(),
                seq: e.seq,
                reason,
            });
        }
        previous = Some((e.writer_id, e.seq, e.hash));
    }
    report
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::audit::{ComparisonRow, EventType};

    fn event(n: u32) -> NewEvent {
        NewEvent {
            event_type: EventType::VerificationDecided,
            occurred_at: UNIX_EPOCH + Duration::from_micros(1_700_000_000_000_000 + u64::from(n)),
            caller: "registration-service".into(),
            insurer_number: "12345678".into(),
            subject_id: format!("subject-{n}"),
            subject_kind: "member".into(),
            request_id: format!("request-{n}"),
            verification_id: format!("verification-{n}"),
            decision: Some("register".into()),
            policy_version: "policy-1".into(),
            comparisons: vec![ComparisonRow {
                stage: "declared_vs_query".into(),
                field: "kana_name".into(),
                class: "variant".into(),
                rules: vec!["kana.small".into()],
                candidate_index: 0,
            }],
            hold_reasons: vec![],
            number_fingerprint: Some(Fingerprint {
                key_id: "k-1".into(),
                mac_hex: "ab".into(),
            }),
            request_fingerprint: Some(Fingerprint {
                key_id: "k-1".into(),
                mac_hex: "cd".into(),
            }),
            response: vec![1, 2, 3],
            reason: None,
        }
    }

    fn stored_chain(chain: &mut ChainState, range: std::ops::Range<u32>) -> Vec<StoredEvent> {
        range
            .map(|n| {
                let e = event(n);
                let (seq, prev_hash, hash) = chain.push(&e);
                StoredEvent {
                    id: i64::from(n) + 100,
                    writer_id: chain.writer_id().to_string(),
                    seq,
                    prev_hash,
                    hash,
                    event: e,
                }
            })
            .collect()
    }

    /// A named edit of a stored event.
    type Tampering = (&'static str, fn(&mut StoredEvent));

    /// Every single-field edit a tamperer could make to a stored event.
    fn tamperings() -> Vec<Tampering> {
        vec![
            ("event_type", |s| {
                s.event.event_type = EventType::CommitAccepted
            }),
            ("occurred_at", |s| {
                s.event.occurred_at += Duration::from_micros(1)
            }),
            ("caller", |s| s.event.caller.push('x')),
            ("insurer_number", |s| {
                s.event.insurer_number = "87654321".into()
            }),
            ("subject_id", |s| s.event.subject_id.push('x')),
            ("subject_kind", |s| s.event.subject_kind.push('x')),
            ("request_id", |s| s.event.request_id.push('x')),
            ("verification_id", |s| s.event.verification_id.push('x')),
            ("decision", |s| s.event.decision = Some("hold".into())),
            ("decision removed", |s| s.event.decision = None),
            ("policy_version", |s| s.event.policy_version.push('x')),
            ("comparison class", |s| {
                s.event.comparisons[0].class = "exact".into()
            }),
            ("comparison stage", |s| {
                s.event.comparisons[0].stage = "x".into()
            }),
            ("comparison field", |s| {
                s.event.comparisons[0].field = "x".into()
            }),
            ("comparison rules", |s| s.event.comparisons[0].rules.clear()),
            ("comparison index", |s| {
                s.event.comparisons[0].candidate_index = 1
            }),
            ("comparison removed", |s| s.event.comparisons.clear()),
            ("hold_reasons", |s| {
                s.event.hold_reasons.push("field_differs".into())
            }),
            ("number fingerprint", |s| s.event.number_fingerprint = None),
            ("number key id", |s| {
                s.event.number_fingerprint.as_mut().unwrap().key_id = "k-2".into();
            }),
            ("number mac", |s| {
                s.event.number_fingerprint.as_mut().unwrap().mac_hex = "ac".into()
            }),
            ("request fingerprint", |s| {
                s.event.request_fingerprint = None
            }),
            ("request mac", |s| {
                s.event.request_fingerprint.as_mut().unwrap().mac_hex = "ce".into()
            }),
            ("response", |s| s.event.response[0] = 9),
            ("writer_id", |s| s.writer_id.push('x')),
            ("seq", |s| s.seq += 1),
            ("prev_hash", |s| s.prev_hash = GENESIS.into()),
            ("hash", |s| s.hash = GENESIS.into()),
        ]
    }

    #[test]
    fn an_untouched_chain_verifies() {
        let events = stored_chain(&mut ChainState::new(), 0..5);
        let report = verify(events.into_iter());
        assert_eq!(
            report,
            VerifyReport {
                events_checked: 5,
                chains: 1,
                first_broken: None
            }
        );
    }

    #[test]
    fn tampering_with_any_single_field_is_detected_at_that_event() {
        for (what, tamper) in tamperings() {
            let mut events = stored_chain(&mut ChainState::new(), 0..4);
            tamper(&mut events[2]);
            let report = verify(events.into_iter());
            let broken = report
                .first_broken
                .unwrap_or_else(|| panic!("{what} went unnoticed"));
            assert_eq!(broken.id, 102, "{what}");
        }
    }

    #[test]
    fn a_skipped_event_is_detected_at_the_event_after_the_gap() {
        let mut events = stored_chain(&mut ChainState::new(), 0..4);
        events.remove(1);
        let broken = verify(events.into_iter()).first_broken.unwrap();
        assert_eq!((broken.id, broken.seq), (102, 3));
    }

    #[test]
    fn a_chain_missing_its_first_event_is_detected() {
        let mut events = stored_chain(&mut ChainState::new(), 0..3);
        events.remove(0);
        assert_eq!(verify(events.into_iter()).first_broken.unwrap().id, 101);
    }

    #[test]
    fn two_events_swapped_with_their_positions_are_detected() {
        let mut events = stored_chain(&mut ChainState::new(), 0..4);
        events.swap(1, 2);
        let (first, second) = (events[1].seq, events[2].seq);
        (events[1].seq, events[2].seq) = (second, first);
        assert!(verify(events.into_iter()).first_broken.is_some());
    }

    #[test]
    fn an_event_copied_into_another_chain_is_detected() {
        let mut a = stored_chain(&mut ChainState::new(), 0..2);
        let mut b = stored_chain(&mut ChainState::new(), 0..2);
        b[1] = StoredEvent {
            writer_id: b[1].writer_id.clone(),
            ..a[1].clone()
        };
        a.extend(b);
        assert_eq!(verify(a.into_iter()).first_broken.unwrap().id, 101);
    }

    #[test]
    fn several_chains_verify_together_and_are_counted() {
        let mut events = stored_chain(&mut ChainState::new(), 0..3);
        events.extend(stored_chain(&mut ChainState::new(), 3..5));
        let report = verify(events.into_iter());
        assert_eq!(
            report,
            VerifyReport {
                events_checked: 5,
                chains: 2,
                first_broken: None
            }
        );
    }

    #[test]
    fn fields_cannot_be_shifted_into_each_other_without_changing_the_hash() {
        let mut a = event(1);
        let mut b = event(1);
        a.caller = "ab".into();
        a.insurer_number = "c".into();
        b.caller = "a".into();
        b.insurer_number = "bc".into();
        assert_ne!(
            event_hash(GENESIS, "w", 1, &a),
            event_hash(GENESIS, "w", 1, &b)
        );
        a.decision = Some(String::new());
        b.decision = None;
        b.caller = "ab".into();
        b.insurer_number = "c".into();
        assert_ne!(
            event_hash(GENESIS, "w", 1, &a),
            event_hash(GENESIS, "w", 1, &b)
        );
    }

    #[test]
    fn a_resynced_chain_continues_after_the_stored_tail() {
        let mut chain = ChainState::new();
        chain.mark_uncertain();
        let resynced = chain.resynced(Some((7, "ab".into())));
        assert_eq!((resynced.next_seq(), resynced.last_hash()), (8, "ab"));
        assert_eq!(resynced.writer_id(), chain.writer_id());
        assert!(!resynced.is_uncertain());
        assert_eq!(chain.resynced(None).next_seq(), 1);
    }
}
