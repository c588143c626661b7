//! The timeline of one scenario's transcript as inline SVG: one lane per pod (and one for the
//! kubelet itself), each infra container a bar from its creation to its end, each plugin call a
//! mark shaped by its purpose and coloured by its outcome, crashes and kubelet restarts as
//! markers. Events of one phase share a virtual instant, so the x axis is the order of events:
//! each phase is a column group labelled with its virtual time, wide enough for the busiest
//! pod's events of that phase. Every mark carries `data-call`, the index of its evidence in the
//! page's data; the page's script shows that evidence on click.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::kubelet::{CallPurpose, Entry, Event, PodRef, Transcript};
use crate::plugin::{Action, CallRecord, Outcome, StatusResult};

use super::esc;
use crate::kubelet::render::event_line;

/// Horizontal room per event, and between phases.
const SLOT: f64 = 16.0;
const PHASE_GAP: f64 = 12.0;
/// Lane height and the left margin holding lane names.
const LANE: f64 = 30.0;
const LABELS: f64 = 150.0;
const AXIS: f64 = 22.0;

/// How a call ended, as a mark's colour class (`outcome-…`).
pub fn outcome_class(call: &CallRecord) -> &'static str {
    match call.outcome() {
        Outcome::Success => match call.status {
            Some(StatusResult::Error { .. } | StatusResult::NotJudged { .. }) => "status-error",
            _ => "ok",
        },
        Outcome::Exited { .. } => "failed",
        Outcome::Signaled { .. } => "signal",
        Outcome::TimedOut { .. } => "timeout",
        Outcome::SpawnFailed { .. } => "spawn-error",
    }
}

/// The purpose's name as transcripts spell it (`setup`, `post-setup-status`, …).
pub fn purpose_name(purpose: CallPurpose) -> String {
    serde_json::to_value(purpose)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The event's virtual time in milliseconds (the one place that knows the transcript's unit).
pub fn time_ms(e: &Entry) -> u64 {
    e.time_ms
}

/// `10s`, `10.25s`.
pub fn format_time(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{}s", ms as f64 / 1000.0)
    }
}

/// The SVG path of a mark centred on (x, y), shaped by the action: init a square, setup a
/// triangle up, teardown a triangle down, status a circle.
fn mark_path(action: Action, x: f64, y: f64) -> String {
    let r = 6.0;
    match action {
        Action::Init => format!(
            "M{:.1} {:.1}h{:.1}v{:.1}h{:.1}z",
            x - r + 1.0,
            y - r + 1.0,
            2.0 * r - 2.0,
            2.0 * r - 2.0,
            -(2.0 * r - 2.0)
        ),
        Action::Setup => format!(
            "M{x:.1} {:.1}L{:.1} {:.1}L{:.1} {:.1}z",
            y - r,
            x + r,
            y + r - 1.0,
            x - r,
            y + r - 1.0
        ),
        Action::Teardown => format!(
            "M{x:.1} {:.1}L{:.1} {:.1}L{:.1} {:.1}z",
            y + r,
            x + r,
            y - r + 1.0,
            x - r,
            y - r + 1.0
        ),
        Action::Status => format!(
            "M{:.1} {y:.1}a{r1:.1} {r1:.1} 0 1 0 {d:.1} 0a{r1:.1} {r1:.1} 0 1 0 {nd:.1} 0z",
            x - (r - 1.0),
            r1 = r - 1.0,
            d = 2.0 * (r - 1.0),
            nd = -2.0 * (r - 1.0)
        ),
    }
}

/// One call of the timeline, for the page's evidence data.
#[derive(Debug, Clone)]
pub struct PlacedCall<'a> {
    pub time_ms: u64,
    pub step: usize,
    pub purpose: CallPurpose,
    pub pod: Option<&'a PodRef>,
    pub id: Option<&'a str>,
    pub call: &'a CallRecord,
    /// The pod IP the kubelet reported after this (status) call, and where it came from.
    pub pod_ip: Option<String>,
}

