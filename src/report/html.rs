//! The HTML report (`certify --format html`): one self-contained file, no network — the verdict,
//! the root causes, the checks, and for each replayed scenario a timeline
//! ([`timeline`]) of its transcript whose marks open their call's evidence on click (the
//! page's script reads it from a JSON block in the page). Styles and script are embedded
//! from `html/report.css` and `html/report.js`.

mod timeline;

use std::fmt::Write;

use serde::Serialize;

use super::evidence;
use crate::certify::embedded;
use crate::certify::evidence::{CallEvidence, CallRef, Finding, Target};
use crate::certify::{Outcome, Report};
use crate::kubelet::Transcript;
use crate::plugin::{CallRecord, StatusResult};

const CSS: &str = include_str!("html/report.css");
const JS: &str = include_str!("html/report.js");

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
            // A plugin's control bytes (NUL, ESC…) are shown, never put raw in the page.
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {
                out.push_str(&super::escape_controls(c.encode_utf8(&mut [0; 4]), &[]))
            }
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
    /// Virtual time, `10s`.
    time: String,
    /// Why the kubelet made the call, in words.
    purpose: String,
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
    call_line: Option<String>,
    replay_line: String,
}

#[derive(Debug, Serialize)]
struct PageData {
    calls: Vec<CallData>,
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

fn call_flags(ev: &CallEvidence) -> Vec<String> {
    let mut flags = Vec::new();
    if ev.truncated {
        flags.push("output truncated by execnet".into());
    }
    if ev.leaked {
        flags.push("leaked: a descendant held the output pipe after exit".into());
    }
    if ev.group_survived {
        flags.push("processes of the call's group outlived it".into());
    }
    flags
}

/// A call blamed by a root cause: the finding's call, as recorded.
struct Blamed<'a> {
    scenario: &'a str,
    seed: u64,
    call: &'a CallEvidence,
    cause: &'a str,
}

fn blamed(report: &Report) -> Vec<Blamed<'_>> {
    report
        .checks
        .iter()
        .flat_map(|c| &c.findings)
        .filter_map(|f| {
            Some(Blamed {
                scenario: &f.scenario,
                seed: f.seed,
                call: f.call.as_ref()?,
                cause: f.cause.as_deref()?,
            })
        })
        .collect()
}

/// The causes that blame `call` of transcript `t`: same scenario, seed, argv and result.
fn causes_of(blamed: &[Blamed], t: &Transcript, call: &CallRecord) -> Vec<String> {
    let error = call.outcome().error();
    let mut out: Vec<String> = Vec::new();
    for b in blamed {
        if b.scenario == t.scenario
            && b.seed == t.seed
            && b.call.argv == call.argv()
            && b.call.error == error
            && b.call.status == call.status
            && !out.iter().any(|c| c == b.cause)
        {
            out.push(b.cause.to_string());
        }
    }
    out
}

fn outcome_badge(outcome: Outcome) -> String {
    format!(
        "<span class=\"badge {0}\">{1}</span>",
        outcome.as_str(),
        outcome.as_str().to_uppercase()
    )
}

fn pre(lines: &[String]) -> String {
    format!("<pre>{}</pre>", esc(&lines.join("\n")))
}

/// Findings listed per check in the page (the JSON report has them all).
const FINDINGS_PER_CHECK: usize = 10;

