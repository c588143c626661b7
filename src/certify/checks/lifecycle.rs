//! `lifecycle/*`: the basic pod lifecycle and the pod IPs it yields.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    CheckDef, Ctx, Judgement, duplicates_at_same_time, ips_by_container, judged, sc,
    unusable_status,
};
use crate::certify::Level;
use crate::certify::evidence::Finding;
use crate::kubelet::{CallPurpose, Event, PodRef, Transcript};

pub const SETUP_STATUS_TEARDOWN: CheckDef = CheckDef {
    id: "lifecycle/setup-status-teardown",
    level: Level::Must,
    title: "setup → status → teardown works for every pod",
    rationale: "The kubelet's basic pod lifecycle.",
    scenarios: &[sc::BASIC],
    judges_start: false,
    judge: setup_status_teardown,
};

fn setup_status_teardown(ctx: &Ctx, ts: &[&Transcript]) -> Judgement {
    let mut findings = Vec::new();
    let mut pods = 0;
    for t in ts {
        // Per pod: successful setups, statuses with an IP, teardowns.
        let mut per_pod: BTreeMap<&PodRef, [usize; 3]> = BTreeMap::new();
        let mut failed_pods: BTreeSet<&PodRef> = BTreeSet::new();
        let calls = ctx.calls(&[t]);
        for (i, c) in calls.iter().enumerate() {
            let Some(pod) = c.pod else { continue };
            if super::is_repeated_teardown(&calls, i) {
                // judged by idempotence/repeated-teardown
                continue;
            }
            let slot = match c.purpose {
                CallPurpose::Setup => 0,
                p if p.is_status() => 1,
                p if p.is_teardown() => 2,
                _ => continue,
            };
            let counts = per_pod.entry(pod).or_default();
            if c.call.succeeded() && !unusable_status(&c.call.status) {
                counts[slot] += 1;
            } else {
                failed_pods.insert(pod);
                findings.push(Finding::call_result(c, "success (and for status an IP)"));
            }
        }
        pods += per_pod.len();
        for (pod, [s, st, td]) in per_pod {
            // A pod whose calls failed is explained by those calls.
            if (s == 0 || st == 0 || td == 0) && !failed_pods.contains(pod) {
                findings.push(Finding::about(
                    t,
                    Some(pod),
                    format!(
                        "{s} successful setup(s), {st} status(es) with an IP, {td} teardown(s)"
                    ),
                    "at least one of each",
                ));
            }
        }
    }
    judged(
        pods,
        format!("{pods} pods went through setup → status → teardown"),
        findings,
    )
}

pub const STABLE_IP: CheckDef = CheckDef {
    id: "lifecycle/stable-ip",
    level: Level::Must,
    title: "one IP per infra container",
    rationale: "Every status the kubelet makes for an infra container sets the pod's address (v1.1 twice per sync; v1.2+ after setup and on each relist with a container event); a changing IP makes the address flap.",
    scenarios: &[sc::BASIC, sc::CRASH, sc::STATUS_TIMING, sc::SAME_NAME],
    judges_start: false,
    judge: stable_ip,
};

fn stable_ip(ctx: &Ctx, ts: &[&Transcript]) -> Judgement {
    let mut findings = Vec::new();
    let mut n = 0;
    let mut observations = 0;
    for t in ts {
        // How many statuses of this release gave each container an IP: one alone shows nothing.
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for e in &t.entries {
            if let Event::PodIp { id, source, .. } = &e.event
                && super::published(*source)
            {
                *seen.entry(id.as_str()).or_default() += 1;
            }
        }
        for (id, (pod, ips)) in ips_by_container(t) {
            let count = seen.get(id.as_str()).copied().unwrap_or(0);
            if count < 2 {
                continue;
            }
            n += 1;
            observations += count;
            if ips.len() > 1 {
                let runtime = runtime_ips(t, &id);
                let listed: Vec<String> = ips
                    .into_iter()
                    .map(|ip| {
                        if runtime.contains(&ip) {
                            format!("{ip} (the runtime's: status gave no IP)")
                        } else {
                            ip
                        }
                    })
                    .collect();
                findings.push(Finding::about(
                    t,
                    Some(&pod),
                    format!(
                        "infra {id}: the kubelet published {} different IPs ({})",
                        listed.len(),
                        listed.join(", ")
                    ),
                    "one address per infra container",
                ));
            }
        }
    }
    if n == 0 {
        return Judgement::NoEvidence(format!(
            "kubelet {} asked no infra container's status twice with an IP in the answer, so no address could be followed",
            ctx.profile.name
        ));
    }
    judged(
        n,
        format!(
            "each of {n} infra containers kept one IP over the {observations} statuses kubelet {} asked{}",
            ctx.profile.name,
            runtime_note(ts)
        ),
        findings,
    )
}

pub const DISTINCT_IPS: CheckDef = CheckDef {
    id: "lifecycle/distinct-ips",
    level: Level::Must,
    title: "live pods have distinct IPs",
    rationale: "Two live pods with one address break both: judged at each sync and over the pods' lives (a pod given the address of another pod still running, e.g. a pod of the same name in another namespace).",
    scenarios: &[sc::BASIC, sc::SAME_NAME],
    judges_start: false,
    judge: distinct_ips,
};

/// The runtime's IPs the kubelet published for container `id` (status printed nothing or failed).
fn runtime_ips(t: &Transcript, id: &str) -> BTreeSet<String> {
    t.entries
        .iter()
        .filter_map(|e| match &e.event {
            Event::PodIp {
                id: i, ip, source, ..
            } if i == id && *source != crate::kubelet::IpSource::Plugin => Some(ip.clone()),
            _ => None,
        })
        .collect()
}

/// "; N of the IPs were the runtime's (…)" when the kubelet published runtime addresses.
pub(super) fn runtime_note(ts: &[&Transcript]) -> String {
    match ts
        .iter()
        .map(|t| super::runtime_published(t))
        .sum::<usize>()
    {
        0 => String::new(),
        n => format!(
            " ({n} of the published IPs were the runtime's: status printed nothing or failed, and the kubelet kept the runtime's IP, docs/plugin-manager.md §2.5)"
        ),
    }
}

fn distinct_ips(_ctx: &Ctx, ts: &[&Transcript]) -> Judgement {
    let mut findings = Vec::new();
    let mut instants = 0;
    for t in ts {
        let (n, f) = duplicates_at_same_time(t);
        instants += n;
        findings.extend(f);
        let (_, f) = super::live_duplicate_findings(t);
        findings.extend(f);
    }
    if instants == 0 {
        return Judgement::NoEvidence(
            "no status gave a pod IP at any sync, so no addresses could be compared".into(),
        );
    }
    judged(
        instants,
        format!(
            "live pods had distinct IPs at each of {instants} syncs{}",
            runtime_note(ts)
        ),
        findings,
    )
}
