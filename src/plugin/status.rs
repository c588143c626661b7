//! The kubelet's reading of an exec network plugin's `status` output.
//!
//! This module owns `parse_status`, a reproduction of what
//! `pkg/kubelet/network/exec` (Kubernetes v1.1-v1.5, built with Go 1.7) did with
//! the combined output of a `status` call that exited 0: empty output means
//! "use the runtime's IP"; otherwise a first `json.Unmarshal` into a
//! kind/apiVersion-only struct, the kind and version checks with the kubelet's
//! exact error texts, and a second `json.Unmarshal` into `PodNetworkStatus`
//! whose `ip` goes through Go 1.7's `net.ParseIP`. It also owns the
//! `StatusResult` JSON shape (always the three keys `kind`, `ip`, `message`).

use serde::ser::{Serialize, SerializeStruct, Serializer};

use crate::plugin::gojson::{Field, FieldKind, Slot, unmarshal_struct};

/// What the kubelet concluded from a successful `status` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusResult {
    /// Output was exactly zero bytes: the kubelet falls back to the runtime's IP.
    None,
    /// A decoded PodNetworkStatus; `ip` is Go's canonical text, or None when the document had no IP.
    Status { ip: Option<String> },
    /// The kubelet would have returned this error.
    Error { message: String },
}

impl Serialize for StatusResult {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (kind, ip, message): (&str, Option<&str>, Option<&str>) = match self {
            StatusResult::None => ("none", None, None),
            StatusResult::Status { ip } => ("status", ip.as_deref(), None),
            StatusResult::Error { message } => ("error", None, Some(message.as_str())),
        };
        let mut st = serializer.serialize_struct("StatusResult", 3)?;
        st.serialize_field("kind", kind)?;
        st.serialize_field("ip", &ip)?;
        st.serialize_field("message", &message)?;
        st.end()
    }
}

/// The type name used in `json: cannot unmarshal ... into Go value of type ...`.
const STATUS_TYPE: &str = "network.PodNetworkStatus";

/// `struct { unversioned.TypeMeta `json:",inline"` }`: kind and apiVersion only.
const FIND_VERSION_FIELDS: [Field; 2] = [
    Field {
        name: "kind",
        kind: FieldKind::String,
    },
    Field {
        name: "apiVersion",
        kind: FieldKind::String,
    },
];

/// `network.PodNetworkStatus`: the inlined TypeMeta fields, then `IP net.IP `json:"ip"``.
const STATUS_FIELDS: [Field; 3] = [
    Field {
        name: "kind",
        kind: FieldKind::String,
    },
    Field {
        name: "apiVersion",
        kind: FieldKind::String,
    },
    Field {
        name: "ip",
        kind: FieldKind::NetIp,
    },
];

fn string_slot(slots: &[Slot], i: usize) -> &str {
    match slots.get(i) {
        Some(Slot::Str(s)) => s,
        _ => "",
    }
}

fn error(message: String) -> StatusResult {
    StatusResult::Error { message }
}

/// Parse the combined output of a successful (exit 0) `status` call exactly as the kubelet did.
/// `pod_name` is the pod name argument used in the kubelet's error messages.
pub fn parse_status(output: &[u8], pod_name: &str) -> StatusResult {
    if output.is_empty() {
        return StatusResult::None;
    }

    let find_version = match unmarshal_struct(output, STATUS_TYPE, &FIND_VERSION_FIELDS) {
        Ok(slots) => slots,
        Err(e) => return error(e),
    };
    let kind = string_slot(&find_version, 0);
    let api_version = string_slot(&find_version, 1);

    if !kind.is_empty() && kind != "PodNetworkStatus" {
        return error(format!(
            "Invalid 'kind' returned in network status for pod '{pod_name}'. \
             Valid value is 'PodNetworkStatus', got '{kind}'."
        ));
    }

    match api_version {
        "" | "v1beta1" => match unmarshal_struct(output, STATUS_TYPE, &STATUS_FIELDS) {
            Ok(slots) => {
                let ip = match slots.get(2) {
                    Some(Slot::Ip(Some(ip))) => Some(ip.to_string()),
                    _ => None,
                };
                StatusResult::Status { ip }
            }
            Err(e) => error(e),
        },
        other => error(format!(
            "Unknown version '{other}' in network status for pod '{pod_name}'."
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_all_three_keys() {
        let j = |r: &StatusResult| serde_json::to_string(r).unwrap_or_default();
        assert_eq!(
            j(&StatusResult::None),
            r#"{"kind":"none","ip":null,"message":null}"#
        );
        assert_eq!(
            j(&StatusResult::Status {
                ip: Some("10.1.2.3".into())
            }),
            r#"{"kind":"status","ip":"10.1.2.3","message":null}"#
        );
        assert_eq!(
            j(&StatusResult::Status { ip: None }),
            r#"{"kind":"status","ip":null,"message":null}"#
        );
        assert_eq!(
            j(&StatusResult::Error {
                message: "boom \"x\"".into()
            }),
            r#"{"kind":"error","ip":null,"message":"boom \"x\""}"#
        );
    }
}
