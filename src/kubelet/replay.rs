//! Replay: one scenario against one plugin directory under one profile, on a virtual clock in
//! milliseconds. Scenario steps happen at the current instant; between them virtual time passes
//! and the release's loops run (profile.rs): v1.1's sync loop, or v1.2+'s PLEG relist,
//! pod-worker wake-ups, periodic resync and housekeeping.
//!
//! At each instant everything that is due runs concurrently, as in the kubelet: one thread per
//! pod with work (its worker, or the housekeeping kill of a pod that should not exist), up to
//! `jobs` of them, and the PLEG's relist on a thread of its own (its `status` calls one after
//! the other, as `relist` → `updateCache` made them: v1.5.0 `pkg/kubelet/pleg/generic.go`
//! `relist`, "inspecting the pod … serially"). So a relist's `status` can run while the same
//! pod's worker runs `setup` or `teardown`. Each actor buffers its events; after the phase the
//! buffers are appended in a canonical order (pods in declaration order, then the PLEG), so the
//! transcript is byte-identical whatever the interleaving.

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::plugin::{self, CallPolicy, Direct, NetworkPlugin, Runner, StatusResult};

use super::pod::{Kubelet, Pod, status_call};
use super::profile::{LoopKind, Profile, RESYNC_PERIOD_MS, StatusErrorPolicy};
use super::runtime::{ContainerState, Runtime};
use super::scenario::{Resolver, Scenario, Step};
use super::transcript::{CallPurpose, Entry, Event, PodRef, Transcript};

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
    /// A real container runtime (`--runtime netns`): every infra container the model creates is
    /// also created there (its IP becomes the runtime IP) and killed there when the model kills
    /// or crashes it. `None`: the simulated runtime alone.
    pub runtime: Option<std::sync::Arc<dyn crate::runtime::ContainerRuntime>>,
    /// The plugins' environment (the runtime adds its own to it).
    pub env: crate::plugin::policy::PluginEnv,
    /// Stop simulating a status-error churn after this many new infra containers per pod
    /// (overrides the scenario's `churn_limit`; `None`: the scenario's, else no bound, as the
    /// real kubelet).
    pub churn_limit: Option<u32>,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            profile: Profile::default_profile(),
            seed: 0,
            jobs: None,
            timeout: CallPolicy::default().timeout,
            runner: None,
            runtime: None,
            env: crate::plugin::policy::PluginEnv::kubelet(),
            churn_limit: None,
        }
    }
}

/// Work for one pod at one instant.
#[derive(Debug, Clone)]
enum Job {
    /// A v1.2+ worker sync (PLEG event, wake-up, resync).
    SyncPleg,
    /// A v1.1 sync-loop sync.
    SyncLoop { first: bool },
    /// The end of a deletion whose app containers took their grace period.
    FinishDelete,
    /// The housekeeping pass kills this infra container of a pod that should not exist.
    Housekeeping(String),
}

/// The runtime cache housekeeping reads (v1.2.0 `pkg/kubelet/container/runtime_cache.go`).
#[derive(Debug, Default)]
struct RuntimeCache {
    /// When it was last refreshed.
    time_ms: Option<u64>,
    /// Per pod with any: the running infra container ids, newest first.
    running: BTreeMap<usize, Vec<String>>,
}

/// The pods the kubelet has state for, by number (declaration order). A pod enters when a
/// step names it and leaves once nothing of it is left to observe ([`Engine::release`]), so
/// memory follows the live pods, not the scenario's.
#[derive(Debug, Default)]
struct Pods(BTreeMap<usize, Pod>);

impl Pods {
    fn iter(&self) -> impl Iterator<Item = &Pod> {
        self.0.values()
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = &mut Pod> {
        self.0.values_mut()
    }

    fn indices(&self) -> Vec<usize> {
        self.0.keys().copied().collect()
    }

    /// The live pods among `targets`, in declaration order.
    fn chosen(&mut self, targets: &[usize]) -> Vec<&mut Pod> {
        let wanted: HashSet<usize> = targets.iter().copied().collect();
        self.0
            .values_mut()
            .filter(|p| wanted.contains(&p.index))
            .collect()
    }
}

impl std::ops::Index<usize> for Pods {
    type Output = Pod;
    fn index(&self, i: usize) -> &Pod {
        &self.0[&i]
    }
}

impl std::ops::IndexMut<usize> for Pods {
    fn index_mut(&mut self, i: usize) -> &mut Pod {
        self.0.get_mut(&i).expect("a live pod")
    }
}

/// The infra-container count (`Pod::generation`) of pods that left [`Pods`], as ranges of
/// pod numbers with the same count (a pod created again goes on from it: its container IDs
/// depend on it). Pods run through in waves leave a few ranges, not one entry per pod.
#[derive(Debug, Default)]
struct Retired(BTreeMap<usize, (usize, u64)>);

impl Retired {
    fn get(&self, i: usize) -> u64 {
        match self.0.range(..=i).next_back() {
            Some((_, &(end, generation))) if i < end => generation,
            _ => 0,
        }
    }

