//! Kubelet profiles (docs/kubelet.md §3.9): how each release behaved, as ONE small typed table. Code asks
//! a profile's fields ("does it retry a failed setup?", "how often does the PLEG relist?"),
//! never which version it is. Every row cites the kubelet source (tag, file, function) or the
//! observation (docs/kubelet.md §3, marked *observed*) it comes from.

/// What a host-network pod gets from the plugin (docs/kubelet.md §3.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostNetwork {
    /// `setup` and `teardown` are called for host-network pods.
    pub setup_teardown: bool,
    /// `status` is called for host-network pods.
    pub status: bool,
}

/// What a status error does (docs/plugin-manager.md §2.5, docs/kubelet.md §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusErrorPolicy {
    /// Log it and keep the runtime's IP (v1.1–v1.3: `determineContainerIP` returns a string
    /// only; v1.2.0 `pkg/kubelet/dockertools/manager.go` `determineContainerIP`).
    KeepRuntimeIp,
    /// Keep the runtime's IP *and* mark the infra container Unknown ("Network error"), which
    /// `computePodContainerChanges` treats as not running: a new infra container and setup
    /// follow (v1.5.0 `pkg/kubelet/dockertools/docker_manager.go` `inspectContainer`,
    /// `determineContainerIP` returning `(string, error)`; v1.4.0 the same).
    InfraUnknown,
}

/// What a status with no IP (`"ip": ""`, `{}`) gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmptyIpPolicy {
    /// The real kubelet printed a nil `net.IP`: the string `<nil>`.
    Nil,
    /// The published convention: fall back to the runtime's IP.
    Fallback,
}

/// When a sync of the sync loop calls `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncStatus {
    /// v1.1: `syncPod` asks the pod status at its start (not for a new pod's first sync,
    /// `SyncPodCreate`) and again in a deferred call at its end, except for a static pod
    /// without a mirror pod (v1.1.1 `pkg/kubelet/kubelet.go` `syncPod`: `defer func() { if
    /// isStaticPod(pod) && mirrorPod == nil { return } … }`).
    StartAndDeferred,
    /// The published text: "status — at regular intervals": once at the end of every periodic
    /// sync (after a dead infra container was replaced), none at creation.
    EndOfPeriodicSync,
    /// Not a sync-loop release.
    None,
}

/// The kubelet's main loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoopKind {
    /// v1.1: `syncLoop` syncs every pod every sync interval (v1.1.1 `pkg/kubelet/kubelet.go`
    /// `syncLoop`, `syncLoopIteration`); `syncPod` asks the runtime for the pod status at its
    /// start and again in a deferred call (`syncPod`). The `documented` profile uses the same
    /// loop with the status "at regular intervals" of the published text.
    Sync,
    /// v1.2+: the PLEG relists the runtime every second and refreshes its pod cache only for
    /// pods with a container event; pod workers sync on PLEG events and on the periodic
    /// resync; the housekeeping pass kills pods that should not exist (v1.2.0
    /// `pkg/kubelet/pleg/generic.go` `relist`, `updateCache`; `pkg/kubelet/pod_workers.go`
    /// `managePodLoop`; `pkg/kubelet/kubelet.go` `syncLoopIteration`, `HandlePodCleanups`).
    Pleg,
}

