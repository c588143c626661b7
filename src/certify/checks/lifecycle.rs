//! `lifecycle/*`: the basic pod lifecycle and the pod IPs it yields.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    Ctx, Judgement, duplicates_at_same_time, ips_by_container, judged, sc, unusable_status,
};
use crate::certify::Level;
use crate::certify::catalogue::CheckDef;
use crate::certify::evidence::Finding;
use crate::kubelet::{CallPurpose, PodRef, Transcript};

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
        for c in ctx.calls(&[t]) {
            let Some(pod) = c.pod else { continue };
            let slot = match c.purpose {
                CallPurpose::Setup => 0,
                CallPurpose::Status => 1,
                CallPurpose::Teardown => 2,
                _ => continue,
            };
            let counts = per_pod.entry(pod).or_default();
            if c.call.succeeded() && !unusable_status(&c.call.status) {
                counts[slot] += 1;
            } else {
                failed_pods.insert(pod);
                findings.push(Finding::call_result(&c, "success (and for status an IP)"));
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
    rationale: "Status is polled every sync; a changing IP makes the pod's address flap.",
    scenarios: &[sc::BASIC, sc::CRASH],
    judges_start: false,
    judge: stable_ip,
};

fn stable_ip(_ctx: &Ctx, ts: &[&Transcript]) -> Judgement {
    let mut findings = Vec::new();
    let mut n = 0;
    for t in ts {
        for (id, (pod, ips)) in ips_by_container(t) {
            n += 1;
            if ips.len() > 1 {
                findings.push(Finding::about(
                    t,
                    Some(&pod),
                    format!(
                        "infra {id}: status reported {} different IPs ({})",
                        ips.len(),
                        ips.into_iter().collect::<Vec<_>>().join(", ")
                    ),
                    "one address per infra container",
                ));
            }
        }
    }
    if n == 0 {
        return Judgement::NoEvidence(
            "no status gave an infra container a pod IP, so no address could be followed".into(),
        );
    }
    judged(
        n,
        format!("each of {n} infra containers kept one IP"),
        findings,
    )
}

pub const DISTINCT_IPS: CheckDef = CheckDef {
    id: "lifecycle/distinct-ips",
    level: Level::Must,
    title: "live pods have distinct IPs",
    rationale: "Two live pods with one address break both.",
    scenarios: &[sc::BASIC],
    judges_start: false,
    judge: distinct_ips,
};

fn distinct_ips(_ctx: &Ctx, ts: &[&Transcript]) -> Judgement {
    let mut findings = Vec::new();
    let mut instants = 0;
    for t in ts {
        let (n, f) = duplicates_at_same_time(t);
        instants += n;
        findings.extend(f);
    }
    if instants == 0 {
        return Judgement::NoEvidence(
            "no status gave a pod IP at any sync, so no addresses could be compared".into(),
        );
    }
    judged(
        instants,
        format!("live pods had distinct IPs at each of {instants} syncs"),
        findings,
    )
}