    fn set(&mut self, i: usize, generation: u64) {
        if self.get(i) == generation {
            return;
        }
        // Cut `i` out of the range holding it.
        if let Some((&start, &(end, g))) = self.0.range(..=i).next_back()
            && i < end
        {
            self.0.remove(&start);
            if start < i {
                self.0.insert(start, (i, g));
            }
            if i + 1 < end {
                self.0.insert(i + 1, (end, g));
            }
        }
        let (mut start, mut end) = (i, i + 1);
        if generation != 0 {
            // Join the neighbours with the same count.
            if let Some((&s, &(e, g))) = self.0.range(..i).next_back()
                && e == i
                && g == generation
            {
                self.0.remove(&s);
                start = s;
            }
            if let Some(&(e, g)) = self.0.get(&(i + 1))
                && g == generation
            {
                self.0.remove(&(i + 1));
                end = e;
            }
            self.0.insert(start, (end, generation));
        }
    }
}

/// Where the transcript's entries go: to the observer, and (unless streamed) into the
/// transcript.
struct Sink<'a> {
    observer: &'a mut dyn FnMut(&Entry),
    keep: bool,
    entries: Vec<Entry>,
}

impl Sink<'_> {
    fn push(&mut self, time_ms: u64, step: usize, events: Vec<Event>) {
        for event in events {
            let entry = Entry {
                time_ms,
                step,
                event,
            };
            (self.observer)(&entry);
            if self.keep {
                self.entries.push(entry);
            }
        }
    }
}

struct Engine<'a> {
    out: Sink<'a>,
    plugin_dir: &'a Path,
    plugin: &'a str,
    policy: CallPolicy,
    runner: Arc<dyn Runner>,
    /// A real runtime the model's infra containers are also created in (`--runtime netns`).
    real: Option<&'a dyn crate::runtime::ContainerRuntime>,
    profile: &'static Profile,
    runtime: Runtime,
    jobs: usize,
    pods: Pods,
    /// The scenario's pods by number, for those that enter [`Pods`].
    resolver: Resolver<'a>,
    retired: Retired,
    net: Option<NetworkPlugin>,
    transcript: Transcript,
    step: usize,
    now: u64,
    /// Sync loop: the next sync tick.
    next_sync: u64,
    sync_interval_ms: u64,
    churn_limit: Option<u32>,
    /// PLEG: the next relist; whether it is the first since the kubelet (re)started.
    next_relist: u64,
    first_relist: bool,
    next_housekeeping: u64,
    next_resync: u64,
    kubelet_started: u64,
    cache: RuntimeCache,
    /// Worker wake-ups: (instant, pod).
    wakes: BTreeSet<(u64, usize)>,
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
    run(plugin_dir, plugin, scenario, options, observer, true)
}

/// [`replay_observed`] without keeping the entries: each goes to `sink` as soon as its place in
/// the transcript is certain, and the returned transcript has none. Memory does not grow with
/// the transcript, nor with the number of pods a phase touches: a phase's pods are taken in
/// declaration order and at most [`REORDER_WINDOW`] of them may be done ahead of the oldest
/// unfinished one; a relist's results wait for the phase's pods in a bounded queue
/// ([`RELIST_QUEUE`]). The entries, in order, are exactly the [`replay`] transcript's.
pub fn replay_streamed(
    plugin_dir: &Path,
    plugin: &str,
    scenario: &Scenario,
    options: &ReplayOptions,
    sink: &mut dyn FnMut(&Entry),
) -> Transcript {
    run(plugin_dir, plugin, scenario, options, sink, false)
}

/// Pods of one phase that may be finished ahead of the oldest unfinished one (their events
/// wait to be emitted in declaration order).
pub const REORDER_WINDOW: usize = 256;

/// Relist results that may wait while the pod workers of the same instant run. Beyond it the
/// PLEG thread waits for them (never reached by the bundled scenarios, whose relists make a
/// few dozen calls at most).
pub const RELIST_QUEUE: usize = 4096;

fn run(
    plugin_dir: &Path,
    plugin: &str,
    scenario: &Scenario,
    options: &ReplayOptions,
    observer: &mut dyn FnMut(&Entry),
    keep: bool,
) -> Transcript {
    let env = match &options.runtime {
        Some(rt) => rt.plugin_env(options.env.clone()),
        None => options.env.clone(),
    };
    let policy = CallPolicy::default()
        .with_timeout(options.timeout)
        .with_env(env);
    let runner: Arc<dyn Runner> = options.runner.clone().unwrap_or_else(|| Arc::new(Direct));
    let mut engine = Engine {
        out: Sink {
            observer,
            keep,
            entries: Vec::new(),
        },
        plugin_dir,
        plugin,
        policy,
        runner,
        real: options.runtime.as_deref(),
        profile: options.profile,
        runtime: Runtime::new(options.seed, &scenario.name),
        jobs: options.jobs.or(scenario.jobs).unwrap_or(1).max(1),
        pods: Pods::default(),
        resolver: Resolver::new(scenario),
        retired: Retired::default(),
        net: None,
        transcript: Transcript {
            scenario: scenario.name.clone(),
            plugin: if plugin.is_empty() {
                plugin::NOOP_NAME.to_string()
            } else {
                plugin.to_string()
            },
            profile: options.profile.name.to_string(),
            seed: options.seed,
            entries: Vec::new(),
            churn_bound: None,
        },
        step: 0,
        now: 0,
        next_sync: u64::MAX,
        sync_interval_ms: scenario.sync_interval_s * 1000,
        churn_limit: options.churn_limit.or(scenario.churn_limit),
        next_relist: u64::MAX,
        first_relist: false,
        next_housekeeping: u64::MAX,
        next_resync: u64::MAX,
        kubelet_started: 0,
        cache: RuntimeCache::default(),
        wakes: BTreeSet::new(),
    };
    // Steps are numbered as run: a `repeat`'s steps once per iteration.
    for (step, expanded) in scenario.expanded().enumerate() {
        engine.step = step;
        engine.enter(&expanded.targets);
        let go_on = engine.run_step(expanded.step, &expanded.targets);
        engine.release();
        if !go_on {
            break;
        }
    }
    // A real runtime's containers end with the replay (the node is drained; no teardown).
    if let Some(real) = options.runtime.as_deref() {
        for c in engine.pods.iter().flat_map(|p| p.infras.iter()) {
            if c.is_running() {
                let _ = real.kill(&c.id);
            }
        }
    }
    let churn_limit = engine.churn_limit;
    let mut transcript = engine.transcript;
    transcript.entries = engine.out.entries;
    let stopped = transcript.entries.iter().any(|e| {
        matches!(&e.event, Event::Note { text, .. } if text.starts_with(super::pod::CHURN_STOP_NOTE))
    });
    transcript.churn_bound = churn_limit.filter(|_| stopped);
    transcript
}

