//! Plugin names: the `~` ↔ `/` escaping of directory names, the executable path rule, the
//! kubelet's qualified-name validation (`validation.IsQualifiedName`) with the error texts of
//! the releases that had them (v1.3.0–v1.5.x, identical there), and the Go formatting the
//! selection errors of each release used (`%q`, and v1.1–v1.2's `%#v` of the plugin value).

use std::path::{Path, PathBuf};

// k8s v1.3.0/v1.4.0/v1.5.0 pkg/util/validation/validation.go: qualifiedNameFmt,
// qualifiedNameMaxLength, dns1123SubdomainFmt, DNS1123SubdomainMaxLength (v1.1.1/v1.2.0 have the
// same patterns and limits, IsQualifiedName there returns a bool).
const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_EXAMPLES: [&str; 3] = ["MyName", "my.name", "123-abc"];
const QUALIFIED_NAME_MAX: usize = 63;
const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_MAX: usize = 253;

/// `network.UnescapePluginName`: every `~` in a directory name becomes `/`.
pub fn unescape(dir_name: &str) -> String {
    dir_name.replace('~', "/")
}

/// `network.EscapePluginName`: every `/` in a plugin name becomes `~`.
pub fn escape(name: &str) -> String {
    name.replace('/', "~")
}

/// The executable of a plugin: `DIR/<last '/'-segment of the name>` (exec.go `getExecutable`).
pub fn executable_path(plugin_dir_entry: &Path, name: &str) -> PathBuf {
    let last = name.rsplit('/').next().unwrap_or(name);
    plugin_dir_entry.join(last)
}

/// `validation.RegexError(fmt, examples...)` (k8s v1.3.0–v1.5.x):
/// `must match the regex FMT (e.g. 'A' or 'B')`.
fn regex_error(fmt: &str, examples: &[&str]) -> String {
    let mut out = format!("must match the regex {fmt}");
    if examples.is_empty() {
        return out;
    }
    out.push_str(" (e.g. ");
    for (i, example) in examples.iter().enumerate() {
        if i > 0 {
            out.push_str(" or ");
        }
        out.push_str(&format!("'{example}'"));
    }
    out.push(')');
    out
}

/// `validation.MaxLenError` (k8s v1.3.0–v1.5.x).
fn max_len_error(n: usize) -> String {
    format!("must be no more than {n} characters")
}

/// `validation.EmptyError` (k8s v1.3.0–v1.5.x).
const EMPTY_ERROR: &str = "must be non-empty";

fn is_alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// `^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`
fn matches_qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    match b {
        [] => false,
        [only] => is_alnum(*only),
        [first, middle @ .., last] => {
            is_alnum(*first)
                && is_alnum(*last)
                && middle
                    .iter()
                    .all(|&c| is_alnum(c) || c == b'-' || c == b'_' || c == b'.')
        }
    }
}

/// `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
fn matches_dns1123_label(s: &str) -> bool {
    let ok = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let b = s.as_bytes();
    match b {
        [] => false,
        [only] => ok(*only),
        [first, middle @ .., last] => {
            ok(*first) && ok(*last) && middle.iter().all(|&c| ok(c) || c == b'-')
        }
    }
}

/// `IsDNS1123Subdomain` (k8s v1.3.0–v1.5.x): the list of error texts (empty when valid).
pub fn dns1123_subdomain_errors(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX {
        errs.push(max_len_error(DNS1123_SUBDOMAIN_MAX));
    }
    if !value.split('.').all(matches_dns1123_label) {
        errs.push(regex_error(DNS1123_SUBDOMAIN_FMT, &["example.com"]));
    }
    errs
}

/// `IsQualifiedName` (k8s v1.3.0–v1.5.x, the same code and texts in the three tags): the list of
/// error texts, empty when the name is valid. v1.1.1/v1.2.0 returned only a bool, for the same
/// names (same split, same patterns and limits), so `is_empty()` is their answer.
pub fn qualified_name_errors(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push(format!("prefix part {EMPTY_ERROR}"));
            } else {
                errs.extend(
                    dns1123_subdomain_errors(prefix)
                        .into_iter()
                        .map(|m| format!("prefix part {m}")),
                );
            }
            *name
        }
        _ => {
            // Sic: the kubelet's text has an unclosed parenthesis.
            errs.push(format!(
                "{} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName'",
                regex_error(QUALIFIED_NAME_FMT, &QUALIFIED_NAME_EXAMPLES)
            ));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push(format!("name part {EMPTY_ERROR}"));
    } else if name.len() > QUALIFIED_NAME_MAX {
        errs.push(format!("name part {}", max_len_error(QUALIFIED_NAME_MAX)));
    }
    if !matches_qualified_name_part(name) {
        errs.push(format!(
            "name part {}",
            regex_error(QUALIFIED_NAME_FMT, &QUALIFIED_NAME_EXAMPLES)
        ));
    }
    errs
}

