//! The node sandbox: a network namespace and a mount namespace of execnet's, in which plugins run
//! as the kubelet ran them on a node. The calling thread enters both (so do every thread and
//! process it starts afterwards); inside: a fresh sysfs (as `ip netns exec` mounts it), `lo` up,
//! a tmpfs `/run` (`/var/run` reaches it) holding `netns/`, `lock/` and execnet's own
//! `execnet/` (the run id, the docker CLI), a private writable `/var/log`, and the vendor's files
//! (`--node-file`) in overlays of the directories they land in, so the machine's own files never
//! change. Nothing propagates out (`/` is made recursively private first).
//!
//! A record of the run (`/run/execnet/runs/RUN_ID.json` on the machine, outside the sandbox)
//! names the namespaces and the owner process so that `execnet gc` can remove what is left if
//! execnet itself dies; the owner removes it when it is done.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub use super::record::{RUNS_DIR, RunRecord};
use super::sys;
use crate::supervise::signals::OnSignal;

/// Inside the sandbox: execnet's own directory on the sandbox's `/run`.
pub const SANDBOX_DIR: &str = "/run/execnet";
/// Inside the sandbox: the file holding the run id (gc checks it through `/proc/PID/root`).
pub const RUN_ID_FILE: &str = "/run/execnet/run-id";
/// Inside the sandbox: the directory put first on the plugins' `PATH`.
pub const BIN_DIR: &str = "/run/execnet/bin";

/// A vendor file placed into the sandbox's view: `--node-file SRC:DEST`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeFile {
    pub source: PathBuf,
    pub dest: PathBuf,
}

impl NodeFile {
    /// Parse `SRC:DEST` (DEST absolute).
    pub fn parse(text: &str) -> Result<NodeFile, SandboxError> {
        let bad = |why: &str| SandboxError::BadNodeFile {
            spec: text.to_string(),
            why: why.to_string(),
        };
        let (src, dest) = text
            .rsplit_once(':')
            .ok_or_else(|| bad("expected SRC:DEST"))?;
        if src.is_empty() {
            return Err(bad("SRC is empty"));
        }
        let dest = PathBuf::from(dest);
        if !dest.is_absolute() || dest.parent().is_none_or(|p| p == Path::new("/")) {
            return Err(bad(
                "DEST must be an absolute path below a top-level directory",
            ));
        }
        if dest
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(bad("DEST must not contain `..`"));
        }
        Ok(NodeFile {
            source: PathBuf::from(src),
            dest,
        })
    }
}

/// Why the sandbox could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("--runtime netns needs {0} (run as root, or grant the capabilities)")]
    MissingPrivileges(String),
    #[error("bad --node-file {spec:?}: {why}")]
    BadNodeFile { spec: String, why: String },
    #[error("cannot read the --node-file source {}", .path.display())]
    NodeFileSource {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("sandbox: {what}")]
    Os {
        what: String,
        #[source]
        source: io::Error,
    },
    #[error("sandbox: `{command}` failed: {output}")]
    Command { command: String, output: String },
    #[error("--node-setup {command:?} failed ({status}); its output:\n{output}")]
    NodeSetup {
        command: String,
        status: String,
        output: String,
    },
}

fn os(what: impl Into<String>) -> impl FnOnce(io::Error) -> SandboxError {
    let what = what.into();
    move |source| SandboxError::Os { what, source }
}

/// A fresh run id: 8 hex digits from the kernel's random source.
pub fn new_run_id() -> String {
    let mut bytes = [0u8; 4];
    let _ = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| io::Read::read_exact(&mut f, &mut bytes));
    let mixed = u32::from_le_bytes(bytes) ^ std::process::id().rotate_left(16);
    format!("{mixed:08x}")
}

/// The node sandbox this thread is in.
#[derive(Debug)]
pub struct Sandbox {
    pub run_id: String,
    pub netns: u64,
    pub mntns: u64,
    /// `/run/execnet/runs` on the machine, opened before the sandbox hid it.
    runs_dir: Option<OwnedFd>,
    overlays: Vec<PathBuf>,
    /// The run's removal when a signal ends execnet, while the sandbox exists.
    on_signal: Option<OnSignal>,
    /// The init of the sandbox's PID namespace, where plugins run (`crate::sys::pidns`).
    init: Option<crate::sys::pidns::Init>,
}

