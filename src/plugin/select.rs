//! Selection: what the kubelet did at start-up (`pkg/kubelet/network/plugins.go`
//! `InitNetworkPlugin`, v1.1.1–v1.5.x): the no-op default, qualified-name validation (worded per
//! release, [`SelectionTexts`]), duplicates (first wins), not found, the access(2) X_OK check,
//! and `init`, with every error aggregated in the kubelet's wording
//! (`utilerrors.NewAggregate`). On init failure the plugin is still returned together with the
//! error, as the kubelet did.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::call::CallRecord;
use super::invoke::{Action, Direct, Runner};
use super::name;
use super::policy::CallPolicy;
use super::probe::ProbedPlugin;
use super::status::{self, StatusResult};

/// The built-in plugin used when no plugin is requested.
pub const NOOP_NAME: &str = "kubernetes.io/no-op";

/// Which release's wording selection uses for an invalid plugin name (the only selection text
/// that changed between v1.1 and v1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SelectionTexts {
    /// v1.1.1–v1.2.x `InitNetworkPlugin`: `fmt.Errorf("network plugin has invalid name: %#v",
    /// plugin)`, the Go syntax of the probed plugin value (`IsQualifiedName` returned a bool).
    V1_1,
    /// v1.3.0–v1.5.x: `fmt.Errorf("network plugin has invalid name: %q: %s", name,
    /// strings.Join(validation.IsQualifiedName(name), ";"))`.
    #[default]
    V1_3,
}

impl SelectionTexts {
    /// The texts of a kubelet profile (`1.1` … `1.5`; `documented` and anything else: 1.5's).
    pub fn for_profile(profile_name: &str) -> Self {
        match profile_name {
            "1.1" | "1.2" => SelectionTexts::V1_1,
            _ => SelectionTexts::V1_3,
        }
    }

    /// The error for a probed plugin whose name is not a qualified name (`reasons` non-empty).
    pub fn invalid_name(self, plugin: &ProbedPlugin, reasons: &[String]) -> SelectionError {
        let shown = match self {
            SelectionTexts::V1_1 => name::go_syntax_of_exec_plugin(
                &plugin.name,
                &name::go_path_clean(&plugin.directory.to_string_lossy()),
            ),
            SelectionTexts::V1_3 => {
                format!("{}: {}", name::go_quote(&plugin.name), reasons.join(";"))
            }
        };
        SelectionError::InvalidName {
            name: plugin.name.clone(),
            shown,
        }
    }
}

/// One selection error, displayed exactly as the kubelet wrote it (`%q` is Go's quoting).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectionError {
    /// `shown` is what follows the colon, per release ([`SelectionTexts`]).
    #[error("network plugin has invalid name: {shown}")]
    InvalidName { name: String, shown: String },
    #[error("network plugin {} was registered more than once", name::go_quote(.name))]
    Duplicate { name: String },
    #[error("Network plugin {} not found.", name::go_quote(.name))]
    NotFound { name: String },
    /// `validate()` runs inside `Init`, so the kubelet wrapped it in "failed init".
    #[error(
        "Network plugin {} failed init: Invalid exec plugin. Executable '{name}' does not have correct permissions.",
        name::go_quote(.name)
    )]
    NotExecutable { name: String },
    #[error("Network plugin {} failed init: {error}", name::go_quote(.name))]
    InitFailed { name: String, error: String },
}

