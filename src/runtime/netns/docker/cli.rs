//! The `docker` command as docker 1.12's CLI answered exec plugins: `inspect` (a JSON array, or
//! `--format`/`-f`/`--format=`/legacy `-format` with mflag's deprecation warning), `ps` (`-a`,
//! `-q`, `--no-trunc[=true]`), `version`; exit codes and error texts of 1.12. It is execnet's own
//! binary called by the name `docker` (a link in the sandbox's `/run/execnet/bin`), and a real
//! client of the Engine API ([`super::api`]) on `DOCKER_HOST` / `-H` / `/var/run/docker.sock`.

use std::io::Write;
use std::time::SystemTime;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use serde_json::Value;

use super::api::{API_VERSION, DOCKER_VERSION};
use super::template::Template;

/// What one CLI run printed and returned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CliOutput {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

/// Run the CLI with `args` (without argv[0]) and print: the entry point of `docker`.
pub fn main(args: &[String]) -> i32 {
    let out = run(args, std::env::var("DOCKER_HOST").ok().as_deref());
    let _ = std::io::stdout().write_all(out.stdout.as_bytes());
    let _ = std::io::stderr().write_all(out.stderr.as_bytes());
    out.code
}

const CANNOT_CONNECT: &str =
    "Cannot connect to the Docker daemon. Is the docker daemon running on this host?\n";

/// GET one path on the daemon: (status, body).
fn get(socket: &str, path: &str) -> Result<(u16, Vec<u8>), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let stream = tokio::net::UnixStream::connect(socket)
            .await
            .map_err(|e| e.to_string())?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let req = hyper::Request::get(format!("/v{API_VERSION}{path}"))
            .header("Host", "docker")
            .header(
                "User-Agent",
                format!("Docker-Client/{DOCKER_VERSION} (linux)"),
            )
            .body(Empty::<Bytes>::new())
            .map_err(|e| e.to_string())?;
        let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((status, body.to_vec()))
    })
}

fn socket_of(host: Option<&str>) -> Result<String, String> {
    match host {
        None | Some("") => Ok("/var/run/docker.sock".to_string()),
        Some(h) => h
            .strip_prefix("unix://")
            .map(str::to_string)
            .ok_or_else(|| format!("execnet's docker CLI speaks only unix:// (got {h:?})")),
    }
}

fn fail(stderr: String, code: i32) -> CliOutput {
    CliOutput {
        stdout: String::new(),
        stderr,
        code,
    }
}

/// The whole CLI, as a function of its arguments and `DOCKER_HOST`.
pub fn run(args: &[String], docker_host: Option<&str>) -> CliOutput {
    let mut host = docker_host.map(str::to_string);
    let mut i = 0;
    // Global options before the command: -H/--host.
    while i < args.len() {
        let a = &args[i];
        if a == "-H" || a == "--host" {
            host = args.get(i + 1).cloned();
            i += 2;
        } else if let Some(h) = a.strip_prefix("--host=").or_else(|| a.strip_prefix("-H=")) {
            host = Some(h.to_string());
            i += 1;
        } else {
            break;
        }
    }
    let socket = match socket_of(host.as_deref()) {
        Ok(s) => s,
        Err(e) => return fail(format!("{e}\n"), 1),
    };
    let Some(command) = args.get(i) else {
        return fail("Usage: docker [OPTIONS] COMMAND [arg...]\n".into(), 0);
    };
    let rest = &args[i + 1..];
    match command.as_str() {
        "inspect" => inspect(&socket, rest),
        "ps" => ps(&socket, rest),
        "version" => version(&socket),
        other => fail(
            format!("docker: '{other}' is not a docker command.\nSee 'docker --help'.\n"),
            1,
        ),
    }
}

