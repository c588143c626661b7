//! Signal masks for the signal-handling thread: block a set, wait for one of it, and `_exit`.

use std::io;

/// A set of signals, for [`block_signals`] and [`wait_signal`].
fn sigset(signals: &[libc::c_int]) -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset initialise and fill the set we own.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &s in signals {
            libc::sigaddset(&mut set, s);
        }
        set
    }
}

/// Block `signals` in the calling thread (and so in every thread it creates afterwards). `std`
/// resets the mask of spawned children, so plugins still receive them.
pub fn block_signals(signals: &[libc::c_int]) -> io::Result<()> {
    let set = sigset(signals);
    // SAFETY: a valid set; the old mask is not wanted.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(rc))
    }
}

/// Wait for one of `signals` (which must be blocked) and return it.
pub fn wait_signal(signals: &[libc::c_int]) -> libc::c_int {
    let set = sigset(signals);
    loop {
        let mut sig: libc::c_int = 0;
        // SAFETY: a valid set and out-pointer.
        if unsafe { libc::sigwait(&set, &mut sig) } == 0 {
            return sig;
        }
    }
}

/// End the process now with `code`, running no destructors and flushing nothing.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and touches no Rust state.
    unsafe { libc::_exit(code) }
}
