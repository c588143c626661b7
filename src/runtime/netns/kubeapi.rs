//! The kubelet's read-only API on `127.0.0.1:10255` inside the node namespace (the kubelet's
//! `--read-only-port`, v1.1.1–v1.5.0 `pkg/kubelet/server/server.go` `InstallDefaultHandlers`:
//! `/pods` and `/healthz`): `GET /pods` is a v1 `PodList` of the pods the kubelet runs (metadata
//! name, namespace, uid, annotations; `spec.hostNetwork`; `status.phase`, `status.podIP`), which
//! OpenContrail's plugin read for annotations. Served by `netns::servers`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Response, StatusCode};
use serde_json::{Value, json};

use super::docker::api::json_response;
use super::docker::model::Registry;

/// Where the API listens (inside the node namespace).
pub const ADDRESS: &str = "127.0.0.1:10255";

/// The pods to list: what the kubelet reported, plus pods that have a running infra container
/// and were not reported (their runtime IP as pod IP).
pub fn pod_list(reg: &Registry) -> Value {
    let mut pods: BTreeMap<(String, String), Value> = BTreeMap::new();
    for c in reg.containers.iter().filter(|c| c.running) {
        let key = (c.pod.namespace.clone(), c.pod.name.clone());
        let ip = if c.pod.host_network {
            super::NODE_IP.to_string()
        } else {
            c.ip.map(|i| i.to_string()).unwrap_or_default()
        };
        pods.insert(key, pod_json(&c.pod, "Running", Some(&ip)));
    }
    for (key, p) in &reg.pods {
        pods.insert(
            key.clone(),
            pod_json(&p.meta, &p.phase, p.pod_ip.as_deref()),
        );
    }
    json!({
        "kind": "PodList",
        "apiVersion": "v1",
        "metadata": {},
        "items": pods.into_values().collect::<Vec<_>>(),
    })
}

fn pod_json(meta: &crate::runtime::PodMeta, phase: &str, ip: Option<&str>) -> Value {
    let mut metadata = json!({
        "name": meta.name,
        "namespace": meta.namespace,
        "selfLink": format!("/api/v1/namespaces/{}/pods/{}", meta.namespace, meta.name),
        "uid": meta.uid,
    });
    if !meta.annotations.is_empty() {
        metadata["annotations"] = json!(meta.annotations);
    }
    let mut spec = json!({ "containers": [] });
    if meta.host_network {
        spec["hostNetwork"] = json!(true);
    }
    let mut status = json!({ "phase": phase, "hostIP": super::NODE_IP });
    if let Some(ip) = ip.filter(|i| !i.is_empty()) {
        status["podIP"] = json!(ip);
    }
    json!({ "metadata": metadata, "spec": spec, "status": status })
}

/// One request to the read-only API.
pub fn route(
    registry: &Mutex<Registry>,
    method: &Method,
    uri: &hyper::Uri,
) -> Response<Full<Bytes>> {
    if *method != Method::GET {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "405 method not allowed\n");
    }
    match uri.path() {
        "/pods" | "/pods/" => {
            let reg = registry.lock().unwrap_or_else(|e| e.into_inner());
            json_response(StatusCode::OK, &pod_list(&reg))
        }
        "/healthz" => plain(StatusCode::OK, "ok"),
        _ => plain(StatusCode::NOT_FOUND, "404 page not found\n"),
    }
}

fn plain(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("Content-Type", "text/plain; charset=utf-8")
        .body(Full::new(Bytes::from(text.to_string())))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::PodMeta;
    use crate::runtime::netns::docker::model::PodRecord;

    #[test]
    fn reported_pods_with_annotations() {
        let mut reg = Registry::default();
        let mut meta = PodMeta {
            name: "p".into(),
            namespace: "ns".into(),
            uid: "u-1".into(),
            ..PodMeta::default()
        };
        meta.annotations
            .insert("opencontrail.org/network".into(), "blue".into());
        reg.pods.insert(
            ("ns".into(), "p".into()),
            PodRecord {
                meta,
                phase: "Running".into(),
                pod_ip: Some("10.1.0.5".into()),
            },
        );
        let list = pod_list(&reg);
        assert_eq!(list["kind"], "PodList");
        let item = &list["items"][0];
        assert_eq!(
            item["metadata"]["annotations"]["opencontrail.org/network"],
            "blue"
        );
        assert_eq!(item["metadata"]["uid"], "u-1");
        assert_eq!(item["status"]["podIP"], "10.1.0.5");
        assert_eq!(item["status"]["phase"], "Running");
        assert!(item["spec"].get("hostNetwork").is_none());
    }
}