/// `docker inspect [-f|--format TEMPLATE] [--type container] ID…`.
fn inspect(socket: &str, args: &[String]) -> CliOutput {
    let mut format: Option<String> = None;
    let mut ids = Vec::new();
    let mut stderr = String::new();
    let mut i = 0;
    let mut kind: Option<String> = None;
    while i < args.len() {
        let a = args[i].as_str();
        let take = |i: &mut usize| {
            *i += 1;
            args.get(*i).cloned()
        };
        match a {
            "-f" | "--format" => format = take(&mut i),
            // mflag accepted the single-dash long name and warned (docker <= 1.12
            // `pkg/mflag/flag.go`: `#format` marks the deprecated spelling).
            "-format" => {
                stderr.push_str(
                    "Warning: '-format' is deprecated, it will be replaced by '--format' soon. See usage.\n",
                );
                format = take(&mut i);
            }
            "--type" => kind = take(&mut i),
            "-s" | "--size" => {}
            _ if a.starts_with("--format=") => format = Some(a["--format=".len()..].to_string()),
            _ if a.starts_with("-format=") => {
                stderr.push_str(
                    "Warning: '-format' is deprecated, it will be replaced by '--format' soon. See usage.\n",
                );
                format = Some(a["-format=".len()..].to_string());
            }
            _ if a.starts_with("-f=") => format = Some(a[3..].to_string()),
            _ if a.starts_with("--type=") => kind = Some(a[7..].to_string()),
            _ if a.starts_with('-') && a.len() > 1 => {
                return fail(
                    format!(
                        "{stderr}flag provided but not defined: {a}\nSee 'docker inspect --help'.\n"
                    ),
                    1,
                );
            }
            _ => ids.push(a.to_string()),
        }
        i += 1;
    }
    if ids.is_empty() {
        return fail(
            format!(
                "{stderr}docker: \"inspect\" requires a minimum of 1 argument.\nSee 'docker inspect --help'.\n"
            ),
            1,
        );
    }
    let template = match format.as_deref().map(Template::parse).transpose() {
        Ok(t) => t,
        Err(e) => return fail(format!("{stderr}Template parsing error: {e}\n"), 1),
    };
    let mut found: Vec<Value> = Vec::new();
    let mut code = 0;
    for id in &ids {
        match get(socket, &format!("/containers/{id}/json")) {
            Err(_) => return fail(format!("{stderr}{CANNOT_CONNECT}"), 1),
            Ok((200, body)) => match serde_json::from_slice(&body) {
                Ok(v) => found.push(v),
                Err(e) => return fail(format!("{stderr}Error: {e}\n"), 1),
            },
            Ok(_) => {
                code = 1;
                let what = if kind.as_deref() == Some("container") {
                    "container"
                } else {
                    "object"
                };
                stderr.push_str(&format!("Error: No such {what}: {id}\n"));
            }
        }
    }
    let mut stdout = String::new();
    match &template {
        Some(t) => {
            for v in &found {
                stdout.push_str(&t.execute(v));
                stdout.push('\n');
            }
        }
        None => {
            // Go's json.MarshalIndent(elements, "", "    "); "[]" when nothing was found.
            stdout.push_str(&indent4(&Value::Array(found)));
            stdout.push('\n');
        }
    }
    CliOutput {
        stdout,
        stderr,
        code,
    }
}

fn indent4(v: &Value) -> String {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    let _ = serde::Serialize::serialize(v, &mut ser);
    String::from_utf8_lossy(&buf).into_owned()
}

fn bool_flag(value: &str) -> Option<bool> {
    match value {
        "true" | "1" | "t" | "T" | "TRUE" | "True" => Some(true),
        "false" | "0" | "f" | "F" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// `docker ps [-a] [-q] [--no-trunc[=true]]`.
fn ps(socket: &str, args: &[String]) -> CliOutput {
    let (mut all, mut quiet, mut no_trunc) = (false, false, false);
    for a in args {
        let (name, value) = match a.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (a.as_str(), None),
        };
        let v = match value.map(bool_flag) {
            None => true,
            Some(Some(b)) => b,
            Some(None) => {
                return fail(
                    format!(
                        "invalid boolean value {:?} for  {name}: strconv.ParseBool: parsing {:?}: invalid syntax\nSee 'docker ps --help'.\n",
                        value.unwrap_or(""),
                        value.unwrap_or("")
                    ),
                    1,
                );
            }
        };
        match name {
            "-a" | "--all" => all = v,
            "-q" | "--quiet" => quiet = v,
            "--no-trunc" => no_trunc = v,
            "-aq" | "-qa" => {
                all = true;
                quiet = true;
            }
            _ => {
                return fail(
                    format!("flag provided but not defined: {a}\nSee 'docker ps --help'.\n"),
                    1,
                );
            }
        }
    }
    let path = if all {
        "/containers/json?all=1"
    } else {
        "/containers/json"
    };
    let list: Vec<Value> = match get(socket, path) {
        Err(_) => return fail(CANNOT_CONNECT.into(), 1),
        Ok((200, body)) => serde_json::from_slice(&body).unwrap_or_default(),
        Ok((_, body)) => {
            return fail(
                format!(
                    "Error response from daemon: {}\n",
                    String::from_utf8_lossy(&body).trim()
                ),
                1,
            );
        }
    };
    let id_of = |c: &Value| {
        let id = c["Id"].as_str().unwrap_or("").to_string();
        if no_trunc {
            id
        } else {
            id.chars().take(12).collect()
        }
    };
    if quiet {
        let stdout: String = list.iter().map(|c| id_of(c) + "\n").collect();
        return CliOutput {
            stdout,
            ..CliOutput::default()
        };
    }
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let mut rows = vec![vec![
        "CONTAINER ID".to_string(),
        "IMAGE".into(),
        "COMMAND".into(),
        "CREATED".into(),
        "STATUS".into(),
        "PORTS".into(),
        "NAMES".into(),
    ]];
    for c in &list {
        let age = human_duration(now.saturating_sub(c["Created"].as_u64().unwrap_or(now)));
        let command = format!("\"{}\"", c["Command"].as_str().unwrap_or(""));
        let status = if c["State"] == "running" {
            format!("Up {age}")
        } else {
            format!("Exited (137) {age} ago")
        };
        let names = c["Names"][0].as_str().unwrap_or("").trim_start_matches('/');
        rows.push(vec![
            id_of(c),
            c["Image"].as_str().unwrap_or("").to_string(),
            command,
            format!("{age} ago"),
            status,
            String::new(),
            names.to_string(),
        ]);
    }
    CliOutput {
        stdout: tabwrite(&rows),
        ..CliOutput::default()
    }
}

/// Go's `tabwriter.NewWriter(out, 20, 1, 3, ' ', 0)` as docker 1.12's `ps` used it.
fn tabwrite(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count() + 3)
                .max()
                .unwrap_or(0)
                .max(20)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        for (i, cell) in r.iter().enumerate() {
            if i + 1 == r.len() {
                out.push_str(cell);
            } else {
                out.push_str(cell);
                out.push_str(&" ".repeat(widths[i] - cell.chars().count()));
            }
        }
        out.push('\n');
    }
    out
}

