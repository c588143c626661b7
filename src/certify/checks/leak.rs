//! `leak/*`: nothing a call starts outlives it (docs/supervision.md §4: leaked-handle detection).

use super::{CheckDef, Ctx, Judgement, judged, sc};
use crate::certify::Level;
use crate::certify::evidence::Finding;
use crate::kubelet::Transcript;
use crate::plugin::Outcome;

pub const OUTPUT_PIPE: CheckDef = CheckDef {
    id: "leak/output-pipe",
    level: Level::Must,
    title: "no descendant holds the output pipe after exit",
    rationale: "The kubelet's CombinedOutput waits for EOF: a daemon inheriting stdout/stderr hangs it.",
    scenarios: sc::COMMON,
    judges_start: false,
    judge: output_pipe,
};

fn output_pipe(ctx: &Ctx, ts: &[&Transcript]) -> Judgement {
    let calls = ctx.calls(ts);
    let findings = calls
        .iter()
        .filter(|c| c.call.raw.leaked)
        .map(|c| {
            Finding::call(
                c,
                "exited, but a descendant still held the output pipe after the leak window",
                "every process holding stdout/stderr to be gone (the kubelet waits for EOF and would hang)",
            )
        })
        .collect();
    judged(
        calls.len(),
        format!("no call of {} leaked its output pipe", calls.len()),
        findings,
    )
}

pub const PROCESS_GROUP: CheckDef = CheckDef {
    id: "leak/process-group",
    level: Level::Must,
    title: "no process of the call survives it",
    rationale: "Processes left behind by a plugin call accumulate on the node with every sync.",
    scenarios: sc::COMMON,
    judges_start: false,
    judge: process_group,
};

fn process_group(ctx: &Ctx, ts: &[&Transcript]) -> Judgement {
    let calls = ctx.calls(ts);
    let findings = calls
        .iter()
        .filter(|c| {
            !c.call.raw.leftovers.is_empty()
                || (c.call.raw.group_survived
                    && !matches!(c.call.outcome(), Outcome::TimedOut { .. }))
        })
        .map(|c| {
            let left = &c.call.raw.leftovers;
            if left.is_empty() {
                Finding::call(
                    c,
                    "processes of the call's process group outlived it",
                    "the plugin to leave nothing running",
                )
            } else {
                // Found by process tree (execnet is a child subreaper), also outside the group.
                let names: Vec<String> = left.iter().map(|l| format!("`{}`", l.cmdline)).collect();
                Finding::call(
                    c,
                    format!("left running: {}", names.join(", ")),
                    "the plugin to leave nothing running",
                )
            }
        })
        .collect();
    judged(
        calls.len(),
        format!("no call of {} left processes behind", calls.len()),
        findings,
    )
}
