//! The netns runtime with real namespaces, links, mounts and processes. Each test enters its own
//! node sandbox (nextest runs every test in its own process). Without CAP_NET_ADMIN and
//! CAP_SYS_ADMIN they skip, saying so; CI runs as root and runs them.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use execnet::runtime::netns::sandbox::NodeFile;
use execnet::runtime::netns::{NetnsOptions, NetnsRuntime, sys};
use execnet::runtime::{ContainerRuntime, InfraSpec, PodMeta};

use crate::util::execnet_path;

/// Skip (with the reason) unless the capabilities are there; in CI, never skip.
fn privileged() -> bool {
    let missing = sys::missing_capabilities();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run the netns tests as root; missing {missing:?}"
    );
    eprintln!("skipped: the netns runtime needs {}", missing.join(" and "));
    false
}

fn options() -> NetnsOptions {
    NetnsOptions {
        docker_cli: Some(execnet_path()),
        ..NetnsOptions::default()
    }
}

fn spec(n: u32, name: &str, host_network: bool) -> InfraSpec {
    InfraSpec {
        id: format!("{:064x}", 0xabc0_0000_u64 + u64::from(n)),
        pod: PodMeta {
            name: name.into(),
            namespace: "default".into(),
            uid: format!("uid-{n}"),
            annotations: BTreeMap::new(),
            host_network,
        },
        name_suffix: 0x1234_5670 + n,
    }
}