/// docker's `units.HumanDuration`.
fn human_duration(secs: u64) -> String {
    match secs {
        0 => "Less than a second".into(),
        1 => "1 second".into(),
        s if s < 60 => format!("{s} seconds"),
        s if s / 60 == 1 => "About a minute".into(),
        s if s < 3600 => format!("{} minutes", s / 60),
        s if s / 3600 == 1 => "About an hour".into(),
        s if s < 48 * 3600 => format!("{} hours", s / 3600),
        s => format!("{} days", s / 86400),
    }
}

/// `docker version` (client and server, 1.12.6).
fn version(socket: &str) -> CliOutput {
    let client = format!(
        "Client:\n Version:      {DOCKER_VERSION}\n API version:  {API_VERSION}\n Go version:   go1.6.4\n Git commit:   78d1802\n Built:        Tue Jan 10 20:20:01 2017\n OS/Arch:      linux/amd64\n"
    );
    match get(socket, "/version") {
        Ok((200, body)) => {
            let v: Value = serde_json::from_slice(&body).unwrap_or_default();
            let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
            CliOutput {
                stdout: format!(
                    "{client}\nServer:\n Version:      {}\n API version:  {}\n Go version:   {}\n Git commit:   {}\n Built:        Tue Jan 10 20:20:01 2017\n OS/Arch:      {}/{}\n",
                    s("Version"),
                    s("ApiVersion"),
                    s("GoVersion"),
                    s("GitCommit"),
                    s("Os"),
                    s("Arch")
                ),
                ..CliOutput::default()
            }
        }
        _ => CliOutput {
            stdout: client,
            stderr: CANNOT_CONNECT.into(),
            code: 1,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabwriter_pads_like_go() {
        let rows = vec![
            vec!["CONTAINER ID".to_string(), "NAMES".to_string()],
            vec!["0123456789ab".to_string(), "x".to_string()],
        ];
        assert_eq!(
            tabwrite(&rows),
            "CONTAINER ID        NAMES\n0123456789ab        x\n"
        );
    }

    #[test]
    fn unreachable_daemon_and_bad_commands() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let host = Some("unix:///nonexistent/docker.sock");
        let out = run(&args(&["inspect", "abc"]), host);
        assert_eq!((out.code, out.stdout.as_str()), (1, ""));
        assert_eq!(out.stderr, CANNOT_CONNECT);
        let out = run(&args(&["frobnicate"]), host);
        assert_eq!(out.code, 1);
        assert_eq!(
            out.stderr,
            "docker: 'frobnicate' is not a docker command.\nSee 'docker --help'.\n"
        );
        let out = run(&args(&["inspect"]), host);
        assert!(
            out.stderr.contains("requires a minimum of 1 argument"),
            "{out:?}"
        );
        let out = run(&args(&["inspect", "-f", "{{.X", "abc"]), host);
        assert!(
            out.stderr.starts_with("Template parsing error: "),
            "{out:?}"
        );
        let out = run(&args(&["ps", "--no-trunc=maybe"]), host);
        assert_eq!(out.code, 1);
    }
}
