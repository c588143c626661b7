//! `crash-restart/*`: an infra container that dies on its own is replaced and set up with a new
//! ID, and never torn down (docs/kubelet.md §3.6).

use std::collections::{BTreeMap, BTreeSet};

use super::{CheckDef, Ctx, Judged, Judgement, judged, plugin_ips_by_container, sc};
use crate::certify::Level;
use crate::certify::evidence::Finding;
use crate::certify::pool::{POOL_WRAP, Pool};
use crate::kubelet::{CallPurpose, Event, PodRef, Transcript};

/// Crash cycles needed to judge reclaiming (a fresh address on each of them is a leak).
pub const RECLAIM_CYCLES: usize = 16;

/// Per pod: its infra containers in order and the crash count.
fn crash_cycles(t: &Transcript) -> BTreeMap<PodRef, (Vec<String>, usize)> {
    let mut m: BTreeMap<PodRef, (Vec<String>, usize)> = BTreeMap::new();
    for e in &t.entries {
        match &e.event {
            Event::InfraCreated { pod, id, .. } => {
                m.entry(pod.clone()).or_default().0.push(id.clone())
            }
            Event::InfraCrashed { pod, .. } => m.entry(pod.clone()).or_default().1 += 1,
            _ => {}
        }
    }
    m
}

pub const SETUP_NEW_ID: CheckDef = CheckDef {
    id: "crash-restart/setup-new-id",
    level: Level::Must,
    title: "setup with the new id succeeds after each infra crash",
    rationale: "A crashed infra container is replaced and set up with a new id; teardown is never called for the dead one.",
    scenarios: &[sc::CRASH],
    judges_start: false,
    judge: setup_new_id,
};

fn setup_new_id(ctx: &Ctx, ts: &[&Transcript]) -> Judgement {
    let mut findings = Vec::new();
    let mut cycles = 0;
    for t in ts {
        let calls = ctx.calls(&[t]);
        for (pod, (ids, crashes)) in crash_cycles(t) {
            if crashes == 0 {
                continue;
            }
            cycles += crashes;
            for id in ids.iter().skip(1) {
                let setup = calls
                    .iter()
                    .find(|c| c.purpose == CallPurpose::Setup && c.id == Some(id.as_str()));
                match setup {
                    Some(c) if c.call.succeeded() => {}
                    Some(c) => findings.push(Finding::call_result(
                        c,
                        "exit 0: after an infra crash the kubelet calls setup with the NEW id and never tears the old one down",
                    )),
                    None => findings.push(Finding::about(
                        t,
                        Some(&pod),
                        format!("no setup recorded for infra {id}"),
                        "a setup for every new infra container",
                    )),
                }
            }
        }
    }
    if cycles == 0 && findings.is_empty() {
        return Judgement::NoEvidence(
            "no infra container crashed: none was running when the crashes were due (see the lifecycle checks)".into(),
        );
    }
    judged(
        cycles,
        format!("setup with the new id succeeded after each of {cycles} crashes"),
        findings,
    )
}

pub const RECLAIM: CheckDef = CheckDef {
    id: "crash-restart/reclaim",
    level: Level::Must,
    title: "a crashed container's address is reclaimed",
    rationale: "No teardown follows a crash or a docker restart, so a plugin that frees addresses only in teardown leaks one per crash. It fails only on evidence that pods break: the pool declared with --pool runs out while one pod lives (the pool-wrap scenario). A fresh address on every crash alone is round robin or a leak: a warning that says how to decide.",
    scenarios: &[sc::CRASH, sc::DOCKER_RESTART],
    judges_start: false,
    judge: reclaim,
};

