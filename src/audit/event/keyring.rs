//! The fingerprint keys of one audit store: the current key, which makes every new
//! fingerprint, and the keys it replaced, which still match the fingerprints they made.
//!
//! A fingerprint cannot be re-keyed (the number behind it is not kept), so after a rotation the
//! old fingerprints stay under their old key for as long as the log is kept. Every comparison
//! with a stored fingerprint therefore goes through [`KeyRing::matches`], which recomputes the
//! MAC under the key the stored fingerprint names: a replay of a request decided before the
//! rotation, a commit of a decision made before it, a number registered before it. Which keys
//! a store holds fingerprints under, and which secret each id stands for, the store itself
//! records (`audit::key_adoption`).

use std::fmt;

use crate::{
    audit::{Fingerprint, event::fingerprint::FingerprintKey},
    domain::number::IndividualNumber,
};

/// The current key and the keys it replaced, each under the id the store knows it by.
#[derive(Clone)]
pub struct KeyRing {
    /// The current key first, then the previous ones. Never empty; ids are distinct.
    keys: Vec<FingerprintKey>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("current", &self.current().id)
            .field(
                "previous",
                &self.previous().iter().map(|k| &k.id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl KeyRing {
    /// A ring of one key: no rotation has happened.
    pub fn single(key: FingerprintKey) -> Self {
        KeyRing { keys: vec![key] }
    }

    /// `current` and the keys it replaced. A previous key with the id of an earlier one in the
    /// ring is dropped (the same key given twice).
    pub fn new(current: FingerprintKey, previous: Vec<FingerprintKey>) -> Self {
        let mut keys = vec![current];
        for key in previous {
            if !keys.iter().any(|k| k.id == key.id) {
                keys.push(key);
            }
        }
        KeyRing { keys }
    }

    /// The key every new fingerprint is made with.
    pub fn current(&self) -> &FingerprintKey {
        &self.keys[0]
    }

    /// The keys the current one replaced, still needed to match what they fingerprinted.
    pub fn previous(&self) -> &[FingerprintKey] {
        &self.keys[1..]
    }

    /// The key with this id, current or previous.
    pub fn get(&self, key_id: &str) -> Option<&FingerprintKey> {
        self.keys.iter().find(|k| k.id == key_id)
    }

    /// Whether `stored` is the fingerprint of `data` under the key it names. `false` for a
    /// key the ring does not have (the store refuses to start a process without every key it
    /// holds fingerprints under, so that means another content, not a lost key).
    pub fn matches(&self, stored: &Fingerprint, data: &[u8]) -> bool {
        self.get(&stored.key_id)
            .is_some_and(|key| key.fingerprint(data).mac_hex == stored.mac_hex)
    }

    /// Whether `stored` is the fingerprint of `number` under the key it names.
    pub fn matches_number(&self, stored: &Fingerprint, number: &IndividualNumber) -> bool {
        self.matches(stored, &number.expose_digits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8, id: &str) -> FingerprintKey {
        let mut secret = vec![byte; 32];
        secret[0] = 0;
        FingerprintKey::from_secret(secret).with_id(id)
    }

    #[test]
    fn a_fingerprint_made_by_a_previous_key_still_matches_and_a_foreign_one_does_not() {
        let old = key(1, "k-old");
        let ring = KeyRing::new(key(2, "k-new"), vec![old.clone()]);
        let number = IndividualNumber::parse("123456789018").unwrap();
        let other = IndividualNumber::parse("983205673214").unwrap();
        assert!(ring.matches_number(&old.fingerprint_number(&number), &number));
        assert!(!ring.matches_number(&old.fingerprint_number(&other), &number));
        assert!(ring.matches_number(&ring.current().fingerprint_number(&number), &number));
        let foreign = key(3, "k-foreign").fingerprint_number(&number);
        assert!(!ring.matches_number(&foreign, &number));
        // The same MAC under another key id is not a match either.
        let relabelled = Fingerprint {
            key_id: "k-new".into(),
            ..old.fingerprint_number(&number)
        };
        assert!(!ring.matches_number(&relabelled, &number));
    }

    #[test]
    fn the_current_key_comes_first_and_a_repeated_id_is_kept_once() {
        let ring = KeyRing::new(key(2, "b"), vec![key(1, "a"), key(2, "b"), key(1, "a")]);
        assert_eq!(ring.current().id, "b");
        let ids: Vec<_> = ring.previous().iter().map(|k| k.id.as_str()).collect();
        assert_eq!(ids, ["a"]);
        assert!(ring.get("a").is_some() && ring.get("c").is_none());
        let shown = format!("{ring:?}");
        assert!(
            shown.contains("\"a\"") && shown.contains("\"b\""),
            "{shown}"
        );
    }
}
