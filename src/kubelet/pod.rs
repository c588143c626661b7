//! Pods and what the kubelet's per-pod worker does to them: pod start (infra container,
//! `setup`, the post-setup `status`), a sync (v1.1's `syncPod`, v1.2+'s `SyncPod` driven by
//! the PLEG cache), the pod-IP decision (docs/plugin-manager.md §2.5), crash cleanup (a new infra container, never
//! a teardown for the dead one), deletion and the housekeeping kill. Every method appends the
//! events it causes to a buffer owned by the caller; nothing here knows about other pods or
//! about time, except the wake-up a worker asks for ([`Pod::wake_at`]).

use std::collections::BTreeSet;

use crate::plugin::{Action, CallRecord, NetworkPlugin, StatusResult};

use super::profile::{EmptyIpPolicy, LoopKind, Profile, StatusErrorPolicy, SyncStatus};
use super::runtime::{ContainerState, InfraContainer, Runtime};
use super::scenario::{PodSpec, RestartPolicy};
use super::transcript::{CallPurpose, Event, IpSource, PodRef};

/// How the note that the simulation stopped a status-error churn begins (the transcript's
/// [`crate::kubelet::Transcript::churn_bound`] is set from it).
pub const CHURN_STOP_NOTE: &str = "execnet stops simulating the status-error churn after";

/// What a pod worker needs from the kubelet; shared read-only by every worker of a phase.
#[derive(Debug, Clone, Copy)]
pub struct Kubelet<'a> {
    /// A real runtime to create infra containers in as well (`--runtime netns`).
    pub real: Option<&'a dyn crate::runtime::ContainerRuntime>,
    pub profile: &'static Profile,
    pub plugin: &'a NetworkPlugin,
    pub runtime: Runtime,
    /// The virtual instant (ms) of the phase.
    pub now_ms: u64,
    /// Stop simulating the v1.4+ status-error churn of one pod after this many new infra
    /// containers (the real kubelet goes on; the transcript says so); `None`: never.
    pub churn_limit: Option<u32>,
}

/// The network of the current infra container, as far as the kubelet knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// Nothing set up yet (no infra container, or setup skipped for host network).
    Pending,
    Ready,
    /// v1.1: setup failed, the infra container was left running; setup is never retried.
    Failed,
}

/// One app container (its latest instance).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    pub running: bool,
    /// Times it was started (0: never).
    pub starts: u32,
    /// Its last exit was a failure (a crash, or a kill by the kubelet: exit 137).
    pub failed: bool,
}

/// One declared pod and its kubelet-side state.
#[derive(Debug, Clone)]
pub struct Pod {
    /// Declaration order: the canonical order of events within a phase, and the runtime key.
    pub index: usize,
    pub pod: PodRef,
    pub spec: PodSpec,
    /// In the pod source (API server or manifest) and not terminated: the kubelet wants it.
    pub desired: bool,
    /// Infra containers created so far for this pod (the runtime's per-pod counter).
    pub generation: u64,
    /// Every infra container docker still lists (nothing is garbage-collected), oldest first.
    pub infras: Vec<InfraContainer>,
    /// v1.4+: running infra containers whose last status failed (the kubelet sees them Unknown).
    pub unknown: BTreeSet<String>,
    pub apps: Vec<App>,
    pub network: Network,
    /// A `fail_setup` step asked the kubelet to fail this pod's next setup.
    pub inject_setup_failure: bool,
    /// A `fail_status` step: every status of this pod is treated as failed.
    pub inject_status_failure: bool,
    /// The pod worker is killing the pod (waiting for the app containers' grace period).
    pub deleting: bool,
    /// The worker asks to run again at this instant (a kill that waits for the grace period).
    pub wake_at: Option<u64>,
    /// New infra containers created because the previous one was Unknown (v1.4+ churn).
    pub churn: u32,
    /// The churn limit was reached and said so.
    pub churn_stopped: bool,
    /// The PLEG's record of this pod's containers at the last relist (`None`: never seen).
    pub pleg_record: Option<Vec<(String, bool)>>,
    /// Every app container exited and none restarts: the pod's phase is final, so the
    /// housekeeping pass treats it as a pod that should not exist (v1.2.0 `kubelet.go`
    /// `HandlePodCleanups` → `filterOutTerminatedPods`).
    pub terminated: bool,
}

/// The result of one `status` call, computed without touching the pod (the PLEG runs its calls
/// on its own thread while pod workers run theirs).
#[derive(Debug, Clone)]
pub struct StatusOutcome {
    pub events: Vec<Event>,
    /// The status the kubelet acted on (after an injected failure); `None` when not called.
    pub status: Option<StatusResult>,
}