/// One kubelet release's behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    pub name: &'static str,
    pub loop_kind: LoopKind,
    /// Sync loop only: when a sync calls `status`.
    pub sync_status: SyncStatus,
    /// v1.2+: a failed setup kills the infra container (no teardown) and the next sync starts
    /// over with a new one. v1.1: the container is left running and setup is never retried
    /// (v1.1.1 `pkg/kubelet/dockertools/manager.go` `SyncPod` returns the error; the next
    /// `computePodContainerChanges` keeps the running infra container).
    pub retry_failed_setup: bool,
    /// `status` right after a successful setup, to set the pod IP (every release:
    /// v1.1.1 `manager.go` `SyncPod` → `determineContainerIP`; v1.5.0 `docker_manager.go`
    /// `SyncPod` → `determineContainerIP`). The `documented` profile has none.
    pub post_setup_status: bool,
    /// v1.1–v1.3: that status is `status <name> <namespace> <id>` (v1.2.0 `manager.go`
    /// `SyncPod`: `dm.determineContainerIP(pod.Name, pod.Namespace, podInfraContainer)`;
    /// v1.4.0 passes `pod.Namespace, pod.Name`).
    pub post_setup_status_swapped: bool,
    pub host_network: HostNetwork,
    pub status_error: StatusErrorPolicy,
    pub empty_ip: EmptyIpPolicy,
    /// PLEG relist period: `plegRelistPeriod = time.Second * 1` (v1.2.0–v1.5.0
    /// `pkg/kubelet/kubelet.go`), run by `wait.Until` (the next relist starts one period after
    /// the previous one ended: `pleg/generic.go` `Start`).
    pub relist_period_ms: u64,
    /// `housekeepingPeriod = time.Second * 2` (v1.2.0–v1.5.0 `pkg/kubelet/kubelet.go`).
    pub housekeeping_period_ms: u64,
    /// The runtime cache housekeeping reads is refreshed only when older than this
    /// (`defaultCachePeriod = time.Second * 2`, `time.Since(r.cacheTime) > defaultCachePeriod`,
    /// v1.2.0–v1.5.0 `pkg/kubelet/container/runtime_cache.go` `GetPods`).
    pub runtime_cache_period_ms: u64,
    /// How long a relist that met a status error for a live pod takes (the failing `status`
    /// calls and the inspection of every infra container): with `wait.Until` this sets the
    /// churn period, *observed* ~1.2 s on v1.5.0 (53 setups in 62 s) and ~1.05 s on v1.4.0
    /// (docs/kubelet.md §3.4). Only used with [`StatusErrorPolicy::InfraUnknown`].
    pub churn_relist_ms: u64,
    /// New infra containers a minute a real kubelet of this release made for a pod whose
    /// status kept failing (docs/kubelet.md §3.4 observed 2026-12-06: v1.5.0 53.8, v1.4.0 57.1; no bound):
    /// what certification's evidence states when it bounds the simulated churn. 0: no churn.
    pub churn_observed_per_min: u32,
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

/// The v1.2+ PLEG loops, shared by 1.2–1.5 (the constants are the same in every tag).
const PLEG_1_2: Profile = Profile {
    name: "1.2",
    loop_kind: LoopKind::Pleg,
    sync_status: SyncStatus::None,
    retry_failed_setup: true,
    post_setup_status: true,
    post_setup_status_swapped: true,
    // v1.2.0 `pkg/kubelet/network/exec/exec.go` is unchanged, but `manager.go`
    // `SyncPod`/`KillPod` skip the plugin for host-network pods; `determineContainerIP`
    // still asks it.
    host_network: HOST_STATUS_ONLY,
    status_error: StatusErrorPolicy::KeepRuntimeIp,
    empty_ip: EmptyIpPolicy::Nil,
    relist_period_ms: 1000,
    housekeeping_period_ms: 2000,
    runtime_cache_period_ms: 2000,
    churn_relist_ms: 0,
    churn_observed_per_min: 0,
};

