//! `timeout/*`: bounded and quick calls (the kubelet had no timeout at all).

use std::collections::BTreeMap;
use std::time::Duration;

use super::{CheckDef, Ctx, Judgement, judged, sc};
use crate::certify::Level;
use crate::certify::evidence::{CallRef, Finding};
use crate::kubelet::Transcript;
use crate::plugin::{Action, Outcome};

/// Budgets for the p99 check, per action.
pub fn p99_budget(action: Action) -> Duration {
    match action {
        Action::Status => Duration::from_secs(1),
        _ => Duration::from_secs(5),
    }
}

pub const WITHIN_LIMIT: CheckDef = CheckDef {
    id: "timeout/within-limit",
    level: Level::Must,
    title: "every call finishes within the timeout",
    rationale: "The kubelet had no timeout: a hung plugin hangs the pod worker forever.",
    scenarios: sc::COMMON,
    judges_start: false,
    judge: within_limit,
};

fn within_limit(ctx: &Ctx, ts: &[&Transcript]) -> Judgement {
    let calls = ctx.calls(ts);
    let findings = calls
        .iter()
        .filter(|c| matches!(c.call.outcome(), Outcome::TimedOut { .. }))
        .map(|c| {
            Finding::call_result(
                c,
                "the call to finish within the timeout (the kubelet had none and would hang)",
            )
        })
        .collect();
    let limit = ctx
        .timeout
        .map(crate::plugin::invoke::format_duration)
        .unwrap_or_else(|| "no limit".into());
    judged(
        calls.len(),
        format!("all {} calls finished within {limit}", calls.len()),
        findings,
    )
}

pub const P99: CheckDef = CheckDef {
    id: "timeout/p99",
    level: Level::Should,
    title: "p99 latency per action within budget",
    rationale: "Status runs for every pod on every sync; slow calls delay the kubelet's sync loop (budgets: status 1 s, others 5 s).",
    scenarios: sc::COMMON,
    judges_start: false,
    judge: p99_check,
};

fn p99(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    let idx = ((v.len() as f64) * 0.99).ceil() as usize;
    v[idx.saturating_sub(1).min(v.len() - 1)]
}

/// The most plugin calls in flight at once for which a call's latency is the plugin's: one per
/// CPU. A call that ran while more of execnet's own calls were in flight (scenarios side by side,
/// parallel pods) waited for a CPU because of execnet, so its time says nothing about the
/// plugin's latency.
pub fn quiet_bound() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Whether `c` started with at most `bound` plugin calls in flight, itself included (an
/// unsupervised call, crowd 0, is taken as it is). Counted at the start, not over the call's
/// life: a long call overlaps more calls, and judging by the whole life would leave exactly the
/// slow tail out.
fn quiet(c: &CallRef, bound: usize) -> bool {
    c.call.raw.crowd <= bound
}

fn p99_check(ctx: &Ctx, ts: &[&Transcript]) -> Judgement {
    let bound = quiet_bound();
    let mut by_action: BTreeMap<Action, (usize, Vec<CallRef>)> = BTreeMap::new();
    let calls = ctx.calls(ts);
    for c in &calls {
        if !matches!(c.call.outcome(), Outcome::TimedOut { .. }) {
            let slot = by_action.entry(c.call.action).or_default();
            slot.0 += 1;
            if quiet(c, bound) {
                slot.1.push(*c);
            }
        }
    }
    let mut report = Vec::new();
    let mut findings = Vec::new();
    let mut n = 0;
    for (action, (all, v)) in by_action {
        if v.is_empty() {
            report.push(format!(
                "{action}: none of {all} calls started with at most {bound} calls in flight"
            ));
            continue;
        }
        n += v.len();
        let p = p99(v.iter().map(|c| c.call.duration()).collect());
        let budget = p99_budget(action);
        let line = format!(
            "{action}: p99 {:.1} ms over {} of {all} calls (budget {} ms)",
            p.as_secs_f64() * 1000.0,
            v.len(),
            budget.as_millis()
        );
        if p > budget {
            // The slowest call stands for the tail; the finding is about the percentile, so it
            // forms a cause of its own.
            let slowest = v
                .iter()
                .max_by_key(|c| c.call.duration())
                .expect("an action has calls");
            findings.push(
                Finding::call(
                    slowest,
                    format!("over budget: {line}"),
                    format!("p99 within {} ms", budget.as_millis()),
                )
                .own_cause(),
            );
        }
        report.push(line);
    }
    let load = match ctx.load {
        Some((start, end)) => format!("; load average {start:.2} at start, {end:.2} at end"),
        None => String::new(),
    };
    let summary = format!(
        "{}; judged on the calls started with at most {bound} plugin calls in flight ({bound} CPUs){load}",
        report.join("; ")
    );
    if n == 0 {
        return Judgement::NoEvidence(summary);
    }
    judged(n, summary, findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p99_picks_the_high_tail() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(p99(v), Duration::from_millis(99));
        assert_eq!(
            p99(vec![Duration::from_millis(5)]),
            Duration::from_millis(5)
        );
    }
}
