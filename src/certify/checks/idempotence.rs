//! `idempotence/*`: calls the kubelet can repeat.

use super::{Ctx, Judgement, judged, sc};
use crate::certify::Level;
use crate::certify::catalogue::CheckDef;
use crate::certify::evidence::Finding;
use crate::kubelet::{CallPurpose, Transcript};

pub const REPEATED_TEARDOWN: CheckDef = CheckDef {
    id: "idempotence/repeated-teardown",
    level: Level::Should,
    title: "a repeated teardown exits 0",
    rationale: "A kubelet restart during deletion can tear the same container down twice (execnet's probe, not a kubelet guarantee).",
    scenarios: &[sc::RESTART],
    judges_start: false,
    judge: repeated_teardown,
};

fn repeated_teardown(ctx: &Ctx, ts: &[&Transcript]) -> Judgement {
    let calls: Vec<_> = ctx
        .calls(ts)
        .into_iter()
        .filter(|c| c.purpose == CallPurpose::IdempotenceProbe)
        .collect();
    if calls.is_empty() {
        return Judgement::NoEvidence("no repeated teardown in the scenario".into());
    }
    let findings = calls
        .iter()
        .filter(|c| !c.call.succeeded())
        .map(|c| {
            Finding::call_result(
                c,
                "exit 0 for a second teardown of the same container (a kubelet restart during deletion repeats it)",
            )
        })
        .collect();
    judged(
        calls.len(),
        format!("{} repeated teardowns exited 0", calls.len()),
        findings,
    )
}
