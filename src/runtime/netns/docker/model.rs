//! The runtime's containers and pods as docker 1.12 (API 1.24) and the kubelet showed them: one
//! registry shared by the runtime (which writes it), the Engine API and the kubelet's read-only
//! API (which read it). `inspect_json` is `GET /containers/{id}/json`'s body, `ps_json` one entry
//! of `GET /containers/json`.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::SystemTime;

use serde_json::{Value, json};

use crate::runtime::PodMeta;

/// The image the kubelet ran as infra container (v1.1.1
/// `pkg/kubelet/dockertools/docker.go` `PodInfraContainerImage`).
pub const PAUSE_IMAGE: &str = "gcr.io/google_containers/pause:0.8.0";

/// One infra container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRecord {
    pub id: String,
    /// Docker's name with its leading `/`.
    pub name: String,
    pub pod: PodMeta,
    /// The pause process while it runs.
    pub pid: u32,
    pub running: bool,
    pub ip: Option<Ipv4Addr>,
    pub prefix_len: u8,
    pub gateway: Option<Ipv4Addr>,
    pub mac: Option<String>,
    pub bridge: String,
    pub veth: Option<String>,
    pub netns: u64,
    pub created: SystemTime,
    pub finished: Option<SystemTime>,
}

/// What the kubelet published about a pod (its read-only API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodRecord {
    pub meta: PodMeta,
    pub phase: String,
    pub pod_ip: Option<String>,
}

/// Everything the APIs serve.
#[derive(Debug, Default)]
pub struct Registry {
    pub containers: Vec<ContainerRecord>,
    pub pods: BTreeMap<(String, String), PodRecord>,
}

impl Registry {
    /// Find a container as docker did: full ID, a unique ID prefix, or a name (with or without
    /// the leading `/`).
    pub fn find(&self, key: &str) -> Option<&ContainerRecord> {
        if key.is_empty() {
            return None;
        }
        if let Some(c) = self.containers.iter().find(|c| c.id == key) {
            return Some(c);
        }
        let named = format!("/{}", key.trim_start_matches('/'));
        if let Some(c) = self.containers.iter().find(|c| c.name == named) {
            return Some(c);
        }
        let mut prefixed = self.containers.iter().filter(|c| c.id.starts_with(key));
        match (prefixed.next(), prefixed.next()) {
            (Some(c), None) => Some(c),
            _ => None,
        }
    }
}

/// The kubelet's docker name for an infra container: `/k8s_POD.<hash>_<pod>_<ns>_<uid>_<rand>`
/// (v1.5.0 `pkg/kubelet/dockertools/docker.go` `BuildDockerName`; v1.1.1 the same format:
/// `k8s_<container>.<hash>_<podFullName>_<uid>_%08x` with `podFullName` = `<name>_<namespace>`;
/// docker adds the `/`). `<hash>` is `HashContainer` of the infra container's spec (an adler32
/// of its printed form, which depends on the pause image and the pod's ports); execnet uses the
/// adler32 of `POD/<namespace>/<name>`, shaped the same.
pub fn docker_name(pod: &PodMeta, suffix: u32) -> String {
    let hash = adler32(format!("POD/{}/{}", pod.namespace, pod.name).as_bytes());
    format!(
        "/k8s_POD.{hash:x}_{}_{}_{}_{suffix:08x}",
        pod.name, pod.namespace, pod.uid
    )
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &d in data {
        a = (a + d as u32) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

/// RFC 3339 with nanoseconds in UTC, as Go's `time.RFC3339Nano` printed docker's times.
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let nanos = format!("{:09}", d.subsec_nanos());
    let nanos = nanos.trim_end_matches('0');
    let frac = if nanos.is_empty() {
        String::new()
    } else {
        format!(".{nanos}")
    };
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}{frac}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

fn labels(c: &ContainerRecord) -> Value {
    // v1.5.0 pkg/kubelet/dockertools/labels.go newLabels (the infra container's subset).
    json!({
        "io.kubernetes.container.hash": c.name.split('_').nth(1).and_then(|s| s.split_once('.')).map(|(_, h)| h).unwrap_or(""),
        "io.kubernetes.container.name": "POD",
        "io.kubernetes.container.restartCount": "0",
        "io.kubernetes.container.terminationMessagePath": "",
        "io.kubernetes.pod.name": c.pod.name,
        "io.kubernetes.pod.namespace": c.pod.namespace,
        "io.kubernetes.pod.uid": c.pod.uid,
    })
}

fn network_mode(c: &ContainerRecord) -> &'static str {
    if c.pod.host_network {
        "host"
    } else {
        "default"
    }
}

/// The endpoint settings docker 1.12 reported, empty once the container stopped (docker
/// releases the sandbox's network on stop).
fn endpoint(c: &ContainerRecord) -> Value {
    let live = c.running && !c.pod.host_network;
    let s = |o: Option<String>| {
        if live {
            o.unwrap_or_default()
        } else {
            String::new()
        }
    };
    json!({
        "IPAMConfig": null,
        "Links": null,
        "Aliases": null,
        "NetworkID": "",
        "EndpointID": s(Some(format!("{:064x}", u64::from(c.ip.map_or(0, u32::from))))),
        "Gateway": s(c.gateway.map(|g| g.to_string())),
        "IPAddress": s(c.ip.map(|i| i.to_string())),
        "IPPrefixLen": if live && c.ip.is_some() { c.prefix_len } else { 0 },
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "MacAddress": s(c.mac.clone()),
    })
}

