//! ListHolds page tokens: the cursor where the next page starts, sealed so that a token says
//! nothing about the database and is good only for the insurer it was given to.
//!
//! A token is `hex(version ‖ nonce ‖ ChaCha20-Poly1305(cursor))` with the insurer number as
//! associated data: a token replayed by another insurer, edited, truncated, or in the old
//! `holds-after:<row id>` form fails to open. The cursor is an opaque byte string to this
//! module, so what a listing puts in it (a row id today, sort keys later) can change without
//! touching the sealing.
//!
//! The key is derived from the fingerprint secret ([`PageTokens::LABEL`]): the same on every
//! replica and after a restart, so a token keeps working when the next page is served by
//! another process. A random key per process was rejected for exactly that; a signed but
//! readable cursor was rejected because the row id it showed is the global position of an
//! event, which tells an insurer how busy the others are.

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

use crate::domain::ids::InsurerNumber;

/// The first byte of every token; a new layout gets a new one.
const VERSION: u8 = 1;
/// Bytes of the authentication tag.
const TAG_LEN: usize = 16;
/// The longest token accepted, in characters: far above any cursor a listing writes, and small
/// enough that a caller cannot make the service decode a large value.
pub const MAX_TOKEN_CHARS: usize = 512;

/// Why a token was refused. Deliberately one answer for every cause: which check failed
/// would tell a prober what to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("is not a page token ListHolds gave this insurer")]
pub struct InvalidToken;

/// Seals and opens page tokens under one key.
pub struct PageTokens {
    key: LessSafeKey,
    random: SystemRandom,
}

impl PageTokens {
    /// The label the token key is derived under from the fingerprint secret.
    pub const LABEL: &'static str = "verify-identity/list-holds-page-token/v1";

    /// Tokens under a 32-byte key.
    pub fn new(key: [u8; 32]) -> Self {
        let key = UnboundKey::new(&CHACHA20_POLY1305, &key).expect("a 32-byte key");
        PageTokens {
            key: LessSafeKey::new(key),
            random: SystemRandom::new(),
        }
    }

    /// A token for `cursor`, good only for `insurer`.
    pub fn seal(&self, insurer: &InsurerNumber, cursor: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        self.random
            .fill(&mut nonce)
            .expect("the operating system's random source");
        let mut sealed = cursor.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                aad(insurer),
                &mut sealed,
            )
            .expect("a cursor far below the AEAD's limit");
        let mut token = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        token.push(VERSION);
        token.extend_from_slice(&nonce);
        token.extend_from_slice(&sealed);
        hex::encode(token)
    }

    /// The cursor of `token`, if this service sealed it for `insurer` and nobody changed it.
    pub fn open(&self, insurer: &InsurerNumber, token: &str) -> Result<Vec<u8>, InvalidToken> {
        if token.len() > MAX_TOKEN_CHARS {
            return Err(InvalidToken);
        }
        let bytes = hex::decode(token).map_err(|_| InvalidToken)?;
        let (&version, rest) = bytes.split_first().ok_or(InvalidToken)?;
        if version != VERSION || rest.len() < NONCE_LEN + TAG_LEN {
            return Err(InvalidToken);
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| InvalidToken)?;
        let mut sealed = sealed.to_vec();
        let cursor = self
            .key
            .open_in_place(nonce, aad(insurer), &mut sealed)
            .map_err(|_| InvalidToken)?;
        Ok(cursor.to_vec())
    }
}

/// What binds a token to its insurer (and to this use of the key).
fn aad(insurer: &InsurerNumber) -> Aad<Vec<u8>> {
    let mut aad = b"list-holds:".to_vec();
    aad.extend_from_slice(insurer.as_str().as_bytes());
    Aad::from(aad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insurer(s: &str) -> InsurerNumber {
        InsurerNumber::parse(s).unwrap()
    }

    #[test]
    fn a_token_opens_to_its_cursor_for_its_insurer_and_shows_nothing_of_it() {
        let tokens = PageTokens::new([7; 32]);
        let token = tokens.seal(&insurer("32130011"), b"cursor-2");
        assert_eq!(
            tokens.open(&insurer("32130011"), &token).unwrap(),
            b"cursor-2"
        );
        assert!(!token.contains(&hex::encode(b"cursor-2")));
        assert_ne!(token, tokens.seal(&insurer("32130011"), b"cursor-2"));
        // Another process with the same key opens it too.
        let replica = PageTokens::new([7; 32]);
        assert!(replica.open(&insurer("32130011"), &token).is_ok());
    }

    #[test]
    fn another_insurers_edited_old_or_foreign_tokens_do_not_open() {
        let tokens = PageTokens::new([7; 32]);
        let token = tokens.seal(&insurer("32130011"), b"cursor-2");
        assert_eq!(tokens.open(&insurer("06139999"), &token), Err(InvalidToken));
        let mut edited = hex::decode(&token).unwrap();
        let last = edited.len() - 1;
        edited[last] ^= 1;
        let edited = hex::encode(edited);
        let old = hex::encode("holds-after:2");
        let other_key = PageTokens::new([8; 32]).seal(&insurer("32130011"), b"cursor-2");
        let long = "0".repeat(MAX_TOKEN_CHARS + 2);
        for bad in [
            edited.as_str(),
            &old,
            &other_key,
            &token[..token.len() - 2],
            "not-hex",
            "",
            &long,
        ] {
            assert_eq!(
                tokens.open(&insurer("32130011"), bad),
                Err(InvalidToken),
                "{bad}"
            );
        }
    }
}