/// Every profile, in release order.
pub const PROFILES: [Profile; 6] = [
    Profile {
        name: "1.1",
        loop_kind: LoopKind::Sync,
        sync_status: SyncStatus::StartAndDeferred,
        retry_failed_setup: false,
        post_setup_status: true,
        post_setup_status_swapped: true,
        host_network: HOST_ALL,
        status_error: StatusErrorPolicy::KeepRuntimeIp,
        empty_ip: EmptyIpPolicy::Nil,
        relist_period_ms: 0,
        // v1.1.1 `pkg/kubelet/kubelet.go` `syncLoop`: `housekeepingMinimumPeriod = 2 s`,
        // checked once per loop iteration (every sync in the simulator).
        housekeeping_period_ms: 2000,
        runtime_cache_period_ms: 2000,
        churn_relist_ms: 0,
        churn_observed_per_min: 0,
    },
    PLEG_1_2,
    // v1.3.0: the same paths (`docker_manager.go` replaces `manager.go`).
    Profile {
        name: "1.3",
        ..PLEG_1_2
    },
    Profile {
        name: "1.4",
        post_setup_status_swapped: false,
        // v1.4.0 `docker_manager.go` `determineContainerIP`: host network skips the plugin.
        host_network: HOST_NONE,
        status_error: StatusErrorPolicy::InfraUnknown,
        // observed: a new infra container about every 1.05 s (docs/kubelet.md §3.4).
        churn_relist_ms: 50,
        churn_observed_per_min: 57,
        ..PLEG_1_2
    },
    Profile {
        name: "1.5",
        post_setup_status_swapped: false,
        host_network: HOST_NONE,
        status_error: StatusErrorPolicy::InfraUnknown,
        // observed: a new infra container about every 1.2 s (docs/kubelet.md §3.4).
        churn_relist_ms: 200,
        churn_observed_per_min: 54,
        ..PLEG_1_2
    },
    // Section 1 taken at its word: `status` "at regular intervals" (once per sync, nothing
    // after setup), "erroneous output means the container runtime is asked for the pod IP
    // instead", an empty ip falls back too, setup retried. What it does not say (host network)
    // is 1.5.
    Profile {
        name: "documented",
        loop_kind: LoopKind::Sync,
        sync_status: SyncStatus::EndOfPeriodicSync,
        retry_failed_setup: true,
        post_setup_status: false,
        post_setup_status_swapped: false,
        host_network: HOST_NONE,
        status_error: StatusErrorPolicy::KeepRuntimeIp,
        empty_ip: EmptyIpPolicy::Fallback,
        relist_period_ms: 0,
        housekeeping_period_ms: 2000,
        runtime_cache_period_ms: 2000,
        churn_relist_ms: 0,
        churn_observed_per_min: 0,
    },
];

/// The profile used when none is asked for.
pub const DEFAULT_PROFILE: &str = "1.5";

/// Periodic pod resync of v1.2+: `--sync-frequency` default 1 min (v1.2.0
/// `cmd/kubelet/app/options/options.go`); the resync reads the PLEG cache and calls nothing for
/// a steady pod, so the simulator only needs it to know that nothing happens.
pub const RESYNC_PERIOD_MS: u64 = 60_000;

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

    /// v1.2+: the PLEG loops.
    pub fn is_pleg(&self) -> bool {
        self.loop_kind == LoopKind::Pleg
    }
}

/// What the simulated kubelet reads of a release beyond its [`Profile`] fields: the selection
/// texts (`plugin::SelectionTexts::for_profile`, keyed by the release name; read only to word a
/// selection error, which the transcript's `kubelet-start` event then carries) and, under
/// [`StatusErrorPolicy::InfraUnknown`], the release name itself (the churn bound's note).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelInputs {
    pub profile: ProfileFields,
    pub selection_texts: crate::plugin::SelectionTexts,
    pub churn_note_name: Option<&'static str>,
}

/// Every field of a [`Profile`] but its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfileFields {
    loop_kind: LoopKind,
    sync_status: SyncStatus,
    retry_failed_setup: bool,
    post_setup_status: bool,
    post_setup_status_swapped: bool,
    host_network: HostNetwork,
    status_error: StatusErrorPolicy,
    empty_ip: EmptyIpPolicy,
    relist_period_ms: u64,
    housekeeping_period_ms: u64,
    runtime_cache_period_ms: u64,
    churn_relist_ms: u64,
    churn_observed_per_min: u32,
}

