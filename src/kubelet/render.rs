//! The text form of a transcript, for people: one line per event,
//! `[t=10s] call setup ns/name 3f2a1b2c4d5e… → success 4.1ms` (`[t=1.2s]` below the second).

use std::fmt::Write;

use crate::plugin::{CallRecord, StatusResult};

use super::transcript::{CallPurpose, Event, Transcript};

/// A container ID as people read it: the first 12 hex digits.
pub fn short_id(id: &str) -> String {
    if id.len() > 12 {
        format!("{}…", &id[..12])
    } else {
        id.to_string()
    }
}

fn outcome(call: &CallRecord) -> String {
    let ms = call.duration().as_secs_f64() * 1000.0;
    let mut text = match call.outcome().error() {
        None => format!("success {ms:.1}ms"),
        Some(e) => format!("FAILED ({e}) {ms:.1}ms"),
    };
    match &call.status {
        None => {}
        Some(StatusResult::None) => text.push_str(", status: none"),
        Some(StatusResult::Status { ip: Some(ip), .. }) => {
            let _ = write!(text, ", status: ip {ip}");
        }
        Some(StatusResult::Status { ip: None, .. }) => text.push_str(", status: no ip"),
        Some(StatusResult::NotJudged { .. }) => {
            text.push_str(", status: not judged (output over the cap)")
        }
        Some(StatusResult::Error { message }) => {
            let _ = write!(text, ", status error: {message}");
        }
    }
    if call.raw.leaked {
        text.push_str(", LEAKED output pipe");
    }
    if call.raw.truncated {
        text.push_str(", output truncated");
    }
    text
}

/// One event on one line (without the time prefix).
pub fn event_line(event: &Event) -> String {
    match event {
        Event::KubeletStart {
            restart,
            plugin,
            error,
        } => {
            let what = if *restart {
                "kubelet restart"
            } else {
                "kubelet start"
            };
            match error {
                None => format!("{what}: plugin {plugin}"),
                Some(e) => format!("{what}: plugin {plugin}: ERROR {e}"),
            }
        }
        Event::InfraCreated {
            pod,
            id,
            runtime_ip,
        } => format!(
            "infra created {pod} {} runtime ip {runtime_ip}",
            short_id(id)
        ),
        Event::InfraCrashed { pod, id } => format!("infra CRASHED {pod} {}", short_id(id)),
        Event::InfraUnknown { pod, id } => {
            format!("infra UNKNOWN {pod} {} (status failed)", short_id(id))
        }
        Event::AppStarted {
            pod,
            container,
            restarts,
        } => {
            if *restarts == 0 {
                format!("app {container} started {pod}")
            } else {
                format!("app {container} restarted {pod} (restart {restarts})")
            }
        }
        Event::AppExited {
            pod,
            container,
            reason,
        } => format!("app {container} exited {pod} ({reason})"),
        Event::InfraKilled { pod, id, reason } => {
            format!("infra killed {pod} {} ({reason})", short_id(id))
        }
        Event::Call {
            purpose,
            pod,
            id,
            call,
            injected,
        } => {
            let action = call.action.as_str();
            let mut line = format!("call {action}");
            if purpose.name() != action {
                let _ = write!(line, " ({})", purpose.name());
            }
            if let Some(pod) = pod {
                let _ = write!(line, " {pod}");
            }
            if let Some(id) = id {
                let _ = write!(line, " {}", short_id(id));
            }
            if *purpose == CallPurpose::PostSetup {
                let _ = write!(line, " [argv: {}]", call.args().join(" "));
            }
            let _ = write!(line, " → {}", outcome(call));
            if *injected {
                line.push_str(" [injected failure]");
            }
            line
        }
        Event::PodIp {
            pod,
            id,
            ip,
            source,
        } => format!(
            "pod ip {pod} {} = {ip} (from {})",
            short_id(id),
            serde_json::to_value(source)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        ),
        Event::Note {
            pod: Some(pod),
            text,
        } => format!("note {pod}: {text}"),
        Event::Note { pod: None, text } => format!("note: {text}"),
    }
}

/// The whole transcript as text.
pub fn render_text(transcript: &Transcript) -> String {
    let mut out = header_line(transcript);
    for entry in &transcript.entries {
        out.push_str(&entry_line(entry));
    }
    out
}

/// The text transcript's first line (with its newline), from the transcript's header fields.
pub fn header_line(transcript: &Transcript) -> String {
    format!(
        "scenario {} · plugin {} · kubelet {} · seed {}\n",
        transcript.scenario, transcript.plugin, transcript.profile, transcript.seed
    )
}

/// One entry's line of the text transcript (with its newline).
pub fn entry_line(entry: &super::transcript::Entry) -> String {
    format!(
        "[t={}] {}\n",
        format_time(entry.time_ms),
        event_line(&entry.event)
    )
}

/// Virtual milliseconds as seconds: `10s`, `1.2s`, `61.05s`.
pub fn format_time(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        let frac = format!("{:03}", ms % 1000);
        format!("{}.{}s", ms / 1000, frac.trim_end_matches('0'))
    }
}
