//! `--runtime netns`: the real runtime. [`NetnsRuntime::start`] puts the calling thread into a
//! new node sandbox ([`sandbox`]), runs the vendor's node setup, makes the docker bridge, starts
//! Open vSwitch on demand ([`ovs`]) and the APIs plugins read (the Engine API on
//! `/var/run/docker.sock`, [`docker`]; the kubelet's read-only API on `127.0.0.1:10255`,
//! [`kubeapi`]); it then creates infra containers as pause processes in their own network
//! namespaces ([`infra`]). Everything is named with the run id and removed when the runtime is
//! dropped; [`gc`] removes what a dead execnet left.

pub mod docker;
pub mod gc;
pub mod infra;
pub mod kubeapi;
pub mod observe;
pub mod ovs;
pub mod record;
pub mod sandbox;
pub mod servers;
pub mod signals;
pub mod sys;

use std::net::Ipv4Addr;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use self::docker::model::{ContainerRecord, PodRecord, Registry, docker_name};
use self::infra::{PodCidr, VethNames};
use self::sandbox::{NodeFile, Sandbox, SandboxError};
use super::{ContainerRuntime, InfraInfo, InfraSpec, PodMeta, RuntimeError};

/// The node's own address (host-network pods), as the simulated runtime reports it.
pub const NODE_IP: &str = "10.240.0.10";

/// How the node is set up.
#[derive(Debug, Clone)]
pub struct NetnsOptions {
    /// `None`: a fresh one.
    pub run_id: Option<String>,
    /// dockerd's `--bridge` (default `docker0`).
    pub docker_bridge: String,
    /// dockerd's `--bip` subnet (default `172.17.0.0/16`, gateway `.1`).
    pub pod_cidr: PodCidr,
    pub node_files: Vec<NodeFile>,
    /// Run once in the sandbox before the bridge is made and `init` is called.
    pub node_setup: Option<String>,
    /// How long the node setup may run; then its process group is killed and the run fails.
    pub node_setup_timeout: std::time::Duration,
    /// Start Open vSwitch (userspace datapath) in the sandbox.
    pub ovs: bool,
    /// The executable that serves as `docker` on the plugins' `PATH` (execnet's own binary,
    /// which acts as the docker CLI when called by that name). `None`: no CLI.
    pub docker_cli: Option<PathBuf>,
    /// Serve the Engine API on `/var/run/docker.sock` and the kubelet's read-only API.
    pub serve_apis: bool,
}

impl NetnsOptions {
    /// The command-line options that make this sandbox again (`--runtime netns` and every
    /// option that differs from the default), for reproduce lines.
    pub fn cli_args(&self) -> Vec<String> {
        let default = NetnsOptions::default();
        let mut args = vec!["--runtime".to_string(), "netns".to_string()];
        if self.docker_bridge != default.docker_bridge {
            args.extend(["--docker-bridge".into(), self.docker_bridge.clone()]);
        }
        if self.pod_cidr.to_string() != default.pod_cidr.to_string() {
            args.extend(["--pod-cidr".into(), self.pod_cidr.to_string()]);
        }
        for f in &self.node_files {
            args.extend([
                "--node-file".into(),
                format!("{}:{}", f.source.display(), f.dest.display()),
            ]);
        }
        if let Some(cmd) = &self.node_setup {
            args.extend(["--node-setup".into(), cmd.clone()]);
        }
        if self.ovs {
            args.push("--ovs".into());
        }
        args
    }
}

impl Default for NetnsOptions {
    fn default() -> Self {
        NetnsOptions {
            run_id: None,
            docker_bridge: "docker0".into(),
            pod_cidr: PodCidr {
                network: Ipv4Addr::new(172, 17, 0, 0),
                prefix: 16,
            },
            node_files: Vec::new(),
            node_setup: None,
            node_setup_timeout: std::time::Duration::from_secs(120),
            ovs: false,
            docker_cli: None,
            serve_apis: true,
        }
    }
}

