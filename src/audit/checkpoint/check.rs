//! Stored chains checked against checkpoints kept outside the database. Pure: no I/O.
//!
//! Every checkpoint of a file counts, not only the newest: a chain that ended before the
//! newest checkpoint (its writer stopped) and was removed afterwards is still in the older
//! ones, and a position checked once stays checked. The claims are gathered by position, so a
//! year of checkpoints that repeat the same heads of finished chains costs one entry per
//! distinct head, not one per line; the events are then streamed past once
//! ([`Expectations::observe`]), next to the chain walk.
//!
//! What is reported, per chain (see [`Finding`]): a checkpoint line that is malformed or
//! whose signature does not verify; a chain missing; a chain ending before a checkpointed
//! position; a chain holding another event at a checkpointed position (forked: rewritten
//! from there, even if every link of the rewrite verifies); an event missing at a checkpointed
//! position of a chain that goes on past it; two checkpoints disagreeing about one position.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crate::audit::{
    Hash, StoredEvent,
    checkpoint::key::PublicKey,
    checkpoint::{Checkpoint, CheckpointError},
};

/// What the checkpoints say one position of one chain holds.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Claim {
    /// The hash of the event there.
    hash: Hash,
    /// The first checkpoint line (from 1) that says so.
    line: usize,
}

/// What the stream of stored events showed about one chain named by a checkpoint.
#[derive(Debug, Clone, Default)]
struct Seen {
    /// The highest position stored.
    last_seq: Option<i64>,
    /// The stored `(row id, hash)` at each claimed position.
    at: HashMap<i64, (i64, Hash)>,
}

/// One way the stored chains, or the checkpoints themselves, show tampering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// A line of the checkpoint file that is not a checkpoint verified by the given key.
    BadCheckpoint {
        /// The line, from 1.
        line: usize,
        /// Why.
        error: CheckpointError,
    },
    /// A chain a checkpoint names has no event in the store.
    MissingChain {
        /// The chain.
        writer_id: String,
        /// The highest position the checkpoints give it.
        seq: i64,
        /// The checkpoint line that gives it.
        line: usize,
    },
    /// A chain ends before a position a checkpoint gives it: its newest events were removed.
    Shortened {
        /// The chain.
        writer_id: String,
        /// Its last stored position.
        last_stored: i64,
        /// The highest position the checkpoints give it.
        seq: i64,
        /// The checkpoint line that gives it.
        line: usize,
    },
    /// A chain holds another event at a position a checkpoint gives it: it was rewritten from
    /// there (at the latest). Only the first such position of a chain is reported.
    Forked {
        /// The chain.
        writer_id: String,
        /// The position.
        seq: i64,
        /// The row id of the event stored there.
        id: i64,
        /// Its hash.
        stored: Hash,
        /// The hash the checkpoint gives.
        checkpointed: Hash,
        /// The checkpoint line.
        line: usize,
    },
    /// A chain that goes on past a checkpointed position has no event at that position.
    MissingEvent {
        /// The chain.
        writer_id: String,
        /// The position.
        seq: i64,
        /// The checkpoint line.
        line: usize,
    },
    /// Two verified checkpoints give one position of one chain different hashes: the signing
    /// key signed two histories.
    Conflicting {
        /// The chain.
        writer_id: String,
        /// The position.
        seq: i64,
        /// The two lines.
        lines: (usize, usize),
    },
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::BadCheckpoint { line, error } => {
                write!(f, "checkpoint line {line} is not trustworthy: {error}")
            }
            Finding::MissingChain {
                writer_id,
                seq,
                line,
            } => write!(
                f,
                "chain {writer_id} is MISSING: checkpoint line {line} has it at seq {seq}, the \
                 store has no event of it"
            ),
            Finding::Shortened {
                writer_id,
                last_stored,
                seq,
                line,
            } => write!(
                f,
                "chain {writer_id} is SHORTER than checkpoint line {line}: it ends at seq \
                 {last_stored}, the checkpoint has seq {seq}; seq {}..={seq} are missing",
                last_stored + 1
            ),
            Finding::Forked {
                writer_id,
                seq,
                id,
                stored,
                checkpointed,
                line,
            } => write!(
                f,
                "chain {writer_id} FORKED at seq {seq}: event id {id} has hash {}, checkpoint \
                 line {line} has {}",
                hex::encode(stored),
                hex::encode(checkpointed)
            ),
            Finding::MissingEvent {
                writer_id,
                seq,
                line,
            } => write!(
                f,
                "chain {writer_id} has no event at seq {seq}, which checkpoint line {line} \
                 names"
            ),
            Finding::Conflicting {
                writer_id,
                seq,
                lines: (a, b),
            } => write!(
                f,
                "checkpoint lines {a} and {b} disagree about chain {writer_id} seq {seq}: the \
                 signing key signed two histories"
            ),
        }
    }
}

