//! The checks catalogue: every check's id, level, title, the kubelet behaviour that makes it
//! matter, the scenarios whose transcripts it judges, and its judge. Judges read transcripts
//! only; they never call a plugin.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::Level;
use super::evidence;
use crate::kubelet::profile::{EmptyIpPolicy, Profile};
use crate::kubelet::{CallPurpose, Event, IpSource, Transcript};
use crate::plugin::{Action, CallRecord, Outcome, StatusResult};

/// Every scenario of the suite, in the order the runner replays them.
pub const ALL_SCENARIOS: &[&str] = &[
    "basic-lifecycle",
    "crash-without-teardown",
    "setup-failure",
    "kubelet-restart",
    "host-network",
    "parallel-pods",
    "long-names",
    "slow-delete",
];

/// What a judge concluded before the level turns a failure into `fail` or `warn`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    Pass(String),
    Fail(String),
    /// A `must` check that is only a warning under this profile.
    Warn(String),
    Skip(String),
}

/// What judges look at.
#[derive(Debug)]
pub struct Ctx<'a> {
    pub transcripts: &'a BTreeMap<String, Transcript>,
    pub profile: &'static Profile,
    pub timeout: Option<Duration>,
}

impl Ctx<'_> {
    fn get(&self, scenario: &str) -> Option<&Transcript> {
        self.transcripts.get(scenario)
    }
}

/// One check of the catalogue.
#[derive(Debug)]
pub struct CheckDef {
    pub id: &'static str,
    pub level: Level,
    pub title: &'static str,
    pub rationale: &'static str,
    /// The scenarios it judges; empty means all.
    pub scenarios: &'static [&'static str],
    pub judge: fn(&Ctx) -> Judgement,
}

impl CheckDef {
    pub fn scenarios(&self) -> &'static [&'static str] {
        if self.scenarios.is_empty() {
            ALL_SCENARIOS
        } else {
            self.scenarios
        }
    }

    pub fn category(&self) -> &'static str {
        self.id.split('/').next().unwrap_or(self.id)
    }
}

/// Budgets for the p99 check, per action.
pub fn p99_budget(action: Action) -> Duration {
    match action {
        Action::Status => Duration::from_secs(1),
        _ => Duration::from_secs(5),
    }
}

/// The output size above which setup/teardown/init output is a finding.
pub const OUTPUT_BUDGET: u64 = 64 * 1024;

type CallRef<'a> = (&'a str, CallPurpose, Option<&'a str>, &'a CallRecord);

/// The kubelet's start-up error in `t`, if it refused to start.
fn start_error(t: &Transcript) -> Option<String> {
    t.entries.iter().find_map(|e| match &e.event {
        Event::KubeletStart {
            error: Some(err), ..
        } => Some(err.clone()),
        _ => None,
    })
}

/// The transcripts of `scenarios`, or a skip when one is missing or its kubelet did not start.
fn need<'a>(ctx: &'a Ctx, scenarios: &[&str]) -> Result<Vec<&'a Transcript>, Judgement> {
    let mut out = Vec::new();
    for s in scenarios {
        let Some(t) = ctx.get(s) else {
            return Err(Judgement::Skip(format!("scenario {s} was not run")));
        };
        if start_error(t).is_some() {
            return Err(Judgement::Skip(format!(
                "the kubelet did not start in scenario {s} (see init/selection)"
            )));
        }
        out.push(t);
    }
    Ok(out)
}

fn all_calls<'a>(ts: &[&'a Transcript]) -> Vec<CallRef<'a>> {
    ts.iter()
        .flat_map(|t| {
            t.calls()
                .map(move |(purpose, _, id, call)| (t.scenario.as_str(), purpose, id, call))
        })
        .collect()
}

/// Pass with `ok` when `failures` is empty, else fail with them as evidence.
fn verdict(failures: Vec<String>, ok: String) -> Judgement {
    if failures.is_empty() {
        Judgement::Pass(ok)
    } else {
        Judgement::Fail(evidence::lines(failures, 5))
    }
}

macro_rules! need {
    ($ctx:expr, $scen:expr) => {
        match need($ctx, $scen) {
            Ok(ts) => ts,
            Err(j) => return j,
        }
    };
}

fn init_selection(ctx: &Ctx) -> Judgement {
    let Some(t) = ctx.get("basic-lifecycle") else {
        return Judgement::Skip("scenario basic-lifecycle was not run".into());
    };
    let init = t
        .calls()
        .find(|(p, ..)| *p == CallPurpose::Init)
        .map(|(.., c)| c);
    match (start_error(t), init) {
        (Some(err), Some(call)) => Judgement::Fail(format!(
            "the kubelet refused to start: {err}\n{}",
            evidence::call_failed("basic-lifecycle", call, "exit 0")
        )),
        (Some(err), None) => Judgement::Fail(format!(
            "the kubelet refused to start, init was never run: {err}"
        )),
        (None, Some(call)) => Judgement::Pass(format!(
            "selected and initialised: `{}` exit 0",
            evidence::argv(call)
        )),
        (None, None) => Judgement::Pass("selected (no init call recorded)".into()),
    }
}

