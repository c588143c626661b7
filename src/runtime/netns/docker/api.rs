//! The Engine API of docker 1.12 (API 1.24) on the sandbox's `/var/run/docker.sock`, served by
//! hyper (HTTP/1.1) on a Unix listener: `HEAD|GET /_ping`, `GET /version`, `GET /containers/json`
//! and `GET /containers/{id}/json`, each also under every `/v1.NN/` prefix docker 1.12 accepted
//! (1.12 to 1.24, no handshake needed: old docker-py sent `/v1.16/…` straight away); 404 JSON for
//! anything else. `netns::servers` serves these routes, with the kubelet's read-only API, on one
//! thread.

use std::sync::Mutex;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Response, StatusCode};
use serde_json::{Value, json};

use super::model::{Registry, inspect_json, ps_json};

/// The socket path inside the sandbox.
pub const DOCKER_SOCKET: &str = "/var/run/docker.sock";
/// What docker 1.12 announced.
pub const API_VERSION: &str = "1.24";
pub const DOCKER_VERSION: &str = "1.12.6";
/// The oldest API version docker 1.12 served (`api.MinVersion`).
pub const MIN_API_MINOR: u32 = 12;
const SERVER_HEADER: &str = "Docker/1.12.6 (linux)";

type Body = Full<Bytes>;

fn respond(status: StatusCode, content_type: &str, body: Vec<u8>) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("Content-Type", content_type)
        .header("Server", SERVER_HEADER)
        .header("Api-Version", API_VERSION)
        .header("Docker-Experimental", "false")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

/// Go's `json.NewEncoder(w).Encode(v)`: compact, then a newline.
pub fn json_response(status: StatusCode, v: &Value) -> Response<Body> {
    let mut body = serde_json::to_vec(v).unwrap_or_default();
    body.push(b'\n');
    respond(status, "application/json", body)
}

fn message(status: StatusCode, text: &str) -> Response<Body> {
    json_response(status, &json!({ "message": text }))
}

/// Split an optional `/v1.NN` prefix off a path: `Ok((minor, rest))`, `Err(response)` for a
/// version docker 1.12 refused (`api/server/middleware/version.go`).
fn split_version(path: &str) -> Result<(Option<u32>, &str), (StatusCode, String)> {
    let Some(rest) = path.strip_prefix("/v") else {
        return Ok((None, path));
    };
    let (version, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let Some(minor) = version
        .strip_prefix("1.")
        .and_then(|m| m.parse::<u32>().ok())
    else {
        return Ok((None, path));
    };
    if minor > 24 {
        return Err((
            StatusCode::BAD_REQUEST,
            format!(
                "client is newer than server (client API version: {version}, server API version: {API_VERSION})"
            ),
        ));
    }
    if minor < MIN_API_MINOR {
        return Err((
            StatusCode::BAD_REQUEST,
            format!(
                "client version {version} is too old. Minimum supported API version is 1.{MIN_API_MINOR}, please upgrade your client to a newer version"
            ),
        ));
    }
    Ok((Some(minor), tail))
}

/// One Engine API request.
pub fn docker_route(
    registry: &Mutex<Registry>,
    method: &Method,
    uri: &hyper::Uri,
) -> Response<Body> {
    let (_, path) = match split_version(uri.path()) {
        Ok(v) => v,
        Err((status, text)) => return message(status, &text),
    };
    let query = uri.query().unwrap_or("");
    let reg = registry.lock().unwrap_or_else(|e| e.into_inner());
    let get = *method == Method::GET;
    match path {
        "/_ping" if get || *method == Method::HEAD => {
            respond(StatusCode::OK, "text/plain; charset=utf-8", b"OK".to_vec())
        }
        "/version" if get => json_response(StatusCode::OK, &version_json()),
        "/containers/json" if get => {
            let all = query_flag(query, "all");
            // Newest first, as docker listed them.
            let list: Vec<Value> = reg
                .containers
                .iter()
                .rev()
                .filter(|c| all || c.running)
                .map(ps_json)
                .collect();
            json_response(StatusCode::OK, &Value::Array(list))
        }
        _ => {
            if get
                && let Some(id) = path
                    .strip_prefix("/containers/")
                    .and_then(|r| r.strip_suffix("/json"))
                    .filter(|id| !id.is_empty() && !id.contains('/'))
            {
                return match reg.find(id) {
                    Some(c) => json_response(StatusCode::OK, &inspect_json(c)),
                    None => message(StatusCode::NOT_FOUND, &format!("No such container: {id}")),
                };
            }
            message(StatusCode::NOT_FOUND, "page not found")
        }
    }
}

fn query_flag(query: &str, name: &str) -> bool {
    query.split('&').any(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        k == name && !matches!(v, "" | "0" | "false" | "False")
    })
}

/// `GET /version` of docker 1.12.6 (API 1.24 `types.Version`).
pub fn version_json() -> Value {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    json!({
        "Version": DOCKER_VERSION,
        "ApiVersion": API_VERSION,
        "GitCommit": "78d1802",
        "GoVersion": "go1.6.4",
        "Os": "linux",
        "Arch": "amd64",
        "KernelVersion": kernel,
        "BuildTime": "2017-01-10T20:20:01.622390016+00:00",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_of(path: &str) -> (u16, String) {
        let reg = Mutex::new(Registry::default());
        let uri: hyper::Uri = path.parse().unwrap();
        let resp = docker_route(&reg, &Method::GET, &uri);
        let status = resp.status().as_u16();
        let body = futures_body(resp);
        (status, body)
    }

    fn futures_body(resp: Response<Body>) -> String {
        use http_body_util::BodyExt;
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let bytes = rt.block_on(resp.into_body().collect()).unwrap().to_bytes();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[test]
    fn versions_routes_and_404s() {
        assert_eq!(status_of("/_ping"), (200, "OK".into()));
        assert_eq!(status_of("/v1.16/_ping").0, 200);
        assert_eq!(status_of("/v1.24/containers/json").1, "[]\n");
        assert_eq!(
            status_of("/v1.16/containers/abc/json"),
            (404, "{\"message\":\"No such container: abc\"}\n".into())
        );
        assert_eq!(
            status_of("/v1.24/images/abc/json"),
            (404, "{\"message\":\"page not found\"}\n".into())
        );
        let (code, body) = status_of("/v1.25/version");
        assert_eq!(code, 400);
        assert!(
            body.contains(
                "client is newer than server (client API version: 1.25, server API version: 1.24)"
            ),
            "{body}"
        );
        assert_eq!(status_of("/v1.11/version").0, 400);
        let (code, body) = status_of("/version");
        assert_eq!(code, 200);
        assert!(body.contains("\"ApiVersion\":\"1.24\""), "{body}");
    }
}