/// Run a command with the environment plugins get; (exit code, stdout, stderr).
fn sh(rt: &NetnsRuntime, program: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(program)
        .args(args)
        .envs(rt.exec_env())
        .output()
        .unwrap_or_else(|e| panic!("{program} {args:?}: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A TCP listener inside a process's network namespace (what the network checks use).
fn listen_in(pid: u32) -> TcpListener {
    std::thread::spawn(move || {
        let ns = sys::open_ns(pid, "net").expect("open pod netns");
        sys::setns(&ns, libc::CLONE_NEWNET).expect("enter pod netns");
        TcpListener::bind("0.0.0.0:0").expect("bind in pod")
    })
    .join()
    .expect("listener thread")
}

fn links() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir("/sys/class/net")
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn node_sandbox_view_and_vendor_files() {
    if !privileged() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("config.env");
    std::fs::write(&conf, "OPENSHIFT_CLUSTER_SUBNET=10.1.0.0/16\n").unwrap();
    let tool = dir.path().join("ovn-nbctl");
    std::fs::write(&tool, "#!/bin/sh\necho stub\n").unwrap();
    std::fs::set_permissions(&tool, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let dest = "/etc/execnet-it-sdn/config.env";
    let mut opts = options();
    opts.node_files = vec![
        NodeFile::parse(&format!("{}:{dest}", conf.display())).unwrap(),
        NodeFile::parse(&format!("{}:/usr/bin/execnet-it-nbctl", tool.display())).unwrap(),
    ];
    opts.node_setup = Some(
        "env | grep ^EXECNET_ | sort > /run/setup.env && ip link add lbr-test type bridge".into(),
    );
    let rt = NetnsRuntime::start(opts).expect("start sandbox");
    // A fresh sysfs shows the node namespace only: lo, the setup's bridge and docker0.
    assert_eq!(links(), ["docker0", "lbr-test", "lo"]);
    assert!(!rt.bridge_preexisting);
    let setup_env = std::fs::read_to_string("/run/setup.env").unwrap();
    assert_eq!(
        setup_env,
        format!(
            "EXECNET_DOCKER_BRIDGE=docker0\nEXECNET_POD_CIDR=172.17.0.0/16\nEXECNET_POD_GATEWAY=172.17.0.1\nEXECNET_POD_PREFIX=16\nEXECNET_RUN_ID={}\n",
            rt.run_id()
        )
    );
    for d in ["/var/run/netns", "/var/lock", "/var/log"] {
        let probe = Path::new(d).join("execnet-it-probe");
        std::fs::write(&probe, "x").unwrap_or_else(|e| panic!("{d} not writable: {e}"));
    }
    assert!(Path::new("/var/run/docker.sock").exists());
    assert_eq!(
        std::fs::read_to_string(dest).unwrap(),
        "OPENSHIFT_CLUSTER_SUBNET=10.1.0.0/16\n"
    );
    let (code, out, _) = sh(&rt, "/usr/bin/execnet-it-nbctl", &[]);
    assert_eq!((code, out.as_str()), (0, "stub\n"));
    // The machine's own view (pid 1's root) never changed.
    assert!(!Path::new("/proc/1/root/etc/execnet-it-sdn").exists());
    assert!(!Path::new("/proc/1/root/usr/bin/execnet-it-nbctl").exists());
    assert!(!Path::new("/proc/1/root/var/log/execnet-it-probe").exists());
    assert!(Path::new("/etc/hostname").exists() || Path::new("/etc/passwd").exists());
}

#[test]
fn infra_containers_are_wired_to_the_bridge_and_answer() {
    if !privileged() {
        return;
    }
    let rt = NetnsRuntime::start(options()).expect("start sandbox");
    let a = rt.create_infra(&spec(1, "web-a", false)).expect("infra a");
    let b = rt.create_infra(&spec(2, "web-b", false)).expect("infra b");
    assert_eq!(
        (a.runtime_ip.as_str(), b.runtime_ip.as_str()),
        ("172.17.0.2", "172.17.0.3")
    );
    assert_eq!(
        a.name,
        format!(
            "/k8s_POD.{}_web-a_default_uid-1_12345671",
            a.name.split('.').nth(1).unwrap().split('_').next().unwrap()
        )
    );
    let recs = rt.records();
    let veth = recs[0].veth.clone().unwrap();
    assert!(veth.len() == 11 && veth.starts_with("veth"), "{veth}");
    assert_eq!(
        std::fs::read_link(format!("/sys/class/net/{veth}/master"))
            .unwrap()
            .file_name()
            .unwrap(),
        "docker0"
    );
    // Inside the pod: eth0 with the runtime IP and docker's MAC, a default route via .1.
    let (code, addr, err) = sh(
        &rt,
        "nsenter",
        &[
            "-t",
            &a.pid.to_string(),
            "-n",
            "ip",
            "-o",
            "addr",
            "show",
            "eth0",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(addr.contains("inet 172.17.0.2/16"), "{addr}");
    let (_, link, _) = sh(
        &rt,
        "nsenter",
        &[
            "-t",
            &a.pid.to_string(),
            "-n",
            "ip",
            "-o",
            "link",
            "show",
            "eth0",
        ],
    );
    assert!(link.contains("link/ether 02:42:ac:11:00:02"), "{link}");
    let (_, route, _) = sh(
        &rt,
        "nsenter",
        &["-t", &a.pid.to_string(), "-n", "ip", "route"],
    );
    assert!(route.contains("default via 172.17.0.1 dev eth0"), "{route}");
    // The pod answers from the node on its address.
    let listener = listen_in(a.pid);
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(b"pong").unwrap();
    });
    let mut conn = TcpStream::connect_timeout(
        &format!("172.17.0.2:{port}").parse().unwrap(),
        Duration::from_secs(5),
    )
    .expect("connect to the pod from the node");
    let mut got = String::new();
    conn.read_to_string(&mut got).unwrap();
    server.join().unwrap();
    assert_eq!(got, "pong");

    // A crash: every process in the pod's namespace is SIGKILLed; namespace and veth go.
    let helper = Command::new("nsenter")
        .args(["-t", &a.pid.to_string(), "-n", "sleep", "300"])
        .spawn()
        .unwrap();
    let netns = sys::ns_inode(a.pid, "net").unwrap();
    assert!(crate::util::eventually(5, || sys::pids_in_ns("net", netns)
        .len()
        == 2));
    rt.kill(&a.id).expect("kill");
    let mut helper = helper;
    let status = helper.wait().unwrap();
    assert!(!status.success());
    assert!(sys::pids_in_ns("net", netns).is_empty());
    assert!(
        !Path::new("/sys/class/net").join(&veth).exists(),
        "veth {veth} left"
    );
    let after = rt.inspect(&a.id).unwrap();
    assert!(!after.running);
    // A new container never reuses the dead one's veth name; its address is the lowest free
    // one, the dead container's (docker 1.12's IPAM).
    let c = rt.create_infra(&spec(3, "web-a", false)).unwrap();
    assert_eq!(c.runtime_ip, "172.17.0.2");
    assert_ne!(rt.records()[2].veth.as_deref(), Some(veth.as_str()));
    // Host network: the node's namespace and address.
    let h = rt.create_infra(&spec(4, "host-pod", true)).unwrap();
    assert_eq!(h.runtime_ip, "10.240.0.10");
    assert_eq!(sys::ns_inode(h.pid, "net").unwrap(), rt.sandbox().netns);
}

#[test]
fn docker_cli_answers_like_docker_1_12() {
    if !privileged() {
        return;
    }
    let rt = NetnsRuntime::start(options()).expect("start sandbox");
    let a = rt.create_infra(&spec(1, "web-a", false)).unwrap();
    let h = rt.create_infra(&spec(2, "host-pod", true)).unwrap();
    let pid = a.pid.to_string();
    for args in [
        vec!["inspect", "--format", "{{.State.Pid}}", &a.id],
        vec!["inspect", "--format={{ .State.Pid }}", &a.id],
        vec!["inspect", "-f", "{{.State.Pid}}", &a.id],
        vec!["inspect", "-f={{.State.Pid}}", &a.id],
    ] {
        let (code, out, err) = sh(&rt, "docker", &args);
        assert_eq!(
            (code, out.as_str(), err.as_str()),
            (0, format!("{pid}\n").as_str(), ""),
            "{args:?}"
        );
    }
    let (code, out, err) = sh(
        &rt,
        "docker",
        &[
            "inspect",
            "-format",
            "{{.NetworkSettings.IPAddress}}",
            &a.id,
        ],
    );
    assert_eq!((code, out.as_str()), (0, "172.17.0.2\n"));
    assert_eq!(
        err,
        "Warning: '-format' is deprecated, it will be replaced by '--format' soon. See usage.\n"
    );
    for (tmpl, want) in [
        ("{{.HostConfig.NetworkMode}}", "default"),
        ("{{.NetworkSettings.IPPrefixLen}}", "16"),
        ("{{.NetworkSettings.Gateway}}", "172.17.0.1"),
        ("{{.NetworkSettings.MacAddress}}", "02:42:ac:11:00:02"),
        ("{{.Name}}", a.name.as_str()),
    ] {
        let (_, out, _) = sh(&rt, "docker", &["inspect", "--format", tmpl, &a.id]);
        assert_eq!(out, format!("{want}\n"), "{tmpl}");
    }
    let (_, out, _) = sh(
        &rt,
        "docker",
        &["inspect", "--format", "{{.HostConfig.NetworkMode}}", &h.id],
    );
    assert_eq!(out, "host\n");
    let (code, out, err) = sh(
        &rt,
        "docker",
        &["inspect", "--format", "{{.State.Pid}}", "deadbeef"],
    );
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (1, "", "Error: No such object: deadbeef\n")
    );
    let (code, out, _) = sh(&rt, "docker", &["inspect", &a.id]);
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc[0]["Id"], a.id.as_str());
    assert!(out.starts_with("[\n    {\n        \"Id\""), "{out}");
    let (_, out, _) = sh(&rt, "docker", &["ps", "-a", "-q", "--no-trunc=true"]);
    assert_eq!(out, format!("{}\n{}\n", h.id, a.id));
    let (_, out, _) = sh(&rt, "docker", &["ps", "-a", "--no-trunc"]);
    let lines: Vec<&str> = out.lines().collect();
    // tabwriter columns: the 64-hex ID plus three spaces of padding.
    assert!(
        lines[0].starts_with(&format!("CONTAINER ID{}IMAGE", " ".repeat(64 + 3 - 12))),
        "{out}"
    );
    assert_eq!(lines[2].split_whitespace().next(), Some(a.id.as_str()));
    assert!(lines[2].ends_with(a.name.trim_start_matches('/')), "{out}");
    let (_, out, _) = sh(&rt, "docker", &["version"]);
    assert!(
        out.contains("Server:\n Version:      1.12.6\n API version:  1.24\n"),
        "{out}"
    );
}

#[test]
fn real_docker_clients_read_the_engine_api() {
    if !privileged() {
        return;
    }
    let rt = NetnsRuntime::start(options()).expect("start sandbox");
    let a = rt.create_infra(&spec(1, "web-a", false)).unwrap();
    // Today's docker CLI, if this machine has one: it negotiates down to 1.24.
    if let Ok(out) = Command::new("/usr/local/bin/docker")
        .args([
            "-H",
            "unix:///var/run/docker.sock",
            "inspect",
            "--format",
            "{{.State.Pid}} {{.NetworkSettings.IPAddress}}",
            &a.id,
        ])
        .env_remove("DOCKER_HOST")
        .output()
    {
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("{} 172.17.0.2\n", a.pid),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let miss = Command::new("/usr/local/bin/docker")
            .args(["-H", "unix:///var/run/docker.sock", "inspect", "nope"])
            .output()
            .unwrap();
        assert_eq!(miss.status.code(), Some(1));
        assert!(
            String::from_utf8_lossy(&miss.stderr).contains("No such object: nope"),
            "{}",
            String::from_utf8_lossy(&miss.stderr)
        );
    } else {
        eprintln!("no docker CLI at /usr/local/bin/docker: that client not tried");
    }
    // The Python Docker SDK, if installed: APIClient(version="auto") reads /version.
    let py = "import docker,sys\nc=docker.APIClient(base_url='unix:///var/run/docker.sock',version='auto')\ni=c.inspect_container(sys.argv[1])\nprint(c.api_version, i['State']['Pid'], i['NetworkSettings']['IPAddress'], len(c.containers(all=True)))\n";
    let out = Command::new("python3")
        .args(["-c", py, &a.id])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("No module named 'docker'") {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install the Python docker SDK"
        );
        eprintln!("no Python docker SDK: that client not tried");
    } else {
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("1.24 {} 172.17.0.2 1\n", a.pid),
            "{stderr}"
        );
    }
    // docker-py 1.10.6 under Python 2.7 (the era's client), where pyenv has 2.7.18.
    let py27 = std::path::Path::new("/root/.pyenv/versions/2.7.18/bin/python");
    if py27.exists() {
        let py = "import sys, docker\nc = docker.Client(base_url='unix://var/run/docker.sock')\ni = c.inspect_container(sys.argv[1])\nold = docker.Client(base_url='unix://var/run/docker.sock', version='1.16')\nprint('%s %s %s %s %s' % (docker.version, c.api_version, i['State']['Pid'], i['NetworkSettings']['MacAddress'], old.inspect_container(sys.argv[1])['Name']))\ntry:\n    c.inspect_container('nope')\nexcept docker.errors.NotFound:\n    print('404')\n";
        let out = Command::new(py27).args(["-c", py, &a.id]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("No module named docker") {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must install docker-py 1.10.6 for Python 2.7"
            );
            eprintln!("no docker-py under Python 2.7: that client not tried");
        } else {
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                format!("1.10.6 1.24 {} 02:42:ac:11:00:02 {}\n404\n", a.pid, a.name),
                "{stderr}"
            );
        }
    }
    // Old docker-py style: a /v1.16/ prefix straight away, no handshake.
    let out = Command::new("curl")
        .args([
            "-s",
            "--unix-socket",
            "/var/run/docker.sock",
            &format!("http://docker/v1.16/containers/{}/json", a.id),
        ])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["State"]["Pid"], a.pid);
    // The kubelet's read-only API inside the node namespace.
    let out = Command::new("curl")
        .args(["-s", "http://127.0.0.1:10255/pods"])
        .output()
        .unwrap();
    let pods: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(pods["items"][0]["metadata"]["name"], "web-a");
    assert_eq!(pods["items"][0]["status"]["podIP"], "172.17.0.2");
}