/// What a checkpoint file says the store must hold, and what the store was seen to hold.
#[derive(Debug, Default)]
pub struct Expectations {
    /// Per chain, per position: what the checkpoints say is there.
    claims: BTreeMap<String, BTreeMap<i64, Claim>>,
    /// Per chain named by a checkpoint: what the events showed.
    seen: HashMap<String, Seen>,
    /// Findings about the checkpoints themselves.
    findings: Vec<Finding>,
    /// How many lines verified.
    checkpoints: usize,
    /// The newest verified checkpoint's time.
    newest_us: Option<i64>,
}

impl Expectations {
    /// Reads a checkpoint file's `text` (one checkpoint per line; blank lines are skipped),
    /// checking each line's signature with `key`. A line that does not verify is a finding
    /// and claims nothing.
    pub fn from_file(text: &str, key: &PublicKey) -> Self {
        let mut expectations = Expectations::default();
        for (n, line) in text.lines().enumerate() {
            let line_no = n + 1;
            if line.trim().is_empty() {
                continue;
            }
            let checkpoint = Checkpoint::parse_line(line).and_then(|c| c.verify(key).map(|()| c));
            match checkpoint {
                Ok(c) => expectations.add(line_no, &c),
                Err(error) => expectations.findings.push(Finding::BadCheckpoint {
                    line: line_no,
                    error,
                }),
            }
        }
        expectations
    }

    /// Adds the claims of checkpoint `c`, read from line `line`.
    fn add(&mut self, line: usize, c: &Checkpoint) {
        self.checkpoints += 1;
        self.newest_us = self.newest_us.max(Some(c.created_at_us));
        for h in &c.heads {
            let positions = self.claims.entry(h.writer_id.clone()).or_default();
            match positions.get(&h.seq) {
                None => {
                    positions.insert(h.seq, Claim { hash: h.hash, line });
                }
                Some(first) if first.hash != h.hash => self.findings.push(Finding::Conflicting {
                    writer_id: h.writer_id.clone(),
                    seq: h.seq,
                    lines: (first.line, line),
                }),
                Some(_) => {}
            }
        }
    }

    /// How many checkpoints verified.
    pub fn checkpoints(&self) -> usize {
        self.checkpoints
    }

    /// When the newest verified checkpoint was taken (microseconds since the epoch).
    pub fn newest_us(&self) -> Option<i64> {
        self.newest_us
    }

    /// How many distinct chain positions the checkpoints name.
    pub fn positions(&self) -> usize {
        self.claims.values().map(BTreeMap::len).sum()
    }

    /// Notes one stored event (in any order).
    pub fn observe(&mut self, e: &StoredEvent) {
        let Some(positions) = self.claims.get(&e.writer_id) else {
            return;
        };
        let seen = self.seen.entry(e.writer_id.clone()).or_default();
        seen.last_seq = seen.last_seq.max(Some(e.seq));
        if positions.contains_key(&e.seq) {
            seen.at.insert(e.seq, (e.id, e.hash));
        }
    }

