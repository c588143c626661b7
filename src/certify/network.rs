//! The `network/*` checks (netns runtime only): the plugin is driven through a short lifecycle on
//! real infra containers (pod B, then pod A set up and torn down, then pod C crashed and
//! replaced), and the node itself is looked at: after setup the address the kubelet would publish
//! (docs/plugin-manager.md §2.5) must be on an interface inside the pod's namespace, unique among live pods, and the
//! pod must answer TCP from the node on it; after a teardown nothing of the pod may be left in the
//! node (links, bridge and OVS ports, OVS flows, routes, iptables rules, `/var/run/netns`
//! entries); after a crash (no teardown, docs/kubelet.md §3.6) the new pod must work, and what the dead one
//! left is counted.

use std::time::Duration;

use serde::Serialize;

use super::checks::{CheckDef, Ctx, Judged, Judgement};
use super::{Finding, Level};
use crate::kubelet::profile::{EmptyIpPolicy, Profile, StatusErrorPolicy};
use crate::plugin::{Action, CallRecord, ExecPlugin, StatusResult};
use crate::runtime::netns::{NetnsRuntime, observe};
use crate::runtime::{ContainerRuntime, InfraSpec, PodMeta};

/// The name the network lifecycle goes by where scenarios are named (findings, progress,
/// timings): it is not a kubelet scenario, `execnet certify --runtime netns` runs it.
pub const LIFECYCLE: &str = "network";

/// How long a pod gets to answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(3);

/// One pod of the network lifecycle, as observed.
#[derive(Debug, Clone, Serialize)]
pub struct PodObservation {
    pub label: String,
    pub id: String,
    pub runtime_ip: String,
    pub setup_ok: bool,
    pub setup_output: String,
    /// The address the kubelet would have published (docs/plugin-manager.md §2.5), `<nil>` included.
    pub published: Option<String>,
    /// The status call's error, if it failed.
    pub status_error: Option<String>,
    /// `(interface, address)` inside the pod's network namespace after setup.
    pub pod_addresses: Vec<(String, String)>,
    /// `Ok(())` or why the pod did not answer.
    pub answers: Result<(), String>,
    /// Its host-side veth (docker's), for attributing leftovers.
    pub veth: Option<String>,
}

impl PodObservation {
    /// What names this pod in the node's state: its addresses, its veth, its id's prefix.
    fn tokens(&self) -> Vec<&str> {
        let mut t = vec![self.runtime_ip.as_str(), &self.id[..12.min(self.id.len())]];
        t.extend(self.published.as_deref().filter(|p| *p != "<nil>"));
        t.extend(self.veth.as_deref());
        t
    }

    /// Whether a line of node state names this pod.
    fn named_in(&self, line: &str) -> bool {
        self.tokens().iter().any(|t| mentions(line, t))
    }

    fn address_in_pod(&self) -> bool {
        self.published
            .as_deref()
            .is_some_and(|ip| self.pod_addresses.iter().any(|(_, a)| a == ip))
    }
}

/// Everything the network checks judge.
#[derive(Debug, Clone, Serialize)]
pub struct NetworkEvidence {
    /// B (stays up), A (set up, torn down), C2 (the replacement of the crashed C).
    pub pods: Vec<PodObservation>,
    /// New node state after A's teardown and kill, compared with just before A.
    pub teardown_leftovers: Vec<String>,
    /// New node state of the crashed C still present once C2 runs.
    pub crash_leftovers: Vec<String>,
    /// Why the lifecycle could not run, if it could not (execnet's own failure).
    pub error: Option<String>,
}

fn published_ip(
    profile: &Profile,
    call: &CallRecord,
    runtime_ip: &str,
) -> (Option<String>, Option<String>) {
    match &call.status {
        Some(StatusResult::None) | None => (Some(runtime_ip.to_string()), None),
        Some(StatusResult::Status { ip: Some(ip), .. }) => (Some(ip.to_string()), None),
        Some(StatusResult::Status { ip: None, .. }) => match profile.empty_ip {
            EmptyIpPolicy::Nil => (Some("<nil>".to_string()), None),
            EmptyIpPolicy::Fallback => (Some(runtime_ip.to_string()), None),
        },
        // v1.1–v1.5 all keep the runtime's IP on a status error (v1.4+ also mark the pod).
        Some(StatusResult::Error { message }) => {
            (Some(runtime_ip.to_string()), Some(message.clone()))
        }
        Some(StatusResult::NotJudged { .. }) => (None, None),
    }
}

