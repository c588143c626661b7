//! Replay: one scenario against one plugin directory under one profile, step by step on a
//! virtual clock. A step that touches several pods is one *phase*: each pod's work runs on a
//! worker thread (`jobs` of them) and buffers its events; after the phase the buffers are
//! appended in pod declaration order, so the transcript is byte-identical whatever the
//! interleaving. All events of a phase carry the same virtual instant.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::plugin::{self, CallPolicy, Direct, NetworkPlugin, Runner, StatusResult};

use super::pod::{Kubelet, Pod};
use super::profile::Profile;
use super::runtime::Runtime;
use super::scenario::{Scenario, Step};
use super::transcript::{CallPurpose, Entry, Event, Transcript};

/// How to replay.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    pub profile: &'static Profile,
    /// Seeds the runtime's container IDs and IPs.
    pub seed: u64,
    /// Pod workers; `None`: the scenario's `jobs`, else 1.
    pub jobs: Option<usize>,
    /// Per-call timeout; `None` reproduces the kubelet, which had none.
    pub timeout: Option<Duration>,
    /// How calls are run: `None`, plainly as the kubelet did; `Some`, through a supervisor
    /// (`crate::supervise`) that owns timeout memory and leftovers, shared across kubelet
    /// restarts and replays.
    pub runner: Option<Arc<dyn Runner>>,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            profile: Profile::default_profile(),
            seed: 0,
            jobs: None,
            timeout: CallPolicy::default().timeout,
            runner: None,
        }
    }
}

/// Replay `scenario` against plugin `plugin` of `plugin_dir`. Never fails: a kubelet that
/// cannot start (plugin not found, init failed) is recorded and ends the replay.
pub fn replay(
    plugin_dir: &Path,
    plugin: &str,
    scenario: &Scenario,
    options: &ReplayOptions,
) -> Transcript {
    replay_observed(plugin_dir, plugin, scenario, options, &mut |_| {})
}

/// [`replay`], telling `observer` about each transcript entry as it is recorded (at the end of
/// its phase, in transcript order), for live progress.
pub fn replay_observed(
    plugin_dir: &Path,
    plugin: &str,
    scenario: &Scenario,
    options: &ReplayOptions,
    observer: &mut dyn FnMut(&Entry),
) -> Transcript {
    let policy = CallPolicy::default().with_timeout(options.timeout);
    let runner: Arc<dyn Runner> = options.runner.clone().unwrap_or_else(|| Arc::new(Direct));
    let jobs = options.jobs.or(scenario.jobs).unwrap_or(1).max(1);
    let runtime = Runtime::new(options.seed);
    let mut pods: Vec<Pod> = scenario
        .pods
        .iter()
        .enumerate()
        .map(|(i, p)| Pod::new(i, p.pod_ref(), p.host_network))
        .collect();
    let mut transcript = Transcript {
        scenario: scenario.name.clone(),
        plugin: if plugin.is_empty() {
            plugin::NOOP_NAME.to_string()
        } else {
            plugin.to_string()
        },
        profile: options.profile.name.to_string(),
        seed: options.seed,
        entries: Vec::new(),
    };
    let mut selected: Option<NetworkPlugin> = None;
    let mut time_s = 0u64;
    for (step, action) in scenario.steps.iter().enumerate() {
        let mut push = |time_s: u64, events: Vec<Event>| {
            for event in events {
                let entry = Entry {
                    time_s,
                    step,
                    event,
                };
                observer(&entry);
                transcript.entries.push(entry);
            }
        };
        let targets: Vec<usize> = action
            .pod_refs()
            .iter()
            .filter_map(|r| scenario.pod_index(r))
            .collect();
        match action {
            Step::StartKubelet(_) | Step::RestartKubelet(_) => {
                let restart = matches!(action, Step::RestartKubelet(_));
                let (started, events) = start_kubelet(
                    plugin_dir,
                    plugin,
                    policy,
                    restart,
                    &runner,
                    plugin::SelectionTexts::for_profile(options.profile.name),
                );
                push(time_s, events);
                match started {
                    Some(p) => selected = Some(p),
                    None => break,
                }
                continue;
            }
            Step::Sync(s) => {
                let Some(net) = &selected else { break };
                let k = kubelet(options, net, runtime);
                let all: Vec<usize> = (0..pods.len()).collect();
                for _ in 0..s.count {
                    time_s += scenario.sync_interval_s;
                    push(
                        time_s,
                        phase(&mut pods, &all, jobs, |p, out| p.sync(&k, out)),
                    );
                }
            }
            Step::Create(_) => {
                let Some(net) = &selected else { break };
                let k = kubelet(options, net, runtime);
                push(
                    time_s,
                    phase(&mut pods, &targets, jobs, |p, out| p.create(&k, out)),
                );
            }
            Step::Delete(_) => {
                let Some(net) = &selected else { break };
                let k = kubelet(options, net, runtime);
                push(
                    time_s,
                    phase(&mut pods, &targets, jobs, |p, out| p.delete(&k, out)),
                );
            }
            Step::Crash(_) => {
                push(time_s, phase(&mut pods, &targets, 1, |p, out| p.crash(out)));
            }
            Step::FailSetup(_) => {
                for &i in &targets {
                    pods[i].fail_next_setup();
                }
            }
            Step::RestartDuringDelete(_) => {
                let Some(net) = &selected else { break };
                let Some(&i) = targets.first() else { continue };
                let pod = &mut pods[i];
                let mut out = Vec::new();
                if !pod.exists {
                    out.push(Event::Note {
                        pod: Some(pod.pod.clone()),
                        text: "pod does not exist: delete ignored".into(),
                    });
                    push(time_s, out);
                    continue;
                }
                pod.teardown(
                    &kubelet(options, net, runtime),
                    CallPurpose::Teardown,
                    &mut out,
                );
                out.push(Event::Note {
                    pod: Some(pod.pod.clone()),
                    text: "the kubelet restarts before killing the infra container".into(),
                });
                let (started, events) = start_kubelet(
                    plugin_dir,
                    plugin,
                    policy,
                    true,
                    &runner,
                    plugin::SelectionTexts::for_profile(options.profile.name),
                );
                out.extend(events);
                push(time_s, out);
                let Some(net) = started else { break };
                let mut out = Vec::new();
                let pod = &mut pods[i];
                let k = kubelet(options, &net, runtime);
                pod.teardown(&k, CallPurpose::IdempotenceProbe, &mut out);
                pod.finish_delete(&mut out);
                push(time_s, out);
                selected = Some(net);
            }
        }
    }
    transcript
}