    /// Everything found, checkpoint lines first, then chains in writer id order.
    pub fn findings(&self) -> Vec<Finding> {
        let mut found = self.findings.clone();
        for (writer_id, positions) in &self.claims {
            let writer_id = writer_id.clone();
            let (&seq, last_claim) = positions.last_key_value().expect("claims are never empty");
            let Some(seen) = self.seen.get(&writer_id) else {
                found.push(Finding::MissingChain {
                    writer_id,
                    seq,
                    line: last_claim.line,
                });
                continue;
            };
            let last_stored = seen.last_seq.expect("a seen chain has an event");
            if last_stored < seq {
                found.push(Finding::Shortened {
                    writer_id: writer_id.clone(),
                    last_stored,
                    seq,
                    line: last_claim.line,
                });
            }
            for (&seq, claim) in positions.range(..=last_stored) {
                match seen.at.get(&seq) {
                    None => found.push(Finding::MissingEvent {
                        writer_id: writer_id.clone(),
                        seq,
                        line: claim.line,
                    }),
                    Some(&(id, stored)) if stored != claim.hash => {
                        found.push(Finding::Forked {
                            writer_id: writer_id.clone(),
                            seq,
                            id,
                            stored,
                            checkpointed: claim.hash,
                            line: claim.line,
                        });
                        break;
                    }
                    Some(_) => {}
                }
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{
        ChainState, NewEvent, checkpoint::ChainHead, checkpoint::key::CheckpointKey, tests_support,
    };

    fn key() -> CheckpointKey {
        CheckpointKey::from_seed([3; 32])
    }

    /// A chain of `n` stored events.
    fn chain(n: usize) -> Vec<StoredEvent> {
        let mut state = ChainState::new();
        (0..n)
            .map(|i| {
                let e = NewEvent::Decided(tests_support::decided());
                let (seq, hash) = state.push(&e);
                StoredEvent {
                    id: 100 + i as i64,
                    writer_id: state.writer_id().to_string(),
                    seq,
                    hash,
                    event: e,
                    legacy: None,
                }
            })
            .collect()
    }

    fn head_of(events: &[StoredEvent]) -> ChainHead {
        let last = events.last().unwrap();
        ChainHead {
            writer_id: last.writer_id.clone(),
            seq: last.seq,
            hash: last.hash,
            occurred_at_us: 0,
        }
    }

    /// The checkpoint lines of `heads_per_line`, one checkpoint per entry.
    fn file(heads_per_line: &[Vec<ChainHead>]) -> String {
        heads_per_line
            .iter()
            .enumerate()
            .map(|(i, heads)| {
                let c = Checkpoint::sign(i as i64, heads.clone(), &key());
                c.to_line().unwrap() + "\n"
            })
            .collect()
    }

    fn findings(text: &str, stored: &[StoredEvent]) -> Vec<Finding> {
        let mut x = Expectations::from_file(text, &key().public_key());
        stored.iter().for_each(|e| x.observe(e));
        x.findings()
    }

    #[test]
    fn an_untouched_store_matches_every_checkpoint() {
        let a = chain(5);
        let b = chain(3);
        let text = file(&[
            vec![head_of(&a[..2])],
            vec![head_of(&a[..4]), head_of(&b)],
            vec![head_of(&a), head_of(&b)],
        ]);
        let mut x = Expectations::from_file(&text, &key().public_key());
        assert_eq!(
            (x.checkpoints(), x.positions(), x.newest_us()),
            (3, 4, Some(2))
        );
        a.iter().chain(&b).for_each(|e| x.observe(e));
        assert_eq!(x.findings(), vec![]);
    }

    #[test]
    fn a_cut_tail_names_the_chain_and_the_missing_positions() {
        let a = chain(5);
        let found = findings(&file(&[vec![head_of(&a)]]), &a[..3]);
        assert_eq!(
            found,
            vec![Finding::Shortened {
                writer_id: a[0].writer_id.clone(),
                last_stored: 3,
                seq: 5,
                line: 1
            }]
        );
        assert!(found[0].to_string().contains("seq 4..=5 are missing"));
    }

    #[test]
    fn a_chain_removed_after_it_ended_is_found_through_an_older_checkpoint() {
        let (a, b) = (chain(2), chain(4));
        // b's writer stopped before the second checkpoint was taken, and b was removed later.
        let text = file(&[vec![head_of(&a[..1]), head_of(&b)], vec![head_of(&a)]]);
        let found = findings(&text, &a);
        assert_eq!(
            found,
            vec![Finding::MissingChain {
                writer_id: b[0].writer_id.clone(),
                seq: 4,
                line: 1
            }]
        );
    }

    #[test]
    fn a_chain_rewritten_with_valid_links_is_forked_at_the_checkpointed_event() {
        let original = chain(4);
        let text = file(&[vec![head_of(&original[..2])], vec![head_of(&original)]]);
        // The same writer id and positions, other events, every link recomputed: the chain
        // walk cannot tell; the checkpoints can.
        let mut state = ChainState::resume(
            original[0].writer_id.clone(),
            1,
            crate::audit::chain::GENESIS,
        );
        let rewritten: Vec<StoredEvent> = original
            .iter()
            .map(|o| {
                let mut e = o.event.clone();
                if let NewEvent::Decided(d) = &mut e {
                    d.policy_version.push_str("-rewritten");
                }
                let (seq, hash) = state.push(&e);
                StoredEvent {
                    seq,
                    hash,
                    event: e,
                    ..o.clone()
                }
            })
            .collect();
        assert!(crate::audit::chain::verify(rewritten.clone().into_iter()).is_intact());
        let found = findings(&text, &rewritten);
        assert_eq!(found.len(), 1, "{found:?}");
        match &found[0] {
            Finding::Forked { seq, id, line, .. } => assert_eq!((*seq, *id, *line), (2, 101, 1)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_bad_signature_is_a_finding_and_its_line_claims_nothing() {
        let a = chain(3);
        let good = file(&[vec![head_of(&a)]]);
        let forged = good.replace(&hex::encode(a[2].hash), &hex::encode([9u8; 32]));
        let text = format!("{good}\n{forged}");
        let found = findings(&text, &a);
        assert_eq!(
            found,
            vec![Finding::BadCheckpoint {
                line: 3,
                error: CheckpointError::BadSignature
            }]
        );
        let other_key = CheckpointKey::from_seed([4; 32]).public_key();
        let x = Expectations::from_file(&good, &other_key);
        assert!(matches!(
            x.findings()[..],
            [Finding::BadCheckpoint {
                line: 1,
                error: CheckpointError::OtherKey { .. }
            }]
        ));
    }

    #[test]
    fn a_hole_at_a_checkpointed_position_and_two_disagreeing_checkpoints_are_found() {
        let a = chain(4);
        let mut other = head_of(&a[..2]);
        other.hash = [1; 32];
        let text = file(&[vec![head_of(&a[..2])], vec![other]]);
        let mut stored = a.clone();
        stored.remove(1);
        let found = findings(&text, &stored);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(matches!(
            found[0],
            Finding::Conflicting {
                seq: 2,
                lines: (1, 2),
                ..
            }
        ));
        assert!(matches!(
            found[1],
            Finding::MissingEvent {
                seq: 2,
                line: 1,
                ..
            }
        ));
    }
}
