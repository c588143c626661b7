//! From transcripts to the verdict: judge each selected check (how many items, what was wrong),
//! turn a check that judged nothing into a skip (never a pass), combine `--repeat`
//! repetitions (a check that passed in one and failed in another is `flaky`), group findings
//! into root causes, attach the reproduce commands, and decide: `fail` iff a `must` check
//! failed or is flaky, else `inconclusive` iff a `must` check had no evidence, else `pass`.

use super::checks::CheckDef;
use super::checks::{Ctx, Judged, Judgement, start_error};
use super::evidence::{self, Cause, Finding, Target};
use super::{CheckResult, Level, Outcome, Repeats, SkipKind, Verdict};
use crate::kubelet::Transcript;
use crate::kubelet::profile::StatusErrorPolicy;

/// Judge `def` on the transcripts in `ctx`.
pub fn judge(def: &CheckDef, ctx: &Ctx) -> CheckResult {
    let judgement = match transcripts(def, ctx) {
        Ok(ts) => (def.judge)(ctx, &ts),
        Err(j) => j,
    };
    conclude(def, ctx, judgement)
}

/// Judge `def` on exactly `ts` (a `replay`'s one transcript).
pub fn judge_on(def: &CheckDef, ctx: &Ctx, ts: &[&Transcript]) -> CheckResult {
    conclude(def, ctx, (def.judge)(ctx, ts))
}

fn conclude(def: &CheckDef, ctx: &Ctx, judgement: Judgement) -> CheckResult {
    let mut result = CheckResult {
        id: def.id,
        level: def.level,
        title: def.title,
        outcome: Outcome::Skip,
        judged: 0,
        summary: String::new(),
        findings: Vec::new(),
        skip: None,
        warn_only: None,
        repeats: None,
    };
    match judgement {
        Judgement::NotApplicable(why) => {
            result.summary = why;
            result.skip = Some(SkipKind::NotApplicable);
        }
        Judgement::NoEvidence(why) => {
            result.summary = why;
            result.skip = Some(SkipKind::NoEvidence);
        }
        Judgement::Judged(Judged {
            judged,
            summary,
            findings,
            warn_only,
        }) => {
            result.judged = judged;
            if findings.is_empty() && judged == 0 {
                // Nothing judged is nothing proven: never a pass.
                result.summary = format!("judged nothing ({summary})");
                result.skip = Some(SkipKind::NoEvidence);
            } else if findings.is_empty() {
                result.outcome = Outcome::Pass;
                result.summary = summary;
            } else {
                let warn_only = warn_only.or_else(|| only_logged_status_failures(&findings, ctx));
                result.outcome = match (def.level, &warn_only) {
                    (Level::Must, None) => Outcome::Fail,
                    _ => Outcome::Warn,
                };
                if warn_only.is_some() {
                    // The level this release gave it: a WARN line never shows `must`.
                    result.level = Level::Should;
                }
                result.summary = summary;
                result.findings = evidence::collapse(findings);
                result.warn_only = warn_only;
            }
        }
    }
    result
}

/// Set when every finding is a `status` call that failed (exited non-zero or was killed by a
/// signal) under a release that only logged a failed status and kept the runtime's IP
/// (v1.1–v1.3, docs/plugin-manager.md §2.5): whatever check sees that failure, it weighs it as that kubelet did.
/// kubelet v1.3.0 pkg/kubelet/dockertools/docker_manager.go, `determineContainerIP`: a plugin
/// status error is logged (`glog.Errorf`) and the docker IP is kept; from v1.4.0 the same
/// function returns the error and the infra container is seen as unknown (docs/kubelet.md §3.4).
fn only_logged_status_failures(findings: &[Finding], ctx: &Ctx) -> Option<String> {
    if ctx.profile.status_error != StatusErrorPolicy::KeepRuntimeIp || findings.is_empty() {
        return None;
    }
    let all = findings.iter().all(|f| {
        f.call.as_ref().is_some_and(|c| {
            c.purpose.kind.is_status() && !c.timed_out && (c.error.is_some() || c.signal.is_some())
        })
    });
    all.then(|| {
        format!(
            "kubelet {} only logged a failed status and kept the runtime's IP (docs/plugin-manager.md §2.5): a should under this release, a must from 1.4 on",
            ctx.profile.name
        )
    })
}

