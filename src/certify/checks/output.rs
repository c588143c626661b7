//! `output/*`: what the plugin writes (the kubelet keeps and logs all of it).

use super::{CheckDef, Ctx, Judgement, judged, sc};
use crate::certify::Level;
use crate::certify::evidence::Finding;
use crate::kubelet::Transcript;
use crate::plugin::Action;

/// The output size above which setup/teardown/init output is a finding.
pub const OUTPUT_BUDGET: u64 = 64 * 1024;

pub const SMALL: CheckDef = CheckDef {
    id: "output/small",
    level: Level::Should,
    title: "init/setup/teardown output stays small",
    rationale: "The kubelet buffers the whole combined output in memory and logs it.",
    scenarios: sc::COMMON,
    judges_start: false,
    judge: small,
};

fn small(ctx: &Ctx, ts: &[&Transcript]) -> Judgement {
    let calls: Vec<_> = ctx
        .calls(ts)
        .into_iter()
        .filter(|c| c.call.action != Action::Status)
        .collect();
    let findings = calls
        .iter()
        .filter(|c| c.call.raw.output_bytes > OUTPUT_BUDGET)
        .map(|c| {
            Finding::call(
                c,
                format!(
                    "wrote {} bytes{}",
                    c.call.raw.output_bytes,
                    if c.call.raw.truncated {
                        " (truncated by execnet)"
                    } else {
                        ""
                    }
                ),
                format!(
                    "at most {} KiB (the kubelet keeps and logs all of it)",
                    OUTPUT_BUDGET / 1024
                ),
            )
        })
        .collect();
    judged(
        calls.len(),
        format!(
            "the output of {} init/setup/teardown calls stayed small",
            calls.len()
        ),
        findings,
    )
}

pub const SINGLE_DOCUMENT: CheckDef = CheckDef {
    id: "output/single-document",
    level: Level::Should,
    title: "status prints one document on one line",
    rationale: "Anything besides the document is at best ignored whitespace and at worst a parse error.",
    scenarios: &[sc::BASIC],
    judges_start: false,
    judge: single_document,
};

fn single_document(ctx: &Ctx, ts: &[&Transcript]) -> Judgement {
    let calls = ctx.status_calls(ts);
    let findings = calls
        .iter()
        .filter(|c| {
            let out = c.call.output_text();
            let body = out.strip_suffix('\n').unwrap_or(&out);
            !body.is_empty() && (body.contains('\n') || body.trim() != body)
        })
        .map(|c| Finding::call_result(c, "one JSON document on one line, nothing else"))
        .collect();
    judged(
        calls.len(),
        format!("{} status calls printed one document", calls.len()),
        findings,
    )
}
