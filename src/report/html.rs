//! The HTML report (`certify --format html`): one self-contained file, no network — the verdict,
//! the root causes, the checks, and for each replayed scenario a timeline
//! ([`timeline`]) of its transcript whose marks open their call's evidence on click (the
//! page's script reads it from a JSON block in the page). Styles and script are embedded
//! from `html/report.css` and `html/report.js`.

mod timeline;

use std::fmt::Write;

use serde::Serialize;

use crate::certify::{Outcome, Report, Verdict};
use crate::kubelet::Transcript;
use crate::plugin::{CallRecord, StatusResult, sys};

const CSS: &str = include_str!("html/report.css");
const JS: &str = include_str!("html/report.js");

/// Output kept per call in the page: this much from the start and from the end.
const OUTPUT_SIDE: usize = 2048;

/// Escape text for HTML element content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// One call's evidence as the page's script shows it.
#[derive(Debug, Serialize)]
struct CallData {
    scenario: String,
    seed: u64,
    step: usize,
    time_s: u64,
    purpose: &'static str,
    pod: Option<String>,
    id: Option<String>,
    argv: Vec<String>,
    result: String,
    duration_ms: f64,
    status: Option<String>,
    pod_ip: Option<String>,
    flags: Vec<String>,
    output: String,
    output_bytes: u64,
    causes: Vec<String>,
    reproduce: String,
}

#[derive(Debug, Serialize)]
struct PageData {
    calls: Vec<CallData>,
}

/// The output as text, its middle left out when long (the end is where errors are).
fn clipped_output(call: &CallRecord) -> String {
    let text = call.output_text();
    if text.len() <= 2 * OUTPUT_SIDE + 64 {
        return text;
    }
    let mut head_end = OUTPUT_SIDE;
    while !text.is_char_boundary(head_end) {
        head_end -= 1;
    }
    let mut tail_start = text.len() - OUTPUT_SIDE;
    while !text.is_char_boundary(tail_start) {
        tail_start += 1;
    }
    format!(
        "{}\n… {} bytes left out …\n{}",
        &text[..head_end],
        tail_start - head_end,
        &text[tail_start..]
    )
}

fn status_text(status: &Option<StatusResult>) -> Option<String> {
    match status {
        None => None,
        Some(StatusResult::None) => {
            Some("none (the kubelet falls back to the runtime's IP)".into())
        }
        Some(StatusResult::Status {
            ip: Some(ip),
            kind,
            api_version,
        }) => Some(format!(
            "ip {ip} (kind {kind:?}, apiVersion {api_version:?})"
        )),
        Some(StatusResult::Status { ip: None, .. }) => Some("no ip".into()),
        Some(StatusResult::Error { message }) => Some(format!("error: {message}")),
        Some(StatusResult::NotJudged { output_bytes, kept }) => Some(format!(
            "not judged: {output_bytes} bytes of output, over execnet's cap ({kept} kept)"
        )),
    }
}

fn call_flags(call: &CallRecord) -> Vec<String> {
    let raw = &call.raw;
    let mut flags = Vec::new();
    if raw.truncated {
        flags.push(format!(
            "output truncated (kept {} of {} bytes)",
            raw.output.len(),
            raw.output_bytes
        ));
    }
    if raw.leaked {
        flags.push("leaked: a descendant held the output pipe after exit".into());
    }
    if raw.group_survived {
        flags.push("processes of the call's group outlived it".into());
    }
    if let Some(sig) = raw.outcome.signal() {
        flags.push(format!("signal {}", sys::signal_name(sig)));
    }
    flags
}

/// What the page needs to say how to re-run a scenario.
#[derive(Debug, Clone)]
pub struct Rerun<'a> {
    /// The plugin directory as given (`None`: the bundled reference plugin).
    pub plugin_dir: Option<&'a std::path::Path>,
}