/// A lane: the kubelet's (index 0) or a pod's.
fn lane_of(pods: &[&PodRef], pod: Option<&PodRef>) -> usize {
    pod.and_then(|p| pods.iter().position(|q| *q == p))
        .map_or(0, |i| i + 1)
}

struct Bar {
    lane: usize,
    id: String,
    start: f64,
    end: Option<f64>,
    /// Where it was found crashed (dead from there to `end`).
    crashed: Option<f64>,
}

/// The SVG of `transcript` and its calls in timeline order; `first_call` is the index the
/// first call gets in the page's evidence data, `causes(call)` the root causes that blame it.
pub fn render<'a>(
    transcript: &'a Transcript,
    first_call: usize,
    causes: &dyn Fn(&CallRecord) -> Vec<String>,
) -> (String, Vec<PlacedCall<'a>>) {
    let mut pods: Vec<&PodRef> = Vec::new();
    for e in &transcript.entries {
        let pod = match &e.event {
            Event::InfraCreated { pod, .. } => Some(pod),
            Event::Call { pod, .. } | Event::Note { pod, .. } => pod.as_ref(),
            _ => None,
        };
        if let Some(p) = pod
            && !pods.contains(&p)
        {
            pods.push(p);
        }
    }
    // Place every event: phases are (step, time) groups; inside one, each lane's events take
    // successive slots.
    let mut x = LABELS + 10.0;
    let mut phase: Option<(usize, u64)> = None;
    let mut used: BTreeMap<usize, usize> = BTreeMap::new();
    let mut phase_start = x;
    let mut ticks: Vec<(f64, u64)> = Vec::new();
    let mut marks = String::new();
    let mut markers = String::new();
    let mut restarts: Vec<(f64, bool, Option<&str>)> = Vec::new();
    let mut bars: Vec<Bar> = Vec::new();
    let mut calls: Vec<PlacedCall> = Vec::new();
    let lane_y = |lane: usize| AXIS + LANE * lane as f64 + LANE / 2.0;
    for e in &transcript.entries {
        if phase != Some((e.step, time_ms(e))) {
            let width = used.values().copied().max().unwrap_or(0) as f64 * SLOT;
            phase_start += if phase.is_some() {
                width + PHASE_GAP
            } else {
                0.0
            };
            if ticks.last().is_none_or(|(_, t)| *t != time_ms(e)) {
                ticks.push((phase_start, time_ms(e)));
            }
            phase = Some((e.step, time_ms(e)));
            used.clear();
        }
        let mut slot = |lane: usize| {
            let n = used.entry(lane).or_insert(0);
            *n += 1;
            phase_start + (*n as f64 - 0.5) * SLOT
        };
        match &e.event {
            Event::KubeletStart { restart, error, .. } => {
                x = slot(0);
                restarts.push((x, *restart, error.as_deref()));
            }
            Event::InfraCreated { pod, id, .. } => {
                let lane = lane_of(&pods, Some(pod));
                x = slot(lane);
                bars.push(Bar {
                    lane,
                    id: id.clone(),
                    start: x,
                    end: None,
                    crashed: None,
                });
            }
            Event::InfraCrashed { pod, id } => {
                let lane = lane_of(&pods, Some(pod));
                x = slot(lane);
                if let Some(b) = bars
                    .iter_mut()
                    .rev()
                    .find(|b| b.lane == lane && b.id == *id)
                {
                    b.crashed = Some(x);
                }
                let y = lane_y(lane);
                let _ = write!(
                    markers,
                    "<g class=\"marker crash\" data-pod=\"{}\"><title>infra container {} of {} crashed (t={})</title>\
                     <path d=\"M{:.1} {:.1}l10 10m0 -10l-10 10\"/></g>",
                    esc(&pod.to_string()),
                    esc(id),
                    esc(&pod.to_string()),
                    format_time(time_ms(e)),
                    x - 5.0,
                    y - 5.0
                );
            }
            Event::InfraKilled { pod, id, reason } => {
                let lane = lane_of(&pods, Some(pod));
                x = slot(lane);
                if let Some(b) = bars
                    .iter_mut()
                    .rev()
                    .find(|b| b.lane == lane && b.id == *id)
                {
                    b.end = Some(x);
                }
                let y = lane_y(lane);
                let _ = write!(
                    markers,
                    "<g class=\"marker killed\"><title>infra container {} killed (t={}): {}</title>\
                     <path d=\"M{x:.1} {:.1}v14\"/></g>",
                    esc(id),
                    format_time(time_ms(e)),
                    esc(reason),
                    y - 7.0
                );
            }
            Event::Call {
                purpose,
                pod,
                id,
                call,
                ..
            } => {
                let lane = lane_of(&pods, pod.as_ref());
                x = slot(lane);
                let index = first_call + calls.len();
                let blamed = causes(call);
                let class = outcome_class(call);
                let mut title = format!(
                    "{} {}(t={}): {}",
                    purpose_name(*purpose),
                    pod.as_ref().map(|p| format!("{p} ")).unwrap_or_default(),
                    format_time(time_ms(e)),
                    call.outcome().error().unwrap_or_else(|| "exit 0".into())
                );
                if let Some(StatusResult::Error { message }) = &call.status {
                    let _ = write!(title, "; status error: {message}");
                }
                if !blamed.is_empty() {
                    let _ = write!(title, " [cause {}]", blamed.join(", "));
                }
                let _ = write!(
                    marks,
                    "<path class=\"mark outcome-{class} action-{} purpose-{}{}\" data-call=\"{index}\" \
                     data-cause=\"{}\" tabindex=\"0\" d=\"{}\"><title>{}</title></path>",
                    call.action.as_str(),
                    purpose_name(*purpose),
                    if blamed.is_empty() { "" } else { " blamed" },
                    esc(&blamed.join(" ")),
                    mark_path(call.action, x, lane_y(lane)),
                    esc(&title)
                );
                calls.push(PlacedCall {
                    time_ms: time_ms(e),
                    step: e.step,
                    purpose: *purpose,
                    pod: pod.as_ref(),
                    id: id.as_deref(),
                    call,
                    pod_ip: None,
                });
            }
            Event::PodIp { ip, source, .. } => {
                if let Some(last) = calls.last_mut() {
                    let source = serde_json::to_value(source)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default();
                    last.pod_ip = Some(format!("{ip} (from {source})"));
                }
            }
            Event::Note { pod, text } => {
                let lane = lane_of(&pods, pod.as_ref());
                x = slot(lane);
                let _ = write!(
                    markers,
                    "<g class=\"marker note\"><title>{}</title><circle cx=\"{x:.1}\" cy=\"{:.1}\" r=\"2.5\"/></g>",
                    esc(text),
                    lane_y(lane) - 10.0
                );
            }
            #[allow(unreachable_patterns, reason = "the kubelet model may grow events")]
            other => {
                // Anything else (app containers, …) is a small marker on its pod's lane.
                let pod = serde_json::to_value(other).ok().and_then(|v| {
                    let p = v.get("pod")?;
                    Some(PodRef {
                        namespace: p.get("namespace")?.as_str()?.to_string(),
                        name: p.get("name")?.as_str()?.to_string(),
                    })
                });
                let lane = lane_of(&pods, pod.as_ref());
                x = slot(lane);
                let _ = write!(
                    markers,
                    "<g class=\"marker other\"><title>{}</title><circle cx=\"{x:.1}\" cy=\"{:.1}\" r=\"2.5\"/></g>",
                    esc(&event_line(other)),
                    lane_y(lane) + 10.0
                );
            }
        }
    }
    let width_used = used.values().copied().max().unwrap_or(0) as f64 * SLOT;
    let end = (phase_start + width_used + 10.0).max(x + 10.0);
    let height = AXIS + LANE * (pods.len() + 1) as f64 + 6.0;
    let width = end + 10.0;

    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {width:.0} {height:.0}\" role=\"img\" aria-label=\"timeline of {}\">",
        esc(&transcript.scenario)
    );
    // Lanes with their names.
    for lane in 0..=pods.len() {
        let y = AXIS + LANE * lane as f64;
        let name = if lane == 0 {
            "kubelet".to_string()
        } else {
            pods[lane - 1].to_string()
        };
        let _ = write!(
            svg,
            "<g class=\"lane{}\" data-lane=\"{}\"><rect class=\"lane-bg\" x=\"0\" y=\"{y:.1}\" width=\"{width:.0}\" height=\"{LANE}\"/>\
             <text class=\"lane-name\" x=\"6\" y=\"{:.1}\"><title>{}</title>{}</text></g>",
            if lane == 0 { " kubelet" } else { " pod" },
            esc(&name),
            y + LANE / 2.0 + 4.0,
            esc(&name),
            esc(&ellipsize(&name, 22))
        );
    }
    // The time axis.
    svg.push_str("<g class=\"axis\">");
    let mut last_label = f64::NEG_INFINITY;
    for (tx, t) in &ticks {
        let _ = write!(
            svg,
            "<line x1=\"{tx:.1}\" y1=\"{:.1}\" x2=\"{tx:.1}\" y2=\"{height:.0}\"/>",
            AXIS - 4.0
        );
        // A label only where it does not run into the previous one.
        if tx - last_label >= 44.0 {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"14\">t={}</text>",
                tx + 2.0,
                format_time(*t)
            );
            last_label = *tx;
        }
    }
    svg.push_str("</g>");
    // Infra containers.
    svg.push_str("<g class=\"bars\">");
    for b in &bars {
        let y = lane_y(b.lane);
        let stop = b.end.unwrap_or(end - 4.0);
        let alive_to = b.crashed.unwrap_or(stop);
        let _ = write!(
            svg,
            "<g class=\"infra\"><title>infra container {}</title><rect class=\"bar\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"10\" rx=\"3\"/>",
            esc(&b.id),
            b.start,
            y - 5.0,
            (alive_to - b.start).max(2.0)
        );
        if b.crashed.is_some() {
            let _ = write!(
                svg,
                "<rect class=\"bar dead\" x=\"{alive_to:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"10\"/>",
                y - 5.0,
                (stop - alive_to).max(2.0)
            );
        }
        svg.push_str("</g>");
    }
    svg.push_str("</g>");
    // Kubelet starts and restarts: a line across every lane.
    for (rx, restart, error) in &restarts {
        let what = if *restart {
            "kubelet restart"
        } else {
            "kubelet start"
        };
        let title = match error {
            Some(e) => format!("{what}: refused to start: {e}"),
            None => what.to_string(),
        };
        let _ = write!(
            svg,
            "<g class=\"marker {}{}\"><title>{}</title><line x1=\"{rx:.1}\" y1=\"{AXIS:.1}\" x2=\"{rx:.1}\" y2=\"{height:.0}\"/>\
             <path d=\"M{:.1} {:.1}l5 -8h-10z\"/></g>",
            if *restart {
                "kubelet-restart"
            } else {
                "kubelet-start"
            },
            if error.is_some() { " refused" } else { "" },
            esc(&title),
            rx,
            AXIS + 8.0
        );
    }
    svg.push_str(&markers);
    svg.push_str("<g class=\"marks\">");
    svg.push_str(&marks);
    svg.push_str("</g></svg>");
    (svg, calls)
}

fn ellipsize(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let head: String = s.chars().take(max - 1).collect();
        format!("{head}…")
    }
}
