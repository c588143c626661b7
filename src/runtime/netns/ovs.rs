//! Open vSwitch on demand (`--ovs`): Debian's `openvswitch-switch` daemons with the userspace
//! datapath (no kernel module), their database created fresh for the run under the sandbox's
//! `/run/openvswitch` (never Debian's `/etc/openvswitch/conf.db`), sockets there too and logs
//! under the sandbox's `/var/log/openvswitch`, so plain `ovs-vsctl`/`ovs-ofctl` in the sandbox
//! reach them. `other_config:userspace-tso-enable=true` is set before `ovs-vswitchd` starts:
//! without it TCP to a pod over the userspace datapath fails for plugins that rebuild `eth0`.
//! Both daemons are children of execnet that die with it (`PR_SET_PDEATHSIG`) and stop with the
//! run.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::sandbox::{SandboxError, run_cmd};

const RUN: &str = "/run/openvswitch";
const DB: &str = "/run/openvswitch/conf.db";
const DB_SOCK: &str = "/run/openvswitch/db.sock";
const LOG_DIR: &str = "/var/log/openvswitch";
/// Where Debian ships the schema.
const SCHEMA: &str = "/usr/share/openvswitch/vswitch.ovsschema";

/// The two running daemons.
#[derive(Debug)]
pub struct Ovs {
    ovsdb: Option<Child>,
    vswitchd: Option<Child>,
}

fn daemon(program: &str, args: &[&str]) -> Result<Child, SandboxError> {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // The daemon dies with the thread that started it (the run's main thread, which outlives
    // the run).
    crate::sys::die_with_parent(&mut cmd);
    cmd.spawn().map_err(|e| SandboxError::Command {
        command: program.to_string(),
        output: format!("{e} (is Debian's openvswitch-switch installed?)"),
    })
}

fn wait_for(path: &str, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if Path::new(path).exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

impl Ovs {
    /// Create the database and start `ovsdb-server`, then `ovs-vswitchd --disable-system`.
    pub fn start() -> Result<Ovs, SandboxError> {
        for d in [RUN, LOG_DIR] {
            std::fs::create_dir_all(d).map_err(|source| SandboxError::Os {
                what: format!("create {d}"),
                source,
            })?;
        }
        run_cmd(Command::new("ovsdb-tool").args(["create", DB, SCHEMA]))?;
        let mut ovs = Ovs {
            ovsdb: None,
            vswitchd: None,
        };
        ovs.ovsdb = Some(daemon(
            "ovsdb-server",
            &[
                DB,
                &format!("--remote=punix:{DB_SOCK}"),
                "--remote=db:Open_vSwitch,Open_vSwitch,manager_options",
                &format!("--pidfile={RUN}/ovsdb-server.pid"),
                &format!("--log-file={LOG_DIR}/ovsdb-server.log"),
            ],
        )?);
        if !wait_for(DB_SOCK, Duration::from_secs(10)) {
            return Err(SandboxError::Command {
                command: "ovsdb-server".into(),
                output: format!("{DB_SOCK} did not appear within 10s"),
            });
        }
        run_cmd(Command::new("ovs-vsctl").args([
            "--no-wait",
            "--",
            "init",
            "--",
            "set",
            "Open_vSwitch",
            ".",
            "other_config:userspace-tso-enable=true",
        ]))?;
        ovs.vswitchd = Some(daemon(
            "ovs-vswitchd",
            &[
                &format!("unix:{DB_SOCK}"),
                "--disable-system",
                &format!("--pidfile={RUN}/ovs-vswitchd.pid"),
                &format!("--log-file={LOG_DIR}/ovs-vswitchd.log"),
            ],
        )?);
        // Wait until ovs-vswitchd has applied the configuration.
        run_cmd(Command::new("ovs-vsctl").args([
            "--timeout=20",
            "--",
            "set",
            "Open_vSwitch",
            ".",
            "external_ids:execnet=1",
        ]))?;
        Ok(ovs)
    }

    /// SIGTERM both daemons, SIGKILL after a grace, and reap them.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        for child in [self.vswitchd.take(), self.ovsdb.take()]
            .into_iter()
            .flatten()
        {
            stop_child(child);
        }
    }
}

fn stop_child(mut child: Child) {
    super::sys::kill(child.id(), libc::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for Ovs {
    fn drop(&mut self) {
        self.shutdown();
    }
}
