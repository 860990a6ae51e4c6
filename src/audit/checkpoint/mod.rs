//! Signed checkpoints of the chain heads: what shows a chain cut short or removed. Pure: no
//! I/O.
//!
//! The hash chain proves that no stored event was edited, reordered or removed from the middle
//! of a chain; cutting the newest events off a chain, or removing a whole chain, leaves every
//! remaining link intact. A checkpoint records where every chain stood — writer, position,
//! hash and time of its newest event — signed with an Ed25519 key that the database does not
//! hold, to be kept outside it (appended to a log, mailed, printed). Checked later
//! ([`checkpoint_check`](crate::audit::checkpoint::check)), a chain that is shorter than a
//! checkpoint, missing, or holding another event at a checkpointed position is named.
//!
//! Ed25519 rather than an HMAC: an auditor checks checkpoints with the public key alone, and
//! nobody who can check them can make one.
//!
//! # The line
//!
//! One checkpoint is one JSON object on one line (JSON Lines, so a file of them is appended
//! to, never rewritten):
//!
//! ```json
//! {"format":1,"created_at":"2026-12-02T01:00:00.123456Z","key_id":"ck-…",
//!  "heads":[{"writer_id":"…","seq":12,"hash":"…64 hex…","occurred_at":"…"}],
//!  "signature":"…128 hex…"}
//! ```
//!
//! The signature covers [`signed_bytes`], a fixed binary encoding of every other field, not
//! the JSON text: re-serialized JSON may order keys or spell numbers and times differently,
//! and a signature over text would break (or, worse, be checked against something other than
//! what was read). Heads are encoded in writer id order, each writer at most once.

pub mod check;
pub mod file;
pub mod key;

use serde::{Deserialize, Serialize};

use crate::audit::{
    Hash,
    checkpoint::key::{CheckpointKey, PublicKey},
};

/// The version of the checkpoint line and of its signed encoding.
pub const FORMAT: u32 = 1;

/// What the signed bytes start with, so that a checkpoint signature can never be taken for a
/// signature over anything else the same key might sign.
const DOMAIN: &[u8] = b"verify-identity audit checkpoint\0";

pub use crate::audit::chain::ChainHead;

/// A signed record of every chain head at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// When it was taken, in whole microseconds since the Unix epoch.
    pub created_at_us: i64,
    /// The id of the key that signed it ([`PublicKey::id`]), so that an auditor holding
    /// several public keys (after a rotation) sees which one applies.
    pub key_id: String,
    /// Every chain head, in writer id order, each writer once.
    pub heads: Vec<ChainHead>,
    /// The Ed25519 signature over [`signed_bytes`].
    signature: [u8; 64],
}

/// Why a line is not a checkpoint that verifies. No variant quotes the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// Not a checkpoint line at all, or not one of this format.
    #[error("not a checkpoint line: {0}")]
    Malformed(String),
    /// Signed by a key other than the one given.
    #[error("signed by key {found}, not by the given public key {expected}")]
    OtherKey {
        /// The key id the line names.
        found: String,
        /// The id of the key it was checked with.
        expected: String,
    },
    /// The signature does not match the content: the line was altered or forged.
    #[error("the signature does not verify: the checkpoint was altered or forged")]
    BadSignature,
}

impl Checkpoint {
    /// Signs `heads` as they stood at `created_at_us`. Heads are put in writer id order.
    pub fn sign(created_at_us: i64, mut heads: Vec<ChainHead>, key: &CheckpointKey) -> Self {
        heads.sort_by(|a, b| a.writer_id.cmp(&b.writer_id));
        heads.dedup_by(|a, b| a.writer_id == b.writer_id);
        let key_id = key.public_key().id();
        let signature = key.sign(&signed_bytes(created_at_us, &key_id, &heads));
        Checkpoint {
            created_at_us,
            key_id,
            heads,
            signature,
        }
    }

    /// Checks the signature with `key`.
    pub fn verify(&self, key: &PublicKey) -> Result<(), CheckpointError> {
        let expected = key.id();
        if self.key_id != expected {
            return Err(CheckpointError::OtherKey {
                found: self.key_id.clone(),
                expected,
            });
        }
        let bytes = signed_bytes(self.created_at_us, &self.key_id, &self.heads);
        if key.verify(&bytes, &self.signature) {
            Ok(())
        } else {
            Err(CheckpointError::BadSignature)
        }
    }

    /// The checkpoint as one line of JSON (without the newline).
    ///
    /// Fails only for a time outside the years 0001–9999, which no clock gives and only a
    /// stored event edited behind the service's back can carry.
    pub fn to_line(&self) -> Result<String, CheckpointError> {
        let heads = self
            .heads
            .iter()
            .map(|h| {
                Ok(LineHead {
                    writer_id: h.writer_id.clone(),
                    seq: h.seq,
                    hash: hex::encode(h.hash),
                    occurred_at: rfc3339(h.occurred_at_us)?,
                })
            })
            .collect::<Result<Vec<_>, CheckpointError>>()?;
        let line = Line {
            format: FORMAT,
            created_at: rfc3339(self.created_at_us)?,
            key_id: self.key_id.clone(),
            heads,
            signature: hex::encode(self.signature),
        };
        Ok(serde_json::to_string(&line).expect("a checkpoint serializes"))
    }

