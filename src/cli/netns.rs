//! The options of `--runtime netns` shared by `replay`, `certify` and `sandbox`, and the
//! commands that only exist for it: `execnet sandbox` (a node sandbox around a command, for
//! vendors preparing a node setup) and `execnet gc` (remove what a dead execnet left).

use anyhow::{Context, Result};
use execnet::runtime::netns::infra::PodCidr;
use execnet::runtime::netns::sandbox::NodeFile;
use execnet::runtime::netns::{NetnsOptions, NetnsRuntime, gc, signals};
use execnet::runtime::{ContainerRuntime, InfraSpec, PodMeta};

use super::{Format, Verdict, print_json};

/// Which container runtime the simulated kubelet runs pods on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RuntimeKind {
    /// Simulated infra containers (IDs only); needs no privileges.
    Sim,
    /// A real node sandbox: network and mount namespaces, veths, an era-exact docker; needs
    /// CAP_NET_ADMIN and CAP_SYS_ADMIN (root).
    Netns,
}

/// How the node sandbox is set up.
#[derive(Debug, Clone, clap::Args)]
pub struct NetnsArgs {
    /// The docker bridge, as dockerd's --bridge (used as it is when --node-setup made it).
    #[arg(long, value_name = "NAME", default_value = "docker0")]
    docker_bridge: String,
    /// The pod subnet, as dockerd's --bip (gateway: its first address).
    #[arg(long, value_name = "CIDR", default_value = "172.17.0.0/16")]
    pod_cidr: String,
    /// Put a file into the sandbox's view (an overlay; the machine's files never change).
    #[arg(long = "node-file", value_name = "SRC:DEST")]
    node_files: Vec<String>,
    /// Run once in the sandbox before init (the vendor's node agent); told EXECNET_POD_CIDR,
    /// EXECNET_POD_GATEWAY, EXECNET_POD_PREFIX, EXECNET_DOCKER_BRIDGE in its environment.
    #[arg(long, value_name = "CMD")]
    node_setup: Option<String>,
    /// How long --node-setup may run before it is killed and the run fails (with certify's
    /// --deadline, at most that).
    #[arg(long, value_name = "DUR", default_value = "2m", value_parser = parse_positive)]
    pub node_setup_timeout: std::time::Duration,
    /// Start Open vSwitch (ovsdb-server, ovs-vswitchd, userspace datapath) in the sandbox.
    #[arg(long)]
    ovs: bool,
}

fn parse_positive(text: &str) -> Result<std::time::Duration, String> {
    match execnet::plugin::policy::parse_duration(text)? {
        Some(d) => Ok(d),
        None => Err("must be a positive duration (e.g. 30s)".into()),
    }
}

impl NetnsArgs {
    pub fn options(&self) -> Result<NetnsOptions> {
        let pod_cidr = PodCidr::parse(&self.pod_cidr).map_err(anyhow::Error::msg)?;
        let node_files = self
            .node_files
            .iter()
            .map(|s| NodeFile::parse(s))
            .collect::<Result<Vec<_>, _>>()?;
        if self.docker_bridge.is_empty() || self.docker_bridge.len() > 15 {
            anyhow::bail!("--docker-bridge must be a link name of 1 to 15 characters");
        }
        Ok(NetnsOptions {
            docker_bridge: self.docker_bridge.clone(),
            pod_cidr,
            node_files,
            node_setup: self.node_setup.clone(),
            node_setup_timeout: self.node_setup_timeout,
            ovs: self.ovs,
            docker_cli: Some(std::env::current_exe().context("locate execnet's own binary")?),
            ..NetnsOptions::default()
        })
    }

    /// Handle signals, then enter the sandbox. Call it before any other thread starts. The
    /// plugins' environment travels in their call policy
    /// ([`ContainerRuntime::plugin_env`](execnet::runtime::ContainerRuntime::plugin_env)).
    pub fn start(&self) -> Result<NetnsRuntime> {
        let options = self.options()?;
        signals::install().context("install signal handling")?;
        Ok(NetnsRuntime::start(options)?)
    }
}

#[derive(Debug, clap::Args)]
pub struct SandboxArgs {
    #[command(flatten)]
    netns: NetnsArgs,
    /// Infra containers to start (pods `pod-1`… in namespace `default`).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pods: u32,
    /// The command to run in the sandbox (default: sh). Its environment names the run
    /// (EXECNET_RUN_ID) and the infra containers (EXECNET_INFRA_IDS, EXECNET_INFRA_PIDS).
    #[arg(trailing_var_arg = true, value_name = "CMD")]
    command: Vec<String>,
}

pub fn sandbox(args: SandboxArgs) -> Result<Verdict> {
    let rt = args.netns.start()?;
    let seed = u64::from_str_radix(rt.run_id(), 16).unwrap_or(1);
    let mut ids = Vec::new();
    let mut pids = Vec::new();
    for n in 1..=args.pods {
        let mut rng = execnet::kubelet::runtime::SplitMix64::new(seed ^ u64::from(n));
        let id: String = (0..4).map(|_| format!("{:016x}", rng.next_u64())).collect();
        let info = rt.create_infra(&InfraSpec {
            id,
            pod: PodMeta {
                name: format!("pod-{n}"),
                namespace: "default".into(),
                uid: format!("{}-{n:04}", rt.run_id()),
                ..PodMeta::default()
            },
            name_suffix: (seed as u32).wrapping_add(n),
        })?;
        ids.push(info.id);
        pids.push(info.pid.to_string());
    }
    let (program, rest) = match args.command.split_first() {
        Some((p, r)) => (p.clone(), r.to_vec()),
        None => ("sh".to_string(), Vec::new()),
    };
    let mut command = std::process::Command::new(&program);
    command
        .args(&rest)
        .envs(rt.exec_env())
        .env("EXECNET_RUN_ID", rt.run_id())
        .env("EXECNET_INFRA_IDS", ids.join(" "))
        .env("EXECNET_INFRA_PIDS", pids.join(" "));
    // In the sandbox's PID namespace, as plugins run.
    let status = execnet::sys::pidns::spawn_inside(|| command.spawn())
        .and_then(|mut child| child.wait())
        .with_context(|| format!("run {program}"))?;
    drop(rt);
    Ok(if status.success() {
        Verdict::Ok
    } else {
        Verdict::Failed
    })
}

#[derive(Debug, clap::Args)]
pub struct GcArgs {
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

pub fn gc(args: GcArgs) -> Result<Verdict> {
    let report = gc::collect();
    match args.format {
        Format::Json => print_json(&report)?,
        Format::Text => {
            for id in &report.collected {
                outln!("collected run {id}");
            }
            for id in &report.live {
                outln!("left run {id} (its execnet is alive)");
            }
            for dir in &report.removed {
                outln!("removed {dir}");
            }
            outln!("{} process(es) killed", report.killed.len());
            for what in &report.not_done {
                errln!("execnet gc: not done: {what}");
            }
        }
    }
    // Honest: a collection that could not do everything is no success.
    Ok(if report.not_done.is_empty() {
        Verdict::Ok
    } else {
        Verdict::Failed
    })
}
