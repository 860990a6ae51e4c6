//! Keyed fingerprints: how the audit log remembers a number without keeping it.
//!
//! A fingerprint is HMAC-SHA256 under a secret key, not a plain hash: the number space is only
//! 10¹¹, so a plain SHA-256 of a number is reversed by brute force in minutes. Even keyed, the
//! fingerprint stands in for the number and is therefore itself 個人番号 (番号法 §2-8): it
//! never appears in `Debug` output, and the key is as sensitive as the database.
//!
//! The key lives in a file of hex digits. With none configured, the service creates one (mode
//! 0600) on first start, so that `serve` works with no setup.

use std::{fmt, fs, io, path::Path};

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::{
    audit::{
        AuditError, Fingerprint,
        keyfile::{KeyFile, io_config, write_private},
    },
    domain::number::IndividualNumber,
};

/// Bytes of a freshly created secret: the HMAC-SHA256 block-size rule of thumb.
const NEW_SECRET_BYTES: usize = 32;
/// The shortest secret accepted from a file: anything shorter is too weak a key for HMAC-SHA256
/// (or a truncated file).
const MIN_SECRET_BYTES: usize = 32;

/// The secret behind fingerprints, and the id stored beside every MAC it makes.
#[derive(Clone)]
pub struct FingerprintKey {
    /// Stored with every fingerprint, so keys can be rotated and old rows still be matched.
    pub id: String,
    /// The HMAC key. Never printed.
    secret: Vec<u8>,
}

