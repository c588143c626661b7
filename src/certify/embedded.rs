//! What the binary carries so that `execnet certify` works from any directory after
//! `cargo install`: the conformance scenarios and the reference sample plugin.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

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
];

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