/// A run of `execnet sandbox` whose command reports the run's identity and then waits; it also
/// leaves a daemon of its own (setsid) and a process inside a pod, as plugins do.
struct HeldRun {
    child: std::process::Child,
    run_id: String,
    netns: u64,
    mntns: u64,
    pod_pids: Vec<u32>,
    pod_netns: Vec<u64>,
}

fn hold_run(extra: &[&str]) -> HeldRun {
    use std::io::BufRead;
    let script = "set -e; p1=${EXECNET_INFRA_PIDS%% *}; \
        nsenter -t $p1 -n sleep 300 & setsid sleep 301 < /dev/null > /dev/null 2>&1 & \
        pn=''; for p in $EXECNET_INFRA_PIDS; do pn=\"$pn $(stat -L -c %i /proc/$p/ns/net)\"; done; \
        echo \"$EXECNET_RUN_ID|$(stat -L -c %i /proc/self/ns/net)|$(stat -L -c %i /proc/self/ns/mnt)|$EXECNET_INFRA_PIDS|$pn\"; \
        exec sleep 302";
    let mut args = vec!["sandbox", "--pods", "2"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", "sh", "-c", script]);
    let mut child = Command::new(execnet_path())
        .args(&args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let parts: Vec<&str> = line.trim().split('|').collect();
    assert_eq!(parts.len(), 5, "run said {line:?}");
    let nums = |s: &str| -> Vec<u64> { s.split_whitespace().map(|x| x.parse().unwrap()).collect() };
    HeldRun {
        run_id: parts[0].to_string(),
        netns: parts[1].parse().unwrap(),
        mntns: parts[2].parse().unwrap(),
        pod_pids: nums(parts[3]).into_iter().map(|p| p as u32).collect(),
        pod_netns: nums(parts[4]),
        child,
    }
}

impl HeldRun {
    /// The run's processes now, each with its start time: what must be gone later. Taken while
    /// the run's namespaces exist; looking for "processes in namespaces with these inode
    /// numbers" after they are gone can find another test's: the kernel reuses a destroyed
    /// namespace's inode number (seen twice as a failure when netns tests ran side by side).
    fn processes(&self) -> Vec<(u32, u64)> {
        self.leftovers()
            .into_iter()
            .filter_map(|p| sys::start_time(p).map(|t| (p, t)))
            .collect()
    }

    /// Those of `processes` still alive (the same pid with the same start time).
    fn still_alive(procs: &[(u32, u64)]) -> Vec<u32> {
        procs
            .iter()
            .filter(|&&(p, t)| sys::start_time(p) == Some(t))
            .map(|&(p, _)| p)
            .collect()
    }

    /// Every process now in the run's namespaces (sandbox or pods).
    fn leftovers(&self) -> Vec<u32> {
        sys::all_pids()
            .into_iter()
            .filter(|&p| {
                sys::ns_inode(p, "mnt").is_ok_and(|i| i == self.mntns)
                    || sys::ns_inode(p, "net")
                        .is_ok_and(|i| i == self.netns || self.pod_netns.contains(&i))
            })
            .collect()
    }
}

fn host_view() -> (Vec<String>, Vec<String>) {
    let mounts = std::fs::read_to_string("/proc/1/mountinfo").unwrap();
    let mut m: Vec<String> = mounts
        .lines()
        .map(|l| l.split(' ').skip(3).take(2).collect::<Vec<_>>().join(" "))
        .collect();
    m.sort();
    (links(), m)
}

#[test]
fn sigint_mid_run_leaves_nothing_behind() {
    if !privileged() {
        return;
    }
    let before = host_view();
    let mut run = hold_run(&["--ovs"]);
    assert_eq!(run.pod_pids.len(), 2);
    assert!(execnet::runtime::netns::gc::record_exists(&run.run_id));
    // The sandbox holds the pause processes, the plugin-like helpers and both OVS daemons.
    let comms: Vec<String> = run
        .leftovers()
        .iter()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/comm")).ok())
        .map(|c| c.trim().to_string())
        .collect();
    for want in ["pause", "ovsdb-server", "ovs-vswitchd", "sleep"] {
        assert!(comms.iter().any(|c| c == want), "no {want} in {comms:?}");
    }
    let procs = run.processes();
    sys::kill(run.child.id(), libc::SIGINT);
    let status = run.child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "128 + SIGINT");
    assert!(
        crate::util::eventually(5, || HeldRun::still_alive(&procs).is_empty()),
        "left: {:?}",
        HeldRun::still_alive(&procs)
    );
    assert!(!execnet::runtime::netns::gc::record_exists(&run.run_id));
    assert_eq!(host_view(), before, "the machine's links or mounts changed");
}

#[test]
fn gc_removes_what_a_killed_execnet_left() {
    if !privileged() {
        return;
    }
    let mut run = hold_run(&[]);
    let procs = run.processes();
    // The pause processes, and the script's three sleeps (one in a pod's netns, one setsid).
    assert!(procs.len() >= 5, "{procs:?}");
    sys::kill(run.child.id(), libc::SIGKILL);
    let _ = run.child.wait();
    // Pause processes end with execnet (their lifeline closed); the plugin-like daemons do not.
    assert!(crate::util::eventually(5, || run
        .pod_pids
        .iter()
        .all(|&p| sys::start_time(p).is_none())));
    let out = Command::new(execnet_path())
        .args(["gc", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Another test's gc may have collected it first; either way nothing is left.
    let _ = report;
    assert!(
        crate::util::eventually(5, || HeldRun::still_alive(&procs).is_empty()),
        "left: {:?}",
        HeldRun::still_alive(&procs)
    );
    assert!(!execnet::runtime::netns::gc::record_exists(&run.run_id));
}

impl Drop for HeldRun {
    fn drop(&mut self) {
        // A failed assertion must not leave the run behind.
        if self.child.try_wait().ok().flatten().is_none() {
            sys::kill(self.child.id(), libc::SIGINT);
            let _ = self.child.wait();
        }
    }
}

#[test]
fn open_vswitch_runs_in_the_sandbox_and_stops_with_it() {
    if !privileged() {
        return;
    }
    if Command::new("ovsdb-server")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install openvswitch-switch"
        );
        eprintln!("skipped: Open vSwitch is not installed");
        return;
    }
    let mut opts = options();
    opts.ovs = true;
    let rt = NetnsRuntime::start(opts).expect("start sandbox with OVS");
    let a = rt.create_infra(&spec(1, "web-a", false)).unwrap();
    let veth = rt.records()[0].veth.clone().unwrap();
    // As openshift-ovs-subnet did: move the pod's veth from the docker bridge to OVS br0.
    for args in [
        vec![
            "add-br",
            "br0",
            "--",
            "set",
            "bridge",
            "br0",
            "datapath_type=netdev",
        ],
        vec!["add-port", "br0", veth.as_str()],
    ] {
        let (code, _, err) = sh(&rt, "ovs-vsctl", &args);
        assert_eq!(code, 0, "ovs-vsctl {args:?}: {err}");
    }
    let (_, ports, _) = sh(&rt, "ovs-vsctl", &["list-ports", "br0"]);
    assert_eq!(ports, format!("{veth}\n"));
    let (code, _, err) = sh(
        &rt,
        "ovs-ofctl",
        &[
            "add-flow",
            "br0",
            "table=0,priority=100,ip,nw_dst=172.17.0.2,actions=output:1",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (_, flows, _) = sh(&rt, "ovs-ofctl", &["dump-flows", "br0"]);
    assert!(flows.contains("nw_dst=172.17.0.2"), "{flows}");
    let (_, tso, _) = sh(
        &rt,
        "ovs-vsctl",
        &[
            "get",
            "Open_vSwitch",
            ".",
            "other_config:userspace-tso-enable",
        ],
    );
    assert_eq!(tso.trim(), "\"true\"");
    // The machine's own OVS database is not the run's.
    assert!(
        !Path::new("/proc/1/root/run/openvswitch/db.sock").exists()
            || Path::new("/run/openvswitch/conf.db").exists()
    );
    let daemons: Vec<u32> = rt
        .sandbox()
        .processes()
        .into_iter()
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.starts_with("ovs"))
        })
        .collect();
    assert_eq!(daemons.len(), 2, "ovsdb-server and ovs-vswitchd");
    let _ = a;
    drop(rt);
    assert!(
        daemons.iter().all(|&p| sys::start_time(p).is_none()),
        "an OVS daemon outlived the run"
    );
}