/// Go's `strconv.Quote` (what `%q` and `%#v` print for a string): `"`, `\\`, `\a \b \f \n \r
/// \t \v`, other ASCII controls and invalid UTF-8 bytes as `\xHH`, non-printable runes as
/// `\uHHHH`/`\UHHHHHHHH`, printable runes as they are. Go's `IsPrint` tables are approximated
/// for non-ASCII runes by "not a control, not whitespace" (exact for ASCII and for the names
/// plugins use).
pub fn go_quote(s: &str) -> String {
    go_quote_bytes(s.as_bytes())
}

/// [`go_quote`] for bytes that may not be UTF-8 (Go strings are bytes).
pub fn go_quote_bytes(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len() + 2);
    out.push('"');
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\u{07}' => out.push_str("\\a"),
                '\u{08}' => out.push_str("\\b"),
                '\u{0c}' => out.push_str("\\f"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{0b}' => out.push_str("\\v"),
                ' ' => out.push(' '),
                c if (c as u32) < 0x20 || c == '\u{7f}' => {
                    out.push_str(&format!("\\x{:02x}", c as u32))
                }
                c if c.is_control() || c.is_whitespace() => {
                    if (c as u32) < 0x10000 {
                        out.push_str(&format!("\\u{:04x}", c as u32));
                    } else {
                        out.push_str(&format!("\\U{:08x}", c as u32));
                    }
                }
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out.push('"');
    out
}

/// Go's `path.Join(dir, name)`: the elements joined with `/` (empty ones dropped), then
/// `path.Clean`ed (lexically: no `.`, no `x/..`, no repeated or trailing `/`).
pub fn go_path_join(dir: &str, name: &str) -> String {
    let joined = match (dir.is_empty(), name.is_empty()) {
        (true, true) => return String::new(),
        (true, false) => name.to_string(),
        (false, true) => dir.to_string(),
        (false, false) => format!("{dir}/{name}"),
    };
    go_path_clean(&joined)
}

/// Go's `path.Clean`.
pub fn go_path_clean(p: &str) -> String {
    if p.is_empty() {
        return ".".to_string();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|last| *last != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let body = parts.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".to_string(),
        (false, false) => body,
    }
}

