//! `status-json/*`: the status document as the kubelet's Go decoder reads it (SPEC 2.4) and the
//! pod IP it yields (SPEC 2.5).

use super::{Ctx, Judged, Judgement, judged, sc};
use crate::certify::Level;
use crate::certify::catalogue::CheckDef;
use crate::certify::evidence::Finding;
use crate::kubelet::Transcript;
use crate::kubelet::profile::EmptyIpPolicy;
use crate::plugin::StatusResult;

pub const PARSES: CheckDef = CheckDef {
    id: "status-json/parses",
    level: Level::Must,
    title: "status output parses as the kubelet parses it",
    rationale: "The kubelet decodes the COMBINED stdout+stderr with Go's encoding/json; any extra text (a log line on stderr) is an error.",
    scenarios: sc::ALL,
    judges_start: false,
    judge: parses,
};

fn parses(ctx: &Ctx, ts: &[&Transcript]) -> Judgement {
    let calls = ctx.status_calls(ts);
    // SPEC 4: output over the cap was not judged; never counted as parsed.
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
    let findings: Vec<Finding> = calls
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
    if n == 0 {
        return Judgement::NoEvidence(format!(
            "no status call carried an IP ({} successful status calls), so no address could be judged",
            calls.len()
        ));
    }
    judged(
        n,
        format!("{n} status IPs were usable pod addresses"),
        findings,
    )
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
