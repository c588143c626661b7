//! The checks, one file per category (docs/cli.md §5's categories). Each check is a named
//! [`CheckDef`] constant with its judge; a judge receives the transcripts of
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

use super::Level;
use super::evidence::{CallRef, Finding};
use crate::kubelet::profile::Profile;
use crate::kubelet::{CallPurpose, Event, IpSource, PodRef, Scenario, Transcript};
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
    pub const SAME_NAME: &str = "same-name";

    /// What the checks that judge "every scenario" judge: the scenarios in whose transcripts
    /// every plugin call can be judged. The others are judged by the checks that name them (`status-timing`: stable IP over ten minutes;
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
        SAME_NAME,
    ];
}

pub use sc::ALL as ALL_SCENARIOS;

/// Judged by [`live_duplicates`] (the distinct-IPs check).
pub(crate) fn live_duplicate_findings(t: &Transcript) -> (usize, Vec<Finding>) {
    live_duplicates(t)
}

/// One check of the catalogue.
#[derive(Debug)]
pub struct CheckDef {
    pub id: &'static str,
    pub level: Level,
    pub title: &'static str,
    pub rationale: &'static str,
    /// The scenarios it judges: the runner replays them and hands exactly their transcripts to
    /// the judge, in this order.
    pub scenarios: &'static [&'static str],
    /// The judge also sees transcripts in which the kubelet refused to start (otherwise such a
    /// scenario leaves the check without evidence).
    pub judges_start: bool,
    pub judge: fn(&Ctx, &[&Transcript]) -> Judgement,
}

impl CheckDef {
    pub fn scenarios(&self) -> &'static [&'static str] {
        self.scenarios
    }

    /// The runtimes that can judge it: a check of the network lifecycle (real infra containers)
    /// only `netns`; every other both.
    pub fn runtimes(&self) -> &'static [&'static str] {
        if self.scenarios == [super::network::LIFECYCLE] {
            &["netns"]
        } else {
            &["sim", "netns"]
        }
    }

    pub fn category(&self) -> &'static str {
        self.id.split('/').next().unwrap_or(self.id)
    }
}

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
    /// The plugin's pool as declared with `--pool` (the `pool-wrap` transcript is then among
    /// `transcripts`).
    pub pool: Option<super::pool::Pool>,
    /// The vendor's own scenarios replayed (`--scenario`): the checks of
    /// `catalogue::VENDOR_JUDGES` judge them too.
    pub vendor: &'a [String],
    /// `--runtime netns`: what the network lifecycle observed (the `network/*` checks judge it).
    pub network: Option<&'a super::network::NetworkEvidence>,
    /// The machine's 1-minute load average when the run started and when its scenarios ended
    /// (`/proc/loadavg`), for the latency check to state; `None`: not known.
    pub load: Option<(f64, f64)>,
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
/// of a kubelet restarted during a delete, docs/kubelet.md §3.5): the kubelet only logged its result.
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
/// from a possibly stale runtime cache, docs/kubelet.md §3.5). `idempotence/repeated-teardown` judges
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

/// Whether the kubelet published a usable pod IP from this source: the plugin's, or the
/// runtime's when status printed nothing or (kept, docs/plugin-manager.md §2.5) failed. The checks of pod IPs judge
/// what the kubelet published, as the kubelet saw it; only `<nil>` is no address.
pub fn published(source: IpSource) -> bool {
    !matches!(source, IpSource::Nil)
}

/// The IPs the kubelet published for each infra container (from the transcript's pod-IP
/// decisions, the runtime's included, see [`published`]): id → (pod, IPs).
fn ips_by_container(t: &Transcript) -> BTreeMap<String, (PodRef, BTreeSet<String>)> {
    ips_from(t, published)
}

/// The IPs the plugin's own status gave each infra container: id → (pod, IPs).
fn plugin_ips_by_container(t: &Transcript) -> BTreeMap<String, (PodRef, BTreeSet<String>)> {
    ips_from(t, |s| s == IpSource::Plugin)
}

