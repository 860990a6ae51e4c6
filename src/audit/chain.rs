//! The hash chain that makes the audit log tamper-evident. Pure: no I/O.
//!
//! Each writer (one per process start) keeps its own chain: event `n` of a writer stores the
//! hash of event `n - 1` and a hash over its own content and that link. Editing, removing or
//! reordering a stored event therefore breaks its hash or the next event's link. One chain per
//! writer, rather than one global chain, is what lets several replicas append to one
//! PostgreSQL database without serializing every call on a single "last hash" row;
//! verification walks every chain.
//!
//! The hash is SHA-256 over the event's canonical encoding ([`encoding`]), which includes the
//! link (the previous hash, the writer and the position). Rows written by the first release
//! (format 1) keep the encoding they were hashed in ([`legacy`]); a chain is verified whatever
//! mix of formats it holds.
//!
//! What the chain cannot show on its own: a chain cut short at its end, or a whole chain
//! removed, leaves every remaining link intact. The append-only triggers refuse both, and
//! signed checkpoints of the chain heads kept outside the database ([`checkpoint`]) prove it.
//!
//! [`checkpoint`]: crate::audit::checkpoint

use crate::audit::{NewEvent, StoredEvent, event::encoding, event::legacy};

pub use crate::audit::event::Hash;

/// Where one chain stood: its newest event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    /// The chain (one per writer process).
    pub writer_id: String,
    /// The position of its newest event.
    pub seq: i64,
    /// The hash of that event.
    pub hash: Hash,
    /// When that event occurred, in whole microseconds since the Unix epoch: lets an auditor
    /// tell a checkpoint of a chain that stopped long ago from one of a chain still written.
    pub occurred_at_us: i64,
}

/// The link of the first event of every chain.
pub const GENESIS: Hash = [0; 32];