fn init_restart(ctx: &Ctx) -> Judgement {
    let ts = need!(ctx, &["kubelet-restart"]);
    let inits: Vec<_> = all_calls(&ts)
        .into_iter()
        .filter(|c| c.1 == CallPurpose::Init)
        .collect();
    let failures: Vec<String> = inits
        .iter()
        .filter(|c| !c.3.succeeded())
        .map(|c| {
            evidence::call_failed(
                c.0,
                c.3,
                "exit 0 (init is called again at every kubelet restart)",
            )
        })
        .collect();
    verdict(
        failures,
        format!("{} init calls (start and restarts) exited 0", inits.len()),
    )
}

/// Lifecycle calls (setup/teardown/status, not execnet's probes) that did not exit 0 for a
/// reason other than a signal or a timeout (those have checks of their own).
fn exited_nonzero<'a, 'b>(calls: &'b [CallRef<'a>]) -> Vec<&'b CallRef<'a>> {
    calls
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            c.1 != CallPurpose::IdempotenceProbe
                && !is_repeated_teardown(calls, *i)
                && matches!(
                    c.3.outcome(),
                    Outcome::Exited { .. } | Outcome::SpawnFailed { .. }
                )
        })
        .map(|(_, c)| c)
        .collect()
}

/// A kubelet teardown of a container id already torn down earlier in the same scenario (the
/// housekeeping pass repeats them, SPEC 3.5); `idempotence/repeated-teardown` judges those.
fn is_repeated_teardown(calls: &[CallRef], i: usize) -> bool {
    let c = &calls[i];
    c.1.is_teardown()
        && c.2.is_some()
        && calls[..i]
            .iter()
            .any(|e| e.0 == c.0 && e.1.is_teardown() && e.2 == c.2)
}

fn args_long_names(ctx: &Ctx) -> Judgement {
    let ts = need!(ctx, &["long-names"]);
    let calls = all_calls(&ts);
    let failures = exited_nonzero(&calls)
        .into_iter()
        .map(|c| {
            evidence::call_failed(
                c.0,
                c.3,
                "exit 0 for a 63-char namespace and a 253-char dotted pod name",
            )
        })
        .collect();
    verdict(
        failures,
        format!(
            "{} calls with names at the kubelet's length limits exited 0",
            calls.len()
        ),
    )
}

fn args_swapped_status(ctx: &Ctx) -> Judgement {
    if !ctx.profile.post_setup_status_swapped {
        return Judgement::Skip(format!(
            "kubelet {} does not call status with name and namespace swapped",
            ctx.profile.name
        ));
    }
    let ts = need!(ctx, &["basic-lifecycle"]);
    let calls: Vec<_> = all_calls(&ts)
        .into_iter()
        .filter(|c| c.1 == CallPurpose::PostSetup)
        .collect();
    let failures = calls
        .iter()
        .filter(|c| !c.3.succeeded() || matches!(c.3.status, Some(StatusResult::Error { .. })))
        .map(|c| {
            evidence::call_failed(
                c.0,
                c.3,
                "exit 0 and parseable output: kubelet 1.1–1.3 call `status <name> <namespace> <id>` once after setup; key status by container id",
            )
        })
        .collect();
    verdict(
        failures,
        format!("{} swapped status calls were answered", calls.len()),
    )
}

fn exit_code_success(ctx: &Ctx) -> Judgement {
    let ts = need!(ctx, ALL_SCENARIOS);
    let calls = all_calls(&ts);
    let failures = exited_nonzero(&calls)
        .into_iter()
        .map(|c| evidence::call_failed(c.0, c.3, "exit 0"))
        .collect();
    verdict(
        failures,
        format!("{} lifecycle calls exited 0", calls.len()),
    )
}

fn exit_code_signal(ctx: &Ctx) -> Judgement {
    let ts = need!(ctx, ALL_SCENARIOS);
    let calls = all_calls(&ts);
    let failures = calls
        .iter()
        .filter(|c| matches!(c.3.outcome(), Outcome::Signaled { .. }))
        .map(|c| {
            evidence::call_failed(
                c.0,
                c.3,
                "a normal exit (the plugin was killed by a signal it was not sent)",
            )
        })
        .collect();
    verdict(
        failures,
        format!("no call of {} died from a signal", calls.len()),
    )
}