/// The transcripts of the scenarios `def` judges, in its order; no evidence when one was not
/// replayed or (unless the check judges start-up) its kubelet refused to start.
fn transcripts<'a>(def: &CheckDef, ctx: &Ctx<'a>) -> Result<Vec<&'a Transcript>, Judgement> {
    let mut out = Vec::new();
    for s in def.scenarios() {
        if *s == super::network::LIFECYCLE {
            // Not a kubelet scenario: its evidence is `ctx.network`.
            continue;
        }
        let Some(t) = ctx.transcripts.get(*s) else {
            return Err(Judgement::NoEvidence(format!("scenario {s} was not run")));
        };
        if !def.judges_start && start_error(t).is_some() {
            return Err(Judgement::NoEvidence(format!(
                "the kubelet did not start in scenario {s} (see init/selection)"
            )));
        }
        out.push(t);
    }
    if super::catalogue::VENDOR_JUDGES.contains(&def.id) {
        // A vendor scenario that did not run (or whose kubelet refused to start) takes nothing
        // from the bundled ones' evidence: the check judges what there is.
        out.extend(
            ctx.vendor
                .iter()
                .filter_map(|s| ctx.transcripts.get(s))
                .filter(|t| def.judges_start || start_error(t).is_none()),
        );
    }
    Ok(out)
}

/// One check's results over the repetitions (`(seed, result)`, at least one) as one result.
pub fn combine(mut runs: Vec<(u64, CheckResult)>) -> CheckResult {
    if runs.len() == 1 {
        return runs.remove(0).1;
    }
    let mut repeats = Repeats::default();
    for (seed, r) in &runs {
        match r.outcome {
            Outcome::Pass => repeats.passed.push(*seed),
            Outcome::Skip => repeats.skipped.push(*seed),
            _ => repeats.failed.push(*seed),
        }
    }
    let judged = runs.iter().map(|(_, r)| r.judged).sum();
    // The representative run: the first that failed, else the first that passed, else the first.
    let pick = runs
        .iter()
        .position(|(_, r)| !matches!(r.outcome, Outcome::Pass | Outcome::Skip))
        .or_else(|| runs.iter().position(|(_, r)| r.outcome == Outcome::Pass))
        .unwrap_or(0);
    let findings = runs
        .iter()
        .flat_map(|(_, r)| r.findings.iter().cloned())
        .collect();
    let mut result = runs.swap_remove(pick).1;
    result.judged = judged;
    result.findings = findings;
    if !repeats.failed.is_empty() && !repeats.passed.is_empty() {
        result.outcome = Outcome::Flaky;
    }
    result.repeats = Some(repeats);
    result
}

/// `fail` iff a `must` check failed or is flaky; else `inconclusive` iff a `must` check had no
/// evidence or no check judged anything (a run that judged nothing proved nothing); else `pass`.
pub fn verdict(checks: &[CheckResult]) -> Verdict {
    if checks.iter().any(CheckResult::fails_verdict) {
        Verdict::Fail
    } else if checks.iter().any(CheckResult::leaves_inconclusive)
        || checks.iter().all(|c| c.outcome == Outcome::Skip)
    {
        Verdict::Inconclusive
    } else {
        Verdict::Pass
    }
}

/// Group the findings of `checks` into causes (labelling each finding) and attach to every
/// finding the commands that reproduce it.
pub fn causes(checks: &mut [CheckResult], target: &Target) -> Vec<Cause> {
    for c in checks.iter_mut() {
        for f in &mut c.findings {
            f.reproduce = Some(target.reproduce_check(c.id, f));
        }
    }
    let mut groups: Vec<_> = checks
        .iter_mut()
        .map(|c| {
            let blocking = c.level == Level::Must && c.outcome != Outcome::Warn;
            (c.id, blocking, &mut c.findings)
        })
        .collect();
    evidence::group_causes(&mut groups)
}

/// The `must` checks one replayed transcript fails (judged as certify judges the scenario: by
/// the checks that name it, or for a scenario of the vendor's by `catalogue::VENDOR_JUDGES`).
/// `replay` exits 1 on any.
pub fn failed_checks(
    t: &Transcript,
    scenario: &crate::kubelet::Scenario,
    profile: &'static crate::kubelet::Profile,
    timeout: Option<std::time::Duration>,
) -> Vec<CheckResult> {
    let transcripts = std::collections::BTreeMap::from([(t.scenario.clone(), t.clone())]);
    let scenarios = std::collections::BTreeMap::from([(scenario.name.clone(), scenario.clone())]);
    let ctx = Ctx {
        transcripts: &transcripts,
        scenarios: &scenarios,
        profile,
        timeout,
        pool: None,
        vendor: &[],
        network: None,
        load: None,
    };
    let started = start_error(t).is_none();
    super::CATALOGUE
        .iter()
        .filter(|d| d.level == Level::Must && super::catalogue::judges_scenario(d, &t.scenario))
        .filter(|d| d.judges_start || started)
        .map(|d| judge_on(d, &ctx, &[t]))
        .filter(CheckResult::fails_verdict)
        .collect()
}
