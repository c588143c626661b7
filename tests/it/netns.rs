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
    assert_eq!((a.runtime_ip.as_str(), b.runtime_ip.as_str()), ("172.17.0.2", "172.17.0.3"));
    assert_eq!(a.name, format!("/k8s_POD.{}_web-a_default_uid-1_12345671", a.name.split('.').nth(1).unwrap().split('_').next().unwrap()));
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
    let (code, addr, err) = sh(&rt, "nsenter", &["-t", &a.pid.to_string(), "-n", "ip", "-o", "addr", "show", "eth0"]);
    assert_eq!(code, 0, "{err}");
    assert!(addr.contains("inet 172.17.0.2/16"), "{addr}");
    let (_, link, _) = sh(&rt, "nsenter", &["-t", &a.pid.to_string(), "-n", "ip", "-o", "link", "show", "eth0"]);
    assert!(link.contains("link/ether 02:42:ac:11:00:02"), "{link}");
    let (_, route, _) = sh(&rt, "nsenter", &["-t", &a.pid.to_string(), "-n", "ip", "route"]);
    assert!(route.contains("default via 172.17.0.1 dev eth0"), "{route}");
    // The pod answers from the node on its address.
    let listener = listen_in(a.pid);
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(b"pong").unwrap();
    });
    let mut conn = TcpStream::connect_timeout(&format!("172.17.0.2:{port}").parse().unwrap(), Duration::from_secs(5))
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
    assert!(crate::util::eventually(5, || sys::pids_in_ns("net", netns).len() == 2));
    rt.kill(&a.id).expect("kill");
    let mut helper = helper;
    let status = helper.wait().unwrap();
    assert!(!status.success());
    assert!(sys::pids_in_ns("net", netns).is_empty());
    assert!(!Path::new("/sys/class/net").join(&veth).exists(), "veth {veth} left");
    let after = rt.inspect(&a.id).unwrap();
    assert!(!after.running);
    // A new container never reuses the dead one's veth name or address.
    let c = rt.create_infra(&spec(3, "web-a", false)).unwrap();
    assert_eq!(c.runtime_ip, "172.17.0.4");
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
        assert_eq!((code, out.as_str(), err.as_str()), (0, format!("{pid}\n").as_str(), ""), "{args:?}");
    }
    let (code, out, err) = sh(&rt, "docker", &["inspect", "-format", "{{.NetworkSettings.IPAddress}}", &a.id]);
    assert_eq!((code, out.as_str()), (0, "172.17.0.2\n"));
    assert_eq!(err, "Warning: '-format' is deprecated, it will be replaced by '--format' soon. See usage.\n");
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
    let (_, out, _) = sh(&rt, "docker", &["inspect", "--format", "{{.HostConfig.NetworkMode}}", &h.id]);
    assert_eq!(out, "host\n");
    let (code, out, err) = sh(&rt, "docker", &["inspect", "--format", "{{.State.Pid}}", "deadbeef"]);
    assert_eq!((code, out.as_str(), err.as_str()), (1, "", "Error: No such object: deadbeef\n"));
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
    assert!(lines[0].starts_with(&format!("CONTAINER ID{}IMAGE", " ".repeat(64 + 3 - 12))), "{out}");
    assert_eq!(lines[2].split_whitespace().next(), Some(a.id.as_str()));
    assert!(lines[2].ends_with(a.name.trim_start_matches('/')), "{out}");
    let (_, out, _) = sh(&rt, "docker", &["version"]);
    assert!(out.contains("Server:\n Version:      1.12.6\n API version:  1.24\n"), "{out}");
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
        .args(["-H", "unix:///var/run/docker.sock", "inspect", "--format", "{{.State.Pid}} {{.NetworkSettings.IPAddress}}", &a.id])
        .env_remove("DOCKER_HOST")
        .output()
    {
        assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{} 172.17.0.2\n", a.pid), "{}", String::from_utf8_lossy(&out.stderr));
        let miss = Command::new("/usr/local/bin/docker")
            .args(["-H", "unix:///var/run/docker.sock", "inspect", "nope"])
            .output()
            .unwrap();
        assert_eq!(miss.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&miss.stderr).contains("No such object: nope"), "{}", String::from_utf8_lossy(&miss.stderr));
    } else {
        eprintln!("no docker CLI at /usr/local/bin/docker: that client not tried");
    }
    // The Python Docker SDK, if installed: APIClient(version="auto") reads /version.
    let py = "import docker,sys\nc=docker.APIClient(base_url='unix:///var/run/docker.sock',version='auto')\ni=c.inspect_container(sys.argv[1])\nprint(c.api_version, i['State']['Pid'], i['NetworkSettings']['IPAddress'], len(c.containers(all=True)))\n";
    let out = Command::new("python3").args(["-c", py, &a.id]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("No module named 'docker'") {
        eprintln!("no Python docker SDK: that client not tried");
    } else {
        assert_eq!(String::from_utf8_lossy(&out.stdout), format!("1.24 {} 172.17.0.2 1\n", a.pid), "{stderr}");
    }
    // Old docker-py style: a /v1.16/ prefix straight away, no handshake.
    let out = Command::new("curl")
        .args(["-s", "--unix-socket", "/var/run/docker.sock", &format!("http://docker/v1.16/containers/{}/json", a.id)])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["State"]["Pid"], a.pid);
    // The kubelet's read-only API inside the node namespace.
    let out = Command::new("curl").args(["-s", "http://127.0.0.1:10255/pods"]).output().unwrap();
    let pods: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(pods["items"][0]["metadata"]["name"], "web-a");
    assert_eq!(pods["items"][0]["status"]["podIP"], "172.17.0.2");
}
