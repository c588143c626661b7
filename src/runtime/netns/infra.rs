//! Infra containers as docker 1.12 made them on the default bridge: a pause process of execnet's
//! in a fresh network namespace, `eth0` one end of a veth whose other end (`veth` + 7 hex, as
//! libnetwork's `netutils.GenerateIfaceName(nlh, "veth", 7)` named it) is a port of the docker
//! bridge; the runtime IP from the pod CIDR, the MAC docker derived from it
//! (`netutils.GenerateMACFromIP`: `02:42` then the four address bytes) and a default route via
//! the gateway. Killing one SIGKILLs every process in its network namespace, so the namespace and
//! its veth really go. Also the docker bridge itself, as dockerd's `--bridge`/`--bip` set it up.

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use super::sandbox::{SandboxError, ip_batch};
use super::sys;

/// The pod network as dockerd was configured: bridge name and subnet (`--bridge`, `--bip`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodCidr {
    pub network: Ipv4Addr,
    pub prefix: u8,
}

impl PodCidr {
    /// Parse `A.B.C.D/N` (IPv4, 8 ≤ N ≤ 30).
    pub fn parse(text: &str) -> Result<PodCidr, String> {
        let bad = |why: &str| format!("bad --pod-cidr {text:?}: {why}");
        let (addr, prefix) = text
            .split_once('/')
            .ok_or_else(|| bad("expected A.B.C.D/N"))?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| bad("not an IPv4 address"))?;
        let prefix: u8 = prefix.parse().map_err(|_| bad("prefix is not a number"))?;
        if !(8..=30).contains(&prefix) {
            return Err(bad("prefix must be between 8 and 30"));
        }
        let mask = u32::MAX << (32 - prefix);
        Ok(PodCidr {
            network: Ipv4Addr::from(u32::from(addr) & mask),
            prefix,
        })
    }

    /// The gateway: the subnet's first address (docker's `--bip` default, `.1`).
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network) + 1)
    }

    /// Number of host addresses after the gateway (excluding the broadcast address).
    fn capacity(&self) -> u32 {
        (1u32 << (32 - self.prefix)) - 3
    }

    /// The `n`-th pod address (0-based): `.2`, `.3`, …
    pub fn host(&self, n: u32) -> Option<Ipv4Addr> {
        (n < self.capacity()).then(|| Ipv4Addr::from(u32::from(self.network) + 2 + n))
    }
}

impl std::fmt::Display for PodCidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// Docker's MAC for an address (libnetwork `netutils.GenerateMACFromIP`).
pub fn mac_for(ip: Ipv4Addr) -> String {
    let o = ip.octets();
    format!("02:42:{:02x}:{:02x}:{:02x}:{:02x}", o[0], o[1], o[2], o[3])
}

/// Make the docker bridge unless the node agent already made it: then it is used as it is (no
/// address or route added; real node agents moved the pod subnet's route elsewhere). Returns
/// whether it already existed.
pub fn ensure_bridge(name: &str, cidr: &PodCidr) -> Result<bool, SandboxError> {
    if std::path::Path::new("/sys/class/net").join(name).exists() {
        return Ok(true);
    }
    ip_batch(&format!(
        "link add {name} type bridge\naddr add {gw}/{p} dev {name}\nlink set {name} up\n",
        gw = cidr.gateway(),
        p = cidr.prefix
    ))?;
    Ok(false)
}

/// The node's own address, for host-network pods (the simulator's `NODE_IP`), on the node
/// namespace's `lo` (a dummy link needs a module this kernel may lack).
pub fn add_node_address(ip: &str) -> Result<(), SandboxError> {
    ip_batch(&format!("addr add {ip}/32 dev lo\n"))
}

/// Host-side veth names of the run: `veth` + 7 hex, never reused.
#[derive(Debug, Default)]
pub struct VethNames {
    used: HashSet<String>,
    state: u64,
}

impl VethNames {
    pub fn new(seed: u64) -> Self {
        VethNames {
            used: HashSet::new(),
            state: seed,
        }
    }

    pub fn fresh(&mut self) -> String {
        loop {
            self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            let name = format!("veth{:07x}", z & 0x0fff_ffff);
            if !std::path::Path::new("/sys/class/net").join(&name).exists()
                && self.used.insert(name.clone())
            {
                return name;
            }
        }
    }
}

/// A started pause process and its network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pause {
    pub pid: u32,
    /// The network namespace's identity (the node's own for host network).
    pub netns: u64,
    pub veth: Option<String>,
    pub ip: Option<Ipv4Addr>,
    pub mac: Option<String>,
}

