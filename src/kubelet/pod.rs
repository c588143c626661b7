//! Pods and what the kubelet's per-pod worker does to them: pod start (infra container,
//! `setup`, the v1.1–v1.3 swapped post-setup `status`), the periodic status and the pod-IP
//! decision (SPEC 2.5), crash cleanup (a new infra container, never a teardown for the dead
//! one), deletion (teardown for a running infra container, then the kill). Every method appends
//! the events it causes to a buffer owned by the caller; nothing here knows about other pods.

use crate::plugin::{Action, CallRecord, NetworkPlugin, StatusResult};

use super::profile::{EmptyIpPolicy, Profile, StatusErrorPolicy};
use super::runtime::{ContainerState, InfraContainer, Runtime};
use super::transcript::{CallPurpose, Event, IpSource, PodRef};

/// What a pod worker needs from the kubelet; shared read-only by every worker of a phase.
#[derive(Debug, Clone, Copy)]
pub struct Kubelet<'a> {
    pub profile: &'static Profile,
    pub plugin: &'a NetworkPlugin,
    pub runtime: Runtime,
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

/// One declared pod and its kubelet-side state.
#[derive(Debug, Clone)]
pub struct Pod {
    /// Declaration order: the canonical order of events within a phase, and the runtime key.
    pub index: usize,
    pub pod: PodRef,
    pub host_network: bool,
    /// Created and not deleted.
    pub exists: bool,
    /// Infra containers created so far for this pod (the runtime's per-pod counter).
    pub generation: u64,
    pub infra: Option<InfraContainer>,
    pub network: Network,
    /// A `fail_setup` step asked the kubelet to fail this pod's next setup.
    pub inject_setup_failure: bool,
}

impl Pod {
    pub fn new(index: usize, pod: PodRef, host_network: bool) -> Self {
        Pod {
            index,
            pod,
            host_network,
            exists: false,
            generation: 0,
            infra: None,
            network: Network::Pending,
            inject_setup_failure: false,
        }
    }

    fn note(&self, out: &mut Vec<Event>, text: impl Into<String>) {
        out.push(Event::Note {
            pod: Some(self.pod.clone()),
            text: text.into(),
        });
    }

    fn running_id(&self) -> Option<String> {
        self.infra
            .as_ref()
            .filter(|c| c.is_running())
            .map(|c| c.id.clone())
    }

    /// `action <ns> <name> <id>` (or swapped), recorded; `None` for the no-op plugin.
    fn call(
        &self,
        k: &Kubelet<'_>,
        purpose: CallPurpose,
        action: Action,
        id: &str,
        out: &mut Vec<Event>,
    ) -> Option<CallRecord> {
        let NetworkPlugin::Exec(exec) = k.plugin else {
            return None;
        };
        let (first, second) = if purpose == CallPurpose::PostSetupStatus {
            (&self.pod.name, &self.pod.namespace)
        } else {
            (&self.pod.namespace, &self.pod.name)
        };
        let record = exec.call(action, first, second, id);
        out.push(Event::Call {
            purpose,
            pod: Some(self.pod.clone()),
            id: Some(id.to_string()),
            call: record.clone(),
        });
        Some(record)
    }

    /// The pod is created: start it.
    pub fn create(&mut self, k: &Kubelet<'_>, out: &mut Vec<Event>) {
        if self.exists {
            self.note(out, "pod already exists: create ignored");
            return;
        }
        self.exists = true;
        self.start(k, out);
    }

    /// Pod start: a new infra container, then `setup` (and the swapped status in v1.1–v1.3).
    fn start(&mut self, k: &Kubelet<'_>, out: &mut Vec<Event>) {
        self.generation += 1;
        let infra = k
            .runtime
            .create_infra(self.index, self.generation, self.host_network);
        let id = infra.id.clone();
        out.push(Event::InfraCreated {
            pod: self.pod.clone(),
            id: id.clone(),
            runtime_ip: infra.runtime_ip.clone(),
        });
        self.infra = Some(infra);
        self.network = Network::Pending;
        if self.host_network && !k.profile.host_network.setup_teardown {
            self.note(
                out,
                format!(
                    "host-network pod: setup not called under profile {}",
                    k.profile.name
                ),
            );
            return;
        }
        let record = self.call(k, CallPurpose::Setup, Action::Setup, &id, out);
        let mut failed = record.as_ref().is_some_and(|r| !r.succeeded());
        if self.inject_setup_failure {
            self.inject_setup_failure = false;
            failed = true;
            self.note(
                out,
                "injected: the kubelet treats this setup as failed, whatever the plugin returned",
            );
        }
        if !failed {
            self.network = Network::Ready;
            if k.profile.post_setup_status_swapped {
                self.status(k, CallPurpose::PostSetupStatus, out);
            }
        } else if k.profile.retry_failed_setup {
            self.kill(
                out,
                "setup failed: killed without teardown; the next sync starts over",
            );
        } else {
            self.network = Network::Failed;
            self.note(
                out,
                format!(
                    "setup failed: infra container {id} left running, setup never retried (profile {})",
                    k.profile.name
                ),
            );
        }
    }