fn ips_from(
    t: &Transcript,
    keep: impl Fn(IpSource) -> bool,
) -> BTreeMap<String, (PodRef, BTreeSet<String>)> {
    let mut map: BTreeMap<String, (PodRef, BTreeSet<String>)> = BTreeMap::new();
    for e in &t.entries {
        if let Event::PodIp {
            pod,
            id,
            ip,
            source,
        } = &e.event
            && keep(*source)
        {
            map.entry(id.clone())
                .or_insert_with(|| (pod.clone(), BTreeSet::new()))
                .1
                .insert(ip.clone());
        }
    }
    map
}

/// How many of `t`'s published pod IPs were the runtime's (status printed nothing or failed).
pub fn runtime_published(t: &Transcript) -> usize {
    t.entries
        .iter()
        .filter(|e| {
            matches!(
                e.event,
                Event::PodIp {
                    source: IpSource::Runtime | IpSource::Error,
                    ..
                }
            )
        })
        .count()
}

/// Pods that were published with the same IP at the same sync, and how many sync instants were
/// judged. Two runtime addresses alike are the runtime's doing, not the plugin's: a duplicate
/// counts when the plugin gave at least one of them.
fn duplicates_at_same_time(t: &Transcript) -> (usize, Vec<Finding>) {
    type AtIp = BTreeMap<String, (BTreeSet<String>, bool)>;
    let mut by_time: BTreeMap<(u64, usize), AtIp> = BTreeMap::new();
    for e in &t.entries {
        if let Event::PodIp {
            pod, ip, source, ..
        } = &e.event
            && published(*source)
        {
            let slot = by_time
                .entry((e.time_ms, e.step))
                .or_default()
                .entry(ip.clone())
                .or_default();
            slot.0.insert(pod.to_string());
            slot.1 |= *source == IpSource::Plugin;
        }
    }
    let mut out = Vec::new();
    let instants = by_time.len();
    for ((time, _), ips) in by_time {
        for (ip, (pods, plugin)) in ips {
            if pods.len() > 1 && plugin {
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

/// Addresses live in two pods at once: each published IP is compared with the addresses of
/// every other pod still live then (set up and not yet killed or crashed), whenever the kubelet
/// happened to ask. Returns how many decisions were judged and the findings. As with
/// [`duplicates_at_same_time`], two runtime addresses alike are not the plugin's doing.
fn live_duplicates(t: &Transcript) -> (usize, Vec<Finding>) {
    let mut live: BTreeMap<PodRef, (String, String, bool)> = BTreeMap::new();
    let mut judged = 0;
    let mut out = Vec::new();
    let mut reported: BTreeSet<(String, PodRef, PodRef)> = BTreeSet::new();
    for e in &t.entries {
        match &e.event {
            Event::PodIp {
                pod,
                id,
                ip,
                source,
            } if published(*source) => {
                judged += 1;
                let plugin = *source == IpSource::Plugin;
                for (other, (_, oip, oplugin)) in &live {
                    if other != pod
                        && oip == ip
                        && (plugin || *oplugin)
                        && reported.insert((ip.clone(), pod.clone(), other.clone()))
                    {
                        out.push(Finding::about(
                            t,
                            Some(pod),
                            format!(
                                "at t={} pod {pod} was given {ip}, the address of pod {other}, which was still live",
                                crate::kubelet::render::format_time(e.time_ms)
                            ),
                            "an address no live pod holds: a plugin that keys its state by pod name alone (or frees the address of another namespace's pod of that name) hands one address to two pods",
                        ));
                    }
                }
                live.insert(pod.clone(), (id.clone(), ip.clone(), plugin));
            }
            Event::InfraKilled { pod, id, .. } | Event::InfraCrashed { pod, id }
                if live.get(pod).is_some_and(|(lid, ..)| lid == id) =>
            {
                live.remove(pod);
            }
            _ => {}
        }
    }
    (judged, out)
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
