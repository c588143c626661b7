//! The checks, one file per category (SPEC 5's categories). Each check is a named
//! [`CheckDef`](super::CheckDef) constant with its judge; a judge receives the transcripts of
//! exactly the scenarios its definition names (stated once, in the definition) and returns a
//! [`Judgement`]: how many items it judged, and a [`Finding`] per thing wrong. Judges read
//! transcripts only; they never call a plugin.

pub mod args;
pub mod concurrency;
pub mod crash_restart;
pub mod exit_code;
pub mod fds;
pub mod idempotence;
pub mod init;
pub mod leak;
pub mod lifecycle;
pub mod not_set_up;
pub mod output;
pub mod status_json;
pub mod timeout;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::evidence::{CallRef, Finding};
use crate::kubelet::profile::Profile;
use crate::kubelet::{CallPurpose, Event, PodRef, Scenario, Transcript};
use crate::plugin::{Outcome, StatusResult};

/// The scenarios of the suite (`conformance/scenarios/`), by name.
pub mod sc {
    pub const BASIC: &str = "basic-lifecycle";
    pub const CRASH: &str = "crash-without-teardown";
    pub const SETUP_FAILURE: &str = "setup-failure";
    pub const RESTART: &str = "kubelet-restart";
    pub const HOST_NETWORK: &str = "host-network";
    pub const PARALLEL: &str = "parallel-pods";
    pub const LONG_NAMES: &str = "long-names";
    pub const STATUS_TIMING: &str = "status-timing";
    pub const STATUS_FAILURE: &str = "status-failure";
    pub const STATUS_FAILURE_DELETE: &str = "status-failure-then-delete";
    pub const APP_EXIT: &str = "app-exit";
    pub const DOCKER_RESTART: &str = "docker-restart";
    pub const RESTART_DELETED: &str = "restart-with-deleted-pods";
    pub const SLOW_DELETE: &str = "slow-delete";

    /// What the checks that judge "every scenario" judge: the original seven and the three
    /// whose transcripts every plugin call can be judged in. The other new scenarios are judged
    /// by the checks that name them (`status-timing`: stable IP over ten minutes;
    /// `status-failure-then-delete`, `app-exit`, `restart-with-deleted-pods`: late teardowns).
    pub const COMMON: &[&str] = &[
        BASIC,
        CRASH,
        SETUP_FAILURE,
        RESTART,
        HOST_NETWORK,
        PARALLEL,
        LONG_NAMES,
        STATUS_FAILURE,
        DOCKER_RESTART,
        SLOW_DELETE,
    ];

    /// Every scenario of the suite, in the order the runner replays them.
    pub const ALL: &[&str] = &[
        BASIC,
        CRASH,
        SETUP_FAILURE,
        RESTART,
        HOST_NETWORK,
        PARALLEL,
        LONG_NAMES,
        STATUS_TIMING,
        STATUS_FAILURE,
        STATUS_FAILURE_DELETE,
        APP_EXIT,
        DOCKER_RESTART,
        RESTART_DELETED,
        SLOW_DELETE,
    ];
}

pub use sc::ALL as ALL_SCENARIOS;

/// What a judge concluded, before the check's level turns findings into `fail` or `warn`.
#[derive(Debug, Clone, PartialEq)]
pub enum Judgement {
    /// `judged` items (calls, pods, containers…) were looked at; a finding per thing wrong.
    Judged(Judged),
    /// The check does not apply here (the profile never makes the call it judges). Never
    /// changes the verdict.
    NotApplicable(String),
    /// The scenarios produced nothing this check could judge: a skip that makes the verdict
    /// inconclusive for a `must` check.
    NoEvidence(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    pub judged: usize,
    /// What was judged, one line (the pass evidence).
    pub summary: String,
    pub findings: Vec<Finding>,
    /// Set when the findings of a `must` check are only a warning under this profile: why.
    pub warn_only: Option<String>,
}

/// `judged` items judged, `summary` says what; `findings` what was wrong.
pub fn judged(judged: usize, summary: impl Into<String>, findings: Vec<Finding>) -> Judgement {
    Judgement::Judged(Judged {
        judged,
        summary: summary.into(),
        findings,
        warn_only: None,
    })
}

/// What judges look at.
#[derive(Debug)]
pub struct Ctx<'a> {
    pub transcripts: &'a BTreeMap<String, Transcript>,
    /// The scenarios replayed (for what a transcript does not say, e.g. host-network pods).
    pub scenarios: &'a BTreeMap<String, Scenario>,
    pub profile: &'static Profile,
    pub timeout: Option<Duration>,
}

impl<'a> Ctx<'a> {
    fn host_network(&self, scenario: &str, pod: Option<&PodRef>) -> bool {
        let (Some(s), Some(pod)) = (self.scenarios.get(scenario), pod) else {
            return false;
        };
        s.pod_named(&pod.namespace, &pod.name)
            .is_some_and(|p| p.host_network)
    }

