//! The netns runtime's namespace and mount system calls: `unshare`, `setns`, `mount`, `umount2`,
//! and `unlinkat` for the run record.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn cstr(s: &str) -> io::Result<CString> {
    CString::new(s).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))
}

/// `unshare(2)` for the calling thread (namespaces are per thread; threads spawned afterwards
/// and child processes inherit them).
pub fn unshare(flags: libc::c_int) -> io::Result<()> {
    // SAFETY: unshare only changes the calling thread's namespace membership.
    check(unsafe { libc::unshare(flags) })
}

/// `mount(2)`.
pub fn mount(
    source: &str,
    target: &Path,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
) -> io::Result<()> {
    let source = cstr(source)?;
    let target = cstr(&target.to_string_lossy())?;
    let fstype = fstype.map(cstr).transpose()?;
    let data = data.map(cstr).transpose()?;
    // SAFETY: every pointer is a valid NUL-terminated string or null.
    check(unsafe {
        libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            fstype.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            flags,
            data.as_ref()
                .map_or(std::ptr::null(), |s| s.as_ptr().cast::<libc::c_void>()),
        )
    })
}

/// `setns(2)` for the calling thread.
pub fn setns(fd: &OwnedFd, nstype: libc::c_int) -> io::Result<()> {
    // SAFETY: fd is an open namespace descriptor.
    check(unsafe { libc::setns(fd.as_raw_fd(), nstype) })
}

/// `umount2(path, MNT_DETACH)`.
pub fn umount_detach(path: &Path) -> io::Result<()> {
    let c = CString::new(path.to_string_lossy().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: a valid NUL-terminated path.
    check(unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) })
}

/// `unlinkat(dir, name, 0)`: remove `name` in the directory `dir` was opened on (whatever path
/// leads there now). Errors are ignored, as a record already gone is no error.
pub fn unlink_at(dir: BorrowedFd<'_>, name: &str) {
    let name = CString::new(name).unwrap_or_default();
    // SAFETY: unlinkat with a valid directory descriptor and a NUL-terminated name.
    unsafe {
        libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), 0);
    }
}
