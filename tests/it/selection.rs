//! Probe and selection exactly as the kubelet's start-up did them.

use std::os::unix::fs::PermissionsExt;

use execnet::plugin::{
    self, CallPolicy, NetworkPlugin, ProbedPlugin, SelectionError, SelectionTexts,
};

use crate::util;

/// The v1.3–v1.5 texts (the default profile's).
const V1_5: SelectionTexts = SelectionTexts::V1_3;

const OK: &str = "#!/bin/sh\nexit 0\n";

#[test]
fn probe_sees_sorted_real_directories_only() {
    let tmp = tempfile::TempDir::new().unwrap();
    let root = tmp.path();
    util::write_plugin(root, "zeta", "zeta", OK);
    util::write_plugin(root, "alpha", "alpha", OK);
    util::write_plugin(root, "acme.io~net", "net", OK);
    std::fs::write(root.join("README"), "a plain file is ignored").unwrap();
    std::os::unix::fs::symlink(root.join("alpha"), root.join("linked")).unwrap();
    std::fs::create_dir(root.join("empty")).unwrap();
    let probe = plugin::probe(root);
    assert!(probe.unreadable.is_none());
    let names: Vec<&str> = probe.plugins.iter().map(|p| p.name.as_str()).collect();
    // Sorted by directory name; `linked` (a symlink to a directory) is not a plugin; an empty
    // directory is (nothing is validated at probe time).
    assert_eq!(names, ["acme.io/net", "alpha", "empty", "zeta"]);
    assert_eq!(probe.plugins[0].executable, root.join("acme.io~net/net"));
    assert_eq!(probe.plugins[2].executable, root.join("empty/empty"));
}

#[test]
fn missing_directory_yields_no_plugins() {
    let probe = plugin::probe(std::path::Path::new("/nonexistent/execnet/plugins"));
    assert!(probe.plugins.is_empty());
    assert!(
        probe
            .unreadable
            .as_deref()
            .unwrap()
            .contains("/nonexistent/execnet/plugins")
    );
}

#[test]
fn empty_name_selects_the_noop_plugin_without_validating_anything() {
    let tmp = tempfile::TempDir::new().unwrap();
    std::fs::create_dir(tmp.path().join(".hidden")).unwrap();
    let probe = plugin::probe(tmp.path());
    let sel = plugin::select(&probe.plugins, "", CallPolicy::default(), true, V1_5);
    assert!(matches!(sel.plugin, Some(NetworkPlugin::NoOp)));
    assert_eq!(sel.plugin.as_ref().unwrap().name(), "kubernetes.io/no-op");
    assert!(sel.errors.is_empty());
    assert!(sel.init.is_none());
}