/// Certify a sample plugin under `--runtime netns` through the library (this test process is
/// the one that enters the sandbox), judging only the network checks.
fn certify_network(plugin: &str, ovs: bool, profile: &str) -> execnet::certify::Report {
    let plugins = crate::util::sample_plugins();
    let mut opts = options();
    opts.ovs = ovs;
    // Plugins inherit the environment: the docker CLI first on PATH, as the CLI sets it.
    let rt = NetnsRuntime::start(opts).expect("start sandbox");
    let copts = execnet::certify::CertifyOptions {
        profile: execnet::kubelet::Profile::by_name(profile).unwrap(),
        timeout: Some(Duration::from_secs(20)),
        focus: vec!["network/*".into()],
        netns: Some(std::sync::Arc::new(rt)),
        ..execnet::certify::CertifyOptions::default()
    };
    execnet::certify::certify(Some((plugins.path(), plugin)), &copts, &mut |_| {})
        .expect("certify runs")
}

fn outcomes(report: &execnet::certify::Report) -> (Vec<&'static str>, Vec<&'static str>, String) {
    use execnet::certify::Outcome;
    let pick = |o: Outcome| {
        report
            .checks
            .iter()
            .filter(|c| c.outcome == o && c.id.starts_with("network/"))
            .map(|c| c.id)
            .collect::<Vec<_>>()
    };
    let explain = report
        .checks
        .iter()
        .filter(|c| c.id.starts_with("network/"))
        .map(explain_check)
        .collect::<Vec<_>>()
        .join("\n");
    (pick(Outcome::Fail), pick(Outcome::Warn), explain)
}