struct Lifecycle<'a> {
    plugin: &'a ExecPlugin,
    rt: &'a NetnsRuntime,
    profile: &'a Profile,
    next: u32,
}

impl Lifecycle<'_> {
    fn start(&mut self, label: &str, pod: &str) -> Result<PodObservation, String> {
        self.next += 1;
        let n = self.next;
        let id = format!("{:08x}{:056x}", 0x6e65_7400 + n, u64::from(n) * 0x9e37_79b9);
        let meta = PodMeta {
            name: pod.to_string(),
            namespace: "execnet-network".into(),
            uid: format!("00000000-0000-4000-8000-{n:012}"),
            ..PodMeta::default()
        };
        let info = self
            .rt
            .create_infra(&InfraSpec {
                id: id.clone(),
                pod: meta.clone(),
                name_suffix: 0x6e65_7400 + n,
            })
            .map_err(|e| format!("create infra for {label}: {e}"))?;
        let veth = self
            .rt
            .records()
            .into_iter()
            .find(|c| c.id == id)
            .and_then(|c| c.veth);
        let setup = self
            .plugin
            .call(Action::Setup, &meta.namespace, &meta.name, &id);
        let status = self
            .plugin
            .call(Action::Status, &meta.namespace, &meta.name, &id);
        let (published, status_error) = published_ip(self.profile, &status, &info.runtime_ip);
        let pod_addresses = observe::pod_addresses(info.pid);
        let mut obs = PodObservation {
            label: label.to_string(),
            id,
            runtime_ip: info.runtime_ip,
            setup_ok: setup.succeeded(),
            setup_output: setup.output_text(),
            published,
            status_error,
            pod_addresses,
            answers: Err("not tried: the published address is not in the pod".into()),
            veth,
        };
        if obs.address_in_pod()
            && let Some(ip) = obs.published.clone()
        {
            obs.answers = observe::pod_answers(info.pid, &ip, ANSWER_WITHIN);
        }
        Ok(obs)
    }

    fn teardown_and_kill(&self, p: &PodObservation, pod: &str) {
        let _ = self
            .plugin
            .call(Action::Teardown, "execnet-network", pod, &p.id);
        let _ = self.rt.kill(&p.id);
    }
}

/// Run the network lifecycle with `plugin` (already initialised by the caller) on `rt`.
pub fn observe_network(
    plugin: &ExecPlugin,
    rt: &NetnsRuntime,
    profile: &Profile,
) -> NetworkEvidence {
    let mut lc = Lifecycle {
        plugin,
        rt,
        profile,
        next: 0,
    };
    let mut ev = NetworkEvidence {
        pods: Vec::new(),
        teardown_leftovers: Vec::new(),
        crash_leftovers: Vec::new(),
        error: None,
    };
    let result = (|| -> Result<(), String> {
        let b = lc.start("B", "net-b")?;
        ev.pods.push(b.clone());
        let s0 = observe::node_state();
        let a = lc.start("A", "net-a")?;
        ev.pods.push(a.clone());
        lc.teardown_and_kill(&a, "net-a");
        let s1 = observe::node_state();
        // What A's lifetime added, and whatever still names A once it is torn down, also when
        // it was on the node before A's setup: after a full suite, an earlier scenario's pod
        // torn down the same way left its route at the address A reuses, and a baseline alone
        // would take that leftover for the node's own.
        ev.teardown_leftovers = s1
            .iter()
            .filter(|l| (structural(l) && !s0.contains(*l)) || a.named_in(l))
            .cloned()
            .collect();
        let s2 = s1;
        let c = lc.start("C", "net-c")?;
        let _ = rt.kill(&c.id);
        let s_mid = observe::node_state();
        let c2 = lc.start("C2 (after C crashed)", "net-c")?;
        let s3 = observe::node_state();
        // What C's lifetime added that is still there once C2 is set up (the next setup of the
        // same pod is the plugin's chance to reclaim it); what names C2 (a reused address) is
        // C2's.
        ev.crash_leftovers = s_mid
            .difference(&s2)
            .filter(|l| s3.contains(*l) && (structural(l) || c.named_in(l)) && !c2.named_in(l))
            .cloned()
            .collect();
        ev.pods.push(c2.clone());
        lc.teardown_and_kill(&c2, "net-c");
        lc.teardown_and_kill(&b, "net-b");
        Ok(())
    })();
    ev.error = result.err();
    ev
}

