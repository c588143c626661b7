//! One certification per plugin directory. A plugin's own state (IPAM files, locks, caches)
//! is the plugin's, as on a node, where one kubelet drives it; two runs at once would share
//! that state and judge each other's effects. `certify` therefore takes an exclusive `flock` on
//! the plugin directory itself (opened read-only; nothing is written into it). There are no lock files at all: no name in a shared
//! directory that another user could plant a symlink at. The lock ends with the process, however
//! it ends. Who holds it is read from `/proc/locks` (the holder's pid, by device and inode).

use std::fs::{File, TryLockError};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The held locks; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct DirLock {
    _file: File,
    /// The plugin directory's real path.
    pub path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("cannot resolve plugin directory {}: {source}", .dir.display())]
    Resolve {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot lock {}: {source}", .path.display())]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "another execnet run is certifying {} ({holder}); not waiting (--no-wait). A plugin's state is shared by every run on its directory",
        .dir.display()
    )]
    Busy { dir: PathBuf, holder: String },
}

/// `/proc/locks` names a file by `MAJOR:MINOR:INODE` (major and minor in hex, as the kernel's
/// `lock_get_status` prints them); glibc's encoding of `dev_t`.
fn proc_locks_key(meta: &std::fs::Metadata) -> String {
    let dev = meta.dev();
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    format!("{major:02x}:{minor:02x}:{}", meta.ino())
}

/// The pid holding a `flock` on the file, from `/proc/locks`.
fn holder_pid(meta: &std::fs::Metadata) -> Option<u32> {
    let key = proc_locks_key(meta);
    let text = std::fs::read_to_string("/proc/locks").ok()?;
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        // "1: FLOCK  ADVISORY  WRITE 11128 fe:00:5587091 0 EOF" (a "->" marks a waiter)
        if f.get(1) == Some(&"FLOCK") && f.get(5) == Some(&key.as_str()) {
            f[4].parse().ok()
        } else {
            None
        }
    })
}

fn lock_one(
    path: &Path,
    shown: &Path,
    wait: bool,
    on_wait: &mut dyn FnMut(&str),
) -> Result<File, LockError> {
    let file_err = |source| LockError::File {
        path: path.to_path_buf(),
        source,
    };
    // Read-only: a directory opens so, and an executable is never opened for writing (exec
    // would fail with ETXTBSY).
    let file = File::open(path).map_err(file_err)?;
    match file.try_lock() {
        Ok(()) => return Ok(file),
        Err(TryLockError::Error(e)) => return Err(file_err(e)),
        Err(TryLockError::WouldBlock) => {}
    }
    let holder = match file.metadata().ok().as_ref().and_then(holder_pid) {
        Some(pid) => format!("pid {pid}, {}", path.display()),
        None => format!("holder unknown, {}", path.display()),
    };
    if !wait {
        return Err(LockError::Busy {
            dir: shown.to_path_buf(),
            holder,
        });
    }
    on_wait(&holder);
    file.lock().map_err(file_err)?;
    Ok(file)
}

/// Take the lock for `plugin_dir`. When another run holds it: with `wait`, call `on_wait` with a
/// description of the holder and block until it is free; without, fail with [`LockError::Busy`].
pub fn acquire(
    plugin_dir: &Path,
    wait: bool,
    on_wait: &mut dyn FnMut(&str),
) -> Result<DirLock, LockError> {
    let real = std::fs::canonicalize(plugin_dir).map_err(|source| LockError::Resolve {
        dir: plugin_dir.to_path_buf(),
        source,
    })?;
    let file = lock_one(&real, &real, wait, on_wait)?;
    Ok(DirLock {
        _file: file,
        path: real,
    })
}

/// The plugin's real executable when it lies outside the (real) plugin directory: another
/// directory may link to it too, and its state (files beside it, a `flock "$0"`) is then shared
/// past the directory lock. execnet does not lock the executable (a plugin's own
/// `flock -n "$0"` would then fail), it says so.
pub fn executable_outside(plugin_dir: &Path, plugin: &str) -> Option<PathBuf> {
    let real = std::fs::canonicalize(plugin_dir).ok()?;
    let exe = std::fs::canonicalize(crate::plugin::name::executable_path(
        &real.join(crate::plugin::name::escape(plugin)),
        plugin,
    ))
    .ok()?;
    (!exe.starts_with(&real)).then_some(exe)
}