/// Run a command, failing with its output.
pub(crate) fn run_cmd(cmd: &mut Command) -> Result<String, SandboxError> {
    let shown = format!("{cmd:?}").replace('"', "");
    let out = cmd.output().map_err(|e| SandboxError::Command {
        command: shown.clone(),
        output: e.to_string(),
    })?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    if out.status.success() {
        Ok(text)
    } else {
        Err(SandboxError::Command {
            command: shown,
            output: text.trim().to_string(),
        })
    }
}

/// Feed `ip -batch -` (one process for many link/address/route commands).
pub(crate) fn ip_batch(commands: &str) -> Result<(), SandboxError> {
    use std::io::Write;
    let mut child = Command::new("ip")
        .args(["-batch", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| SandboxError::Command {
            command: "ip -batch -".into(),
            output: e.to_string(),
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(commands.as_bytes());
    }
    let out = child.wait_with_output().map_err(os("ip -batch"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(SandboxError::Command {
            command: format!("ip -batch - <<< {:?}", commands.trim()),
            output: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

impl Sandbox {
    /// Enter a new sandbox on the calling thread. Call it before starting threads that must be
    /// inside (they inherit the namespaces of the thread that spawns them).
    pub fn enter(run_id: &str, node_files: &[NodeFile]) -> Result<Sandbox, SandboxError> {
        let missing = sys::missing_capabilities();
        if !missing.is_empty() {
            return Err(SandboxError::MissingPrivileges(missing.join(" and ")));
        }
        for f in node_files {
            let meta =
                std::fs::metadata(&f.source).map_err(|source| SandboxError::NodeFileSource {
                    path: f.source.clone(),
                    source,
                })?;
            // A FIFO or a device would block the copy (or never end): regular files only.
            if !meta.is_file() {
                return Err(SandboxError::BadNodeFile {
                    spec: format!("{}:{}", f.source.display(), f.dest.display()),
                    why: format!("{} is not a regular file", f.source.display()),
                });
            }
        }
        std::fs::create_dir_all(RUNS_DIR).map_err(os(format!("create {RUNS_DIR}")))?;
        let runs_dir: OwnedFd = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY)
            .open(RUNS_DIR)
            .map_err(os(format!("open {RUNS_DIR}")))?
            .into();

        sys::unshare(libc::CLONE_NEWNS | libc::CLONE_NEWNET).map_err(os("unshare"))?;
        let netns = sys::own_ns_inode("net").map_err(os("netns identity"))?;
        let mntns = sys::own_ns_inode("mnt").map_err(os("mntns identity"))?;
        let mut sandbox = Sandbox {
            run_id: run_id.to_string(),
            netns,
            mntns,
            runs_dir: Some(runs_dir),
            overlays: Vec::new(),
            on_signal: None,
            init: None,
        };
        let init = crate::sys::pidns::start().map_err(os("PID namespace"))?;
        crate::supervise::register_reaper(init.pid);
        sandbox.init = Some(init);
        sandbox.write_record()?;
        sandbox.mount_node(node_files)?;
        Ok(sandbox)
    }

    fn write_record(&mut self) -> Result<(), SandboxError> {
        let me = std::process::id();
        let record = RunRecord {
            run_id: self.run_id.clone(),
            owner_pid: me,
            owner_start: sys::start_time(me).unwrap_or(0),
            netns: self.netns,
            mntns: self.mntns,
        };
        let text = serde_json::to_string(&record).unwrap_or_default();
        self.on_signal = Some(super::signals::remove_on_signal(record));
        let path = Path::new(RUNS_DIR).join(format!("{}.json", self.run_id));
        std::fs::write(&path, text).map_err(os(format!("write {}", path.display())))
    }

    fn mount_node(&mut self, node_files: &[NodeFile]) -> Result<(), SandboxError> {
        let root = Path::new("/");
        sys::mount("none", root, None, libc::MS_REC | libc::MS_PRIVATE, None)
            .map_err(os("make / private"))?;
        // A fresh sysfs showing this namespace's interfaces, as `ip netns exec` mounts it
        // (iproute2 `lib/namespace.c` `netns_switch`: umount2("/sys", MNT_DETACH), then mount).
        let sys_dir = Path::new("/sys");
        let _ = crate::sys::umount_detach(sys_dir);
        sys::mount("sysfs", sys_dir, Some("sysfs"), 0, None).map_err(os("mount /sys"))?;
        let run = Path::new("/run");
        sys::mount(
            "tmpfs",
            run,
            Some("tmpfs"),
            libc::MS_NOSUID | libc::MS_NODEV,
            Some("mode=755"),
        )
        .map_err(os("mount tmpfs /run"))?;
        for (dir, mode) in [
            ("/run/netns", 0o755),
            ("/run/lock", 0o1777),
            ("/run/openvswitch", 0o755),
            (BIN_DIR, 0o755),
        ] {
            std::fs::create_dir_all(dir).map_err(os(format!("create {dir}")))?;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode));
        }
        std::fs::write(RUN_ID_FILE, &self.run_id).map_err(os("write run id"))?;
        // /var/run and /var/lock: symlinks into /run on Debian; bind mounts where they are not.
        for (var, target) in [("/var/run", "/run"), ("/var/lock", "/run/lock")] {
            let p = Path::new(var);
            match std::fs::symlink_metadata(p) {
                Ok(m) if m.file_type().is_symlink() => {}
                Ok(_) => sys::mount(target, p, None, libc::MS_BIND, None)
                    .map_err(os(format!("bind {target} on {var}")))?,
                Err(_) => {}
            }
        }
        let log = Path::new("/var/log");
        if log.is_dir() {
            sys::mount(
                "tmpfs",
                log,
                Some("tmpfs"),
                libc::MS_NOSUID | libc::MS_NODEV,
                Some("mode=755"),
            )
            .map_err(os("mount tmpfs /var/log"))?;
        }
        ip_batch("link set lo up\n")?;
        for f in node_files {
            self.place(f)?;
        }
        Ok(())
    }

    /// Put one vendor file into the sandbox's view through an overlay of the deepest existing
    /// directory it lands in (mounts below that directory are bound back on top).
    fn place(&mut self, f: &NodeFile) -> Result<(), SandboxError> {
        let parent = f.dest.parent().unwrap_or(Path::new("/"));
        let mut anchor = parent.to_path_buf();
        while !anchor.is_dir() {
            match anchor.parent() {
                Some(p) => anchor = p.to_path_buf(),
                None => break,
            }
        }
        if anchor == Path::new("/") {
            return Err(SandboxError::BadNodeFile {
                spec: format!("{}:{}", f.source.display(), f.dest.display()),
                why: "DEST must be below an existing top-level directory".into(),
            });
        }
        if !self.overlays.iter().any(|o| anchor.starts_with(o)) {
            self.overlay(&anchor)?;
        }
        std::fs::create_dir_all(parent).map_err(os(format!("create {}", parent.display())))?;
        let _ = std::fs::remove_file(&f.dest);
        std::fs::copy(&f.source, &f.dest).map_err(|source| SandboxError::NodeFileSource {
            path: f.source.clone(),
            source,
        })?;
        Ok(())
    }

    fn overlay(&mut self, dir: &Path) -> Result<(), SandboxError> {
        let n = self.overlays.len();
        let base = PathBuf::from(format!("{SANDBOX_DIR}/overlay/{n}"));
        let (upper, work) = (base.join("upper"), base.join("work"));
        for d in [&upper, &work] {
            std::fs::create_dir_all(d).map_err(os(format!("create {}", d.display())))?;
        }
        // Mounts below `dir` (e.g. /etc/resolv.conf) are hidden by the overlay: hold them by an
        // O_PATH descriptor and bind them back afterwards.
        let below = submounts(dir);
        let held: Vec<(PathBuf, OwnedFd)> = below
            .into_iter()
            .filter_map(|mp| {
                std::fs::OpenOptions::new()
                    .read(true)
                    .custom_flags(libc::O_PATH)
                    .open(&mp)
                    .ok()
                    .map(|f| (mp, OwnedFd::from(f)))
            })
            .collect();
        let data = format!(
            "lowerdir={},upperdir={},workdir={}",
            dir.display(),
            upper.display(),
            work.display()
        );
        sys::mount("overlay", dir, Some("overlay"), 0, Some(&data))
            .map_err(os(format!("overlay {}", dir.display())))?;
        for (mp, fd) in held {
            let src = format!("/proc/self/fd/{}", fd.as_raw_fd());
            let _ = sys::mount(&src, &mp, None, libc::MS_BIND | libc::MS_REC, None);
        }
        self.overlays.push(dir.to_path_buf());
        Ok(())
    }

    /// Every process in this sandbox but the calling one: those in its mount namespace or its
    /// network namespace.
    pub fn processes(&self) -> Vec<u32> {
        // Never the machine's own namespaces (a guard: the sandbox is always fresh ones).
        if sys::ns_inode(1, "mnt").is_ok_and(|i| i == self.mntns)
            || sys::ns_inode(1, "net").is_ok_and(|i| i == self.netns)
        {
            return Vec::new();
        }
        sys::all_pids()
            .into_iter()
            .filter(|&p| {
                sys::ns_inode(p, "mnt").is_ok_and(|i| i == self.mntns)
                    || sys::ns_inode(p, "net").is_ok_and(|i| i == self.netns)
            })
            .collect()
    }

    /// SIGKILL every process of the sandbox (plugin daemons, pause processes, Open vSwitch)
    /// until none is left or `within` passes; reap those that are our children.
    pub fn kill_all(&self, within: Duration) -> Vec<u32> {
        let deadline = Instant::now() + within;
        let mut killed = Vec::new();
        loop {
            let left = self.processes();
            if left.is_empty() || Instant::now() >= deadline {
                return killed;
            }
            for &p in &left {
                sys::kill(p, libc::SIGKILL);
                if !killed.contains(&p) {
                    killed.push(p);
                }
            }
            for &p in &left {
                sys::try_reap(p);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Kill everything and remove the run record: the end of the run.
    pub fn close(&mut self) -> Vec<u32> {
        crate::sys::pidns::stop();
        let killed = self.kill_all(Duration::from_secs(5));
        if let Some(dir) = self.runs_dir.take() {
            self.on_signal = None;
            crate::sys::unlink_at(
                std::os::fd::AsFd::as_fd(&dir),
                &format!("{}.json", self.run_id),
            );
        }
        if let Some(init) = self.init.take() {
            crate::supervise::forget_reaper(init.pid);
        }
        killed
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.close();
    }
}

/// The top-level mount points strictly below `dir`, from this thread's mount table.
fn submounts(dir: &Path) -> Vec<PathBuf> {
    let text = std::fs::read_to_string("/proc/thread-self/mountinfo").unwrap_or_default();
    let mut points: Vec<PathBuf> = text
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| PathBuf::from(unescape_mountinfo(p)))
        .filter(|p| p != dir && p.starts_with(dir))
        .collect();
    points.sort();
    points.dedup();
    let mut top: Vec<PathBuf> = Vec::new();
    for p in points {
        if !top.iter().any(|t| p.starts_with(t)) {
            top.push(p);
        }
    }
    top
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_file_specs() {
        let f = NodeFile::parse("a/config.env:/etc/openshift-sdn/config.env").unwrap();
        assert_eq!(f.source, PathBuf::from("a/config.env"));
        assert_eq!(f.dest, PathBuf::from("/etc/openshift-sdn/config.env"));
        for bad in ["nocolon", ":/etc/x", "a:relative/x", "a:/x", "a:/etc/../x"] {
            let err = NodeFile::parse(bad).unwrap_err().to_string();
            assert!(err.contains(bad), "{err}");
        }
    }

    #[test]
    fn mountinfo_escapes() {
        assert_eq!(unescape_mountinfo(r"/a\040b"), "/a b");
        assert_eq!(unescape_mountinfo(r"/plain"), "/plain");
    }
}