/// New node state that is a leftover whatever it names: links, bridge and OVS ports, netns
/// entries. Routes, flows and rules count only when they name the pod (carrier changes of a
/// bridge rewrite its routes without the pod having left anything).
fn structural(line: &str) -> bool {
    ["link ", "bridge port ", "ovs port ", "netns entry "]
        .iter()
        .any(|p| line.starts_with(p))
}

/// `needle` appears in `line` as a whole token (not as part of a longer name or address).
fn mentions(line: &str, needle: &str) -> bool {
    line.match_indices(needle).any(|(i, _)| {
        let before = line[..i].chars().next_back();
        let after = line[i + needle.len()..].chars().next();
        let edge = |c: Option<char>| {
            c.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'))
        };
        edge(before) && edge(after)
    })
}

/// A network check's judge on the lifecycle's evidence, run through [`on_network`].
type NetJudge = fn(&NetworkEvidence, &Profile) -> NetJudgement;

fn live(ev: &NetworkEvidence) -> impl Iterator<Item = &PodObservation> {
    ev.pods.iter()
}

pub const ADDRESS_IN_POD: CheckDef = CheckDef {
    id: "network/address-in-pod",
    level: Level::Must,
    title: "after setup, the address the kubelet publishes is on an interface inside the pod",
    rationale: "the kubelet publishes this address as the pod's IP (docs/plugin-manager.md §2.5): services, endpoints and other pods send to it",
    scenarios: &[LIFECYCLE],
    judges_start: true,
    judge: |ctx, _| {
        const JUDGE: NetJudge = |ev, _| {
            // A pod whose status failed publishes the runtime's IP: that is
            // network/status-for-live-pod's finding, not this one's.
            let judged_pods: Vec<&PodObservation> =
                live(ev).filter(|p| p.status_error.is_none()).collect();
            if judged_pods.is_empty() {
                return NetJudgement::Skip("no pod had a successful status".into());
            }
            let mut bad = Vec::new();
            for p in judged_pods.iter().copied() {
                if !p.address_in_pod() {
                    bad.push(format!(
                        "pod {}: published {} but the pod has {:?} (setup {}: {})",
                        p.label,
                        p.published.as_deref().unwrap_or("(not judged)"),
                        p.pod_addresses,
                        if p.setup_ok { "ok" } else { "failed" },
                        p.setup_output.trim()
                    ));
                }
            }
            judged(
                bad,
                format!(
                    "{} pods: each published address is inside its pod",
                    judged_pods.len()
                ),
            )
        };
        on_network(
            ctx,
            "after setup, the address the kubelet publishes is on an interface inside the pod",
            JUDGE,
        )
    },
};

pub const UNIQUE_ADDRESS: CheckDef = CheckDef {
    id: "network/unique-address",
    level: Level::Must,
    title: "live pods get distinct addresses",
    rationale: "two live pods with one address break both; plugins of the era ran their own IPAM or took docker's",
    scenarios: &[LIFECYCLE],
    judges_start: true,
    judge: |ctx, _| {
        const JUDGE: NetJudge = |ev, _| {
            // A is torn down before C2 starts: B/A and B/C2 are the live pairs.
            let b = ev.pods.iter().find(|p| p.label == "B");
            let mut bad = Vec::new();
            for p in ev.pods.iter().filter(|p| p.label != "B") {
                if let (Some(b), Some(ip)) = (b, p.published.as_deref())
                    && b.published.as_deref() == Some(ip)
                {
                    bad.push(format!("pods B and {} both got {ip}", p.label));
                }
            }
            judged(bad, "B, A and C2 got distinct addresses".into())
        };
        on_network(ctx, "live pods get distinct addresses", JUDGE)
    },
};

