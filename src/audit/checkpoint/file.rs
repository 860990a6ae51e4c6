//! Taking a checkpoint of a store, and appending it to a checkpoint file.

use std::{
    io::{self, Write},
    os::unix::fs::OpenOptionsExt,
    path::Path,
    time::SystemTime,
};

use crate::audit::{
    AuditBackend, AuditError,
    checkpoint::key::CheckpointKey,
    checkpoint::{Checkpoint, CheckpointError},
    micros_since_epoch,
};

/// Reads every chain head of `store` and signs them with `key`, as of now.
pub async fn take(store: &dyn AuditBackend, key: &CheckpointKey) -> Result<Checkpoint, AuditError> {
    let heads = store.chain_heads().await?;
    Ok(Checkpoint::sign(
        micros_since_epoch(SystemTime::now()),
        heads,
        key,
    ))
}

/// [`take`], as one line (with its newline).
pub async fn take_line(
    store: &dyn AuditBackend,
    key: &CheckpointKey,
) -> Result<String, AuditError> {
    let checkpoint = take(store, key).await?;
    let line = checkpoint.to_line().map_err(|e: CheckpointError| {
        AuditError::Corrupt(format!("a chain head cannot be checkpointed: {e}"))
    })?;
    Ok(line + "\n")
}

/// Appends `line` to the checkpoint file at `path` in one write, and syncs it to disk.
///
/// A new file is created readable and writable by its owner only, by the `open` that creates
/// it (no moment at which others could open it); an existing file keeps its permissions (an
/// auditor may have opened it up on purpose: it holds no personal data, only writer ids,
/// positions, hashes and times). A symbolic link or anything but a regular file is refused:
/// appending through a link planted in the checkpoint's place would write elsewhere.
pub fn append(path: &Path, line: &str) -> io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => io::Error::new(
                io::ErrorKind::InvalidInput,
                "the checkpoint file is a symbolic link; give the file itself",
            ),
            _ => e,
        })?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the checkpoint file is not a regular file",
        ));
    }
    file.write_all(line.as_bytes())?;
    file.sync_data()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_new_checkpoint_file_is_private_and_lines_are_appended() {
        let dir = std::env::temp_dir().join(format!(
            "verify-identity-cpfile-{}",
            uuid::Uuid::now_v7().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("checkpoints.jsonl");
        append(&path, "one\n").unwrap();
        append(&path, "two\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one\ntwo\n");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let link = dir.join("link.jsonl");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let e = append(&link, "three\n").unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert!(append(&dir, "x\n").is_err(), "a directory");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
