//! `fds/*`: the descriptors the kubelet gives a plugin (stdin /dev/null, one output pipe, no
//! other fd).

use super::{CheckDef, Ctx, Judgement, exited_nonzero, judged, sc};
use crate::certify::Level;
use crate::certify::evidence::Finding;
use crate::kubelet::Transcript;
use crate::plugin::Outcome;

pub const STDIO_ONLY: CheckDef = CheckDef {
    id: "fds/stdio-only",
    level: Level::Must,
    title: "works with stdin at /dev/null and only fds 0–2",
    rationale: "The kubelet's exec gives the plugin /dev/null as stdin, one pipe as stdout and stderr, and no other descriptor.",
    scenarios: &[sc::BASIC],
    judges_start: false,
    judge: stdio_only,
};

fn stdio_only(ctx: &Ctx, ts: &[&Transcript]) -> Judgement {
    // A call that never started (the executable deleted, not executable…) ran with no
    // descriptors at all: other checks name that; it says nothing about fds 0–2.
    let calls: Vec<_> = ctx
        .calls(ts)
        .into_iter()
        .filter(|c| !matches!(c.call.outcome(), Outcome::SpawnFailed { .. }))
        .collect();
    let findings = exited_nonzero(&calls)
        .iter()
        .map(|c| {
            Finding::call_result(
                c,
                "exit 0 with stdin at /dev/null and only fds 0, 1, 2 open (the kubelet passes nothing else; do not rely on inherited descriptors)",
            )
        })
        .collect();
    judged(
        calls.len(),
        format!(
            "{} calls with stdin /dev/null and only fds 0–2 exited 0",
            calls.len()
        ),
        findings,
    )
}