/// The hash of an event at position `seq` of `writer_id`'s chain, after `prev_hash`.
pub fn event_hash(prev_hash: &Hash, writer_id: &str, seq: i64, e: &NewEvent) -> Hash {
    encoding::event_hash(prev_hash, writer_id, seq, e)
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
    last_hash: Hash,
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
        Self::resume(writer_id(uuid::Uuid::now_v7()), 1, GENESIS)
    }

    /// A chain positioned after its event `next_seq - 1`, whose hash is `last_hash`.
    pub fn resume(writer_id: String, next_seq: i64, last_hash: Hash) -> Self {
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
    pub fn last_hash(&self) -> &Hash {
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
    pub fn resynced(&self, tail: Option<(i64, Hash)>) -> Self {
        let (last_seq, last_hash) = tail.unwrap_or((0, GENESIS));
        Self::resume(self.writer_id.clone(), last_seq + 1, last_hash)
    }

    /// Places `event` at the end of the chain: returns its `(seq, hash)` and advances this
    /// state past it.
    pub fn push(&mut self, event: &NewEvent) -> (i64, Hash) {
        self.push_encoded(event, &encoding::body(event))
    }

    /// [`push`](Self::push) for an event whose body the caller has encoded (to store it).
    pub fn push_encoded(&mut self, event: &NewEvent, body: &[u8]) -> (i64, Hash) {
        let seq = self.next_seq;
        let hash =
            encoding::event_hash_with_body(&self.last_hash, &self.writer_id, seq, event, body);
        self.last_hash = hash;
        self.next_seq += 1;
        (seq, hash)
    }
}

/// A writer id: the UUID's 128 bits in Crockford base32 (26 characters, in time order like the
/// UUID v7 itself). Every event row and its chain index entry carry it, so the 10 characters it
/// saves over the hyphenated UUID are 20 bytes per event.
fn writer_id(id: uuid::Uuid) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let n = id.as_u128();
    (0..26)
        .rev()
        .map(|i| char::from(ALPHABET[((n >> (i * 5)) & 31) as usize]))
        .collect()
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
    let mut previous: Option<(String, i64, Hash)> = None;
    for e in events {
        report.events_checked += 1;
        let (expected_seq, expected_prev) = match &previous {
            Some((writer, seq, hash)) if *writer == e.writer_id => (seq + 1, *hash),
            _ => {
                report.chains += 1;
                (1, GENESIS)
            }
        };
        let reason = if e.seq != expected_seq {
            Some(format!("seq {} where {expected_seq} was expected", e.seq))
        } else {
            broken_link_or_content(&e, &expected_prev)
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

/// Why `e`, following an event whose hash is `expected_prev`, does not verify; `None` when it
/// does. A format 2 row's link is part of what its hash covers; a format 1 row stores its link
/// and is hashed in its own encoding.
fn broken_link_or_content(e: &StoredEvent, expected_prev: &Hash) -> Option<String> {
    match &e.legacy {
        Some(row) if row.prev_hash != *expected_prev => {
            Some("prev_hash does not match the previous event's hash".to_string())
        }
        Some(row)
            if legacy::event_hash(&row.prev_hash, &e.writer_id, e.seq, &row.event) != e.hash =>
        {
            Some("the hash does not match the event's content".to_string())
        }
        Some(_) => None,
        None if event_hash(expected_prev, &e.writer_id, e.seq, &e.event) != e.hash => Some(
            "the hash does not match the event's content and its link to the previous event"
                .to_string(),
        ),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::audit::{Decided, tests_support};
    use crate::domain::{MatchClass, gate::DecisionKind};

    fn event(n: u32) -> NewEvent {
        let d = tests_support::decided();
        NewEvent::Decided(Decided {
            occurred_at: d.occurred_at + Duration::from_micros(u64::from(n)),
            subject_id: format!("subject-{n}"),
            request_id: format!("request-{n}"),
            verification_id: format!("verification-{n}"),
            ..d
        })
    }

    fn stored_chain(chain: &mut ChainState, range: std::ops::Range<u32>) -> Vec<StoredEvent> {
        range
            .map(|n| {
                let e = event(n);
                let (seq, hash) = chain.push(&e);
                StoredEvent {
                    id: i64::from(n) + 100,
                    writer_id: chain.writer_id().to_string(),
                    seq,
                    hash,
                    event: e,
                    legacy: None,
                }
            })
            .collect()
    }

    fn decided(s: &mut StoredEvent) -> &mut Decided {
        match &mut s.event {
            NewEvent::Decided(d) => d,
            _ => unreachable!("the test chain holds decisions"),
        }
    }

    /// A named edit of a stored event.
    type Tampering = (&'static str, fn(&mut StoredEvent));

    /// Every single-field edit a tamperer could make to a stored event.
    fn tamperings() -> Vec<Tampering> {
        vec![
            ("event kind", |s| {
                let d = decided(s).clone();
                s.event = NewEvent::CommitAccepted(crate::audit::CommitAccepted {
                    occurred_at: d.occurred_at,
                    caller: d.caller,
                    insurer_number: d.insurer_number,
                    subject_id: d.subject_id,
                    verification_id: d.verification_id,
                    commit_id: String::new(),
                    number_fingerprint: d.number_fingerprint.unwrap(),
                    request_fingerprint: d.request_fingerprint,
                });
            }),
            ("occurred_at", |s| {
                decided(s).occurred_at += Duration::from_micros(1)
            }),
            ("caller", |s| decided(s).caller.push('x')),
            ("insurer_number", |s| {
                decided(s).insurer_number = "87654321".into()
            }),
            ("subject_id", |s| decided(s).subject_id.push('x')),
            ("subject_kind", |s| {
                decided(s).subject_kind = crate::domain::subject::SubjectKind::Member
            }),
            ("request_id", |s| decided(s).request_id.push('x')),
            ("verification_id", |s| decided(s).verification_id.push('x')),
            ("decision", |s| decided(s).decision = DecisionKind::Hold),
            ("policy_version", |s| decided(s).policy_version.push('x')),
            ("comparison class", |s| {
                decided(s).comparisons[0].class = MatchClass::Exact
            }),
            ("comparison stage", |s| {
                decided(s).comparisons[0].stage = crate::domain::Stage::DeclaredVsCandidate
            }),
            ("comparison field", |s| {
                decided(s).comparisons[0].field = crate::domain::Field::Sex
            }),
            ("comparison rules", |s| {
                decided(s).comparisons[0].rules.clear()
            }),
            ("comparison rule order", |s| {
                decided(s).comparisons[0].rules.reverse()
            }),
            ("comparison index", |s| {
                decided(s).comparisons[0].candidate_index = 1
            }),
            ("comparison removed", |s| decided(s).comparisons.clear()),
            ("hold_reasons", |s| {
                decided(s)
                    .hold_reasons
                    .push(crate::domain::gate::HoldReason::FieldDiffers)
            }),
            ("fields_to_complete", |s| {
                decided(s)
                    .fields_to_complete
                    .push(crate::domain::Field::Address)
            }),
            ("selected_candidate", |s| {
                decided(s).selected_candidate = None
            }),
            ("register_by", |s| {
                decided(s).register_by = Some(std::time::UNIX_EPOCH)
            }),
            ("number fingerprint", |s| {
                decided(s).number_fingerprint = None
            }),
            ("number key id", |s| {
                decided(s).number_fingerprint.as_mut().unwrap().key_id = "k-2".into();
            }),
            ("number mac", |s| {
                decided(s).number_fingerprint.as_mut().unwrap().mac_hex = hex::encode([1; 32])
            }),
            ("request fingerprint", |s| {
                decided(s).request_fingerprint = None
            }),
            ("request mac", |s| {
                decided(s).request_fingerprint.as_mut().unwrap().mac_hex = hex::encode([2; 32])
            }),
            ("writer_id", |s| s.writer_id.push('x')),
            ("seq", |s| s.seq += 1),
            ("hash", |s| s.hash = GENESIS),
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
    fn every_kind_of_event_hashes_differently_from_every_other() {
        let hashes: std::collections::HashSet<Hash> = tests_support::one_of_each()
            .iter()
            .map(|e| event_hash(&GENESIS, "w", 1, e))
            .collect();
        assert_eq!(hashes.len(), tests_support::one_of_each().len());
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
    fn a_chain_continuing_format_1_rows_with_format_2_rows_verifies_and_each_edit_is_found() {
        // Format 1 rows first, then format 2 rows linking to them, in one chain.
        let mut chain = ChainState::new();
        let mut events = Vec::new();
        for (n, e) in tests_support::one_of_each().into_iter().enumerate() {
            let seq = chain.next_seq();
            let prev = *chain.last_hash();
            let (legacy, hash) = if n < 3 {
                let row = legacy::from_event(&e);
                let hash = legacy::event_hash(&prev, chain.writer_id(), seq, &row);
                (
                    Some(Box::new(legacy::LegacyRow {
                        prev_hash: prev,
                        event: row,
                    })),
                    hash,
                )
            } else {
                (None, event_hash(&prev, chain.writer_id(), seq, &e))
            };
            chain = ChainState::resume(chain.writer_id().to_string(), seq + 1, hash);
            events.push(StoredEvent {
                id: seq,
                writer_id: chain.writer_id().to_string(),
                seq,
                hash,
                event: e,
                legacy,
            });
        }
        assert!(verify(events.clone().into_iter()).is_intact());
        let mut edited = events.clone();
        edited[1].legacy.as_mut().unwrap().event.caller.push('x');
        assert_eq!(verify(edited.into_iter()).first_broken.unwrap().seq, 2);
        let mut edited = events.clone();
        edited[2].hash = GENESIS;
        // The format 2 row after it links to the stored hash, so the edit is found at once.
        assert_eq!(verify(edited.into_iter()).first_broken.unwrap().seq, 3);
        let mut edited = events;
        edited[4].seq += 10;
        assert_eq!(verify(edited.into_iter()).first_broken.unwrap().seq, 15);
    }

    #[test]
    fn writer_ids_are_26_characters_in_time_order() {
        let a = writer_id(uuid::Uuid::from_u128(1));
        let b = writer_id(uuid::Uuid::from_u128(u128::MAX));
        assert_eq!((a.len(), b.len()), (26, 26));
        assert_eq!(a, "00000000000000000000000001");
        assert_eq!(b, "7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
        assert!(a < b && a.ends_with('1'));
        let earlier = writer_id(uuid::Uuid::now_v7());
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert!(earlier < writer_id(uuid::Uuid::now_v7()));
    }

    #[test]
    fn a_resynced_chain_continues_after_the_stored_tail() {
        let mut chain = ChainState::new();
        chain.mark_uncertain();
        let resynced = chain.resynced(Some((7, [0xab; 32])));
        assert_eq!(
            (resynced.next_seq(), *resynced.last_hash()),
            (8, [0xab; 32])
        );
        assert_eq!(resynced.writer_id(), chain.writer_id());
        assert!(!resynced.is_uncertain());
        assert_eq!(chain.resynced(None).next_seq(), 1);
    }
}
