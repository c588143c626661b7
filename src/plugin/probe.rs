//! Probe: the plugins the kubelet would see in a plugin directory (`ProbeNetworkPlugins`):
//! entries sorted by name, real directories only (lstat: a symlink to a directory is not a
//! plugin, regular files are ignored), nothing validated. A missing or unreadable directory
//! yields no plugins.

use std::path::{Path, PathBuf};

use super::name;

/// One plugin directory as probed, before any validation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProbedPlugin {
    /// The plugin name: the directory name with every `~` replaced by `/`.
    pub name: String,
    /// The directory `PLUGIN_DIR/<dir name>`.
    pub directory: PathBuf,
    /// The executable `DIR/<last '/'-segment of the name>`.
    pub executable: PathBuf,
}

impl ProbedPlugin {
    /// A plugin for a directory entry called `dir_name` in `plugin_dir`.
    pub fn new(plugin_dir: &Path, dir_name: &str) -> Self {
        let name = name::unescape(dir_name);
        let directory = plugin_dir.join(dir_name);
        let executable = name::executable_path(&directory, &name);
        ProbedPlugin {
            name,
            directory,
            executable,
        }
    }
}

/// What probing found, and why nothing was found when the directory could not be read.
#[derive(Debug, Clone)]
pub struct Probe {
    pub plugins: Vec<ProbedPlugin>,
    /// Set when the directory was missing or unreadable (the kubelet silently saw no plugins).
    pub unreadable: Option<String>,
}

impl Probe {
    /// The probed names for messages: `a, b, vendor/c`, or `none`.
    pub fn names(&self) -> String {
        if self.plugins.is_empty() {
            return "none".to_string();
        }
        let names: Vec<&str> = self.plugins.iter().map(|p| p.name.as_str()).collect();
        names.join(", ")
    }

    /// Whether a plugin of that name was probed.
    pub fn has(&self, name: &str) -> bool {
        self.plugins.iter().any(|p| p.name == name)
    }
}

/// Probe `plugin_dir` exactly as the kubelet did (`ioutil.ReadDir` + `IsDir` on lstat).
pub fn probe(plugin_dir: &Path) -> Probe {
    let entries = match std::fs::read_dir(plugin_dir) {
        Ok(entries) => entries,
        Err(err) => {
            return Probe {
                plugins: Vec::new(),
                unreadable: Some(format!("{}: {err}", plugin_dir.display())),
            };
        }
    };
    let mut names: Vec<String> = Vec::new();
    for entry in entries.flatten() {
        // DirEntry::file_type does not follow symlinks: exactly lstat's answer.
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if !is_dir {
            continue;
        }
        // Names that are not UTF-8 cannot be plugin names the kubelet could select; Go would
        // keep the bytes. Keep them lossily so that they show up as invalid names.
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    // ioutil.ReadDir sorts by name: byte order.
    names.sort_unstable();
    Probe {
        plugins: names
            .iter()
            .map(|n| ProbedPlugin::new(plugin_dir, n))
            .collect(),
        unreadable: None,
    }
}
