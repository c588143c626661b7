//! What the binary carries so that `execnet certify` works from any directory after
//! `cargo install`: the conformance scenarios and the reference sample plugin.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::kubelet::{Scenario, ScenarioError};

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

/// Write the reference plugin as `dir/reference/reference` (mode 0755).
pub fn install_reference(dir: &Path) -> std::io::Result<()> {
    let plugin_dir = dir.join(REFERENCE_NAME);
    std::fs::create_dir_all(&plugin_dir)?;
    let exe = plugin_dir.join(REFERENCE_NAME);
    std::fs::write(&exe, REFERENCE_SCRIPT)?;
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755))
}
