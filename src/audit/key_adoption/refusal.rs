//! Why a process may not write with the keys it was given, in words that say which key ids the
//! store holds, which file was looked at, and what to pass instead.

use std::{
    fmt,
    path::{Path, PathBuf},
    time::SystemTime,
};

use super::{DEFAULT_KEY_FILE_NAME, Recorded};
use crate::audit::{AuditError, FingerprintKey};

/// Why the fingerprint keys were refused. Nothing is started after any of these.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// PostgreSQL and no key file given.
    #[error(
        "a PostgreSQL audit store needs its fingerprint key file given explicitly: \
         --hmac-key-file FILE (hmac_key_file in the settings file, or \
         VERIFY_IDENTITY_HMAC_KEY_FILE). Every replica and every `bulk --database` run must use \
         the same key, so there is no default location; on the first start against an empty \
         store the file is created there (mode 0600).{}",
        Hint(earlier_default.as_ref())
    )]
    PostgresNeedsKeyFile {
        /// `var/audit-hmac.key` under the working directory, if there is one.
        earlier_default: Option<EarlierDefault>,
    },
    /// No key file, and the store holds fingerprints: creating a key would lose them.
    #[error(
        "no fingerprint key at {}, but the audit store holds fingerprints under {}. Without \
         that key a number registered earlier is not recognised and could be registered again \
         for someone else, so nothing is started. Give the key file that made them with \
         --hmac-key-file FILE (hmac_key_file in the settings file){}. If it is lost, this \
         store's fingerprints can never be matched again: keep the store for the audit and \
         start a new one.",
        shown(file),
        Ids(recorded),
        Found(earlier_default.as_ref(), recorded, file)
    )]
    KeyFileMissing {
        /// Where the current key was looked for.
        file: PathBuf,
        /// What the store holds fingerprints under.
        recorded: Vec<Recorded>,
        /// `var/audit-hmac.key` under the working directory, if there is one.
        earlier_default: Option<EarlierDefault>,
    },
    /// The store holds fingerprints under keys the ring does not have.
    #[error(
        "the audit store holds fingerprints under {}, which the keys given do not include \
         ({given}).{} Without it a number registered under it is not recognised and could be \
         registered again for someone else, so nothing is started. Give its key file: as \
         --hmac-key-file if it is still the current key, or as --hmac-previous-key-file \
         (hmac_previous_key_files in the settings file) beside a new --hmac-key-file to rotate \
         to a new key.",
        Ids(missing),
        Swapped(missing, given)
    )]
    UnknownKeys {
        /// The keys the ring lacks.
        missing: Vec<Recorded>,
        /// The keys that were given.
        given: Given,
    },
    /// The current key is one the store has already replaced.
    #[error(
        "the key in {} ({current_id}) was replaced in this audit store by {}: give {}'s key \
         file as --hmac-key-file and {} as --hmac-previous-key-file. A replaced key never \
         becomes current again (replicas must all fingerprint new numbers under one key).",
        shown(file),
        Ids(std::slice::from_ref(newest)),
        newest.key_id,
        shown(file)
    )]
    CurrentKeyRetired {
        /// The id of the key given as current.
        current_id: String,
        /// The store's current key.
        newest: Recorded,
        /// The current key's file.
        file: PathBuf,
    },
    /// `--hmac-key-id` names a key the store knows under another id.
    #[error(
        "--hmac-key-id {configured}: this audit store knows the key in {} as {recorded}; omit \
         --hmac-key-id (the store's id is used) or set it to {recorded}",
        shown(file)
    )]
    IdConflict {
        /// The id configured.
        configured: String,
        /// The id the store knows the key by.
        recorded: String,
        /// The current key's file.
        file: PathBuf,
    },
    /// `--hmac-key-id` names another key of the store.
    #[error(
        "--hmac-key-id {id} already names another key in this audit store, not the one in {}; \
         choose another id, or omit it (an id is then derived from the key)",
        shown(file)
    )]
    IdTaken {
        /// The id configured.
        id: String,
        /// The current key's file.
        file: PathBuf,
    },
    /// A previous key file does not exist.
    #[error(
        "no fingerprint key at {} (--hmac-previous-key-file): a previous key must be the file \
         of a key that was replaced",
        shown(file)
    )]
    PreviousKeyMissing {
        /// The file given.
        file: PathBuf,
    },
    /// A key file cannot be used.
    #[error("fingerprint key file {}: {why}", shown(file))]
    File {
        /// The file.
        file: PathBuf,
        /// Why (not a `source`: the message already says it, once).
        why: AuditError,
    },
    /// The store could not be read or written.
    #[error(transparent)]
    Audit(#[from] AuditError),
}

