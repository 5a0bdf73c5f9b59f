//! Output files the command can be trusted with: the overwrite policy (`-y`, `-n`, asking on a
//! terminal), never writing over an input, and a file that appears under its final name only
//! once it is complete.
//!
//! Every output is written to a hidden temporary file beside the final name (same folder, so
//! the rename is atomic on one file system; same extension, so the container follows the final
//! name) and renamed when the command finishes it. A command stopped by a signal finishes its
//! container first (see [`crate::stop`]), then renames. A crash or a second signal leaves the
//! temporary file, never a broken file under the final name; a failed command removes it.

use anyhow::{Context, Result, bail};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

/// What to do with an output that exists already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overwrite {
    /// `-y`: overwrite.
    Yes,
    /// `-n`: never overwrite.
    No,
    /// Neither: ask when stdin is a terminal, else refuse.
    Ask,
}

/// The error class of a refused output (`--json`'s `error.class`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// Whether `path` names stdout (or stdin).
pub fn is_std(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Checks the outputs of a command against its inputs and the overwrite policy, before
/// anything is opened: an output that is the same file as an input is refused always (same
/// path, or same device and inode); an existing output is refused unless `-y`, or the user
/// says yes on a terminal.
pub fn check(outputs: &[&Path], inputs: &[&Path], policy: Overwrite) -> Result<()> {
    for out in outputs.iter().filter(|p| !is_std(p)) {
        for input in inputs.iter().filter(|p| !is_std(p)) {
            if same_file(out, input) {
                bail!(Refused(format!(
                    "{} is also an input: refusing to write over it (even with -y); choose another output name",
                    out.display()
                )));
            }
        }
        if std::fs::symlink_metadata(out).is_err() {
            continue;
        }
        if std::fs::metadata(out).is_ok_and(|m| m.is_dir()) {
            bail!(Refused(format!("{} is a folder", out.display())));
        }
        // A device or a pipe (`/dev/null`) holds nothing to lose: written without asking.
        if std::fs::metadata(out).is_ok_and(|m| !m.is_file()) {
            continue;
        }
        let allowed = match policy {
            Overwrite::Yes => true,
            Overwrite::No => false,
            Overwrite::Ask if std::io::stdin().is_terminal() => ask(out)?,
            Overwrite::Ask => bail!(Refused(format!(
                "{} exists: pass -y to overwrite it (or -n to never overwrite)",
                out.display()
            ))),
        };
        if !allowed {
            bail!(Refused(format!(
                "{} exists: not overwritten",
                out.display()
            )));
        }
    }
    Ok(())
}

/// Asks on the terminal whether to overwrite `path`, as FFmpeg does.
fn ask(path: &Path) -> Result<bool> {
    eprint!(
        "File '{}' already exists. Overwrite? [y/N] ",
        path.display()
    );
    std::io::stderr().flush().ok();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the answer")?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "Yes"))
}

/// Whether two paths name the same file: the same path, or the same device and inode.
fn same_file(a: &Path, b: &Path) -> bool {
    if a == b {
        return true;
    }
    if let (Ok(ca), Ok(cb)) = (a.canonicalize(), b.canonicalize())
        && ca == cb
    {
        return true;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) {
            return ma.dev() == mb.dev() && ma.ino() == mb.ino();
        }
    }
    false
}

/// A file being written under a temporary name beside its final one. Dropped without
/// [`PendingFile::commit`], it removes the temporary file.
#[derive(Debug)]
pub struct PendingFile {
    target: PathBuf,
    temp: PathBuf,
    committed: bool,
    /// The target is a device or a pipe (`/dev/null`, a FIFO): written in place, never
    /// renamed over.
    direct: bool,
}

