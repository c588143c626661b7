//! Options shared by several subcommands, declared once and parsed once: `--plugin-dir` with
//! `--plugin`, `--kubelet`, `--timeout`, `--seed` and `--jobs`. Each value is typed by its clap
//! value parser, so a bad value is a usage error (exit 2) naming the option, before any plugin
//! runs, and subcommands receive a `&'static Profile` or an `Option<Duration>`, never a string.

use std::path::{Path, PathBuf};
use std::time::Duration;

use execnet::kubelet::{Profile, profile};

use super::Format;
use execnet::plugin::policy::parse_duration;

/// The plugin under test: a plugin directory and a plugin name in it.
#[derive(Debug, Clone, clap::Args)]
pub struct PluginTarget {
    /// The plugin directory (the kubelet's --network-plugin-dir).
    #[arg(long, value_name = "DIR")]
    pub plugin_dir: PathBuf,
    /// The plugin name (`NAME`, or `VENDOR/NAME` for a `VENDOR~NAME` directory).
    #[arg(long, value_name = "NAME")]
    pub plugin: String,
}

/// The same two options where both may be left out (`certify`: the bundled reference plugin).
#[derive(Debug, Clone, clap::Args)]
pub struct MaybePluginTarget {
    /// The plugin directory (the kubelet's --network-plugin-dir); without it and --plugin, the
    /// bundled reference plugin.
    #[arg(long, value_name = "DIR", requires = "plugin")]
    pub plugin_dir: Option<PathBuf>,
    /// The plugin name (`NAME`, or `VENDOR/NAME` for a `VENDOR~NAME` directory).
    #[arg(long, value_name = "NAME", requires = "plugin_dir")]
    pub plugin: Option<String>,
}

impl MaybePluginTarget {
    /// Both options, or `None` when neither was given (clap refuses one alone).
    pub fn get(&self) -> Option<(&Path, &str)> {
        Some((self.plugin_dir.as_deref()?, self.plugin.as_deref()?))
    }
}

/// A per-call timeout: `None` means none (`0`, `off`, `none`), as the kubelet had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeout(pub Option<Duration>);

/// `--timeout DUR`.
#[derive(Debug, Clone, clap::Args)]
pub struct TimeoutArg {
    /// Per-call timeout (e.g. 30s, 500ms, 2m; 0 or off: none, as the kubelet).
    #[arg(long, value_name = "DUR", default_value = "30s", value_parser = parse_timeout)]
    pub timeout: Timeout,
}

/// How the simulated kubelet runs: profile, timeout, seed, workers.
#[derive(Debug, Clone, clap::Args)]
pub struct KubeletArgs {
    /// Kubelet profile: 1.1, 1.2, 1.3, 1.4, 1.5 or documented.
    #[arg(
        long,
        value_name = "PROFILE",
        default_value = profile::DEFAULT_PROFILE,
        value_parser = parse_profile
    )]
    pub kubelet: &'static Profile,
    #[command(flatten)]
    pub timeout: TimeoutArg,
    /// Seed for container IDs and runtime IPs.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,
    /// Pod workers (default: each scenario's own `jobs`, else 1).
    #[arg(long, value_name = "J", value_parser = parse_jobs)]
    pub jobs: Option<usize>,
    #[command(flatten)]
    pub pass_env: PassEnvArg,
}

/// `--pass-env NAME`: plugins run with the kubelet's environment, not the user's.
#[derive(Debug, Clone, clap::Args)]
pub struct PassEnvArg {
    /// Give plugins this variable of execnet's environment too (repeatable). Plugins otherwise
    /// run with the kubelet's environment: PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    /// and execnet's own EXECNET_* variables; no locale, terminal, TMPDIR or HOME of the user's.
    #[arg(long = "pass-env", value_name = "NAME")]
    pub names: Vec<String>,
}

impl PassEnvArg {
    /// The plugins' environment; an unset name is an error (exit 2).
    pub fn env(&self) -> anyhow::Result<execnet::plugin::policy::PluginEnv> {
        execnet::plugin::policy::PluginEnv::kubelet()
            .with_passed(&self.names)
            .map_err(anyhow::Error::msg)
    }
}

impl KubeletArgs {
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout.timeout.0
    }
}

/// The value parser of `--timeout`.
pub fn parse_timeout(text: &str) -> Result<Timeout, String> {
    parse_duration(text).map(Timeout)
}

/// The value parser of `--kubelet`: the error lists the known profiles.
pub fn parse_profile(text: &str) -> Result<&'static Profile, String> {
    Profile::by_name(text).map_err(|e| e.to_string())
}

/// The value parser of `--jobs`: a whole number, at least 1.
pub fn parse_jobs(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("'{text}' is not a whole number")),
    }
}

/// `--kubelet` of `call` and `probe`: whose selection error texts to use.
#[derive(Debug, Clone, clap::Args)]
pub struct SelectionTextsArg {
    /// Whose selection error texts to use: 1.1, 1.2, 1.3, 1.4, 1.5 or documented (= 1.5's).
    #[arg(
        long,
        value_name = "PROFILE",
        default_value = profile::DEFAULT_PROFILE,
        value_parser = parse_profile
    )]
    pub kubelet: &'static Profile,
}

/// `--format text|json` of the subcommands other than `certify`.
#[derive(Debug, Clone, clap::Args)]
pub struct FormatArg {
    /// Output: text for people, or one JSON document on stdout for tools.
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = Format::Text)]
    pub format: Format,
}