/// The mutable side of the runtime.
#[derive(Debug)]
struct State {
    /// Host indexes in use by running containers: docker 1.12's bridge IPAM (libnetwork
    /// `bitseq` `SetAny`) handed out the lowest free address, so a dead container's address is
    /// the next one's.
    used_hosts: std::collections::BTreeSet<u32>,
    veths: VethNames,
}

/// The netns runtime of one run.
#[derive(Debug)]
pub struct NetnsRuntime {
    pub options: NetnsOptions,
    /// Whether the node setup had already made the docker bridge.
    pub bridge_preexisting: bool,
    registry: Arc<Mutex<Registry>>,
    state: Mutex<State>,
    lifeline_read: OwnedFd,
    // Held open for the pause processes: its close (this process ending) is their end.
    _lifeline_write: OwnedFd,
    servers: Option<servers::Servers>,
    ovs: Option<ovs::Ovs>,
    // Dropped last: kills what is left and removes the run record.
    sandbox: Sandbox,
}

impl NetnsRuntime {
    /// Enter a new node sandbox on the calling thread and set the node up.
    pub fn start(mut options: NetnsOptions) -> Result<NetnsRuntime, SandboxError> {
        let run_id = options
            .run_id
            .get_or_insert_with(sandbox::new_run_id)
            .clone();
        let sandbox = Sandbox::enter(&run_id, &options.node_files)?;
        let os = |what: &str| {
            let what = what.to_string();
            move |source| SandboxError::Os { what, source }
        };
        if let Some(cli) = &options.docker_cli {
            std::os::unix::fs::symlink(cli, PathBuf::from(sandbox::BIN_DIR).join("docker"))
                .map_err(os("link the docker CLI"))?;
        }
        infra::add_node_address(NODE_IP)?;
        let ovs = if options.ovs {
            Some(ovs::Ovs::start()?)
        } else {
            None
        };
        if let Some(cmd) = &options.node_setup {
            node_setup(cmd, &options)?;
        }
        let bridge_preexisting = infra::ensure_bridge(&options.docker_bridge, &options.pod_cidr)?;
        let registry = Arc::new(Mutex::new(Registry::default()));
        let servers = if options.serve_apis {
            Some(servers::Servers::start(registry.clone()).map_err(os("start the APIs"))?)
        } else {
            None
        };
        let (lifeline_read, lifeline_write) = sys::pipe().map_err(os("lifeline pipe"))?;
        // The OVS daemons and whatever the node setup left running are the node's, never a
        // plugin call's leftovers.
        crate::supervise::adopt_descendants().map_err(os("read the process table"))?;
        let seed = u64::from_str_radix(&run_id, 16).unwrap_or(0);
        Ok(NetnsRuntime {
            options,
            bridge_preexisting,
            registry,
            state: Mutex::new(State {
                used_hosts: Default::default(),
                veths: VethNames::new(seed),
            }),
            lifeline_read,
            _lifeline_write: lifeline_write,
            servers,
            ovs,
            sandbox,
        })
    }

    /// What the sandbox was made with.
    pub fn options(&self) -> &NetnsOptions {
        &self.options
    }

    pub fn run_id(&self) -> &str {
        &self.sandbox.run_id
    }

    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// The registry the APIs serve.
    pub fn registry(&self) -> Arc<Mutex<Registry>> {
        self.registry.clone()
    }

