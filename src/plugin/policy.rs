//! Call policy: the safety features execnet adds to the kubelet's plain `CombinedOutput` call,
//! as one small typed value with a `Default` (timeout, grace, leak window, output cap), and the
//! environment the plugin runs with ([`PluginEnv`]: the kubelet's, not the user's).

use std::ffi::CString;
use std::sync::Arc;
use std::time::Duration;

/// The `PATH` a plugin gets: systemd's default for services, which is what a kubelet run as a
/// systemd unit (the packaged way) had and passed on — the kubelet's exec plugin set no
/// environment of its own (v1.5.0 pkg/kubelet/network/exec/exec.go: `execer.Command` with the
/// kubelet's environment; pkg/util/exec: `cmd.Env` nil).
pub const KUBELET_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The environment of a plugin call: `PATH` ([`KUBELET_PATH`], or the runtime's), execnet's own
/// `EXECNET_*` variables (the test plugins' settings; under supervision also `EXECNET_CALL`, the
/// call's mark, see `crate::supervise`), the runtime's (`DOCKER_HOST` under netns), and each
/// variable named with `--pass-env`. Nothing else of the user's: no locale
/// (`LANG`, `LC_*`), no terminal (`TERM`, …), no `TMPDIR`, `HOME` or `SHELL` — the kubelet
/// was a daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginEnv {
    vars: Arc<[CString]>,
}

impl PluginEnv {
    /// The kubelet's environment: `PATH` and this process's `EXECNET_*` variables.
    pub fn kubelet() -> Self {
        let mut vars = vec![("PATH".to_string(), KUBELET_PATH.to_string())];
        for (k, v) in std::env::vars_os() {
            if let (Some(k), Some(v)) = (k.to_str(), v.to_str())
                && k.starts_with("EXECNET_")
            {
                vars.push((k.to_string(), v.to_string()));
            }
        }
        PluginEnv::from_pairs(vars)
    }

    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let vars: Vec<CString> = pairs
            .into_iter()
            .filter_map(|(k, v)| CString::new(format!("{k}={v}")).ok())
            .collect();
        PluginEnv { vars: vars.into() }
    }

    fn pairs(&self) -> Vec<(String, String)> {
        self.vars
            .iter()
            .filter_map(|c| {
                let s = c.to_str().ok()?;
                let (k, v) = s.split_once('=')?;
                Some((k.to_string(), v.to_string()))
            })
            .collect()
    }

    /// `name=value`, replacing an earlier value of `name`.
    pub fn with_var(self, name: &str, value: &str) -> Self {
        let mut pairs: Vec<_> = self
            .pairs()
            .into_iter()
            .filter(|(k, _)| k != name)
            .collect();
        pairs.push((name.to_string(), value.to_string()));
        PluginEnv::from_pairs(pairs)
    }

    /// `dir` first in `PATH`.
    pub fn with_path_first(self, dir: &str) -> Self {
        let path = self.get("PATH").unwrap_or_else(|| KUBELET_PATH.to_string());
        self.with_var("PATH", &format!("{dir}:{path}"))
    }

    /// Each of `names` with this process's value (`--pass-env`); a name that is not set, or not
    /// valid UTF-8 without NUL, is an error naming it.
    pub fn with_passed(self, names: &[String]) -> Result<Self, String> {
        let mut env = self;
        for name in names {
            if name.is_empty() || name.contains('=') || name.contains('\0') {
                return Err(format!("--pass-env '{name}': not a variable name"));
            }
            let value = std::env::var(name).map_err(|_| {
                format!("--pass-env {name}: the variable is not set (or not UTF-8) in execnet's environment")
            })?;
            env = env.with_var(name, &value);
        }
        Ok(env)
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<String> {
        self.pairs()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// `NAME=value` strings, as `execve` takes them.
    pub fn vars(&self) -> &[CString] {
        &self.vars
    }
}

impl Default for PluginEnv {
    fn default() -> Self {
        PluginEnv::kubelet()
    }
}

/// How one plugin call is supervised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallPolicy {
    /// Per-call timeout; `None` reproduces the kubelet, which waited forever.
    pub timeout: Option<Duration>,
    /// After the timeout the process group gets SIGTERM, then SIGKILL after this grace.
    pub grace: Duration,
    /// After the plugin exits, how long to wait for EOF on the output pipe before calling the
    /// pipe leaked (a descendant still holds it) and returning anyway.
    pub leak_window: Duration,
    /// Combined output kept in memory; the rest is drained and counted.
    pub output_cap: usize,
    /// The plugin's environment.
    pub env: PluginEnv,
}