/// The kubelet's `utilerrors.NewAggregate(...).Error()`: one error as is, several as `[a, b]`.
pub fn aggregate(errors: &[SelectionError]) -> Option<String> {
    match errors {
        [] => None,
        [one] => Some(one.to_string()),
        many => Some(format!(
            "[{}]",
            many.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// access(2) with X_OK: real uid, follows symlinks, a directory passes, root passes on any x bit.
pub fn is_executable(path: &Path) -> bool {
    crate::sys::access(path, libc::X_OK)
}

/// An exec plugin the manager calls.
#[derive(Debug, Clone)]
pub struct ExecPlugin {
    pub name: String,
    pub executable: PathBuf,
    pub policy: CallPolicy,
    /// How calls are run: plainly, or through a supervisor (`crate::supervise`).
    runner: Arc<dyn Runner>,
}

impl ExecPlugin {
    pub fn new(probed: &ProbedPlugin, policy: CallPolicy) -> Self {
        ExecPlugin {
            name: probed.name.clone(),
            executable: probed.executable.clone(),
            policy,
            runner: Arc::new(Direct),
        }
    }

    /// Run this plugin's calls through `runner` from now on.
    pub fn with_runner(self, runner: Arc<dyn Runner>) -> Self {
        ExecPlugin { runner, ..self }
    }

    /// `NAME init`.
    pub fn init(&self) -> CallRecord {
        self.run(Action::Init, &[], "")
    }

    /// `NAME <action> <namespace> <name> <id>`; for `status` the output is parsed as the kubelet
    /// parsed it (errors name `name`, the pod-name argument, as the kubelet's messages did).
    pub fn call(&self, action: Action, namespace: &str, name: &str, id: &str) -> CallRecord {
        self.run(action, &[namespace, name, id], name)
    }

    fn run(&self, action: Action, rest: &[&str], pod_name: &str) -> CallRecord {
        // `<action> <ns> <name> <id>` on the stack.
        let mut stack = [""; 4];
        let heap: Vec<&str>;
        let args: &[&str] = if rest.len() < stack.len() {
            stack[0] = action.as_str();
            stack[1..=rest.len()].copy_from_slice(rest);
            &stack[..=rest.len()]
        } else {
            heap = std::iter::once(action.as_str())
                .chain(rest.iter().copied())
                .collect();
            &heap
        };
        let raw = self
            .runner
            .run(action, &self.executable, args, &self.policy);
        let status = (action == Action::Status).then(|| match raw.outcome.error() {
            // exec.go: a non-zero exit is the error, whatever the output.
            Some(err) => StatusResult::Error { message: err },
            // docs/supervision.md §4: the kubelet read everything; a prefix cannot be judged for it.
            None if raw.truncated => StatusResult::NotJudged {
                output_bytes: raw.output_bytes,
                kept: raw.output.len(),
            },
            None => status::parse_status(&raw.output, pod_name),
        });
        CallRecord {
            action,
            raw,
            status,
        }
    }
}

/// The selected plugin.
#[derive(Debug, Clone)]
pub enum NetworkPlugin {
    /// `kubernetes.io/no-op`: setup/teardown do nothing, status returns none.
    NoOp,
    Exec(ExecPlugin),
}

impl NetworkPlugin {
    pub fn name(&self) -> &str {
        match self {
            NetworkPlugin::NoOp => NOOP_NAME,
            NetworkPlugin::Exec(p) => &p.name,
        }
    }
}

/// The result of selecting a plugin, as the kubelet's start-up saw it.
#[derive(Debug, Clone)]
pub struct Selection {
    /// The chosen plugin; present even when its init failed.
    pub plugin: Option<NetworkPlugin>,
    /// Every error, including those about other directories.
    pub errors: Vec<SelectionError>,
    /// The `init` call, when one was made.
    pub init: Option<CallRecord>,
}

impl Selection {
    /// The aggregated error text; the kubelet refused to start when there was one.
    pub fn error_text(&self) -> Option<String> {
        aggregate(&self.errors)
    }

    /// The chosen exec plugin, if any.
    pub fn exec_plugin(&self) -> Option<&ExecPlugin> {
        match &self.plugin {
            Some(NetworkPlugin::Exec(p)) => Some(p),
            _ => None,
        }
    }
}

/// Problems the kubelet would report about each probed plugin, independent of which one is
/// requested (invalid name, duplicate, not executable), worded as `texts`' release. For
/// `execnet probe`.
pub fn problems(plugins: &[ProbedPlugin], texts: SelectionTexts) -> Vec<Vec<String>> {
    let mut seen = std::collections::HashSet::new();
    plugins
        .iter()
        .map(|p| {
            let mut out = Vec::new();
            let reasons = name::qualified_name_errors(&p.name);
            if !reasons.is_empty() {
                out.push(texts.invalid_name(p, &reasons).to_string());
            } else if !seen.insert(p.name.clone()) {
                out.push(
                    SelectionError::Duplicate {
                        name: p.name.clone(),
                    }
                    .to_string(),
                );
            }
            if !is_executable(&p.executable) {
                let kubelet = format!(
                    "Invalid exec plugin. Executable '{}' does not have correct permissions.",
                    p.name
                );
                out.push(match p.missing_executable() {
                    Some(what) => format!("{what} (the kubelet said: {kubelet})"),
                    None => kubelet,
                });
            }
            out
        })
        .collect()
}

/// Select `requested` among `plugins` and (when `run_init`) call its `init`, as the kubelet did,
/// with the error texts of `texts`' release.
pub fn select(
    plugins: &[ProbedPlugin],
    requested: &str,
    policy: CallPolicy,
    run_init: bool,
    texts: SelectionTexts,
) -> Selection {
    select_with(
        plugins,
        requested,
        policy,
        run_init,
        texts,
        Arc::new(Direct),
    )
}

/// [`select`], with every call (also `init`) run through `runner`.
pub fn select_with(
    plugins: &[ProbedPlugin],
    requested: &str,
    policy: CallPolicy,
    run_init: bool,
    texts: SelectionTexts,
    runner: Arc<dyn Runner>,
) -> Selection {
    if requested.is_empty() {
        return Selection {
            plugin: Some(NetworkPlugin::NoOp),
            errors: Vec::new(),
            init: None,
        };
    }
    let mut errors = Vec::new();
    let mut registered: Vec<&ProbedPlugin> = Vec::new();
    for p in plugins {
        let reasons = name::qualified_name_errors(&p.name);
        if !reasons.is_empty() {
            errors.push(texts.invalid_name(p, &reasons));
            continue;
        }
        if registered.iter().any(|r| r.name == p.name) {
            errors.push(SelectionError::Duplicate {
                name: p.name.clone(),
            });
            continue;
        }
        registered.push(p);
    }
    let Some(chosen) = registered.iter().find(|p| p.name == requested) else {
        errors.push(SelectionError::NotFound {
            name: requested.to_string(),
        });
        return Selection {
            plugin: None,
            errors,
            init: None,
        };
    };
    let plugin = ExecPlugin::new(chosen, policy).with_runner(runner);
    let mut init = None;
    if !is_executable(&plugin.executable) {
        errors.push(SelectionError::NotExecutable {
            name: requested.to_string(),
        });
    } else if run_init {
        let record = plugin.init();
        if let Some(error) = record.outcome().error() {
            errors.push(SelectionError::InitFailed {
                name: requested.to_string(),
                error,
            });
        }
        init = Some(record);
    }
    Selection {
        plugin: Some(NetworkPlugin::Exec(plugin)),
        errors,
        init,
    }
}
