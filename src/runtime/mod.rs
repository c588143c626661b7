//! What the kubelet runs pods *on*: a container runtime behind one trait, [`ContainerRuntime`],
//! that the kubelet calls to create, kill, list and inspect infra containers. It stands beside
//! [`crate::plugin`], not above it: the runtime hands the kubelet an execution context (the
//! environment plugins inherit; the namespaces they run in are the sandbox execnet itself
//! entered) that the kubelet passes on to the manager, so the manager never learns what a runtime
//! is and the runtime never calls a plugin.
//!
//! [`netns`] is the real runtime: a node sandbox of network and mount namespaces, pause processes
//! in their own network namespaces wired to a docker bridge, an era-exact docker CLI and Engine
//! API, the kubelet's read-only API and Open vSwitch on demand.

pub mod netns;

use std::collections::BTreeMap;

/// The pod an infra container belongs to, as the kubelet knew it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PodMeta {
    pub name: String,
    pub namespace: String,
    pub uid: String,
    pub annotations: BTreeMap<String, String>,
    pub host_network: bool,
}

/// What the kubelet asks for when it starts a pod's infra container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InfraSpec {
    /// The container ID (64 lowercase hex), chosen by the kubelet's deterministic model.
    pub id: String,
    pub pod: PodMeta,
    /// The random suffix of the docker name (`rand.Uint32()` in `BuildDockerName`).
    pub name_suffix: u32,
}

/// An infra container as the runtime reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InfraInfo {
    pub id: String,
    /// Docker's name, with its leading `/`.
    pub name: String,
    /// The runtime's IP for the container (docker's bridge address; the node's for host network).
    pub runtime_ip: String,
    /// The pause process (0 once it is gone).
    pub pid: u32,
    pub running: bool,
}

/// A runtime operation that failed (execnet's own failure, never the plugin's).
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("no such container: {0}")]
    NoSuchContainer(String),
    #[error("{what}")]
    Os {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Setup(String),
    #[error(transparent)]
    Sandbox(#[from] netns::sandbox::SandboxError),
}

impl RuntimeError {
    pub fn os(what: impl Into<String>, source: std::io::Error) -> Self {
        RuntimeError::Os {
            what: what.into(),
            source,
        }
    }
}

/// The container runtime the kubelet calls.
pub trait ContainerRuntime: Send + Sync + std::fmt::Debug {
    /// Create and start an infra container for a pod.
    fn create_infra(&self, spec: &InfraSpec) -> Result<InfraInfo, RuntimeError>;
    /// Kill an infra container: every process in its network namespace, so the namespace and
    /// its veth really go. Killing a dead container is not an error.
    fn kill(&self, id: &str) -> Result<(), RuntimeError>;
    /// Every infra container the runtime knows, running or dead, oldest first.
    fn list(&self) -> Vec<InfraInfo>;
    /// One infra container.
    fn inspect(&self, id: &str) -> Option<InfraInfo>;
    /// The plugins' environment under this runtime: `env` with what the runtime adds (netns:
    /// its docker CLI first in `PATH`, `DOCKER_HOST`).
    fn plugin_env(
        &self,
        env: crate::plugin::policy::PluginEnv,
    ) -> crate::plugin::policy::PluginEnv {
        env
    }
    /// The environment plugins must inherit (e.g. `PATH` with the docker CLI first).
    fn exec_env(&self) -> Vec<(String, String)> {
        Vec::new()
    }
    /// The kubelet's view of a pod (phase and pod IP), for its read-only API.
    fn report_pod(&self, _pod: &PodMeta, _phase: &str, _pod_ip: Option<&str>) {}
    /// The pod was deleted: it leaves the kubelet's read-only API.
    fn forget_pod(&self, _namespace: &str, _name: &str) {}
}
