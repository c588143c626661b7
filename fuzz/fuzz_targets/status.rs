//! Fuzz target: the kubelet's reading of `status` output (`parse_status`, Go 1.7 JSON + ParseIP).
//!
//! Properties (besides "never panics"): the result is deterministic and the same as Go's rules
//! applied one by one (the one-pass reading of the usual shape changes nothing); zero bytes and only zero
//! bytes mean "use the runtime's IP"; a syntax error (Go's `checkValid`, run first by
//! `json.Unmarshal`) is the result verbatim; a decoded document is valid JSON with a kind and
//! apiVersion the kubelet accepts, and anything serde_json accepts passes Go's syntax check too;
//! a decoded IP is Go's canonical text (it re-parses to itself, alone and inside a minimal
//! document); JSON whitespace before the value, and after a complete one, changes nothing; the
//! pod name only ever appears inside the kubelet's kind/version messages; the JSON shape of the
//! result always has exactly `kind`, `ip`, `message`.
#![no_main]

use execnet::plugin::goip::parse_ip;
use execnet::plugin::gojson::check_valid;
use execnet::plugin::status::{StatusResult, parse_status, parse_status_by_go_rules};
use libfuzzer_sys::fuzz_target;

const POD: &str = "fuzz-pod";
const OTHER_POD: &str = "other/pod 'x'";

/// An error message with the pod name's place in exec.go's kind/version messages cut out (the
/// kind or version text itself may contain anything, the pod name included).
fn without_pod(message: &str, pod: &str) -> String {
    let kind = format!("Invalid 'kind' returned in network status for pod '{pod}'. ");
    let version = format!("' in network status for pod '{pod}'.");
    if let Some(rest) = message.strip_prefix(&kind) {
        return format!("kind: {rest}");
    }
    if let Some(rest) = message
        .strip_prefix("Unknown version '")
        .and_then(|m| m.strip_suffix(&version))
    {
        return format!("version: {rest}");
    }
    message.to_string()
}

fuzz_target!(|data: &[u8]| {
    let result = parse_status(data, POD);
    assert_eq!(result, parse_status(data, POD), "not deterministic");
    assert_eq!(
        result,
        parse_status_by_go_rules(data, POD),
        "the one-pass reading of the usual shape disagrees with Go's rules"
    );

    assert_eq!(
        data.is_empty(),
        result == StatusResult::None,
        "None exactly for zero bytes"
    );

    let syntax = check_valid(data);
    if !data.is_empty()
        && let Err(e) = &syntax
    {
        assert_eq!(
            result,
            StatusResult::Error { message: e.clone() },
            "a syntax error must be reported as such, before anything else"
        );
    }
    if serde_json::from_slice::<serde_json::Value>(data).is_ok() {
        assert_eq!(
            syntax,
            Ok(()),
            "serde_json accepts what Go's checkValid refused"
        );
    }

    match &result {
        StatusResult::None => {}
        StatusResult::Status {
            kind,
            api_version,
            ip,
        } => {
            assert_eq!(syntax, Ok(()), "decoded a document that is not valid JSON");
            // exec.go's checks: anything else is an error, never a status.
            assert!(
                ["", "PodNetworkStatus"].contains(&kind.as_str()),
                "kind {kind:?}"
            );
            assert!(
                ["", "v1beta1"].contains(&api_version.as_str()),
                "apiVersion {api_version:?}"
            );
            if let Some(ip) = ip {
                let text = ip.to_string();
                assert_eq!(
                    parse_ip(&text),
                    Some(*ip),
                    "decoded IP {text} does not re-parse"
                );
                let doc = format!("{{\"ip\":\"{text}\"}}");
                assert_eq!(
                    parse_status(doc.as_bytes(), POD),
                    StatusResult::Status {
                        kind: String::new(),
                        api_version: String::new(),
                        ip: Some(*ip),
                    }
                );
            }
        }
        StatusResult::NotJudged { .. } => panic!("parse_status judged nothing: {result:?}"),
        StatusResult::Error { message } => {
            assert!(!message.is_empty(), "empty error message");
        }
    }

    // JSON whitespace before the one top-level value is insignificant (scanner stateBeginValue),
    // and after it too once the value is complete (stateEndTop).
    if !data.is_empty() {
        let mut padded = b" \t\r\n".to_vec();
        padded.extend_from_slice(data);
        assert_eq!(parse_status(&padded, POD), result, "leading whitespace");
        if syntax.is_ok() {
            padded.extend_from_slice(b"\n \t\r");
            assert_eq!(parse_status(&padded, POD), result, "trailing whitespace");
        }
    }

    // The pod name is only the kubelet's message argument (exec.go's two messages).
    let other = parse_status(data, OTHER_POD);
    match (&result, &other) {
        (StatusResult::Error { message: a }, StatusResult::Error { message: b }) => {
            assert_eq!(
                without_pod(a, POD),
                without_pod(b, OTHER_POD),
                "pod name changed more than its place in the message"
            );
        }
        _ => assert_eq!(result, other, "pod name changed the result"),
    }

    let v = serde_json::to_value(&result).expect("StatusResult serialises");
    let keys: Vec<&str> = v
        .as_object()
        .expect("StatusResult is a JSON object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["kind", "ip", "message"]);
});
