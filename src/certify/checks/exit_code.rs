//! `exit-code/*`: the exit status is all the kubelet reads of setup and teardown.

use super::{CheckDef, Ctx, Judgement, exited_nonzero, judged, sc};
use crate::certify::Level;
use crate::certify::evidence::Finding;
use crate::kubelet::{CallPurpose, Transcript};
use crate::plugin::Outcome;

pub const SUCCESS: CheckDef = CheckDef {
    id: "exit-code/success",
    level: Level::Must,
    title: "lifecycle calls exit 0",
    rationale: "Only the exit status tells the kubelet that setup, teardown or status worked.",
    scenarios: sc::COMMON,
    judges_start: false,
    judge: success,
};

fn success(ctx: &Ctx, ts: &[&Transcript]) -> Judgement {
    let calls: Vec<_> = ctx
        .calls(ts)
        .into_iter()
        .filter(|c| c.purpose != CallPurpose::IdempotenceProbe)
        .collect();
    let findings = exited_nonzero(&calls)
        .iter()
        .map(|c| Finding::call_result(c, "exit 0"))
        .collect();
    judged(
        calls.len(),
        format!("{} lifecycle calls exited 0", calls.len()),
        findings,
    )
}

pub const SIGNAL: CheckDef = CheckDef {
    id: "exit-code/signal",
    level: Level::Must,
    title: "no call dies from a signal",
    rationale: "Go reports a plugin killed by a signal as `signal: …`, a failed call.",
    scenarios: sc::COMMON,
    judges_start: false,
    judge: signal,
};

fn signal(ctx: &Ctx, ts: &[&Transcript]) -> Judgement {
    let calls = ctx.calls(ts);
    let findings = calls
        .iter()
        .filter(|c| matches!(c.call.outcome(), Outcome::Signaled { .. }))
        .map(|c| {
            Finding::call_result(
                c,
                "a normal exit (the plugin was killed by a signal it was not sent)",
            )
        })
        .collect();
    judged(
        calls.len(),
        format!("no call of {} died from a signal", calls.len()),
        findings,
    )
}
