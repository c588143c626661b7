//! The mark every process of a run carries: `EXECNET_OWNER=PID:START` in its environment (the
//! owning execnet's pid and start time), inherited by every plugin process and whatever it
//! starts (`setsid`, double forks, daemons re-parented to PID 1). When execnet is killed before
//! it could clean up (`kill -9 $PPID` from a plugin), `execnet gc` finds the processes whose
//! owner is gone by reading `/proc/PID/environ` and kills them. A plugin that clears its
//! environment (`env -i`) drops the mark; the netns runtime's PID namespace needs none.

/// The environment variable.
pub const VAR: &str = "EXECNET_OWNER";

/// Mark this process's environment (children inherit it). Call at the very start of `main`,
/// before any thread exists.
pub fn mark() {
    let me = std::process::id();
    let start = crate::runtime::netns::sys::start_time(me).unwrap_or(0);
    // SAFETY: called first thing in `main`, while the process has one thread: nothing reads or
    // writes the environment concurrently.
    unsafe { std::env::set_var(VAR, format!("{me}:{start}")) };
}

/// The owner named by a process's environment bytes (`/proc/PID/environ`), if any.
pub fn owner_in(environ: &[u8]) -> Option<(u32, u64)> {
    let prefix = format!("{VAR}=");
    environ.split(|&b| b == 0).find_map(|entry| {
        let value = std::str::from_utf8(entry.strip_prefix(prefix.as_bytes())?).ok()?;
        let (pid, start) = value.split_once(':')?;
        Some((pid.parse().ok()?, start.parse().ok()?))
    })
}

/// `kill(2)`, with its error.
pub fn kill(pid: u32, signal: libc::c_int) -> std::io::Result<()> {
    // SAFETY: kill(2) has no memory effects.
    if unsafe { libc::kill(pid as libc::pid_t, signal) } < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The per-call mark: `EXECNET_CALL=ID` in the environment of every process of one plugin call
/// (set by the supervisor in the call's [`crate::plugin::policy::PluginEnv`]), inherited by
/// whatever the call starts. A leftover found while several calls are in flight is charged to
/// the call whose mark it carries.
pub const CALL_VAR: &str = "EXECNET_CALL";

/// The call named by a process's environment bytes (`/proc/PID/environ`), if any.
pub fn call_in(environ: &[u8]) -> Option<&str> {
    let prefix = format!("{CALL_VAR}=");
    environ
        .split(|&b| b == 0)
        .find_map(|entry| std::str::from_utf8(entry.strip_prefix(prefix.as_bytes())?).ok())
}

/// The call mark of process `pid` (`None`: no mark, or its environment is unreadable or gone).
pub fn call_of(pid: i32) -> Option<String> {
    let environ = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    call_in(&environ).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_is_read_from_an_environment_block() {
        assert_eq!(
            owner_in(b"A=1\0EXECNET_OWNER=12:345\0B=2\0"),
            Some((12, 345))
        );
        assert_eq!(owner_in(b"A=1\0XEXECNET_OWNER=12:345\0"), None);
        assert_eq!(owner_in(b"EXECNET_OWNER=12\0"), None);
    }

    #[test]
    fn a_call_mark_is_read_from_an_environment_block() {
        assert_eq!(call_in(b"A=1\0EXECNET_CALL=7-3\0B=2\0"), Some("7-3"));
        assert_eq!(call_in(b"A=1\0XEXECNET_CALL=7-3\0"), None);
        assert_eq!(call_in(b"EXECNET_CALLS=1\0"), None);
    }
}