#[test]
fn every_invalid_name_form_is_an_error_and_skipped() {
    let tmp = tempfile::TempDir::new().unwrap();
    let root = tmp.path();
    for dir in ["a~b~c", "~x", "x~", ".hidden", "Vendor~x", "good"] {
        let exe = plugin::name::executable_path(&root.join(dir), &plugin::name::unescape(dir));
        std::fs::create_dir_all(root.join(dir)).unwrap();
        if exe.parent() == Some(&root.join(dir)) && !exe.ends_with("/") {
            std::fs::write(&exe, OK).ok();
            std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).ok();
        }
    }
    let probe = plugin::probe(root);
    let sel = plugin::select(&probe.plugins, "good", CallPolicy::default(), true, V1_5);
    let invalid: Vec<String> = sel
        .errors
        .iter()
        .filter_map(|e| match e {
            SelectionError::InvalidName { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect();
    // Sorted by directory name: '.' < 'V' < 'a' < 'x' < '~'.
    assert_eq!(invalid, [".hidden", "Vendor/x", "a/b/c", "x/", "/x"]);
    assert_eq!(sel.errors.len(), 5, "good selected without further errors");
    assert!(sel.init.as_ref().unwrap().succeeded());
    let text = sel.error_text().unwrap();
    assert!(
        text.starts_with(
            "[network plugin has invalid name: \".hidden\": name part must match the regex"
        ),
        "{text}"
    );
    assert!(
        text.contains(", network plugin has invalid name: \"/x\": prefix part must be non-empty]"),
        "{text}"
    );
}

#[test]
fn duplicates_keep_the_first_and_report_the_rest() {
    let tmp = tempfile::TempDir::new().unwrap();
    util::write_plugin(tmp.path(), "one", "one", "#!/bin/sh\necho first\n");
    util::write_plugin(tmp.path(), "two", "one", "#!/bin/sh\necho second\n");
    let first = ProbedPlugin::new(tmp.path(), "one");
    let mut second = ProbedPlugin::new(tmp.path(), "two");
    second.name = "one".into();
    second.executable = tmp.path().join("two/one");
    let sel = plugin::select(&[first, second], "one", CallPolicy::default(), true, V1_5);
    assert_eq!(
        sel.errors,
        [SelectionError::Duplicate { name: "one".into() }]
    );
    assert_eq!(
        sel.error_text().unwrap(),
        "network plugin \"one\" was registered more than once"
    );
    assert_eq!(sel.init.unwrap().output_text(), "first\n");
}

#[test]
fn not_found() {
    let tmp = tempfile::TempDir::new().unwrap();
    util::write_plugin(tmp.path(), "other", "other", OK);
    let sel = plugin::select(
        &plugin::probe(tmp.path()).plugins,
        "net",
        CallPolicy::default(),
        true,
        V1_5,
    );
    assert!(sel.plugin.is_none());
    assert_eq!(
        sel.error_text().unwrap(),
        "Network plugin \"net\" not found."
    );
}

#[test]
fn not_executable_fails_without_running_init() {
    let tmp = tempfile::TempDir::new().unwrap();
    let exe = util::write_plugin(tmp.path(), "acme.io~net", "net", OK);
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o644)).unwrap();
    let sel = plugin::select(
        &plugin::probe(tmp.path()).plugins,
        "acme.io/net",
        CallPolicy::default(),
        true,
        V1_5,
    );
    assert!(sel.init.is_none());
    assert!(
        sel.exec_plugin().is_some(),
        "the kubelet still returned the plugin"
    );
    assert_eq!(
        sel.error_text().unwrap(),
        "Network plugin \"acme.io/net\" failed init: Invalid exec plugin. Executable 'acme.io/net' does not have correct permissions."
    );
}

#[test]
fn root_passes_access_on_any_execute_bit() {
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        return; // access(2) for root is the case under test
    }
    let tmp = tempfile::TempDir::new().unwrap();
    let exe = util::write_plugin(tmp.path(), "net", "net", OK);
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o601)).unwrap();
    assert!(plugin::select::is_executable(&exe));
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(!plugin::select::is_executable(&exe));
}

#[test]
fn init_failure_returns_the_plugin_and_the_error_together_with_other_errors() {
    let tmp = tempfile::TempDir::new().unwrap();
    util::write_plugin(
        tmp.path(),
        "net",
        "net",
        "#!/bin/sh\necho no config; exit 4\n",
    );
    std::fs::create_dir(tmp.path().join("Vendor~x")).unwrap();
    let sel = plugin::select(
        &plugin::probe(tmp.path()).plugins,
        "net",
        CallPolicy::default(),
        true,
        V1_5,
    );
    assert_eq!(sel.plugin.as_ref().map(|p| p.name()), Some("net"));
    assert_eq!(sel.init.as_ref().unwrap().output_text(), "no config\n");
    let text = sel.error_text().unwrap();
    assert!(
        text.starts_with("[network plugin has invalid name: \"Vendor/x\": "),
        "{text}"
    );
    assert!(
        text.ends_with(", Network plugin \"net\" failed init: exit status 4]"),
        "{text}"
    );
}

#[test]
fn symlinked_executable_is_followed() {
    let tmp = tempfile::TempDir::new().unwrap();
    let real = util::write_plugin(tmp.path(), "real", "real", "#!/bin/sh\necho via link\n");
    std::fs::create_dir(tmp.path().join("net")).unwrap();
    std::os::unix::fs::symlink(&real, tmp.path().join("net/net")).unwrap();
    let sel = plugin::select(
        &plugin::probe(tmp.path()).plugins,
        "net",
        CallPolicy::default(),
        true,
        V1_5,
    );
    assert!(sel.errors.is_empty(), "{:?}", sel.errors);
    assert_eq!(sel.init.unwrap().output_text(), "via link\n");
}