/// Call `status` for infra container `infra` of `pod` and decide the pod IP.
pub fn status_call(
    k: &Kubelet<'_>,
    pod: &PodRef,
    host_network: bool,
    inject_failure: bool,
    purpose: CallPurpose,
    infra: &InfraContainer,
) -> StatusOutcome {
    let mut events = Vec::new();
    if host_network && !k.profile.host_network.status {
        if k.profile.loop_kind == LoopKind::Sync {
            events.push(Event::Note {
                pod: Some(pod.clone()),
                text: "host-network pod: status not called (this release skips the plugin for host-network pods)".into(),
            });
        }
        return StatusOutcome {
            events,
            status: None,
        };
    }
    let status = match k.plugin {
        NetworkPlugin::Exec(exec) => {
            // v1.1–v1.3 pass name and namespace swapped after setup (docs/kubelet.md §3.2).
            let swapped = purpose == CallPurpose::PostSetup && k.profile.post_setup_status_swapped;
            let (first, second) = if swapped {
                (&pod.name, &pod.namespace)
            } else {
                (&pod.namespace, &pod.name)
            };
            let record = exec.call(Action::Status, first, second, &infra.id);
            let real = record.status.clone().unwrap_or(StatusResult::None);
            events.push(Event::Call {
                purpose,
                pod: Some(pod.clone()),
                id: Some(infra.id.clone()),
                call: record,
                injected: inject_failure,
            });
            if inject_failure {
                StatusResult::Error {
                    message: "injected: execnet makes the kubelet treat this status as failed"
                        .into(),
                }
            } else {
                real
            }
        }
        NetworkPlugin::NoOp => StatusResult::None,
    };
    let (ip, source) = decide_pod_ip(k.profile, &status, &infra.runtime_ip);
    events.push(Event::PodIp {
        pod: pod.clone(),
        id: infra.id.clone(),
        ip,
        source,
    });
    StatusOutcome {
        events,
        status: Some(status),
    }
}

impl Pod {
    pub fn new(index: usize, spec: PodSpec) -> Self {
        let apps = vec![
            App {
                running: false,
                starts: 0,
                failed: false,
            };
            spec.containers
        ];
        Pod {
            index,
            pod: spec.pod_ref(),
            spec,
            desired: false,
            generation: 0,
            infras: Vec::new(),
            unknown: BTreeSet::new(),
            apps,
            network: Network::Pending,
            inject_setup_failure: false,
            inject_status_failure: false,
            deleting: false,
            wake_at: None,
            churn: 0,
            churn_stopped: false,
            pleg_record: None,
            terminated: false,
        }
    }

    /// Nothing of the pod is left that a later step or loop could observe: not wanted, not
    /// being deleted, no wake-up asked, no container running (docker's list holds only exited
    /// ones), no injected failure pending and no churn stopped; under the PLEG (`pleg`), the
    /// last relist saw its containers as they are (its next relist finds no event). What the
    /// engine knows besides (wake-ups, the runtime cache) it checks itself.
    pub fn quiescent(&self, pleg: bool) -> bool {
        !self.desired
            && !self.deleting
            && self.wake_at.is_none()
            && self.infras.iter().all(|c| !c.is_running())
            && self.apps.iter().all(|a| !a.running)
            && !self.inject_setup_failure
            && !self.inject_status_failure
            && !self.churn_stopped
            && (!pleg
                || match &self.pleg_record {
                    None => self.pleg_view().is_empty(),
                    Some(seen) => *seen == self.pleg_view(),
                })
    }

    /// A v1.2+ worker sync would do nothing: the newest infra container runs and is not
    /// Unknown, no older one runs, an app container runs and none is to start (see
    /// [`Pod::sync_pleg`]).
    pub fn steady(&self) -> bool {
        let newest_ok = self
            .current()
            .is_some_and(|c| c.state == ContainerState::Running && !self.unknown.contains(&c.id));
        newest_ok
            && self.running_infras().len() == 1
            && self.to_start().is_empty()
            && self.apps.iter().any(|a| a.running)
    }

    /// The housekeeping pass may kill this pod's containers.
    pub fn unwanted(&self) -> bool {
        !self.desired || self.terminated
    }

    pub fn host_network(&self) -> bool {
        self.spec.host_network
    }

