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

use crate::plugin::goip::GoIp;
use crate::plugin::gojson::{Field, FieldKind, Slot, decode_valid_struct, unmarshal_struct};

/// What the kubelet concluded from a `status` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusResult {
    /// Output was exactly zero bytes: the kubelet falls back to the runtime's IP.
    None,
    /// A decoded `network.PodNetworkStatus`, typed as Go held it.
    Status {
        /// `TypeMeta.Kind` as decoded (`""` when absent or null).
        kind: String,
        /// `TypeMeta.APIVersion` as decoded (`""` when absent or null).
        api_version: String,
        /// The `net.IP`; `None` is Go's nil IP (`"ip"` absent or `""`).
        ip: Option<GoIp>,
    },
    /// The kubelet would have returned this error.
    Error { message: String },
    /// The call exited 0 but its output hit execnet's output cap (SPEC 4): the kubelet read all
    /// of it, execnet kept only a prefix, so what the kubelet concluded cannot be known.
    NotJudged {
        /// Bytes the plugin wrote in all.
        output_bytes: u64,
        /// Bytes execnet kept (the cap).
        kept: usize,
    },
}

impl StatusResult {
    /// `status`, `none`, `error` or `not-judged`: the `kind` key of the JSON form.
    pub fn kind_name(&self) -> &'static str {
        match self {
            StatusResult::None => "none",
            StatusResult::Status { .. } => "status",
            StatusResult::Error { .. } => "error",
            StatusResult::NotJudged { .. } => "not-judged",
        }
    }

    /// The message of the JSON form: the kubelet's error, or why nothing was judged.
    pub fn message(&self) -> Option<String> {
        match self {
            StatusResult::Error { message } => Some(message.clone()),
            StatusResult::NotJudged { output_bytes, kept } => Some(format!(
                "not judged: output over the cap ({output_bytes} bytes written, {kept} kept; the kubelet read them all)"
            )),
            StatusResult::None | StatusResult::Status { .. } => None,
        }
    }
}

impl Serialize for StatusResult {
    /// SPEC 5: always the three keys `kind`, `ip` (Go's text of the IP) and `message`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let ip = match self {
            StatusResult::Status { ip: Some(ip), .. } => Some(ip.to_string()),
            _ => None,
        };
        let mut st = serializer.serialize_struct("StatusResult", 3)?;
        st.serialize_field("kind", self.kind_name())?;
        st.serialize_field("ip", &ip)?;
        st.serialize_field("message", &self.message())?;
        st.end()
    }
}

/// The type named in the first decode's errors: kubelet `exec.go` (v1.1.1–v1.5.8,
/// `GetPodNetworkStatus`) decodes into `findVersion := struct { unversioned.TypeMeta
/// `json:",inline"` }{}`, an unnamed type, which Go's `reflect.Type.String()` prints with the
/// tag as a quoted Go string.
pub const FIND_VERSION_TYPE: &str = r#"struct { unversioned.TypeMeta "json:\",inline\"" }"#;

/// The type named in the second decode's errors.
pub const STATUS_TYPE: &str = "network.PodNetworkStatus";

/// `struct { unversioned.TypeMeta `json:",inline"` }`: kind and apiVersion only (`ip` is an
/// unknown key here and skipped whatever its value).
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

fn string_slot<'s>(slots: &'s [Slot<'_>], i: usize) -> &'s str {
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

    // First decode (exec.go): its errors name the unnamed struct type.
    let find_version = match unmarshal_struct(output, FIND_VERSION_TYPE, &FIND_VERSION_FIELDS) {
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
        // The first decode validated the same bytes.
        "" | "v1beta1" => match decode_valid_struct(output, STATUS_TYPE, &STATUS_FIELDS) {
            Ok(slots) => StatusResult::Status {
                kind: string_slot(&slots, 0).to_string(),
                api_version: string_slot(&slots, 1).to_string(),
                ip: match slots.get(2) {
                    Some(Slot::Ip(ip)) => *ip,
                    _ => None,
                },
            },
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
                kind: "PodNetworkStatus".into(),
                api_version: String::new(),
                ip: crate::plugin::goip::parse_ip("10.1.2.3"),
            }),
            r#"{"kind":"status","ip":"10.1.2.3","message":null}"#
        );
        assert_eq!(
            j(&StatusResult::Status {
                kind: String::new(),
                api_version: String::new(),
                ip: None
            }),
            r#"{"kind":"status","ip":null,"message":null}"#
        );
        assert_eq!(
            j(&StatusResult::Error {
                message: "boom \"x\"".into()
            }),
            r#"{"kind":"error","ip":null,"message":"boom \"x\""}"#
        );
        assert_eq!(
            j(&StatusResult::NotJudged {
                output_bytes: 2_000_000,
                kept: 1_048_576
            }),
            r#"{"kind":"not-judged","ip":null,"message":"not judged: output over the cap (2000000 bytes written, 1048576 kept; the kubelet read them all)"}"#
        );
    }
}