impl<'a> Engine<'a> {
    /// The pods a step names enter [`Pods`] (as declared, or as they left it).
    fn enter(&mut self, targets: &[usize]) {
        for &i in targets {
            if self.pods.0.contains_key(&i) {
                continue;
            }
            let Some(spec) = self.resolver.pod(i) else {
                continue;
            };
            let mut pod = Pod::new(i, spec);
            pod.generation = self.retired.get(i);
            self.pods.0.insert(i, pod);
        }
    }

    /// Pods with nothing left to observe leave [`Pods`]: not wanted, nothing running, nothing
    /// pending (no wake-up, no injected failure, no runtime-cache entry a housekeeping pass
    /// could still act on) and, under the PLEG, the last relist saw them as they are. A pod
    /// built again from its declaration behaves the same from then on: every step and loop
    /// does to it what it does to a pod never created, except the infra-container count,
    /// which is kept ([`Retired`]).
    fn release(&mut self) {
        let waking: HashSet<usize> = self.wakes.iter().map(|&(_, i)| i).collect();
        let pleg = self.profile.is_pleg();
        let cache = &self.cache.running;
        let gone: Vec<usize> = self
            .pods
            .iter()
            .filter(|p| {
                p.quiescent(pleg) && !waking.contains(&p.index) && !cache.contains_key(&p.index)
            })
            .map(|p| p.index)
            .collect();
        for i in gone {
            if let Some(p) = self.pods.0.remove(&i) {
                self.retired.set(i, p.generation);
            }
        }
    }

    fn push(&mut self, events: Vec<Event>) {
        // The real runtime follows the model's kills and crashes (SIGKILL of everything in
        // the pod's network namespace).
        if let Some(real) = self.real {
            for event in &events {
                if let Event::InfraKilled { id, .. } | Event::InfraCrashed { id, .. } = event {
                    let _ = real.kill(id);
                }
            }
        }
        self.out.push(self.now, self.step, events);
    }

