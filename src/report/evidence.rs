//! How a finding reads, in one place for every format: one line (`[scenario] `argv` (purpose):
//! problem; expected …`), and a block with the output's head and tail and the reproduce lines.

use crate::certify::evidence::{CallEvidence, Cause, Finding};
use crate::kubelet::CallPurpose;

/// Output lines longer than this are cut in the text renderings (JSON keeps them whole).
const LINE_MAX: usize = 200;

/// `reference setup default web 3f2a9c12ab34…` — the executable's file name and the arguments,
/// container IDs shortened (the reproduce lines carry them whole).
pub fn short_argv(call: &CallEvidence) -> String {
    let mut parts = Vec::new();
    if let Some(exe) = call.argv.first() {
        parts.push(exe.rsplit('/').next().unwrap_or(exe).to_string());
    }
    for a in call.argv.iter().skip(1) {
        if a.len() == 64 && a.bytes().all(|b| b.is_ascii_hexdigit()) {
            parts.push(format!("{}…", &a[..12]));
        } else if a.len() > 40 {
            let mut end = 24;
            while !a.is_char_boundary(end) {
                end -= 1;
            }
            parts.push(format!("{}…({} chars)", &a[..end], a.len()));
        } else {
            parts.push(a.clone());
        }
    }
    parts.join(" ")
}

/// Why the kubelet made the call, for people.
pub fn purpose(call: &CallEvidence) -> String {
    let p = match call.purpose.kind {
        CallPurpose::Init => "init at kubelet start",
        CallPurpose::Setup => "setup of a new infra container",
        CallPurpose::Delete => "teardown at pod deletion",
        CallPurpose::Housekeeping => "teardown by the housekeeping pass",
        CallPurpose::AllExited => "teardown after every app container exited",
        CallPurpose::SpecChange => "teardown for a pod spec change",
        CallPurpose::Sync => "status of a periodic sync",
        CallPurpose::PlegEvent => "status from the PLEG relist after a container event",
        CallPurpose::PlegReinspect => "status from the PLEG re-inspection",
        CallPurpose::FirstRelist => "status from the first relist after a kubelet restart",
        CallPurpose::RelistBeforeSetup => {
            "status from a relist that ran before the pod worker's setup of the container"
        }
        // The argv shows whether the release swapped name and namespace (1.1–1.3); saying so
        // here would mislead in a 1.4/1.5 report.
        CallPurpose::PostSetup => "status right after setup",
        CallPurpose::IdempotenceProbe => "repeated teardown (execnet's idempotence probe)",
    };
    if call.purpose.host_network {
        format!("{p}, host-network pod")
    } else {
        p.to_string()
    }
}

/// One line: `[scenario] `argv` (purpose): problem; expected E (×N)`.
pub fn line(f: &Finding) -> String {
    let mut s = format!("[{}] ", f.scenario);
    match &f.call {
        Some(c) => s.push_str(&format!("`{}` ({}): ", short_argv(c), purpose(c))),
        None => {
            if let Some(pod) = &f.pod {
                s.push_str(&format!("pod {pod}: "));
            }
        }
    }
    s.push_str(&f.problem);
    s.push_str("; expected ");
    s.push_str(&f.expected);
    if f.count > 1 {
        s.push_str(&format!(" (×{})", f.count));
    }
    s
}

/// Up to `max` finding lines, with a count of the rest.
pub fn lines(findings: &[Finding], max: usize) -> Vec<String> {
    let mut out: Vec<String> = findings.iter().take(max).map(line).collect();
    if findings.len() > max {
        out.push(format!("… and {} more", findings.len() - max));
    }
    out
}

/// The output of a call as quoted lines: the head, and when long, the lines left out and the
/// tail (where an exception is). `max_head`/`max_tail` bound the lines shown.
pub fn output_lines(call: &CallEvidence, max_head: usize, max_tail: usize) -> Vec<String> {
    let mut out = Vec::new();
    if call.output_bytes == 0 {
        out.push("output: (none)".to_string());
        return out;
    }
    out.push(format!(
        "output ({} bytes{}):",
        call.output_bytes,
        if call.truncated {
            ", truncated by execnet"
        } else {
            ""
        }
    ));
    let head: Vec<&str> = call.output_head.lines().collect();
    let quote = |l: &str| format!("  | {}", cut(l));
    match &call.output_tail {
        None => {
            // Short output: show it whole unless it has more than both bounds together.
            let max = max_head + max_tail;
            if head.len() <= max {
                out.extend(head.iter().map(|l| quote(l)));
            } else {
                out.extend(head[..max_head].iter().map(|l| quote(l)));
                out.push(format!("  ⋮ ({} lines)", head.len() - max_head - max_tail));
                out.extend(head[head.len() - max_tail..].iter().map(|l| quote(l)));
            }
        }
        Some(tail) => {
            let tail: Vec<&str> = tail.lines().collect();
            let h = max_head.min(head.len());
            let t = max_tail.min(tail.len());
            out.extend(head[..h].iter().map(|l| quote(l)));
            let omitted = head.len() - h + call.output_lines_omitted + tail.len() - t;
            out.push(format!("  ⋮ ({omitted} lines)"));
            out.extend(tail[tail.len() - t..].iter().map(|l| quote(l)));
        }
    }
    out
}

