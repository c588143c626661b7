//! File questions `std` does not ask: `access(2)` (permission as the kernel would judge an
//! `open` or `exec` by this process), and which file this process's stdout is.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// `access(path, mode)` (`libc::X_OK`, `libc::W_OK`…) succeeds. False for a path with a NUL byte.
pub fn access(path: &Path, mode: libc::c_int) -> bool {
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: c is a valid NUL-terminated path; access reads nothing else.
    unsafe { libc::access(c.as_ptr(), mode) == 0 }
}

/// The device and inode of the file on descriptor 1 (`fstat(1)`), `None` when it is closed.
pub fn stdout_identity() -> Option<(u64, u64)> {
    // SAFETY: an all-zero `stat` is a valid value of the plain C struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat writes into the struct we own.
    (unsafe { libc::fstat(1, &mut st) } == 0).then_some((st.st_dev, st.st_ino))
}
