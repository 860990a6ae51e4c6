//! The files a run writes (results, errors, report, a generated roster): never one of its own
//! inputs, never through a link, private from creation, and under their names only once whole.
//!
//! `bulk roster.csv --output roster.csv` once replaced a 300,000-row roster with its own
//! 2,566-row result. So before anything is written, every output is checked against every
//! input by the file it is (device and inode, so a symbolic or hard link to the roster is
//! caught too) and against the other outputs. Each output is then written to a temporary file
//! beside it, created exclusively (`O_EXCL`: a link planted at that name is never followed)
//! and readable by its owner only (0600: result and errors files hold subject ids), and renamed
//! over the final name at the end. The rename replaces a link at the final name rather than
//! writing through it, and a run killed mid-way leaves the previous file as it was.
//!
//! The rejected alternative, `File::create` on the final name with a check of the path
//! string first, misses `./roster.csv`, links and case-insensitive file systems, follows a
//! planted link, and truncates the old result before the new one exists.

use std::{
    fs,
    io::{self, Write},
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
};

use tempfile::NamedTempFile;

/// Why an output cannot be written where it was asked for.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// An output is one of the run's inputs.
    #[error("{output} is {input} ({path}): writing it would destroy it; choose another file name")]
    IsAnInput {
        /// The flag naming the output (`--output`).
        output: String,
        /// What the input is (`the roster`).
        input: String,
        /// The path as given.
        path: String,
    },
    /// Two outputs name the same file.
    #[error("{first} and {second} name the same file ({path}): give each its own")]
    SameFile {
        /// One flag.
        first: String,
        /// The other.
        second: String,
        /// The path as given.
        path: String,
    },
    /// The temporary file cannot be created, written or renamed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The output's path as given.
        path: String,
        /// What the system said.
        source: io::Error,
    },
}

/// Refuses outputs that would overwrite an input or each other. `inputs` and `outputs` are
/// `(what it is, path)`: `("the roster", …)`, `("--errors", …)`. An input that does not exist
/// cannot be overwritten and is skipped.
pub fn refuse_overwriting(
    inputs: &[(&str, &Path)],
    outputs: &[(&str, &Path)],
) -> Result<(), OutputError> {
    let inputs: Vec<_> = inputs
        .iter()
        .filter_map(|(what, path)| identity(path).map(|id| (*what, *path, id)))
        .collect();
    for (i, (flag, out)) in outputs.iter().enumerate() {
        if let Some(out_id) = identity(out)
            && let Some((what, path, _)) = inputs.iter().find(|(_, _, id)| *id == out_id)
        {
            return Err(OutputError::IsAnInput {
                output: (*flag).to_owned(),
                input: (*what).to_owned(),
                path: path.display().to_string(),
            });
        }
        for (other_flag, other) in &outputs[..i] {
            if same_place(out, other) {
                return Err(OutputError::SameFile {
                    first: (*other_flag).to_owned(),
                    second: (*flag).to_owned(),
                    path: out.display().to_string(),
                });
            }
        }
    }
    Ok(())
}