/// One check's outcome, summary and findings, for an assertion's message.
fn explain_check(c: &execnet::certify::CheckResult) -> String {
    let found: Vec<&str> = c.findings.iter().map(|f| f.problem.as_str()).collect();
    format!("{} {}: {} {:?}", c.outcome.as_str(), c.id, c.summary, found)
}

/// The docker CLI link needs PATH: set it once for this test process (single-threaded before
/// the sandbox starts, as the CLI does).
fn plugin_path() {
    let path = std::env::var("PATH").unwrap_or_default();
    if !path.starts_with(execnet::runtime::netns::sandbox::BIN_DIR) {
        // SAFETY: called first thing in the test, before any thread of the test starts.
        unsafe {
            std::env::set_var(
                "PATH",
                format!("{}:{path}", execnet::runtime::netns::sandbox::BIN_DIR),
            );
            std::env::set_var("DOCKER_HOST", "unix:///var/run/docker.sock");
        }
    }
}

#[rstest::rstest]
#[case::bridge("netns-bridge", false)]
#[case::bridge_ovs("netns-bridge", true)]
#[case::api("netns-api", false)]
fn sample_plugins_pass_the_network_checks(#[case] plugin: &str, #[case] ovs: bool) {
    if !privileged() {
        return;
    }
    plugin_path();
    let report = certify_network(plugin, ovs, "1.5");
    let (fails, warns, explain) = outcomes(&report);
    assert_eq!((fails, warns), (vec![], vec![]), "{explain}");
    let passed = report
        .checks
        .iter()
        .filter(|c| c.id.starts_with("network/") && c.outcome == execnet::certify::Outcome::Pass)
        .count();
    assert_eq!(passed, 6, "{explain}");
}

