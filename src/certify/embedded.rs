//! What the binary carries so that `execnet certify` works from any directory after
//! `cargo install`: the conformance scenarios and the reference sample plugin.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::kubelet::{Scenario, ScenarioError};
use crate::supervise::signals;

/// The shipped scenarios, by name (the files in `conformance/scenarios/`).
pub const SCENARIOS: &[(&str, &str)] = &[
    (
        "basic-lifecycle",
        include_str!("../../conformance/scenarios/basic-lifecycle.json"),
    ),
    (
        "crash-without-teardown",
        include_str!("../../conformance/scenarios/crash-without-teardown.json"),
    ),
    (
        "setup-failure",
        include_str!("../../conformance/scenarios/setup-failure.json"),
    ),
    (
        "kubelet-restart",
        include_str!("../../conformance/scenarios/kubelet-restart.json"),
    ),
    (
        "host-network",
        include_str!("../../conformance/scenarios/host-network.json"),
    ),
    (
        "parallel-pods",
        include_str!("../../conformance/scenarios/parallel-pods.json"),
    ),
    (
        "long-names",
        include_str!("../../conformance/scenarios/long-names.json"),
    ),
    (
        "status-timing",
        include_str!("../../conformance/scenarios/status-timing.json"),
    ),
    (
        "status-failure",
        include_str!("../../conformance/scenarios/status-failure.json"),
    ),
    (
        "status-failure-then-delete",
        include_str!("../../conformance/scenarios/status-failure-then-delete.json"),
    ),
    (
        "app-exit",
        include_str!("../../conformance/scenarios/app-exit.json"),
    ),
    (
        "docker-restart",
        include_str!("../../conformance/scenarios/docker-restart.json"),
    ),
    (
        "restart-with-deleted-pods",
        include_str!("../../conformance/scenarios/restart-with-deleted-pods.json"),
    ),
    (
        "slow-delete",
        include_str!("../../conformance/scenarios/slow-delete.json"),
    ),
    (
        "same-name",
        include_str!("../../conformance/scenarios/same-name.json"),
    ),
];

/// The text of the bundled scenario `name`.
pub fn scenario_text(name: &str) -> Option<&'static str> {
    SCENARIOS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// The path a bundled scenario is named by in messages: the file it was built from.
pub fn scenario_path(name: &str) -> PathBuf {
    PathBuf::from(format!("conformance/scenarios/{name}.json"))
}

/// The bundled scenario `name`, parsed and checked; `None` when no scenario has that name.
pub fn scenario(name: &str) -> Option<Result<Scenario, ScenarioError>> {
    scenario_text(name).map(|text| Scenario::parse(text, &scenario_path(name)))
}

/// The bundled scenarios' names, in the order certification replays them.
pub fn scenario_names() -> Vec<&'static str> {
    SCENARIOS.iter().map(|(n, _)| *n).collect()
}

/// The bundled reference plugin's name and script.
pub const REFERENCE_NAME: &str = "reference";
pub const REFERENCE_SCRIPT: &str = include_str!("../../sample-plugins/reference/reference");

/// The bundled reference plugin installed in a private temp directory of its own (a fresh copy,
/// so its file IPAM starts empty): removed on drop, and by the signal handler when a signal
/// ends the run. `certify`, `call` and `replay` without `--plugin-dir`/`--plugin` use it.
#[derive(Debug)]
pub struct BundledReference(PathBuf, Option<tempfile::TempDir>);

impl BundledReference {
    pub fn install() -> std::io::Result<Self> {
        // Those of runs that died without cleaning up (an abort, SIGKILL) go first.
        sweep_stale_references(&std::env::temp_dir());
        let me = std::process::id();
        let start = crate::runtime::netns::sys::start_time(me).unwrap_or(0);
        let dir = tempfile::Builder::new()
            .prefix(&format!("{REFERENCE_PREFIX}{me}-{start}-"))
            .tempdir()?;
        signals::remove_on_signal(dir.path());
        let me = BundledReference(dir.path().to_path_buf(), Some(dir));
        install_reference(me.path())?;
        // access(2) X_OK also refuses a file on a `noexec` mount: execnet's temp directory,
        // not the plugin, would then be at fault (exit 2, never a finding).
        let script = me.path().join(REFERENCE_NAME).join(REFERENCE_NAME);
        if !crate::plugin::select::is_executable(&script) {
            return Err(std::io::Error::other(format!(
                "{} cannot be executed (is TMPDIR on a noexec mount?); set TMPDIR to a directory execnet can run programs from",
                script.display()
            )));
        }
        Ok(me)
    }

    /// The plugin directory (it holds `reference/reference`).
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for BundledReference {
    fn drop(&mut self) {
        if let Some(dir) = self.1.take() {
            let _ = dir.close();
        }
        signals::forget(&self.0);
    }
}

/// The bundled reference's temp directories: `execnet-reference-PID-START-XXXXXX`, naming the
/// run that made it (pid and start time), so that a later run or `execnet gc` can remove those
/// whose run is gone (a memory-limit abort or SIGKILL skips every cleanup).
pub const REFERENCE_PREFIX: &str = "execnet-reference-";

/// Remove the bundled reference directories in `tmp` whose run is gone: only real directories
/// (never a symlink) owned by this user. Returns those removed.
pub fn sweep_stale_references(tmp: &Path) -> Vec<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return Vec::new();
    };
    // `/proc/self` belongs to the process's effective user.
    let Ok(uid) = std::fs::metadata("/proc/self").map(|m| m.uid()) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(REFERENCE_PREFIX)) else {
            continue;
        };
        let mut parts = rest.splitn(3, '-');
        let (Some(Ok(pid)), Some(Ok(start))) = (
            parts.next().map(str::parse::<u32>),
            parts.next().map(str::parse::<u64>),
        ) else {
            continue;
        };
        if crate::runtime::netns::sys::start_time(pid).is_some_and(|t| t == start) {
            continue;
        }
        let path = entry.path();
        let ours = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir() && m.uid() == uid);
        if ours && std::fs::remove_dir_all(&path).is_ok() {
            removed.push(path);
        }
    }
    removed
}

/// Write the reference plugin as `dir/reference/reference` (mode 0755).
pub fn install_reference(dir: &Path) -> std::io::Result<()> {
    let plugin_dir = dir.join(REFERENCE_NAME);
    std::fs::create_dir_all(&plugin_dir)?;
    let exe = plugin_dir.join(REFERENCE_NAME);
    std::fs::write(&exe, REFERENCE_SCRIPT)?;
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every bundled scenario written back through the library's `Serialize` loads to the same
    /// scenario (the fuzz target `scenario` relies on this for arbitrary accepted inputs; this
    /// keeps a new step or field from breaking it unnoticed).
    #[test]
    fn bundled_scenarios_round_trip_through_serialize() {
        for name in scenario_names() {
            let s = scenario(name).unwrap().unwrap();
            let text = serde_json::to_string_pretty(&s).unwrap();
            let again = Scenario::parse(&text, Path::new("again.json"))
                .unwrap_or_else(|e| panic!("{name}: written back, refused: {e}\n{text}"));
            assert_eq!(format!("{again:?}"), format!("{s:?}"), "{name}");
        }
    }
}