/// The file at `path` (following links), if it exists.
fn identity(path: &Path) -> Option<(u64, u64)> {
    fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// Whether two output paths are one file: the same existing file, or the same name in the same
/// directory (neither exists yet).
fn same_place(a: &Path, b: &Path) -> bool {
    if let (Some(x), Some(y)) = (identity(a), identity(b)) {
        return x == y;
    }
    let place = |p: &Path| {
        let dir = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        (
            fs::canonicalize(dir).ok(),
            p.file_name().map(ToOwned::to_owned),
        )
    };
    let (pa, pb) = (place(a), place(b));
    pa.0.is_some() && pa == pb
}

/// An output being written: a private temporary file beside its final name.
#[derive(Debug)]
pub struct OutputFile {
    /// The temporary file; removed if the run ends without [`OutputFile::persist`].
    temp: NamedTempFile,
    /// The final name.
    dest: PathBuf,
}

impl OutputFile {
    /// Creates the temporary file for `dest` (`.NAME.XXXXXX.partial` in its directory).
    pub fn create(dest: &Path) -> Result<Self, OutputError> {
        let io = |source| OutputError::Io {
            path: dest.display().to_string(),
            source,
        };
        let dir = match dest.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let name = dest
            .file_name()
            .ok_or_else(|| io(io::Error::other("it is not a file name")))?
            .to_string_lossy()
            .into_owned();
        // tempfile creates with O_CREAT | O_EXCL and mode 0600 on Unix.
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(PARTIAL)
            .tempfile_in(dir)
            .map_err(io)?;
        Ok(OutputFile {
            temp,
            dest: dest.to_owned(),
        })
    }

    /// Syncs the file and renames it over its final name; then removes what earlier runs that
    /// were killed left of this output.
    pub fn persist(self) -> Result<(), OutputError> {
        let dest = self.dest.clone();
        let io = |source| OutputError::Io {
            path: dest.display().to_string(),
            source,
        };
        self.temp.as_file().sync_all().map_err(io)?;
        let temp_path = self.temp.path().to_owned();
        self.temp.persist(&dest).map_err(|e| io(e.error))?;
        remove_stale_partials(&dest, &temp_path);
        Ok(())
    }

    /// Writes `bytes` to `dest` through a temporary file: the whole file or nothing.
    pub fn write_whole(dest: &Path, bytes: &[u8]) -> Result<(), OutputError> {
        let mut file = OutputFile::create(dest)?;
        file.write_all(bytes).map_err(|source| OutputError::Io {
            path: dest.display().to_string(),
            source,
        })?;
        file.persist()
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.temp.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.temp.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.temp.flush()
    }
}

/// The suffix of a temporary output.
const PARTIAL: &str = ".partial";

/// Removes `.NAME.*.partial` beside `dest` other than `ours`: the leftovers of runs killed
/// before they could rename theirs. Best effort: a file that cannot be removed stays.
fn remove_stale_partials(dest: &Path, ours: &Path) {
    let (Some(dir), Some(name)) = (dest.parent(), dest.file_name()) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!(".{}.", name.to_string_lossy());
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let file_name = file_name.to_string_lossy();
        let stale = file_name.starts_with(&prefix)
            && file_name.ends_with(PARTIAL)
            && file_name.len() == prefix.len() + 6 + PARTIAL.len()
            && entry.path() != ours;
        if stale && entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    struct Dir(PathBuf);

    impl Dir {
        fn new() -> Dir {
            let dir = std::env::temp_dir().join(format!("vi-files-{}", uuid::Uuid::now_v7()));
            fs::create_dir_all(&dir).unwrap();
            Dir(dir)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn an_output_that_is_the_roster_by_name_by_path_or_through_a_link_is_refused() {
        let dir = Dir::new();
        let roster = dir.0.join("roster.csv");
        fs::write(&roster, "rows").unwrap();
        let dotted = dir.0.join(".").join("roster.csv");
        let symlink = dir.0.join("link.csv");
        std::os::unix::fs::symlink(&roster, &symlink).unwrap();
        let hard = dir.0.join("hard.csv");
        fs::hard_link(&roster, &hard).unwrap();
        for out in [&roster, &dotted, &symlink, &hard] {
            let err = refuse_overwriting(&[("the roster", &roster)], &[("--output", out)])
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("--output is the roster ("), "{err}");
        }
        let fresh = dir.0.join("results.csv");
        refuse_overwriting(&[("the roster", &roster)], &[("--output", &fresh)]).unwrap();
    }

    #[test]
    fn two_outputs_naming_one_file_are_refused_whether_or_not_it_exists() {
        let dir = Dir::new();
        let a = dir.0.join("out.csv");
        let again = dir.0.join(".").join("out.csv");
        let err = refuse_overwriting(&[], &[("--output", &a), ("--errors", &again)])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("--output and --errors name the same file"),
            "{err}"
        );
        fs::write(&a, "x").unwrap();
        assert!(refuse_overwriting(&[], &[("--output", &a), ("--report", &again)]).is_err());
        let b = dir.0.join("out.errors.csv");
        refuse_overwriting(&[], &[("--output", &a), ("--errors", &b)]).unwrap();
    }

    #[test]
    fn an_output_is_private_and_appears_under_its_name_only_when_persisted() {
        let dir = Dir::new();
        let dest = dir.0.join("out.csv");
        fs::write(&dest, "the previous run's results").unwrap();
        let mut file = OutputFile::create(&dest).unwrap();
        file.write_all(b"new results").unwrap();
        assert_eq!(
            fs::read_to_string(&dest).unwrap(),
            "the previous run's results"
        );
        let temp = file.temp.path().to_owned();
        let mode = fs::metadata(&temp).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        file.persist().unwrap();
        assert_eq!(fs::read_to_string(&dest).unwrap(), "new results");
        assert!(!temp.exists());
        assert_eq!(
            fs::metadata(&dest).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn a_link_at_the_output_name_is_replaced_and_its_target_left_alone() {
        let dir = Dir::new();
        let target = dir.0.join("precious.txt");
        fs::write(&target, "keep me").unwrap();
        let dest = dir.0.join("out.csv");
        std::os::unix::fs::symlink(&target, &dest).unwrap();
        OutputFile::write_whole(&dest, b"results").unwrap();
        assert_eq!(fs::read_to_string(&target).unwrap(), "keep me");
        assert!(
            !fs::symlink_metadata(&dest)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&dest).unwrap(), "results");
    }

    #[test]
    fn an_output_never_persisted_leaves_nothing_and_a_later_run_removes_a_killed_runs_leftovers() {
        let dir = Dir::new();
        let dest = dir.0.join("out.csv");
        drop(OutputFile::create(&dest).unwrap());
        assert_eq!(fs::read_dir(&dir.0).unwrap().count(), 0);
        // What a run killed with SIGKILL leaves: a partial file it never renamed.
        let killed = dir.0.join(".out.csv.a1B2c3.partial");
        fs::write(&killed, "half").unwrap();
        let unrelated = dir.0.join(".other.csv.a1B2c3.partial");
        fs::write(&unrelated, "not ours").unwrap();
        OutputFile::write_whole(&dest, b"whole").unwrap();
        assert!(!killed.exists());
        assert!(unrelated.exists());
    }
}