    /// Every container record (for the checks that judge the network).
    pub fn records(&self) -> Vec<ContainerRecord> {
        self.lock().containers.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stop everything: APIs, Open vSwitch, every process of the sandbox.
    pub fn shutdown(&mut self) -> Vec<u32> {
        if let Some(s) = self.servers.take() {
            s.stop();
        }
        if let Some(o) = self.ovs.take() {
            o.stop();
        }
        let records = self.records();
        for c in records.iter().filter(|c| c.running) {
            infra::kill_netns(c.pid, c.netns, c.veth.as_deref());
        }
        self.sandbox.close()
    }
}

impl Drop for NetnsRuntime {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn node_setup(cmd: &str, options: &NetnsOptions) -> Result<(), SandboxError> {
    use std::os::unix::process::CommandExt;
    let failed = |source| SandboxError::Os {
        what: format!("run --node-setup {cmd:?}"),
        source,
    };
    // Its output goes to a file (a pipe would block a daemon it leaves that keeps writing).
    let log = tempfile::tempfile().map_err(failed)?;
    let mut child = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(cmd)
        .env("EXECNET_POD_CIDR", options.pod_cidr.to_string())
        .env(
            "EXECNET_POD_GATEWAY",
            options.pod_cidr.gateway().to_string(),
        )
        .env("EXECNET_POD_PREFIX", options.pod_cidr.prefix.to_string())
        .env("EXECNET_DOCKER_BRIDGE", &options.docker_bridge)
        .env("EXECNET_RUN_ID", options.run_id.clone().unwrap_or_default())
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone().map_err(failed)?)
        .stderr(log.try_clone().map_err(failed)?)
        .process_group(0)
        .spawn()
        .map_err(failed)?;
    let limit = options.node_setup_timeout;
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().map_err(failed)? {
            break Some(st);
        }
        if started.elapsed() >= limit {
            // The whole group: the shell and what it started in its foreground.
            sys::kill(0u32.wrapping_sub(child.id()), libc::SIGKILL);
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let mut output = String::new();
    let mut log = log;
    let _ = std::io::Seek::rewind(&mut log);
    let _ =
        std::io::Read::read_to_string(&mut std::io::Read::take(&mut log, 64 * 1024), &mut output);
    match status {
        Some(st) if st.success() => Ok(()),
        Some(st) => Err(SandboxError::NodeSetup {
            command: cmd.to_string(),
            status: st.to_string(),
            output,
        }),
        None => Err(SandboxError::NodeSetup {
            command: cmd.to_string(),
            status: format!(
                "still running after {} (--node-setup-timeout), killed",
                crate::plugin::invoke::format_duration(limit)
            ),
            output,
        }),
    }
}

impl NetnsRuntime {
    /// [`ContainerRuntime::create_infra`] with [`crate::supervise::own_processes`] held.
    fn create_infra_inner(&self, spec: &InfraSpec) -> Result<InfraInfo, RuntimeError> {
        // Docker never reused an id; the simulated kubelet's ids repeat from one scenario to the
        // next (same seed): the older container with that id is gone for good.
        if self.lock().containers.iter().any(|c| c.id == spec.id) {
            self.kill_inner(&spec.id)?;
            self.lock().containers.retain(|c| c.id != spec.id);
        }
        let (pause, prefix, gateway) = if spec.pod.host_network {
            let pause = infra::start_pause(&self.lifeline_read, None)?;
            (pause, 0, None)
        } else {
            let (ip, veth) = {
                let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
                let free = (0..).find(|n| !st.used_hosts.contains(n)).unwrap_or(0);
                let ip = self.options.pod_cidr.host(free).ok_or_else(|| {
                    RuntimeError::Setup(format!(
                        "pod CIDR {} has no address left",
                        self.options.pod_cidr
                    ))
                })?;
                st.used_hosts.insert(free);
                (ip, st.veths.fresh())
            };
            let cidr = &self.options.pod_cidr;
            let pause = infra::start_pause(
                &self.lifeline_read,
                Some((&self.options.docker_bridge, cidr, ip, &veth)),
            )?;
            (pause, cidr.prefix, Some(cidr.gateway()))
        };
        let record = ContainerRecord {
            id: spec.id.clone(),
            name: docker_name(&spec.pod, spec.name_suffix),
            pod: spec.pod.clone(),
            pid: pause.pid,
            running: true,
            ip: pause.ip,
            prefix_len: prefix,
            gateway,
            mac: pause.mac,
            bridge: self.options.docker_bridge.clone(),
            veth: pause.veth,
            netns: pause.netns,
            created: SystemTime::now(),
            finished: None,
        };
        let info = info_of(&record);
        self.lock().containers.push(record);
        Ok(info)
    }

