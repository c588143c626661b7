//! The per-thread alarm: a watchdog thread that interrupts a thread's blocking `read`/`waitpid`
//! when its call's deadline passes.

/// The signal of the [`Alarm`]s: `SIGURG`, which nothing in execnet otherwise sees (it comes
/// only from sockets given an owner with `F_SETOWN`, and its default action is to ignore it; Go's
/// runtime picked it for the same reason). Not a real-time signal: `tgkill` of one is refused
/// (`EAGAIN`) once the user's queued signals reach `RLIMIT_SIGPENDING`, which would leave a
/// blocked call with no timeout; a standard signal is always delivered.
fn alarm_signal() -> libc::c_int {
    libc::SIGURG
}

thread_local! {
    /// Set by the alarm's handler; cleared when the alarm is armed. A thread-local static
    /// because a signal handler can reach nothing else (and a `const` one is async-signal-safe).
    static ALARM_FIRED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// This thread's alarm, made on first use (`None` if the system refused one).
    static ALARM: Option<Alarm> = Alarm::new();
}

extern "C" fn on_alarm(_: libc::c_int) {
    // Async-signal-safe: a store to a `const`-initialised thread-local cell.
    ALARM_FIRED.with(|f| f.set(true));
}

/// A thread's alarm word: [`IDLE`], [`SENDING`] (the watchdog is signalling the thread), a
/// deadline, or [`SIGNALED`] with the time of the last signal. Times are nanoseconds since
/// [`epoch`], plus [`FIRST_TIME`] so that they never collide with the two states.
const IDLE: u64 = 0;
const SENDING: u64 = 1;
const FIRST_TIME: u64 = 2;
const SIGNALED: u64 = 1 << 63;

/// The origin of alarm times, shared by the watchdog and every thread (one per process, as the
/// watchdog is).
fn epoch() -> std::time::Instant {
    static EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(std::time::Instant::now)
}

fn alarm_now() -> u64 {
    (epoch().elapsed().as_nanos() as u64).saturating_add(FIRST_TIME) & !SIGNALED
}

/// One thread's alarm as the watchdog sees it.
#[derive(Debug)]
struct AlarmSlot {
    tid: libc::pid_t,
    word: std::sync::atomic::AtomicU64,
    /// Nanoseconds between signals while the alarm stays armed.
    period: std::sync::atomic::AtomicU64,
}

/// The thread that fires every thread's alarm: it sleeps until the earliest deadline, signals
/// the threads whose deadline passed (again every period until they disarm), and sleeps
/// without a timeout while no alarm is armed. Arming and disarming are atomic stores, no
/// system call: a call that ends before its deadline costs the watchdog nothing either.
#[derive(Debug)]
struct Watchdog {
    slots: std::sync::Mutex<Vec<std::sync::Arc<AlarmSlot>>>,
    /// When the watchdog will look next (`u64::MAX`: not until woken).
    planned: std::sync::atomic::AtomicU64,
    /// Bumped (with a notify) to wake the watchdog early.
    wake: std::sync::Mutex<u64>,
    cv: std::sync::Condvar,
}

/// The watchdog, started on the first alarm: one per process, because the alarm signal's
/// disposition is the process's (installed once) and one thread serves every thread's alarm.
fn watchdog() -> Option<&'static Watchdog> {
    static WATCHDOG: std::sync::OnceLock<Option<&'static Watchdog>> = std::sync::OnceLock::new();
    *WATCHDOG.get_or_init(|| {
        let sig = alarm_signal();
        // SAFETY: a zeroed sigaction with a valid handler and an empty mask; no SA_RESTART on
        // purpose (see `Alarm`).
        let installed = unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_alarm as *const () as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            sa.sa_flags = 0;
            libc::sigaction(sig, &sa, std::ptr::null_mut()) == 0
        };
        if !installed {
            return None;
        }
        let w: &'static Watchdog = Box::leak(Box::new(Watchdog {
            slots: std::sync::Mutex::new(Vec::new()),
            planned: std::sync::atomic::AtomicU64::new(u64::MAX),
            wake: std::sync::Mutex::new(0),
            cv: std::sync::Condvar::new(),
        }));
        std::thread::Builder::new()
            .name("execnet-alarm".into())
            .spawn(move || w.run())
            .ok()
            .map(|_| w)
    })
}

