//! The bundled scenarios from the command line: `execnet scenarios` lists what the binary
//! carries, `scenarios write` gives a vendor the files to start from, and `execnet replay`
//! takes a bundled scenario's name as well as a path (`replay … parallel-pods`, as the
//! reproduce lines print it).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util;

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance/scenarios")
}

/// The shipped files, by name, read from the source tree (not from the binary under test).
fn shipped() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(scenarios_dir())
        .expect("scenarios dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).expect("read scenario"))
        })
        .collect();
    out.sort();
    out
}

fn stdout_json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not one JSON document ({e}); stderr: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[test]
fn scenarios_lists_every_shipped_file_with_its_description() {
    let out = util::execnet()
        .args(["scenarios", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc = stdout_json(&out);
    let mut listed: Vec<(String, String)> = doc["scenarios"]
        .as_array()
        .expect("scenarios array")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["description"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    listed.sort();
    let expected: Vec<(String, String)> = shipped()
        .into_iter()
        .map(|(name, text)| {
            let v: Value = serde_json::from_str(&text).unwrap();
            (name, v["description"].as_str().unwrap_or("").to_string())
        })
        .collect();
    assert_eq!(listed, expected);
    // The text form: one line per scenario, its name first.
    let text = util::execnet().arg("scenarios").output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert_eq!(text.lines().count(), expected.len(), "{text}");
    for (name, _) in &expected {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("{name} "))),
            "{name} not listed:\n{text}"
        );
    }
}