fn cut(line: &str) -> String {
    if line.chars().count() <= LINE_MAX {
        line.to_string()
    } else {
        let s: String = line.chars().take(LINE_MAX).collect();
        format!("{s}…")
    }
}

/// What came back, one line, with the leak flags.
pub fn result(call: &CallEvidence) -> String {
    let mut s = call.result_text();
    if call.leaked {
        s.push_str("; output pipe still held after exit");
    }
    if call.group_survived {
        s.push_str("; processes left running");
    }
    s
}

/// The detailed block of a finding (used for each cause's example): the call, what came
/// back, the output's head and tail, what was expected, and the reproduce lines.
pub fn block(f: &Finding) -> Vec<String> {
    let mut out = Vec::new();
    match &f.call {
        Some(c) => {
            out.push(format!(
                "[{}] `{}` ({})",
                f.scenario,
                short_argv(c),
                purpose(c)
            ));
            out.push(format!("got: {}", result(c)));
            if !c.result_text().contains(&f.problem) {
                out.push(format!("problem: {}", f.problem));
            }
            out.extend(output_lines(c, 3, 6));
        }
        None => {
            let pod = f
                .pod
                .as_deref()
                .map(|p| format!("pod {p}: "))
                .unwrap_or_default();
            out.push(format!("[{}] {pod}{}", f.scenario, f.problem));
        }
    }
    out.push(format!("expected: {}", f.expected));
    if let Some(r) = &f.reproduce {
        if let Some(call) = &r.call_line {
            out.push(format!("reproduce: {call}"));
            out.push(format!("           {}", r.replay_line));
        } else {
            out.push(format!("reproduce: {}", r.replay_line));
        }
    }
    out
}

/// `status exit 0, the kubelet's parser said: …` — a cause in one line.
/// "N cause(s), M check(s) affected": the headline of the causes, in every format.
pub fn causes_headline(report: &crate::certify::Report) -> String {
    let affected: std::collections::BTreeSet<&str> = report
        .causes
        .iter()
        .flat_map(|c| c.checks.iter().copied())
        .collect();
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    format!(
        "{} cause{}, {} check{} affected",
        report.causes.len(),
        plural(report.causes.len()),
        affected.len(),
        plural(affected.len())
    )
}

pub fn cause_title(cause: &Cause) -> String {
    match &cause.example.call {
        Some(c) if !cause.key.starts_with("check:") => format!("`{}` → {}", c.action, result(c)),
        _ => format!("{}: {}", cause.checks.join(", "), cause.example.problem),
    }
}

/// For an intermittent cause (not every call of its action showed it): `intermittent: 12 of
/// 61 status calls (about 1 in 5)`, and the line that repeats the call until it reproduces.
pub fn rate_lines(cause: &Cause) -> Vec<String> {
    let Some(r) = &cause.rate else {
        return Vec::new();
    };
    if r.calls >= r.of {
        return Vec::new();
    }
    let mut lines = vec![format!(
        "intermittent: {} of {} `{}` calls with the same arguments showed it, the others were fine (about 1 in {:.0}); {} tries of the call see it with 95 % chance",
        r.calls,
        r.of,
        r.action,
        r.of as f64 / r.calls as f64,
        r.tries_for_95.unwrap_or(1)
    )];
    if let Some(line) = &r.reproduce_until {
        lines.push(format!("until it reproduces: {line}"));
    }
    lines
}

/// `passed with seeds 0, 2; failed with seeds 1`.
pub fn repeats(r: &crate::certify::Repeats) -> String {
    let seeds = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
    let mut parts = Vec::new();
    if !r.passed.is_empty() {
        parts.push(format!("passed with seed(s) {}", seeds(&r.passed)));
    }
    if !r.failed.is_empty() {
        parts.push(format!("failed with seed(s) {}", seeds(&r.failed)));
    }
    if !r.skipped.is_empty() {
        parts.push(format!("not judged with seed(s) {}", seeds(&r.skipped)));
    }
    parts.join("; ")
}