/// Why two releases replay a scenario the same way (or not): the comparison of the model's
/// inputs that lets `certify --kubelet …` judge one release's transcripts under another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameModel {
    /// Equal in every input the simulated kubelet reads: the transcript is the same function
    /// of the plugin's answers on every path.
    Always,
    /// Equal but for the selection texts: the same function of the plugin's answers on every
    /// path where no kubelet start meets a selection error (the only place the texts are read).
    UnlessSelectionFails,
    /// Some input the simulated kubelet reads differs.
    No,
}

impl Profile {
    /// Everything the simulated kubelet reads of this release. The destructuring names every
    /// field, so a new field cannot be left out of the comparison unnoticed.
    pub fn model_inputs(&self) -> ModelInputs {
        let Profile {
            name,
            loop_kind,
            sync_status,
            retry_failed_setup,
            post_setup_status,
            post_setup_status_swapped,
            host_network,
            status_error,
            empty_ip,
            relist_period_ms,
            housekeeping_period_ms,
            runtime_cache_period_ms,
            churn_relist_ms,
            churn_observed_per_min,
        } = *self;
        ModelInputs {
            profile: ProfileFields {
                loop_kind,
                sync_status,
                retry_failed_setup,
                post_setup_status,
                post_setup_status_swapped,
                host_network,
                status_error,
                empty_ip,
                relist_period_ms,
                housekeeping_period_ms,
                runtime_cache_period_ms,
                churn_relist_ms,
                churn_observed_per_min,
            },
            selection_texts: crate::plugin::SelectionTexts::for_profile(name),
            churn_note_name: (status_error == StatusErrorPolicy::InfraUnknown).then_some(name),
        }
    }

    /// Compare the model's inputs of two releases (see [`SameModel`]).
    pub fn same_model(&self, other: &Profile) -> SameModel {
        let (a, b) = (self.model_inputs(), other.model_inputs());
        if a == b {
            SameModel::Always
        } else if (ModelInputs {
            selection_texts: b.selection_texts,
            ..a
        }) == b
        {
            SameModel::UnlessSelectionFails
        } else {
            SameModel::No
        }
    }
}

#[cfg(test)]
mod model_tests {
    use super::*;

    fn p(name: &str) -> &'static Profile {
        Profile::by_name(name).expect("profile")
    }

    #[test]
    fn only_releases_equal_in_every_model_input_share_a_run() {
        // 1.2 and 1.3 have the same fields (v1.3.0 kept the paths) but word an invalid plugin
        // name differently.
        assert_eq!(
            p("1.2").same_model(p("1.3")),
            SameModel::UnlessSelectionFails
        );
        assert_eq!(
            p("1.3").same_model(p("1.2")),
            SameModel::UnlessSelectionFails
        );
        // 1.4 and 1.5 differ in the churn period (and the name their churn note states).
        assert_eq!(p("1.4").same_model(p("1.5")), SameModel::No);
        assert_eq!(p("1.1").same_model(p("1.2")), SameModel::No);
        assert_eq!(p("1.3").same_model(p("1.4")), SameModel::No);
        assert_eq!(p("1.5").same_model(p("documented")), SameModel::No);
        // A profile equal to 1.2 in every field and text (another name, same texts).
        let twin = Profile {
            name: "1.3b",
            ..*p("1.2")
        };
        assert_eq!(
            crate::plugin::SelectionTexts::for_profile(twin.name),
            crate::plugin::SelectionTexts::for_profile("1.3")
        );
        assert_eq!(twin.same_model(p("1.3")), SameModel::Always);
        // One field apart is no pair.
        let slower = Profile {
            relist_period_ms: 1001,
            ..*p("1.3")
        };
        assert_eq!(slower.same_model(p("1.3")), SameModel::No);
        // The churn note names the release: equal fields under InfraUnknown are still apart.
        let renamed = Profile {
            name: "1.5b",
            ..*p("1.5")
        };
        assert_eq!(renamed.same_model(p("1.5")), SameModel::No);
    }
}
