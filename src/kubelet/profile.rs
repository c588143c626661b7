//! Kubelet profiles (SPEC 3.8): how each release behaved, as ONE small typed table. Code asks
//! a profile's fields ("does it retry a failed setup?"), never which version it is.

/// What a host-network pod gets from the plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostNetwork {
    /// `setup` and `teardown` are called for host-network pods.
    pub setup_teardown: bool,
    /// `status` is called for host-network pods.
    pub status: bool,
}

/// What a status error does to the pod IP (SPEC 2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusErrorPolicy {
    /// Log it and keep the runtime's IP (v1.1–v1.3).
    KeepRuntimeIp,
    /// Report the pod's network as an error (v1.4+).
    ReportError,
}

/// What a status with no IP (`"ip": ""`, `null`, `{}`) gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmptyIpPolicy {
    /// The real kubelet printed a nil `net.IP`: the string `<nil>`.
    Nil,
    /// The published convention: fall back to the runtime's IP.
    Fallback,
}

/// One kubelet release's behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    pub name: &'static str,
    /// v1.2+: a failed setup kills the infra container (no teardown) and the next sync starts
    /// over with a new one. v1.1: the container is left running and setup is never retried.
    pub retry_failed_setup: bool,
    /// v1.1–v1.3: `status <name> <namespace> <id>` right after a successful setup.
    pub post_setup_status_swapped: bool,
    pub host_network: HostNetwork,
    pub status_error: StatusErrorPolicy,
    pub empty_ip: EmptyIpPolicy,
}

const HOST_ALL: HostNetwork = HostNetwork {
    setup_teardown: true,
    status: true,
};
const HOST_STATUS_ONLY: HostNetwork = HostNetwork {
    setup_teardown: false,
    status: true,
};
const HOST_NONE: HostNetwork = HostNetwork {
    setup_teardown: false,
    status: false,
};

/// Every profile, in release order.
pub const PROFILES: [Profile; 6] = [
    Profile {
        name: "1.1",
        retry_failed_setup: false,
        post_setup_status_swapped: true,
        host_network: HOST_ALL,
        status_error: StatusErrorPolicy::KeepRuntimeIp,
        empty_ip: EmptyIpPolicy::Nil,
    },
    Profile {
        name: "1.2",
        retry_failed_setup: true,
        post_setup_status_swapped: true,
        host_network: HOST_STATUS_ONLY,
        status_error: StatusErrorPolicy::KeepRuntimeIp,
        empty_ip: EmptyIpPolicy::Nil,
    },
    Profile {
        name: "1.3",
        retry_failed_setup: true,
        post_setup_status_swapped: true,
        host_network: HOST_STATUS_ONLY,
        status_error: StatusErrorPolicy::KeepRuntimeIp,
        empty_ip: EmptyIpPolicy::Nil,
    },
    Profile {
        name: "1.4",
        retry_failed_setup: true,
        post_setup_status_swapped: false,
        host_network: HOST_NONE,
        status_error: StatusErrorPolicy::ReportError,
        empty_ip: EmptyIpPolicy::Nil,
    },
    Profile {
        name: "1.5",
        retry_failed_setup: true,
        post_setup_status_swapped: false,
        host_network: HOST_NONE,
        status_error: StatusErrorPolicy::ReportError,
        empty_ip: EmptyIpPolicy::Nil,
    },
    // Section 1 taken at its word: "erroneous output means the container runtime is asked
    // for the pod IP instead", an empty ip falls back too. What it does not say (host network)
    // is 1.5.
    Profile {
        name: "documented",
        retry_failed_setup: true,
        post_setup_status_swapped: false,
        host_network: HOST_NONE,
        status_error: StatusErrorPolicy::KeepRuntimeIp,
        empty_ip: EmptyIpPolicy::Fallback,
    },
];

/// The profile used when none is asked for.
pub const DEFAULT_PROFILE: &str = "1.5";

/// An unknown profile name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown kubelet profile '{name}' (expected one of: {})", names().join(", "))]
pub struct UnknownProfile {
    pub name: String,
}

/// All profile names.
pub fn names() -> Vec<&'static str> {
    PROFILES.iter().map(|p| p.name).collect()
}

impl Profile {
    pub fn by_name(name: &str) -> Result<&'static Profile, UnknownProfile> {
        PROFILES
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| UnknownProfile {
                name: name.to_string(),
            })
    }

    /// The default profile (`1.5`).
    pub fn default_profile() -> &'static Profile {
        Profile::by_name(DEFAULT_PROFILE).expect("the default profile is in the table")
    }
}