pub const POD_ANSWERS: CheckDef = CheckDef {
    id: "network/pod-answers",
    level: Level::Must,
    title: "the pod answers TCP from the node on its published address",
    rationale: "an address in place that the node cannot reach fails the pod's probes and every service behind it",
    scenarios: &[LIFECYCLE],
    judges_start: true,
    judge: |ctx, _| {
        const JUDGE: NetJudge = |ev, _| {
            // Judged on pods whose published address is inside them and not shared with another
            // live pod (those are the other checks' findings).
            let b = ev
                .pods
                .iter()
                .find(|p| p.label == "B")
                .and_then(|b| b.published.clone());
            let shared = |p: &PodObservation| {
                p.label != "B" && p.published.is_some() && p.published == b
                    || p.label == "B"
                        && ev.pods.iter().any(|q| {
                            q.label != "B" && q.published.is_some() && q.published == p.published
                        })
            };
            let judged_pods: Vec<&PodObservation> = live(ev)
                .filter(|p| p.address_in_pod() && !shared(p))
                .collect();
            if judged_pods.is_empty() {
                return NetJudgement::Skip(
                    "no pod had a unique published address inside it".into(),
                );
            }
            let bad: Vec<String> = judged_pods
                .iter()
                .filter_map(|p| {
                    p.answers
                        .as_ref()
                        .err()
                        .map(|e| format!("pod {}: {e}", p.label))
                })
                .collect();
            judged(
                bad,
                format!("{} pods answered from the node", judged_pods.len()),
            )
        };
        on_network(
            ctx,
            "the pod answers TCP from the node on its published address",
            JUDGE,
        )
    },
};

pub const TEARDOWN_LEAVES_NOTHING: CheckDef = CheckDef {
    id: "network/teardown-leaves-nothing",
    level: Level::Must,
    title: "after teardown (and the kill) nothing of the pod is left in the node",
    rationale: "what a teardown leaves stays on the node for its life: ports, flows and routes naming an address docker hands out again misroute the next pod",
    scenarios: &[LIFECYCLE],
    judges_start: true,
    judge: |ctx, _| {
        const JUDGE: NetJudge = |ev, _| {
            let bad: Vec<String> = ev
                .teardown_leftovers
                .iter()
                .map(|l| format!("left: {l}"))
                .collect();
            judged(
                bad,
                "no link, port, flow, route, rule or netns entry left after teardown".into(),
            )
        };
        on_network(
            ctx,
            "after teardown (and the kill) nothing of the pod is left in the node",
            JUDGE,
        )
    },
};

pub const CRASH_RECOVERY: CheckDef = CheckDef {
    id: "network/crash-recovery",
    level: Level::Should,
    title: "after an infra crash (no teardown) the new pod works and the dead one's leftovers are reclaimed",
    rationale: "after an infra crash the kubelet sends no teardown, only the new container's setup (docs/kubelet.md §3.6): the plugin's one chance to reclaim the dead one's state",
    scenarios: &[LIFECYCLE],
    judges_start: true,
    judge: |ctx, _| {
        const JUDGE: NetJudge = |ev, _| {
            let mut bad: Vec<String> = ev
                .crash_leftovers
                .iter()
                .map(|l| format!("left by the crashed pod: {l}"))
                .collect();
            if let Some(c2) = ev.pods.iter().find(|p| p.label.starts_with("C2"))
                && let (true, Err(e)) = (c2.address_in_pod(), &c2.answers)
            {
                bad.push(format!("the replacement pod does not answer: {e}"));
            }
            if !bad.is_empty() {
                bad.insert(
                    0,
                    format!("{} leftover(s) per crash", ev.crash_leftovers.len()),
                );
            }
            judged(
                bad,
                "the replacement works and nothing of the crashed pod is left".into(),
            )
        };
        on_network(
            ctx,
            "after an infra crash (no teardown) the new pod works and the dead one's leftovers are reclaimed",
            JUDGE,
        )
    },
};

