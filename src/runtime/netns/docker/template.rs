//! The subset of Go's `text/template` that exec plugins used with `docker inspect --format`:
//! literal text and actions `{{ .A.B.C }}` (field chains, spaces allowed inside the braces, `.`
//! alone for the whole value), optionally through docker's `json` function (`{{json .X}}`).
//! Values print as Go's `fmt` printed the typed inspect struct: strings raw, integers in decimal,
//! booleans as `true`/`false`, maps as `map[k:v …]` with sorted keys, slices as `[a b]`, null as
//! `<nil>`; a missing field prints `<no value>` (docker's raw-map fallback).

use serde_json::Value;

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Field { path: Vec<String>, json: bool },
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
}

/// A template Go would not have parsed (docker printed `Template parsing error: …`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template: :1: {0}")]
pub struct TemplateError(pub String);

impl Template {
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let mut pieces = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].to_string()));
            }
            let after = &rest[open + 2..];
            let close = after
                .find("}}")
                .ok_or_else(|| TemplateError("unclosed action".into()))?;
            pieces.push(parse_action(&after[..close])?);
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_string()));
        }
        Ok(Template { pieces })
    }

    /// Execute on one inspect document.
    pub fn execute(&self, value: &Value) -> String {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Field { path, json } => {
                    let mut v = Some(value);
                    for key in path {
                        v = v.and_then(|x| x.get(key));
                    }
                    match (v, json) {
                        (None, _) => out.push_str("<no value>"),
                        (Some(v), true) => {
                            out.push_str(&serde_json::to_string(v).unwrap_or_default())
                        }
                        (Some(v), false) => go_print(v, &mut out),
                    }
                }
            }
        }
        out
    }
}

fn parse_action(inner: &str) -> Result<Piece, TemplateError> {
    // `{{- x -}}` trims around the action in Go; the plugins never used it, refuse clearly.
    let words: Vec<&str> = inner.split_whitespace().collect();
    let (json, field) = match words.as_slice() {
        [f] => (false, *f),
        ["json", f] => (true, *f),
        [] => return Err(TemplateError("missing value for command".into())),
        [w, ..] => {
            return Err(TemplateError(format!(
                "function {w:?} not defined (execnet's template subset: .Field.Chain, json)"
            )));
        }
    };
    if !field.starts_with('.') {
        return Err(TemplateError(format!("unexpected {field:?} in command")));
    }
    let path: Vec<String> = if field == "." {
        Vec::new()
    } else {
        field[1..].split('.').map(str::to_string).collect()
    };
    if path.iter().any(|k| k.is_empty()) {
        return Err(TemplateError(format!("bad field {field:?}")));
    }
    Ok(Piece::Field { path, json })
}

/// Go's `fmt.Sprint` of the value the typed struct would have held.
fn go_print(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                go_print(x, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push_str("map[");
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                go_print(&map[k], out);
            }
            out.push(']');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "Name": "/k8s_POD.1_a_b_c_d",
            "State": {"Pid": 4242, "Running": true},
            "HostConfig": {"NetworkMode": "default"},
            "NetworkSettings": {"IPAddress": "172.17.0.2", "IPPrefixLen": 16,
                "Networks": {"bridge": {"Gateway": "172.17.0.1"}}},
            "Args": ["a", "b"],
            "Nil": null
        })
    }

    #[test]
    fn the_spellings_plugins_used() {
        let d = doc();
        for (tmpl, want) in [
            ("{{.State.Pid}}", "4242"),
            ("{{ .State.Pid }}", "4242"),
            ("{{.HostConfig.NetworkMode}}", "default"),
            ("{{.NetworkSettings.IPAddress}}", "172.17.0.2"),
            ("{{.NetworkSettings.IPPrefixLen}}", "16"),
            ("{{.Name}}", "/k8s_POD.1_a_b_c_d"),
            ("{{.State.Running}}", "true"),
            ("{{.Args}}", "[a b]"),
            ("{{.Nil}}", "<nil>"),
            (
                "{{.NetworkSettings.Networks}}",
                "map[bridge:map[Gateway:172.17.0.1]]",
            ),
            ("{{json .State}}", r#"{"Pid":4242,"Running":true}"#),
            ("{{.Nope.Deeper}}", "<no value>"),
            (
                "pid={{.State.Pid}} ip={{.NetworkSettings.IPAddress}}",
                "pid=4242 ip=172.17.0.2",
            ),
        ] {
            assert_eq!(Template::parse(tmpl).unwrap().execute(&d), want, "{tmpl}");
        }
    }

    #[test]
    fn templates_go_would_refuse() {
        for bad in [
            "{{.State.Pid",
            "{{}}",
            "{{printf .X}}",
            "{{State}}",
            "{{.A..B}}",
        ] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
    }
}
