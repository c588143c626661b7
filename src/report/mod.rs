//! Reports: renderings of a certification [`Report`](crate::certify::Report) as text for
//! people, JSON for tools (docs/cli.md §5) and JUnit XML for CI. Consumers of results, never producers:
//! certification hands over data (checks, findings, causes) and all prose about it is written
//! here, `evidence` being the one place a finding is put into words.

pub mod evidence;
pub mod html;
pub mod json;
pub mod junit;
pub mod merge;
pub mod progress;
pub mod text;

pub use json::render as json;

/// A plugin's bytes made safe for a person's terminal or page: every control character but
/// newline and tab (C0, DEL, C1: NUL, ESC, carriage return, form feed…) is shown as an escape
/// (`\x1b`, `\u{9b}`), so a plugin's output can neither drive the terminal (colours, cursor
/// moves, titles) nor hide text behind a carriage return. `keep` lists exact sequences that
/// stay (execnet's own colour codes).
pub fn escape_controls(text: &str, keep: &[String]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '\u{1b}'
            && let Some(k) = keep.iter().find(|k| rest.starts_with(k.as_str()))
        {
            out.push_str(k);
            rest = &rest[k.len()..];
            continue;
        }
        match c {
            '\n' | '\t' => out.push(c),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_bytes_are_escaped_but_for_the_kept_ones() {
        let kept = vec!["\u{1b}[32m".to_string()];
        assert_eq!(
            super::escape_controls("a\0b\u{1b}[31mc\x0cd\x7f\u{9b}e\r\n\tf\u{1b}[32mg", &kept),
            "a\\x00b\\x1b[31mc\\x0cd\\x7f\\u{9b}e\\x0d\n\tf\u{1b}[32mg"
        );
    }
}