    /// What a real runtime needs to create infra container `id` of this pod: the pod's name,
    /// namespace, annotations and network mode; a uid made from the pod's index (scenarios
    /// have none); the docker-name suffix from the id.
    fn infra_spec(&self, id: &str) -> crate::runtime::InfraSpec {
        crate::runtime::InfraSpec {
            id: id.to_string(),
            pod: crate::runtime::PodMeta {
                name: self.pod.name.clone(),
                namespace: self.pod.namespace.clone(),
                uid: format!("00000000-0000-4000-8000-{:012x}", self.index + 1),
                annotations: self.spec.annotations.clone(),
                host_network: self.host_network(),
            },
            name_suffix: u32::from_str_radix(id.get(..8).unwrap_or("0"), 16).unwrap_or(0),
        }
    }

    fn note(&self, out: &mut Vec<Event>, text: impl Into<String>) {
        out.push(Event::Note {
            pod: Some(self.pod.clone()),
            text: text.into(),
        });
    }

    /// The newest infra container (the one `computePodContainerChanges` looks at: v1.5.0
    /// `docker_manager.go` `FindContainerStatusByName` on a newest-first status list).
    pub fn current(&self) -> Option<&InfraContainer> {
        self.infras.last()
    }

    /// The newest infra container, if docker runs it.
    pub fn running_current(&self) -> Option<&InfraContainer> {
        self.current().filter(|c| c.is_running())
    }

    /// Running infra containers, newest first (docker's list order).
    pub fn running_infras(&self) -> Vec<&InfraContainer> {
        self.infras
            .iter()
            .rev()
            .filter(|c| c.is_running())
            .collect()
    }

    /// The containers the PLEG lists for this pod: infra and app containers, with running.
    pub fn pleg_view(&self) -> Vec<(String, bool)> {
        let mut v: Vec<(String, bool)> = self
            .infras
            .iter()
            .map(|c| (c.id.clone(), c.is_running()))
            .collect();
        v.extend(
            self.apps
                .iter()
                .enumerate()
                .filter(|(_, a)| a.starts > 0)
                .map(|(i, a)| (format!("app{i}#{}", a.starts), a.running)),
        );
        v
    }

    /// `action <ns> <name> <id>`, recorded; `None` for the no-op plugin.
    fn call(
        &self,
        k: &Kubelet<'_>,
        purpose: CallPurpose,
        action: Action,
        id: &str,
        injected: bool,
        out: &mut Vec<Event>,
    ) -> Option<CallRecord> {
        let NetworkPlugin::Exec(exec) = k.plugin else {
            return None;
        };
        let record = exec.call(action, &self.pod.namespace, &self.pod.name, id);
        out.push(Event::Call {
            purpose,
            pod: Some(self.pod.clone()),
            id: Some(id.to_string()),
            call: record.clone(),
            injected,
        });
        Some(record)
    }

    /// `status` on infra `id` and what the result does to the kubelet's view of it.
    pub fn status(
        &mut self,
        k: &Kubelet<'_>,
        purpose: CallPurpose,
        id: &str,
        out: &mut Vec<Event>,
    ) -> Option<StatusResult> {
        let infra = self.infras.iter().find(|c| c.id == id)?.clone();
        let outcome = status_call(
            k,
            &self.pod,
            self.host_network(),
            self.inject_status_failure,
            purpose,
            &infra,
        );
        out.extend(outcome.events);
        if let Some(status) = &outcome.status {
            self.apply_status(k, id, status, out);
        }
        outcome.status
    }

    /// v1.4+: a failed status makes the running infra container Unknown ("Network error"), a
    /// successful one Running again (v1.5.0 `docker_manager.go` `inspectContainer`).
    pub fn apply_status(
        &mut self,
        k: &Kubelet<'_>,
        id: &str,
        status: &StatusResult,
        out: &mut Vec<Event>,
    ) {
        if k.profile.status_error != StatusErrorPolicy::InfraUnknown {
            return;
        }
        if matches!(status, StatusResult::Error { .. }) {
            let running = self.infras.iter().any(|c| c.id == id && c.is_running());
            if running && self.unknown.insert(id.to_string()) {
                out.push(Event::InfraUnknown {
                    pod: self.pod.clone(),
                    id: id.to_string(),
                });
            }
        } else {
            self.unknown.remove(id);
        }
    }