fn reclaim(ctx: &Ctx, ts: &[&Transcript]) -> Judgement {
    let mut findings = Vec::new();
    let mut judged_pods = Vec::new();
    let mut containers = 0;
    let mut best = (0, 0);
    let mut fresh_every_time = Vec::new();
    let mut any_plugin_ip = false;
    for t in ts {
        let by_id = plugin_ips_by_container(t);
        any_plugin_ip |= !by_id.is_empty();
        let cycles = crash_cycles(t);
        let picked = if t.scenario == sc::DOCKER_RESTART {
            // A docker restart crashes every pod at once: its cycles are judged together (a
            // fresh address for every pod on every restart is the leak).
            let mut ids = Vec::new();
            let mut crashes = 0;
            for (_, (i, c)) in cycles {
                ids.extend(i);
                crashes += c;
            }
            (crashes > 0).then(|| {
                (
                    PodRef {
                        namespace: "*".into(),
                        name: "every pod".into(),
                    },
                    (ids, crashes),
                )
            })
        } else {
            cycles.into_iter().max_by_key(|(_, (_, crashes))| *crashes)
        };
        let Some((pod, (ids, crashes))) = picked else {
            continue;
        };
        let ips: Vec<&String> = ids
            .iter()
            .filter_map(|id| by_id.get(id).and_then(|(_, s)| s.iter().next()))
            .collect();
        best = best.max((crashes, ips.len()));
        if crashes < RECLAIM_CYCLES || ips.len() < RECLAIM_CYCLES {
            continue;
        }
        let distinct: BTreeSet<&String> = ips.iter().copied().collect();
        containers += ips.len();
        if distinct.len() == ips.len() {
            fresh_every_time.push((
                t,
                pod.clone(),
                ips.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            ));
        }
        let label = if t.scenario == sc::DOCKER_RESTART {
            "every pod".to_string()
        } else {
            format!("pod {pod}")
        };
        judged_pods.push(format!(
            "{label}: {crashes} crash cycles used {} distinct address(es)",
            distinct.len()
        ));
    }
    let wrap = ctx.pool.and_then(|pool| {
        ctx.transcripts
            .get(POOL_WRAP)
            .map(|t| (pool, wrap_evidence(ctx, t, pool)))
    });
    if let Some((pool, w)) = &wrap {
        containers += w.containers;
        judged_pods.push(w.summary.clone());
        findings.extend(w.finding.clone());
        if w.decided {
            // The pool was wrapped: that decides round robin against a leak.
            fresh_every_time.clear();
        } else if w.finding.is_none() {
            judged_pods.push(format!("--pool {pool} did not decide it"));
        }
    }
    if judged_pods.is_empty() {
        if !any_plugin_ip && best.0 >= RECLAIM_CYCLES {
            return Judgement::NotApplicable(format!(
                "{} crash cycles, and no status gave the kubelet an address of the plugin's (it kept the runtime's: status printed nothing or could not be used): no address of the plugin's to follow",
                best.0
            ));
        }
        return Judgement::NoEvidence(format!(
            "{} crash cycles, {} of the pod's infra containers with a pod IP from status ({RECLAIM_CYCLES} of each needed)",
            best.0, best.1
        ));
    }
    let warn = !fresh_every_time.is_empty() && findings.is_empty();
    for (t, pod, ips) in fresh_every_time {
        // The range runs upwards (lowest … highest address), whatever order they came in.
        let mut sorted: Vec<(Option<std::net::IpAddr>, &String)> =
            ips.iter().map(|s| (s.parse().ok(), s)).collect();
        sorted.sort();
        let low = sorted.first().map(|(_, s)| s.as_str()).unwrap_or("");
        let high = sorted.last().map(|(_, s)| s.as_str()).unwrap_or("");
        let every_pod = t.scenario == sc::DOCKER_RESTART;
        let whose = if every_pod {
            format!(
                "the {} infra containers of its pods, over the docker restarts,",
                ips.len()
            )
        } else {
            format!("each of its {} infra containers", ips.len())
        };
        findings.push(Finding::about(
            t,
            (!every_pod).then_some(&pod),
            format!(
                "{whose} got a fresh address ({low} … {high}): round robin (as CNI host-local hands addresses out) or a leak of one address per crash — {} crashes cannot tell them apart",
                ips.len()
            ),
            "evidence either way: re-run with --pool CIDR (the plugin's pool; a small one decides fast): execnet then crashes one pod more times than the pool holds addresses — a leak runs out, round robin wraps",
        ).own_cause());
    }
    Judgement::Judged(Judged {
        judged: containers,
        summary: judged_pods.join("; "),
        findings,
        warn_only: warn.then(|| {
            "a fresh address per crash is no evidence that pods break; without --pool it stays a warning".to_string()
        }),
    })
}

/// What the `pool-wrap` transcript shows.
struct Wrap {
    containers: usize,
    summary: String,
    /// The plugin ran out (must) or handed out addresses outside the pool (declared wrong).
    finding: Option<Finding>,
    /// Whether it decided round robin against a leak.
    decided: bool,
}

fn wrap_evidence(ctx: &Ctx, t: &Transcript, pool: Pool) -> Wrap {
    let by_id = plugin_ips_by_container(t);
    let calls = ctx.calls(&[t]);
    let mut seen: BTreeSet<&String> = BTreeSet::new();
    let mut crashes = 0;
    for c in &calls {
        if c.purpose != CallPurpose::Setup {
            continue;
        }
        if !c.call.succeeded() {
            let finding = Finding::call(
                c,
                format!(
                    "setup failed after {crashes} crash(es) with one pod live: its dead infra containers had taken {} distinct addresses of the {} in --pool {pool} (the other {} were taken before), none handed out again",
                    seen.len(),
                    pool.hosts(),
                    pool.hosts().saturating_sub(seen.len() as u32),
                ),
                "the crashed containers' addresses reclaimed: the kubelet never tears a crashed infra container down, so a plugin that frees addresses only in teardown runs its pool dry one crash at a time",
            )
            .own_cause();
            return Wrap {
                containers: crashes,
                summary: format!("pool-wrap: the pool ran dry after {crashes} crashes"),
                finding: Some(finding),
                decided: true,
            };
        }
        crashes += 1;
        if let Some(ip) =
            c.id.and_then(|id| by_id.get(id))
                .and_then(|(_, s)| s.iter().next())
        {
            if !seen.insert(ip) {
                return Wrap {
                    containers: crashes,
                    summary: format!(
                        "pool-wrap: after {} crashes the plugin handed {ip} out again (--pool {pool}, {} addresses): it reclaims",
                        crashes - 1,
                        pool.hosts()
                    ),
                    finding: None,
                    decided: true,
                };
            }
            if !pool.contains(ip) {
                return Wrap {
                    containers: crashes,
                    summary: format!("pool-wrap: {ip} is outside --pool {pool}"),
                    finding: Some(Finding::about(
                        t,
                        None,
                        format!("the plugin handed out {ip}, outside the declared --pool {pool}"),
                        "--pool to be the plugin's pool, so that crashing past its size decides round robin against a leak",
                    ).own_cause()),
                    decided: false,
                };
            }
        }
    }
    Wrap {
        containers: crashes,
        summary: format!(
            "pool-wrap: {crashes} setups, {} distinct addresses, neither a reuse nor a failure",
            seen.len()
        ),
        finding: None,
        decided: false,
    }
}