/// The keys given to a process: the current one first. Ids and files only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Given(Vec<(String, PathBuf)>);

impl fmt::Display for Given {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (id, file)) in self.0.iter().enumerate() {
            match i {
                0 => write!(f, "current key {id} from {}", shown(file))?,
                1 => write!(f, "; previous keys {id} from {}", shown(file))?,
                _ => write!(f, ", {id} from {}", shown(file))?,
            }
        }
        Ok(())
    }
}

/// The keys given: the current one (as `current_id`) from `file`, and `previous`.
pub(super) fn given(
    current_id: &str,
    file: &Path,
    previous: &[(FingerprintKey, PathBuf)],
) -> Given {
    Given(
        std::iter::once((current_id.to_owned(), file.to_path_buf()))
            .chain(previous.iter().map(|(k, f)| (k.id.clone(), f.clone())))
            .collect(),
    )
}

/// The key file of earlier releases' default, `var/audit-hmac.key` under the working directory,
/// when it exists: a store set up then may have been started from there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarlierDefault {
    /// Its absolute path.
    pub path: PathBuf,
    /// Its key's id and check, when it is a usable key.
    pub key: Option<(String, String)>,
}

/// [`EarlierDefault`] of the working directory, if the file is there.
pub(super) fn earlier_default_here() -> Option<EarlierDefault> {
    let path = std::path::absolute(Path::new("var").join(DEFAULT_KEY_FILE_NAME)).ok()?;
    if !path.exists() {
        return None;
    }
    let key = FingerprintKey::load_existing(&path)
        .ok()
        .flatten()
        .map(|k| (k.id.clone(), k.check()));
    Some(EarlierDefault { path, key })
}

/// A path as messages show it: absolute, so that it says where it is whatever the directory
/// the reader is in.
fn shown(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

/// "key k-1a2b3c4d (adopted 2026-11-20)", "keys a, b".
struct Ids<'a>(&'a [Recorded]);

impl fmt::Display for Ids<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.len() == 1 { "key " } else { "keys " })?;
        for (i, r) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(&r.key_id)?;
            if let Some(day) = r.adopted_at.and_then(day) {
                write!(f, " (adopted {day})")?;
            }
        }
        Ok(())
    }
}

/// The UTC day of `t`.
fn day(t: SystemTime) -> Option<String> {
    let t = jiff::Timestamp::try_from(t).ok()?;
    Some(t.strftime("%Y-%m-%d").to_string())
}

/// The hint about the earlier default location, for a start with no key file given.
struct Hint<'a>(Option<&'a EarlierDefault>);

impl fmt::Display for Hint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(d) => write!(
                f,
                " {} exists (the default of earlier releases, under the working directory): if \
                 it is this store's key, pass --hmac-key-file {}",
                d.path.display(),
                d.path.display()
            ),
            None => Ok(()),
        }
    }
}

/// The earlier default's key, when it is the key the store needs (or at least exists).
struct Found<'a>(Option<&'a EarlierDefault>, &'a [Recorded], &'a Path);

impl fmt::Display for Found<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Found(Some(d), recorded, file) = *self else {
            return Ok(());
        };
        if std::path::absolute(file).ok().as_deref() == Some(d.path.as_path()) {
            return Ok(());
        }
        let needed = d.key.as_ref().and_then(|(id, check)| {
            recorded
                .iter()
                .find(|r| match &r.key_check {
                    Some(c) => c == check,
                    None => &r.key_id == id,
                })
                .map(|r| &r.key_id)
        });
        match needed {
            Some(id) => write!(
                f,
                ": {} (the default of earlier releases, under the working directory) holds key \
                 {id}, so pass --hmac-key-file {}",
                d.path.display(),
                d.path.display()
            ),
            None => write!(
                f,
                "; {} (the default of earlier releases, under the working directory) exists but \
                 is not a key this store holds fingerprints under",
                d.path.display()
            ),
        }
    }
}

/// Keys whose id the ring has, but under another secret: a key file replaced.
struct Swapped<'a>(&'a [Recorded], &'a Given);

impl fmt::Display for Swapped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in self.0 {
            if let Some((_, file)) = (self.1).0.iter().find(|(id, _)| *id == r.key_id) {
                write!(
                    f,
                    " The file {} gives id {} to another secret than the one this store \
                     recorded under it: the key file was replaced or the id configured for \
                     another key.",
                    shown(file),
                    r.key_id
                )?;
            }
        }
        Ok(())
    }
}
