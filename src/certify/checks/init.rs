//! `init/*`: selection and `init`, at start-up and at every kubelet restart.

use super::{CheckDef, Ctx, Judgement, judged, sc, start_error};
use crate::certify::Level;
use crate::certify::evidence::Finding;
use crate::kubelet::{CallPurpose, Transcript};

pub const SELECTION: CheckDef = CheckDef {
    id: "init/selection",
    level: Level::Must,
    title: "selection and init succeed",
    rationale: "The kubelet refused to start when selecting the plugin failed: executable not executable (access X_OK), no #! line, init exiting non-zero.",
    scenarios: &[sc::BASIC],
    judges_start: true,
    judge: selection,
};

fn selection(ctx: &Ctx, ts: &[&Transcript]) -> Judgement {
    let mut findings = Vec::new();
    for t in ts {
        let calls = ctx.calls(&[t]);
        let init = calls.iter().find(|c| c.purpose == CallPurpose::Init);
        match (start_error(t), init) {
            (Some(err), Some(c)) => findings.push(Finding::call(
                c,
                format!(
                    "{}; the kubelet refused to start: {err}",
                    crate::certify::evidence::CallEvidence::of(c).result_text()
                ),
                "init to exit 0",
            )),
            (Some(err), None) => findings.push(Finding::about(
                t,
                None,
                format!("the kubelet refused to start, init was never run: {err}"),
                "a plugin the kubelet can select: a directory NAME/ holding an executable NAME with a #! line",
            )),
            (None, _) => {}
        }
    }
    judged(
        ts.len(),
        "selected and initialised (init exited 0)",
        findings,
    )
}

pub const RESTART: CheckDef = CheckDef {
    id: "init/restart",
    level: Level::Must,
    title: "init succeeds again after a kubelet restart",
    rationale: "Every kubelet restart probes, selects and calls init again while pods keep running.",
    scenarios: &[sc::RESTART],
    // A kubelet that refused to start again is this check's evidence (the failed init).
    judges_start: true,
    judge: restart,
};

fn restart(ctx: &Ctx, ts: &[&Transcript]) -> Judgement {
    let inits: Vec<_> = ctx
        .calls(ts)
        .into_iter()
        .filter(|c| c.purpose == CallPurpose::Init)
        .collect();
    // A kubelet that never started is init/selection's finding. Once an init succeeded (in this
    // scenario or another of the run: scenarios share the plugin's node state), every later
    // start that failed is this check's: an init that works once and never again.
    let started_once = ctx.transcripts.values().any(|t| {
        t.calls()
            .any(|(p, .., c)| p == CallPurpose::Init && c.succeeded())
    });
    if (inits.first().is_some_and(|c| !c.call.succeeded()) && !started_once)
        || ts
            .iter()
            .any(|t| start_error(t).is_some() && inits.is_empty())
    {
        return Judgement::NoEvidence(format!(
            "the kubelet did not start in scenario {} (see init/selection)",
            sc::RESTART
        ));
    }
    let findings = inits
        .iter()
        .filter(|c| !c.call.succeeded())
        .map(|c| Finding::call_result(c, "exit 0 (init is called again at every kubelet restart)"))
        .collect();
    judged(
        inits.len(),
        format!("{} init calls (start and restarts) exited 0", inits.len()),
        findings,
    )
}