    /// Every plugin call of `ts`, in transcript order.
    pub fn calls(&self, ts: &[&'a Transcript]) -> Vec<CallRef<'a>> {
        ts.iter()
            .flat_map(|t| {
                t.calls().map(move |(purpose, pod, id, call)| CallRef {
                    transcript: t,
                    purpose,
                    pod,
                    id,
                    call,
                    host_network: self.host_network(&t.scenario, pod),
                })
            })
            .collect()
    }

    /// The periodic status calls of `ts` that exited 0 (their output was parsed).
    pub fn status_calls(&self, ts: &[&'a Transcript]) -> Vec<CallRef<'a>> {
        self.calls(ts)
            .into_iter()
            .filter(|c| c.purpose.is_periodic_status() && c.call.succeeded())
            .collect()
    }
}

/// The kubelet's start-up error in `t`, if it refused to start.
pub fn start_error(t: &Transcript) -> Option<String> {
    t.entries.iter().find_map(|e| match &e.event {
        Event::KubeletStart {
            error: Some(err), ..
        } => Some(err.clone()),
        _ => None,
    })
}

/// Lifecycle calls (not execnet's idempotence probes) that did not exit 0 for a reason other
/// than a signal or a timeout (those have checks of their own).
fn exited_nonzero<'a>(calls: &[CallRef<'a>]) -> Vec<CallRef<'a>> {
    calls
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            c.purpose != CallPurpose::IdempotenceProbe
                // The kubelet only logged a status for a container not set up (yet, or any
                // more): `status-json/not-set-up` judges those.
                && c.purpose != CallPurpose::RelistBeforeSetup
                && !is_late_status(calls, *i)
                && !is_repeated_teardown(calls, *i)
                && matches!(
                    c.call.outcome(),
                    Outcome::Exited { .. } | Outcome::SpawnFailed { .. }
                )
        })
        .map(|(_, c)| *c)
        .collect()
}

/// A `status` for an infra container already torn down in the same scenario (the first relist
/// of a kubelet restarted during a delete, SPEC 3.5): the kubelet only logged its result.
pub fn is_late_status(calls: &[CallRef], i: usize) -> bool {
    let c = &calls[i];
    c.purpose.is_status()
        && c.id.is_some()
        && calls[..i].iter().any(|e| {
            std::ptr::eq(e.transcript, c.transcript) && e.purpose.is_teardown() && e.id == c.id
        })
}

/// A repeated or late kubelet teardown: of a container id already torn down earlier in the
/// same scenario, or from the v1.2+ housekeeping pass (a pod that should not exist, torn down
/// from a possibly stale runtime cache, SPEC 3.5). `idempotence/repeated-teardown` judges
/// those; the kubelet only logs their failure.
pub fn is_repeated_teardown(calls: &[CallRef], i: usize) -> bool {
    let c = &calls[i];
    c.purpose == CallPurpose::Housekeeping
        || (c.purpose.is_teardown()
            && c.id.is_some()
            && calls[..i].iter().any(|e| {
                std::ptr::eq(e.transcript, c.transcript) && e.purpose.is_teardown() && e.id == c.id
            }))
}

/// The IPs each infra container reported (from the transcript's pod-IP decisions): id → (pod,
/// IPs).
fn ips_by_container(t: &Transcript) -> BTreeMap<String, (PodRef, BTreeSet<String>)> {
    let mut map: BTreeMap<String, (PodRef, BTreeSet<String>)> = BTreeMap::new();
    for e in &t.entries {
        if let Event::PodIp {
            pod,
            id,
            ip,
            source: crate::kubelet::IpSource::Plugin,
        } = &e.event
        {
            map.entry(id.clone())
                .or_insert_with(|| (pod.clone(), BTreeSet::new()))
                .1
                .insert(ip.clone());
        }
    }
    map
}

/// Pods that reported the same IP at the same sync, and how many sync instants were judged.
fn duplicates_at_same_time(t: &Transcript) -> (usize, Vec<Finding>) {
    let mut by_time: BTreeMap<(u64, usize), BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for e in &t.entries {
        if let Event::PodIp {
            pod,
            ip,
            source: crate::kubelet::IpSource::Plugin,
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
    let instants = by_time.len();
    for ((time, _), ips) in by_time {
        for (ip, pods) in ips {
            if pods.len() > 1 {
                out.push(Finding::about(
                    t,
                    None,
                    format!(
                        "at t={} pods {} all reported IP {ip}",
                        crate::kubelet::render::format_time(time),
                        pods.into_iter().collect::<Vec<_>>().join(", ")
                    ),
                    "distinct addresses for live pods",
                ));
            }
        }
    }
    (instants, out)
}

/// Whether a status result is one the kubelet could not use as a pod IP.
fn unusable_status(status: &Option<StatusResult>) -> bool {
    matches!(
        status,
        Some(StatusResult::Error { .. })
            | Some(StatusResult::Status { ip: None, .. })
            | Some(StatusResult::NotJudged { .. })
    )
}
