//! `concurrency/*`: pod workers run in parallel with no plugin lock (SPEC 3.8).

use super::{CheckDef, Ctx, Judgement, duplicates_at_same_time, judged, sc};
use crate::certify::Level;
use crate::certify::evidence::Finding;
use crate::kubelet::{CallPurpose, Transcript};

pub const PARALLEL_SETUP: CheckDef = CheckDef {
    id: "concurrency/parallel-setup",
    level: Level::Must,
    title: "parallel setups all succeed with distinct addresses",
    rationale: "Before v1.6 the kubelet ran one worker per pod with no plugin lock: setups run concurrently.",
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