impl Watchdog {
    fn run(&self) {
        use std::sync::atomic::Ordering::SeqCst;
        // SAFETY: getpid has no preconditions.
        let pid = unsafe { libc::getpid() };
        loop {
            let generation = *self.wake.lock().unwrap_or_else(|e| e.into_inner());
            let next = self.fire_due(pid);
            // Publish the plan, then look again: an alarm armed meanwhile either sees the plan
            // (and wakes us if it is due earlier) or is seen here (both sides are SeqCst).
            self.planned.store(next, SeqCst);
            if self.fire_due(pid) < next {
                continue;
            }
            let guard = self.wake.lock().unwrap_or_else(|e| e.into_inner());
            if *guard != generation {
                continue;
            }
            if next == u64::MAX {
                drop(self.cv.wait(guard));
            } else {
                let wait = std::time::Duration::from_nanos(next.saturating_sub(alarm_now()));
                drop(self.cv.wait_timeout(guard, wait));
            }
        }
    }

    /// Signal every thread whose alarm is due; the next moment one is (`u64::MAX`: none armed).
    fn fire_due(&self, pid: libc::pid_t) -> u64 {
        use std::sync::atomic::Ordering::SeqCst;
        let now = alarm_now();
        let mut next = u64::MAX;
        let slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        for slot in slots.iter() {
            let word = slot.word.load(SeqCst);
            if word == IDLE || word == SENDING {
                continue;
            }
            let period = slot.period.load(SeqCst);
            let due = if word & SIGNALED != 0 {
                (word & !SIGNALED).saturating_add(period)
            } else {
                word
            };
            if due > now {
                next = next.min(due);
                continue;
            }
            if slot
                .word
                .compare_exchange(word, SENDING, SeqCst, SeqCst)
                .is_ok()
            {
                // SAFETY: tgkill to a thread of this process that is registered (so alive: a
                // thread unregisters under this lock before it exits).
                let sent =
                    unsafe { libc::syscall(libc::SYS_tgkill, pid, slot.tid, alarm_signal()) } == 0;
                // Not sent (a standard signal is never refused for a full queue; be safe): the
                // deadline stays due and is tried again on the next pass.
                slot.word
                    .store(if sent { SIGNALED | now } else { word }, SeqCst);
                next = next.min(if sent {
                    now.saturating_add(period)
                } else {
                    now
                });
            }
        }
        next
    }

    fn wake(&self) {
        let mut generation = self.wake.lock().unwrap_or_else(|e| e.into_inner());
        *generation = generation.wrapping_add(1);
        self.cv.notify_one();
    }
}

/// A per-thread alarm that interrupts the thread's blocking `read`/`waitpid` (its handler is
/// installed without `SA_RESTART`, so they fail with `EINTR`). It lets a call be awaited with
/// the same blocking `read` and `waitpid` as a bare spawn, instead of `poll` with a timeout,
/// while still bounding the wait. One watchdog thread fires the alarms of all threads; arming
/// and disarming are atomic stores. The signal repeats every period while the alarm is armed,
/// so one that lands between checking [`Alarm::fired`] and blocking only delays the wake by a
/// period; and [`Alarm::disarm`] returns only once no signal can be on its way.
#[derive(Debug)]
pub struct Alarm {
    watchdog: &'static Watchdog,
    slot: std::sync::Arc<AlarmSlot>,
}

impl Alarm {
    fn new() -> Option<Alarm> {
        let watchdog = watchdog()?;
        // SAFETY: the signal is unblocked in this thread only; gettid has no preconditions.
        let tid = unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, alarm_signal());
            if libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()) != 0 {
                return None;
            }
            libc::gettid()
        };
        let slot = std::sync::Arc::new(AlarmSlot {
            tid,
            word: std::sync::atomic::AtomicU64::new(IDLE),
            period: std::sync::atomic::AtomicU64::new(0),
        });
        watchdog
            .slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(slot.clone());
        Some(Alarm { watchdog, slot })
    }

    /// Run `f` with this thread's alarm (`None` when it has none).
    pub fn with<R>(f: impl FnOnce(Option<&Alarm>) -> R) -> R {
        ALARM.with(|a| f(a.as_ref()))
    }

    /// Fire every `period` from now on; clears [`Alarm::fired`].
    pub fn arm(&self, period: std::time::Duration) {
        use std::sync::atomic::Ordering::SeqCst;
        ALARM_FIRED.with(|f| f.set(false));
        let period = (period.as_nanos() as u64).max(1);
        let deadline = alarm_now().saturating_add(period) & !SIGNALED;
        self.slot.period.store(period, SeqCst);
        self.slot.word.store(deadline, SeqCst);
        if deadline < self.watchdog.planned.load(SeqCst) {
            self.watchdog.wake();
        }
    }

    /// Stop firing. Waits out a signal being sent, and takes one already sent (a system call
    /// returns through the handler), so no later call on this thread is interrupted by it.
    pub fn disarm(&self) {
        use std::sync::atomic::Ordering::SeqCst;
        loop {
            let word = self.slot.word.load(SeqCst);
            if word == SENDING {
                std::thread::yield_now();
                continue;
            }
            if self
                .slot
                .word
                .compare_exchange(word, IDLE, SeqCst, SeqCst)
                .is_ok()
            {
                if word & SIGNALED != 0 {
                    // SAFETY: getppid has no preconditions; its return to user space runs the
                    // handler of a signal pending for this thread.
                    unsafe {
                        libc::getppid();
                    }
                }
                return;
            }
        }
    }

    /// Whether the alarm fired since it was armed.
    pub fn fired(&self) -> bool {
        ALARM_FIRED.with(|f| f.get())
    }
}