/// v1.1.1/v1.2.0 `InitNetworkPlugin`: `fmt.Errorf("network plugin has invalid name: %#v",
/// plugin)` formats the **plugin value**, an `*exec.execNetworkPlugin` fresh from
/// `ProbeNetworkPlugins` (`execName` the unescaped name, `execPath` = `path.Join(pluginDir,
/// dirName)`, `host` still nil: `Init` never ran). go1.7.6 fmt `printValue` with `%#v`: `&`
/// for the top-level pointer, the struct's type and `Field:value` pairs joined by `, `, strings
/// `strconv.Quote`d, a nil interface as `TYPE(nil)`.
pub fn go_syntax_of_exec_plugin(exec_name: &str, exec_path: &str) -> String {
    format!(
        "&exec.execNetworkPlugin{{execName:{}, execPath:{}, host:network.Host(nil)}}",
        go_quote(exec_name),
        go_quote(exec_path)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_round_trips_vendored_names() {
        assert_eq!(unescape("vendor~net"), "vendor/net");
        assert_eq!(unescape("a~b~c"), "a/b/c");
        assert_eq!(escape("vendor/net"), "vendor~net");
    }

    #[test]
    fn executable_is_last_segment_inside_the_directory() {
        let dir = Path::new("/p/vendor~net");
        assert_eq!(
            executable_path(dir, "vendor/net"),
            PathBuf::from("/p/vendor~net/net")
        );
        assert_eq!(
            executable_path(Path::new("/p/a~b~c"), "a/b/c"),
            PathBuf::from("/p/a~b~c/c")
        );
        assert_eq!(
            executable_path(Path::new("/p/x~"), "x/"),
            PathBuf::from("/p/x~/")
        );
    }

    #[test]
    fn qualified_names() {
        for ok in [
            "net",
            "Net_1",
            "a.b-c",
            "vendor.com/net",
            "v/N",
            "1",
            &"x".repeat(63),
        ] {
            assert!(qualified_name_errors(ok).is_empty(), "{ok} should be valid");
        }
        for bad in [
            "a/b/c",
            "/x",
            "x/",
            ".hidden",
            "Vendor/x",
            "-x",
            "x-",
            "",
            "under_score/x",
            &"x".repeat(64),
        ] {
            assert!(
                !qualified_name_errors(bad).is_empty(),
                "{bad} should be invalid"
            );
        }
    }

    /// Texts written by hand from k8s v1.5.0 pkg/util/validation/validation.go (RegexError,
    /// EmptyError, MaxLenError, prefixEach; identical at v1.3.0 and v1.4.0).
    #[test]
    fn error_texts_match_kubernetes_v1_3_to_v1_5_validation() {
        // IsQualifiedName case 2: empty prefix -> "prefix part " + EmptyError().
        assert_eq!(
            qualified_name_errors("/x"),
            vec!["prefix part must be non-empty".to_string()]
        );
        // Empty name part: EmptyError, and the regex does not match "" either.
        assert_eq!(
            qualified_name_errors("x/"),
            vec![
                "name part must be non-empty".to_string(),
                "name part must match the regex ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] (e.g. 'MyName' or 'my.name' or '123-abc')".to_string()
            ]
        );
        // Prefix not a DNS-1123 subdomain: prefixEach over IsDNS1123Subdomain's messages.
        assert_eq!(
            qualified_name_errors("Vendor/x"),
            vec!["prefix part must match the regex [a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)* (e.g. 'example.com')".to_string()]
        );
        // Prefix too long and invalid: both messages, in that order.
        let long = format!("{}A", "a".repeat(253));
        assert_eq!(
            qualified_name_errors(&format!("{long}/x")),
            vec![
                "prefix part must be no more than 253 characters".to_string(),
                "prefix part must match the regex [a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)* (e.g. 'example.com')".to_string()
            ]
        );
        // Three parts: the default branch, with its unclosed parenthesis.
        assert_eq!(
            qualified_name_errors("a/b/c"),
            vec!["must match the regex ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] (e.g. 'MyName' or 'my.name' or '123-abc') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName'".to_string()]
        );
        // Too long but matching: MaxLenError only.
        assert_eq!(
            qualified_name_errors(&"y".repeat(64)),
            vec!["name part must be no more than 63 characters".to_string()]
        );
        // Leading dot: the regex message only.
        assert_eq!(
            qualified_name_errors(".hidden"),
            vec!["name part must match the regex ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] (e.g. 'MyName' or 'my.name' or '123-abc')".to_string()]
        );
    }

    /// Go's strconv.Quote, written by hand from go1.7.6 strconv/quote.go appendQuotedWith.
    #[test]
    fn go_quote_like_strconv_quote() {
        assert_eq!(go_quote("a/b"), r#""a/b""#);
        assert_eq!(go_quote("say \"hi\"\\"), r#""say \"hi\"\\""#);
        assert_eq!(go_quote("\x07\x08\x0c\n\r\t\x0b"), r#""\a\b\f\n\r\t\v""#);
        assert_eq!(go_quote("\x01\x1f\x7f"), r#""\x01\x1f\x7f""#);
        assert_eq!(go_quote("\u{85}\u{a0}"), r#""\u0085\u00a0""#);
        assert_eq!(go_quote("é~ü"), "\"é~ü\"");
        assert_eq!(go_quote_bytes(b"a\xffb"), r#""a\xffb""#);
    }

    /// Go's path.Join / path.Clean, by hand from go1.7.6 path/path.go.
    #[test]
    fn go_path_join_cleans() {
        assert_eq!(go_path_join("/p/", "net"), "/p/net");
        assert_eq!(go_path_join("/p//q/./", "a~b"), "/p/q/a~b");
        assert_eq!(go_path_join("/p/q/..", "x"), "/p/x");
        assert_eq!(go_path_join("rel", "x"), "rel/x");
        assert_eq!(go_path_join("../rel", "x"), "../rel/x");
        assert_eq!(go_path_join("", "x"), "x");
        assert_eq!(go_path_join("/", ".hidden"), "/.hidden");
        assert_eq!(go_path_clean("/../a"), "/a");
        assert_eq!(go_path_clean("a/../.."), "..");
        assert_eq!(go_path_clean(""), ".");
    }

    /// v1.1.1/v1.2.0 `%#v` of `&execNetworkPlugin{execName, execPath}` (host nil).
    #[test]
    fn go_syntax_of_the_v1_1_plugin_value() {
        assert_eq!(
            go_syntax_of_exec_plugin("a/b/c", "/p/a~b~c"),
            r#"&exec.execNetworkPlugin{execName:"a/b/c", execPath:"/p/a~b~c", host:network.Host(nil)}"#
        );
    }
}