    /// Seeded interleaving (v1.2+): the PLEG relist sees the freshly started infra container
    /// and calls `status` for it before the pod worker's `setup` (nothing orders the two:
    /// v1.5.0 `pkg/kubelet/pleg/generic.go` `relist` → `updateCache` → `GetPodStatus`, on the
    /// PLEG goroutine, while `pod_workers.go` `managePodLoop` → `docker_manager.go` `SyncPod`
    /// creates the container and then calls `SetUpPod`). docs/kubelet.md §3.2 observed 2026-12-06: 13
    /// times, 4–38 ms before setup or during it; a failure was only logged (the pod IP comes
    /// from the post-setup status), so the result changes nothing here.
    fn relist_before_setup(&self, k: &Kubelet<'_>, id: &str, out: &mut Vec<Event>) {
        let Some(infra) = self.infras.iter().find(|c| c.id == id) else {
            return;
        };
        self.note(
            out,
            "interleaving picked by the seed: the PLEG relist ran before the worker's setup (status for an infra container not set up yet)",
        );
        let outcome = status_call(
            k,
            &self.pod,
            self.host_network(),
            false,
            CallPurpose::RelistBeforeSetup,
            infra,
        );
        // The pod IP is the post-setup status's; this one was only logged.
        out.extend(
            outcome
                .events
                .into_iter()
                .filter(|e| !matches!(e, Event::PodIp { .. })),
        );
        if matches!(outcome.status, Some(StatusResult::Error { .. })) {
            self.note(
                out,
                "status failed before setup: the kubelet only logs it (observed)",
            );
        }
    }

    /// Whether app container `i` (not running) should be started: never started, or its
    /// restart policy says so (`ShouldContainerBeRestarted`, v1.2.0
    /// `pkg/kubelet/container/helpers.go`; v1.1.1 `manager.go` `computePodContainerChanges`).
    fn should_start(&self, i: usize) -> bool {
        let a = &self.apps[i];
        if a.running {
            return false;
        }
        if a.starts == 0 {
            return true;
        }
        match self.spec.restart_policy {
            RestartPolicy::Always => true,
            RestartPolicy::OnFailure => a.failed,
            RestartPolicy::Never => false,
        }
    }

    fn to_start(&self) -> Vec<usize> {
        (0..self.apps.len())
            .filter(|&i| self.should_start(i))
            .collect()
    }

    fn start_apps(&mut self, which: &[usize], out: &mut Vec<Event>) {
        if !which.is_empty() && self.network == Network::Failed {
            self.note(
                out,
                "app containers start in a pod whose setup failed (v1.1 never retries setup)",
            );
        }
        for &i in which {
            let restarts = self.apps[i].starts;
            self.apps[i].running = true;
            self.apps[i].failed = false;
            self.apps[i].starts += 1;
            out.push(Event::AppStarted {
                pod: self.pod.clone(),
                container: i,
                restarts,
            });
        }
    }

    /// Kill the running app containers. `Some(ms)` when that takes the grace period.
    fn kill_apps(&mut self, reason: &str, out: &mut Vec<Event>) {
        for (i, a) in self.apps.iter_mut().enumerate() {
            if a.running {
                a.running = false;
                a.failed = true;
                out.push(Event::AppExited {
                    pod: self.pod.clone(),
                    container: i,
                    reason: reason.to_string(),
                });
            }
        }
    }

    /// How long killing the running app containers takes: the grace period when they ignore
    /// SIGTERM (v1.5.0 `docker_manager.go` `killContainer`: `StopContainer` with the pod's
    /// `terminationGracePeriodSeconds`, default 30 s), at once otherwise.
    fn app_kill_ms(&self) -> u64 {
        if self.spec.ignores_sigterm && self.apps.iter().any(|a| a.running) {
            self.spec.grace_period_s * 1000
        } else {
            0
        }
    }

    fn kill_infra(&mut self, id: &str, reason: &str, out: &mut Vec<Event>) {
        let Some(c) = self.infras.iter_mut().find(|c| c.id == id) else {
            return;
        };
        if c.state == ContainerState::Exited {
            out.push(Event::Note {
                pod: Some(self.pod.clone()),
                text: format!("infra container {} had already exited", c.id),
            });
            return;
        }
        c.state = ContainerState::Exited;
        self.unknown.remove(id);
        out.push(Event::InfraKilled {
            pod: self.pod.clone(),
            id: id.to_string(),
            reason: reason.to_string(),
        });
    }

    /// `teardown` for infra `id` (unless the profile skips host-network pods).
    fn teardown(&self, k: &Kubelet<'_>, purpose: CallPurpose, id: &str, out: &mut Vec<Event>) {
        if self.host_network() && !k.profile.host_network.setup_teardown {
            self.note(
                out,
                "host-network pod: teardown not called (this release skips the plugin for host-network pods)",
            );
            return;
        }
        // Teardown failure is logged and never retried; the kill follows regardless (v1.5.0
        // `docker_manager.go` `killPodWithSyncResult`).
        self.call(k, purpose, Action::Teardown, id, false, out);
    }

