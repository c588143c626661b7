//! `crash-restart/*`: an infra container that dies on its own is replaced and set up with a new
//! ID, and never torn down (SPEC 3.6).

use std::collections::{BTreeMap, BTreeSet};

use super::{CheckDef, Ctx, Judgement, ips_by_container, judged, sc};
use crate::certify::Level;
use crate::certify::evidence::Finding;
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
    rationale: "No teardown follows a crash or a docker restart, so a plugin that frees addresses only in teardown leaks one per crash; judged over at least 16 cycles (a fresh address on every cycle is a leak).",
    scenarios: &[sc::CRASH, sc::DOCKER_RESTART],
    judges_start: false,
    judge: reclaim,
};

fn reclaim(_ctx: &Ctx, ts: &[&Transcript]) -> Judgement {
    let mut findings = Vec::new();
    let mut judged_pods = Vec::new();
    let mut containers = 0;
    let mut best = (0, 0);
    for t in ts {
        let by_id = ips_by_container(t);
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
            findings.push(Finding::about(
                t,
                Some(&pod),
                format!(
                    "each of its {} infra containers got a fresh address ({} … {})",
                    ips.len(),
                    ips.first().map(|s| s.as_str()).unwrap_or(""),
                    ips.last().map(|s| s.as_str()).unwrap_or("")
                ),
                "the crashed container's address to be reclaimed — the kubelet never calls teardown for a crashed infra container, so a plugin that only frees addresses in teardown leaks one per crash",
            ));
        }
        judged_pods.push(format!(
            "pod {pod}: {crashes} crash cycles used {} distinct address(es)",
            distinct.len()
        ));
    }
    if judged_pods.is_empty() {
        return Judgement::NoEvidence(format!(
            "{} crash cycles, {} of the pod's infra containers with a pod IP from status ({RECLAIM_CYCLES} of each needed)",
            best.0, best.1
        ));
    }
    judged(containers, judged_pods.join("; "), findings)
}