#[rstest::rstest]
#[case::wrong_address("netns-wrong-address", &["network/address-in-pod"], &[])]
#[case::same_address("netns-same-address", &["network/unique-address"], &[])]
#[case::link_down("netns-link-down", &["network/pod-answers"], &["network/crash-recovery"])]
#[case::teardown_noop("netns-teardown-noop", &["network/teardown-leaves-nothing"], &[])]
#[case::no_reclaim("netns-no-reclaim", &[], &["network/crash-recovery"])]
#[case::status_fails("netns-status-fails", &["network/status-for-live-pod"], &[])]
fn netns_gallery_fails_exactly_its_check(
    #[case] plugin: &str,
    #[case] fails: &[&str],
    #[case] warns: &[&str],
) {
    if !privileged() {
        return;
    }
    plugin_path();
    let report = certify_network(plugin, false, "1.5");
    let (f, w, explain) = outcomes(&report);
    assert_eq!((f, w), (fails.to_vec(), warns.to_vec()), "{explain}");
    // Its findings are the report's like any check's: in a root cause, with a command that
    // runs them again (the same certify under netns, focused on the check).
    for c in report.checks.iter().filter(|c| fails.contains(&c.id)) {
        assert!(!c.findings.is_empty(), "{explain}");
        for finding in &c.findings {
            let cause = finding.cause.as_deref().expect("a cause");
            assert!(
                report
                    .causes
                    .iter()
                    .any(|k| k.id == cause && k.checks.contains(&c.id)),
                "{cause} of {}",
                c.id
            );
            let r = finding.reproduce.as_ref().expect("reproduce");
            assert_eq!(r.replay[..2], ["execnet", "certify"], "{}", r.replay_line);
            assert!(
                r.replay_line.contains("--runtime netns")
                    && r.replay_line.ends_with(&format!("--focus {}", c.id))
                    && r.replay_line.contains(&format!("--plugin {plugin}")),
                "{}",
                r.replay_line
            );
        }
    }
}