    fn kubelet<'n>(&self, net: &'n NetworkPlugin) -> Kubelet<'n>
    where
        'a: 'n,
    {
        Kubelet {
            real: self.real,
            profile: self.profile,
            plugin: net,
            runtime: self.runtime,
            now_ms: self.now,
            churn_limit: self.churn_limit,
        }
    }

    /// One scenario step. `false`: the replay ends (the kubelet could not start).
    fn run_step(&mut self, action: &Step, targets: &[usize]) -> bool {
        if !matches!(action, Step::StartKubelet(_)) && self.net.is_none() {
            return false;
        }
        match action {
            Step::StartKubelet(_) => return self.start_kubelet(false),
            Step::RestartKubelet(r) => {
                // Pods deleted from the pod source while the kubelet was down: nothing calls
                // the plugin for them until the restarted kubelet's housekeeping.
                let _ = r;
                for &i in targets {
                    let pod = &mut self.pods[i];
                    pod.desired = false;
                    pod.deleting = false;
                    let text = "deleted from the API server while the kubelet was down".into();
                    let e = Event::Note {
                        pod: Some(pod.pod.clone()),
                        text,
                    };
                    self.push(vec![e]);
                }
                return self.start_kubelet(true);
            }
            Step::Sync(s) => {
                let target = self.now + u64::from(s.count) * self.sync_interval_ms;
                self.advance_to(target);
            }
            Step::Wait(w) => {
                let target = self.now + w.ms;
                self.advance_to(target);
            }
            Step::Create(_) => self.pod_phase(targets, |p, k, out| p.create(k, out)),
            Step::Delete(_) => self.pod_phase(targets, |p, k, out| p.delete(k, out)),
            Step::Crash(_) => self.pod_phase(targets, |p, _, out| p.crash(out)),
            Step::CrashApp(_) => self.pod_phase(targets, |p, _, out| p.crash_app(out)),
            Step::DockerRestart(_) => {
                self.push(vec![Event::Note {
                    pod: None,
                    text: "the docker daemon restarts: every container exits".into(),
                }]);
                // Pods not in `self.pods` have no container to stop.
                let all = self.pods.indices();
                self.pod_phase(&all, |p, _, out| p.docker_restart(out));
            }
            Step::FailSetup(_) => {
                for &i in targets {
                    self.pods[i].fail_next_setup();
                }
            }
            Step::FailStatus(_) | Step::RecoverStatus(_) => {
                let fail = matches!(action, Step::FailStatus(_));
                let mut out = Vec::new();
                for &i in targets {
                    let pod = &mut self.pods[i];
                    pod.inject_status_failure = fail;
                    let text = if fail {
                        "injected: from now on the kubelet treats every status of this pod as failed, whatever the plugin returns"
                    } else {
                        "injected status failure ends"
                    };
                    out.push(Event::Note {
                        pod: Some(pod.pod.clone()),
                        text: text.into(),
                    });
                    if !fail && pod.churn_stopped {
                        // The churn was cut short by the simulator: resume it where the real
                        // kubelet would be (its next cycle succeeds).
                        pod.churn = 0;
                        pod.churn_stopped = false;
                        self.wakes.insert((self.now, i));
                    }
                }
                self.push(out);
            }
            Step::RestartDuringDelete(_) => return self.restart_during_delete(targets),
            // Expanded into its steps by `Scenario::expanded`.
            Step::Repeat(_) => {}
        }
        true
    }

    /// Run `work` for each pod in `targets` now (one phase), collecting wake-up requests.
    fn pod_phase<F>(&mut self, targets: &[usize], work: F)
    where
        F: Fn(&mut Pod, &Kubelet<'_>, &mut Vec<Event>) + Sync,
    {
        self.advance_to(self.now);
        let net = self.net.take().expect("kubelet running");
        let k = self.kubelet(&net);
        let (now, step) = (self.now, self.step);
        let sink = &mut self.out;
        phase(
            self.pods.chosen(targets),
            self.jobs,
            |p, out| work(p, &k, out),
            &mut |events| sink.push(now, step, events),
        );
        self.net = Some(net);
        self.collect_wakes();
    }

    fn collect_wakes(&mut self) {
        for p in self.pods.iter_mut() {
            if let Some(t) = p.wake_at.take() {
                self.wakes.insert((t, p.index));
            }
        }
    }

    /// Probe, select, init; (re)arm the loops.
    fn start_kubelet(&mut self, restart: bool) -> bool {
        self.advance_to(self.now);
        let (started, events) = start_kubelet(
            self.plugin_dir,
            self.plugin,
            self.policy.clone(),
            restart,
            &self.runner,
            plugin::SelectionTexts::for_profile(self.profile.name),
        );
        self.push(events);
        let Some(net) = started else {
            self.net = None;
            return false;
        };
        self.net = Some(net);
        self.kubelet_started = self.now;
        self.wakes.clear();
        self.cache = RuntimeCache::default();
        for p in self.pods.iter_mut() {
            p.pleg_record = None;
        }
        match self.profile.loop_kind {
            LoopKind::Sync => {
                self.next_sync = self.now + self.sync_interval_ms;
                self.next_housekeeping = u64::MAX;
                if restart {
                    // v1.1.1 `kubelet.go` `syncPod` comment: after a restart every running
                    // pod comes back as a create (`SyncPodCreate`: no status at the start,
                    // the deferred one at the end).
                    let all = self.pods.indices();
                    self.pod_phase(&all, |p, k, out| p.sync_loop(k, true, out));
                }
            }
            LoopKind::Pleg => {
                // `wait.Until` runs the first relist at once; the housekeeping ticker and the
                // resync fire one period later (v1.5.0 `kubelet.go` `syncLoop`).
                self.next_relist = self.now;
                self.first_relist = true;
                self.next_housekeeping = self.now + self.profile.housekeeping_period_ms;
                self.next_resync = self.now + RESYNC_PERIOD_MS;
                if restart {
                    // The config source delivers every pod again (`SyncPodCreate`); their
                    // workers find nothing to do until the PLEG reports.
                    for p in self.pods.iter() {
                        if p.desired && !p.deleting {
                            self.wakes.insert((self.now, p.index));
                        }
                    }
                }
            }
        }
        true
    }

    /// The earliest due loop event.
    fn next_due(&self) -> u64 {
        let wake = self.wakes.iter().next().map_or(u64::MAX, |w| w.0);
        match self.profile.loop_kind {
            LoopKind::Sync => self.next_sync.min(wake),
            LoopKind::Pleg => self
                .next_relist
                .min(self.next_housekeeping)
                .min(self.next_resync)
                .min(wake),
        }
    }

    /// Let virtual time pass up to `target`, running every loop event due on the way.
    fn advance_to(&mut self, target: u64) {
        if self.net.is_some() {
            loop {
                self.skip_idle(target);
                let next = self.next_due();
                if next > target {
                    break;
                }
                self.now = next;
                self.instant();
            }
        }
        self.now = self.now.max(target);
    }

    /// Virtual time costs nothing while nothing happens: under the PLEG, relists that would
    /// find no container event and housekeeping passes that would find no pod to kill, up to
    /// the next instant where something else is due (a wake-up, the periodic resync, the end of
    /// the advance), are not run but accounted for — the next relist and pass come when they
    /// would have, and the runtime cache is as the last skipped pass would have left it. The
    /// cost of a replay follows its events, not its seconds.
    fn skip_idle(&mut self, target: u64) {
        if !self.profile.is_pleg() {
            return;
        }
        let wake = self.wakes.iter().next().map_or(u64::MAX, |w| w.0);
        // A resync hands every wanted pod to its worker, which does nothing for a steady one.
        let resync_idle = self
            .pods
            .iter()
            .all(|p| !p.desired || p.deleting || p.terminated || p.steady());
        let resync = if resync_idle {
            u64::MAX
        } else {
            self.next_resync
        };
        let horizon = wake.min(resync).min(target.saturating_add(1));
        let relist_p = self.profile.relist_period_ms.max(1);
        let pass_p = self.profile.housekeeping_period_ms.max(1);
        if self.next_relist >= horizon && self.next_housekeeping >= horizon {
            return;
        }
        let relist_idle = self.pods.iter().all(|p| {
            p.infras.iter().all(|c| c.state != ContainerState::Stopping)
                && match &p.pleg_record {
                    None => p.pleg_view().is_empty(),
                    Some(seen) => *seen == p.pleg_view(),
                }
        });
        let passes_idle = self.pods.iter().all(|p| {
            !p.unwanted()
                || (p.running_infras().is_empty() && !self.cache.running.contains_key(&p.index))
        });
        if !(relist_idle && passes_idle) {
            return;
        }
        // Both loops are idle until `horizon`: jump the ticks before it.
        let skipped = |next: u64, period: u64| -> u64 {
            if next >= horizon {
                0
            } else {
                (horizon - next).div_ceil(period)
            }
        };
        if resync_idle {
            let resyncs = skipped(self.next_resync, RESYNC_PERIOD_MS);
            self.next_resync += resyncs * RESYNC_PERIOD_MS;
        }
        let relists = skipped(self.next_relist, relist_p);
        if relists > 0 {
            self.next_relist += relists * relist_p;
            self.first_relist = false;
        }
        let passes = skipped(self.next_housekeeping, pass_p);
        if passes > 0 {
            let first = self.next_housekeeping;
            let cache_p = self.profile.runtime_cache_period_ms;
            // The first skipped pass that refreshes the cache (`now - t > period`), then every
            // `every` passes.
            let first_refresh = match self.cache.time_ms {
                None => 0,
                Some(t) if t + cache_p < first => 0,
                Some(t) => (t + cache_p - first) / pass_p + 1,
            };
            if first_refresh < passes {
                let every = cache_p / pass_p + 1;
                let last = first_refresh + (passes - 1 - first_refresh) / every * every;
                self.cache.time_ms = Some(first + last * pass_p);
                self.cache.running = self
                    .pods
                    .iter()
                    .map(|p| {
                        let ids: Vec<String> =
                            p.running_infras().iter().map(|c| c.id.clone()).collect();
                        (p.index, ids)
                    })
                    .filter(|(_, ids)| !ids.is_empty())
                    .collect();
            }
            self.next_housekeeping = first + passes * pass_p;
        }
    }

    /// Everything due at `self.now`.
    fn instant(&mut self) {
        let now = self.now;
        let net = self.net.take().expect("kubelet running");
        let mut jobs: BTreeMap<usize, Vec<Job>> = BTreeMap::new();
        while let Some(&(t, i)) = self.wakes.iter().next() {
            if t != now {
                break;
            }
            self.wakes.remove(&(t, i));
            let job = if self.pods[i].deleting {
                Job::FinishDelete
            } else {
                match self.profile.loop_kind {
                    LoopKind::Pleg => Job::SyncPleg,
                    LoopKind::Sync => Job::SyncLoop { first: false },
                }
            };
            jobs.entry(i).or_default().push(job);
        }
        let mut relist = None;
        match self.profile.loop_kind {
            LoopKind::Sync => {
                if self.next_sync == now {
                    self.next_sync = now + self.sync_interval_ms;
                    for p in self.pods.iter() {
                        let i = p.index;
                        if p.desired && !p.deleting {
                            jobs.entry(i)
                                .or_default()
                                .push(Job::SyncLoop { first: false });
                        } else if !p.desired
                            && now - self.kubelet_started >= self.profile.housekeeping_period_ms
                        {
                            // v1.1.1 `kubelet.go` `syncLoop`: housekeeping (`HandlePodCleanups`
                            // kills running pods that should not exist) at most every 2 s, checked
                            // at each loop iteration.
                            if let Some(c) = p.running_current() {
                                jobs.entry(i)
                                    .or_default()
                                    .push(Job::Housekeeping(c.id.clone()));
                            }
                        }
                    }
                }
            }
            LoopKind::Pleg => {
                if self.next_resync == now {
                    // `syncLoopIteration`: the periodic resync hands every pod to its worker;
                    // the worker reads the cache and, for a steady pod, calls nothing.
                    self.next_resync = now + RESYNC_PERIOD_MS;
                    for p in self.pods.iter() {
                        let mine = jobs.entry(p.index).or_default();
                        if p.desired
                            && !p.deleting
                            && !mine.iter().any(|j| matches!(j, Job::SyncPleg))
                        {
                            mine.push(Job::SyncPleg);
                        }
                    }
                }
                if self.next_housekeeping == now {
                    self.next_housekeeping = now + self.profile.housekeeping_period_ms;
                    self.housekeeping(&mut jobs);
                }
                if self.next_relist == now {
                    relist = Some(self.plan_relist());
                }
            }
        }
        let k = self.kubelet(&net);
        let targets: Vec<usize> = jobs
            .iter()
            .filter(|(_, j)| !j.is_empty())
            .map(|(&i, _)| i)
            .collect();
        // What the relist's calls need of their pods (the pods themselves are the workers').
        let pleg_pods: BTreeMap<usize, (bool, bool, PodRef)> = match &relist {
            Some(plan) => plan
                .calls
                .iter()
                .map(|(i, _, _)| {
                    let p = &self.pods[*i];
                    (
                        *i,
                        (p.host_network(), p.inject_status_failure, p.pod.clone()),
                    )
                })
                .collect(),
            None => BTreeMap::new(),
        };
        let relist_call =
            |(i, infra, purpose): &(usize, super::runtime::InfraContainer, CallPurpose)| {
                let (host, inject, pod) = &pleg_pods[i];
                (
                    *i,
                    infra.id.clone(),
                    status_call(&k, pod, *host, *inject, *purpose, infra),
                )
            };
        let mut churning = false;
        std::thread::scope(|s| {
            // The PLEG on its own thread, its results queued until the workers' events are out;
            // run inline after the workers if the OS refuses a thread.
            let (tx, rx) = std::sync::mpsc::sync_channel(RELIST_QUEUE);
            let pleg = relist.as_ref().and_then(|plan: &RelistPlan| {
                let relist_call = &relist_call;
                let run = move || {
                    for call in &plan.calls {
                        if tx.send(relist_call(call)).is_err() {
                            break;
                        }
                    }
                };
                std::thread::Builder::new().spawn_scoped(s, run).ok()
            });
            let (now, step) = (self.now, self.step);
            let sink = &mut self.out;
            phase(
                self.pods.chosen(&targets),
                self.jobs,
                |p, out| {
                    for job in jobs.get(&p.index).into_iter().flatten() {
                        match job {
                            Job::SyncPleg => p.sync_pleg(&k, out),
                            Job::SyncLoop { first } => p.sync_loop(&k, *first, out),
                            Job::FinishDelete => p.finish_delete(&k, out),
                            Job::Housekeeping(id) => p.housekeeping_kill(&k, id, out),
                        }
                    }
                },
                &mut |events| sink.push(now, step, events),
            );
            self.collect_wakes();
            match (&relist, pleg) {
                (Some(_), Some(_)) => {
                    for (i, id, outcome) in rx {
                        self.relist_result(&k, i, &id, outcome, &mut churning);
                    }
                }
                (Some(plan), None) => {
                    for call in &plan.calls {
                        let (i, id, outcome) = relist_call(call);
                        self.relist_result(&k, i, &id, outcome, &mut churning);
                    }
                }
                _ => {}
            }
        });
        if let Some(plan) = relist {
            self.finish_relist(plan, churning);
        }
        self.net = Some(net);
    }

    /// The housekeeping pass: pods that should not exist and still run per the runtime cache
    /// get one infra container killed each, teardown first (v1.5.0 `kubelet_pods.go`
    /// `HandlePodCleanups`, `podKiller`; `docker_manager.go` `killPodWithSyncResult` keeps ONE
    /// network container of the pod's list, so one teardown per pass). The cache is refreshed
    /// only when older than its period (`runtime_cache.go` `GetPods`), so a container killed
    /// since can be torn down again (docs/kubelet.md §3.5 observed).
    fn housekeeping(&mut self, jobs: &mut BTreeMap<usize, Vec<Job>>) {
        let now = self.now;
        let stale = self
            .cache
            .time_ms
            .is_none_or(|t| now - t > self.profile.runtime_cache_period_ms);
        if stale {
            self.cache.time_ms = Some(now);
            self.cache.running = self
                .pods
                .iter()
                .map(|p| {
                    let ids: Vec<String> =
                        p.running_infras().iter().map(|c| c.id.clone()).collect();
                    (p.index, ids)
                })
                .filter(|(_, ids)| !ids.is_empty())
                .collect();
        }
        for p in self.pods.iter() {
            if !p.unwanted() {
                continue;
            }
            // `killPodWithSyncResult` (v1.5.0 `docker_manager.go`) starts one goroutine per
            // container of the newest-first list; each infra one assigns `networkContainer`
            // and the last assignment wins. Go's scheduler runs the goroutine started last
            // (the oldest container, the original infra) first (`runnext`), the others in
            // order: the one torn down is the second oldest, the original only once it is the
            // last one running (docs/kubelet.md §3.5 observed 2026-12-06: the original infra container last
            // in 5 of 5 runs of v1.4.0/v1.5.0).
            let pick = |ids: &Vec<String>| match ids.len() {
                0 => None,
                1 => ids.first().cloned(),
                n => ids.get(n - 2).cloned(),
            };
            if let Some(id) = self.cache.running.get(&p.index).and_then(pick) {
                jobs.entry(p.index).or_default().push(Job::Housekeeping(id));
            }
        }
    }

    /// The PLEG relist: which pods had a container event since the last relist, and the
    /// `status` calls `GetPodStatus` makes for each (every running infra container, newest
    /// first: v1.5.0 `docker_manager.go` `GetPodStatus` → `inspectContainer` →
    /// `determineContainerIP`).
    fn plan_relist(&self) -> RelistPlan {
        let purpose = if self.first_relist {
            CallPurpose::FirstRelist
        } else {
            CallPurpose::PlegEvent
        };
        let mut plan = RelistPlan::default();
        for p in self.pods.iter() {
            let i = p.index;
            let view = p.pleg_view();
            let changed = match &p.pleg_record {
                None => !view.is_empty(),
                Some(old) => old != &view,
            };
            if changed {
                plan.events.push(i);
                for c in p.running_infras() {
                    plan.calls.push((i, c.clone(), purpose));
                }
            }
            plan.views.push((i, view));
        }
        plan
    }

    /// One result of a relist's `status` calls: its events, and what the pod makes of it.
    fn relist_result(
        &mut self,
        k: &Kubelet<'_>,
        i: usize,
        id: &str,
        outcome: super::pod::StatusOutcome,
        churning: &mut bool,
    ) {
        let mut out = outcome.events;
        if let Some(status) = &outcome.status {
            let pod = &mut self.pods[i];
            if matches!(status, StatusResult::Error { .. })
                && self.profile.status_error == StatusErrorPolicy::InfraUnknown
                && pod.desired
            {
                *churning = true;
            }
            pod.apply_status(k, id, status, &mut out);
        }
        self.push(out);
    }

    /// The end of a relist, once its results are in: the container lists it saw, the wake-ups of
    /// pods with an event and the next relist.
    fn finish_relist(&mut self, plan: RelistPlan, churning: bool) {
        let now = self.now;
        for (i, view) in plan.views {
            let pod = &mut self.pods[i];
            // A kill in progress completes after the second relist that lists it.
            for c in &mut pod.infras {
                if c.state == ContainerState::Stopping
                    && view.iter().any(|(id, running)| *id == c.id && *running)
                {
                    c.relists_while_stopping += 1;
                    if c.relists_while_stopping >= 2 {
                        c.state = ContainerState::Exited;
                    }
                }
            }
            pod.pleg_record = Some(view);
        }
        // A relist that met status errors for a live pod takes longer (the churn's pace);
        // `wait.Until` starts the next one a period after it ended.
        let busy = if churning {
            self.profile.churn_relist_ms
        } else {
            0
        };
        for i in plan.events {
            let p = &self.pods[i];
            if p.desired && !p.deleting {
                self.wakes.insert((now + busy, i));
            }
        }
        self.first_relist = false;
        self.next_relist = now + busy + self.profile.relist_period_ms;
    }

    /// A kubelet restarted during a delete: the pod worker's teardown, then the kubelet dies
    /// before the kill. The restarted kubelet no longer has the pod (it left the pod source)
    /// while its infra container still runs: v1.2+'s first relist sees every container as new
    /// and calls `status` for it (`pleg/generic.go` `relist`), then the housekeeping pass kills
    /// it as a pod that should not exist, teardown first (`kubelet_pods.go`
    /// `HandlePodCleanups` → `podKiller`), and again on the next pass while the runtime cache
    /// still lists it (`runtime_cache.go` `GetPods`); v1.1 tears it down at its first
    /// housekeeping, at a sync tick (`kubelet.go` `syncLoop`). docs/kubelet.md §3.5 observed 2026-12-06:
    /// v1.4/v1.5 two housekeeping teardowns, v1.2 one (timing), v1.1 one ~10 s later.
    fn restart_during_delete(&mut self, targets: &[usize]) -> bool {
        self.advance_to(self.now);
        let Some(&i) = targets.first() else {
            return true;
        };
        if !self.pods[i].desired {
            let e = Event::Note {
                pod: Some(self.pods[i].pod.clone()),
                text: "pod does not exist: delete ignored".into(),
            };
            self.push(vec![e]);
            return true;
        }
        let net = self.net.take().expect("kubelet running");
        let mut out = Vec::new();
        let k = self.kubelet(&net);
        let pod = &mut self.pods[i];
        pod.kill_apps_for_delete(&mut out);
        pod.teardown_current(&k, CallPurpose::Delete, &mut out);
        out.push(Event::Note {
            pod: Some(pod.pod.clone()),
            text: "the kubelet restarts before killing the infra container: the restarted kubelet no longer has the pod, its infra container still runs".into(),
        });
        pod.desired = false;
        pod.deleting = false;
        pod.inject_setup_failure = false;
        self.net = Some(net);
        self.push(out);
        self.start_kubelet(true)
    }
}

