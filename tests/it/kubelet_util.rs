//! Helpers for the simulated-kubelet tests: a private copy of `sample-plugins/` (plugins write
//! state beside themselves), scenario loading, replay, and the one place where transcripts are
//! redacted before they are compared or snapshotted. The recorder in the copy is the compiled
//! one ([`compiled_recorder`]: the same calls and answers as the Python sample, a fraction of the
//! cost per call) and writes its JSON lines to `<copy>/../record.jsonl` (a wrapper sets
//! `EXECNET_RECORD`; the test process's environment is never changed).

use std::path::{Path, PathBuf};

use execnet::kubelet::{self, Profile, ReplayOptions, Scenario, Transcript};
use serde_json::Value;

/// Every shipped scenario.
pub const SCENARIOS: [&str; 15] = [
    "basic-lifecycle",
    "crash-without-teardown",
    "setup-failure",
    "kubelet-restart",
    "host-network",
    "parallel-pods",
    "long-names",
    "status-timing",
    "status-failure",
    "status-failure-then-delete",
    "app-exit",
    "docker-restart",
    "restart-with-deleted-pods",
    "slow-delete",
    "same-name",
];

/// A private copy of `sample-plugins/`, removed on drop.
#[derive(Debug)]
pub struct Plugins {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("mkdir {}: {e}", to.display()));
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.expect("dir entry");
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type().expect("file type").is_dir() {
            if entry.file_name() != "state" {
                copy_tree(&src, &dst);
            }
        } else {
            // fs::copy keeps the permission bits (the executables stay executable).
            std::fs::copy(&src, &dst)
                .unwrap_or_else(|e| panic!("copy {} -> {}: {e}", src.display(), dst.display()));
        }
    }
}

/// Copy the whole `sample-plugins` directory into a fresh temp directory.
pub fn sample_plugins() -> Plugins {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("plugins");
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-plugins"),
        &path,
    );
    // The recorder records into the temp root, through a wrapper that sets its variable and
    // runs the compiled recorder (the Python one stays beside it, unused).
    let rec = path.join("recorder");
    std::fs::rename(rec.join("recorder"), rec.join("recorder.py")).expect("rename recorder");
    let record = dir.path().join("record.jsonl");
    let wrapper = rec.join("recorder");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nEXECNET_RECORD='{}' exec '{}' \"$@\"\n",
            record.display(),
            compiled_recorder().display()
        ),
    )
    .expect("write recorder wrapper");
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    Plugins { _dir: dir, path }
}

/// `tests/plugins/recorder.rs` compiled with the toolchain's `rustc` into the target directory's
/// temp dir, once per source text (the file name carries a hash of it; a lock keeps parallel
/// test processes from compiling it side by side). A build step of the tests rather than a
/// cargo target: a `[[bin]]` would be installed with execnet, and an example is not built when
/// only the test target is (`cargo nextest run --test it`).
pub fn compiled_recorder() -> PathBuf {
    use std::hash::{Hash, Hasher};
    static PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/plugins/recorder.rs");
        let text = std::fs::read(&src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
        let mut h = std::collections::hash_map::DefaultHasher::new();
        text.hash(&mut h);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let exe = dir.join(format!("execnet-recorder-{:016x}", h.finish()));
        if exe.exists() {
            return exe;
        }
        let lock = std::fs::File::create(dir.join("execnet-recorder.lock")).expect("lock file");
        lock.lock().expect("lock");
        if !exe.exists() {
            let tmp = exe.with_extension(format!("tmp{}", std::process::id()));
            let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
            let out = std::process::Command::new(&rustc)
                .args([
                    "--edition",
                    "2024",
                    "-C",
                    "opt-level=1",
                    "-C",
                    "strip=debuginfo",
                ])
                .arg("-o")
                .arg(&tmp)
                .arg(&src)
                .output()
                .unwrap_or_else(|e| panic!("{}: {e}", rustc.to_string_lossy()));
            assert!(
                out.status.success(),
                "compiling {}: {}",
                src.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            std::fs::rename(&tmp, &exe).expect("rename the compiled recorder");
        }
        exe
    })
    .clone()
}

