//! `status-json/*`: the status document as the kubelet's Go decoder reads it (docs/plugin-manager.md §2.4) and the
//! pod IP it yields (docs/plugin-manager.md §2.5).

use super::{CheckDef, Ctx, Judged, Judgement, judged, sc};
use crate::certify::Level;
use crate::certify::evidence::Finding;
use crate::kubelet::profile::{EmptyIpPolicy, StatusErrorPolicy};
use crate::kubelet::{CallPurpose, Event, IpSource, PodRef, Transcript};
use crate::plugin::StatusResult;

pub const PARSES: CheckDef = CheckDef {
    id: "status-json/parses",
    level: Level::Must,
    title: "status output parses as the kubelet parses it",
    rationale: "The kubelet decodes the COMBINED stdout+stderr with Go's encoding/json; any extra text (a log line on stderr) is an error.",
    scenarios: sc::COMMON,
    judges_start: false,
    judge: parses,
};

/// When no periodic status exited 0 but some ran: the output was never decoded (the kubelet
/// kept the runtime's IP, docs/plugin-manager.md §2.5). The failed calls are the checks of failed calls' findings
/// (weighed by what the release did with them); here nothing applies.
fn never_succeeded(ctx: &Ctx, ts: &[&Transcript], ok: usize) -> Option<Judgement> {
    let ran = ctx
        .calls(ts)
        .iter()
        .filter(|c| c.purpose.is_periodic_status())
        .count();
    (ok == 0 && ran > 0).then(|| {
        Judgement::NotApplicable(format!(
            "none of {ran} status calls exited 0: no output to decode (the kubelet kept the runtime's IP; the failed calls are judged by exit-code/success and status-json/no-status-error-for-live-pod)"
        ))
    })
}

fn parses(ctx: &Ctx, ts: &[&Transcript]) -> Judgement {
    let calls = ctx.status_calls(ts);
    if let Some(j) = never_succeeded(ctx, ts, calls.len()) {
        return j;
    }
    // docs/supervision.md §4: output over the cap was not judged; never counted as parsed.
    let not_judged = calls
        .iter()
        .filter(|c| matches!(c.call.status, Some(StatusResult::NotJudged { .. })))
        .count();
    if not_judged > 0 && not_judged == calls.len() {
        return Judgement::NoEvidence(format!(
            "not judged: all {not_judged} status outputs were over the output cap"
        ));
    }
    let findings = calls
        .iter()
        .filter_map(|c| match &c.call.status {
            Some(StatusResult::Error { message }) => {
                let more = c.call.output_text().trim().lines().count() > 1;
                let expected = if more {
                    "one PodNetworkStatus JSON document and nothing else — the output holds more than the document; the kubelet reads stdout and stderr as ONE stream, so a log line on stderr during status breaks parsing"
                } else {
                    "one PodNetworkStatus JSON document, as Go 1.7's encoding/json and net.ParseIP read it"
                };
                Some(Finding::call(
                    c,
                    format!("the kubelet's parser said: {message}"),
                    expected,
                ))
            }
            _ => None,
        })
        .collect();
    let unjudged_note = if not_judged > 0 {
        format!(" ({not_judged} more not judged: output over the cap)")
    } else {
        String::new()
    };
    let n = calls.len() - not_judged;
    judged(
        n,
        format!("{n} status outputs parsed as the kubelet parses them{unjudged_note}"),
        findings,
    )
}

pub const IP_PRESENT: CheckDef = CheckDef {
    id: "status-json/ip-present",
    level: Level::Must,
    title: "status reports the pod IP",
    rationale: "A document without an ip made every real kubelet release report the pod IP as `<nil>` (the published text promised a fallback).",
    scenarios: &[sc::BASIC],
    judges_start: false,
    judge: ip_present,
};

fn ip_present(ctx: &Ctx, ts: &[&Transcript]) -> Judgement {
    let calls = ctx.status_calls(ts);
    if let Some(j) = never_succeeded(ctx, ts, calls.len()) {
        return j;
    }
    let findings: Vec<Finding> = calls
        .iter()
        .filter(|c| matches!(c.call.status, Some(StatusResult::Status { ip: None, .. })))
        .map(|c| {
            Finding::call_result(
                c,
                "an \"ip\": the document had none, and the real kubelet then reported the pod IP as the string <nil>",
            )
        })
        .collect();
    let none = calls
        .iter()
        .filter(|c| matches!(c.call.status, Some(StatusResult::None)))
        .count();
    let documents = calls
        .iter()
        .filter(|c| matches!(c.call.status, Some(StatusResult::Status { .. })))
        .count();
    if documents + none == 0 {
        return Judgement::NoEvidence(format!(
            "none of {} successful status calls gave a document the kubelet could decode",
            calls.len()
        ));
    }
    let mut summary = format!(
        "{} status documents carried an IP",
        documents - findings.len()
    );
    if none > 0 {
        summary.push_str(&format!(
            "; {none} printed nothing (the kubelet used the runtime's IP)"
        ));
    }
    let warn_only = (ctx.profile.empty_ip == EmptyIpPolicy::Fallback).then(|| {
        "under the documented contract the kubelet falls back to the runtime IP; every real kubelet release showed <nil>".to_string()
    });
    Judgement::Judged(Judged {
        judged: documents + none,
        summary,
        findings,
        warn_only,
    })
}