fn replay_line(report: &Report, t: &Transcript, rerun: &Rerun) -> String {
    let target = match rerun.plugin_dir {
        Some(dir) => format!(
            "--plugin-dir {} --plugin {}",
            shell_quote(&dir.display().to_string()),
            shell_quote(&report.plugin)
        ),
        None => "--plugin-dir DIR --plugin reference  # the bundled plugin: sample-plugins/".into(),
    };
    format!(
        "execnet replay {} {target} --kubelet {} --seed {}",
        t.scenario, report.kubelet, t.seed
    )
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

fn outcome_badge(outcome: Outcome) -> String {
    format!(
        "<span class=\"badge {0}\">{1}</span>",
        outcome.as_str(),
        outcome.as_str().to_uppercase()
    )
}

/// Render `report` with the `transcripts` it judged.
pub fn render(report: &Report, transcripts: &[Transcript], rerun: &Rerun) -> String {
    let mut calls: Vec<CallData> = Vec::new();
    let mut scenarios_html = String::new();
    let blame = |_call: &CallRecord| -> Vec<String> { Vec::new() };
    for t in transcripts {
        let (svg, placed) = timeline::render(t, calls.len(), &blame);
        let reproduce = replay_line(report, t, rerun);
        let failed = placed
            .iter()
            .filter(|p| timeline::outcome_class(p.call) != "ok")
            .count();
        let _ = write!(
            scenarios_html,
            "<section class=\"scenario\" id=\"scenario-{0}\" data-scenario=\"{0}\"><h3>{0} <span class=\"muted\">· seed {1} · {2} calls, {3} not ok</span></h3>\
             <div class=\"scroll\">{svg}</div><details><summary class=\"muted\">re-run this scenario</summary><pre>{4}</pre></details></section>",
            esc(&t.scenario),
            t.seed,
            placed.len(),
            failed,
            esc(&reproduce)
        );
        for p in placed {
            calls.push(CallData {
                scenario: t.scenario.clone(),
                seed: t.seed,
                step: p.step,
                time_s: p.time_s,
                purpose: timeline::purpose_name(p.purpose),
                pod: p.pod.map(|x| x.to_string()),
                id: p.id.map(str::to_string),
                argv: p.call.argv().to_vec(),
                result: p
                    .call
                    .outcome()
                    .error()
                    .unwrap_or_else(|| "exit status 0".into()),
                duration_ms: p.call.duration().as_secs_f64() * 1000.0,
                status: status_text(&p.call.status),
                pod_ip: p.pod_ip.clone(),
                flags: call_flags(p.call),
                output: clipped_output(p.call),
                output_bytes: p.call.raw.output_bytes,
                causes: blame(p.call),
                reproduce: reproduce.clone(),
            });
        }
    }

    let mut out = String::with_capacity(64 * 1024);
    let verdict = match report.verdict {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\
         <title>execnet certify: {} · kubelet {} · {}</title><style>{CSS}</style></head><body><main>",
        esc(&report.plugin),
        esc(&report.kubelet),
        verdict
    );
    let _ = write!(
        out,
        "<header class=\"head\"><span class=\"verdict {verdict}\" id=\"verdict\">{}</span>\
         <div><h1>plugin {} · kubelet {}</h1><div class=\"counts muted\"><span>{} passed</span><span>{} failed</span>\
         <span>{} warnings</span><span>{} skipped</span><span>{:.1} s</span></div></div></header>",
        verdict.to_uppercase(),
        esc(&report.plugin),
        esc(&report.kubelet),
        report.count(Outcome::Pass),
        report.count(Outcome::Fail),
        report.count(Outcome::Warn),
        report.count(Outcome::Skip),
        report.duration_ms / 1000.0
    );
    for note in &report.notes {
        let _ = write!(out, "<p class=\"muted\">note: {}</p>", esc(note));
    }

    // Checks at a glance: one chip per check, by category.
    out.push_str("<h2 id=\"checks\">Checks</h2><div class=\"chips\">");
    let mut category = "";
    for c in &report.checks {
        let cat = c.id.split('/').next().unwrap_or(c.id);
        if cat != category {
            if !category.is_empty() {
                out.push_str("</div>");
            }
            let _ = write!(
                out,
                "<div class=\"category\"><span class=\"cat\">{}</span>",
                esc(cat)
            );
            category = cat;
        }
        let _ = write!(
            out,
            "<a class=\"chip {}\" href=\"#check-{}\" title=\"{} ({}, {}): {}\">{}</a>",
            c.outcome.as_str(),
            esc(c.id),
            esc(c.id),
            c.level.as_str(),
            c.outcome.as_str(),
            esc(c.title),
            esc(c.id.split_once('/').map_or(c.id, |(_, n)| n))
        );
    }
    if !category.is_empty() {
        out.push_str("</div>");
    }
    out.push_str("</div>");
    // What failed or warned, with its evidence.
    let bad: Vec<_> = report
        .checks
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Fail | Outcome::Warn))
        .collect();
    if !bad.is_empty() {
        out.push_str("<h2 id=\"findings\">Failed and warned checks</h2>");
        for c in bad {
            let _ = write!(
                out,
                "<div class=\"finding {}\" id=\"check-{}\"><h3>{} <span class=\"mono\">{}</span> <span class=\"muted\">{} · {}</span></h3>{}</div>",
                c.outcome.as_str(),
                esc(c.id),
                outcome_badge(c.outcome),
                esc(c.id),
                c.level.as_str(),
                esc(c.title),
                check_evidence(c)
            );
        }
    }
    // Timelines.
    out.push_str("<h2 id=\"timelines\">Scenarios</h2>");
    out.push_str(LEGEND);
    out.push_str(&scenarios_html);

    // Every check, for reference.
    out.push_str("<h2 id=\"all-checks\">All checks</h2><details><summary class=\"muted\">the whole catalogue as judged</summary><table class=\"checks\"><thead><tr><th>outcome</th><th>check</th><th>level</th><th>what</th></tr></thead><tbody>");
    for c in &report.checks {
        let _ = write!(
            out,
            "<tr class=\"check {}\" data-check=\"{}\"><td>{}</td><td class=\"mono\">{}</td><td>{}</td><td>{}{}</td></tr>",
            c.outcome.as_str(),
            esc(c.id),
            outcome_badge(c.outcome),
            esc(c.id),
            c.level.as_str(),
            esc(c.title),
            check_summary(c)
        );
    }
    out.push_str("</tbody></table></details>");
    out.push_str(
        "<aside id=\"details\" hidden aria-live=\"polite\"><button class=\"close\" id=\"details-close\" aria-label=\"close\">×</button><div id=\"details-body\"></div></aside>",
    );
    let data = serde_json::to_string(&PageData { calls })
        .unwrap_or_else(|_| "{\"calls\":[]}".into())
        .replace('<', "\\u003c");
    let _ = writeln!(
        out,
        "</main><script type=\"application/json\" id=\"execnet-data\">{data}</script><script>{JS}</script></body></html>"
    );
    out
}

