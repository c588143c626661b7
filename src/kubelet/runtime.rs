//! The fake container runtime: infra containers with 64-lowercase-hex IDs and docker-bridge
//! (`172.17.x.y`) IPs, running, being stopped or exited. Everything it hands out is drawn from a seeded
//! splitmix64 keyed by (seed, scenario name, pod index, per-pod generation), so a container's
//! identity never depends on which worker created it or when, and two scenarios never hand the
//! plugin the same container ID (docker's IDs are random and unique on a node; certification
//! runs scenarios side by side against one plugin's state, `certify::run`).

/// Where a host-network pod's infra container lives: the node's address, not the bridge.
pub const NODE_IP: &str = "10.240.0.10";

/// splitmix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough for IDs.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// What docker says about an infra container. (Unknown is the kubelet's view of a running
/// container whose status failed; it lives with the pod, not here.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerState {
    Running,
    /// Being killed: still listed as running by the next two relists, exited after them (a
    /// failed setup in v1.2+: the relist that sees it start calls `status` while it is killed,
    /// and the next setup follows about 3 s after the failed one, docs/kubelet.md §3.2 *observed*).
    Stopping,
    /// Exited: crashed, killed, or stopped by a docker restart.
    Exited,
}

/// One infra ("pause") container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InfraContainer {
    /// 64 lowercase hex digits, as docker printed them.
    pub id: String,
    /// The runtime's IP for the container (the bridge address, or the node's for host network).
    pub runtime_ip: String,
    pub state: ContainerState,
    /// Relists that listed it while [`ContainerState::Stopping`].
    pub relists_while_stopping: u8,
}

impl InfraContainer {
    /// Running as far as docker's container list is concerned.
    pub fn is_running(&self) -> bool {
        matches!(
            self.state,
            ContainerState::Running | ContainerState::Stopping
        )
    }
}

/// The runtime: a key, nothing else (all state lives with the pods).
#[derive(Debug, Clone, Copy)]
pub struct Runtime {
    /// The seed with the scenario's name mixed in.
    key: u64,
}

/// FNV-1a (64 bit) of `bytes`: a fixed, documented hash (std's `Hasher`s may change between
/// releases, and transcripts must not).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

impl Runtime {
    /// The runtime of one replay of scenario `scenario` with `seed`.
    pub fn new(seed: u64, scenario: &str) -> Self {
        Runtime {
            key: seed ^ fnv1a(scenario.as_bytes()),
        }
    }

    /// The generator for the `generation`-th infra container of pod number `pod_index`.
    fn stream(&self, pod_index: usize, generation: u64) -> SplitMix64 {
        let pod_key = SplitMix64::new(self.key).next_u64() ^ pod_index as u64;
        let gen_key = SplitMix64::new(pod_key).next_u64() ^ generation;
        SplitMix64::new(SplitMix64::new(gen_key).next_u64())
    }

    /// A seeded choice between two interleavings the real kubelet makes (docs/kubelet.md §3.10: the same
    /// scenario and seed give the same transcript): `true` with probability `1 / one_in`, from
    /// the seed, the scenario, what is chosen, the pod and its infra-container count.
    pub fn choose(&self, what: &str, pod_index: usize, generation: u64, one_in: u64) -> bool {
        let salt = fnv1a(what.as_bytes());
        let mut rng = self.stream(pod_index, generation ^ salt.rotate_left(17));
        rng.next_u64().is_multiple_of(one_in.max(1))
    }

    /// Create (and start) an infra container.
    pub fn create_infra(
        &self,
        pod_index: usize,
        generation: u64,
        host_network: bool,
    ) -> InfraContainer {
        let mut rng = self.stream(pod_index, generation);
        let id: String = (0..4).map(|_| format!("{:016x}", rng.next_u64())).collect();
        let bits = rng.next_u64();
        let runtime_ip = if host_network {
            NODE_IP.to_string()
        } else {
            // 172.17.0.1 is the bridge itself; hosts .2–.254 in every /24 of the /16.
            format!("172.17.{}.{}", (bits >> 8) & 0xff, 2 + (bits & 0xff) % 253)
        };
        InfraContainer {
            id,
            runtime_ip,
            state: ContainerState::Running,
            relists_while_stopping: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_64_hex_and_deterministic() {
        let rt = Runtime::new(7, "s");
        let a = rt.create_infra(3, 1, false);
        assert_eq!(a.id.len(), 64);
        assert!(
            a.id.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert!(a.runtime_ip.starts_with("172.17."));
        assert_eq!(a, rt.create_infra(3, 1, false));
        assert_ne!(a.id, rt.create_infra(3, 2, false).id);
        assert_ne!(a.id, rt.create_infra(4, 1, false).id);
        assert_ne!(a.id, Runtime::new(8, "s").create_infra(3, 1, false).id);
        assert_ne!(
            a.id,
            Runtime::new(7, "t").create_infra(3, 1, false).id,
            "another scenario, other IDs"
        );
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c, "FNV-1a test vector");
    }
}
