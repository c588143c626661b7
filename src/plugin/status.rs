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

use std::borrow::Cow;

use serde::ser::{Serialize, SerializeStruct, Serializer};

use crate::plugin::goip::{GoIp, parse_ip};
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
    /// The call exited 0 but its output hit execnet's output cap (docs/supervision.md §4): the kubelet read all
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
    /// docs/cli.md §5: always the three keys `kind`, `ip` (Go's text of the IP) and `message`.
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
///
/// Output of the usual shape (see [`plain_status`]) is read in one pass; anything else goes
/// through Go's rules one by one ([`parse_status_by_go_rules`]). Both give the same result for
/// every input the first accepts (tested, and checked by the `status` fuzz target).
pub fn parse_status(output: &[u8], pod_name: &str) -> StatusResult {
    match plain_status(output) {
        Some(plain) => judge(plain.kind, plain.api_version, pod_name, || {
            let ip = match plain.ip {
                None | Some("") => None,
                Some(text) => match parse_ip(text) {
                    Some(ip) => Some(ip),
                    // decode.go: net.IP's UnmarshalText error aborts the decode.
                    None => return Err(format!("invalid IP address: {text}")),
                },
            };
            Ok((
                Cow::Borrowed(plain.kind),
                Cow::Borrowed(plain.api_version),
                ip,
            ))
        }),
        None => parse_status_by_go_rules(output, pod_name),
    }
}

/// [`parse_status`] following Go's `json.Unmarshal` step by step for any output.
pub fn parse_status_by_go_rules(output: &[u8], pod_name: &str) -> StatusResult {
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
    judge(kind, api_version, pod_name, || {
        // The first decode validated the same bytes.
        let [kind, api_version, ip] = decode_valid_struct(output, STATUS_TYPE, &STATUS_FIELDS)?;
        let text = |slot| match slot {
            Slot::Str(s) => s,
            Slot::Ip(_) => Cow::Borrowed(""),
        };
        let ip = match ip {
            Slot::Ip(ip) => ip,
            Slot::Str(_) => None,
        };
        Ok((text(kind), text(api_version), ip))
    })
}

/// exec.go `GetPodNetworkStatus` after the first decode: the kind check, the version check,
/// then the second decode (`second`: kind, apiVersion and IP, or its error).
fn judge<'s>(
    kind: &str,
    api_version: &str,
    pod_name: &str,
    second: impl FnOnce() -> Result<(Cow<'s, str>, Cow<'s, str>, Option<GoIp>), String>,
) -> StatusResult {
    if !kind.is_empty() && kind != "PodNetworkStatus" {
        return error(format!(
            "Invalid 'kind' returned in network status for pod '{pod_name}'. \
             Valid value is 'PodNetworkStatus', got '{kind}'."
        ));
    }
    match api_version {
        "" | "v1beta1" => match second() {
            Ok((kind, api_version, ip)) => StatusResult::Status {
                kind: kind.into_owned(),
                api_version: api_version.into_owned(),
                ip,
            },
            Err(e) => error(e),
        },
        other => error(format!(
            "Unknown version '{other}' in network status for pod '{pod_name}'."
        )),
    }
}

/// Status output of the usual shape: one JSON object, nothing but JSON whitespace around it,
/// whose members are all `"kind"`, `"apiVersion"` or `"ip"` (exact spelling, `ip` at most once)
/// with string values of printable ASCII without escapes. For such output Go's syntax check
/// passes, every key matches its field exactly, unquoting changes nothing, and the last of
/// repeated keys wins, so its values are read in one pass.
struct Plain<'a> {
    kind: &'a str,
    api_version: &'a str,
    ip: Option<&'a str>,
}

fn skip_ws(d: &[u8], mut i: usize) -> usize {
    while d
        .get(i)
        .is_some_and(|&c| matches!(c, b' ' | b'\t' | b'\r' | b'\n'))
    {
        i += 1;
    }
    i
}

/// A string literal at byte `i` of `doc`, of printable ASCII without escapes: its text and the
/// index after it.
fn plain_string(doc: &str, i: usize) -> Option<(&str, usize)> {
    let d = doc.as_bytes();
    if d.get(i) != Some(&b'"') {
        return None;
    }
    let n = d[i + 1..].iter().position(|&c| c == b'"')?;
    // Between two ASCII quotes: char boundaries.
    let text = doc.get(i + 1..i + 1 + n)?;
    if !text
        .bytes()
        .all(|c| (0x20..0x7f).contains(&c) && c != b'\\')
    {
        return None;
    }
    Some((text, i + n + 2))
}

