//! What the network checks look at, read from the real node: the addresses inside a pod's
//! network namespace, whether a pod answers TCP from the node on an address (a listener execnet
//! opens inside the pod's namespace; nothing outside the sandbox is ever contacted: the sandbox
//! has no route out), and a snapshot of the node's network state (links, bridge ports, OVS ports
//! and flows, routes, iptables rules, `/var/run/netns` entries) to tell what a pod left behind.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::time::Duration;

use super::sys;

/// Run `program args` inside the network namespace of `pid` (from a short-lived thread that
/// entered it); its stdout, or `None` if it could not run.
pub fn output_in_netns(pid: u32, program: &str, args: &[&str]) -> Option<String> {
    let ns = sys::open_ns(pid, "net").ok()?;
    let program = program.to_string();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    std::thread::spawn(move || {
        sys::setns(&ns, libc::CLONE_NEWNET).ok()?;
        let out = Command::new(&program).args(&args).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    })
    .join()
    .ok()
    .flatten()
}

/// The addresses inside a pod's network namespace, as `(interface, address)`, `lo` excluded.
pub fn pod_addresses(pid: u32) -> Vec<(String, String)> {
    let text = output_in_netns(pid, "ip", &["-o", "addr", "show"]).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let ifname = f.get(1)?.split('@').next()?.to_string();
            let addr = f.get(3)?.split('/').next()?.to_string();
            (ifname != "lo" && matches!(f.get(2), Some(&"inet") | Some(&"inet6")))
                .then_some((ifname, addr))
        })
        .collect()
}

/// Whether the pod `pid` answers TCP from the node on `ip`: a listener in the pod's namespace,
/// a connection from the node, one byte back. `Err` says what failed.
pub fn pod_answers(pid: u32, ip: &str, within: Duration) -> Result<(), String> {
    let addr: IpAddr = ip
        .parse()
        .map_err(|_| format!("{ip:?} is not an address"))?;
    let ns = sys::open_ns(pid, "net").map_err(|e| format!("pod namespace: {e}"))?;
    let listener = std::thread::spawn(move || -> std::io::Result<TcpListener> {
        sys::setns(&ns, libc::CLONE_NEWNET)?;
        TcpListener::bind(("::", 0)).or_else(|_| TcpListener::bind(("0.0.0.0", 0)))
    })
    .join()
    .map_err(|_| "listener thread panicked".to_string())?
    .map_err(|e| format!("listen in the pod: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("listener: {e}"))?;
    let deadline = std::time::Instant::now() + within;
    let server = std::thread::spawn(move || {
        while std::time::Instant::now() < deadline {
            match listener.accept() {
                Ok((mut s, _)) => {
                    let _ = s.set_nonblocking(false);
                    let _ = s.write_all(b"x");
                    return;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    let result = TcpStream::connect_timeout(&SocketAddr::new(addr, port), within)
        .map_err(|e| format!("connect {ip}:{port} from the node: {e}"))
        .and_then(|mut s| {
            s.set_read_timeout(Some(within)).ok();
            let mut b = [0u8; 1];
            match s.read(&mut b) {
                Ok(1) => Ok(()),
                Ok(_) => Err(format!("{ip}:{port} closed without answering")),
                Err(e) => Err(format!("read from {ip}:{port}: {e}")),
            }
        });
    let _ = server.join();
    result
}

/// The node's network state as comparable lines.
pub fn node_state() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if let Ok(dir) = std::fs::read_dir("/sys/class/net") {
        for e in dir.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Ok(master) = std::fs::read_link(e.path().join("master"))
                && let Some(m) = master.file_name()
            {
                out.insert(format!("bridge port {} {name}", m.to_string_lossy()));
            }
            out.insert(format!("link {name}"));
        }
    }
    let run = |program: &str, args: &[&str]| -> Option<String> {
        let o = Command::new(program).args(args).output().ok()?;
        o.status
            .success()
            .then(|| String::from_utf8_lossy(&o.stdout).into_owned())
    };
    if let Some(bridges) = run("ovs-vsctl", &["--timeout=2", "list-br"]) {
        for br in bridges.lines() {
            for p in run("ovs-vsctl", &["--timeout=2", "list-ports", br])
                .unwrap_or_default()
                .lines()
            {
                out.insert(format!("ovs port {br} {p}"));
            }
            let flows = run("ovs-ofctl", &["dump-flows", br])
                .or_else(|| run("ovs-ofctl", &["-O", "OpenFlow13", "dump-flows", br]))
                .unwrap_or_default();
            for f in flows.lines().filter(|l| l.contains("actions=")) {
                out.insert(format!("ovs flow {br} {}", normalize_flow(f)));
            }
        }
    }
    for l in run("ip", &["route", "show", "table", "all"])
        .unwrap_or_default()
        .lines()
    {
        out.insert(format!("route {}", l.trim()));
    }
    for l in run("iptables-save", &[]).unwrap_or_default().lines() {
        if l.starts_with("-A ") {
            out.insert(format!("iptables {l}"));
        }
    }
    if let Ok(dir) = std::fs::read_dir("/var/run/netns") {
        for e in dir.flatten() {
            out.insert(format!("netns entry {}", e.file_name().to_string_lossy()));
        }
    }
    out
}

/// A flow without its counters and ages.
fn normalize_flow(line: &str) -> String {
    line.trim()
        .split([',', ' '])
        .filter(|f| {
            !f.is_empty()
                && ![
                    "duration=",
                    "n_packets=",
                    "n_bytes=",
                    "idle_age=",
                    "hard_age=",
                    "reset_counts",
                ]
                .iter()
                .any(|p| f.starts_with(p))
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flows_lose_their_counters() {
        let f = " cookie=0x2, duration=1.339s, table=0, n_packets=0, n_bytes=0, idle_age=1, priority=100,ip,nw_dst=10.99.0.3 actions=output:2";
        assert_eq!(
            normalize_flow(f),
            "cookie=0x2,table=0,priority=100,ip,nw_dst=10.99.0.3,actions=output:2"
        );
    }
}