/// Start a pause process; for a pod network, wire its `eth0` to `bridge` with `ip`.
pub fn start_pause(
    lifeline: &OwnedFd,
    wiring: Option<(&str, &PodCidr, Ipv4Addr, &str)>,
) -> Result<Pause, SandboxError> {
    let os = |what: &str| {
        let what = what.to_string();
        move |source| SandboxError::Os { what, source }
    };
    let pid = sys::fork_pause(lifeline, wiring.is_some()).map_err(os("start pause process"))?;
    crate::supervise::register_own(pid);
    let netns = sys::ns_inode(pid, "net").map_err(os("pause netns"));
    let netns = match netns {
        Ok(n) => n,
        Err(e) => {
            sys::kill(pid, libc::SIGKILL);
            sys::reap(pid);
            crate::supervise::forget_own(pid);
            return Err(e);
        }
    };
    let Some((bridge, cidr, ip, veth)) = wiring else {
        return Ok(Pause {
            pid,
            netns,
            veth: None,
            ip: None,
            mac: None,
        });
    };
    let mac = mac_for(ip);
    let wired = ip_batch(&format!(
        "link add {veth} type veth peer name eth0 address {mac} netns {pid}\n\
         link set {veth} master {bridge}\nlink set {veth} up\n"
    ))
    .and_then(|()| in_netns(pid, &format!(
        "link set lo up\naddr add {ip}/{p} dev eth0\nlink set eth0 up\nroute add default via {gw} dev eth0\n",
        p = cidr.prefix,
        gw = cidr.gateway()
    )));
    if let Err(e) = wired {
        kill_netns(pid, netns, Some(veth));
        return Err(e);
    }
    Ok(Pause {
        pid,
        netns,
        veth: Some(veth.to_string()),
        ip: Some(ip),
        mac: Some(mac),
    })
}

/// Run `ip -batch` inside the network namespace of `pid` (from a short-lived thread that
/// entered it, so the rest of execnet stays in the node namespace).
pub fn in_netns(pid: u32, commands: &str) -> Result<(), SandboxError> {
    let ns = sys::open_ns(pid, "net").map_err(|source| SandboxError::Os {
        what: format!("open netns of {pid}"),
        source,
    })?;
    let commands = commands.to_string();
    std::thread::scope(|s| {
        s.spawn(move || {
            sys::setns(&ns, libc::CLONE_NEWNET).map_err(|source| SandboxError::Os {
                what: format!("enter netns of {pid}"),
                source,
            })?;
            ip_batch(&commands)
        })
        .join()
        .unwrap_or_else(|_| {
            Err(SandboxError::Command {
                command: "ip -batch (pod)".into(),
                output: "thread panicked".into(),
            })
        })
    })
}

/// SIGKILL every process in the network namespace `netns` (the pause process `pid` first),
/// reap the pause process, and wait (bounded) until the host end of its veth is gone.
pub fn kill_netns(pid: u32, netns: u64, veth: Option<&str>) {
    sys::kill(pid, libc::SIGKILL);
    sys::reap(pid);
    crate::supervise::forget_own(pid);
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let left = sys::pids_in_ns("net", netns);
        for &p in &left {
            sys::kill(p, libc::SIGKILL);
        }
        let veth_gone =
            veth.is_none_or(|v| !std::path::Path::new("/sys/class/net").join(v).exists());
        if (left.is_empty() && veth_gone) || Instant::now() >= deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_cidr_and_mac() {
        let c = PodCidr::parse("172.17.0.0/16").unwrap();
        assert_eq!(c.gateway(), Ipv4Addr::new(172, 17, 0, 1));
        assert_eq!(c.host(0), Some(Ipv4Addr::new(172, 17, 0, 2)));
        assert_eq!(c.host(254), Some(Ipv4Addr::new(172, 17, 1, 0)));
        assert_eq!(mac_for(Ipv4Addr::new(172, 17, 0, 2)), "02:42:ac:11:00:02");
        let small = PodCidr::parse("10.1.2.77/30").unwrap();
        assert_eq!(small.network, Ipv4Addr::new(10, 1, 2, 76));
        assert_eq!(small.host(0), Some(Ipv4Addr::new(10, 1, 2, 78)));
        assert_eq!(small.host(1), None);
        for bad in [
            "10.0.0.0",
            "10.0.0.0/33",
            "10.0.0.0/4",
            "x/16",
            "10.0.0.0/x",
        ] {
            assert!(PodCidr::parse(bad).unwrap_err().contains(bad));
        }
    }

    #[test]
    fn veth_names_are_docker_shaped_and_unique() {
        let mut names = VethNames::new(1);
        let all: Vec<String> = (0..200).map(|_| names.fresh()).collect();
        let unique: HashSet<&String> = all.iter().collect();
        assert_eq!(unique.len(), 200);
        for n in &all {
            assert_eq!(n.len(), 11, "{n}");
            assert!(n.starts_with("veth"));
            assert!(
                n[4..]
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            );
        }
    }
}