impl PendingFile {
    /// Reserves a temporary name for `target`: `.NAME.video-hw-PID.EXT` in the same folder, so
    /// that the extension (which picks the container) stays the final name's.
    /// A target that exists and is neither a file nor a folder (`/dev/null`, a FIFO) is
    /// written in place.
    pub fn new(target: &Path) -> Self {
        if std::fs::metadata(target).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
            return Self {
                target: target.to_path_buf(),
                temp: target.to_path_buf(),
                committed: false,
                direct: true,
            };
        }
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "output".into());
        let ext = target
            .extension()
            .map(|e| format!(".{}", e.to_string_lossy()))
            .unwrap_or_default();
        let temp = target.with_file_name(format!(".{name}.video-hw-{}{ext}", std::process::id()));
        remove_stale_temporaries(target, &name, &ext);
        Self {
            target: target.to_path_buf(),
            temp,
            committed: false,
            direct: false,
        }
    }

    /// Where to write now.
    pub fn path(&self) -> &Path {
        &self.temp
    }

    /// Creates the temporary file.
    pub fn create(&self) -> Result<std::fs::File> {
        if self.direct {
            return std::fs::OpenOptions::new()
                .write(true)
                .open(&self.target)
                .with_context(|| format!("cannot open {}", self.target.display()));
        }
        std::fs::File::create(&self.temp)
            .with_context(|| format!("cannot create {}", self.target.display()))
    }

    /// Moves the finished file to its final name, its bytes on the disk first (so that a
    /// crash after the rename never leaves a short file under the final name).
    pub fn commit(mut self) -> Result<()> {
        if self.direct {
            self.committed = true;
            return Ok(());
        }
        std::fs::File::open(&self.temp)
            .and_then(|f| f.sync_all())
            .with_context(|| format!("cannot write {}", self.target.display()))?;
        std::fs::rename(&self.temp, &self.target)
            .with_context(|| format!("cannot write {}", self.target.display()))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        if !self.committed && !self.direct {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Removes the temporary files of `target` (`.NAME.video-hw-PID.EXT`) left by a process that
/// no longer runs (killed, or out of memory, before it could remove its own). Linux only
/// (`/proc` tells which processes run); a file that cannot be removed is left.
fn remove_stale_temporaries(target: &Path, name: &str, ext: &str) {
    if !cfg!(target_os = "linux") {
        return;
    }
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let prefix = format!(".{name}.video-hw-");
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(pid) = file
            .to_str()
            .and_then(|f| f.strip_prefix(&prefix))
            .and_then(|rest| rest.strip_suffix(ext))
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new("/proc").join(pid.to_string()).exists() {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => log::info!(
                    "removed {}, left by process {pid}, which no longer runs",
                    entry.path().display()
                ),
                Err(e) => log::debug!("cannot remove {}: {e}", entry.path().display()),
            }
        }
    }
}

/// Writes `bytes` to `path` through a temporary file (a small report or stream written at
/// once).
pub fn write_whole(path: &Path, bytes: &[u8]) -> Result<()> {
    let pending = PendingFile::new(path);
    let mut f = pending.create()?;
    f.write_all(bytes)
        .and_then(|()| f.flush())
        .with_context(|| format!("cannot write {}", path.display()))?;
    drop(f);
    pending.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_name_keeps_the_folder_and_extension() {
        let p = PendingFile::new(Path::new("dir/out.mp4"));
        assert_eq!(p.path().parent(), Some(Path::new("dir")));
        assert_eq!(p.path().extension().unwrap(), "mp4");
        assert!(
            p.path()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".out.mp4.")
        );
    }

    #[test]
    fn dev_null_is_written_in_place_and_never_renamed_over() {
        let p = PendingFile::new(Path::new("/dev/null"));
        assert_eq!(p.path(), Path::new("/dev/null"));
        let mut f = p.create().unwrap();
        f.write_all(b"frames").unwrap();
        drop(f);
        p.commit().unwrap();
        let m = std::fs::metadata("/dev/null").unwrap();
        assert!(!m.is_file(), "/dev/null must stay a device");
    }

    #[test]
    fn same_path_is_the_same_file_even_when_missing() {
        assert!(same_file(Path::new("a/b.mp4"), Path::new("a/b.mp4")));
        assert!(!same_file(Path::new("a/b.mp4"), Path::new("a/c.mp4")));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_dead_process_temporary_is_removed_and_a_live_one_kept() {
        let dir = std::env::temp_dir().join(format!("vh-stale-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("out.mp4");
        // No process has PID 0x7fff_fffe; PID 1 always runs.
        let dead = dir.join(".out.mp4.video-hw-2147483646.mp4");
        let live = dir.join(".out.mp4.video-hw-1.mp4");
        let other = dir.join(".other.mp4.video-hw-2147483646.mp4");
        for p in [&dead, &live, &other] {
            std::fs::write(p, b"partial").unwrap();
        }
        let pending = PendingFile::new(&target);
        assert!(!dead.exists(), "a dead process's temporary stays");
        assert!(live.exists() && other.exists());
        let mut f = pending.create().unwrap();
        f.write_all(b"done").unwrap();
        drop(f);
        pending.commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"done");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