pub const STATUS_FOR_LIVE_POD: CheckDef = CheckDef {
    id: "network/status-for-live-pod",
    level: Level::Must,
    title: "status succeeds for a live, set-up pod (docs/plugin-manager.md §2.5: should under 1.1-1.3, must under 1.4+)",
    rationale: "kubelet 1.4+ treat a status error as a dead infra container and churn new ones every ~1.2 s (docs/kubelet.md §3.4); 1.1-1.3 log it",
    scenarios: &[LIFECYCLE],
    judges_start: true,
    judge: |ctx, _| {
        const JUDGE: NetJudge = |ev, profile| {
            let bad: Vec<String> = live(ev)
                .filter_map(|p| {
                    p.status_error
                        .as_ref()
                        .map(|e| format!("pod {}: {e}", p.label))
                })
                .collect();
            match judged(bad, "status succeeded for every live pod".into()) {
                NetJudgement::Fail(e)
                    if profile.status_error == StatusErrorPolicy::KeepRuntimeIp =>
                {
                    NetJudgement::Warn(e)
                }
                j => j,
            }
        };
        on_network(
            ctx,
            "status succeeds for a live, set-up pod (docs/plugin-manager.md §2.5: should under 1.1-1.3, must under 1.4+)",
            JUDGE,
        )
    },
};

/// What a network judge concluded (the level turns `Fail` into fail or warn).
enum NetJudgement {
    Pass(String),
    Fail(Vec<String>),
    /// A `must` check that is only a warning under this profile.
    Warn(Vec<String>),
    Skip(String),
}

fn judged(bad: Vec<String>, ok: String) -> NetJudgement {
    if bad.is_empty() {
        NetJudgement::Pass(ok)
    } else {
        NetJudgement::Fail(bad)
    }
}

/// The network checks, in report order (the catalogue lists them last).
pub const CHECKS: &[CheckDef] = &[
    ADDRESS_IN_POD,
    UNIQUE_ADDRESS,
    POD_ANSWERS,
    TEARDOWN_LEAVES_NOTHING,
    CRASH_RECOVERY,
    STATUS_FOR_LIVE_POD,
];

/// The ids of the network checks.
pub fn check_ids() -> Vec<&'static str> {
    CHECKS.iter().map(|c| c.id).collect()
}

/// Run a network judge on the lifecycle's evidence in `ctx` (no evidence when the lifecycle
/// did not run) and state its conclusion as every check's: findings about the lifecycle (no
/// call to blame), what was expected being the check's title.
fn on_network(ctx: &Ctx, title: &'static str, judge: NetJudge) -> Judgement {
    let Some(ev) = ctx.network else {
        return Judgement::NoEvidence(format!("scenario {LIFECYCLE} was not run"));
    };
    if let Some(err) = &ev.error {
        return Judgement::NoEvidence(format!(
            "not judged: execnet could not run the network lifecycle: {err}"
        ));
    }
    let finding = |problem: String| Finding {
        scenario: LIFECYCLE.into(),
        seed: 0,
        pod: None,
        problem,
        expected: title.to_string(),
        call: None,
        count: 1,
        cause: None,
        reproduce: None,
        grouped_by_call: false,
        churn_bound: None,
    };
    let pods = ev.pods.len();
    match judge(ev, ctx.profile) {
        NetJudgement::Pass(summary) => Judgement::Judged(Judged {
            judged: pods,
            summary,
            findings: Vec::new(),
            warn_only: None,
        }),
        NetJudgement::Skip(why) => Judgement::NoEvidence(why),
        NetJudgement::Fail(bad) => Judgement::Judged(Judged {
            judged: pods,
            summary: format!("{} finding(s)", bad.len()),
            findings: bad.into_iter().map(finding).collect(),
            warn_only: None,
        }),
        NetJudgement::Warn(bad) => Judgement::Judged(Judged {
            judged: pods,
            summary: format!("{} finding(s)", bad.len()),
            findings: bad.into_iter().map(finding).collect(),
            warn_only: Some(format!(
                "kubelet {} logs a status error and keeps the runtime's IP (docs/plugin-manager.md §2.5)",
                ctx.profile.name
            )),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_whole_tokens_only() {
        assert!(mentions(
            "ovs flow br0 ip,nw_dst=10.99.0.2,actions=output:1",
            "10.99.0.2"
        ));
        assert!(!mentions(
            "ovs flow br0 ip,nw_dst=10.99.0.23,actions=output:1",
            "10.99.0.2"
        ));
        assert!(mentions("link veth1234567", "veth1234567"));
        assert!(!mentions("link veth12345678", "veth1234567"));
    }

    #[test]
    fn the_six_checks() {
        assert_eq!(check_ids().len(), 6);
        assert!(check_ids().iter().all(|id| id.starts_with("network/")));
    }
}