impl CallPolicy {
    /// Default per-call timeout (the `certify --timeout` default).
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    /// The kubelet's own behaviour: no timeout. Leak window and output cap stay on, because
    /// without them a misbehaving plugin hangs or exhausts the caller.
    pub fn kubelet() -> Self {
        CallPolicy {
            timeout: None,
            ..CallPolicy::default()
        }
    }

    pub fn with_timeout(self, timeout: Option<Duration>) -> Self {
        CallPolicy { timeout, ..self }
    }

    pub fn with_env(self, env: PluginEnv) -> Self {
        CallPolicy { env, ..self }
    }
}

impl Default for CallPolicy {
    fn default() -> Self {
        CallPolicy {
            timeout: Some(Self::DEFAULT_TIMEOUT),
            grace: Duration::from_secs(2),
            leak_window: Duration::from_millis(100),
            output_cap: 1 << 20,
            env: PluginEnv::kubelet(),
        }
    }
}

/// Parse a duration as written on the command line: `30s`, `500ms`, `2m`, `1.5s`, `1h`; a bare
/// number is seconds; `0`, `off` and `none` mean no timeout.
pub fn parse_duration(text: &str) -> Result<Option<Duration>, String> {
    let t = text.trim();
    if matches!(t, "off" | "none" | "0") {
        return Ok(None);
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("invalid duration '{text}': expected e.g. 30s, 500ms, 2m"))?;
    let scale = match unit {
        "" | "s" => 1.0,
        "ms" => 1e-3,
        "us" | "µs" => 1e-6,
        "ns" => 1e-9,
        "m" => 60.0,
        "h" => 3600.0,
        _ => {
            return Err(format!(
                "invalid duration '{text}': unknown unit '{unit}' (use ns, us, ms, s, m or h)"
            ));
        }
    };
    let secs = value * scale;
    if !secs.is_finite() || !(0.0..=1e9).contains(&secs) {
        return Err(format!("invalid duration '{text}': out of range"));
    }
    if secs == 0.0 {
        return Ok(None);
    }
    // Timeouts are kept and reported in milliseconds: a shorter one would be reported as
    // "0ms" (or silently become another value).
    if secs < 1e-3 {
        return Err(format!(
            "invalid duration '{text}': below 1ms (execnet's timeouts count milliseconds)"
        ));
    }
    Ok(Some(Duration::from_secs_f64(secs)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Some(Duration::from_secs(30))));
        assert_eq!(
            parse_duration("500ms"),
            Ok(Some(Duration::from_millis(500)))
        );
        assert_eq!(parse_duration("2m"), Ok(Some(Duration::from_secs(120))));
        assert_eq!(parse_duration("1.5"), Ok(Some(Duration::from_millis(1500))));
        assert_eq!(parse_duration("off"), Ok(None));
        assert_eq!(parse_duration("0s"), Ok(None));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("3 weeks").is_err());
        for tiny in ["1ns", "1us", "999us", "0.5ms"] {
            let err = parse_duration(tiny).unwrap_err();
            assert!(err.contains("below 1ms"), "{tiny}: {err}");
        }
        assert_eq!(parse_duration("1000us"), Ok(Some(Duration::from_millis(1))));
        let shown = |ms| crate::plugin::invoke::format_duration(Duration::from_millis(ms));
        assert_eq!(shown(2970), "2.97s");
        assert_eq!(shown(2500), "2.5s");
        assert_eq!(shown(1001), "1.001s");
        assert_eq!(shown(3000), "3s");
        assert_eq!(shown(5), "5ms");
        assert_eq!(
            crate::plugin::invoke::format_duration(Duration::from_secs_f64(2.97)),
            "2.97s"
        );
    }
}