#[test]
fn scenarios_write_gives_the_shipped_files_and_never_overwrites_silently() {
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path().join("mine");
    util::execnet()
        .args(["scenarios", "write"])
        .arg(&dir)
        .assert()
        .code(0);
    for (name, text) in shipped() {
        let written = std::fs::read_to_string(dir.join(format!("{name}.json")))
            .unwrap_or_else(|e| panic!("{name}.json not written: {e}"));
        assert_eq!(written, text, "{name}.json differs from the shipped file");
    }
    // Again: refused, naming a file that exists; with --force, done.
    let out = util::execnet()
        .args(["scenarios", "write"])
        .arg(&dir)
        .arg("long-names")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "refusing to overwrite {}",
            dir.join("long-names.json").display()
        )),
        "{stderr}"
    );
    util::execnet()
        .args(["scenarios", "write", "--force"])
        .arg(&dir)
        .arg("long-names")
        .assert()
        .code(0);
    // Only the names asked for; an unknown one is named.
    let one = tmp.path().join("one");
    util::execnet()
        .args(["scenarios", "write"])
        .arg(&one)
        .arg("host-network")
        .assert()
        .code(0);
    let files: Vec<_> = std::fs::read_dir(&one).unwrap().collect();
    assert_eq!(files.len(), 1);
    let out = util::execnet()
        .args(["scenarios", "write"])
        .arg(&one)
        .arg("host-netwerk")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no bundled scenario named \"host-netwerk\"")
    );
    // A file where the directory should be.
    let file = tmp.path().join("file");
    std::fs::write(&file, "").unwrap();
    let out = util::execnet()
        .args(["scenarios", "write"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a directory"));
}

/// The transcript JSON with what varies between runs removed (every `duration_ms`).
fn stable(mut v: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(map) => {
                map.remove("duration_ms");
                map.values_mut().for_each(walk);
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    v
}

fn replay_json(plugins: &Path, scenario: &std::ffi::OsStr, cwd: &Path) -> std::process::Output {
    util::execnet()
        .current_dir(cwd)
        .args(["replay", "--plugin-dir"])
        .arg(plugins)
        .args([
            "--plugin",
            "recorder",
            "--kubelet",
            "1.2",
            "--seed",
            "7",
            "--format",
            "json",
        ])
        .arg(scenario)
        .output()
        .unwrap()
}

#[test]
fn replay_takes_a_bundled_name_as_well_as_a_path() {
    let plugins = util::sample_plugins();
    let elsewhere = tempfile::TempDir::new().unwrap();
    let by_name = replay_json(plugins.path(), "parallel-pods".as_ref(), elsewhere.path());
    assert_eq!(
        by_name.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&by_name.stderr)
    );
    let by_path = replay_json(
        plugins.path(),
        scenarios_dir().join("parallel-pods.json").as_os_str(),
        elsewhere.path(),
    );
    let (by_name, by_path) = (stdout_json(&by_name), stdout_json(&by_path));
    assert_eq!(by_name["scenario"], "parallel-pods");
    assert!(by_name["entries"].as_array().is_some_and(|e| e.len() > 20));
    let (mut by_name, mut by_path) = (stable(by_name), stable(by_path));
    util::assert_seq_eq(
        by_name["entries"].as_array().unwrap(),
        by_path["entries"].as_array().unwrap(),
        "replay by name (left) and by path (right)",
    );
    // And the rest of the document.
    by_name["entries"] = Value::Null;
    by_path["entries"] = Value::Null;
    assert_eq!(by_name, by_path);
}

#[test]
fn replay_of_an_unknown_name_says_what_is_bundled() {
    let plugins = util::sample_plugins();
    let elsewhere = tempfile::TempDir::new().unwrap();
    let out = replay_json(plugins.path(), "paralel-pods".as_ref(), elsewhere.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "cannot read scenario paralel-pods: no such file, and no bundled scenario of that name"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("parallel-pods"),
        "lists the bundled names: {stderr}"
    );
}

/// `scenarios generate --pods N` writes a scale scenario that `replay` accepts: every pod is set
/// up once, given a status call per sync, and torn down once.
#[test]
fn a_generated_scale_scenario_replays_every_pod() {
    let out = util::execnet()
        .args(["scenarios", "generate", "--pods", "12", "--syncs", "2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let tmp = tempfile::TempDir::new().unwrap();
    let file = tmp.path().join("scale.json");
    std::fs::write(&file, &out.stdout).unwrap();
    let plugin = util::bash_plugin(
        "p",
        r#"[ "$1" = status ] && n=$(printf %s "$2/$3" | cksum | cut -d' ' -f1) && echo "{\"apiVersion\":\"v1beta1\",\"kind\":\"PodNetworkStatus\",\"ip\":\"10.$((n >> 16 & 255)).$((n >> 8 & 255)).$((n & 255 | 1))\"}"; exit 0"#,
    );
    let out = util::execnet()
        .args([
            "replay",
            "--plugin",
            "p",
            "--format",
            "json",
            "--plugin-dir",
        ])
        .arg(plugin.path())
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let doc = stdout_json(&out);
    assert_eq!(doc["scenario"], "scale-12");
    let mut per_pod: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for e in doc["entries"].as_array().unwrap() {
        if e["event"] == "call"
            && let Some(pod) = e["pod"].as_object()
        {
            per_pod
                .entry(format!(
                    "{}/{}",
                    pod["namespace"].as_str().unwrap(),
                    pod["name"].as_str().unwrap()
                ))
                .or_default()
                .push(e["call"]["action"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(per_pod.len(), 12, "{per_pod:?}");
    assert!(per_pod.contains_key("scale/pod-0") && per_pod.contains_key("scale/pod-11"));
    for (pod, actions) in &per_pod {
        let n = |a: &str| actions.iter().filter(|x| *x == a).count();
        assert_eq!((n("setup"), n("teardown")), (1, 1), "{pod}: {actions:?}");
        assert!(n("status") >= 2, "{pod}: {actions:?}");
    }
}

#[test]
fn generate_refuses_zero_pods() {
    let out = util::execnet()
        .args(["scenarios", "generate", "--pods", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--pods"));
}

/// A generated scenario of `pods` pods in a temp dir, and a quiet plugin that answers status.
fn scale_fixture(pods: usize) -> (tempfile::TempDir, PathBuf, tempfile::TempDir) {
    let out = util::execnet()
        .args(["scenarios", "generate", "--pods", &pods.to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let tmp = tempfile::TempDir::new().unwrap();
    let file = tmp.path().join("scale.json");
    std::fs::write(&file, &out.stdout).unwrap();
    let plugin = util::bash_plugin(
        "p",
        r#"[ "$1" = status ] && n=$(printf %s "$2/$3" | cksum | cut -d' ' -f1) && echo "{\"apiVersion\":\"v1beta1\",\"kind\":\"PodNetworkStatus\",\"ip\":\"10.$((n >> 16 & 255)).$((n >> 8 & 255)).$((n & 255 | 1))\"}"; exit 0"#,
    );
    (tmp, file, plugin)
}

/// This process's open descriptors, and the children of all its threads.
fn fds_and_children() -> (usize, Vec<String>) {
    let fds = std::fs::read_dir("/proc/self/fd").unwrap().count();
    let mut children = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let text = std::fs::read_to_string(task.unwrap().path().join("children")).unwrap();
        children.extend(text.split_whitespace().map(str::to_string));
    }
    (fds, children)
}

/// The streamed replay (what `execnet replay` runs) hands out exactly the entries of the
/// in-memory replay, in order, also when a phase has more pods than the reorder window and
/// several workers finish them out of order; and it leaves no descriptor open and no child
/// (zombie or not) behind.
#[test]
fn a_streamed_replay_gives_the_whole_transcript_and_leaves_nothing() {
    use execnet::kubelet::{self, Profile, ReplayOptions, Scenario};
    let pods = kubelet::replay::REORDER_WINDOW + 44;
    let (_tmp, file, plugin) = scale_fixture(pods);
    let scenario = Scenario::load(&file).unwrap();
    let options = ReplayOptions {
        profile: Profile::by_name("1.5").unwrap(),
        seed: 3,
        jobs: Some(2),
        timeout: Some(std::time::Duration::from_secs(30)),
        runner: None,
        runtime: None,
        ..ReplayOptions::default()
    };
    let before = fds_and_children();
    let mut streamed = Vec::new();
    let header = kubelet::replay_streamed(plugin.path(), "p", &scenario, &options, &mut |e| {
        streamed.push(serde_json::to_value(e).unwrap())
    });
    let after = fds_and_children();
    assert_eq!(
        after, before,
        "(open fds, children) before and after the replay"
    );
    assert!(
        header.entries.is_empty(),
        "the streamed transcript keeps no entry"
    );
    let whole = kubelet::replay(plugin.path(), "p", &scenario, &options);
    let whole: Vec<Value> = whole
        .entries
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect();
    let stable_all = |v: &[Value]| v.iter().cloned().map(stable).collect::<Vec<_>>();
    assert_eq!(streamed.len(), whole.len());
    assert!(
        whole.len() > 4 * pods,
        "setup, status and teardown for every pod: {}",
        whole.len()
    );
    util::assert_seq_eq(
        &stable_all(&streamed),
        &stable_all(&whole),
        "streamed entries (left) and the whole transcript's (right)",
    );
}

/// `execnet replay --format json` streams its transcript through a file, yet prints exactly the
/// pretty JSON document of before (the same bytes serde_json makes of the parsed document), and
/// `--transcript FILE.jsonl` holds the header and then the same entries, one per line.
#[test]
fn replay_json_is_one_pretty_document_and_jsonl_has_the_same_entries() {
    let (tmp, file, plugin) = scale_fixture(5);
    let lines = tmp.path().join("t.jsonl");
    let out = util::execnet()
        .args(["replay", "--plugin", "p", "--jobs", "2", "--format", "json"])
        .arg("--transcript")
        .arg(&lines)
        .arg("--plugin-dir")
        .arg(plugin.path())
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let doc = stdout_json(&out);
    // Durations aside (serde_json's float parsing may move the last digit of a round trip).
    let no_durations = |t: &str| {
        t.lines()
            .map(|l| match l.split_once("\"duration_ms\": ") {
                Some((head, rest)) => format!(
                    "{head}\"duration_ms\": D{}",
                    &rest[rest.find(',').unwrap_or(rest.len())..]
                ),
                None => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        no_durations(&text),
        no_durations(&(serde_json::to_string_pretty(&doc).unwrap() + "\n"))
    );
    assert!(text.ends_with("\n  ]\n}\n"));
    let keys: Vec<&String> = doc.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["scenario", "plugin", "profile", "seed", "entries"]);
    let jsonl = std::fs::read_to_string(&lines).unwrap();
    let mut rows = jsonl
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap());
    let head = rows.next().unwrap();
    for k in ["scenario", "plugin", "profile", "seed"] {
        assert_eq!(head[k], doc[k], "{k}");
    }
    let rest: Vec<Value> = rows.collect();
    util::assert_seq_eq(
        &rest,
        doc["entries"].as_array().unwrap(),
        "the JSONL entries (left) and the JSON document's (right)",
    );
    assert!(rest.len() > 20);
    // The text form: the header line, then a line per entry.
    let out = util::execnet()
        .args(["replay", "--plugin", "p", "--plugin-dir"])
        .arg(plugin.path())
        .arg(&file)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("scenario scale-5 · plugin p · kubelet 1.5 · seed 0\n"));
    assert_eq!(text.lines().count(), rest.len() + 1);
}

/// A plugin that answers every status of a pod with the same address, one per pod (its output
/// does not depend on call order, so two replays of the same calls are equal; distinct pods
/// get distinct addresses, as `replay` judges).
fn steady_plugin() -> tempfile::TempDir {
    util::bash_plugin(
        "p",
        r#"[ "$1" = status ] && n=$(printf %s "$2/$3" | cksum | cut -d' ' -f1) && echo "{\"apiVersion\":\"v1beta1\",\"kind\":\"PodNetworkStatus\",\"ip\":\"10.$((n >> 16 & 255)).$((n >> 8 & 255)).$((n & 255 | 1))\"}"; exit 0"#,
    )
}

fn entries_of(t: &execnet::kubelet::Transcript) -> Vec<Value> {
    t.entries
        .iter()
        .map(|e| stable(serde_json::to_value(e).unwrap()))
        .collect()
}

/// A pod template and a `repeat` step replay exactly as the same scenario written out by
/// hand: the same calls, container IDs, steps and times. A pod run through, released by the
/// simulator and created again goes on with new container IDs.
#[rstest::rstest]
fn a_repeat_replays_as_its_steps_written_out(#[values("1.1", "1.2", "1.5")] profile: &str) {
    use execnet::kubelet::{self, Profile, ReplayOptions, Scenario};
    let compact = r#"{"name": "rep", "jobs": 2, "pods": [
  {"namespace": "d", "name": "keep"},
  {"namespace": "d", "name": "w-{n}", "count": 5, "containers": 2}],
 "steps": [
  {"start_kubelet": {}},
  {"create": ["d/keep"]},
  {"repeat": {"times": 2, "batch": 2, "start": 1, "steps": [
    {"create": ["d/w-{n}"]},
    {"sync": {}},
    {"crash": ["d/w-{n}"]},
    {"wait": {"ms": 2500}},
    {"delete": ["d/w-{n}", "d/keep"]}]}},
  {"sync": {"count": 3}},
  {"create": ["d/w-1"]},
  {"sync": {"count": 2}},
  {"delete": ["d/w-1"]}]}"#;
    let explicit = r#"{"name": "rep", "jobs": 2, "pods": [
  {"namespace": "d", "name": "keep"},
  {"namespace": "d", "name": "w-0", "containers": 2},
  {"namespace": "d", "name": "w-1", "containers": 2},
  {"namespace": "d", "name": "w-2", "containers": 2},
  {"namespace": "d", "name": "w-3", "containers": 2},
  {"namespace": "d", "name": "w-4", "containers": 2}],
 "steps": [
  {"start_kubelet": {}},
  {"create": ["d/keep"]},
  {"create": ["d/w-1", "d/w-2"]},
  {"sync": {}},
  {"crash": ["d/w-1", "d/w-2"]},
  {"wait": {"ms": 2500}},
  {"delete": ["d/w-1", "d/w-2", "d/keep"]},
  {"create": ["d/w-3", "d/w-4"]},
  {"sync": {}},
  {"crash": ["d/w-3", "d/w-4"]},
  {"wait": {"ms": 2500}},
  {"delete": ["d/w-3", "d/w-4", "d/keep"]},
  {"sync": {"count": 3}},
  {"create": ["d/w-1"]},
  {"sync": {"count": 2}},
  {"delete": ["d/w-1"]}]}"#;
    let plugin = steady_plugin();
    let options = ReplayOptions {
        profile: Profile::by_name(profile).unwrap(),
        seed: 5,
        jobs: Some(2),
        ..ReplayOptions::default()
    };
    let run = |text: &str| {
        let s = Scenario::parse(text, Path::new("rep.json")).unwrap();
        kubelet::replay(plugin.path(), "p", &s, &options)
    };
    let (a, b) = (run(compact), run(explicit));
    util::assert_seq_eq(
        &entries_of(&a),
        &entries_of(&b),
        "compact (left) and written out (right)",
    );
    let last_step = a.entries.last().map(|e| e.step);
    assert_eq!(last_step, Some(15), "steps are numbered as run");
    // w-1: created (and under 1.2+ started over after its crash), deleted; created again.
    let ids: Vec<&str> = a
        .entries
        .iter()
        .filter_map(|e| match &e.event {
            kubelet::Event::InfraCreated { pod, id, .. } if pod.name == "w-1" => Some(id.as_str()),
            _ => None,
        })
        .collect();
    assert!(ids.len() >= 2, "{ids:?}");
    let distinct: std::collections::BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        ids.len(),
        "a container ID handed out twice: {ids:?}"
    );
}

/// 300 pods in waves of 20 through the streamed replay (what `execnet replay` runs, with its
/// supervisor): every pod is set up once and torn down, never more than 20 are alive at once,
/// and the replay leaves no descriptor open and no child behind, zombie or not.
#[test]
fn pods_in_waves_leave_no_child_and_no_descriptor() {
    use execnet::kubelet::{self, CallPurpose, Event, Profile, ReplayOptions, Scenario};
    let out = util::execnet()
        .args(["scenarios", "generate", "--pods", "300", "--live", "20"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        out.stdout.len() < 2000,
        "the file does not grow with the pods"
    );
    let scenario =
        Scenario::parse(&String::from_utf8_lossy(&out.stdout), Path::new("g.json")).unwrap();
    assert_eq!(scenario.pod_count(), 300);
    let plugin = steady_plugin();
    let supervisor = execnet::supervise::Supervisor::replay();
    let options = ReplayOptions {
        profile: Profile::by_name("1.5").unwrap(),
        jobs: Some(2),
        runner: Some(supervisor.clone()),
        ..ReplayOptions::default()
    };
    // The call path keeps one descriptor for the life of the process (the main thread's
    // `children` file, opened with the supervisor): a first small replay runs the call path
    // once before the count.
    let warm = Scenario::parse(
        r#"{"name": "w", "pods": [{"namespace": "a", "name": "b"}],
            "steps": [{"start_kubelet": {}}, {"create": ["a/b"]}, {"delete": ["a/b"]}]}"#,
        Path::new("w.json"),
    )
    .unwrap();
    kubelet::replay_streamed(plugin.path(), "p", &warm, &options, &mut |_| {});
    let before = fds_and_children();
    let (mut live, mut most) = (std::collections::BTreeSet::new(), 0);
    let mut setups = std::collections::BTreeMap::<String, usize>::new();
    let mut torn_down = std::collections::BTreeSet::new();
    let mut judge = kubelet::replay::Succeeded::default();
    let header = kubelet::replay_streamed(plugin.path(), "p", &scenario, &options, &mut |e| {
        judge.observe(e);
        if let Event::Call {
            purpose,
            pod: Some(pod),
            ..
        } = &e.event
        {
            let name = pod.name.clone();
            match purpose {
                CallPurpose::Setup => {
                    *setups.entry(name.clone()).or_default() += 1;
                    live.insert(name);
                    most = most.max(live.len());
                }
                CallPurpose::Delete => {
                    live.remove(&name);
                    torn_down.insert(name);
                }
                _ => {}
            }
        }
    });
    assert!(
        supervisor.finish().unwrap().is_empty(),
        "nothing left running"
    );
    let after = fds_and_children();
    assert_eq!(
        after, before,
        "(open fds, children) before and after the replay"
    );
    let mut status = 0;
    // SAFETY: waitpid with WNOHANG writes only `status`.
    let reaped = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
    let errno = std::io::Error::last_os_error().raw_os_error();
    assert_eq!(
        (reaped, errno),
        (-1, Some(libc::ECHILD)),
        "waitpid(-1, WNOHANG): no child at all"
    );
    assert!(header.entries.is_empty());
    assert!(judge.ok());
    assert_eq!(setups.len(), 300);
    assert!(setups.values().all(|&n| n == 1), "{setups:?}");
    assert_eq!(torn_down.len(), 300);
    assert_eq!(most, 20, "pods alive at once");
}

/// Issue 22: virtual time is bounded at load time (exit 2, the file, line and column of what
/// is over the bound), and within the bounds idle time costs nothing: a day-long sync interval
/// replays the calls a day holds — under 1.5 one setup, its statuses and the teardown (86 400
/// idle relists and 1 440 resyncs of a steady pod make no call), under 1.1 a status pair at
/// the day's tick.
#[test]
fn virtual_time_is_bounded_at_load_and_idle_time_makes_no_calls() {
    let plugins = util::sample_plugins();
    let dir = tempfile::TempDir::new().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let huge = write(
        "huge.json",
        "{\"name\": \"huge\",\n  \"sync_interval_s\": 1000000000000,\n  \"pods\": [], \"steps\": [{\"start_kubelet\": {}}]}\n",
    );
    let long = write(
        "long.json",
        "{\"name\": \"long\", \"pods\": [],\n \"steps\": [{\"start_kubelet\": {}},\n   {\"wait\": {\"ms\": 1000000000000}}]}\n",
    );
    for (path, at, message) in [
        (
            &huge,
            "2:3",
            "sync_interval_s: 1000000000000 s is over the bound of 86400 s",
        ),
        (
            &long,
            "3:4",
            "step 1 (wait): the scenario's virtual time goes over the bound of 30 days",
        ),
    ] {
        let out = replay_json(plugins.path(), path.as_os_str(), dir.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(&format!(
                "{}:{at}: invalid scenario: {message}",
                path.display()
            )),
            "{stderr}"
        );
    }
    let day = write(
        "day.json",
        r#"{"name": "day", "sync_interval_s": 86400,
 "pods": [{"namespace": "default", "name": "web"}],
 "steps": [{"start_kubelet": {}}, {"create": ["default/web"]}, {"sync": {"count": 1}},
           {"delete": ["default/web"]}]}"#,
    );
    for (profile, expected) in [
        ("1.5", vec!["init", "setup", "status", "status", "teardown"]),
        (
            "1.1",
            vec![
                "init", "setup", "status", "status", "status", "status", "teardown",
            ],
        ),
    ] {
        let out = util::execnet()
            .args(["replay", "--plugin-dir"])
            .arg(plugins.path())
            .args([
                "--plugin",
                "recorder",
                "--kubelet",
                profile,
                "--seed",
                "1",
                "--format",
                "json",
            ])
            .arg(&day)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v = stdout_json(&out);
        let actions: Vec<&str> = v["entries"]
            .as_array()
            .unwrap()
            .iter()
            // The seeded relist-before-setup status is not about idle time.
            .filter(|e| e["event"] == "call" && e["purpose"] != "relist-before-setup")
            .map(|e| e["call"]["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions, expected, "{profile}");
    }
}
