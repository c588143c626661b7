//! Transcripts: every runtime event, every plugin call and every pod-IP decision of one replay,
//! in order. A transcript is the evidence certification judges; it is rendered as text for
//! people and as JSON for tools. Nothing here runs anything.

use serde::Serialize;

use crate::plugin::CallRecord;

/// A pod as `namespace/name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct PodRef {
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for PodRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// Why the kubelet made a plugin call. Status purposes say which kubelet path asked, teardown
/// purposes which path tore the pod down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CallPurpose {
    /// `init` at kubelet start or restart.
    Init,
    /// `setup` for a new infra container (first start, or after a crash or a failed setup).
    Setup,
    /// `status` right after setup, to set the pod IP (v1.1–v1.3 with name and namespace
    /// swapped).
    PostSetup,
    /// v1.1 (and `documented`): the status of a periodic sync (`syncPod`).
    Sync,
    /// v1.2+: the PLEG relist saw a container event for the pod (`updateCache`).
    PlegEvent,
    /// v1.2+: the PLEG retries a pod whose inspection failed in the previous relist.
    PlegReinspect,
    /// v1.2+: the first relist after a kubelet (re)start sees every container as new.
    FirstRelist,
    /// v1.2+, a seeded interleaving: the relist saw a new infra container and asked its status
    /// before the pod worker's `setup` of it (docs/kubelet.md §3.2 observed). A `status` call, but not
    /// among [`CallPurpose::is_status`]: the kubelet only logged its result, so only
    /// `status-before-setup/calm` judges it.
    RelistBeforeSetup,
    /// `teardown` on pod deletion (the pod worker's `killPod`).
    Delete,
    /// `teardown` from the housekeeping pass that kills pods that should not exist (also the
    /// orphan cleanup after a restart).
    Housekeeping,
    /// `teardown` because every app container exited and none will restart.
    AllExited,
    /// `teardown` because the infra container must be replaced after a pod spec change.
    SpecChange,
    /// Not a kubelet behaviour: a second teardown of the same container that execnet adds (a
    /// kubelet restart during deletion) to probe idempotence.
    IdempotenceProbe,
}

impl CallPurpose {
    /// Any `status` call the kubelet acts on (not [`CallPurpose::RelistBeforeSetup`]).
    pub fn is_status(self) -> bool {
        matches!(
            self,
            CallPurpose::PostSetup
                | CallPurpose::Sync
                | CallPurpose::PlegEvent
                | CallPurpose::PlegReinspect
                | CallPurpose::FirstRelist
        )
    }

    /// A status call that is not the one right after setup.
    pub fn is_periodic_status(self) -> bool {
        self.is_status() && self != CallPurpose::PostSetup
    }

    /// A kubelet `teardown` (not execnet's idempotence probe).
    pub fn is_teardown(self) -> bool {
        matches!(
            self,
            CallPurpose::Delete
                | CallPurpose::Housekeeping
                | CallPurpose::AllExited
                | CallPurpose::SpecChange
        )
    }

    /// The kebab-case name used in transcripts.
    pub fn name(self) -> &'static str {
        match self {
            CallPurpose::Init => "init",
            CallPurpose::Setup => "setup",
            CallPurpose::PostSetup => "post-setup",
            CallPurpose::Sync => "sync",
            CallPurpose::PlegEvent => "pleg-event",
            CallPurpose::PlegReinspect => "pleg-reinspect",
            CallPurpose::FirstRelist => "first-relist",
            CallPurpose::RelistBeforeSetup => "relist-before-setup",
            CallPurpose::Delete => "delete",
            CallPurpose::Housekeeping => "housekeeping",
            CallPurpose::AllExited => "all-exited",
            CallPurpose::SpecChange => "spec-change",
            CallPurpose::IdempotenceProbe => "idempotence-probe",
        }
    }
}

/// Where the pod IP the kubelet reported came from (docs/plugin-manager.md §2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IpSource {
    /// The plugin's status gave an IP.
    Plugin,
    /// The runtime's (docker bridge) IP: no-op plugin or status none.
    Runtime,
    /// The plugin's status had no IP and the real kubelet printed `<nil>`.
    Nil,
    /// The status failed: the runtime's IP is kept (v1.1–v1.3 only log it; v1.4+ also mark the
    /// infra container Unknown, docs/kubelet.md §3.4).
    Error,
}

/// One entry of a transcript.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
#[expect(
    clippy::large_enum_variant,
    reason = "calls are most of a transcript's entries; boxing them would only add an allocation each"
)]
pub enum Event {
    /// Probe, selection and (in the init call event that follows) `init`.
    KubeletStart {
        restart: bool,
        plugin: String,
        /// The aggregated selection errors; the real kubelet refused to start on any.
        error: Option<String>,
    },
    /// The runtime created an infra container.
    InfraCreated {
        pod: PodRef,
        id: String,
        runtime_ip: String,
    },
    /// The infra container died on its own (crash injection, docker restart).
    InfraCrashed { pod: PodRef, id: String },
    /// v1.4+: a status error made the kubelet see this running infra container as Unknown.
    InfraUnknown { pod: PodRef, id: String },
    /// An app container started (`restarts` 0 the first time).
    AppStarted {
        pod: PodRef,
        container: usize,
        restarts: u32,
    },
    /// An app container exited (`crash_app`, docker restart) or was killed.
    AppExited {
        pod: PodRef,
        container: usize,
        reason: String,
    },
    /// The kubelet killed the infra container (deletion, failed setup in v1.2+, crash cleanup).
    InfraKilled {
        pod: PodRef,
        id: String,
        reason: String,
    },
    /// A plugin call; `pod`/`id` are absent for `init`. `injected`: execnet made the kubelet
    /// treat the result as a failure, whatever the plugin returned (`fail_setup`, `fail_status`).
    Call {
        purpose: CallPurpose,
        pod: Option<PodRef>,
        id: Option<String>,
        call: CallRecord,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        injected: bool,
    },
    /// The pod IP the kubelet reported after a status.
    PodIp {
        pod: PodRef,
        id: String,
        ip: String,
        source: IpSource,
    },
    /// Anything else worth saying (a skipped call under a profile, an injected failure, …).
    Note { pod: Option<PodRef>, text: String },
}

/// One event with its virtual time and phase.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Virtual milliseconds since the scenario began.
    pub time_ms: u64,
    /// The scenario step that produced it (0-based).
    pub step: usize,
    #[serde(flatten)]
    pub event: Event,
}

/// The whole replay of one scenario against one plugin under one profile.
#[derive(Debug, Clone, Serialize)]
pub struct Transcript {
    pub scenario: String,
    pub plugin: String,
    pub profile: String,
    pub seed: u64,
    pub entries: Vec<Entry>,
    /// The bound at which the simulation stopped a status-error churn, when it did (a cost
    /// bound of `certify`, or the scenario's `churn_limit`): `replay --churn-limit N` makes the
    /// same transcript again.
    #[serde(skip)]
    pub churn_bound: Option<u32>,
}

impl Transcript {
    /// Every plugin call with its purpose, pod and container id.
    pub fn calls(
        &self,
    ) -> impl Iterator<Item = (CallPurpose, Option<&PodRef>, Option<&str>, &CallRecord)> {
        self.entries.iter().filter_map(|e| match &e.event {
            Event::Call {
                purpose,
                pod,
                id,
                call,
                ..
            } => Some((*purpose, pod.as_ref(), id.as_deref(), call)),
            _ => None,
        })
    }
}