    /// One sync of this pod: restart a dead or missing infra container, then status.
    pub fn sync(&mut self, k: &Kubelet<'_>, out: &mut Vec<Event>) {
        if !self.exists {
            return;
        }
        match &self.infra {
            None => self.start(k, out),
            Some(c) if c.state == ContainerState::Dead => {
                self.kill(out, "found dead on sync: cleanup, no teardown");
                self.start(k, out);
            }
            Some(_) => {}
        }
        if self.running_id().is_some() {
            if self.host_network && !k.profile.host_network.status {
                self.note(
                    out,
                    format!(
                        "host-network pod: status not called under profile {}",
                        k.profile.name
                    ),
                );
            } else {
                self.status(k, CallPurpose::Status, out);
            }
        }
    }

    /// `status`, then the pod-IP decision.
    fn status(&mut self, k: &Kubelet<'_>, purpose: CallPurpose, out: &mut Vec<Event>) {
        let Some(infra) = self.infra.clone() else {
            return;
        };
        let record = self.call(k, purpose, Action::Status, &infra.id, out);
        let status = record.and_then(|r| r.status).unwrap_or(StatusResult::None);
        let (ip, source) = decide_pod_ip(k.profile, &status, &infra.runtime_ip);
        out.push(Event::PodIp {
            pod: self.pod.clone(),
            id: infra.id,
            ip,
            source,
        });
    }

    /// The infra container dies on its own.
    pub fn crash(&mut self, out: &mut Vec<Event>) {
        match self.infra.as_mut().filter(|c| c.is_running()) {
            Some(c) => {
                c.state = ContainerState::Dead;
                out.push(Event::InfraCrashed {
                    pod: self.pod.clone(),
                    id: c.id.clone(),
                });
            }
            None => self.note(out, "no running infra container to crash"),
        }
    }

    /// The next setup of this pod will be failed by the kubelet.
    pub fn fail_next_setup(&mut self) {
        self.inject_setup_failure = true;
    }

    /// The first half of deletion: `teardown` (with `purpose`) for a running infra container.
    pub fn teardown(&mut self, k: &Kubelet<'_>, purpose: CallPurpose, out: &mut Vec<Event>) {
        let Some(id) = self.running_id() else {
            if let Some(c) = &self.infra {
                self.note(
                    out,
                    format!("infra container {} is not running: no teardown", c.id),
                );
            }
            return;
        };
        if self.host_network && !k.profile.host_network.setup_teardown {
            self.note(
                out,
                format!(
                    "host-network pod: teardown not called under profile {}",
                    k.profile.name
                ),
            );
            return;
        }
        if purpose == CallPurpose::IdempotenceProbe {
            self.note(
                out,
                "execnet addition, not kubelet behaviour: teardown repeated for the same container after a kubelet restart during deletion",
            );
        }
        // Teardown failure is logged and never retried; the kill follows regardless.
        self.call(k, purpose, Action::Teardown, &id, out);
    }

    /// The second half of deletion: kill the infra container; the pod is gone.
    pub fn finish_delete(&mut self, out: &mut Vec<Event>) {
        if self.infra.is_some() {
            self.kill(out, "pod deleted");
        }
        self.exists = false;
        self.network = Network::Pending;
        self.inject_setup_failure = false;
    }

    /// Pod delete: teardown, then the kill.
    pub fn delete(&mut self, k: &Kubelet<'_>, out: &mut Vec<Event>) {
        if !self.exists {
            self.note(out, "pod does not exist: delete ignored");
            return;
        }
        self.teardown(k, CallPurpose::Teardown, out);
        self.finish_delete(out);
    }

    fn kill(&mut self, out: &mut Vec<Event>, reason: &str) {
        if let Some(c) = self.infra.take() {
            out.push(Event::InfraKilled {
                pod: self.pod.clone(),
                id: c.id,
                reason: reason.to_string(),
            });
        }
        self.network = Network::Pending;
    }
}

/// The pod IP the kubelet reported after a status (SPEC 2.5). The no-op plugin's status is
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
        StatusResult::Error { message } => match profile.status_error {
            StatusErrorPolicy::KeepRuntimeIp => (runtime_ip.to_string(), IpSource::Runtime),
            StatusErrorPolicy::ReportError => (message.clone(), IpSource::Error),
        },
        // Output over execnet's cap: what the kubelet concluded is unknown (SPEC 4); the pod
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
        assert_eq!(decide_pod_ip(p11, &err, rt), (rt.into(), IpSource::Runtime));
        assert_eq!(
            decide_pod_ip(p15, &err, rt),
            ("boom".into(), IpSource::Error)
        );
        assert_eq!(
            decide_pod_ip(p15, &StatusResult::None, rt),
            (rt.into(), IpSource::Runtime)
        );
    }
}