/// [`Plain`] when `output` has that shape.
fn plain_status(output: &[u8]) -> Option<Plain<'_>> {
    // Validated once here; the usual shape is ASCII anyway.
    let doc = std::str::from_utf8(output).ok()?;
    let d = output;
    let mut i = skip_ws(d, 0);
    if d.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(d, i + 1);
    let mut plain = Plain {
        kind: "",
        api_version: "",
        ip: None,
    };
    if d.get(i) == Some(&b'}') {
        i += 1;
    } else {
        loop {
            let (key, after) = plain_string(doc, i)?;
            i = skip_ws(d, after);
            if d.get(i) != Some(&b':') {
                return None;
            }
            let (value, after) = plain_string(doc, skip_ws(d, i + 1))?;
            match key {
                "kind" => plain.kind = value,
                "apiVersion" => plain.api_version = value,
                // A second `ip` could abort the decode at the first one: Go's rules decide.
                "ip" if plain.ip.is_none() => plain.ip = Some(value),
                _ => return None,
            }
            i = skip_ws(d, after);
            match d.get(i) {
                Some(b',') => i = skip_ws(d, i + 1),
                Some(b'}') => {
                    i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    (skip_ws(d, i) == d.len()).then_some(plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Status documents near the usual shape: the members, spellings, values, whitespace and
    /// damage that decide between the one-pass reading and Go's rules.
    fn near_plain(seed: &mut u64) -> Vec<u8> {
        let mut next = move || {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            *seed
        };
        const KEYS: &[&str] = &[
            "kind",
            "kind",
            "apiVersion",
            "apiVersion",
            "ip",
            "ip",
            "IP",
            "Kind",
            "ips",
            "\\u0069p",
            "api\\u0056ersion",
            "x",
        ];
        const VALUES: &[&str] = &[
            "\"PodNetworkStatus\"",
            "\"PodNetworkStatus\"",
            "\"v1beta1\"",
            "\"v1beta1\"",
            "\"\"",
            "\"10.1.2.3\"",
            "\"10.1.2.3\"",
            "\"::ffff:10.0.0.1\"",
            "\"fe80::1\"",
            "\"1.2.3\"",
            "\"010.1.2.3\"",
            "\"Pod\"",
            "\"v1\"",
            "\"a b\"",
            "\"\\n\"",
            "\"\u{e9}\"",
            "1",
            "null",
            "true",
            "{}",
            "[]",
            "\"\t\"",
        ];
        const WS: &[&str] = &["", "", "", " ", "\n", "\t ", "\r\n"];
        let pick = |n: u64, from: &[&'static str]| from[(n % from.len() as u64) as usize];
        let mut doc = String::new();
        doc.push_str(pick(next(), WS));
        doc.push('{');
        let members = next() % 5;
        for m in 0..members {
            if m > 0 {
                doc.push_str(if next() % 40 == 0 { " " } else { "," });
            }
            doc.push_str(pick(next(), WS));
            doc.push('"');
            doc.push_str(pick(next(), KEYS));
            doc.push('"');
            doc.push_str(pick(next(), WS));
            doc.push(':');
            doc.push_str(pick(next(), WS));
            doc.push_str(pick(next(), VALUES));
            doc.push_str(pick(next(), WS));
        }
        doc.push('}');
        doc.push_str(pick(next(), WS));
        let mut doc = doc.into_bytes();
        match next() % 30 {
            0 => doc.push(b'x'),
            1 => doc.extend_from_slice(b"{}"),
            2 => {
                let cut = (next() as usize) % doc.len().max(1);
                doc.truncate(cut);
            }
            _ => {}
        }
        doc
    }

    #[test]
    fn the_one_pass_reading_agrees_with_go_rules() {
        let mut seed = 0x51ce_5eed_0bad_cafe_u64;
        let (mut plain, mut statuses, mut errors) = (0, 0, 0);
        for _ in 0..200_000 {
            let doc = near_plain(&mut seed);
            let got = parse_status(&doc, "p");
            assert_eq!(
                got,
                parse_status_by_go_rules(&doc, "p"),
                "{:?}",
                String::from_utf8_lossy(&doc)
            );
            if plain_status(&doc).is_some() {
                plain += 1;
                match got {
                    StatusResult::Status { .. } => statuses += 1,
                    StatusResult::Error { .. } => errors += 1,
                    _ => {}
                }
            }
        }
        // Both outcomes of the one-pass reading were compared, and Go's rules had their share.
        assert!(
            statuses > 1_000 && errors > 1_000,
            "{statuses} statuses, {errors} errors"
        );
        assert!(plain < 150_000, "{plain} of 200000 read in one pass");
    }

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