/// `GET /containers/{id}/json` (API 1.24, docker 1.12 `types.ContainerJSON`).
pub fn inspect_json(c: &ContainerRecord) -> Value {
    let ep = endpoint(c);
    let net_name = if c.pod.host_network { "host" } else { "bridge" };
    json!({
        "Id": c.id,
        "Created": rfc3339(c.created),
        "Path": "/pause",
        "Args": [],
        "State": {
            "Status": if c.running { "running" } else { "exited" },
            "Running": c.running,
            "Paused": false,
            "Restarting": false,
            "OOMKilled": false,
            "Dead": false,
            "Pid": if c.running { c.pid } else { 0 },
            "ExitCode": if c.running { 0 } else { 137 },
            "Error": "",
            "StartedAt": rfc3339(c.created),
            "FinishedAt": c.finished.map_or_else(|| ZERO_TIME.to_string(), rfc3339),
        },
        "Image": format!("sha256:{:064x}", 0x5a11_u64),
        "ResolvConfPath": format!("/var/lib/docker/containers/{}/resolv.conf", c.id),
        "HostnamePath": format!("/var/lib/docker/containers/{}/hostname", c.id),
        "HostsPath": format!("/var/lib/docker/containers/{}/hosts", c.id),
        "LogPath": format!("/var/lib/docker/containers/{0}/{0}-json.log", c.id),
        "Name": c.name,
        "RestartCount": 0,
        "Driver": "overlay",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": null,
        "HostConfig": {
            "Binds": null,
            "NetworkMode": network_mode(c),
            "PortBindings": {},
            "RestartPolicy": {"Name": "", "MaximumRetryCount": 0},
            "AutoRemove": false,
            "IpcMode": "",
            "PidMode": "",
            "Privileged": false,
            "DnsOptions": null,
            "Dns": [],
        },
        "Mounts": [],
        "Config": {
            "Hostname": if c.pod.host_network { "node".to_string() } else { c.pod.name.clone() },
            "Domainname": "",
            "User": "",
            "AttachStdin": false,
            "AttachStdout": false,
            "AttachStderr": false,
            "Tty": false,
            "OpenStdin": false,
            "StdinOnce": false,
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": null,
            "Image": PAUSE_IMAGE,
            "Volumes": null,
            "WorkingDir": "",
            "Entrypoint": ["/pause"],
            "OnBuild": null,
            "Labels": labels(c),
        },
        "NetworkSettings": {
            "Bridge": "",
            "SandboxID": if c.running { format!("{:064x}", c.netns) } else { String::new() },
            "HairpinMode": false,
            "LinkLocalIPv6Address": "",
            "LinkLocalIPv6PrefixLen": 0,
            "Ports": {},
            "SandboxKey": if c.running && !c.pod.host_network { format!("/proc/{}/ns/net", c.pid) } else { String::new() },
            "SecondaryIPAddresses": null,
            "SecondaryIPv6Addresses": null,
            "EndpointID": ep["EndpointID"],
            "Gateway": ep["Gateway"],
            "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0,
            "IPAddress": ep["IPAddress"],
            "IPPrefixLen": ep["IPPrefixLen"],
            "IPv6Gateway": "",
            "MacAddress": ep["MacAddress"],
            "Networks": { net_name: ep },
        },
    })
}

/// One entry of `GET /containers/json` (API 1.24 `types.Container`).
pub fn ps_json(c: &ContainerRecord) -> Value {
    let ep = endpoint(c);
    let net_name = if c.pod.host_network { "host" } else { "bridge" };
    let created = c
        .created
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    json!({
        "Id": c.id,
        "Names": [c.name],
        "Image": PAUSE_IMAGE,
        "ImageID": format!("sha256:{:064x}", 0x5a11_u64),
        "Command": "/pause",
        "Created": created,
        "Ports": [],
        "Labels": labels(c),
        "State": if c.running { "running" } else { "exited" },
        "Status": if c.running { "Up" } else { "Exited (137)" },
        "HostConfig": {"NetworkMode": network_mode(c)},
        "NetworkSettings": {"Networks": { net_name: ep }},
        "Mounts": [],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn pod() -> PodMeta {
        PodMeta {
            name: "web-1".into(),
            namespace: "default".into(),
            uid: "0f1e2d3c-0000-4000-8000-000000000001".into(),
            ..PodMeta::default()
        }
    }

    #[test]
    fn docker_name_has_the_kubelet_shape() {
        let name = docker_name(&pod(), 0xdead_beef);
        let fields: Vec<&str> = name.split('_').collect();
        assert_eq!(fields[0], "/k8s");
        assert!(fields[1].starts_with("POD."), "{name}");
        assert_eq!(
            &fields[2..],
            [
                "web-1",
                "default",
                "0f1e2d3c-0000-4000-8000-000000000001",
                "deadbeef"
            ]
        );
    }

    #[test]
    fn times_print_as_go_rfc3339nano() {
        let t = SystemTime::UNIX_EPOCH + Duration::new(1_480_000_000, 120_000_000);
        assert_eq!(rfc3339(t), "2016-11-24T15:06:40.12Z");
        assert_eq!(
            rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
    }

    #[test]
    fn adler32_known_value() {
        // RFC 1950's checksum of "Wikipedia" is 0x11E60398.
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }
}