impl Drop for Alarm {
    fn drop(&mut self) {
        self.disarm();
        self.watchdog
            .slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|s| !std::sync::Arc::ptr_eq(s, &self.slot));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::time::Duration;

    /// A blocking `read` on a pipe nobody writes to, bounded by this thread's alarm:
    /// `Err(EINTR)` when the alarm ended it.
    fn read_blocking(fd: libc::c_int) -> Result<usize, i32> {
        let mut buf = [0u8; 16];
        // SAFETY: read into a live buffer of the given length.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            Ok(n as usize)
        } else {
            Err(io::Error::last_os_error().raw_os_error().unwrap_or(0))
        }
    }

    fn pipe() -> (OwnedFd, OwnedFd) {
        let mut fds = [0; 2];
        // SAFETY: pipe2 writes two new descriptors into `fds`, owned below.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        // SAFETY: both are fresh descriptors nobody else owns.
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
    }

    #[test]
    fn the_alarm_ends_a_blocking_read_and_repeats_until_disarmed() {
        let (r, _w) = pipe();
        Alarm::with(|alarm| {
            let alarm = alarm.expect("an alarm");
            let start = std::time::Instant::now();
            alarm.arm(Duration::from_millis(20));
            assert_eq!(read_blocking(r.as_raw_fd()), Err(libc::EINTR));
            assert!(alarm.fired());
            assert!(
                start.elapsed() >= Duration::from_millis(20),
                "{:?}",
                start.elapsed()
            );
            // Still armed: the next blocking read is ended too (the signal repeats).
            assert_eq!(read_blocking(r.as_raw_fd()), Err(libc::EINTR));
            alarm.disarm();
            assert!(alarm.fired());
            alarm.arm(Duration::from_secs(60));
            assert!(!alarm.fired(), "arming clears the flag");
            alarm.disarm();
        });
    }

    /// However a signal races the end of a wait, once `disarm` has returned nothing interrupts
    /// the thread: a blocking read then waits for its data. Four threads, each alarm firing
    /// around the moment it is disarmed.
    #[test]
    fn nothing_interrupts_a_thread_after_disarm() {
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                std::thread::spawn(move || {
                    let mut interrupted = 0;
                    for i in 0..150u64 {
                        let (r, w) = pipe();
                        Alarm::with(|alarm| {
                            let alarm = alarm.expect("an alarm");
                            let period = Duration::from_micros(200 + (i * 37 + t * 101) % 900);
                            alarm.arm(period);
                            std::thread::sleep(period + Duration::from_micros((i * 13) % 300));
                            alarm.disarm();
                            interrupted += usize::from(alarm.fired());
                        });
                        let writer = std::thread::spawn(move || {
                            std::thread::sleep(Duration::from_millis(3));
                            // SAFETY: write one byte from a live buffer to our pipe.
                            unsafe { libc::write(w.as_raw_fd(), b"x".as_ptr().cast(), 1) };
                        });
                        assert_eq!(read_blocking(r.as_raw_fd()), Ok(1), "thread {t} round {i}");
                        writer.join().unwrap();
                    }
                    interrupted
                })
            })
            .collect();
        let fired: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        // The alarms did fire around the disarm (the race was run), most of the time.
        assert!(fired > 100, "only {fired} of 600 alarms fired");
    }
}
