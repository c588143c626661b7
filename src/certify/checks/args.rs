//! `args/*`: what the kubelet passes as argv — names at their length limits, and the 1.1–1.3
//! post-setup status with name and namespace swapped.

use super::{CheckDef, Ctx, Judgement, exited_nonzero, judged, sc};
use crate::certify::Level;
use crate::certify::evidence::Finding;
use crate::kubelet::{CallPurpose, Transcript};
use crate::plugin::StatusResult;

pub const LONG_NAMES: CheckDef = CheckDef {
    id: "args/long-names",
    level: Level::Must,
    title: "copes with names at the kubelet's length limits",
    rationale: "Namespaces are up to 63 chars, pod names up to 253 chars with dots, container ids 64 hex chars; all arrive as argv.",
    scenarios: &[sc::LONG_NAMES],
    judges_start: false,
    judge: long_names,
};

fn long_names(ctx: &Ctx, ts: &[&Transcript]) -> Judgement {
    let calls = ctx.calls(ts);
    let findings = exited_nonzero(&calls)
        .iter()
        .map(|c| {
            Finding::call_result(
                c,
                "exit 0 for a 63-char namespace and a 253-char dotted pod name",
            )
        })
        .collect();
    judged(
        calls.len(),
        format!(
            "{} calls with names at the kubelet's length limits exited 0",
            calls.len()
        ),
        findings,
    )
}

pub const SWAPPED_STATUS: CheckDef = CheckDef {
    id: "args/swapped-status",
    level: Level::Should,
    title: "answers the kubelet 1.1–1.3 status call with name and namespace swapped",
    rationale: "Kubelet 1.1–1.3 called `status <name> <namespace> <id>` once right after setup; a plugin keyed by container id copes.",
    scenarios: &[sc::BASIC],
    judges_start: false,
    judge: swapped_status,
};

fn swapped_status(ctx: &Ctx, ts: &[&Transcript]) -> Judgement {
    if !ctx.profile.post_setup_status_swapped {
        return Judgement::NotApplicable(format!(
            "kubelet {} does not call status with name and namespace swapped",
            ctx.profile.name
        ));
    }
    let calls: Vec<_> = ctx
        .calls(ts)
        .into_iter()
        .filter(|c| c.purpose == CallPurpose::PostSetup)
        .collect();
    let findings = calls
        .iter()
        .filter(|c| !c.call.succeeded() || matches!(c.call.status, Some(StatusResult::Error { .. })))
        .map(|c| {
            Finding::call_result(
                c,
                "exit 0 and parseable output: kubelet 1.1–1.3 call `status <name> <namespace> <id>` once after setup; key status by container id",
            )
        })
        .collect();
    judged(
        calls.len(),
        format!("{} swapped status calls were answered", calls.len()),
        findings,
    )
}