/// The v1.3.0–v1.5.x regex message of the name part, by hand from k8s v1.5.0
/// pkg/util/validation/validation.go (`"name part " + RegexError(qualifiedNameFmt, …)`).
const NAME_PART_REGEX: &str = "name part must match the regex ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] (e.g. 'MyName' or 'my.name' or '123-abc')";

/// A plugin directory with a good plugin `net` whose init and status leave marker files, and an
/// invalid sibling `.hidden`.
fn dir_with_invalid_sibling() -> tempfile::TempDir {
    let tmp = tempfile::TempDir::new().unwrap();
    let marks = tmp.path().display().to_string();
    util::write_plugin(
        tmp.path(),
        "net",
        "net",
        &format!("#!/bin/sh\ntouch '{marks}/ran-'\"$1\"\nexit 0\n"),
    );
    std::fs::create_dir(tmp.path().join(".hidden")).unwrap();
    tmp
}

/// v1.3.0–v1.5.x plugins.go: `fmt.Errorf("network plugin has invalid name: %q: %s", name,
/// strings.Join(errs, ";"))`; v1.1.1/v1.2.0: `fmt.Errorf("network plugin has invalid name:
/// %#v", plugin)` with the probed `*execNetworkPlugin` (execPath = path.Join(dir, entry)).
#[test]
fn invalid_name_texts_per_release() {
    let tmp = dir_with_invalid_sibling();
    let probe = plugin::probe(tmp.path());
    let v15 = plugin::select(&probe.plugins, "net", CallPolicy::default(), false, V1_5);
    assert_eq!(
        v15.error_text().unwrap(),
        format!("network plugin has invalid name: \".hidden\": {NAME_PART_REGEX}")
    );
    let v11 = plugin::select(
        &probe.plugins,
        "net",
        CallPolicy::default(),
        false,
        SelectionTexts::V1_1,
    );
    assert_eq!(
        v11.error_text().unwrap(),
        format!(
            "network plugin has invalid name: &exec.execNetworkPlugin{{execName:\".hidden\", execPath:\"{}/.hidden\", host:network.Host(nil)}}",
            tmp.path().display()
        )
    );
    // The profile names map onto the two wordings; `documented` is 1.5's.
    for (profile, texts) in [
        ("1.1", SelectionTexts::V1_1),
        ("1.2", SelectionTexts::V1_1),
        ("1.3", SelectionTexts::V1_3),
        ("1.4", SelectionTexts::V1_3),
        ("1.5", SelectionTexts::V1_3),
        ("documented", SelectionTexts::V1_3),
    ] {
        assert_eq!(SelectionTexts::for_profile(profile), texts, "{profile}");
    }
    // Several errors: utilerrors.NewAggregate's `[a, b]`, with %q quoting the names.
    let two = plugin::select(&probe.plugins, "x\"y", CallPolicy::default(), false, V1_5);
    assert_eq!(
        two.error_text().unwrap(),
        format!(
            "[network plugin has invalid name: \".hidden\": {NAME_PART_REGEX}, Network plugin \"x\\\"y\" not found.]"
        )
    );
}

/// An invalid *sibling* stops `execnet call` as it stopped the kubelet: the aggregate
/// exactly as Go printed it on one stderr line, exit 1, and neither init nor the action runs.
#[test]
fn call_stops_on_any_selection_error_without_running_anything() {
    let tmp = dir_with_invalid_sibling();
    for (profile, line) in [
        (
            "1.5",
            format!("network plugin has invalid name: \".hidden\": {NAME_PART_REGEX}"),
        ),
        (
            "1.2",
            format!(
                "network plugin has invalid name: &exec.execNetworkPlugin{{execName:\".hidden\", execPath:\"{}/.hidden\", host:network.Host(nil)}}",
                tmp.path().display()
            ),
        ),
    ] {
        let run = util::execnet()
            .arg("call")
            .arg("--plugin-dir")
            .arg(tmp.path())
            .args(["--plugin", "net", "status", "ns", "pod", util::ID])
            .args(["--kubelet", profile, "--format", "json"])
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(1), "{profile}: {run:?}");
        assert!(run.stdout.is_empty(), "{profile}: nothing was called");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(stderr.lines().next(), Some(line.as_str()), "{profile}");
        assert!(!tmp.path().join("ran-init").exists(), "{profile}: init ran");
        assert!(
            !tmp.path().join("ran-status").exists(),
            "{profile}: status ran"
        );
    }
    // Without the sibling, the same call runs init, then the action.
    std::fs::remove_dir(tmp.path().join(".hidden")).unwrap();
    util::execnet()
        .arg("call")
        .arg("--plugin-dir")
        .arg(tmp.path())
        .args(["--plugin", "net", "setup", "ns", "pod", util::ID])
        .assert()
        .code(0);
    assert!(tmp.path().join("ran-init").exists());
    assert!(tmp.path().join("ran-setup").exists());
}

