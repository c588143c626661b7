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
//! - checked fully before the run, so that nothing fails after it (the report lost): a dangling
//!   symlink or a symlink loop, `/dev/full` (every write fails), a terminal device with no
//!   terminal (`/dev/tty` without one), a FIFO with no reader (opened non-blocking: no hang),
//!   a socket. Devices and FIFOs are opened before the run and written through that descriptor.
//! - never a path inside the plugin directory (the plugin's own executable, or a file the
//!   kubelet would take for a plugin), also through symlinks.

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
    /// Write in place (symlinks, devices, FIFOs) through the descriptor opened by the check.
    InPlace { path: PathBuf, file: fs::File },
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

/// Check `path` before the run: decide how it will be written, open what is written in place
/// and prove the directory takes a new file (by creating and removing one). `plugin_dir`: the
/// directory of the plugin under test, which no report may land in.
pub fn check(path: &Path, plugin_dir: Option<&Path>) -> Result<ReportTarget> {
    if path.as_os_str().is_empty() {
        bail!("--output: empty path");
    }
    if let Some(dir) = plugin_dir {
        inside_plugin_dir(path, dir)?;
    }
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => bail!("--output {}: is a directory", path.display()),
        Ok(m) if m.file_type().is_symlink() || !m.is_file() => {
            if is_stdout(path) {
                return Ok(ReportTarget::Stdout);
            }
            let target = match fs::metadata(path) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                    "--output {}: a symlink to {}, which does not exist (a dangling link: point it at a file or remove it)",
                    path.display(),
                    fs::read_link(path).map_or_else(|_| "?".into(), |t| t.display().to_string())
                ),
                Err(e) => {
                    return Err(e).with_context(|| format!("--output {}", path.display()));
                }
            };
            if target.is_dir() {
                bail!("--output {}: is a directory", path.display());
            }
            let file = open_in_place(path, &target)?;
            Ok(ReportTarget::InPlace {
                path: path.to_path_buf(),
                file,
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

/// `makedev(1, 7)`: `/dev/full`, where every write fails with ENOSPC.
const DEV_FULL: (u32, u32) = (1, 7);

/// Open a device, FIFO or a symlink's target for writing, before the run. A FIFO or device is
/// first opened non-blocking (a FIFO with no reader, a terminal device with no terminal fail
/// at once instead of hanging or failing after the run), then opened again for the blocking
/// writes the report needs (a reader is there, so this does not wait).
fn open_in_place(path: &Path, target: &fs::Metadata) -> Result<fs::File> {
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let ft = target.file_type();
    if ft.is_socket() {
        bail!(
            "--output {}: is a socket (a report goes to a file, a device or a FIFO)",
            path.display()
        );
    }
    if ft.is_char_device() {
        let rdev = target.rdev();
        if (libc::major(rdev), libc::minor(rdev)) == DEV_FULL {
            bail!(
                "--output {}: every write to it fails (/dev/full: no space left on device)",
                path.display()
            );
        }
    }
    let special = ft.is_fifo() || ft.is_char_device() || ft.is_block_device();
    let explain = |e: std::io::Error| -> anyhow::Error {
        let why = match e.raw_os_error() {
            Some(libc::ENXIO) if ft.is_fifo() => {
                "a FIFO with no reader (start its reader first, e.g. `cat FIFO > report &`)"
                    .to_string()
            }
            Some(libc::ENXIO) => {
                format!("cannot be opened: {e} (a terminal device with no terminal?)")
            }
            Some(libc::EACCES) | Some(libc::EPERM) | Some(libc::EROFS) => {
                "not writable".to_string()
            }
            _ => format!("cannot be opened for writing: {e}"),
        };
        anyhow::anyhow!("--output {}: {why}", path.display())
    };
    if special {
        let probe = OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(path)
            .map_err(explain)?;
        let file = OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open(path)
            .map_err(explain)?;
        drop(probe);
        Ok(file)
    } else {
        // A symlink to a regular file: written in place, truncated only when written.
        OpenOptions::new().write(true).open(path).map_err(explain)
    }
}

/// Refuse a report path inside the plugin directory `dir`: as written (the link itself, made
/// absolute through its nearest existing ancestor) and as resolved (where a symlink points).
pub fn inside_plugin_dir(path: &Path, dir: &Path) -> Result<()> {
    let Ok(dir) = fs::canonicalize(dir) else {
        return Ok(());
    };
    let resolved = fs::canonicalize(path).ok();
    if absolute(path)
        .iter()
        .chain(resolved.iter())
        .any(|p| p.starts_with(&dir))
    {
        bail!(
            "--output {}: inside the plugin directory {} (a report there could replace the plugin's executable or be taken for a plugin); write it elsewhere",
            path.display(),
            dir.display()
        );
    }
    Ok(())
}

/// `path` made absolute without following its last component: its nearest existing ancestor
/// resolved, the rest joined as written.
fn absolute(path: &Path) -> Option<PathBuf> {
    let path = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(path)
    };
    let mut rest: Vec<&std::ffi::OsStr> = Vec::new();
    let mut at = path.as_path();
    loop {
        if let Some(parent) = at.parent()
            && let Some(name) = at.file_name()
        {
            if let Ok(real) = fs::canonicalize(parent) {
                let mut out = real.join(name);
                out.extend(rest.iter().rev());
                return Some(out);
            }
            rest.push(name);
            at = parent;
        } else {
            return None;
        }
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
        ReportTarget::InPlace { path, file } => {
            let mut f = file;
            if f.metadata().is_ok_and(|m| m.is_file()) {
                f.set_len(0)
                    .with_context(|| format!("writing report {}", path.display()))?;
            }
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
        let target = fs::metadata(path)?;
        let file = open_in_place(path, &target)?;
        return write(
            &ReportTarget::InPlace {
                path: path.to_path_buf(),
                file,
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