impl Plugins {
    /// The recorder's lines so far: each call's argv (without argv[0]).
    pub fn recorded(&self) -> Vec<Vec<String>> {
        let path = self.path.parent().expect("temp root").join("record.jsonl");
        let Ok(text) = std::fs::read_to_string(&path) else {
            return Vec::new();
        };
        text.lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"));
                v["argv"]
                    .as_array()
                    .expect("argv")
                    .iter()
                    .map(|a| a.as_str().expect("arg").to_string())
                    .collect()
            })
            .collect()
    }

    /// Forget what the recorder saw.
    pub fn clear_record(&self) {
        let _ = std::fs::remove_file(self.path.parent().expect("temp root").join("record.jsonl"));
    }

    /// Add a one-file plugin `NAME/NAME` with this shell script body.
    pub fn add_script(&self, name: &str, body: &str) {
        use std::os::unix::fs::PermissionsExt;
        let dir = self.path.join(name);
        std::fs::create_dir_all(&dir).expect("plugin dir");
        let exe = dir.join(name);
        std::fs::write(&exe, format!("#!/bin/sh\n{body}\n")).expect("write plugin");
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
}

pub fn scenario_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("conformance/scenarios")
        .join(format!("{name}.json"))
}

pub fn scenario(name: &str) -> Scenario {
    let path = scenario_path(name);
    Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// Replay a shipped scenario against `plugin` of `plugins`.
pub fn run(
    plugins: &Plugins,
    plugin: &str,
    scenario_name: &str,
    profile: &str,
    seed: u64,
    jobs: Option<usize>,
) -> Transcript {
    let options = ReplayOptions {
        profile: Profile::by_name(profile).expect("profile"),
        seed,
        jobs,
        timeout: Some(std::time::Duration::from_secs(30)),
        runner: None,
        runtime: None,
        ..ReplayOptions::default()
    };
    kubelet::replay(&plugins.path, plugin, &scenario(scenario_name), &options)
}

/// The transcript as JSON with what varies between runs replaced: every `duration_ms`, and the
/// temp plugin directory at the start of any string (argv[0]).
pub fn redact(transcript: &Transcript, plugin_dir: &Path) -> Value {
    fn walk(value: &mut Value, dir: &str) {
        match value {
            Value::Object(map) => {
                for (key, v) in map.iter_mut() {
                    if key == "duration_ms" {
                        *v = Value::String("[duration]".into());
                    } else {
                        walk(v, dir);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| walk(v, dir)),
            Value::String(s) if s.contains(dir) => *s = s.replace(dir, "[plugin-dir]"),
            _ => {}
        }
    }
    let mut value = serde_json::to_value(transcript).expect("transcript serializes");
    walk(&mut value, &plugin_dir.display().to_string());
    value
}

/// Redacted JSON text, for byte comparisons.
pub fn redacted_text(transcript: &Transcript, plugin_dir: &Path) -> String {
    serde_json::to_string_pretty(&redact(transcript, plugin_dir)).expect("json")
}

/// The text rendering with durations replaced (what the snapshots hold).
pub fn redacted_render(transcript: &Transcript, plugin_dir: &Path) -> String {
    let text = kubelet::render::render_text(transcript);
    let dir = plugin_dir.display().to_string();
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let line = line.replace(&dir, "[plugin-dir]");
        out.push_str(&redact_durations(&line));
        out.push('\n');
    }
    out
}

/// `success 12.3ms` / `) 12.3ms` → `[duration]`.
fn redact_durations(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = rest.find("ms") {
        let head = &rest[..i];
        let start = head
            .rfind(|c: char| !(c.is_ascii_digit() || c == '.'))
            .map_or(0, |j| j + 1);
        let number = &head[start..];
        if !number.is_empty() && start > 0 && head.as_bytes()[start - 1] == b' ' {
            out.push_str(&head[..start]);
            out.push_str("[duration]");
        } else {
            out.push_str(head);
            out.push_str("ms");
        }
        rest = &rest[i + 2..];
    }
    out.push_str(rest);
    out
}
