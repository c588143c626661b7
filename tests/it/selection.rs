//! Probe and selection exactly as the kubelet's start-up did them.

use std::os::unix::fs::PermissionsExt;

use execnet::plugin::{self, CallPolicy, NetworkPlugin, ProbedPlugin, SelectionError};

use crate::util;

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
    let sel = plugin::select(&probe.plugins, "", CallPolicy::default(), true);
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
    let sel = plugin::select(&probe.plugins, "good", CallPolicy::default(), true);
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
            "[network plugin has invalid name: \".hidden\": name part must consist of"
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
    let sel = plugin::select(&[first, second], "one", CallPolicy::default(), true);
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
    );
    assert!(sel.errors.is_empty(), "{:?}", sel.errors);
    assert_eq!(sel.init.unwrap().output_text(), "via link\n");
}