    /// The pod is created (it appears in the pod source).
    pub fn create(&mut self, k: &Kubelet<'_>, out: &mut Vec<Event>) {
        if self.desired {
            self.note(out, "pod already exists: create ignored");
            return;
        }
        self.desired = true;
        self.terminated = false;
        self.churn = 0;
        self.churn_stopped = false;
        for a in &mut self.apps {
            *a = App {
                running: false,
                starts: 0,
                failed: false,
            };
        }
        match k.profile.loop_kind {
            LoopKind::Sync => self.sync_loop(k, true, out),
            LoopKind::Pleg => self.sync_pleg(k, out),
        }
    }

    /// Pod start: a new infra container, then `setup` and the post-setup `status`. Returns
    /// whether the app containers may start.
    fn start_infra(&mut self, k: &Kubelet<'_>, out: &mut Vec<Event>) -> bool {
        self.generation += 1;
        let mut infra = k
            .runtime
            .create_infra(self.index, self.generation, self.host_network());
        if let Some(real) = k.real {
            // What the model has killed or crashed is gone on the real runtime before the new
            // container is made (its events reach the runtime only when the worker's batch is
            // recorded): docker's IPAM then hands the dead one's address on, as it did.
            for c in self.infras.iter().filter(|c| !c.is_running()) {
                let _ = real.kill(&c.id);
            }
            // The real runtime makes the same container (id from the model) and assigns the
            // address, as docker's IPAM did.
            match real.create_infra(&self.infra_spec(&infra.id)) {
                Ok(info) => infra.runtime_ip = info.runtime_ip,
                Err(e) => self.note(
                    out,
                    format!("execnet's runtime could not create the infra container: {e}"),
                ),
            }
        }
        let id = infra.id.clone();
        out.push(Event::InfraCreated {
            pod: self.pod.clone(),
            id: id.clone(),
            runtime_ip: infra.runtime_ip.clone(),
        });
        self.infras.push(infra);
        self.network = Network::Pending;
        if self.host_network() && !k.profile.host_network.setup_teardown {
            // v1.2.0 `manager.go` `SyncPod`: `if !usesHostNetwork(pod) { SetUpPod …
            // determineContainerIP }`: neither setup nor the post-setup status.
            self.note(
                out,
                "host-network pod: setup not called (this release skips the plugin for host-network pods)",
            );
            return true;
        } else {
            if k.profile.is_pleg()
                && k.runtime
                    .choose("relist-before-setup", self.index, self.generation, 3)
            {
                self.relist_before_setup(k, &id, out);
            }
            let injected = self.inject_setup_failure;
            let record = self.call(k, CallPurpose::Setup, Action::Setup, &id, injected, out);
            let mut failed = record.as_ref().is_some_and(|r| !r.succeeded());
            if injected {
                self.inject_setup_failure = false;
                failed = true;
                self.note(
                    out,
                    "injected: the kubelet treats this setup as failed, whatever the plugin returned",
                );
            }
            if failed {
                if k.profile.retry_failed_setup {
                    // v1.2.0 `manager.go` `SyncPod`, v1.5.0 `docker_manager.go` `SyncPod`: on
                    // a setup error the infra container is killed (`KillContainerInPod`, no
                    // teardown) and the sync ends. The real pause exits on SIGTERM, so the kill
                    // returns at once: the relist that follows sees it exited (no `status` for
                    // the dead ID) and its event wakes the worker, whose next sync starts over
                    // with a new infra container: the retry comes about one relist period later
                    // (docs/kubelet.md §3.2 observed 2026-12-06: 0.75–2.24 s, no status for the failed ID).
                    if let Some(c) = self.infras.last_mut() {
                        c.state = ContainerState::Exited;
                    }
                    out.push(Event::InfraKilled {
                        pod: self.pod.clone(),
                        id: id.clone(),
                        reason: "setup failed: killed without teardown; the next sync starts over"
                            .into(),
                    });
                } else {
                    // v1.1.1 `manager.go` `SyncPod`: `return err` with the infra container
                    // running; the next sync keeps it and never calls setup again.
                    self.network = Network::Failed;
                    self.note(
                        out,
                        format!(
                            "setup failed: infra container {id} left running, setup never retried"
                        ),
                    );
                }
                return false;
            }
            self.network = Network::Ready;
        }
        if k.profile.post_setup_status {
            let status = self.status(k, CallPurpose::PostSetup, &id, out);
            if matches!(status, Some(StatusResult::Error { .. }))
                && k.profile.status_error == StatusErrorPolicy::InfraUnknown
            {
                // v1.5.0 `docker_manager.go` `SyncPod`: "Network error … Skipping pod": the app
                // containers are not started, the infra container is left running.
                self.note(
                    out,
                    "status failed after setup: the sync ends (\"Network error; Skipping pod\"), app containers not started",
                );
                return false;
            }
        }
        true
    }

