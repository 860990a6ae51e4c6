//! Which fingerprint keys a process may write with, decided against the audit store at start.
//!
//! A fingerprint matches only under the key that made it. A process that writes with a key the
//! store has not seen finds none of the numbers registered before, and registers them again
//! for whoever asks: one number, two people. So every process that writes (`serve`, each
//! replica, `bulk --database`) opens its keys through [`open`], which
//!
//! - reads which keys the store holds fingerprints under (the `fingerprint_keys` table, a few
//!   rows whatever the size of the log; on the first start after the table was added, the key
//!   ids of every stored event, read once);
//! - refuses to start unless the given keys include every one of them, recognised by secret
//!   (`FingerprintKey::check`), not just by id, and unless the current key is the store's
//!   newest: replicas then all fingerprint new numbers under one key, and the database's
//!   unique constraints keep working between them;
//! - creates a key file only for a store with no fingerprints at all;
//! - records (adopts) a key the store did not know yet: the first key of a store, or the new
//!   key of a rotation, whose previous keys must all be given.
//!
//! Where the current key is by default ([`key_file`]): beside a SQLite database, in its
//! directory; never for PostgreSQL, whose replicas must be given one key file explicitly.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    str::FromStr,
    time::SystemTime,
};

use crate::audit::{
    AuditBackend, AuditError, FingerprintKey, KeyRing,
    store::adopted_keys::{AdoptedKey, Adoption, KeyToAdopt},
};

mod refusal;

pub use refusal::KeyError;

/// The name of the key file beside a SQLite database. It is the name of the earlier default
/// (`var/audit-hmac.key` beside `var/audit.sqlite`), so stores set up with the earlier defaults
/// find their key wherever they are started from.
pub const DEFAULT_KEY_FILE_NAME: &str = "audit-hmac.key";

/// Events read per page on the one-time scan for key ids.
const SCAN_PAGE: i64 = 10_000;
/// Adoptions attempted before giving up when other processes keep adopting keys meanwhile.
const ADOPTION_ATTEMPTS: usize = 5;

/// Where a process's fingerprint keys are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeySettings {
    /// The current key's file; by default beside a SQLite database ([`key_file`]).
    pub file: Option<PathBuf>,
    /// The id to adopt the current key under when the store does not know it yet; derived
    /// from the key when omitted. A key the store knows keeps the id it was adopted under.
    pub id: Option<String>,
    /// The files of the keys the current one replaced (their ids come from the store).
    pub previous_files: Vec<PathBuf>,
}

/// The keys a process writes with, once the store has agreed to them.
#[derive(Debug)]
pub struct OpenedKeys {
    /// The current key and the previous ones, under the store's ids.
    pub ring: KeyRing,
    /// The current key's file.
    pub file: PathBuf,
    /// Whether that file was created now (the store held no fingerprints).
    pub created: bool,
    /// The ids adopted now: a store's first key, or the new key of a rotation.
    pub adopted: Vec<String>,
}

/// The current key's file: `configured`, or `audit-hmac.key` in the directory of a SQLite
/// database, as SQLite will open it (so `sqlite:var/audit.sqlite` gives `var/audit-hmac.key`).
///
/// The key follows the database, not the working directory: the same database started from
/// anywhere finds the same key. PostgreSQL has no default: its replicas run on other machines
/// than the database, and each must be given the same key file.
pub fn key_file(database_url: &str, configured: Option<&Path>) -> Result<PathBuf, KeyError> {
    if let Some(file) = configured {
        return Ok(file.to_path_buf());
    }
    if database_url.starts_with("sqlite:") {
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(database_url)
            .map_err(|_| AuditError::Config("the SQLite URL cannot be parsed".into()))?;
        let dir = match options.get_filename().parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        return Ok(dir.join(DEFAULT_KEY_FILE_NAME));
    }
    Err(KeyError::PostgresNeedsKeyFile {
        earlier_default: refusal::earlier_default_here(),
    })
}