fn fds_stdio_only(ctx: &Ctx) -> Judgement {
    let ts = need!(ctx, &["basic-lifecycle"]);
    let calls = all_calls(&ts);
    let failures = exited_nonzero(&calls)
        .into_iter()
        .map(|c| {
            evidence::call_failed(
                c.0,
                c.3,
                "exit 0 with stdin at /dev/null and only fds 0, 1, 2 open (the kubelet passes nothing else; do not rely on inherited descriptors)",
            )
        })
        .collect();
    verdict(
        failures,
        format!(
            "{} calls with stdin /dev/null and only fds 0–2 exited 0",
            calls.len()
        ),
    )
}

fn status_calls<'a>(ts: &[&'a Transcript]) -> Vec<CallRef<'a>> {
    all_calls(ts)
        .into_iter()
        .filter(|c| c.1.is_status() && c.3.succeeded())
        .collect()
}

fn status_parses(ctx: &Ctx) -> Judgement {
    let ts = need!(ctx, ALL_SCENARIOS);
    let calls = status_calls(&ts);
    let failures = calls
        .iter()
        .filter_map(|c| match &c.3.status {
            Some(StatusResult::Error { message }) => {
                let out = c.3.output_text();
                let hint = if out.trim().lines().count() > 1 {
                    " — the output holds more than the JSON document; the kubelet reads stdout and stderr as ONE stream, so a log line on stderr during status breaks parsing"
                } else {
                    ""
                };
                Some(format!(
                    "[{}] `{}`: output {}; the kubelet's parser said: {message}{hint}",
                    c.0,
                    evidence::argv(c.3),
                    evidence::excerpt(c.3)
                ))
            }
            _ => None,
        })
        .collect();
    // SPEC 4: output over the cap was not judged; never counted as parsed.
    let not_judged = calls
        .iter()
        .filter(|c| matches!(c.3.status, Some(StatusResult::NotJudged { .. })))
        .count();
    if not_judged > 0 && not_judged == calls.len() {
        return Judgement::Skip(format!(
            "not judged: all {not_judged} status outputs were over the output cap"
        ));
    }
    let unjudged_note = if not_judged > 0 {
        format!(" ({not_judged} more not judged: output over the cap)")
    } else {
        String::new()
    };
    verdict(
        failures,
        format!(
            "{} status outputs parsed as the kubelet parses them{unjudged_note}",
            calls.len() - not_judged
        ),
    )
}

fn status_ip_present(ctx: &Ctx) -> Judgement {
    let ts = need!(ctx, &["basic-lifecycle"]);
    let calls = status_calls(&ts);
    let failures: Vec<String> = calls
        .iter()
        .filter(|c| matches!(c.3.status, Some(StatusResult::Status { ip: None, .. })))
        .map(|c| {
            evidence::call_failed(
                c.0,
                c.3,
                "an \"ip\": the document had none, and the real kubelet then reported the pod IP as the string <nil>",
            )
        })
        .collect();
    let none = calls
        .iter()
        .filter(|c| matches!(c.3.status, Some(StatusResult::None)))
        .count();
    if failures.is_empty() {
        let mut ok = format!("{} status documents carried an IP", calls.len() - none);
        if none > 0 {
            ok.push_str(&format!(
                "; {none} printed nothing (the kubelet used the runtime's IP)"
            ));
        }
        Judgement::Pass(ok)
    } else if ctx.profile.empty_ip == EmptyIpPolicy::Fallback {
        Judgement::Warn(format!(
            "{}\n(under the documented contract the kubelet falls back to the runtime IP; every real kubelet release showed <nil>)",
            evidence::lines(failures, 3)
        ))
    } else {
        Judgement::Fail(evidence::lines(failures, 3))
    }
}

fn status_ip_valid(ctx: &Ctx) -> Judgement {
    let ts = need!(ctx, &["basic-lifecycle"]);
    let calls = status_calls(&ts);
    let mut n = 0;
    let failures = calls
        .iter()
        .filter_map(|c| match &c.3.status {
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
                Some(evidence::call_failed(
                    c.0,
                    c.3,
                    &format!("a pod address other peers can reach, not {why} ({parsed})"),
                ))
            }
            _ => None,
        })
        .collect();
    verdict(
        failures,
        format!("{n} status IPs were usable pod addresses"),
    )
}