    /// One sync of the v1.1 loop (and `documented`): v1.1.1 `pkg/kubelet/kubelet.go` `syncPod`
    /// and `pkg/kubelet/dockertools/manager.go` `SyncPod`. `first`: the pod's first sync after
    /// it was created or the kubelet restarted (`SyncPodCreate`: no status at the start).
    pub fn sync_loop(&mut self, k: &Kubelet<'_>, first: bool, out: &mut Vec<Event>) {
        if !self.desired || self.deleting {
            return;
        }
        if !first && k.profile.sync_status == SyncStatus::StartAndDeferred {
            self.status_current(k, CallPurpose::Sync, out);
        }
        if self.running_current().is_none() {
            // `computePodContainerChanges`: the infra container is not running: `KillPod` of
            // the running containers (no network container among them: no teardown), then a
            // new infra container if any app container is to start.
            self.kill_apps("killed: the infra container is not running", out);
            let start = self.to_start();
            if !start.is_empty() && self.start_infra(k, out) {
                self.start_apps(&start, out);
            }
        } else {
            let start = self.to_start();
            if start.is_empty() && self.apps.iter().all(|a| !a.running) {
                // "Killing Infra Container … because all other containers are dead"
                // (v1.1.1 `manager.go` `SyncPod` → `KillPod`: teardown, then the kill).
                self.kill_pod(k, CallPurpose::AllExited, out);
            } else {
                self.start_apps(&start, out);
            }
        }
        let end = match k.profile.sync_status {
            SyncStatus::StartAndDeferred => !self.spec.static_pod,
            SyncStatus::EndOfPeriodicSync => !first,
            SyncStatus::None => false,
        };
        if end {
            self.status_current(k, CallPurpose::Sync, out);
        }
    }

    fn status_current(&mut self, k: &Kubelet<'_>, purpose: CallPurpose, out: &mut Vec<Event>) {
        if let Some(id) = self.running_current().map(|c| c.id.clone()) {
            self.status(k, purpose, &id, out);
        }
    }

    /// One sync of a v1.2+ pod worker (v1.5.0 `docker_manager.go` `SyncPod`,
    /// `computePodContainerChanges`; v1.2.0 `manager.go` the same paths).
    pub fn sync_pleg(&mut self, k: &Kubelet<'_>, out: &mut Vec<Event>) {
        if !self.desired || self.deleting || self.terminated {
            return;
        }
        if self
            .current()
            .is_some_and(|c| c.state == ContainerState::Stopping)
        {
            // The worker is still inside `SyncPod`, killing the infra container whose setup
            // failed (`KillContainerInPod` waits for docker); the relist that sees it exit
            // wakes the worker again.
            return;
        }
        let current_ok = self
            .current()
            .is_some_and(|c| c.state == ContainerState::Running && !self.unknown.contains(&c.id));
        if !current_ok {
            let was_unknown = self.current().is_some_and(|c| self.unknown.contains(&c.id));
            // `killPodWithSyncResult` of the containers the cache says run: app containers, and
            // no infra container (exited, or Unknown: not Running): no teardown.
            if self.apps.iter().any(|a| a.running) {
                let wait = self.app_kill_ms();
                self.kill_apps("killed: the infra container must be replaced", out);
                if wait > 0 {
                    self.note(
                        out,
                        format!("app containers ignore SIGTERM: the kill takes the {wait} ms grace period"),
                    );
                    self.wake_at = Some(k.now_ms + wait);
                    return;
                }
            }
            let start = self.to_start();
            if start.is_empty() {
                return;
            }
            if was_unknown {
                if let Some(limit) = k.churn_limit.filter(|&l| self.churn >= l) {
                    if !self.churn_stopped {
                        self.churn_stopped = true;
                        let cycle = k.profile.relist_period_ms + k.profile.churn_relist_ms;
                        self.note(
                            out,
                            format!(
                                "{CHURN_STOP_NOTE} {limit} new infra containers for this pod (a cost bound); the real kubelet goes on without a bound: a real v{} kubelet makes ~{} infra containers a minute for this plugin (simulated: one every {cycle} ms)",
                                k.profile.name,
                                k.profile.churn_observed_per_min
                            ),
                        );
                    }
                    return;
                }
                self.churn += 1;
            }
            if self.start_infra(k, out) {
                self.start_apps(&start, out);
            }
            return;
        }
        // The newest infra container is fine: older running ones (left by the churn) are
        // unwanted containers, killed one by one without teardown (`SyncPod`: "Killing
        // unwanted container").
        let newest = self.current().map(|c| c.id.clone()).unwrap_or_default();
        let older: Vec<String> = self
            .running_infras()
            .into_iter()
            .filter(|c| c.id != newest)
            .map(|c| c.id.clone())
            .collect();
        for id in older {
            self.kill_infra(
                &id,
                "unwanted container: the newest infra container is kept (no teardown)",
                out,
            );
        }
        let start = self.to_start();
        if start.is_empty() && self.apps.iter().all(|a| !a.running) {
            // v1.5.0 `SyncPod`: nothing to keep and nothing to start: `killPodWithSyncResult`
            // with the infra container: teardown, then the kill.
            self.kill_pod(k, CallPurpose::AllExited, out);
            self.terminated = true;
        } else {
            self.start_apps(&start, out);
        }
    }