/// Loads the keys of `settings`, the current one from `file` (what [`key_file`] says for the
/// store's URL), and has `store` agree to them, adopting a new one where that is safe; refuses
/// (naming key ids, files and the fix) where it is not.
pub async fn open(
    store: &dyn AuditBackend,
    file: &Path,
    settings: &KeySettings,
) -> Result<OpenedKeys, KeyError> {
    let file = file.to_path_buf();
    let mut previous = Vec::new();
    for path in &settings.previous_files {
        match load(path)? {
            Some(key) => previous.push((key, path.clone())),
            None => return Err(KeyError::PreviousKeyMissing { file: path.clone() }),
        }
    }
    let mut current = load(&file)?;
    let mut created = false;
    let opened = adopt(
        store,
        &file,
        settings,
        &previous,
        &mut current,
        &mut created,
    )
    .await;
    if created && matches!(&opened, Err(e) if !matches!(e, KeyError::Audit(_))) {
        // Made for a store that turned out to have another key meanwhile (another process
        // adopted one first): it was never used, and leaving it would only mislead. Not after
        // a database error: a process sharing the file may have loaded it and adopted it.
        let _ = std::fs::remove_file(&file);
    }
    let (ring, adopted) = opened?;
    Ok(OpenedKeys {
        ring,
        file,
        created,
        adopted,
    })
}

/// The adoption loop of [`open`]: read, decide, compare-and-append, again if another process
/// adopted a key in between.
async fn adopt(
    store: &dyn AuditBackend,
    file: &Path,
    settings: &KeySettings,
    previous: &[(FingerprintKey, PathBuf)],
    current: &mut Option<FingerprintKey>,
    created: &mut bool,
) -> Result<(KeyRing, Vec<String>), KeyError> {
    let mut adopted = store.adopted_keys().await?;
    for _ in 0..ADOPTION_ATTEMPTS {
        let recorded = if adopted.is_empty() {
            key_ids_in_events(store).await?
        } else {
            adopted.iter().map(Recorded::from).collect()
        };
        let key = match current {
            Some(key) => key.clone(),
            None if recorded.is_empty() => {
                let (key, was_created) =
                    FingerprintKey::load_or_create(file).map_err(|why| KeyError::File {
                        file: file.to_path_buf(),
                        why,
                    })?;
                *created = was_created;
                current.insert(key).clone()
            }
            None => {
                return Err(KeyError::KeyFileMissing {
                    file: file.to_path_buf(),
                    recorded,
                    earlier_default: refusal::earlier_default_here(),
                });
            }
        };
        let plan = plan(&recorded, key, file, settings.id.as_deref(), previous)?;
        if plan.to_adopt.is_empty() {
            return Ok((plan.ring, Vec::new()));
        }
        match store.adopt_keys(&adopted, &plan.to_adopt).await? {
            Adoption::Done(_) => {
                let ids = plan.to_adopt.into_iter().map(|k| k.key_id).collect();
                return Ok((plan.ring, ids));
            }
            Adoption::Changed(now) => adopted = now,
        }
    }
    Err(AuditError::Unavailable(
        "other processes kept adopting fingerprint keys while this one started".into(),
    )
    .into())
}

/// A key the store holds fingerprints under, as [`open`] found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The id its fingerprints carry.
    pub key_id: String,
    /// Its secret's check; `None` for a key id found only in events (the scan of a store
    /// written before the table existed).
    pub key_check: Option<String>,
    /// When it was adopted, if it was.
    pub adopted_at: Option<SystemTime>,
}

impl From<&AdoptedKey> for Recorded {
    fn from(k: &AdoptedKey) -> Self {
        Recorded {
            key_id: k.key_id.clone(),
            key_check: Some(k.key_check.clone()),
            adopted_at: Some(k.adopted_at),
        }
    }
}

/// The key ids of every stored event: what a store written before the `fingerprint_keys`
/// table holds fingerprints under. Read once, on the first start after the upgrade (the
/// adoption that follows fills the table); an empty list means a store with no fingerprints.
async fn key_ids_in_events(store: &dyn AuditBackend) -> Result<Vec<Recorded>, AuditError> {
    let mut ids = BTreeSet::new();
    let mut after = 0;
    let mut events = 0usize;
    loop {
        let page = store.key_ids_page(after, SCAN_PAGE).await?;
        let Some(last) = page.last_id else { break };
        after = last;
        events += page.rows;
        ids.extend(page.key_ids);
    }
    if events > 0 {
        tracing::info!(
            events,
            key_ids = ids.len(),
            "read the fingerprint key ids of the audit log once, to record them"
        );
    }
    Ok(ids
        .into_iter()
        .map(|key_id| Recorded {
            key_id,
            key_check: None,
            adopted_at: None,
        })
        .collect())
}

/// What [`plan`] decided.
#[derive(Debug)]
struct Plan {
    /// The keys to write with.
    ring: KeyRing,
    /// What the store must record first (in order; the last becomes current).
    to_adopt: Vec<KeyToAdopt>,
}