/// A not-executable plugin is a selection error too (validate() inside Init): exit 1, the
/// kubelet's text, no process started.
#[test]
fn call_stops_on_a_not_executable_plugin() {
    let tmp = tempfile::TempDir::new().unwrap();
    let exe = util::write_plugin(tmp.path(), "acme.io~net", "net", OK);
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o644)).unwrap();
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } == 0 {
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let run = util::execnet()
        .arg("call")
        .arg("--plugin-dir")
        .arg(tmp.path())
        .args(["--plugin", "acme.io/net", "init"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&run.stderr).lines().next(),
        Some(
            "Network plugin \"acme.io/net\" failed init: Invalid exec plugin. Executable 'acme.io/net' does not have correct permissions."
        )
    );
}

/// A missing plugin directory is no error for the kubelet (`files, _ :=
/// ioutil.ReadDir(pluginDir)`): it reports the plugin not found. execnet says that, then why.
#[test]
fn missing_plugin_directory_is_not_found_plus_a_hint() {
    let run = util::execnet()
        .args([
            "call",
            "--plugin-dir",
            "/nonexistent/execnet/plugins",
            "--plugin",
            "net",
            "init",
        ])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2), "nothing to call: a setup error");
    let stderr = String::from_utf8_lossy(&run.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert_eq!(
        lines[0],
        "execnet: error: Network plugin \"net\" not found."
    );
    assert!(
        lines[1]
            .starts_with("execnet: cannot read plugin directory /nonexistent/execnet/plugins: ")
            && lines[1].ends_with("(the kubelet ignores that and sees no plugins)"),
        "{stderr}"
    );
}

/// `execnet probe --kubelet` words problems as that release did; an unknown profile is exit 2.
#[test]
fn probe_words_problems_per_release() {
    let tmp = dir_with_invalid_sibling();
    let problems = |profile: &str| {
        let run = util::execnet()
            .arg("probe")
            .arg("--plugin-dir")
            .arg(tmp.path())
            .args(["--kubelet", profile, "--format", "json"])
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(1), "{run:?}");
        let doc: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
        doc["plugins"][0]["problems"][0]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        problems("1.3"),
        format!("network plugin has invalid name: \".hidden\": {NAME_PART_REGEX}")
    );
    assert!(problems("1.1").starts_with(
        "network plugin has invalid name: &exec.execNetworkPlugin{execName:\".hidden\", execPath:"
    ));
    util::execnet()
        .arg("probe")
        .arg("--plugin-dir")
        .arg(tmp.path())
        .args(["--kubelet", "1.6"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("unknown kubelet profile '1.6'"));
}

/// Replay starts the kubelet with the profile's selection texts.
#[test]
fn replay_uses_the_profile_selection_texts() {
    let tmp = dir_with_invalid_sibling();
    let scenario = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("conformance/scenarios/basic-lifecycle.json");
    for (profile, needle) in [
        (
            "1.1",
            "ERROR network plugin has invalid name: &exec.execNetworkPlugin{execName:\".hidden\"",
        ),
        (
            "1.4",
            "ERROR network plugin has invalid name: \".hidden\": name part must match the regex",
        ),
    ] {
        let run = util::execnet()
            .arg("replay")
            .arg("--plugin-dir")
            .arg(tmp.path())
            .args(["--plugin", "net"])
            .arg(&scenario)
            .args(["--kubelet", profile])
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(1), "{run:?}");
        let text = String::from_utf8_lossy(&run.stdout);
        assert!(text.contains(needle), "{profile}: {text}");
    }
}