    /// Teardown (with `purpose`) for the running, known infra container, then kill it and the
    /// app containers (`killPodWithSyncResult`).
    fn kill_pod(&mut self, k: &Kubelet<'_>, purpose: CallPurpose, out: &mut Vec<Event>) {
        self.kill_apps("killed with the pod", out);
        let target = self
            .infras
            .iter()
            .rev()
            .find(|c| c.state == ContainerState::Running && !self.unknown.contains(&c.id))
            .map(|c| c.id.clone());
        match target {
            Some(id) => {
                self.teardown(k, purpose, &id, out);
                let reason = match purpose {
                    CallPurpose::AllExited => "all app containers exited and none restarts",
                    _ => "pod deleted",
                };
                self.kill_infra(&id, reason, out);
            }
            None => {
                if let Some(c) = self.current() {
                    self.note(
                        out,
                        format!(
                            "infra container {} is not running (or Unknown): no teardown",
                            c.id
                        ),
                    );
                }
            }
        }
        self.network = Network::Pending;
    }

    /// The infra container dies on its own.
    pub fn crash(&mut self, out: &mut Vec<Event>) {
        match self
            .infras
            .last_mut()
            .filter(|c| c.state == ContainerState::Running)
        {
            Some(c) => {
                c.state = ContainerState::Exited;
                let id = c.id.clone();
                self.unknown.remove(&id);
                out.push(Event::InfraCrashed {
                    pod: self.pod.clone(),
                    id,
                });
            }
            None => self.note(out, "no running infra container to crash"),
        }
    }

    /// One running app container exits with an error.
    pub fn crash_app(&mut self, out: &mut Vec<Event>) {
        match self.apps.iter().position(|a| a.running) {
            Some(i) => {
                self.apps[i].running = false;
                self.apps[i].failed = true;
                out.push(Event::AppExited {
                    pod: self.pod.clone(),
                    container: i,
                    reason: "crashed (exit 1)".into(),
                });
            }
            None => self.note(out, "no running app container to crash"),
        }
    }

    /// The docker daemon restarts: every container exits.
    pub fn docker_restart(&mut self, out: &mut Vec<Event>) {
        let ids: Vec<String> = self
            .infras
            .iter()
            .filter(|c| c.is_running())
            .map(|c| c.id.clone())
            .collect();
        for c in &mut self.infras {
            c.state = ContainerState::Exited;
        }
        for id in ids {
            self.unknown.remove(&id);
            out.push(Event::InfraCrashed {
                pod: self.pod.clone(),
                id,
            });
        }
        self.kill_apps("docker restarted", out);
    }

    /// The next setup of this pod will be failed by the kubelet.
    pub fn fail_next_setup(&mut self) {
        self.inject_setup_failure = true;
    }

    /// Pod delete: the worker's `killPod`. Returns the instant it completes when the app
    /// containers take their grace period.
    pub fn delete(&mut self, k: &Kubelet<'_>, out: &mut Vec<Event>) {
        if !self.desired {
            self.note(out, "pod does not exist: delete ignored");
            return;
        }
        let wait = self.app_kill_ms();
        if wait > 0 {
            self.deleting = true;
            self.note(
                out,
                format!("app containers ignore SIGTERM: the kill takes the {wait} ms grace period"),
            );
            self.wake_at = Some(k.now_ms + wait);
            return;
        }
        self.finish_delete(k, out);
    }