impl fmt::Debug for FingerprintKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FingerprintKey")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl FingerprintKey {
    /// A key with its id derived from the secret (`k-` and 8 hex digits of its SHA-256), so
    /// that the same secret always gets the same id without anyone choosing one.
    pub fn from_secret(secret: Vec<u8>) -> Self {
        let id = derived_id(&secret);
        FingerprintKey { id, secret }
    }

    /// The id [`from_secret`](Self::from_secret) gives this secret, whatever id it has now.
    pub fn derived_id(&self) -> String {
        derived_id(&self.secret)
    }

    /// The same key under a configured id (for deployments that name their keys).
    pub fn with_id(self, id: impl Into<String>) -> Self {
        FingerprintKey {
            id: id.into(),
            ..self
        }
    }

    /// The fingerprint of arbitrary bytes (the request content, for idempotency).
    pub fn fingerprint(&self, data: &[u8]) -> Fingerprint {
        let mut mac = self.mac();
        mac.update(data);
        Fingerprint {
            key_id: self.id.clone(),
            mac_hex: hex::encode(mac.finalize().into_bytes()),
        }
    }

    /// The fingerprint of an individual number: the HMAC of its 12 ASCII digits.
    ///
    /// Kept here so that the one place digits are exposed for fingerprinting is easy to find,
    /// and every caller fingerprints the same canonical form.
    pub fn fingerprint_number(&self, number: &IndividualNumber) -> Fingerprint {
        self.fingerprint(&number.expose_digits())
    }

    /// A key for another purpose, derived from the same secret: the HMAC-SHA256 of a NUL byte
    /// followed by `label`. Every replica with this secret derives the same key, and so does
    /// every restart. No fingerprint input starts with NUL (12 digits, or a protobuf encoding,
    /// whose first tag is never 0), so a derived key is never a fingerprint the log stores.
    pub fn derive(&self, label: &str) -> [u8; 32] {
        let mut mac = self.mac();
        mac.update(&[0]);
        mac.update(label.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// What the audit store records beside a key's id to recognise its secret: the first 16
    /// bytes of [`derive`](Self::derive) under a label of its own, in hex. It tells two secrets
    /// apart (a key file swapped under a configured id) without revealing anything that could
    /// test a number: it is a MAC of a constant, and no fingerprint input starts with NUL.
    pub fn check(&self) -> String {
        hex::encode(&self.derive(Self::CHECK_LABEL)[..16])
    }

    /// The label of [`check`](Self::check).
    const CHECK_LABEL: &'static str = "verify-identity/fingerprint-key-check/v1";

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length; the error case cannot happen.
        Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes keys of any length")
    }

    /// Reads the hex secret at `path`; `None` when there is no such file.
    pub fn load_existing(path: &Path) -> Result<Option<Self>, AuditError> {
        match Self::load(path) {
            Ok(key) => Ok(Some(key)),
            Err(LoadError::Missing) => Ok(None),
            Err(LoadError::Other(e)) => Err(e),
        }
    }

    /// Reads the hex secret at `path`, or creates one if the file does not exist.
    ///
    /// Returns whether it was created, so the service can say so (the operator must back the
    /// file up with the database: without it, stored fingerprints cannot be matched again).
    ///
    /// Creation is atomic and never clobbers: the secret is written and synced to a private
    /// temporary file, then hard-linked into place, which fails if another process got there
    /// first — in which case its key is read instead. The rejected alternative, `create_new`
    /// on the final path, lets a second process read the file while it is still empty.
    pub fn load_or_create(path: &Path) -> Result<(Self, bool), AuditError> {
        match Self::load(path) {
            Ok(key) => return Ok((key, false)),
            Err(LoadError::Missing) => {}
            Err(LoadError::Other(e)) => return Err(e),
        }
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        // Owner only, whatever the umask: the key is as sensitive as the database.
        std::os::unix::fs::DirBuilderExt::mode(fs::DirBuilder::new().recursive(true), 0o700)
            .create(dir)
            .map_err(|e| io_config("cannot create the key directory", &e))?;

        let mut secret = vec![0u8; NEW_SECRET_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        let temp = dir.join(format!(
            ".fingerprint-key-{}.tmp",
            uuid::Uuid::now_v7().simple()
        ));
        let written = write_private(&temp, format!("{}\n", hex::encode(&secret)).as_bytes());
        let linked = written.and_then(|()| fs::hard_link(&temp, path));
        let _ = fs::remove_file(&temp);
        match linked {
            Ok(()) => {
                // Make the new directory entry durable too.
                if let Ok(d) = fs::File::open(dir) {
                    let _ = d.sync_all();
                }
                Ok((Self::from_secret(secret), true))
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => match Self::load(path) {
                Ok(key) => Ok((key, false)),
                Err(LoadError::Missing) => Err(AuditError::Config(
                    "the key file vanished while being created".into(),
                )),
                Err(LoadError::Other(e)) => Err(e),
            },
            Err(e) => Err(io_config("cannot create the key file", &e)),
        }
    }

    /// Reads the key, refusing a file that someone else could have planted or read: whoever
    /// can write the key can test candidate numbers against every fingerprint in the log.
    /// The checks are [`KeyFile::read`]'s: no symbolic link, a regular file of the service's
    /// user, no group or other permission bits.
    fn load(path: &Path) -> Result<Self, LoadError> {
        let refuse = |why: String| LoadError::Other(AuditError::Config(why));
        let key_file = KeyFile {
            name: "the fingerprint key file",
            setting: "hmac_key_file",
        };
        let text = match key_file.read(path) {
            Ok(Some(text)) => text,
            Ok(None) => return Err(LoadError::Missing),
            Err(e) => return Err(LoadError::Other(e)),
        };
        // The errors never quote the file: its content is the secret.
        let secret = hex::decode(text.trim())
            .map_err(|_| refuse("the key file is not hex digits".into()))?;
        if secret.len() < MIN_SECRET_BYTES {
            return Err(refuse(format!(
                "the key file holds {} bytes; at least {MIN_SECRET_BYTES} random bytes are \
                 needed (e.g. `head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n'`)",
                secret.len()
            )));
        }
        if secret.iter().all(|&b| b == secret[0]) {
            return Err(refuse(
                "the key file holds one byte repeated, not a random key; generate a new one".into(),
            ));
        }
        Ok(Self::from_secret(secret))
    }
}

/// `k-` and the first 8 hex digits of the secret's SHA-256.
fn derived_id(secret: &[u8]) -> String {
    format!("k-{}", &hex::encode(Sha256::digest(secret))[..8])
}

/// Why a key could not be loaded: absent (then create one) or anything else (then stop).
enum LoadError {
    Missing,
    Other(AuditError),
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    struct TempDir(std::path::PathBuf);

    impl TempDir {
        fn new() -> Self {
            let dir = std::env::temp_dir().join(format!(
                "verify-identity-key-{}",
                uuid::Uuid::now_v7().simple()
            ));
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn a_missing_key_file_is_created_private_and_then_read_back_unchanged() {
        let dir = TempDir::new();
        let path = dir.0.join("nested/fingerprint.key");
        let (created, was_created) = FingerprintKey::load_or_create(&path).unwrap();
        assert!(was_created);
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let (loaded, was_created) = FingerprintKey::load_or_create(&path).unwrap();
        assert!(!was_created);
        assert_eq!(loaded.id, created.id);
        assert_eq!(loaded.fingerprint(b"x"), created.fingerprint(b"x"));
        assert!(created.id.starts_with("k-") && created.id.len() == 10);
        let leftovers = fs::read_dir(path.parent().unwrap()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }

    #[test]
    fn processes_racing_to_create_the_key_all_end_up_with_the_same_key() {
        let dir = TempDir::new();
        let path = dir.0.join("fingerprint.key");
        let keys: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| FingerprintKey::load_or_create(&path).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(keys.iter().filter(|(_, created)| *created).count(), 1);
        let first = keys[0].0.fingerprint(b"x");
        assert!(keys.iter().all(|(k, _)| k.fingerprint(b"x") == first));
    }

    #[test]
    fn a_key_file_that_is_not_hex_or_too_short_is_a_configuration_error() {
        let dir = TempDir::new();
        fs::create_dir_all(&dir.0).unwrap();
        let path = dir.0.join("bad.key");
        fs::write(&path, "not hex at all").unwrap();
        assert!(matches!(
            FingerprintKey::load_or_create(&path),
            Err(AuditError::Config(_))
        ));
        fs::write(&path, "00ff").unwrap();
        assert!(matches!(
            FingerprintKey::load_or_create(&path),
            Err(AuditError::Config(_))
        ));
    }

    /// Loading `content` written to a fresh file with `mode` must be refused, naming `why`.
    fn refused(content: &str, mode: u32, why: &str) {
        let dir = TempDir::new();
        fs::create_dir_all(&dir.0).unwrap();
        let path = dir.0.join("planted.key");
        fs::write(&path, content).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        match FingerprintKey::load_or_create(&path) {
            Err(AuditError::Config(message)) => assert!(message.contains(why), "{message}"),
            other => panic!("accepted: {:?}", other.map(|(k, _)| k.id)),
        }
    }

    const GOOD: &str = "8f14e45fceea167a5a36dedd4bea2543c9f0f895fb98ab9159f51fd0297e236d";

    #[test]
    fn a_group_or_world_readable_key_is_refused() {
        refused(GOOD, 0o644, "chmod 600");
        refused(GOOD, 0o640, "chmod 600");
        refused(GOOD, 0o602, "chmod 600");
    }

    #[test]
    fn a_short_or_repeated_byte_key_is_refused() {
        refused("00112233445566778899aabbccddeeff", 0o600, "at least 32");
        refused(&"00".repeat(32), 0o600, "one byte repeated");
        refused(&"ab".repeat(40), 0o600, "one byte repeated");
    }

    #[test]
    fn a_key_file_reached_through_a_symbolic_link_is_refused() {
        let dir = TempDir::new();
        fs::create_dir_all(&dir.0).unwrap();
        let real = dir.0.join("real.key");
        fs::write(&real, GOOD).unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.0.join("link.key");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        match FingerprintKey::load_or_create(&link) {
            Err(AuditError::Config(message)) => assert!(message.contains("symbolic link")),
            other => panic!("accepted: {:?}", other.map(|(k, _)| k.id)),
        }
        assert!(FingerprintKey::load_or_create(&real).is_ok());
    }

    #[test]
    fn a_directory_or_another_users_file_is_refused() {
        let dir = TempDir::new();
        fs::create_dir_all(dir.0.join("a-directory.key")).unwrap();
        match FingerprintKey::load_or_create(&dir.0.join("a-directory.key")) {
            Err(AuditError::Config(message)) => assert!(message.contains("not a regular file")),
            other => panic!("accepted: {:?}", other.map(|(k, _)| k.id)),
        }
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            let path = dir.0.join("nobody.key");
            fs::write(&path, GOOD).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
            std::os::unix::fs::chown(&path, Some(65534), None).unwrap();
            match FingerprintKey::load_or_create(&path) {
                Err(AuditError::Config(message)) => assert!(message.contains("chown")),
                other => panic!("accepted: {:?}", other.map(|(k, _)| k.id)),
            }
        }
    }

    #[test]
    fn fingerprints_are_hmac_sha256_and_depend_on_the_key() {
        // RFC 4231 test case 2.
        let key = FingerprintKey::from_secret(b"Jefe".to_vec());
        let fp = key.fingerprint(b"what do ya want for nothing?");
        assert_eq!(
            fp.mac_hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let other = FingerprintKey::from_secret(b"another key".to_vec());
        assert_ne!(
            other.fingerprint(b"what do ya want for nothing?").mac_hex,
            fp.mac_hex
        );
        assert_eq!(
            key.clone().with_id("prod-2025").fingerprint(b"a").key_id,
            "prod-2025"
        );
    }

    #[test]
    fn a_number_fingerprint_is_the_mac_of_its_digits_and_debug_shows_no_secret() {
        let key = FingerprintKey::from_secret(vec![7; 32]);
        let number = IndividualNumber::parse("123456789018").unwrap();
        assert_eq!(
            key.fingerprint_number(&number),
            key.fingerprint(b"123456789018")
        );
        let shown = format!("{key:?} {:?}", key.fingerprint_number(&number));
        assert!(!shown.contains("0707"));
        assert!(!shown.contains(&key.fingerprint_number(&number).mac_hex));
    }
}
