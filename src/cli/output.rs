//! `certify --output FILE`: checked before the run, written after it.
//!
//! - absent, or a regular file: a temp file in the same directory (`tempfile`), written, given
//!   the old file's mode (and owner, when execnet runs as root) or `0666 & ~umask`, fsynced,
//!   renamed over the target, and the directory fsynced: a reader sees the old report or the
//!   new one, never half of one. `rename` replaces a directory entry and follows no symlink.
//! - a symlink, a device, a FIFO or a socket (`/dev/null`, `/dev/stdout`, a pipe): written in
//!   place through an ordinary open, never renamed over (the link or device stays what it was).
//! - the same file as standard output (`/dev/stdout`, `/proc/self/fd/1`): the report is
//!   printed once on standard output.
//! - a directory, a missing or unwritable parent directory: a setup error before any plugin runs.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use execnet::supervise::signals;

/// Where and how the report will be written.
#[derive(Debug)]
pub enum ReportTarget {
    /// Temp file + rename in `dir`; `keep` is the replaced file's (mode, uid, gid).
    Replace {
        path: PathBuf,
        dir: PathBuf,
        keep: Option<(u32, u32, u32)>,
    },
    /// Open and write in place (symlinks, devices, FIFOs, sockets).
    InPlace { path: PathBuf },
    /// The same file as standard output.
    Stdout,
}

fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Whether `path` is the file standard output already writes to.
fn is_stdout(path: &Path) -> bool {
    let Ok(target) = fs::metadata(path) else {
        return false;
    };
    execnet::sys::stdout_identity() == Some((target.dev(), target.ino()))
}

fn access_w(path: &Path) -> bool {
    execnet::sys::access(path, libc::W_OK)
}

/// Check `path` before the run: decide how it will be written and prove the directory takes a
/// new file (by creating and removing one).
pub fn check(path: &Path) -> Result<ReportTarget> {
    if path.as_os_str().is_empty() {
        bail!("--output: empty path");
    }
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => bail!("--output {}: is a directory", path.display()),
        Ok(m) if m.file_type().is_symlink() || !m.is_file() => {
            if is_stdout(path) {
                return Ok(ReportTarget::Stdout);
            }
            if fs::metadata(path).is_ok_and(|t| t.is_dir()) {
                bail!("--output {}: is a directory", path.display());
            }
            if !access_w(path) && fs::metadata(path).is_ok() {
                bail!("--output {}: not writable", path.display());
            }
            Ok(ReportTarget::InPlace {
                path: path.to_path_buf(),
            })
        }
        Ok(m) => {
            let dir = parent(path);
            probe_dir(path, &dir)?;
            Ok(ReportTarget::Replace {
                path: path.to_path_buf(),
                dir,
                keep: Some((m.mode() & 0o7777, m.uid(), m.gid())),
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let dir = parent(path);
            probe_dir(path, &dir)?;
            Ok(ReportTarget::Replace {
                path: path.to_path_buf(),
                dir,
                keep: None,
            })
        }
        Err(e) => Err(e).with_context(|| format!("--output {}", path.display())),
    }
}

/// The directory exists and a file can be created in it.
fn probe_dir(path: &Path, dir: &Path) -> Result<()> {
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => bail!(
            "--output {}: {} is not a directory",
            path.display(),
            dir.display()
        ),
        Err(e) => {
            return Err(e).with_context(|| {
                format!("--output {}: directory {}", path.display(), dir.display())
            });
        }
    }
    tempfile::Builder::new()
        .prefix(".execnet-report-")
        .tempfile_in(dir)
        .map(drop)
        .with_context(|| {
            format!(
                "--output {}: cannot create a file in {}",
                path.display(),
                dir.display()
            )
        })
}

/// The process umask (from /proc; 022 when unknown).
fn umask() -> u32 {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o022)
}

/// Write `contents` to `target`. Called with the output lock held (see `signals`).
pub fn write(target: &ReportTarget, contents: &str) -> Result<()> {
    match target {
        ReportTarget::Stdout => {
            out!("{contents}");
            Ok(())
        }
        ReportTarget::InPlace { path } => {
            let mut f = OpenOptions::new()
                .write(true)
                .truncate(fs::metadata(path).is_ok_and(|m| m.is_file()))
                .open(path)
                .with_context(|| format!("writing report {}", path.display()))?;
            f.write_all(contents.as_bytes())
                .and_then(|()| f.flush())
                .with_context(|| format!("writing report {}", path.display()))
        }
        ReportTarget::Replace { path, dir, keep } => replace(path, dir, *keep, contents)
            .with_context(|| format!("writing report {}", path.display())),
    }
}

fn replace(path: &Path, dir: &Path, keep: Option<(u32, u32, u32)>, contents: &str) -> Result<()> {
    // The target may have changed since the check: never rename over anything but a file.
    if let Ok(m) = fs::symlink_metadata(path)
        && !m.is_file()
    {
        return write(
            &ReportTarget::InPlace {
                path: path.to_path_buf(),
            },
            contents,
        );
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(".execnet-report-")
        .tempfile_in(dir)?;
    signals::remove_on_signal(tmp.path());
    let result = (|| -> Result<()> {
        tmp.write_all(contents.as_bytes())?;
        let mode = keep.map_or(0o666 & !umask(), |k| k.0);
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(mode))?;
        if let Some((_, uid, gid)) = keep {
            // Only root can give a file away; for anyone else it already has their ids.
            let _ = std::os::unix::fs::fchown(tmp.as_file(), Some(uid), Some(gid));
        }
        tmp.as_file().sync_all()?;
        Ok(())
    })();
    let tmp_path = tmp.path().to_path_buf();
    let result = result.and_then(|()| {
        tmp.persist(path)
            .map_err(|e| anyhow::Error::from(e.error))?;
        fs::File::open(dir)?.sync_all()?;
        Ok(())
    });
    signals::forget(&tmp_path);
    result
}
