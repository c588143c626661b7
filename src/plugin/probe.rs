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

impl ProbedPlugin {
    /// When the executable does not exist, what the directory holds instead, in words: the
    /// kubelet only said `Executable 'NAME' does not have correct permissions` (its access(2)
    /// X_OK check failed, v1.5 `pkg/kubelet/network/exec/exec.go`, `validate`), which blames a
    /// file that is not there. `None` when the executable exists (its permissions are then the
    /// real problem).
    pub fn missing_executable(&self) -> Option<String> {
        if self.executable.exists() {
            return None;
        }
        let dir = file_name(&self.directory);
        let exe = file_name(&self.executable);
        let expected = format!("{dir}/{exe}");
        if std::fs::symlink_metadata(&self.executable).is_ok() {
            if std::fs::metadata(&self.executable)
                .is_err_and(|e| e.raw_os_error() == Some(libc::ELOOP))
            {
                return Some(format!("{expected} is a symlink loop"));
            }
            return Some(format!(
                "{expected} is a symlink to a file that does not exist"
            ));
        }
        let mut nested = Vec::new();
        let mut files = Vec::new();
        let mut entries: Vec<(String, bool)> = std::fs::read_dir(&self.directory)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| {
                let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
                (e.file_name().to_string_lossy().into_owned(), is_dir)
            })
            .collect();
        entries.sort();
        for (name, is_dir) in entries {
            if is_dir {
                if self.directory.join(&name).join(&name).is_file() {
                    nested.push(name);
                }
            } else {
                files.push(name);
            }
        }
        let hint = if let Some(inner) = nested.first() {
            format!("found {dir}/{inner}/{inner}: did you mean a plugin directory `{inner}`?")
        } else if !files.is_empty() {
            let found: Vec<String> = files.iter().map(|f| format!("{dir}/{f}")).collect();
            format!(
                "found {}: the kubelet runs PLUGIN_DIR/{dir}/{exe}, the executable named after \
                 its plugin",
                found.join(", ")
            )
        } else {
            format!("{dir}/ holds no file")
        };
        Some(format!("{expected} not found; {hint}"))
    }
}

impl ProbedPlugin {
    /// Why an executable the kubelet's validation accepts (it only asked access(2) for X_OK)
    /// still cannot run: a directory, an empty file, a `#!` line ending in a carriage return
    /// (CRLF line endings: the interpreter `/bin/sh\r` does not exist), an interpreter that is
    /// not there. `None` when nothing of the kind is seen (or the executable is missing, which
    /// [`Self::missing_executable`] words).
    pub fn exec_problem(&self) -> Option<String> {
        use std::io::Read;
        let dir = file_name(&self.directory);
        let exe = format!("{dir}/{}", file_name(&self.executable));
        let meta = std::fs::metadata(&self.executable).ok()?;
        if meta.is_dir() {
            return Some(format!(
                "{exe} is a directory, not an executable file: every call fails (permission denied)"
            ));
        }
        if !meta.is_file() {
            return Some(format!("{exe} is not a regular file"));
        }
        if meta.len() == 0 {
            return Some(format!(
                "{exe} is empty: every call fails (exec format error)"
            ));
        }
        let mut head = [0u8; 256];
        let n = std::fs::File::open(&self.executable)
            .and_then(|f| f.take(256).read(&mut head))
            .ok()?;
        let head = &head[..n];
        let line = head.strip_prefix(b"#!")?;
        let line = &line[..line.iter().position(|&b| b == b'\n').unwrap_or(line.len())];
        let text = String::from_utf8_lossy(line);
        let interpreter = text.trim_start_matches([' ', '\t']);
        let interpreter = interpreter.split([' ', '\t']).next().unwrap_or_default();
        if interpreter.ends_with('\r') {
            return Some(format!(
                "{exe}'s #! line ends in a carriage return (CRLF line endings): its interpreter \
                 {:?} does not exist, every call fails (no such file or directory)",
                interpreter
            ));
        }
        if interpreter.is_empty() {
            return Some(format!("{exe}'s #! line names no interpreter"));
        }
        if !Path::new(interpreter).exists() {
            return Some(format!(
                "{exe}'s interpreter {interpreter} does not exist: every call fails (no such \
                 file or directory)"
            ));
        }
        None
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
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
