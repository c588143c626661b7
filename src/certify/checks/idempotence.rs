//! `idempotence/*`: calls the kubelet can repeat.

use super::{CheckDef, Ctx, Judgement, judged, sc};
use crate::certify::Level;
use crate::certify::evidence::Finding;
use crate::kubelet::{CallPurpose, Transcript};

pub const REPEATED_TEARDOWN: CheckDef = CheckDef {
    id: "idempotence/repeated-teardown",
    level: Level::Should,
    title: "a repeated teardown exits 0",
    rationale: "v1.2+ tear a deleted pod down again on the housekeeping pass when the runtime cache is stale (observed on v1.2 and v1.5: a second teardown for the same id after it exited), and late, for infra containers the plugin may have long forgotten (the v1.4/v1.5 status churn); a kubelet restart during deletion repeats it too (execnet's probe).",
    scenarios: &[
        sc::RESTART,
        sc::SLOW_DELETE,
        sc::STATUS_FAILURE_DELETE,
        sc::APP_EXIT,
        sc::RESTART_DELETED,
    ],
    judges_start: false,
    judge: repeated_teardown,
};

fn repeated_teardown(ctx: &Ctx, ts: &[&Transcript]) -> Judgement {
    let all = ctx.calls(ts);
    // execnet's probe, and the repeated teardowns this release really sends.
    let calls: Vec<_> = all
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            c.purpose == CallPurpose::IdempotenceProbe || super::is_repeated_teardown(&all, *i)
        })
        .map(|(_, c)| *c)
        .collect();
    if calls.is_empty() {
        return Judgement::NoEvidence("no repeated teardown in the scenarios".into());
    }
    let kubelet = calls
        .iter()
        .filter(|c| c.purpose != CallPurpose::IdempotenceProbe)
        .count();
    let findings = calls
        .iter()
        .filter(|c| !c.call.succeeded())
        .map(|c| {
            let why = if c.purpose == CallPurpose::IdempotenceProbe {
                "exit 0 for a second teardown of the same container (a kubelet restart during deletion repeats it)"
            } else {
                "exit 0 for a repeated or late teardown: this kubelet's housekeeping pass tears down pods that should not exist, again when its runtime cache is stale"
            };
            Finding::call_result(c, why)
        })
        .collect();
    judged(
        calls.len(),
        format!(
            "{} repeated or late teardowns exited 0 ({kubelet} sent by the kubelet itself, {} execnet probes)",
            calls.len(),
            calls.len() - kubelet
        ),
        findings,
    )
}
