//! `verify-identity audit checkpoint-key|checkpoint`, and the checkpoint half of
//! `audit verify --checkpoints`.

use std::path::{Path, PathBuf};

use crate::{
    audit::{
        AuditBackend, AuditError,
        checkpoint::check::Expectations,
        checkpoint::file as checkpoint_file,
        checkpoint::key::{CheckpointKey, PublicKey},
    },
    cli::exit,
};

/// `audit checkpoint-key --out FILE [--public-out FILE]`: a new key pair.
pub(super) fn create_key(out: &Path, public_out: Option<&Path>) -> u8 {
    let public_out = public_out.map_or_else(|| public_path(out), Path::to_path_buf);
    match CheckpointKey::create(out, &public_out) {
        Ok(key) => {
            let public = key.public_key();
            eprintln!(
                "created checkpoint signing key {} (mode 0600) and its public key {}, key id {}; \
                 give auditors the public key only",
                out.display(),
                public_out.display(),
                public.id()
            );
            crate::out!("{}", public.to_text());
            exit::OK
        }
        Err(e) => {
            eprintln!("verify-identity audit checkpoint-key: {}", key_error(&e));
            exit::FAILURE
        }
    }
}

/// A key file problem as its own message: "the audit store is misconfigured" would send the
/// reader to the database.
pub(super) fn key_error(e: &AuditError) -> String {
    match e {
        AuditError::Config(message) => message.clone(),
        other => other.to_string(),
    }
}

/// `FILE.pub` beside `FILE`.
fn public_path(secret: &Path) -> PathBuf {
    let mut name = secret.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

/// `audit checkpoint`: one signed line of every chain head, appended to `out` or printed.
pub(super) async fn write(store: &dyn AuditBackend, key: &CheckpointKey, out: Option<&Path>) -> u8 {
    let line = match checkpoint_file::take_line(store, key).await {
        Ok(line) => line,
        Err(e) => {
            eprintln!("verify-identity audit checkpoint: {e}");
            return exit::FAILURE;
        }
    };
    match out {
        None => {
            crate::out!("{line}");
            exit::OK
        }
        Some(path) => match checkpoint_file::append(path, &line) {
            Ok(()) => exit::OK,
            Err(e) => {
                eprintln!(
                    "verify-identity audit checkpoint: cannot append to {}: {e}",
                    path.display()
                );
                exit::FAILURE
            }
        },
    }
}

/// The public key `audit verify` checks checkpoints with: the public key file, or the one
/// derived from the signing key file.
pub(super) fn public_key(
    public_key: Option<&Path>,
    signing_key: Option<&Path>,
) -> Result<PublicKey, u8> {
    let loaded = match (public_key, signing_key) {
        (Some(path), None) => PublicKey::load(path),
        (None, Some(path)) => CheckpointKey::load(path, "--checkpoint-key").map(|k| k.public_key()),
        _ => {
            eprintln!(
                "verify-identity audit verify: --checkpoints needs the key that signed them: \
                 --checkpoint-public-key FILE (or --checkpoint-key FILE, the signing key)"
            );
            return Err(exit::BAD_INPUT);
        }
    };
    loaded.map_err(|e| {
        eprintln!("verify-identity audit verify: {}", key_error(&e));
        exit::FAILURE
    })
}

/// Reads the checkpoint file `path`, checking every line with `key`.
pub(super) fn read(path: &Path, key: &PublicKey) -> Result<Expectations, u8> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        eprintln!(
            "verify-identity audit verify: cannot read the checkpoint file {}: {e}",
            path.display()
        );
        exit::FAILURE
    })?;
    let expectations = Expectations::from_file(&text, key);
    if expectations.checkpoints() == 0 && expectations.findings().is_empty() {
        eprintln!(
            "verify-identity audit verify: {} holds no checkpoint: nothing to verify against",
            path.display()
        );
        return Err(exit::FAILURE);
    }
    Ok(expectations)
}

/// Prints the checkpoint verdict; whether every checkpoint matched.
pub(super) fn report(path: &Path, expectations: &Expectations) -> bool {
    let findings = expectations.findings();
    let newest = expectations
        .newest_us()
        .and_then(|us| jiff::Timestamp::from_microsecond(us).ok())
        .map_or_else(|| "none".to_owned(), |t| t.to_string());
    if findings.is_empty() {
        crate::outln!(
            "checkpoints intact: {} checkpoint(s) in {} (newest {newest}), {} chain position(s), \
             each stored as signed",
            expectations.checkpoints(),
            path.display(),
            expectations.positions()
        );
        return true;
    }
    crate::outln!(
        "checkpoints BROKEN: {} finding(s) against {} verified checkpoint(s) in {} (newest \
         {newest}):",
        findings.len(),
        expectations.checkpoints(),
        path.display()
    );
    for finding in findings {
        crate::outln!("  - {finding}");
    }
    false
}
