//! Evidence: how a check names a call (argv), what came back (exit, output excerpt) and what was
//! expected, in one consistent form.

use crate::plugin::{CallRecord, StatusResult};

/// At most this many characters of output are quoted.
const EXCERPT: usize = 160;

/// `reference setup default web-1 3f2a9c…` — the executable's file name and the arguments,
/// container ids shortened.
pub fn argv(call: &CallRecord) -> String {
    let mut parts = Vec::new();
    if let Some(exe) = call.argv().first() {
        parts.push(exe.rsplit('/').next().unwrap_or(exe).to_string());
    }
    for a in call.args() {
        if a.len() == 64 && a.bytes().all(|b| b.is_ascii_hexdigit()) {
            parts.push(format!("{}…", &a[..12]));
        } else if a.len() > 40 {
            parts.push(format!("{}…({} chars)", &a[..24], a.len()));
        } else {
            parts.push(a.clone());
        }
    }
    parts.join(" ")
}

/// An output excerpt, quoted, with escapes for control characters.
pub fn excerpt(call: &CallRecord) -> String {
    let text = call.output_text();
    let mut quoted: String = text.chars().take(EXCERPT).collect::<String>();
    if text.chars().count() > EXCERPT {
        quoted.push('…');
    }
    let mut out = format!("{quoted:?}");
    if call.raw.truncated {
        out.push_str(&format!(
            " (truncated: {} bytes in all)",
            call.raw.output_bytes
        ));
    }
    out
}

/// What came back: the outcome, the output, and for status the parsed result.
pub fn got(call: &CallRecord) -> String {
    let mut s = match call.outcome().error() {
        None => "exit 0".to_string(),
        Some(e) => e,
    };
    s.push_str(&format!(", output {}", excerpt(call)));
    match &call.status {
        Some(StatusResult::Error { message }) if call.succeeded() => {
            s.push_str(&format!(", kubelet: {message}"))
        }
        Some(StatusResult::None) => s.push_str(", status: none"),
        Some(StatusResult::Status { ip: None }) => s.push_str(", status: no ip"),
        _ => {}
    }
    s
}

/// `call \`…\`: got …; expected …`
pub fn call_failed(scenario: &str, call: &CallRecord, expected: &str) -> String {
    format!(
        "[{scenario}] `{}`: got {}; expected {expected}",
        argv(call),
        got(call)
    )
}

/// Join up to `max` evidence lines, saying how many more there were.
pub fn lines(items: Vec<String>, max: usize) -> String {
    let total = items.len();
    let mut out: Vec<String> = items.into_iter().take(max).collect();
    if total > max {
        out.push(format!("… and {} more", total - max));
    }
    out.join("\n")
}