/// One relist: the status calls to make and the container lists seen.
#[derive(Debug, Default)]
struct RelistPlan {
    calls: Vec<(usize, super::runtime::InfraContainer, CallPurpose)>,
    /// Pods with a container event.
    events: Vec<usize>,
    /// Per pod, the containers listed.
    views: Vec<(usize, Vec<(String, bool)>)>,
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
            injected: false,
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

/// Run `work` for each pod in `targets` on up to `jobs` workers, handing each pod's events to
/// `emit` in declaration order as soon as every earlier pod's are out. Pods are taken in
/// declaration order; a worker waits rather than run more than [`REORDER_WINDOW`] pods ahead
/// of the oldest unfinished one, so what waits to be emitted stays bounded.
fn phase<F>(chosen: Vec<&mut Pod>, jobs: usize, work: F, emit: &mut dyn FnMut(Vec<Event>))
where
    F: Fn(&mut Pod, &mut Vec<Event>) + Sync,
{
    if jobs <= 1 || chosen.len() <= 1 {
        for pod in chosen {
            let mut buffer = Vec::new();
            work(pod, &mut buffer);
            emit(buffer);
        }
        return;
    }
    let total = chosen.len();
    let workers = jobs.min(total);
    let state = Mutex::new(Reorder {
        queue: chosen.into_iter().enumerate().collect(),
        done: std::collections::BTreeMap::new(),
        emitted: 0,
        panicked: false,
    });
    let changed = std::sync::Condvar::new();
    let lock = || state.lock().unwrap_or_else(|e| e.into_inner());
    let drain = || {
        loop {
            let next = {
                let mut st = lock();
                loop {
                    match st.queue.front() {
                        None => break None,
                        Some((seq, _)) if *seq < st.emitted + REORDER_WINDOW => {
                            break st.queue.pop_front();
                        }
                        Some(_) => {
                            st = changed.wait(st).unwrap_or_else(|e| e.into_inner());
                        }
                    }
                }
            };
            let Some((seq, pod)) = next else { break };
            // A panicking worker must not leave the emitter waiting for its pod.
            let guard = PanicFlag(&state, &changed);
            let mut buffer = Vec::new();
            work(pod, &mut buffer);
            std::mem::forget(guard);
            lock().done.insert(seq, buffer);
            changed.notify_all();
        }
    };
    std::thread::scope(|s| {
        let mut started = 0;
        for _ in 0..workers {
            // A thread the OS refuses (process limit) is no reason to fail: the queue is
            // drained by the workers that did start, or by this thread.
            if std::thread::Builder::new().spawn_scoped(s, drain).is_err() {
                break;
            }
            started += 1;
        }
        if started == 0 {
            let queue = std::mem::take(&mut lock().queue);
            for (_, pod) in queue {
                let mut buffer = Vec::new();
                work(pod, &mut buffer);
                emit(buffer);
            }
            return;
        }
        let mut st = lock();
        while st.emitted < total && !st.panicked {
            let seq = st.emitted;
            if let Some(events) = st.done.remove(&seq) {
                st.emitted += 1;
                drop(st);
                changed.notify_all();
                emit(events);
                st = lock();
            } else {
                st = changed.wait(st).unwrap_or_else(|e| e.into_inner());
            }
        }
    });
}

/// A phase's pods not taken yet, the events of those done but not emitted, and how many were
/// emitted.
struct Reorder<'p> {
    queue: VecDeque<(usize, &'p mut Pod)>,
    done: std::collections::BTreeMap<usize, Vec<Event>>,
    emitted: usize,
    /// A worker panicked (the scope re-raises it once the others are done).
    panicked: bool,
}

/// Dropped only while a worker unwinds: marks the phase failed and wakes the emitter.
struct PanicFlag<'s, 'p>(&'s Mutex<Reorder<'p>>, &'s std::sync::Condvar);

impl Drop for PanicFlag<'_, '_> {
    fn drop(&mut self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).panicked = true;
        self.1.notify_all();
    }
}

/// Whether the kubelet started and every plugin call succeeded (a status whose output could
/// not be parsed counts as failed, as in `execnet call`). Drives `execnet replay`'s exit code.
pub fn succeeded(transcript: &Transcript) -> bool {
    let mut judge = Succeeded::default();
    transcript.entries.iter().for_each(|e| judge.observe(e));
    judge.ok()
}

/// [`succeeded`], fed one entry at a time (for a streamed transcript).
#[derive(Debug, Default, Clone, Copy)]
pub struct Succeeded {
    failed: bool,
}

impl Succeeded {
    pub fn observe(&mut self, entry: &Entry) {
        self.failed |= match &entry.event {
            Event::KubeletStart { error: Some(_), .. } => true,
            Event::Call { call, .. } => {
                !call.succeeded() || matches!(call.status, Some(StatusResult::Error { .. }))
            }
            _ => false,
        };
    }

    pub fn ok(&self) -> bool {
        !self.failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retired_counts_are_kept_per_pod_in_few_ranges() {
        let mut r = Retired::default();
        assert_eq!(r.get(5), 0);
        // Out of order, as a phase's pods finish.
        for i in [3, 1, 2, 0, 5, 4] {
            r.set(i, 1);
        }
        assert_eq!(r.0.len(), 1, "{:?}", r.0);
        assert_eq!((r.get(0), r.get(5), r.get(6)), (1, 1, 0));
        r.set(2, 3);
        assert_eq!(r.0.len(), 3, "{:?}", r.0);
        assert_eq!((r.get(1), r.get(2), r.get(3)), (1, 3, 1));
        r.set(2, 1);
        assert_eq!(r.0.len(), 1, "{:?}", r.0);
        r.set(0, 0);
        assert_eq!((r.get(0), r.get(1)), (0, 1));
        assert_eq!(r.0.len(), 1, "{:?}", r.0);
    }
}