/// Render `report` and the transcripts it carries; `target` says how to re-run a call or a
/// scenario (the reproduce lines).
pub fn render(report: &Report, target: &Target) -> String {
    let blamed = blamed(report);
    let mut calls: Vec<CallData> = Vec::new();
    let mut scenarios_html = String::new();
    for t in &report.transcripts {
        let host_network: Vec<String> = embedded::scenario(&t.scenario)
            .and_then(Result::ok)
            .map(|s| {
                s.pods
                    .iter()
                    .filter(|p| p.host_network)
                    .map(|p| p.pod_ref().to_string())
                    .collect()
            })
            .unwrap_or_default();
        let (svg, placed) = timeline::render(t, calls.len(), &|call| causes_of(&blamed, t, call));
        let replay = target
            .reproduce(&Finding::about(t, None, "", ""))
            .replay_line;
        // Not ok: a call that failed, or one a finding blames (a status that exits 0 with
        // output the kubelet's parser refuses is still a call at fault).
        let not_ok = placed
            .iter()
            .filter(|p| {
                timeline::outcome_class(p.call) != "ok" || !causes_of(&blamed, t, p.call).is_empty()
            })
            .count();
        let seed = if report.seeds.len() > 1 {
            format!(" · seed {}", t.seed)
        } else {
            String::new()
        };
        let _ = write!(
            scenarios_html,
            "<section class=\"scenario\" id=\"scenario-{0}{5}\" data-scenario=\"{0}\"><h3>{0}<span class=\"muted\">{1} · {2} calls, {3} not ok</span></h3>\
             <div class=\"scroll\">{svg}</div><details><summary class=\"muted\">re-run this scenario</summary><pre>{4}</pre></details></section>",
            esc(&t.scenario),
            esc(&seed),
            placed.len(),
            not_ok,
            esc(&replay),
            if report.seeds.len() > 1 {
                format!("-{}", t.seed)
            } else {
                String::new()
            }
        );
        for p in placed {
            let host = p.pod.is_some_and(|x| host_network.contains(&x.to_string()));
            let ev = CallEvidence::from_record(p.call, p.purpose, host);
            let cref = CallRef {
                transcript: t,
                purpose: p.purpose,
                pod: p.pod,
                id: p.id,
                call: p.call,
                host_network: host,
            };
            let repro = target.reproduce(&Finding::call(&cref, "", ""));
            calls.push(CallData {
                scenario: t.scenario.clone(),
                seed: t.seed,
                step: p.step,
                time: timeline::format_time(p.time_ms),
                purpose: evidence::purpose(&ev),
                pod: p.pod.map(|x| x.to_string()),
                id: p.id.map(str::to_string),
                argv: p.call.argv().to_vec(),
                result: evidence::result(&ev),
                duration_ms: ev.duration_ms,
                status: status_text(&p.call.status),
                pod_ip: p.pod_ip.clone(),
                flags: call_flags(&ev),
                output: if ev.output_bytes == 0 {
                    String::new()
                } else {
                    evidence::output_lines(&ev, 12, 24)[1..].join("\n")
                },
                output_bytes: ev.output_bytes,
                causes: causes_of(&blamed, t, p.call),
                call_line: repro.call_line,
                replay_line: repro.replay_line,
            });
        }
    }

    let mut out = String::with_capacity(64 * 1024);
    let verdict = report.verdict.as_str();
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
    let flaky = match report.count(Outcome::Flaky) {
        0 => String::new(),
        n => format!("<span>{n} flaky</span>"),
    };
    let _ = write!(
        out,
        "<header class=\"head\"><span class=\"verdict {verdict}\" id=\"verdict\">{}</span>\
         <div><h1>plugin {} · kubelet {}</h1><div class=\"counts muted\"><span>{} passed</span><span>{} failed</span>{flaky}\
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
    if report.seeds.len() > 1 {
        let seeds: Vec<String> = report.seeds.iter().map(u64::to_string).collect();
        let _ = write!(
            out,
            "<p class=\"muted\">each scenario replayed {} times (seeds {})</p>",
            report.seeds.len(),
            seeds.join(", ")
        );
    }
    for note in &report.notes {
        let _ = write!(out, "<p class=\"muted\">note: {}</p>", esc(note));
    }

    // Root causes first: what to fix.
    if !report.causes.is_empty() {
        let _ = write!(
            out,
            "<h2 id=\"causes\">{}</h2>",
            esc(&super::evidence::causes_headline(report))
        );
        for cause in &report.causes {
            let checks: Vec<String> = cause
                .checks
                .iter()
                .map(|id| {
                    let outcome = report.check(id).map_or("?", |c| c.outcome.as_str());
                    format!("<a href=\"#check-{0}\">{0}</a> ({outcome})", esc(id))
                })
                .collect();
            let marked = calls
                .iter()
                .filter(|c| c.causes.contains(&cause.id))
                .count();
            let show = if marked > 0 {
                format!(
                    " · <a href=\"#timelines\" data-highlight=\"{}\">show its {marked} call{} in the timelines</a>",
                    esc(&cause.id),
                    if marked == 1 { "" } else { "s" }
                )
            } else {
                String::new()
            };
            let _ = write!(
                out,
                "<div class=\"cause{}\" id=\"cause-{}\"><h3>{} <span class=\"mono\">{}</span></h3>\
                 <div class=\"muted\">affects {}; {} finding{}{show}</div>{}{}</div>",
                if cause.fails_verdict { "" } else { " warn" },
                esc(&cause.id),
                esc(&cause.id),
                esc(&evidence::cause_title(cause)),
                checks.join(", "),
                cause.findings,
                if cause.findings == 1 { "" } else { "s" },
                {
                    let rate = evidence::rate_lines(cause);
                    if rate.is_empty() {
                        String::new()
                    } else {
                        pre(&rate)
                    }
                },
                pre(&evidence::block(&cause.example))
            );
        }
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
    // What failed, was flaky or warned, with its findings.
    let bad: Vec<_> = report
        .checks
        .iter()
        .filter(|c| matches!(c.outcome, Outcome::Fail | Outcome::Warn | Outcome::Flaky))
        .collect();
    if !bad.is_empty() {
        out.push_str("<h2 id=\"findings\">Failed and warned checks</h2>");
        for c in bad {
            let mut lines: Vec<String> = c
                .findings
                .iter()
                .take(FINDINGS_PER_CHECK)
                .map(|f| {
                    format!(
                        "{}{}",
                        f.cause
                            .as_deref()
                            .map(|c| format!("{c} "))
                            .unwrap_or_default(),
                        evidence::line(f)
                    )
                })
                .collect();
            if c.findings.len() > FINDINGS_PER_CHECK {
                lines.push(format!(
                    "… and {} more (--format json lists them all)",
                    c.findings.len() - FINDINGS_PER_CHECK
                ));
            }
            if let Some(why) = &c.warn_only {
                lines.push(format!("({why})"));
            }
            if let Some(r) = &c.repeats {
                lines.push(evidence::repeats(r));
            }
            let _ = write!(
                out,
                "<div class=\"finding {}\" id=\"check-{}\"><h3>{} <span class=\"mono\">{}</span> <span class=\"muted\">{} · {} · judged {}{}</span></h3>{}</div>",
                c.outcome.as_str(),
                esc(c.id),
                outcome_badge(c.outcome),
                esc(c.id),
                c.level.as_str(),
                esc(c.title),
                c.judged,
                // With --baseline: what changed since that report.
                report
                    .baseline
                    .as_ref()
                    .and_then(|b| b.get(c.id))
                    .map_or(String::new(), |m| format!(" · {}", m.as_str())),
                pre(&lines)
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
        let mut summary = c.summary.clone();
        if c.leaves_inconclusive() {
            summary.push_str(" — a must check without evidence: the verdict is inconclusive");
        }
        let _ = write!(
            out,
            "<tr class=\"check {}\" data-check=\"{}\"><td>{}</td><td class=\"mono\">{}</td><td>{}</td><td>{}<div class=\"muted\">judged {}{}{}</div></td></tr>",
            c.outcome.as_str(),
            esc(c.id),
            outcome_badge(c.outcome),
            esc(c.id),
            c.level.as_str(),
            esc(c.title),
            c.judged,
            if summary.is_empty() { "" } else { " · " },
            esc(&summary)
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

/// What the marks and markers mean.
const LEGEND: &str = "<div class=\"legend\">\
<span><svg width=\"14\" height=\"14\"><path class=\"mark outcome-ok\" d=\"M7 1L13 12L1 12z\"/></svg> setup</span>\
<span><svg width=\"14\" height=\"14\"><circle class=\"mark outcome-ok\" cx=\"7\" cy=\"7\" r=\"5\"/></svg> status</span>\
<span><svg width=\"14\" height=\"14\"><path class=\"mark outcome-ok\" d=\"M7 13L13 2L1 2z\"/></svg> teardown</span>\
<span><svg width=\"14\" height=\"14\"><path class=\"mark outcome-ok\" d=\"M2 2h10v10h-10z\"/></svg> init</span>\
<span><svg width=\"14\" height=\"14\"><rect x=\"0\" y=\"2\" width=\"14\" height=\"10\" fill=\"#90caf9\"/></svg> infra container</span>\
<span><svg width=\"14\" height=\"14\"><path d=\"M2 2l10 10m0 -10l-10 10\" stroke=\"#c62828\" stroke-width=\"2.5\"/></svg> crash</span>\
<span><svg width=\"14\" height=\"14\"><line x1=\"7\" y1=\"0\" x2=\"7\" y2=\"14\" stroke=\"#1565c0\" stroke-dasharray=\"3 2\" stroke-width=\"2\"/></svg> kubelet (re)start</span>\
<span>colour: <b style=\"color:var(--ok)\">ok</b> · <b style=\"color:var(--failed)\">exit ≠ 0</b> · <b style=\"color:var(--status-error)\">status unusable</b> · \
<b style=\"color:var(--timeout)\">timed out</b> · <b style=\"color:var(--signal)\">signal</b> · <b style=\"color:var(--spawn-error)\">could not start</b></span>\
<span>click a mark for its evidence</span></div>";

/// The HTML report of a run over several releases: the page of release `detail` (its causes,
/// checks and timelines; `target` re-runs its calls) opened by the matrix of every release
/// and the summary line.
pub fn render_matrix(
    matrix: &crate::certify::matrix::Matrix,
    detail: usize,
    target: &Target,
) -> String {
    let page = render(&matrix.reports[detail], target);
    let releases = matrix.releases();
    let mut section = String::new();
    let verdict = matrix.verdict().as_str();
    let _ = write!(
        section,
        "<section id=\"matrix\"><p><span class=\"verdict {verdict}\">{}</span> {}</p>\
         <table class=\"checks\"><thead><tr><th>check</th><th>level</th>",
        verdict.to_uppercase(),
        esc(&matrix.summary())
    );
    for r in &releases {
        let _ = write!(section, "<th>kubelet {}</th>", esc(r));
    }
    section.push_str("</tr></thead><tbody>");
    for row in matrix.rows() {
        let _ = write!(
            section,
            "<tr><td class=\"mono\">{}</td><td>{}</td>",
            esc(row.id),
            row.level.as_str()
        );
        for o in &row.outcomes {
            match o {
                Some(c) => {
                    let _ = write!(section, "<td>{}</td>", outcome_badge(c.outcome));
                }
                None => section.push_str("<td class=\"muted\">not run</td>"),
            }
        }
        section.push_str("</tr>");
    }
    let _ = write!(
        section,
        "</tbody></table><p class=\"muted\">below: kubelet {} in detail (`--kubelet {}` for one release's own page)</p></section>",
        esc(releases[detail]),
        esc(releases[detail])
    );
    match page.find("<main>") {
        Some(i) => {
            let at = i + "<main>".len();
            format!("{}{section}{}", &page[..at], &page[at..])
        }
        None => page,
    }
}