#[test]
fn a_failing_status_is_only_a_warning_under_1_3() {
    if !privileged() {
        return;
    }
    plugin_path();
    let report = certify_network("netns-status-fails", false, "1.3");
    let (f, w, explain) = outcomes(&report);
    assert_eq!(
        (f, w),
        (vec![], vec!["network/status-for-live-pod"]),
        "{explain}"
    );
}

#[test]
fn netns_bridge_passes_the_whole_suite_on_real_infra_containers() {
    if !privileged() {
        return;
    }
    plugin_path();
    let plugins = crate::util::sample_plugins();
    let rt = NetnsRuntime::start(options()).expect("start sandbox");
    let copts = execnet::certify::CertifyOptions {
        timeout: Some(Duration::from_secs(20)),
        // Latency budgets are not judged on a loaded test machine.
        skip: vec!["timeout/p99".into()],
        netns: Some(std::sync::Arc::new(rt)),
        ..execnet::certify::CertifyOptions::default()
    };
    let report =
        execnet::certify::certify(Some((plugins.path(), "netns-bridge")), &copts, &mut |_| {})
            .expect("certify runs");
    let bad: Vec<String> = report
        .checks
        .iter()
        .filter(|c| {
            matches!(
                c.outcome,
                execnet::certify::Outcome::Fail | execnet::certify::Outcome::Warn
            )
        })
        .map(explain_check)
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert_eq!(report.verdict, execnet::certify::Verdict::Pass);
    // The lifecycle ran on real containers: docker's addresses, not the simulator's.
    let network = report
        .checks
        .iter()
        .filter(|c| c.id.starts_with("network/") && c.outcome == execnet::certify::Outcome::Pass)
        .count();
    assert_eq!(network, 6);
}