pub const IP_VALID: CheckDef = CheckDef {
    id: "status-json/ip-valid",
    level: Level::Must,
    title: "the status IP is a usable pod address",
    rationale: "The kubelet publishes the IP as the pod's address; loopback or unspecified addresses break every client.",
    scenarios: &[sc::BASIC],
    judges_start: false,
    judge: ip_valid,
};

fn ip_valid(ctx: &Ctx, ts: &[&Transcript]) -> Judgement {
    let calls = ctx.status_calls(ts);
    let mut n = 0;
    let mut findings: Vec<Finding> = calls
        .iter()
        .filter_map(|c| match &c.call.status {
            Some(StatusResult::Status {
                ip: Some(parsed), ..
            }) => {
                n += 1;
                let why = if parsed.is_loopback() {
                    "a loopback address"
                } else if parsed.is_unspecified() {
                    "the unspecified address"
                } else {
                    return None;
                };
                Some(Finding::call(
                    c,
                    format!("status gave {why}: {parsed}"),
                    "a pod address other peers can reach",
                ))
            }
            _ => None,
        })
        .collect();
    // Status printed nothing (or failed): the kubelet published the runtime's IP (docs/plugin-manager.md §2.4,
    // 2.5), judged so.
    let mut runtime = 0;
    for t in ts {
        for e in &t.entries {
            let Event::PodIp {
                pod,
                ip,
                source: IpSource::Runtime | IpSource::Error,
                ..
            } = &e.event
            else {
                continue;
            };
            runtime += 1;
            let bad = ip
                .parse::<std::net::IpAddr>()
                .map_or(true, |a| a.is_loopback() || a.is_unspecified());
            if bad {
                findings.push(Finding::about(
                    t,
                    Some(pod),
                    format!("the kubelet published the runtime's IP {ip} (status printed nothing or failed)"),
                    "a pod address other peers can reach",
                ));
            }
        }
    }
    if n + runtime == 0 {
        return Judgement::NoEvidence(format!(
            "no status call gave an IP, and none printed nothing (which leaves the runtime's) ({} successful status calls), so no address could be judged",
            calls.len()
        ));
    }
    let mut summary = format!("{n} status IPs were usable pod addresses");
    if runtime > 0 {
        summary.push_str(&format!(
            "; {runtime} times status printed nothing (or failed) and the kubelet published the runtime's IP, judged usable"
        ));
    }
    judged(n + runtime, summary, findings)
}

pub const KIND_VERSION: CheckDef = CheckDef {
    id: "status-json/kind-version",
    level: Level::Should,
    title: "status names its kind and apiVersion",
    rationale: "Optional in v1beta1, but they let the kubelet reject documents of another kind or version.",
    scenarios: &[sc::BASIC],
    judges_start: false,
    judge: kind_version,
};

fn kind_version(ctx: &Ctx, ts: &[&Transcript]) -> Judgement {
    let calls = ctx.status_calls(ts);
    let mut n = 0;
    let findings = calls
        .iter()
        .filter_map(|c| {
            // Judged from the typed result: kind and apiVersion as the kubelet decoded them.
            let Some(StatusResult::Status {
                kind, api_version, ..
            }) = &c.call.status
            else {
                return None;
            };
            n += 1;
            let missing: Vec<&str> = [("kind", kind), ("apiVersion", api_version)]
                .into_iter()
                .filter(|(_, value)| value.is_empty())
                .map(|(key, _)| key)
                .collect();
            (!missing.is_empty()).then(|| {
                Finding::call(
                    c,
                    format!("the document has no {}", missing.join(", no ")),
                    "\"apiVersion\": \"v1beta1\" and \"kind\": \"PodNetworkStatus\"",
                )
            })
        })
        .collect();
    if n == 0 {
        return Judgement::NoEvidence(format!(
            "none of {} successful status calls gave a document the kubelet decoded",
            calls.len()
        ));
    }
    judged(
        n,
        format!("{n} status documents named their kind and apiVersion"),
        findings,
    )
}

pub const NO_STATUS_ERROR_FOR_LIVE_POD: CheckDef = CheckDef {
    id: "status-json/no-status-error-for-live-pod",
    level: Level::Must,
    title: "status does not fail for a live pod",
    rationale: "v1.1–v1.3 only log a status error and keep the runtime's IP (a should finding); v1.4/v1.5 mark the infra container Unknown and start a new one with a new setup about every 1.2 s, never tearing the old ones down while the pod lives: an infra container and an address leak about every second (docs/plugin-manager.md §2.5, docs/kubelet.md §3.4).",
    scenarios: sc::COMMON,
    judges_start: false,
    judge: no_status_error_for_live_pod,
};

