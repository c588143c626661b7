//! The parent's own cost, for `execnet bench`: CPU clocks and a hardware instruction counter.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// Which CPU clock to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// Every thread of this process (`CLOCK_PROCESS_CPUTIME_ID`).
    Process,
    /// The calling thread only (`CLOCK_THREAD_CPUTIME_ID`).
    Thread,
}

/// CPU time consumed so far (user + system) on `clock`, with nanosecond resolution: the
/// scheduler's exact runtime, not tick sampling. Children are never included.
pub fn cpu_time(clock: Clock) -> Duration {
    let id = match clock {
        Clock::Process => libc::CLOCK_PROCESS_CPUTIME_ID,
        Clock::Thread => libc::CLOCK_THREAD_CPUTIME_ID,
    };
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec we own.
    if unsafe { libc::clock_gettime(id, &mut ts) } != 0 {
        return Duration::ZERO;
    }
    Duration::new(
        ts.tv_sec.max(0) as u64,
        ts.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}

/// User and system CPU time of the calling thread (`getrusage(RUSAGE_THREAD)`); the kernel
/// splits the exact runtime in the ratio of sampled ticks, so only long spans are meaningful.
pub fn thread_user_sys() -> (Duration, Duration) {
    // SAFETY: getrusage fills the struct we pass.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_THREAD, &mut usage) != 0 {
            return (Duration::ZERO, Duration::ZERO);
        }
        usage
    };
    let tv = |t: libc::timeval| {
        Duration::new(
            t.tv_sec.max(0) as u64,
            (t.tv_usec.clamp(0, 999_999) * 1000) as u32,
        )
    };
    (tv(usage.ru_utime), tv(usage.ru_stime))
}

/// What an [`InstructionCounter`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CounterScope {
    /// User and kernel instructions of the thread.
    UserKernel,
    /// User instructions only (`perf_event_paranoid` ≥ 2 forbids counting the kernel).
    User,
}

/// `struct perf_event_attr` up to `PERF_ATTR_SIZE_VER7` (128 bytes); fields after `flags` stay 0.
#[repr(C)]
struct PerfEventAttr {
    type_: u32,
    size: u32,
    config: u64,
    sample_period: u64,
    sample_type: u64,
    read_format: u64,
    flags: u64,
    rest: [u64; 10],
}

const PERF_TYPE_HARDWARE: u32 = 0;
const PERF_COUNT_HW_INSTRUCTIONS: u64 = 1;
const FLAG_EXCLUDE_KERNEL: u64 = 1 << 5;
const FLAG_EXCLUDE_HV: u64 = 1 << 6;

/// Retired instructions of the calling thread alone (`perf_event_open(pid 0, cpu -1)`, not
/// inherited): children and other threads are never counted. Absent on machines without
/// hardware counters (most VMs) or where perf events are forbidden.
#[derive(Debug)]
pub struct InstructionCounter {
    fd: OwnedFd,
    pub scope: CounterScope,
}

impl InstructionCounter {
    pub fn open() -> Option<Self> {
        [CounterScope::UserKernel, CounterScope::User]
            .into_iter()
            .find_map(|scope| Self::open_scoped(scope).ok())
    }

    fn open_scoped(scope: CounterScope) -> io::Result<Self> {
        let mut flags = FLAG_EXCLUDE_HV;
        if scope == CounterScope::User {
            flags |= FLAG_EXCLUDE_KERNEL;
        }
        let attr = PerfEventAttr {
            type_: PERF_TYPE_HARDWARE,
            size: std::mem::size_of::<PerfEventAttr>() as u32,
            config: PERF_COUNT_HW_INSTRUCTIONS,
            sample_period: 0,
            sample_type: 0,
            read_format: 0,
            flags,
            rest: [0; 10],
        };
        // SAFETY: attr is a valid, fully initialised perf_event_attr of the size it declares;
        // pid 0 / cpu -1 counts the calling thread; on success we own the returned descriptor.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_perf_event_open,
                &attr as *const PerfEventAttr,
                0 as libc::pid_t,
                -1 as libc::c_int,
                -1 as libc::c_int,
                libc::O_CLOEXEC as libc::c_ulong,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh descriptor owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
        let counter = InstructionCounter { fd, scope };
        // A counter that opens but never counts (some hypervisors) is no counter.
        counter
            .read()
            .filter(|&n| n > 0)
            .map(|_| counter)
            .ok_or_else(|| io::Error::other("instruction counter reads zero"))
    }

    /// Instructions counted since the counter was opened.
    pub fn read(&self) -> Option<u64> {
        let mut value = 0u64;
        // SAFETY: reading 8 bytes into a u64 we own from a perf event descriptor.
        let n = unsafe {
            libc::read(
                self.fd.as_raw_fd(),
                (&mut value as *mut u64).cast(),
                std::mem::size_of::<u64>(),
            )
        };
        (n == std::mem::size_of::<u64>() as isize).then_some(value)
    }
}
