//! The text report: the root causes first (each with one example's evidence: the call, what
//! came back, the output's head and tail, what was expected, the reproduce lines), then a line
//! per check with how much it judged and its findings, then the verdict.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};

use super::evidence;
use crate::certify::{Outcome, Report, SkipKind, Verdict};

/// Finding lines shown per check (the rest are counted; `--format json` has them all).
const LINES_PER_CHECK: usize = 5;

/// The styles of the outcome words (anstyle; the caller decides whether colour is wanted, see
/// [`color_for_stdout`]).
const GREEN: Style = AnsiColor::Green.on_default();
const GREEN_BOLD: Style = AnsiColor::Green.on_default().bold();
const RED_BOLD: Style = AnsiColor::Red.on_default().bold();
const YELLOW: Style = AnsiColor::Yellow.on_default();
const YELLOW_BOLD: Style = AnsiColor::Yellow.on_default().bold();
const MAGENTA_BOLD: Style = AnsiColor::Magenta.on_default().bold();
const DIMMED: Style = Style::new().dimmed();

/// Whether the text report on standard output gets colours: anstream's choice for stdout (a
/// terminal, and neither `NO_COLOR` nor `CLICOLOR=0`; `CLICOLOR_FORCE` forces it).
pub fn color_for_stdout() -> bool {
    anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never
}

/// Render `report`; `color` adds ANSI colours (only when writing to a terminal).
pub fn render(report: &Report, color: bool) -> String {
    let paint = |style: Style, s: &str| {
        if color {
            format!("{style}{s}{style:#}")
        } else {
            s.to_string()
        }
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "execnet certify: plugin {} · kubelet {}",
        report.plugin, report.kubelet
    );
    if report.seeds.len() > 1 {
        let _ = writeln!(
            out,
            "repeat: each scenario {} times (seeds {})",
            report.seeds.len(),
            report
                .seeds
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for note in &report.notes {
        let _ = writeln!(out, "note: {note}");
    }
    for why in report.inconclusive_reasons() {
        let _ = writeln!(out, "{}: {why}", paint(YELLOW_BOLD, "inconclusive"));
    }
    let _ = writeln!(out);
    if !report.causes.is_empty() {
        let _ = writeln!(out, "{}:", super::evidence::causes_headline(report));
        for cause in &report.causes {
            let _ = writeln!(
                out,
                "{} {}",
                paint(
                    if cause.fails_verdict {
                        RED_BOLD
                    } else {
                        YELLOW
                    },
                    &cause.id
                ),
                evidence::cause_title(cause)
            );
            let checks: Vec<String> = cause
                .checks
                .iter()
                .map(|id| {
                    let outcome = report.check(id).map(|c| c.outcome.as_str()).unwrap_or("?");
                    format!("{id} ({outcome})")
                })
                .collect();
            let _ = writeln!(
                out,
                "   affects {}; {} finding{}",
                checks.join(", "),
                cause.findings,
                if cause.findings == 1 { "" } else { "s" }
            );
            let mut first = true;
            for line in evidence::block(&cause.example) {
                let lead = if first { "   e.g. " } else { "        " };
                first = false;
                let _ = writeln!(out, "{lead}{line}");
            }
        }
        let _ = writeln!(out);
    }
    for c in &report.checks {
        let tag = match c.outcome {
            Outcome::Pass => paint(GREEN, "PASS"),
            Outcome::Fail => paint(RED_BOLD, "FAIL"),
            Outcome::Warn => paint(YELLOW, "WARN"),
            Outcome::Skip => paint(DIMMED, "SKIP"),
            Outcome::Flaky => paint(MAGENTA_BOLD, "FLKY"),
        };
        let _ = writeln!(
            out,
            "{tag} {:<32} {:<6} {} (judged {})",
            c.id,
            c.level.as_str(),
            c.title,
            c.judged
        );
        match c.outcome {
            Outcome::Pass => {}
            Outcome::Skip => {
                let mut why = c.summary.clone();
                if c.leaves_inconclusive() {
                    why.push_str(" — a must check without evidence: the verdict is inconclusive");
                } else if c.skip == Some(SkipKind::NoEvidence) {
                    why.push_str(" (no evidence)");
                }
                let _ = writeln!(out, "       {why}");
            }
            _ => {
                for f in c.findings.iter().take(LINES_PER_CHECK) {
                    let cause = f.cause.as_deref().unwrap_or("");
                    let _ = writeln!(out, "       {cause} {}", evidence::line(f));
                }
                if c.findings.len() > LINES_PER_CHECK {
                    let _ = writeln!(
                        out,
                        "       … and {} more (--format json lists them all)",
                        c.findings.len() - LINES_PER_CHECK
                    );
                }
                if let Some(why) = &c.warn_only {
                    let _ = writeln!(out, "       ({why})");
                }
                if let Some(r) = &c.repeats {
                    let _ = writeln!(out, "       {}", evidence::repeats(r));
                }
            }
        }
    }
    let _ = writeln!(out);
    let verdict = match report.verdict {
        Verdict::Pass => paint(GREEN_BOLD, "PASS"),
        Verdict::Fail => paint(RED_BOLD, "FAIL"),
        Verdict::Inconclusive => paint(YELLOW_BOLD, "INCONCLUSIVE"),
    };
    let flaky = match report.count(Outcome::Flaky) {
        0 => String::new(),
        n => format!(", {n} flaky"),
    };
    let _ = writeln!(
        out,
        "verdict: {verdict} — {} passed, {} failed, {} warnings, {} skipped{flaky} ({:.1} s)",
        report.count(Outcome::Pass),
        report.count(Outcome::Fail),
        report.count(Outcome::Warn),
        report.count(Outcome::Skip),
        report.duration_ms / 1000.0
    );
    out
}