    /// The end of deletion: teardown for the running infra container the kubelet knows, the
    /// kill; the pod leaves the pod source (v1.5.0 `kubelet_pods.go` `killPod` →
    /// `docker_manager.go` `killPodWithSyncResult`).
    pub fn finish_delete(&mut self, k: &Kubelet<'_>, out: &mut Vec<Event>) {
        self.kill_pod(k, CallPurpose::Delete, out);
        self.desired = false;
        self.deleting = false;
        self.inject_setup_failure = false;
    }

    /// The housekeeping pass kills this pod that should not exist: teardown for infra `id`
    /// (from the runtime cache, possibly stale), then the kill (v1.5.0 `kubelet_pods.go`
    /// `HandlePodCleanups` → `podKiller` → `killPod` with no API pod).
    pub fn housekeeping_kill(&mut self, k: &Kubelet<'_>, id: &str, out: &mut Vec<Event>) {
        self.kill_apps("killed by housekeeping", out);
        self.teardown(k, CallPurpose::Housekeeping, id, out);
        self.kill_infra(id, "housekeeping: the pod should not exist", out);
    }

    /// The app containers' kill that starts a delete (`killPodWithSyncResult`).
    pub fn kill_apps_for_delete(&mut self, out: &mut Vec<Event>) {
        self.kill_apps("killed with the pod", out);
    }

    /// Teardown for the current running infra container, without the kill (a restart during
    /// deletion cuts the kill off).
    pub fn teardown_current(&self, k: &Kubelet<'_>, purpose: CallPurpose, out: &mut Vec<Event>) {
        let Some(id) = self.running_current().map(|c| c.id.clone()) else {
            if let Some(c) = self.current() {
                self.note(
                    out,
                    format!("infra container {} is not running: no teardown", c.id),
                );
            }
            return;
        };
        self.teardown(k, purpose, &id, out);
    }
}

/// The pod IP the kubelet reported after a status (docs/plugin-manager.md §2.5). The no-op plugin's status is
/// *none*.
pub fn decide_pod_ip(
    profile: &Profile,
    status: &StatusResult,
    runtime_ip: &str,
) -> (String, IpSource) {
    match status {
        StatusResult::None => (runtime_ip.to_string(), IpSource::Runtime),
        StatusResult::Status { ip: Some(ip), .. } => (ip.to_string(), IpSource::Plugin),
        StatusResult::Status { ip: None, .. } => match profile.empty_ip {
            EmptyIpPolicy::Nil => ("<nil>".to_string(), IpSource::Nil),
            EmptyIpPolicy::Fallback => (runtime_ip.to_string(), IpSource::Runtime),
        },
        // Every release keeps the runtime's IP on a status error (v1.1–v1.3 log it; v1.4+
        // `determineContainerIP` returns `result, err` with the runtime's IP as `result`).
        StatusResult::Error { .. } => (runtime_ip.to_string(), IpSource::Error),
        // Output over execnet's cap: what the kubelet concluded is unknown (docs/supervision.md §4); the pod
        // keeps the runtime's IP and the call itself is marked not judged.
        StatusResult::NotJudged { .. } => (runtime_ip.to_string(), IpSource::Runtime),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_ip_per_profile() {
        let p15 = Profile::by_name("1.5").unwrap();
        let p11 = Profile::by_name("1.1").unwrap();
        let doc = Profile::by_name("documented").unwrap();
        let rt = "172.17.0.2";
        let empty = StatusResult::Status {
            kind: String::new(),
            api_version: String::new(),
            ip: None,
        };
        assert_eq!(
            decide_pod_ip(p15, &empty, rt),
            ("<nil>".into(), IpSource::Nil)
        );
        assert_eq!(
            decide_pod_ip(doc, &empty, rt),
            (rt.into(), IpSource::Runtime)
        );
        let err = StatusResult::Error {
            message: "boom".into(),
        };
        assert_eq!(decide_pod_ip(p11, &err, rt), (rt.into(), IpSource::Error));
        assert_eq!(decide_pod_ip(p15, &err, rt), (rt.into(), IpSource::Error));
        assert_eq!(
            decide_pod_ip(p15, &StatusResult::None, rt),
            (rt.into(), IpSource::Runtime)
        );
    }
}
