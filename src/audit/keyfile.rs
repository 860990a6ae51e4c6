//! Secret key files, read and written one way: the fingerprint secret and the checkpoint
//! signing key get the same checks.

use std::{
    fs::OpenOptions,
    io::{self, Write},
    os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt},
    path::Path,
};

use crate::audit::AuditError;

/// What a secret key file is, for the messages about it.
pub(crate) struct KeyFile<'a> {
    /// How messages name the file: "the fingerprint key file".
    pub(crate) name: &'a str,
    /// The setting or flag that points at it: "hmac_key_file".
    pub(crate) setting: &'a str,
}

impl KeyFile<'_> {
    /// The text of the secret key at `path`; `Ok(None)` when there is no such file.
    ///
    /// Refuses a file that someone else could have planted or read. The file is opened without
    /// following a symbolic link, and checked on the open file itself (no window between check
    /// and read): a regular file, owned by the effective user, with no group or other
    /// permission bits. Each refusal says what to do about it. No message quotes the content.
    pub(crate) fn read(&self, path: &Path) -> Result<Option<String>, AuditError> {
        let name = self.name;
        let refuse = |why: String| Err(AuditError::Config(why));
        let mut file = match OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(path)
        {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return refuse(format!(
                    "{name} is a symbolic link; set {} to the file itself",
                    self.setting
                ));
            }
            Err(e) => return Err(io_config(&format!("cannot read {name}"), &e)),
        };
        let meta = file
            .metadata()
            .map_err(|e| io_config(&format!("cannot read {name}"), &e))?;
        if !meta.is_file() {
            return refuse(format!("{name} is not a regular file"));
        }
        // SAFETY: geteuid has no preconditions and cannot fail.
        let user = unsafe { libc::geteuid() };
        if meta.uid() != user {
            return refuse(format!(
                "{name} belongs to user {} but this process runs as user {user}; chown it to \
                 the service's user",
                meta.uid()
            ));
        }
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return refuse(format!(
                "{name} has mode {mode:03o}: group or others may read or change it; run \
                 `chmod 600` on it (and check who has read it)"
            ));
        }
        let mut text = String::new();
        io::Read::read_to_string(&mut file, &mut text)
            .map_err(|e| io_config(&format!("cannot read {name}"), &e))?;
        Ok(Some(text))
    }
}

/// Creates `path` (which must not exist) readable and writable by its owner only, writes
/// `bytes` and syncs them to disk. The mode is set by the `open` that creates the file, so
/// there is no moment at which others could open it.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// An I/O failure as a configuration error, by its kind only: the OS message can carry the
/// path, which is configuration, but keeping every audit error free of free text is simpler
/// to review.
pub(crate) fn io_config(what: &str, e: &io::Error) -> AuditError {
    AuditError::Config(format!("{what}: {}", e.kind()))
}