    /// Reads one line written by [`to_line`](Self::to_line). The signature is not checked
    /// here: see [`verify`](Self::verify).
    pub fn parse_line(text: &str) -> Result<Self, CheckpointError> {
        let malformed = |why: &str| CheckpointError::Malformed(why.to_owned());
        let line: Line = serde_json::from_str(text).map_err(|e| {
            // serde's message can quote a value; the category and column are enough.
            CheckpointError::Malformed(format!("{:?} error at column {}", e.classify(), e.column()))
        })?;
        if line.format != FORMAT {
            return Err(CheckpointError::Malformed(format!(
                "format {} (this version reads format {FORMAT})",
                line.format
            )));
        }
        let mut heads = Vec::with_capacity(line.heads.len());
        for h in line.heads {
            let hash = hex::decode(&h.hash)
                .ok()
                .and_then(|bytes| Hash::try_from(bytes).ok())
                .ok_or_else(|| malformed("a head's hash is not 64 hex digits"))?;
            if heads
                .last()
                .is_some_and(|prev: &ChainHead| prev.writer_id >= h.writer_id)
            {
                return Err(malformed("the heads are not in writer id order, each once"));
            }
            heads.push(ChainHead {
                writer_id: h.writer_id,
                seq: h.seq,
                hash,
                occurred_at_us: micros(&h.occurred_at)?,
            });
        }
        let signature = hex::decode(&line.signature)
            .ok()
            .and_then(|bytes| <[u8; 64]>::try_from(bytes).ok())
            .ok_or_else(|| malformed("the signature is not 128 hex digits"))?;
        Ok(Checkpoint {
            created_at_us: micros(&line.created_at)?,
            key_id: line.key_id,
            heads,
            signature,
        })
    }
}

/// The bytes a checkpoint's signature covers: [`DOMAIN`], then the format, the time, the key
/// id and every head, each field fixed-width big-endian or length-prefixed:
///
/// ```text
/// DOMAIN | format u32 | created_at_us i64 | len u32, key_id | head count u32 |
///   per head: len u32, writer_id | seq i64 | hash [32] | occurred_at_us i64
/// ```
pub fn signed_bytes(created_at_us: i64, key_id: &str, heads: &[ChainHead]) -> Vec<u8> {
    let mut out = Vec::with_capacity(DOMAIN.len() + 64 + heads.len() * 80);
    let text = |out: &mut Vec<u8>, s: &str| {
        let len = u32::try_from(s.len()).expect("ids are far shorter than 4 GiB");
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(s.as_bytes());
    };
    out.extend_from_slice(DOMAIN);
    out.extend_from_slice(&FORMAT.to_be_bytes());
    out.extend_from_slice(&created_at_us.to_be_bytes());
    text(&mut out, key_id);
    let count = u32::try_from(heads.len()).expect("fewer than 4 billion chains");
    out.extend_from_slice(&count.to_be_bytes());
    for h in heads {
        text(&mut out, &h.writer_id);
        out.extend_from_slice(&h.seq.to_be_bytes());
        out.extend_from_slice(&h.hash);
        out.extend_from_slice(&h.occurred_at_us.to_be_bytes());
    }
    out
}

/// A checkpoint line as JSON.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    format: u32,
    created_at: String,
    key_id: String,
    heads: Vec<LineHead>,
    signature: String,
}

/// A head as JSON.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LineHead {
    writer_id: String,
    seq: i64,
    hash: String,
    occurred_at: String,
}

/// Whole microseconds as RFC 3339 in UTC (`2026-12-02T01:00:00.123456Z`).
fn rfc3339(us: i64) -> Result<String, CheckpointError> {
    jiff::Timestamp::from_microsecond(us)
        .map(|t| t.to_string())
        .map_err(|_| CheckpointError::Malformed("a time outside the years 0001-9999".into()))
}

