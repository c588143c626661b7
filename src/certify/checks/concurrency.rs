//! `concurrency/*`: pod workers run in parallel with no plugin lock (docs/kubelet.md §3.8).

use super::{CheckDef, Ctx, Judgement, duplicates_at_same_time, judged, sc};
use crate::certify::Level;
use crate::certify::evidence::Finding;
use std::collections::{BTreeMap, BTreeSet};

use crate::kubelet::{CallPurpose, Transcript};
use crate::plugin::StatusResult;

pub const PARALLEL_SETUP: CheckDef = CheckDef {
    id: "concurrency/parallel-setup",
    level: Level::Must,
    title: "parallel setups all succeed with distinct addresses",
    rationale: "Before v1.6 the kubelet ran one worker per pod with no plugin lock: setups run concurrently. A race shows through the kubelet's fallbacks too: a status with no IP (or an error) right after a successful setup of the same id while other parallel pods got addresses is a lost update, as is an address shared by live pods.",
    scenarios: &[sc::PARALLEL],
    judges_start: false,
    judge: parallel_setup,
};

fn parallel_setup(ctx: &Ctx, ts: &[&Transcript]) -> Judgement {
    let setups: Vec<_> = ctx
        .calls(ts)
        .into_iter()
        .filter(|c| c.purpose == CallPurpose::Setup)
        .collect();
    let mut findings: Vec<Finding> = setups
        .iter()
        .filter(|c| !c.call.succeeded())
        .map(|c| Finding::call_result(c, "exit 0 while other pods' setups run concurrently"))
        .collect();
    for t in ts {
        findings.extend(duplicates_at_same_time(t).1);
        findings.extend(lost_after_setup(ctx, t));
    }
    judged(
        setups.len(),
        format!(
            "{} concurrent setups succeeded with distinct addresses",
            setups.len()
        ),
        findings,
    )
}

/// The first status of each container whose setup succeeded: when the plugin gave some of
/// them an IP and others none (or an error), the others' setups were lost — what an IPAM that
/// reads its state, picks an address and writes the state back without a lock does to
/// concurrent setups. The kubelet then falls back to the runtime's IP (docs/plugin-manager.md §2.5), which is no
/// address of the plugin's: counting it as one hides the race.
fn lost_after_setup(ctx: &Ctx, t: &Transcript) -> Vec<Finding> {
    let calls = ctx.calls(&[t]);
    let mut set_up: BTreeSet<&str> = BTreeSet::new();
    let mut first: BTreeMap<&str, (bool, usize)> = BTreeMap::new();
    for (i, c) in calls.iter().enumerate() {
        let Some(id) = c.id else { continue };
        if c.purpose == CallPurpose::Setup && c.call.succeeded() {
            set_up.insert(id);
        } else if c.purpose.is_status() && set_up.contains(id) && !first.contains_key(id) {
            let got_ip = c.call.succeeded()
                && matches!(
                    c.call.status,
                    Some(StatusResult::Status { ip: Some(_), .. })
                );
            first.insert(id, (got_ip, i));
        }
    }
    let with_ip = first.values().filter(|(ip, _)| *ip).count();
    if with_ip == 0 || with_ip == first.len() {
        // All or none: the plugin's way, not a race.
        return Vec::new();
    }
    first
        .values()
        .filter(|(ip, _)| !ip)
        .map(|&(_, i)| {
            let c = &calls[i];
            let problem = format!(
                "{} — right after setup of the same id succeeded, while {with_ip} of the {} parallel pods got an address from the plugin",
                crate::certify::evidence::CallEvidence::of(c).result_text(),
                first.len()
            );
            Finding::call(
                c,
                problem,
                "the address setup just handed out: a status without it right after a successful setup means the setup's record was lost (concurrent setups overwrote each other's state: an IPAM needs a lock across read-modify-write)",
            )
            .own_cause()
        })
        .collect()
}