fn status_kind_version(ctx: &Ctx) -> Judgement {
    let ts = need!(ctx, &["basic-lifecycle"]);
    let calls = status_calls(&ts);
    let failures = calls
        .iter()
        .filter_map(|c| {
            // Judged from the typed result: kind and apiVersion as the kubelet decoded them.
            let Some(StatusResult::Status {
                kind, api_version, ..
            }) = &c.3.status
            else {
                return None;
            };
            let missing: Vec<&str> = [("kind", kind), ("apiVersion", api_version)]
                .into_iter()
                .filter(|(_, value)| value.is_empty())
                .map(|(key, _)| key)
                .collect();
            (!missing.is_empty()).then(|| {
                evidence::call_failed(
                    c.0,
                    c.3,
                    &format!(
                        "\"apiVersion\": \"v1beta1\" and \"kind\": \"PodNetworkStatus\" (missing: {})",
                        missing.join(", ")
                    ),
                )
            })
        })
        .collect();
    verdict(
        failures,
        "status documents name their kind and apiVersion".into(),
    )
}

fn lifecycle_basic(ctx: &Ctx) -> Judgement {
    let ts = need!(ctx, &["basic-lifecycle"]);
    let t = ts[0];
    let mut per_pod: BTreeMap<String, [usize; 3]> = BTreeMap::new();
    let mut failures = Vec::new();
    let calls = all_calls(&ts);
    for (i, (purpose, pod, _, call)) in t.calls().enumerate() {
        let Some(pod) = pod else { continue };
        if is_repeated_teardown(&calls, i) {
            // judged by idempotence/repeated-teardown
            continue;
        }
        let slot = match purpose {
            CallPurpose::Setup => 0,
            p if p.is_status() => 1,
            p if p.is_teardown() => 2,
            _ => continue,
        };
        let ok = call.succeeded()
            && !matches!(
                call.status,
                Some(StatusResult::Error { .. })
                    | Some(StatusResult::Status { ip: None, .. })
                    | Some(StatusResult::NotJudged { .. })
            );
        if ok {
            per_pod.entry(pod.to_string()).or_default()[slot] += 1;
        } else {
            failures.push(evidence::call_failed(
                &t.scenario,
                call,
                "success (and for status an IP)",
            ));
        }
    }
    for (pod, [s, st, td]) in &per_pod {
        if *s == 0 || *st == 0 || *td == 0 {
            failures.push(format!(
                "pod {pod}: {s} successful setup(s), {st} status(es) with an IP, {td} teardown(s); expected at least one of each"
            ));
        }
    }
    verdict(
        failures,
        format!(
            "{} pods went through setup → status → teardown",
            per_pod.len()
        ),
    )
}

/// The IPs each infra container reported, from the transcript's pod-IP decisions.
fn ips_by_container(t: &Transcript) -> BTreeMap<String, (String, BTreeSet<String>)> {
    let mut map: BTreeMap<String, (String, BTreeSet<String>)> = BTreeMap::new();
    for e in &t.entries {
        if let Event::PodIp {
            pod,
            id,
            ip,
            source: IpSource::Plugin,
        } = &e.event
        {
            map.entry(id.clone())
                .or_insert_with(|| (pod.to_string(), BTreeSet::new()))
                .1
                .insert(ip.clone());
        }
    }
    map
}