#[test]
fn pid_1_in_the_sandbox_is_the_sandbox_s_own_init() {
    if !privileged() {
        return;
    }
    let (a, b) = (
        format!("xa{}", std::process::id() % 100_000),
        format!("xb{}", std::process::id() % 100_000),
    );
    let before = host_view();
    // `netns 1` names PID 1's network namespace: on the machine, the machine's own.
    let script = format!(
        "ip link add {a} type veth peer name {b} netns 1 && ip link set {a} netns 1 && \
         ls /sys/class/net && echo pid=$$"
    );
    let out = Command::new(execnet_path())
        .args(["sandbox", "--pods", "0", "--", "sh", "-c", &script])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Inside: both ends stayed in the sandbox, and the shell is no low PID of the machine's.
    assert!(
        stdout.lines().any(|l| l == a) && stdout.lines().any(|l| l == b),
        "{stdout}"
    );
    let host = links();
    assert!(
        !host.contains(&a) && !host.contains(&b),
        "a link reached the machine's namespace: {host:?}"
    );
    assert_eq!(host_view(), before, "the machine's links or mounts changed");
}

#[test]
fn a_node_setup_that_never_ends_is_killed_at_its_timeout() {
    if !privileged() {
        return;
    }
    let tag = format!("99{}", std::process::id() % 100_000);
    let out = Command::new(execnet_path())
        .args(["sandbox", "--node-setup-timeout", "1s", "--node-setup"])
        .arg(format!("sleep {tag}"))
        .args(["--", "true"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("still running after 1s (--node-setup-timeout), killed"),
        "{stderr}"
    );
    let left = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            std::fs::read(e.path().join("cmdline"))
                .is_ok_and(|c| c == format!("sleep\0{tag}\0").as_bytes())
        })
        .count();
    assert_eq!(left, 0, "the node setup outlived the run");
}

#[test]
fn a_fifo_as_node_file_is_refused_not_waited_on() {
    if !privileged() {
        return;
    }
    let tmp = tempfile::TempDir::new().unwrap();
    let fifo = tmp.path().join("fifo");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let out = Command::new(execnet_path())
        .args(["sandbox", "--node-file"])
        .arg(format!("{}:/etc/x", fifo.display()))
        .args(["--", "true"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is not a regular file"), "{stderr}");
}

/// A plugin whose teardown forgets the /32 route its setup added on the node (netns-bridge
/// without its `ip route del`) fails `network/teardown-leaves-nothing` in the full suite as with
/// `--focus 'network/*'`: the routes the suite's earlier pods leaked are on the node before the
/// network lifecycle starts, at the addresses its pods reuse, and still count.
#[test]
fn a_route_leaked_per_pod_fails_in_the_full_suite_as_in_focus() {
    if !privileged() {
        return;
    }
    plugin_path();
    let plugins = crate::util::sample_plugins();
    let src = plugins.path().join("netns-bridge/netns-bridge");
    let text = std::fs::read_to_string(&src).expect("netns-bridge");
    let leaky = text.replace("    ip route del \"${ip}/32\" 2>/dev/null || true\n", "");
    assert_ne!(
        leaky, text,
        "netns-bridge no longer deletes its route this way"
    );
    crate::util::write_plugin(plugins.path(), "route-leak", "route-leak", &leaky);
    let rt = NetnsRuntime::start(options()).expect("start sandbox");
    let copts = execnet::certify::CertifyOptions {
        timeout: Some(Duration::from_secs(20)),
        skip: vec!["timeout/p99".into()],
        netns: Some(std::sync::Arc::new(rt)),
        ..execnet::certify::CertifyOptions::default()
    };
    let report =
        execnet::certify::certify(Some((plugins.path(), "route-leak")), &copts, &mut |_| {})
            .expect("certify runs");
    let c = report
        .check("network/teardown-leaves-nothing")
        .expect("judged");
    let explain = explain_check(c);
    assert_eq!(c.outcome, execnet::certify::Outcome::Fail, "{explain}");
    assert!(
        c.findings.iter().any(|f| f.problem.contains("route ")),
        "{explain}"
    );
    assert_eq!(report.verdict, execnet::certify::Verdict::Fail);
}