fn kubelet<'a>(
    options: &ReplayOptions,
    plugin: &'a NetworkPlugin,
    runtime: Runtime,
) -> Kubelet<'a> {
    Kubelet {
        profile: options.profile,
        plugin,
        runtime,
    }
}

/// Probe, select, init. Returns the plugin when the kubelet could start (no error at all, as
/// the real kubelet refused to start on any).
fn start_kubelet(
    plugin_dir: &Path,
    requested: &str,
    policy: CallPolicy,
    restart: bool,
    runner: &Arc<dyn Runner>,
    texts: plugin::SelectionTexts,
) -> (Option<NetworkPlugin>, Vec<Event>) {
    let probe = plugin::probe(plugin_dir);
    let selection = plugin::select::select_with(
        &probe.plugins,
        requested,
        policy,
        true,
        texts,
        runner.clone(),
    );
    let mut events = Vec::new();
    if let Some(why) = &probe.unreadable {
        events.push(Event::Note {
            pod: None,
            text: format!("plugin directory unreadable, no plugins seen: {why}"),
        });
    }
    let error = selection.error_text();
    events.push(Event::KubeletStart {
        restart,
        plugin: selection
            .plugin
            .as_ref()
            .map_or(requested, NetworkPlugin::name)
            .to_string(),
        error: error.clone(),
    });
    if let Some(init) = selection.init {
        events.push(Event::Call {
            purpose: CallPurpose::Init,
            pod: None,
            id: None,
            call: init,
        });
    }
    if error.is_some() || selection.plugin.is_none() {
        events.push(Event::Note {
            pod: None,
            text: "the kubelet refuses to start: the replay ends here".into(),
        });
        return (None, events);
    }
    (selection.plugin, events)
}

/// Run `work` for each pod in `targets` on up to `jobs` workers; the events come back in
/// declaration order.
fn phase<F>(pods: &mut [Pod], targets: &[usize], jobs: usize, work: F) -> Vec<Event>
where
    F: Fn(&mut Pod, &mut Vec<Event>) + Sync,
{
    let mut chosen: Vec<&mut Pod> = pods
        .iter_mut()
        .filter(|p| targets.contains(&p.index))
        .collect();
    let mut buffers: Vec<Vec<Event>> = vec![Vec::new(); chosen.len()];
    if jobs <= 1 || chosen.len() <= 1 {
        for (pod, buffer) in chosen.iter_mut().zip(buffers.iter_mut()) {
            work(pod, buffer);
        }
    } else {
        let workers = jobs.min(chosen.len());
        let queue: Mutex<VecDeque<(&mut Pod, &mut Vec<Event>)>> =
            Mutex::new(chosen.into_iter().zip(buffers.iter_mut()).collect());
        let drain = || {
            loop {
                let next = queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
                let Some((pod, buffer)) = next else { break };
                work(pod, buffer);
            }
        };
        std::thread::scope(|s| {
            for _ in 0..workers {
                // A thread the OS refuses (process limit) is no reason to fail: the queue is
                // drained by the workers that did start, and by this thread.
                if std::thread::Builder::new().spawn_scoped(s, drain).is_err() {
                    break;
                }
            }
            drain();
        });
    }
    buffers.into_iter().flatten().collect()
}

/// Whether the kubelet started and every plugin call succeeded (a status whose output could
/// not be parsed counts as failed, as in `execnet call`). Drives `execnet replay`'s exit code.
pub fn succeeded(transcript: &Transcript) -> bool {
    let started = transcript
        .entries
        .iter()
        .all(|e| !matches!(e.event, Event::KubeletStart { error: Some(_), .. }));
    started
        && transcript.calls().all(|(_, _, _, call)| {
            call.succeeded() && !matches!(call.status, Some(StatusResult::Error { .. }))
        })
}