/// The inverse of [`rfc3339`]; any offset is accepted, finer than microseconds is not.
fn micros(text: &str) -> Result<i64, CheckpointError> {
    let t: jiff::Timestamp = text
        .parse()
        .map_err(|_| CheckpointError::Malformed("a time is not RFC 3339".into()))?;
    if t.subsec_nanosecond() % 1_000 != 0 {
        return Err(CheckpointError::Malformed(
            "a time finer than microseconds".into(),
        ));
    }
    Ok(t.as_microsecond())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn head(writer: &str, seq: i64, byte: u8) -> ChainHead {
        ChainHead {
            writer_id: writer.into(),
            seq,
            hash: [byte; 32],
            occurred_at_us: 1_795_000_000_000_000 + seq,
        }
    }

    fn key() -> CheckpointKey {
        CheckpointKey::from_seed([7; 32])
    }

    #[test]
    fn a_checkpoint_survives_its_line_and_verifies_with_the_public_key() {
        let heads = vec![head("W2", 4, 2), head("W1", 9, 1)];
        let cp = Checkpoint::sign(1_795_000_123_456_789, heads, &key());
        assert_eq!(cp.heads[0].writer_id, "W1", "heads are in writer id order");
        let line = cp.to_line().unwrap();
        assert!(!line.contains('\n'));
        assert!(line.contains("\"created_at\":\"2026-11-18T"), "{line}");
        let read = Checkpoint::parse_line(&line).unwrap();
        assert_eq!(read, cp);
        assert_eq!(read.verify(&key().public_key()), Ok(()));
    }

    #[test]
    fn the_signature_covers_the_values_not_the_json_text() {
        let cp = Checkpoint::sign(5, vec![head("W1", 3, 1)], &key());
        let mut v: serde_json::Value = serde_json::from_str(&cp.to_line().unwrap()).unwrap();
        // The same values with the keys in another order and the time in another offset.
        v["created_at"] = "1970-01-01T09:00:00.000005+09:00".into();
        let reordered = {
            let o = v.as_object().unwrap();
            let mut keys: Vec<_> = o.keys().cloned().collect();
            keys.reverse();
            let pairs: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", serde_json::json!(k), o[k]))
                .collect();
            format!("{{{}}}", pairs.join(","))
        };
        let read = Checkpoint::parse_line(&reordered).unwrap();
        assert_eq!(read.verify(&key().public_key()), Ok(()));
    }

    #[test]
    fn any_change_to_a_signed_value_breaks_the_signature() {
        let cp = Checkpoint::sign(5, vec![head("W1", 3, 1), head("W2", 8, 2)], &key());
        let public = key().public_key();
        type Edit = (&'static str, fn(&mut Checkpoint));
        let edits: Vec<Edit> = vec![
            ("time", |c| c.created_at_us += 1),
            ("seq", |c| c.heads[0].seq -= 1),
            ("hash", |c| c.heads[1].hash[31] ^= 1),
            ("writer", |c| c.heads[0].writer_id.push('x')),
            ("event time", |c| c.heads[0].occurred_at_us += 1),
            ("a head removed", |c| {
                c.heads.remove(1);
            }),
            ("signature", |c| c.signature[0] ^= 1),
        ];
        for (what, edit) in edits {
            let mut edited = cp.clone();
            edit(&mut edited);
            assert_eq!(
                edited.verify(&public),
                Err(CheckpointError::BadSignature),
                "{what}"
            );
        }
    }

    #[test]
    fn a_checkpoint_signed_by_another_key_names_both_keys() {
        let cp = Checkpoint::sign(5, vec![head("W1", 3, 1)], &key());
        let other = CheckpointKey::from_seed([9; 32]).public_key();
        match cp.verify(&other) {
            Err(CheckpointError::OtherKey { found, expected }) => {
                assert_eq!(found, key().public_key().id());
                assert_eq!(expected, other.id());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn malformed_lines_are_refused_without_quoting_them() {
        let good = Checkpoint::sign(5, vec![head("W1", 3, 1), head("W2", 1, 2)], &key())
            .to_line()
            .unwrap();
        let bad = [
            "not json at all: 123456789018".to_owned(),
            good.replace("\"format\":1", "\"format\":2"),
            good.replace("\"W2\"", "\"W0\""),
            good.replacen("\"hash\":\"01", "\"hash\":\"zz", 1),
            good.replace("\"signature\":\"", "\"signature\":\"00"),
            good.replace(".000005Z", ".0000051Z"),
            good.replace("\"key_id\"", "\"extra\":1,\"key_id\""),
        ];
        for line in bad {
            let e = Checkpoint::parse_line(&line).expect_err(&line);
            let shown = e.to_string();
            assert!(!shown.contains("123456789018"), "{shown}");
            assert!(matches!(e, CheckpointError::Malformed(_)), "{line}: {e}");
        }
    }

    #[test]
    fn the_signed_bytes_are_fixed_by_their_layout() {
        let bytes = signed_bytes(1, "k", &[head("W", 2, 3)]);
        let mut expected = DOMAIN.to_vec();
        expected.extend_from_slice(&1u32.to_be_bytes());
        expected.extend_from_slice(&1i64.to_be_bytes());
        expected.extend_from_slice(&[0, 0, 0, 1, b'k']);
        expected.extend_from_slice(&1u32.to_be_bytes());
        expected.extend_from_slice(&[0, 0, 0, 1, b'W']);
        expected.extend_from_slice(&2i64.to_be_bytes());
        expected.extend_from_slice(&[3; 32]);
        expected.extend_from_slice(&(1_795_000_000_000_000i64 + 2).to_be_bytes());
        assert_eq!(bytes, expected);
    }
}
