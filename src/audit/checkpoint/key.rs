//! The checkpoint key pair: an Ed25519 signing key the service (or whoever takes checkpoints)
//! holds, and its public key, which auditors hold.
//!
//! Both files are one line of text with the kind of key spelled out, so that the two cannot be
//! mistaken for each other (or for the fingerprint secret, which is bare hex):
//!
//! ```text
//! ed25519-secret 9f…64 hex digits…
//! ed25519-public 3b…64 hex digits…
//! ```
//!
//! The secret key file gets the fingerprint key file's checks ([`KeyFile`]): whoever can
//! read it can sign checkpoints of a log cut short, and whoever can write it can make the
//! service sign with a key of their choosing.

use std::{fmt, io, path::Path};

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::audit::{
    AuditError,
    keyfile::{KeyFile, io_config, write_private},
};

/// What a secret key file starts with.
const SECRET_TAG: &str = "ed25519-secret";
/// What a public key file starts with.
const PUBLIC_TAG: &str = "ed25519-public";

/// The key checkpoints are signed with. Never printed; wiped when dropped.
#[derive(Clone)]
pub struct CheckpointKey {
    /// The Ed25519 key.
    key: SigningKey,
}

impl fmt::Debug for CheckpointKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckpointKey")
            .field("id", &self.public_key().id())
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl CheckpointKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Self {
        let mut seed = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut seed);
        Self::from_seed(seed)
    }

    /// The key with this 32-byte secret.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        CheckpointKey {
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// The public key that checks this key's signatures.
    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            key: self.key.verifying_key(),
        }
    }

    /// The Ed25519 signature of `message`.
    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }

    /// Reads the secret key at `path`, refusing a file that someone else could have planted
    /// or read (see [`KeyFile::read`]), a public key file, and anything that is not a key.
    /// `setting` names the flag or setting that gave the path, for the messages.
    pub fn load(path: &Path, setting: &str) -> Result<Self, AuditError> {
        let key_file = KeyFile {
            name: "the checkpoint signing key file",
            setting,
        };
        let Some(text) = key_file.read(path)? else {
            return Err(AuditError::Config(format!(
                "there is no checkpoint signing key at {}; create one with \
                 `verify-identity audit checkpoint-key --out {}`",
                path.display(),
                path.display()
            )));
        };
        if tagged(&text, PUBLIC_TAG).is_some() {
            return Err(AuditError::Config(
                "the checkpoint signing key file holds a public key; give the secret key \
                 (the file `audit checkpoint-key --out` wrote)"
                    .into(),
            ));
        }
        // The errors never quote the file: its content is the secret.
        let seed = tagged(&text, SECRET_TAG).ok_or_else(|| {
            AuditError::Config(format!(
                "the checkpoint signing key file is not `{SECRET_TAG}` and 64 hex digits"
            ))
        })?;
        if seed.iter().all(|&b| b == seed[0]) {
            return Err(AuditError::Config(
                "the checkpoint signing key holds one byte repeated, not a random key; \
                 create a new one with `verify-identity audit checkpoint-key`"
                    .into(),
            ));
        }
        Ok(Self::from_seed(seed))
    }

    /// Creates a new key at `secret_path` (mode 0600 from its creation; an existing file is
    /// never replaced) and its public key at `public_path` (mode 0644: it is meant to be
    /// handed out). The secret is written before the public key, so a failure never leaves a
    /// public key whose secret is lost.
    pub fn create(secret_path: &Path, public_path: &Path) -> Result<Self, AuditError> {
        let key = Self::generate();
        let secret = format!("{SECRET_TAG} {}\n", hex::encode(key.key.to_bytes()));
        write_private(secret_path, secret.as_bytes()).map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => AuditError::Config(format!(
                "{} exists already; a signing key is never overwritten (move it away first, \
                 and keep its public key for the checkpoints it signed)",
                secret_path.display()
            )),
            _ => io_config("cannot create the checkpoint signing key file", &e),
        })?;
        write_public(public_path, key.public_key().to_text().as_bytes())
            .map_err(|e| io_config("cannot create the checkpoint public key file", &e))?;
        Ok(key)
    }
}

/// The key that checks checkpoint signatures. Public: safe to print and hand out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// The Ed25519 public key.
    key: VerifyingKey,
}

impl PublicKey {
    /// A short name for the key: `ck-` and the first 16 hex digits of the SHA-256 of its 32
    /// bytes. Recorded in every checkpoint it signs.
    pub fn id(&self) -> String {
        let digest = Sha256::digest(self.key.as_bytes());
        format!("ck-{}", &hex::encode(digest)[..16])
    }

