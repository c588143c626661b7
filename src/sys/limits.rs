//! Resource limits and usage: `RLIMIT_NOFILE` raised, soft limits for messages, peak RSS.

use std::io;

/// Raise the soft `RLIMIT_NOFILE` to the hard limit (as Go's runtime and nextest do), so that
/// execnet's own descriptors never run out before the plugin's. Returns (soft, hard) after.
pub fn raise_nofile_limit() -> io::Result<(u64, u64)> {
    // SAFETY: getrlimit/setrlimit with a valid struct.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return Err(io::Error::last_os_error());
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) != 0 {
                return Err(io::Error::last_os_error());
            }
            lim = raised;
        }
        Ok((lim.rlim_cur as u64, lim.rlim_max as u64))
    }
}

/// The soft limit of `resource` (`libc::RLIMIT_*`), for messages; `None` when unlimited.
pub fn soft_limit(resource: libc::__rlimit_resource_t) -> Option<u64> {
    // SAFETY: getrlimit with a valid struct.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        (libc::getrlimit(resource, &mut lim) == 0 && lim.rlim_cur != libc::RLIM_INFINITY)
            .then_some(lim.rlim_cur as u64)
    }
}

/// Peak resident set size of this process, in KiB.
pub fn peak_rss_kib() -> u64 {
    // SAFETY: getrusage fills the struct we pass.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) == 0 {
            usage.ru_maxrss.max(0) as u64
        } else {
            0
        }
    }
}
