//! One certification per plugin directory. A plugin's own state (IPAM files, locks, caches)
//! is the plugin's, as on a node, where one kubelet drives it; two runs at once would share
//! that state and judge each other's effects. `certify` therefore takes an exclusive `flock`
//! on a lock file keyed by the plugin directory's real path. The lock file lives outside the
//! plugin directory (execnet never writes into it): `$EXECNET_LOCK_DIR`, else
//! `$XDG_RUNTIME_DIR/execnet-locks`, else `/tmp/execnet-locks` (mode 1777, like `/tmp`). The lock
//! files stay (empty but for the holder's pid and path) and are reused; the lock itself ends
//! with the process, however it ends.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct DirLock {
    _file: File,
    pub path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("cannot resolve plugin directory {dir}: {source}")]
    Resolve {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot use lock file {path}: {source}")]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "another execnet run is certifying {dir} ({holder}); not waiting (--no-wait). A plugin's state is shared by every run on its directory"
    )]
    Busy { dir: PathBuf, holder: String },
}

/// Where lock files live.
pub fn lock_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("EXECNET_LOCK_DIR") {
        return PathBuf::from(d);
    }
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d).join("execnet-locks"),
        _ => PathBuf::from("/tmp/execnet-locks"),
    }
}

/// FNV-1a, 64 bits: a stable name for a path (std's hasher may change between releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn flock(file: &File, nonblocking: bool) -> std::io::Result<()> {
    let op = libc::LOCK_EX | if nonblocking { libc::LOCK_NB } else { 0 };
    loop {
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
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
    let dir = lock_dir();
    let path = dir.join(format!("{:016x}.lock", fnv1a(real.as_os_str().as_bytes())));
    let file_err = |source| LockError::File {
        path: path.clone(),
        source,
    };
    if !dir.is_dir() {
        std::fs::create_dir_all(&dir).map_err(file_err)?;
        if dir.starts_with("/tmp") {
            // Shared like /tmp: any user may lock, nobody may remove another's file.
            let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777));
        }
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o666)
        .open(&path)
        .map_err(file_err)?;
    if let Err(e) = flock(&file, true) {
        if e.raw_os_error() != Some(libc::EWOULDBLOCK) {
            return Err(file_err(e));
        }
        let mut holder = String::new();
        let _ = file.read_to_string(&mut holder);
        let holder = match holder.lines().next() {
            Some(l) if !l.is_empty() => l.to_string(),
            _ => "holder unknown".to_string(),
        };
        if !wait {
            return Err(LockError::Busy { dir: real, holder });
        }
        on_wait(&holder);
        flock(&file, false).map_err(file_err)?;
    }
    // Who holds it, for the next one's message.
    let _ = file.set_len(0);
    let _ = file.rewind();
    let _ = writeln!(file, "pid {}, {}", std::process::id(), real.display());
    Ok(DirLock { _file: file, path })
}
