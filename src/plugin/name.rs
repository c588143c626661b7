//! Plugin names: the `~` ↔ `/` escaping of directory names, the executable path rule, and the
//! kubelet's qualified-name validation (`validation.IsQualifiedName`, v1.5) with its exact error
//! texts, which the kubelet joined with `;` into `network plugin has invalid name: "N": …`.

use std::path::{Path, PathBuf};

const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_ERR: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const QUALIFIED_NAME_MAX: usize = 63;
const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_ERR: &str = "a DNS-1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
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

/// Go's `validation.RegexError` (k8s v1.5), including its double space before `or`.
fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    let mut out = String::from(msg);
    if examples.is_empty() {
        out.push_str(&format!(" (regex used for validation is '{fmt}')"));
        return out;
    }
    out.push_str(" (e.g. ");
    for (i, example) in examples.iter().enumerate() {
        if i > 0 {
            out.push_str(" or ");
        }
        out.push_str(&format!("'{example}', "));
    }
    out.push_str(&format!("regex used for validation is '{fmt}')"));
    out
}

fn max_len_error(n: usize) -> String {
    format!("must be no more than {n} characters")
}

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

/// `IsDNS1123Subdomain`: the list of error texts (empty when valid).
pub fn dns1123_subdomain_errors(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX {
        errs.push(max_len_error(DNS1123_SUBDOMAIN_MAX));
    }
    if !value.split('.').all(matches_dns1123_label) {
        errs.push(regex_error(
            DNS1123_SUBDOMAIN_ERR,
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    errs
}

/// `IsQualifiedName`: the list of error texts (empty when the name is valid).
pub fn qualified_name_errors(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_string());
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
            errs.push(format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName'",
                regex_error(
                    QUALIFIED_NAME_ERR,
                    QUALIFIED_NAME_FMT,
                    &["MyName", "my.name", "123-abc"]
                )
            ));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > QUALIFIED_NAME_MAX {
        errs.push(format!("name part {}", max_len_error(QUALIFIED_NAME_MAX)));
    }
    if !matches_qualified_name_part(name) {
        errs.push(format!(
            "name part {}",
            regex_error(
                QUALIFIED_NAME_ERR,
                QUALIFIED_NAME_FMT,
                &["MyName", "my.name", "123-abc"]
            )
        ));
    }
    errs
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

    #[test]
    fn error_texts_match_kubernetes_validation() {
        assert_eq!(
            qualified_name_errors("/x"),
            vec!["prefix part must be non-empty".to_string()]
        );
        assert_eq!(
            qualified_name_errors("x/"),
            vec![
                "name part must be non-empty".to_string(),
                "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')".to_string()
            ]
        );
        assert_eq!(
            qualified_name_errors("Vendor/x"),
            vec!["prefix part a DNS-1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".to_string()]
        );
        assert!(qualified_name_errors("a/b/c")[0].starts_with("a qualified name must consist of"));
        assert_eq!(
            qualified_name_errors(&"y".repeat(64)),
            vec!["name part must be no more than 63 characters".to_string()]
        );
    }
}