    /// [`ContainerRuntime::kill`] with [`crate::supervise::own_processes`] held.
    fn kill_inner(&self, id: &str) -> Result<(), RuntimeError> {
        let found = self
            .lock()
            .containers
            .iter()
            .find(|c| c.id == id)
            .cloned()
            .ok_or_else(|| RuntimeError::NoSuchContainer(id.to_string()))?;
        if found.running {
            if found.pod.host_network {
                sys::kill(found.pid, libc::SIGKILL);
                sys::reap(found.pid);
                crate::supervise::forget_own(found.pid);
            } else {
                infra::kill_netns(found.pid, found.netns, found.veth.as_deref());
            }
            let mut reg = self.lock();
            if let Some(c) = reg.containers.iter_mut().find(|c| c.id == id) {
                c.running = false;
                c.finished = Some(SystemTime::now());
            }
            drop(reg);
            if let (Some(ip), false) = (found.ip, found.pod.host_network) {
                let n = u32::from(ip) - u32::from(self.options.pod_cidr.network) - 2;
                self.state
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .used_hosts
                    .remove(&n);
            }
        }
        Ok(())
    }
}

impl ContainerRuntime for NetnsRuntime {
    fn create_infra(&self, spec: &InfraSpec) -> Result<InfraInfo, RuntimeError> {
        let _own = crate::supervise::own_processes();
        self.create_infra_inner(spec)
    }

    fn kill(&self, id: &str) -> Result<(), RuntimeError> {
        let _own = crate::supervise::own_processes();
        self.kill_inner(id)
    }
    fn list(&self) -> Vec<InfraInfo> {
        self.lock().containers.iter().map(info_of).collect()
    }

    fn inspect(&self, id: &str) -> Option<InfraInfo> {
        self.lock()
            .containers
            .iter()
            .find(|c| c.id == id)
            .map(info_of)
    }

    fn plugin_env(
        &self,
        env: crate::plugin::policy::PluginEnv,
    ) -> crate::plugin::policy::PluginEnv {
        let env = env.with_var("DOCKER_HOST", "unix:///var/run/docker.sock");
        if self.options.docker_cli.is_some() {
            env.with_path_first(sandbox::BIN_DIR)
        } else {
            env
        }
    }

    fn exec_env(&self) -> Vec<(String, String)> {
        let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/sbin:/usr/bin:/sbin:/bin".into());
        let mut env = vec![(
            "DOCKER_HOST".to_string(),
            "unix:///var/run/docker.sock".to_string(),
        )];
        if self.options.docker_cli.is_some() && !path.starts_with(sandbox::BIN_DIR) {
            env.push(("PATH".to_string(), format!("{}:{path}", sandbox::BIN_DIR)));
        }
        env
    }

    fn report_pod(&self, pod: &PodMeta, phase: &str, pod_ip: Option<&str>) {
        self.lock().pods.insert(
            (pod.namespace.clone(), pod.name.clone()),
            PodRecord {
                meta: pod.clone(),
                phase: phase.to_string(),
                pod_ip: pod_ip.map(str::to_string),
            },
        );
    }

    fn forget_pod(&self, namespace: &str, name: &str) {
        self.lock()
            .pods
            .remove(&(namespace.to_string(), name.to_string()));
    }
}

fn info_of(c: &ContainerRecord) -> InfraInfo {
    InfraInfo {
        id: c.id.clone(),
        name: c.name.clone(),
        runtime_ip: if c.pod.host_network {
            NODE_IP.to_string()
        } else {
            c.ip.map(|i| i.to_string()).unwrap_or_default()
        },
        pid: if c.running { c.pid } else { 0 },
        running: c.running,
    }
}