/// When each pod of `t` was deleted (its first deletion teardown or kill).
fn deleted_at(t: &Transcript) -> std::collections::BTreeMap<PodRef, u64> {
    let mut m = std::collections::BTreeMap::new();
    for e in &t.entries {
        let pod = match &e.event {
            Event::Call {
                purpose: CallPurpose::Delete | CallPurpose::Housekeeping,
                pod: Some(pod),
                ..
            } => pod,
            Event::InfraKilled { pod, reason, .. } if reason.contains("deleted") => pod,
            _ => continue,
        };
        m.entry(pod.clone()).or_insert(e.time_ms);
    }
    m
}

/// Under a churning release: per pod, the new infra containers started because a status failed
/// (counted from the first Unknown), the virtual time they took, and how many of their setups
/// succeeded (an address each, never torn down while the pod lives).
fn churn(t: &Transcript, pod: &PodRef) -> Option<(usize, u64, usize)> {
    let first = t.entries.iter().find_map(|e| match &e.event {
        Event::InfraUnknown { pod: p, .. } if p == pod => Some(e.time_ms),
        _ => None,
    })?;
    let until = deleted_at(t).get(pod).copied().unwrap_or(u64::MAX);
    let created: Vec<(u64, &str)> = t
        .entries
        .iter()
        .filter(|e| e.time_ms > first && e.time_ms < until)
        .filter_map(|e| match &e.event {
            Event::InfraCreated { pod: p, id, .. } if p == pod => Some((e.time_ms, id.as_str())),
            _ => None,
        })
        .collect();
    let last = created.last()?.0;
    let addresses = created
        .iter()
        .filter(|(_, id)| {
            t.calls().any(|(purpose, p, i, call)| {
                purpose == CallPurpose::Setup
                    && p == Some(pod)
                    && i == Some(*id)
                    && call.succeeded()
            })
        })
        .count();
    Some((created.len(), last - first, addresses))
}

fn no_status_error_for_live_pod(ctx: &Ctx, ts: &[&Transcript]) -> Judgement {
    let mut findings = Vec::new();
    let mut judged_calls = 0;
    let mut rates = Vec::new();
    for t in ts {
        let deleted = deleted_at(t);
        let mut failing: std::collections::BTreeSet<PodRef> = Default::default();
        let calls = ctx.calls(&[t]);
        let times: Vec<u64> = t
            .entries
            .iter()
            .filter(|e| matches!(e.event, Event::Call { .. }))
            .map(|e| e.time_ms)
            .collect();
        let injected: Vec<bool> = t
            .entries
            .iter()
            .filter_map(|e| match &e.event {
                Event::Call { injected, .. } => Some(*injected),
                _ => None,
            })
            .collect();
        for (i, c) in calls.iter().enumerate() {
            let Some(pod) = c.pod else { continue };
            // Only the plugin's own answers for pods still alive count: a failure execnet
            // injected is not the plugin's.
            if !c.purpose.is_status() || injected[i] {
                continue;
            }
            if deleted.get(pod).is_some_and(|&d| times[i] >= d) {
                continue;
            }
            judged_calls += 1;
            if let Some(StatusResult::Error { message }) = &c.call.status {
                failing.insert(pod.clone());
                findings.push(Finding::call(
                    c,
                    format!("status failed for a live pod: {message}"),
                    "a status for every live pod (exit 0 and a parseable document, or nothing)",
                ));
            }
        }
        for pod in &failing {
            if let Some((infra, ms, addresses)) = churn(t, pod) {
                let per_min = |n: usize| n as f64 * 60_000.0 / ms.max(1) as f64;
                let rate = format!(
                    "kubelet {}: {infra} new infra containers in {:.1} s (≈{:.0} per minute), {addresses} addresses set up and never torn down while the pod lived (≈{:.0} per minute); a real v{} kubelet makes ~{} infra containers a minute for this plugin, without a bound (execnet's simulation may stop earlier)",
                    ctx.profile.name,
                    ms as f64 / 1000.0,
                    per_min(infra),
                    per_min(addresses),
                    ctx.profile.name,
                    ctx.profile.churn_observed_per_min
                );
                findings.push(Finding::about(
                    t,
                    Some(pod),
                    rate.clone(),
                    "no status error, so that the kubelet keeps one infra container per pod",
                ));
                rates.push(format!("[{}] {pod}: {rate}", t.scenario));
            }
        }
    }
    if judged_calls == 0 {
        return Judgement::NoEvidence("no status call for a live pod".into());
    }
    let warn_only = (ctx.profile.status_error == StatusErrorPolicy::KeepRuntimeIp).then(|| {
        format!(
            "kubelet {} only logs a status error and keeps the runtime's IP; under 1.4/1.5 the same error leaks an infra container and an address about every 1.2 s",
            ctx.profile.name
        )
    });
    let mut summary =
        format!("{judged_calls} status calls for live pods answered without an error");
    if !rates.is_empty() {
        summary = format!("{summary}; churn: {}", rates.join("; "));
    }
    Judgement::Judged(Judged {
        judged: judged_calls,
        summary,
        findings,
        warn_only,
    })
}