    /// The public key file's content: `ed25519-public`, a space, 64 hex digits, a newline.
    pub fn to_text(&self) -> String {
        format!("{PUBLIC_TAG} {}\n", hex::encode(self.key.as_bytes()))
    }

    /// Reads a public key file. A secret key file is refused: an auditor should never have
    /// been given it.
    pub fn load(path: &Path) -> Result<Self, AuditError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| io_config("cannot read the checkpoint public key file", &e))?;
        if tagged(&text, SECRET_TAG).is_some() {
            return Err(AuditError::Config(
                "the checkpoint public key file holds the SECRET signing key: give the .pub \
                 file instead, and treat this key as exposed"
                    .into(),
            ));
        }
        Self::parse(&text)
    }

    /// The key in a public key file's content.
    pub fn parse(text: &str) -> Result<Self, AuditError> {
        let bytes = tagged(text, PUBLIC_TAG).ok_or_else(|| {
            AuditError::Config(format!(
                "the checkpoint public key file is not `{PUBLIC_TAG}` and 64 hex digits"
            ))
        })?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| {
            AuditError::Config("the checkpoint public key is not a valid Ed25519 key".into())
        })?;
        Ok(PublicKey { key })
    }

    /// Whether `signature` is this key's signature of `message` (strict: no malleable or
    /// weak-key signatures).
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        let signature = ed25519_dalek::Signature::from_bytes(signature);
        self.key.verify_strict(message, &signature).is_ok()
    }
}

/// The 32 bytes after `tag` and one space in a one-line key file.
fn tagged(text: &str, tag: &str) -> Option<[u8; 32]> {
    let hex_digits = text.trim().strip_prefix(tag)?.strip_prefix(' ')?;
    <[u8; 32]>::try_from(hex::decode(hex_digits).ok()?).ok()
}

/// Creates `path` (which must not exist) readable by all, writes `bytes` and syncs them.
fn write_public(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn scratch() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "verify-identity-ckey-{}",
            uuid::Uuid::now_v7().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_created_key_pair_is_private_and_public_and_loads_back() {
        let dir = scratch();
        let (secret, public) = (dir.join("ck.key"), dir.join("ck.key.pub"));
        let key = CheckpointKey::create(&secret, &public).unwrap();
        assert_eq!((mode(&secret), mode(&public)), (0o600, 0o644));
        let loaded = CheckpointKey::load(&secret, "--key").unwrap();
        assert_eq!(loaded.public_key(), key.public_key());
        assert_eq!(PublicKey::load(&public).unwrap(), key.public_key());
        let again = CheckpointKey::create(&secret, &dir.join("other.pub"));
        assert!(matches!(again, Err(AuditError::Config(m)) if m.contains("never overwritten")));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_secret_and_public_files_cannot_be_swapped() {
        let dir = scratch();
        let (secret, public) = (dir.join("ck.key"), dir.join("ck.key.pub"));
        CheckpointKey::create(&secret, &public).unwrap();
        std::fs::set_permissions(&public, std::fs::Permissions::from_mode(0o600)).unwrap();
        let e = CheckpointKey::load(&public, "--key")
            .unwrap_err()
            .to_string();
        assert!(e.contains("holds a public key"), "{e}");
        let e = PublicKey::load(&secret).unwrap_err().to_string();
        assert!(e.contains("SECRET"), "{e}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_readable_linked_or_repeated_byte_signing_key_is_refused() {
        let dir = scratch();
        let path = dir.join("ck.key");
        CheckpointKey::create(&path, &dir.join("ck.key.pub")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let e = CheckpointKey::load(&path, "--key").unwrap_err().to_string();
        assert!(e.contains("chmod 600"), "{e}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.join("link.key");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let e = CheckpointKey::load(&link, "checkpoint_key_file").unwrap_err();
        assert!(
            e.to_string()
                .contains("set checkpoint_key_file to the file itself")
        );
        let weak = dir.join("weak.key");
        write_private(
            &weak,
            format!("{SECRET_TAG} {}\n", "00".repeat(32)).as_bytes(),
        )
        .unwrap();
        let e = CheckpointKey::load(&weak, "--key").unwrap_err().to_string();
        assert!(e.contains("one byte repeated"), "{e}");
        let e = CheckpointKey::load(&dir.join("absent.key"), "--key").unwrap_err();
        assert!(e.to_string().contains("audit checkpoint-key --out"), "{e}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn debug_shows_the_key_id_but_not_the_secret() {
        let key = CheckpointKey::from_seed([0x5a; 32]);
        let shown = format!("{key:?}");
        assert!(shown.contains(&key.public_key().id()), "{shown}");
        assert!(!shown.contains("5a5a"), "{shown}");
    }
}