/// Decides the ring and what to adopt from what the store holds (`recorded`), the current key
/// (under its derived id), the id configured for it and the previous keys. Pure.
fn plan(
    recorded: &[Recorded],
    current: FingerprintKey,
    file: &Path,
    configured_id: Option<&str>,
    previous: &[(FingerprintKey, PathBuf)],
) -> Result<Plan, KeyError> {
    let check = current.check();
    // The current key's id: the store's (if it knows the secret), else configured or derived.
    let known_as: Vec<&Recorded> = recorded
        .iter()
        .filter(|r| r.key_check.as_deref() == Some(check.as_str()))
        .collect();
    let current_id = match (known_as.last(), configured_id) {
        (Some(r), Some(id)) if !known_as.iter().any(|k| k.key_id == id) => {
            return Err(KeyError::IdConflict {
                configured: id.to_owned(),
                recorded: r.key_id.clone(),
                file: file.to_path_buf(),
            });
        }
        (Some(_), Some(id)) => id.to_owned(),
        (Some(r), None) => r.key_id.clone(),
        (None, id) => id.map_or_else(|| current.id.clone(), str::to_owned),
    };
    // Every recorded key must be in the ring: by secret where the store knows it, by id for
    // key ids found only in events.
    let candidates: Vec<FingerprintKey> = std::iter::once(current.clone().with_id(&current_id))
        .chain(previous.iter().map(|(k, _)| k.clone()))
        .collect();
    let mut ring_keys = vec![candidates[0].clone()];
    let mut missing = Vec::new();
    for r in recorded {
        let found = match &r.key_check {
            Some(c) => candidates.iter().find(|k| k.check() == *c),
            None => candidates
                .iter()
                .find(|k| k.id == r.key_id && could_have_made(k, r)),
        };
        match found {
            Some(k) => ring_keys.push(k.clone().with_id(&r.key_id)),
            None => missing.push(r.clone()),
        }
    }
    if !missing.is_empty() {
        return Err(KeyError::UnknownKeys {
            missing,
            given: refusal::given(&current_id, file, previous),
        });
    }
    // Previous keys the store does not know are kept too (harmless), under their own ids.
    for (k, _) in previous {
        if !ring_keys.iter().any(|r| r.check() == k.check()) {
            ring_keys.push(k.clone());
        }
    }
    let ring = KeyRing::new(ring_keys[0].clone(), ring_keys.split_off(1));

    let adopted: Vec<&Recorded> = recorded.iter().filter(|r| r.key_check.is_some()).collect();
    if let Some(newest) = adopted.last() {
        if !known_as.is_empty() && newest.key_check.as_deref() != Some(check.as_str()) {
            return Err(KeyError::CurrentKeyRetired {
                current_id,
                newest: (*newest).clone(),
                file: file.to_path_buf(),
            });
        }
    }
    if !known_as.is_empty() {
        return Ok(Plan {
            ring,
            to_adopt: Vec::new(),
        });
    }
    if recorded
        .iter()
        .any(|r| r.key_id == current_id && r.key_check.is_some())
    {
        return Err(KeyError::IdTaken {
            id: current_id,
            file: file.to_path_buf(),
        });
    }
    // A key new to this store (its first, or a rotation's), after any key ids found only in
    // events, so that it is adopted last and so current.
    let mut to_adopt: Vec<KeyToAdopt> = recorded
        .iter()
        .filter(|r| r.key_check.is_none() && r.key_id != current_id)
        .map(|r| KeyToAdopt {
            key_id: r.key_id.clone(),
            key_check: ring.get(&r.key_id).expect("matched above").check(),
        })
        .collect();
    to_adopt.push(KeyToAdopt {
        key_id: current_id,
        key_check: check,
    });
    Ok(Plan { ring, to_adopt })
}

/// Whether `key` (matched by id to a key id found only in events) can be the key behind it:
/// an id of the derived form (`k-` and 8 hex digits of the secret's SHA-256) must be this
/// secret's, so that a configured id cannot pass another key off as the one that made them.
/// A configured id of another form cannot be checked: it is trusted, once, at the upgrade.
fn could_have_made(key: &FingerprintKey, r: &Recorded) -> bool {
    let id = r.key_id.as_str();
    let derived_form = id.len() == 10
        && id.starts_with("k-")
        && id[2..]
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    !derived_form || key.derived_id() == id
}

/// The key at `path`, with the file named in its refusals; `None` when there is no file.
fn load(path: &Path) -> Result<Option<FingerprintKey>, KeyError> {
    FingerprintKey::load_existing(path).map_err(|why| KeyError::File {
        file: path.to_path_buf(),
        why,
    })
}

#[cfg(test)]
mod tests;