/// The evidence of a failed or warned check.
fn check_evidence(c: &crate::certify::CheckResult) -> String {
    format!("<pre>{}</pre>", esc(&c.evidence))
}

/// One line under a check's title in the full table.
fn check_summary(c: &crate::certify::CheckResult) -> String {
    match c.evidence.lines().next() {
        Some(line) => format!("<div class=\"muted\">{}</div>", esc(line)),
        None => String::new(),
    }
}

/// What the marks and markers mean.
const LEGEND: &str = "<div class=\"legend\">\
<span><svg width=\"14\" height=\"14\"><path class=\"mark outcome-ok\" d=\"M7 1L13 12L1 12z\"/></svg> setup</span>\
<span><svg width=\"14\" height=\"14\"><circle class=\"mark outcome-ok\" cx=\"7\" cy=\"7\" r=\"5\"/></svg> status</span>\
<span><svg width=\"14\" height=\"14\"><path class=\"mark outcome-ok\" d=\"M7 13L13 2L1 2z\"/></svg> teardown</span>\
<span><svg width=\"14\" height=\"14\"><path class=\"mark outcome-ok\" d=\"M2 2h10v10h-10z\"/></svg> init</span>\
<span><svg width=\"14\" height=\"14\"><path class=\"mark outcome-ok\" d=\"M7 1L13 7L7 13L1 7z\"/></svg> swapped post-setup status</span>\
<span><svg width=\"14\" height=\"14\"><rect x=\"0\" y=\"2\" width=\"14\" height=\"10\" fill=\"#90caf9\"/></svg> infra container</span>\
<span><svg width=\"14\" height=\"14\"><path d=\"M2 2l10 10m0 -10l-10 10\" stroke=\"#c62828\" stroke-width=\"2.5\"/></svg> crash</span>\
<span><svg width=\"14\" height=\"14\"><line x1=\"7\" y1=\"0\" x2=\"7\" y2=\"14\" stroke=\"#1565c0\" stroke-dasharray=\"3 2\" stroke-width=\"2\"/></svg> kubelet (re)start</span>\
<span>colour: <b style=\"color:var(--ok)\">ok</b> · <b style=\"color:var(--failed)\">exit ≠ 0</b> · <b style=\"color:var(--status-error)\">status unusable</b> · \
<b style=\"color:var(--timeout)\">timed out</b> · <b style=\"color:var(--signal)\">signal</b> · <b style=\"color:var(--spawn-error)\">could not start</b></span>\
<span>click a mark for its evidence</span></div>";