fn lifecycle_stable_ip(ctx: &Ctx) -> Judgement {
    let ts = need!(ctx, &["basic-lifecycle", "crash-without-teardown"]);
    let mut failures = Vec::new();
    let mut n = 0;
    for t in &ts {
        for (id, (pod, ips)) in ips_by_container(t) {
            n += 1;
            if ips.len() > 1 {
                failures.push(format!(
                    "[{}] pod {pod} infra {}…: status reported {} different IPs ({}); expected one address per infra container",
                    t.scenario,
                    &id[..12.min(id.len())],
                    ips.len(),
                    ips.into_iter().collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }
    verdict(
        failures,
        format!("each of {n} infra containers kept one IP"),
    )
}

/// Pods that reported the same IP at the same sync.
fn duplicates_at_same_time(t: &Transcript) -> Vec<String> {
    let mut by_time: BTreeMap<(u64, usize), BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for e in &t.entries {
        if let Event::PodIp {
            pod,
            ip,
            source: IpSource::Plugin,
            ..
        } = &e.event
        {
            by_time
                .entry((e.time_ms, e.step))
                .or_default()
                .entry(ip.clone())
                .or_default()
                .insert(pod.to_string());
        }
    }
    let mut out = Vec::new();
    for ((time, _), ips) in by_time {
        for (ip, pods) in ips {
            if pods.len() > 1 {
                out.push(format!(
                    "[{}] at t={} pods {} all reported IP {ip}; expected distinct addresses for live pods",
                    t.scenario,
                    crate::kubelet::render::format_time(time),
                    pods.into_iter().collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }
    out
}

fn lifecycle_distinct_ips(ctx: &Ctx) -> Judgement {
    let ts = need!(ctx, &["basic-lifecycle"]);
    verdict(
        duplicates_at_same_time(ts[0]),
        "live pods had distinct IPs at every sync".into(),
    )
}

/// Per pod: its infra containers in order and the crash count.
fn crash_cycles(t: &Transcript) -> BTreeMap<String, (Vec<String>, usize)> {
    let mut m: BTreeMap<String, (Vec<String>, usize)> = BTreeMap::new();
    for e in &t.entries {
        match &e.event {
            Event::InfraCreated { pod, id, .. } => {
                m.entry(pod.to_string()).or_default().0.push(id.clone())
            }
            Event::InfraCrashed { pod, .. } => m.entry(pod.to_string()).or_default().1 += 1,
            _ => {}
        }
    }
    m
}

fn crash_setup_new_id(ctx: &Ctx) -> Judgement {
    let ts = need!(ctx, &["crash-without-teardown"]);
    let t = ts[0];
    let mut failures = Vec::new();
    let mut cycles = 0;
    for (pod, (ids, crashes)) in crash_cycles(t) {
        if crashes == 0 {
            continue;
        }
        cycles += crashes;
        for id in ids.iter().skip(1) {
            let setup = t
                .calls()
                .find(|(p, _, i, _)| *p == CallPurpose::Setup && *i == Some(id.as_str()));
            match setup {
                Some((.., call)) if call.succeeded() => {}
                Some((.., call)) => failures.push(evidence::call_failed(
                    &t.scenario,
                    call,
                    "exit 0: after an infra crash the kubelet calls setup with the NEW id and never tears the old one down",
                )),
                None => failures.push(format!(
                    "pod {pod}: no setup recorded for infra {}…",
                    &id[..12.min(id.len())]
                )),
            }
        }
    }
    if cycles == 0 && failures.is_empty() {
        return Judgement::Skip(
            "no infra container crashed: none was running when the crashes were due (see the lifecycle checks)".into(),
        );
    }
    verdict(
        failures,
        format!("setup with the new id succeeded after each of {cycles} crashes"),
    )
}

fn crash_reclaim(ctx: &Ctx) -> Judgement {
    let ts = need!(ctx, &["crash-without-teardown"]);
    let t = ts[0];
    let by_id = ips_by_container(t);
    let Some((pod, (ids, crashes))) = crash_cycles(t)
        .into_iter()
        .max_by_key(|(_, (_, crashes))| *crashes)
    else {
        return Judgement::Skip("no crash in the scenario".into());
    };
    if crashes < 16 {
        return Judgement::Skip(format!("only {crashes} crash cycles (16 needed)"));
    }
    let ips: Vec<&String> = ids
        .iter()
        .filter_map(|id| by_id.get(id).and_then(|(_, s)| s.iter().next()))
        .collect();
    let distinct: BTreeSet<&String> = ips.iter().copied().collect();
    if ips.len() >= 16 && distinct.len() == ips.len() {
        Judgement::Fail(format!(
            "pod {pod}: each of its {} infra containers got a fresh address ({} … {}); expected the crashed container's address to be reclaimed — the kubelet never calls teardown for a crashed infra container, so a plugin that only frees addresses in teardown leaks one per crash",
            ips.len(),
            ips.first().map(|s| s.as_str()).unwrap_or(""),
            ips.last().map(|s| s.as_str()).unwrap_or("")
        ))
    } else {
        Judgement::Pass(format!(
            "pod {pod}: {crashes} crash cycles used {} distinct address(es)",
            distinct.len()
        ))
    }
}

fn idempotence_teardown(ctx: &Ctx) -> Judgement {
    let ts = need!(ctx, &["kubelet-restart", "slow-delete"]);
    let all = all_calls(&ts);
    // execnet's probe, and the repeated teardowns this release really sends.
    let calls: Vec<_> = all
        .iter()
        .enumerate()
        .filter(|(i, c)| c.1 == CallPurpose::IdempotenceProbe || is_repeated_teardown(&all, *i))
        .map(|(_, c)| c)
        .collect();
    if calls.is_empty() {
        return Judgement::Skip("no repeated teardown in the scenarios".into());
    }
    let kubelet = calls
        .iter()
        .filter(|c| c.1 != CallPurpose::IdempotenceProbe)
        .count();
    let failures = calls
        .iter()
        .filter(|c| !c.3.succeeded())
        .map(|c| {
            let why = if c.1 == CallPurpose::IdempotenceProbe {
                "exit 0 for a second teardown of the same container (a kubelet restart during deletion repeats it)"
            } else {
                "exit 0 for a repeated teardown: this kubelet's housekeeping pass tears a deleted pod down again from a stale runtime cache"
            };
            evidence::call_failed(c.0, c.3, why)
        })
        .collect();
    verdict(
        failures,
        format!(
            "{} repeated teardowns exited 0 ({kubelet} sent by the kubelet itself, {} execnet probes)",
            calls.len(),
            calls.len() - kubelet
        ),
    )
}

fn concurrency_parallel_setup(ctx: &Ctx) -> Judgement {
    let ts = need!(ctx, &["parallel-pods"]);
    let t = ts[0];
    let mut failures: Vec<String> = t
        .calls()
        .filter(|(p, _, _, c)| *p == CallPurpose::Setup && !c.succeeded())
        .map(|(.., c)| {
            evidence::call_failed(
                &t.scenario,
                c,
                "exit 0 while other pods' setups run concurrently",
            )
        })
        .collect();
    failures.extend(duplicates_at_same_time(t));
    let setups = t.calls().filter(|(p, ..)| *p == CallPurpose::Setup).count();
    verdict(
        failures,
        format!("{setups} concurrent setups succeeded with distinct addresses"),
    )
}

fn timeout_within_limit(ctx: &Ctx) -> Judgement {
    let ts = need!(ctx, ALL_SCENARIOS);
    let calls = all_calls(&ts);
    let failures = calls
        .iter()
        .filter(|c| matches!(c.3.outcome(), Outcome::TimedOut { .. }))
        .map(|c| {
            evidence::call_failed(
                c.0,
                c.3,
                "the call to finish within the timeout (the kubelet had none and would hang)",
            )
        })
        .collect();
    let limit = ctx
        .timeout
        .map(crate::plugin::invoke::format_duration)
        .unwrap_or_else(|| "no limit".into());
    verdict(
        failures,
        format!("all {} calls finished within {limit}", calls.len()),
    )
}

fn p99(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    let idx = ((v.len() as f64) * 0.99).ceil() as usize;
    v[idx.saturating_sub(1).min(v.len() - 1)]
}

fn timeout_p99(ctx: &Ctx) -> Judgement {
    let ts = need!(ctx, ALL_SCENARIOS);
    let mut by_action: BTreeMap<Action, Vec<Duration>> = BTreeMap::new();
    for c in all_calls(&ts) {
        if !matches!(c.3.outcome(), Outcome::TimedOut { .. }) {
            by_action
                .entry(c.3.action)
                .or_default()
                .push(c.3.duration());
        }
    }
    let mut report = Vec::new();
    let mut over = Vec::new();
    for (action, v) in by_action {
        let n = v.len();
        let p = p99(v);
        let budget = p99_budget(action);
        let line = format!(
            "{action}: p99 {:.1} ms over {n} calls (budget {} ms)",
            p.as_secs_f64() * 1000.0,
            budget.as_millis()
        );
        if p > budget {
            over.push(line.clone());
        }
        report.push(line);
    }
    if over.is_empty() {
        Judgement::Pass(report.join("; "))
    } else {
        Judgement::Fail(format!("over budget: {}", over.join("; ")))
    }
}

fn leak_pipe(ctx: &Ctx) -> Judgement {
    let ts = need!(ctx, ALL_SCENARIOS);
    let calls = all_calls(&ts);
    let failures = calls
        .iter()
        .filter(|c| c.3.raw.leaked)
        .map(|c| {
            format!(
                "[{}] `{}`: exited, but a descendant still held the output pipe after the leak window; expected every process holding stdout/stderr to be gone (the kubelet waits for EOF and would hang)",
                c.0,
                evidence::argv(c.3)
            )
        })
        .collect();
    verdict(
        failures,
        format!("no call of {} leaked its output pipe", calls.len()),
    )
}

fn leak_group(ctx: &Ctx) -> Judgement {
    let ts = need!(ctx, ALL_SCENARIOS);
    let calls = all_calls(&ts);
    let failures = calls
        .iter()
        .filter(|c| c.3.raw.group_survived && !matches!(c.3.outcome(), Outcome::TimedOut { .. }))
        .map(|c| {
            format!(
                "[{}] `{}`: processes of the call's process group outlived it; expected the plugin to leave nothing running",
                c.0,
                evidence::argv(c.3)
            )
        })
        .collect();
    verdict(
        failures,
        format!("no call of {} left processes behind", calls.len()),
    )
}

fn output_small(ctx: &Ctx) -> Judgement {
    let ts = need!(ctx, ALL_SCENARIOS);
    let calls = all_calls(&ts);
    let failures = calls
        .iter()
        .filter(|c| c.3.action != Action::Status && c.3.raw.output_bytes > OUTPUT_BUDGET)
        .map(|c| {
            format!(
                "[{}] `{}`: wrote {} bytes{}; expected at most {} KiB (the kubelet keeps and logs all of it)",
                c.0,
                evidence::argv(c.3),
                c.3.raw.output_bytes,
                if c.3.raw.truncated { " (truncated by execnet)" } else { "" },
                OUTPUT_BUDGET / 1024
            )
        })
        .collect();
    verdict(failures, "init/setup/teardown output stayed small".into())
}

fn output_single_document(ctx: &Ctx) -> Judgement {
    let ts = need!(ctx, &["basic-lifecycle"]);
    let calls = status_calls(&ts);
    let failures = calls
        .iter()
        .filter(|c| {
            let out = c.3.output_text();
            let body = out.strip_suffix('\n').unwrap_or(&out);
            !body.is_empty() && (body.contains('\n') || body.trim() != body)
        })
        .map(|c| evidence::call_failed(c.0, c.3, "one JSON document on one line, nothing else"))
        .collect();
    verdict(failures, "status printed one document".into())
}

/// The catalogue, in report order.
pub static CATALOGUE: &[CheckDef] = &[
    CheckDef {
        id: "init/selection",
        level: Level::Must,
        title: "selection and init succeed",
        rationale: "The kubelet refused to start when selecting the plugin failed: executable not executable (access X_OK), no #! line, init exiting non-zero.",
        scenarios: &["basic-lifecycle"],
        judge: init_selection,
    },
    CheckDef {
        id: "init/restart",
        level: Level::Must,
        title: "init succeeds again after a kubelet restart",
        rationale: "Every kubelet restart probes, selects and calls init again while pods keep running.",
        scenarios: &["kubelet-restart"],
        judge: init_restart,
    },
    CheckDef {
        id: "args/long-names",
        level: Level::Must,
        title: "copes with names at the kubelet's length limits",
        rationale: "Namespaces are up to 63 chars, pod names up to 253 chars with dots, container ids 64 hex chars; all arrive as argv.",
        scenarios: &["long-names"],
        judge: args_long_names,
    },
    CheckDef {
        id: "args/swapped-status",
        level: Level::Should,
        title: "answers the kubelet 1.1–1.3 status call with name and namespace swapped",
        rationale: "Kubelet 1.1–1.3 called `status <name> <namespace> <id>` once right after setup; a plugin keyed by container id copes.",
        scenarios: &["basic-lifecycle"],
        judge: args_swapped_status,
    },
    CheckDef {
        id: "exit-code/success",
        level: Level::Must,
        title: "lifecycle calls exit 0",
        rationale: "Only the exit status tells the kubelet that setup, teardown or status worked.",
        scenarios: &[],
        judge: exit_code_success,
    },
    CheckDef {
        id: "exit-code/signal",
        level: Level::Must,
        title: "no call dies from a signal",
        rationale: "Go reports a plugin killed by a signal as `signal: …`, a failed call.",
        scenarios: &[],
        judge: exit_code_signal,
    },
    CheckDef {
        id: "fds/stdio-only",
        level: Level::Must,
        title: "works with stdin at /dev/null and only fds 0–2",
        rationale: "The kubelet's exec gives the plugin /dev/null as stdin, one pipe as stdout and stderr, and no other descriptor.",
        scenarios: &["basic-lifecycle"],
        judge: fds_stdio_only,
    },
    CheckDef {
        id: "status-json/parses",
        level: Level::Must,
        title: "status output parses as the kubelet parses it",
        rationale: "The kubelet decodes the COMBINED stdout+stderr with Go's encoding/json; any extra text (a log line on stderr) is an error.",
        scenarios: &[],
        judge: status_parses,
    },
    CheckDef {
        id: "status-json/ip-present",
        level: Level::Must,
        title: "status reports the pod IP",
        rationale: "A document without an ip made every real kubelet release report the pod IP as `<nil>` (the published text promised a fallback).",
        scenarios: &["basic-lifecycle"],
        judge: status_ip_present,
    },
    CheckDef {
        id: "status-json/ip-valid",
        level: Level::Must,
        title: "the status IP is a usable pod address",
        rationale: "The kubelet publishes the IP as the pod's address; loopback or unspecified addresses break every client.",
        scenarios: &["basic-lifecycle"],
        judge: status_ip_valid,
    },
    CheckDef {
        id: "status-json/kind-version",
        level: Level::Should,
        title: "status names its kind and apiVersion",
        rationale: "Optional in v1beta1, but they let the kubelet reject documents of another kind or version.",
        scenarios: &["basic-lifecycle"],
        judge: status_kind_version,
    },
    CheckDef {
        id: "lifecycle/setup-status-teardown",
        level: Level::Must,
        title: "setup → status → teardown works for every pod",
        rationale: "The kubelet's basic pod lifecycle.",
        scenarios: &["basic-lifecycle"],
        judge: lifecycle_basic,
    },
    CheckDef {
        id: "lifecycle/stable-ip",
        level: Level::Must,
        title: "one IP per infra container",
        rationale: "Status is polled every sync; a changing IP makes the pod's address flap.",
        scenarios: &["basic-lifecycle", "crash-without-teardown"],
        judge: lifecycle_stable_ip,
    },
    CheckDef {
        id: "lifecycle/distinct-ips",
        level: Level::Must,
        title: "live pods have distinct IPs",
        rationale: "Two live pods with one address break both.",
        scenarios: &["basic-lifecycle"],
        judge: lifecycle_distinct_ips,
    },
    CheckDef {
        id: "crash-restart/setup-new-id",
        level: Level::Must,
        title: "setup with the new id succeeds after each infra crash",
        rationale: "A crashed infra container is replaced and set up with a new id; teardown is never called for the dead one.",
        scenarios: &["crash-without-teardown"],
        judge: crash_setup_new_id,
    },
    CheckDef {
        id: "crash-restart/reclaim",
        level: Level::Must,
        title: "a crashed container's address is reclaimed",
        rationale: "No teardown follows a crash, so a plugin that frees addresses only in teardown leaks one per crash; judged over at least 16 cycles (a fresh address on every cycle is a leak).",
        scenarios: &["crash-without-teardown"],
        judge: crash_reclaim,
    },
    CheckDef {
        id: "idempotence/repeated-teardown",
        level: Level::Should,
        title: "a repeated teardown exits 0",
        rationale: "v1.2+ tear a deleted pod down again on the housekeeping pass when the runtime cache is stale (observed on v1.2 and v1.5); a kubelet restart during deletion repeats it too (execnet's probe).",
        scenarios: &["kubelet-restart", "slow-delete"],
        judge: idempotence_teardown,
    },
    CheckDef {
        id: "concurrency/parallel-setup",
        level: Level::Must,
        title: "parallel setups all succeed with distinct addresses",
        rationale: "Before v1.6 the kubelet ran one worker per pod with no plugin lock: setups run concurrently.",
        scenarios: &["parallel-pods"],
        judge: concurrency_parallel_setup,
    },
    CheckDef {
        id: "timeout/within-limit",
        level: Level::Must,
        title: "every call finishes within the timeout",
        rationale: "The kubelet had no timeout: a hung plugin hangs the pod worker forever.",
        scenarios: &[],
        judge: timeout_within_limit,
    },
    CheckDef {
        id: "timeout/p99",
        level: Level::Should,
        title: "p99 latency per action within budget",
        rationale: "Status runs for every pod on every sync; slow calls delay the kubelet's sync loop (budgets: status 1 s, others 5 s).",
        scenarios: &[],
        judge: timeout_p99,
    },
    CheckDef {
        id: "leak/output-pipe",
        level: Level::Must,
        title: "no descendant holds the output pipe after exit",
        rationale: "The kubelet's CombinedOutput waits for EOF: a daemon inheriting stdout/stderr hangs it.",
        scenarios: &[],
        judge: leak_pipe,
    },
    CheckDef {
        id: "leak/process-group",
        level: Level::Must,
        title: "no process of the call survives it",
        rationale: "Processes left behind by a plugin call accumulate on the node with every sync.",
        scenarios: &[],
        judge: leak_group,
    },
    CheckDef {
        id: "output/small",
        level: Level::Should,
        title: "init/setup/teardown output stays small",
        rationale: "The kubelet buffers the whole combined output in memory and logs it.",
        scenarios: &[],
        judge: output_small,
    },
    CheckDef {
        id: "output/single-document",
        level: Level::Should,
        title: "status prints one document on one line",
        rationale: "Anything besides the document is at best ignored whitespace and at worst a parse error.",
        scenarios: &["basic-lifecycle"],
        judge: output_single_document,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_use_the_spec_categories() {
        let cats = [
            "init",
            "args",
            "exit-code",
            "fds",
            "status-json",
            "lifecycle",
            "crash-restart",
            "idempotence",
            "concurrency",
            "timeout",
            "leak",
            "output",
        ];
        let mut seen = BTreeSet::new();
        for c in CATALOGUE {
            assert!(seen.insert(c.id), "duplicate id {}", c.id);
            assert!(
                cats.contains(&c.category()),
                "{} has an unknown category",
                c.id
            );
            for s in c.scenarios() {
                assert!(
                    ALL_SCENARIOS.contains(s),
                    "{} judges unknown scenario {s}",
                    c.id
                );
            }
        }
        for cat in cats {
            assert!(
                CATALOGUE.iter().any(|c| c.category() == cat),
                "no check in {cat}"
            );
        }
    }

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
