//! A JSON syntax checker and struct decoder with Go 1.7 `encoding/json` semantics.
//!
//! This module owns what `json.Unmarshal(out, &someStruct)` did in the kubelet's
//! Go: the whole-input syntax check (`checkValid`, with Go's exact error texts),
//! then decoding a top-level value into a flat struct of string and `net.IP`
//! fields: exact-then-case-folded key matching (including Go's Kelvin-sign and
//! long-s folding), last-duplicate-wins, unknown keys skipped, type errors saved
//! (first one reported) versus errors that abort decoding at once, and Go's string
//! unquoting (surrogates, invalid UTF-8 coerced to U+FFFD). It never recurses on
//! input nesting and never panics.

use std::borrow::Cow;

use crate::plugin::goip::{GoIp, parse_ip};

/// The kind of a struct field the decoder can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// A Go `string`.
    String,
    /// A Go `net.IP` (an `encoding.TextUnmarshaler` backed by a byte slice).
    NetIp,
}

/// One struct field: its JSON name (after tags) and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub kind: FieldKind,
}

/// A decoded field value, in the same order as the `Field` list. A string borrows the input
/// when Go's unquoting leaves it as it is (no escape, valid UTF-8), the usual case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot<'a> {
    Str(Cow<'a, str>),
    Ip(Option<GoIp>),
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// Go's `quoteChar`: how a byte is shown in a syntax error.
pub fn quote_char(c: u8) -> String {
    match c {
        b'\'' => return "'\\''".to_string(),
        b'"' => return "'\"'".to_string(),
        _ => {}
    }
    // strconv.Quote(string(rune(c))) without the surrounding quotes.
    let inner = match c {
        b'\\' => "\\\\".to_string(),
        0x07 => "\\a".to_string(),
        0x08 => "\\b".to_string(),
        0x0c => "\\f".to_string(),
        b'\n' => "\\n".to_string(),
        b'\r' => "\\r".to_string(),
        b'\t' => "\\t".to_string(),
        0x0b => "\\v".to_string(),
        0x00..=0x1f => format!("\\x{c:02x}"),
        0x7f..=0xa0 | 0xad => format!("\\u{c:04x}"),
        _ => char::from(c).to_string(),
    };
    format!("'{inner}'")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Parse {
    ObjectKey,
    ObjectValue,
    ArrayValue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum St {
    BeginValueOrEmpty,
    BeginValue,
    BeginStringOrEmpty,
    BeginString,
    EndValue,
    EndTop,
    InString,
    InStringEsc,
    InStringEscU(u8),
    Neg,
    One,
    Zero,
    Dot,
    Dot0,
    E,
    ESign,
    E0,
    Lit(&'static [u8], usize, &'static str),
}

/// The scanner's parse stack: kept inline up to [`INLINE_DEPTH`] (every status document a
/// plugin prints), on the heap beyond (Go 1.7 set no depth limit).
struct ParseStack {
    inline: [Parse; INLINE_DEPTH],
    len: usize,
    deeper: Vec<Parse>,
}

const INLINE_DEPTH: usize = 16;

impl ParseStack {
    fn new() -> Self {
        ParseStack {
            inline: [Parse::ObjectKey; INLINE_DEPTH],
            len: 0,
            deeper: Vec::new(),
        }
    }

    fn push(&mut self, p: Parse) {
        if self.len < INLINE_DEPTH {
            self.inline[self.len] = p;
        } else {
            self.deeper.push(p);
        }
        self.len += 1;
    }

    fn pop(&mut self) {
        if self.len > INLINE_DEPTH {
            self.deeper.pop();
        }
        self.len = self.len.saturating_sub(1);
    }

    fn last_mut(&mut self) -> Option<&mut Parse> {
        match self.len {
            0 => None,
            n if n <= INLINE_DEPTH => Some(&mut self.inline[n - 1]),
            _ => self.deeper.last_mut(),
        }
    }

    fn last(&self) -> Option<Parse> {
        match self.len {
            0 => None,
            n if n <= INLINE_DEPTH => Some(self.inline[n - 1]),
            _ => self.deeper.last().copied(),
        }
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A byte-at-a-time port of Go's `scanner`, used only for `checkValid`.
struct Scanner {
    step: St,
    stack: ParseStack,
    end_top: bool,
}

type ScanResult = Result<(), String>;

fn err(c: u8, context: &str) -> String {
    format!("invalid character {} {}", quote_char(c), context)
}

impl Scanner {
    fn new() -> Self {
        Scanner {
            step: St::BeginValue,
            stack: ParseStack::new(),
            end_top: false,
        }
    }

    fn step(&mut self, c: u8) -> ScanResult {
        match self.step {
            St::BeginValueOrEmpty => {
                if is_space(c) {
                    Ok(())
                } else if c == b']' {
                    self.end_value(c)
                } else {
                    self.begin_value(c)
                }
            }
            St::BeginValue => self.begin_value(c),
            St::BeginStringOrEmpty => {
                if is_space(c) {
                    Ok(())
                } else if c == b'}' {
                    if let Some(top) = self.stack.last_mut() {
                        *top = Parse::ObjectValue;
                    }
                    self.end_value(c)
                } else {
                    self.begin_string(c)
                }
            }
            St::BeginString => self.begin_string(c),
            St::EndValue => self.end_value(c),
            St::EndTop => self.end_top(c),
            St::InString => {
                match c {
                    b'"' => self.step = St::EndValue,
                    b'\\' => self.step = St::InStringEsc,
                    0x00..=0x1f => return Err(err(c, "in string literal")),
                    _ => {}
                }
                Ok(())
            }
            St::InStringEsc => match c {
                b'b' | b'f' | b'n' | b'r' | b't' | b'\\' | b'/' | b'"' => {
                    self.step = St::InString;
                    Ok(())
                }
                b'u' => {
                    self.step = St::InStringEscU(0);
                    Ok(())
                }
                _ => Err(err(c, "in string escape code")),
            },
            St::InStringEscU(n) => {
                if c.is_ascii_hexdigit() {
                    self.step = if n == 3 {
                        St::InString
                    } else {
                        St::InStringEscU(n + 1)
                    };
                    Ok(())
                } else {
                    Err(err(c, "in \\u hexadecimal character escape"))
                }
            }
            St::Neg => match c {
                b'0' => {
                    self.step = St::Zero;
                    Ok(())
                }
                b'1'..=b'9' => {
                    self.step = St::One;
                    Ok(())
                }
                _ => Err(err(c, "in numeric literal")),
            },
            St::One => {
                if c.is_ascii_digit() {
                    Ok(())
                } else {
                    self.zero(c)
                }
            }
            St::Zero => self.zero(c),
            St::Dot => {
                if c.is_ascii_digit() {
                    self.step = St::Dot0;
                    Ok(())
                } else {
                    Err(err(c, "after decimal point in numeric literal"))
                }
            }
            St::Dot0 => {
                if c.is_ascii_digit() {
                    Ok(())
                } else if c == b'e' || c == b'E' {
                    self.step = St::E;
                    Ok(())
                } else {
                    self.end_value(c)
                }
            }
            St::E => {
                if c == b'+' || c == b'-' {
                    self.step = St::ESign;
                    Ok(())
                } else {
                    self.e_sign(c)
                }
            }
            St::ESign => self.e_sign(c),
            St::E0 => {
                if c.is_ascii_digit() {
                    Ok(())
                } else {
                    self.end_value(c)
                }
            }
            St::Lit(word, pos, ctx) => {
                let want = word.get(pos).copied().unwrap_or(0);
                if c != want {
                    return Err(err(
                        c,
                        &format!("in literal {} (expecting {})", ctx, quote_char(want)),
                    ));
                }
                self.step = if pos + 1 >= word.len() {
                    St::EndValue
                } else {
                    St::Lit(word, pos + 1, ctx)
                };
                Ok(())
            }
        }
    }

    fn begin_value(&mut self, c: u8) -> ScanResult {
        if is_space(c) {
            return Ok(());
        }
        self.step = match c {
            b'{' => {
                self.stack.push(Parse::ObjectKey);
                St::BeginStringOrEmpty
            }
            b'[' => {
                self.stack.push(Parse::ArrayValue);
                St::BeginValueOrEmpty
            }
            b'"' => St::InString,
            b'-' => St::Neg,
            b'0' => St::Zero,
            b'1'..=b'9' => St::One,
            b't' => St::Lit(b"true", 1, "true"),
            b'f' => St::Lit(b"false", 1, "false"),
            b'n' => St::Lit(b"null", 1, "null"),
            _ => return Err(err(c, "looking for beginning of value")),
        };
        Ok(())
    }

    fn begin_string(&mut self, c: u8) -> ScanResult {
        if is_space(c) {
            return Ok(());
        }
        if c == b'"' {
            self.step = St::InString;
            return Ok(());
        }
        Err(err(c, "looking for beginning of object key string"))
    }

    fn zero(&mut self, c: u8) -> ScanResult {
        match c {
            b'.' => {
                self.step = St::Dot;
                Ok(())
            }
            b'e' | b'E' => {
                self.step = St::E;
                Ok(())
            }
            _ => self.end_value(c),
        }
    }

    fn e_sign(&mut self, c: u8) -> ScanResult {
        if c.is_ascii_digit() {
            self.step = St::E0;
            Ok(())
        } else {
            Err(err(c, "in exponent of numeric literal"))
        }
    }

    fn end_value(&mut self, c: u8) -> ScanResult {
        let Some(top) = self.stack.last() else {
            self.step = St::EndTop;
            self.end_top = true;
            return self.end_top(c);
        };
        if is_space(c) {
            self.step = St::EndValue;
            return Ok(());
        }
        match top {
            Parse::ObjectKey => {
                if c == b':' {
                    if let Some(t) = self.stack.last_mut() {
                        *t = Parse::ObjectValue;
                    }
                    self.step = St::BeginValue;
                    Ok(())
                } else {
                    Err(err(c, "after object key"))
                }
            }
            Parse::ObjectValue => match c {
                b',' => {
                    if let Some(t) = self.stack.last_mut() {
                        *t = Parse::ObjectKey;
                    }
                    self.step = St::BeginString;
                    Ok(())
                }
                b'}' => {
                    self.pop();
                    Ok(())
                }
                _ => Err(err(c, "after object key:value pair")),
            },
            Parse::ArrayValue => match c {
                b',' => {
                    self.step = St::BeginValue;
                    Ok(())
                }
                b']' => {
                    self.pop();
                    Ok(())
                }
                _ => Err(err(c, "after array element")),
            },
        }
    }

    fn pop(&mut self) {
        self.stack.pop();
        if self.stack.is_empty() {
            self.step = St::EndTop;
            self.end_top = true;
        } else {
            self.step = St::EndValue;
        }
    }

    fn end_top(&mut self, c: u8) -> ScanResult {
        if is_space(c) {
            Ok(())
        } else {
            Err(err(c, "after top-level value"))
        }
    }

    /// Go's `scanner.eof`: feed a space and see whether the value completed.
    fn eof(&mut self) -> ScanResult {
        if self.end_top {
            return Ok(());
        }
        self.step(b' ')?;
        if self.end_top {
            return Ok(());
        }
        Err("unexpected end of JSON input".to_string())
    }
}

/// Go's `checkValid`: the whole input must be exactly one JSON value.
///
/// Inside a string, Go's `stateInString` leaves the state as it is for every byte that is not
/// `"`, `\` or below 0x20; such runs are skipped at once rather than stepped one by one.
pub fn check_valid(data: &[u8]) -> Result<(), String> {
    let mut s = Scanner::new();
    let mut i = 0;
    while let Some(&c) = data.get(i) {
        if s.step == St::InString {
            let plain = data[i..]
                .iter()
                .position(|&c| c < 0x20 || c == b'"' || c == b'\\')
                .unwrap_or(data.len() - i);
            i += plain;
            let Some(&c) = data.get(i) else { break };
            s.step(c)?;
        } else {
            s.step(c)?;
        }
        i += 1;
    }
    s.eof()
}

/// [`check_valid`] stepping every byte, as Go's loop does: the reference the skipping is
/// tested against.
#[cfg(test)]
fn check_valid_bytewise(data: &[u8]) -> Result<(), String> {
    let mut s = Scanner::new();
    for &c in data {
        s.step(c)?;
    }
    s.eof()
}

/// Decode one UTF-8 sequence the way Go's `utf8.DecodeRune` accepts it.
/// Returns its length, or `None` where Go would return `(RuneError, 1)`.
fn valid_utf8_len(s: &[u8]) -> Option<usize> {
    let n = match *s.first()? {
        0x00..=0x7f => 1,
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return None,
    };
    let seq = s.get(..n)?;
    std::str::from_utf8(seq).ok().map(|_| n)
}

/// Go's `getu4`: the value of a `\uXXXX` at the start of `s`, if there is one.
fn getu4(s: &[u8]) -> Option<u32> {
    if s.len() < 6 || s[0] != b'\\' || s[1] != b'u' {
        return None;
    }
    let hex = std::str::from_utf8(&s[2..6]).ok()?;
    u32::from_str_radix(hex, 16).ok()
}

fn push_char(out: &mut Vec<u8>, ch: char) {
    let mut buf = [0u8; 4];
    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
}

/// Go's `unquoteBytes` for a string literal that already passed the syntax check
/// (`item` includes the quotes). Always yields valid UTF-8. Like Go's, it returns the literal's
/// own bytes when there is no escape and the UTF-8 is valid (after the syntax check there is no
/// `"` or control byte inside), and builds a new string only otherwise.
pub fn unquote(item: &[u8]) -> Cow<'_, str> {
    let s = if item.len() >= 2 {
        &item[1..item.len() - 1]
    } else {
        &[][..]
    };
    if !s.contains(&b'\\')
        && let Ok(text) = std::str::from_utf8(s)
    {
        return Cow::Borrowed(text);
    }
    let out = unquote_escaped(s);
    // Always valid UTF-8 (every byte is either copied from a valid sequence or encoded from a
    // char); the lossy conversion is only a guard.
    Cow::Owned(
        String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
    )
}

/// Go's `unquoteBytes` past its fast path: escapes decoded, invalid UTF-8 coerced to U+FFFD.
fn unquote_escaped(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut r = 0usize;
    while r < s.len() {
        let c = s[r];
        if c == b'\\' {
            match s.get(r + 1).copied() {
                Some(e @ (b'"' | b'\\' | b'/' | b'\'')) => {
                    out.push(e);
                    r += 2;
                }
                Some(b'b') => {
                    out.push(0x08);
                    r += 2;
                }
                Some(b'f') => {
                    out.push(0x0c);
                    r += 2;
                }
                Some(b'n') => {
                    out.push(b'\n');
                    r += 2;
                }
                Some(b'r') => {
                    out.push(b'\r');
                    r += 2;
                }
                Some(b't') => {
                    out.push(b'\t');
                    r += 2;
                }
                Some(b'u') => {
                    let Some(rr) = getu4(&s[r..]) else {
                        // Cannot happen after check_valid; be safe.
                        push_char(&mut out, '\u{FFFD}');
                        r += 2;
                        continue;
                    };
                    r += 6;
                    if (0xD800..0xE000).contains(&rr) {
                        let rr1 = getu4(s.get(r..).unwrap_or(&[]));
                        if let Some(rr1) = rr1
                            && (0xD800..0xDC00).contains(&rr)
                            && (0xDC00..0xE000).contains(&rr1)
                        {
                            let cp = (((rr - 0xD800) << 10) | (rr1 - 0xDC00)) + 0x10000;
                            push_char(&mut out, char::from_u32(cp).unwrap_or('\u{FFFD}'));
                            r += 6;
                            continue;
                        }
                        push_char(&mut out, '\u{FFFD}');
                        continue;
                    }
                    push_char(&mut out, char::from_u32(rr).unwrap_or('\u{FFFD}'));
                }
                _ => {
                    // Cannot happen after check_valid; be safe.
                    push_char(&mut out, '\u{FFFD}');
                    r += 1;
                }
            }
        } else if c < 0x80 {
            out.push(c);
            r += 1;
        } else if let Some(n) = valid_utf8_len(&s[r..]) {
            out.extend_from_slice(&s[r..r + n]);
            r += n;
        } else {
            push_char(&mut out, '\u{FFFD}');
            r += 1;
        }
    }
    out
}

const CASE_MASK: u8 = !0x20;
const KELVIN: char = '\u{212A}';
const SMALL_LONG_ESS: char = '\u{017F}';

/// Go's `foldFunc(name)(name, key)` for an ASCII field name.
pub fn fold_match(name: &str, key: &[u8]) -> bool {
    if name.is_ascii() && !may_fold(name.as_bytes(), key) {
        return false;
    }
    fold_match_full(name, key)
}

/// [`fold_match`] without the quick test.
fn fold_match_full(name: &str, key: &[u8]) -> bool {
    let nb = name.as_bytes();
    let mut special = false;
    let mut non_letter = false;
    for &b in nb {
        if b >= 0x80 {
            // Not needed for our field names; fall back to Unicode-ish folding.
            return String::from_utf8_lossy(key).to_lowercase() == name.to_lowercase();
        }
        let upper = b & CASE_MASK;
        if !upper.is_ascii_uppercase() {
            non_letter = true;
        } else if upper == b'K' || upper == b'S' {
            special = true;
        }
    }
    if special {
        equal_fold_right(nb, key)
    } else if non_letter {
        ascii_equal_fold(nb, key)
    } else {
        nb.len() == key.len()
            && nb
                .iter()
                .zip(key)
                .all(|(a, b)| a & CASE_MASK == b & CASE_MASK)
    }
}

/// A quick test that never refuses a key one of Go's fold functions would accept for an ASCII
/// name: each name byte matches one to three key bytes (the Kelvin sign is three, the long s
/// two), and an ASCII first key byte must be the name's first byte in either case.
fn may_fold(name: &[u8], key: &[u8]) -> bool {
    if key.len() < name.len() || key.len() > 3 * name.len() {
        return false;
    }
    match (name.first(), key.first()) {
        (Some(&n), Some(&k)) if k < 0x80 && n < 0x80 => {
            n == k || (n.is_ascii_alphabetic() && n ^ 0x20 == k)
        }
        _ => true,
    }
}

fn ascii_equal_fold(s: &[u8], t: &[u8]) -> bool {
    if s.len() != t.len() {
        return false;
    }
    s.iter().zip(t).all(|(&sb, &tb)| {
        if sb == tb {
            return true;
        }
        if sb.is_ascii_alphabetic() {
            sb.eq_ignore_ascii_case(&tb)
        } else {
            false
        }
    })
}

fn equal_fold_right(s: &[u8], mut t: &[u8]) -> bool {
    for &sb in s {
        let Some(&tb) = t.first() else {
            return false;
        };
        if tb < 0x80 {
            if sb != tb {
                let sb_upper = sb & CASE_MASK;
                if sb_upper.is_ascii_uppercase() {
                    if sb_upper != tb & CASE_MASK {
                        return false;
                    }
                } else {
                    return false;
                }
            }
            t = &t[1..];
            continue;
        }
        let (tr, size) = match valid_utf8_len(t) {
            Some(n) => (
                std::str::from_utf8(&t[..n])
                    .ok()
                    .and_then(|x| x.chars().next())
                    .unwrap_or('\u{FFFD}'),
                n,
            ),
            None => ('\u{FFFD}', 1),
        };
        match sb {
            b's' | b'S' if tr == SMALL_LONG_ESS => {}
            b'k' | b'K' if tr == KELVIN => {}
            _ => return false,
        }
        t = &t[size..];
    }
    t.is_empty()
}

/// Read cursor over input already accepted by `check_valid`.
struct Cur<'a> {
    d: &'a [u8],
    i: usize,
}

impl<'a> Cur<'a> {
    fn ws(&mut self) {
        while self.d.get(self.i).is_some_and(|&c| is_space(c)) {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.d.get(self.i).copied()
    }

    /// At a `"`: return the literal including both quotes.
    fn string_item(&mut self) -> &'a [u8] {
        let start = self.i;
        self.i += 1;
        while let Some(&c) = self.d.get(self.i) {
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => self.i += 1,
                _ => {}
            }
        }
        let end = self.i.min(self.d.len());
        &self.d[start.min(end)..end]
    }

    /// A number or `true`/`false`/`null`.
    fn skip_bare_literal(&mut self) {
        while self
            .d
            .get(self.i)
            .is_some_and(|&c| !is_space(c) && !matches!(c, b',' | b'}' | b']' | b':'))
        {
            self.i += 1;
        }
    }

    /// Skip any value without recursion.
    fn skip_value(&mut self) {
        match self.peek() {
            Some(b'"') => {
                self.string_item();
            }
            Some(b'{' | b'[') => {
                let mut depth = 0usize;
                while let Some(c) = self.peek() {
                    match c {
                        b'"' => {
                            self.string_item();
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                self.i += 1;
                                return;
                            }
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
            }
            Some(_) => self.skip_bare_literal(),
            None => {}
        }
    }
}

fn type_error(what: &str, ty: &str) -> String {
    format!("json: cannot unmarshal {what} into Go value of type {ty}")
}

struct Decoder {
    saved: Option<String>,
}

impl Decoder {
    fn save(&mut self, e: String) {
        if self.saved.is_none() {
            self.saved = Some(e);
        }
    }
}

fn find_field(fields: &[Field], key: &[u8]) -> Option<usize> {
    let mut folded = None;
    for (i, f) in fields.iter().enumerate() {
        if f.name.as_bytes() == key {
            return Some(i);
        }
        if folded.is_none() && fold_match(f.name, key) {
            folded = Some(i);
        }
    }
    folded
}

/// Go's `json.Unmarshal(data, &s)` for a struct `s` whose fields are `fields`
/// (all starting at their zero values). `struct_type` names the struct in type
/// errors. Returns the final field values, or the error Go would return.
pub fn unmarshal_struct<'a, const N: usize>(
    data: &'a [u8],
    struct_type: &str,
    fields: &[Field; N],
) -> Result<[Slot<'a>; N], String> {
    check_valid(data)?;
    decode_valid_struct(data, struct_type, fields)
}

/// [`unmarshal_struct`] of `data` that [`check_valid`] already accepted (Go's second
/// `Unmarshal` of the same bytes re-runs `checkValid` with the same outcome, so skipping it
/// changes nothing but the time).
pub fn decode_valid_struct<'a, const N: usize>(
    data: &'a [u8],
    struct_type: &str,
    fields: &[Field; N],
) -> Result<[Slot<'a>; N], String> {
    let mut slots: [Slot<'a>; N] = std::array::from_fn(|i| match fields[i].kind {
        FieldKind::String => Slot::Str(Cow::Borrowed("")),
        FieldKind::NetIp => Slot::Ip(None),
    });
    let mut dec = Decoder { saved: None };
    let mut cur = Cur { d: data, i: 0 };
    cur.ws();
    match cur.peek() {
        Some(b'{') => {
            cur.i += 1;
            decode_object(&mut cur, &mut dec, fields, &mut slots)?;
        }
        Some(b'[') => dec.save(type_error("array", struct_type)),
        Some(b'"') => dec.save(type_error("string", struct_type)),
        Some(b't' | b'f') => dec.save(type_error("bool", struct_type)),
        Some(b'n') => {}
        Some(_) => return Err(type_error("number", struct_type)),
        None => return Err("unexpected end of JSON input".to_string()),
    }
    match dec.saved {
        Some(e) => Err(e),
        None => Ok(slots),
    }
}

/// Decode the members of an object whose `{` was consumed. `Err` is an abort.
fn decode_object<'a>(
    cur: &mut Cur<'a>,
    dec: &mut Decoder,
    fields: &[Field],
    slots: &mut [Slot<'a>],
) -> Result<(), String> {
    loop {
        cur.ws();
        match cur.peek() {
            Some(b'"') => {}
            // `}` (empty object or end) or anything unexpected: stop.
            _ => return Ok(()),
        }
        let key = unquote(cur.string_item());
        let key = key.as_bytes();
        cur.ws();
        if cur.peek() == Some(b':') {
            cur.i += 1;
        }
        cur.ws();
        let field = find_field(fields, key);
        match field {
            None => cur.skip_value(),
            Some(idx) => {
                let f = fields[idx];
                let slot = &mut slots[idx];
                decode_field(cur, dec, f, slot)?;
            }
        }
        cur.ws();
        match cur.peek() {
            Some(b',') => cur.i += 1,
            _ => {
                cur.i += 1;
                return Ok(());
            }
        }
    }
}

fn decode_field<'a>(
    cur: &mut Cur<'a>,
    dec: &mut Decoder,
    f: Field,
    slot: &mut Slot<'a>,
) -> Result<(), String> {
    let c = cur.peek();
    match f.kind {
        FieldKind::String => match c {
            Some(b'"') => {
                *slot = Slot::Str(unquote(cur.string_item()));
            }
            Some(b'n') => cur.skip_bare_literal(), // null leaves a string alone
            Some(b't' | b'f') => {
                dec.save(type_error("bool", "string"));
                cur.skip_bare_literal();
            }
            Some(b'{') => {
                dec.save(type_error("object", "string"));
                cur.skip_value();
            }
            Some(b'[') => {
                dec.save(type_error("array", "string"));
                cur.skip_value();
            }
            // Go 1.7 aborts (d.error, not saveError) on a number into a string.
            _ => return Err(type_error("number", "string")),
        },
        FieldKind::NetIp => match c {
            Some(b'"') => {
                let text = unquote(cur.string_item());
                if text.is_empty() {
                    *slot = Slot::Ip(None);
                } else {
                    match parse_ip(&text) {
                        Some(ip) => *slot = Slot::Ip(Some(ip)),
                        None => return Err(format!("invalid IP address: {text}")),
                    }
                }
            }
            Some(b'{') => {
                dec.save(type_error("object", "net.IP"));
                cur.skip_value();
            }
            Some(b'[') => {
                dec.save(type_error("array", "net.IP"));
                cur.skip_value();
            }
            _ => {
                // go1.7.6 decode.go `literalStore`: for a number, `true`, `false` **and `null`**
                // `indirect(v, decodingNull)` returns net.IP's TextUnmarshaler (the field's
                // address is not settable, so the `decodingNull` break never fires; Go 1.8
                // added the null check before it), and `item[0] != '"'` saves
                // `UnmarshalTypeError{"string", net.IP}` whatever the literal was. Saved, not
                // aborted: decoding goes on, the IP keeps its previous value, and the first
                // saved error is what Unmarshal returns unless a later one aborts.
                dec.save(type_error("string", "net.IP"));
                cur.skip_bare_literal();
            }
        },
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_messages() {
        let e = |s: &[u8]| check_valid(s).err().unwrap_or_default();
        assert_eq!(e(b"  "), "unexpected end of JSON input");
        assert_eq!(e(b"{\"a\""), "unexpected end of JSON input");
        assert_eq!(
            e(b"x"),
            "invalid character 'x' looking for beginning of value"
        );
        assert_eq!(e(b"{}{}"), "invalid character '{' after top-level value");
        assert_eq!(e(b"{\"a\" 1}"), "invalid character '1' after object key");
        assert_eq!(
            e(b"{\"a\":1 2}"),
            "invalid character '2' after object key:value pair"
        );
        assert_eq!(
            e(b"{1:1}"),
            "invalid character '1' looking for beginning of object key string"
        );
        assert_eq!(
            e(b"{\"a\":1,}"),
            "invalid character '}' looking for beginning of object key string"
        );
        assert_eq!(e(b"\"\t\""), "invalid character '\\t' in string literal");
        assert_eq!(e(b"\"\\x\""), "invalid character 'x' in string escape code");
        assert_eq!(
            e(b"\"\\u12g4\""),
            "invalid character 'g' in \\u hexadecimal character escape"
        );
        assert_eq!(
            e(b"tru"),
            "invalid character ' ' in literal true (expecting 'e')"
        );
        assert_eq!(
            e(b"nul1"),
            "invalid character '1' in literal null (expecting 'l')"
        );
        assert_eq!(
            e(b"fals"),
            "invalid character ' ' in literal false (expecting 'e')"
        );
        assert_eq!(e(b"-x"), "invalid character 'x' in numeric literal");
        assert_eq!(
            e(b"1."),
            "invalid character ' ' after decimal point in numeric literal"
        );
        assert_eq!(
            e(b"1e+"),
            "invalid character ' ' in exponent of numeric literal"
        );
        assert_eq!(e(b"01"), "invalid character '1' after top-level value");
        assert_eq!(e(b"[1 2]"), "invalid character '2' after array element");
        assert_eq!(
            e(b"[1,]"),
            "invalid character ']' looking for beginning of value"
        );
        assert_eq!(
            e(b"\xef\xbb\xbf{}"),
            "invalid character '\u{ef}' looking for beginning of value"
        );
        assert_eq!(
            e(b"'a'"),
            "invalid character '\\'' looking for beginning of value"
        );
        assert_eq!(
            e(b"\x01"),
            "invalid character '\\x01' looking for beginning of value"
        );
        assert_eq!(
            e(b"\x85"),
            "invalid character '\\u0085' looking for beginning of value"
        );
        for ok in [
            &b"{}"[..],
            b" [ ] ",
            b"-0.5e+10",
            b"0",
            b"\"\\ud83d\\ude00\"",
            b"{\"a\":[{\"b\":null},true,false,1.0E-3]}\r\n",
        ] {
            assert_eq!(check_valid(ok), Ok(()), "{:?}", String::from_utf8_lossy(ok));
        }
    }

    #[test]
    fn unquote_rules() {
        let u = |s: &[u8]| unquote(s).into_owned();
        assert_eq!(u(b"\"a\\u0062c\""), "abc");
        assert_eq!(u(b"\"\\ud83d\\ude00\""), "\u{1F600}");
        assert_eq!(u(b"\"\\ud83dx\""), "\u{FFFD}x");
        assert_eq!(u(b"\"\\ude00\\ud83d\""), "\u{FFFD}\u{FFFD}");
        assert_eq!(u(b"\"\\ud83d\\u0041\""), "\u{FFFD}A");
        assert_eq!(u(b"\"\xe2\x82A\""), "\u{FFFD}\u{FFFD}A");
        assert_eq!(u(b"\"\xed\xa0\x80\""), "\u{FFFD}\u{FFFD}\u{FFFD}");
        assert_eq!(
            u(b"\"\\/\\b\\f\\n\\r\\t\\\"\\\\\""),
            "/\u{8}\u{c}\n\r\t\"\\"
        );
    }

    /// A fixed-seed byte source for the differential tests below.
    struct Bytes(u64);

    impl Bytes {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        /// Bytes drawn mostly from JSON's own alphabet, with escapes, UTF-8 (valid and not)
        /// and control bytes mixed in.
        fn document(&mut self) -> Vec<u8> {
            const PIECES: &[&[u8]] = &[
                b"{",
                b"}",
                b"[",
                b"]",
                b"\"",
                b"\"",
                b"\"",
                b":",
                b",",
                b" ",
                b"\\",
                b"\\u",
                b"00e9",
                b"d83d",
                b"\\ude00",
                b"n",
                b"t",
                b"/",
                b"1",
                b"-0.5e3",
                b"true",
                b"null",
                b"ip",
                b"kind",
                b"\xc3\xa9",
                b"\xe2\x82",
                b"\xed\xa0\x80",
                b"\xf0\x9f\x98\x80",
                b"\x01",
                b"\t",
                b"\n",
                b"\x7f",
                b"abc",
            ];
            let n = (self.next() % 24) as usize;
            let mut out = Vec::new();
            for _ in 0..n {
                out.extend_from_slice(PIECES[(self.next() % PIECES.len() as u64) as usize]);
            }
            out
        }
    }

    #[test]
    fn skipping_inside_strings_changes_no_verdict() {
        let mut src = Bytes(0x9e37_79b9_7f4a_7c15);
        let mut valid = 0;
        for _ in 0..200_000 {
            let doc = src.document();
            let fast = check_valid(&doc);
            assert_eq!(
                fast,
                check_valid_bytewise(&doc),
                "{:?}",
                String::from_utf8_lossy(&doc)
            );
            valid += usize::from(fast.is_ok());
        }
        // The generator reaches both verdicts, so the comparison judged something.
        assert!(valid > 1_000, "only {valid} valid documents");
        // A string run that reaches the end of the input, and one that ends at a control byte.
        assert_eq!(
            check_valid(b"\"abc"),
            Err("unexpected end of JSON input".into())
        );
        assert_eq!(
            check_valid(b"\"ab\x01\""),
            Err("invalid character '\\x01' in string literal".into())
        );
    }

    #[test]
    fn unquote_borrows_only_what_it_would_copy_unchanged() {
        let mut src = Bytes(0x2545_f491_4f6c_dd1d);
        let mut borrowed = 0;
        for _ in 0..100_000 {
            let mut item = vec![b'"'];
            item.extend(src.document().into_iter().filter(|&c| c != b'"'));
            item.push(b'"');
            let got = unquote(&item);
            assert_eq!(
                got.as_bytes(),
                unquote_escaped(&item[1..item.len() - 1]).as_slice(),
                "{:?}",
                String::from_utf8_lossy(&item)
            );
            borrowed += usize::from(matches!(got, Cow::Borrowed(_)));
        }
        assert!(borrowed > 1_000, "only {borrowed} borrowed");
    }

    #[test]
    fn the_parse_stack_spills_past_its_inline_depth() {
        let mut src = Bytes(0x1234_5678_9abc_def1);
        let mut stack = ParseStack::new();
        let mut model: Vec<Parse> = Vec::new();
        let mut deepest = 0;
        for _ in 0..20_000 {
            // Pushes outnumber pops at first, so the stack goes well past the inline part.
            let r = src.next() % 10;
            if r < 6 || model.is_empty() {
                let p = [Parse::ObjectKey, Parse::ObjectValue, Parse::ArrayValue][(r % 3) as usize];
                stack.push(p);
                model.push(p);
            } else if r < 9 {
                stack.pop();
                model.pop();
            } else if let (Some(a), Some(b)) = (stack.last_mut(), model.last_mut()) {
                *a = Parse::ObjectValue;
                *b = Parse::ObjectValue;
            }
            deepest = deepest.max(model.len());
            assert_eq!(stack.last(), model.last().copied());
            assert_eq!(stack.is_empty(), model.is_empty());
        }
        assert!(deepest > 2 * INLINE_DEPTH, "deepest {deepest}");
        let deep = [
            vec![b'['; 40],
            vec![b'{'],
            b"\"a\":1}".to_vec(),
            vec![b']'; 40],
        ]
        .concat();
        assert_eq!(check_valid(&deep), Ok(()));
        let wrong = [vec![b'['; 40], vec![b'}']].concat();
        assert_eq!(check_valid(&wrong), check_valid_bytewise(&wrong));
        assert!(check_valid(&wrong).is_err());
    }

    #[test]
    fn the_quick_fold_test_refuses_nothing_go_accepts() {
        let mut src = Bytes(0x0bad_5eed_dead_beef);
        const PIECES: &[&[u8]] = &[
            b"k",
            b"K",
            b"i",
            b"I",
            b"n",
            b"N",
            b"d",
            b"D",
            b"p",
            b"P",
            b"s",
            b"S",
            b"a",
            b"A",
            b"v",
            b"V",
            b"e",
            b"r",
            b"o",
            b"O",
            b"\xe2\x84\xaa",
            b"\xc5\xbf",
            b"\xc4\xb0",
            b"_",
            b"-",
            b"1",
            b"\xff",
        ];
        let names = ["kind", "apiVersion", "ip", "a_b", "x-1", "sS"];
        let mut accepted = 0;
        for _ in 0..300_000 {
            let n = (src.next() % 12) as usize;
            let key: Vec<u8> = (0..n)
                .flat_map(|_| {
                    PIECES[(src.next() % PIECES.len() as u64) as usize]
                        .iter()
                        .copied()
                })
                .collect();
            for name in names {
                let full = fold_match_full(name, &key);
                assert_eq!(
                    fold_match(name, &key),
                    full,
                    "{name} {:?}",
                    String::from_utf8_lossy(&key)
                );
                accepted += usize::from(full);
            }
        }
        assert!(accepted > 100, "only {accepted} keys folded");
    }

    #[test]
    fn folding() {
        assert!(fold_match("kind", "KIND".as_bytes()));
        assert!(fold_match("kind", "\u{212A}ind".as_bytes()));
        assert!(fold_match("apiVersion", "apiVer\u{17F}ion".as_bytes()));
        assert!(fold_match("ip", b"IP"));
        assert!(!fold_match("ip", "\u{130}P".as_bytes()));
        assert!(!fold_match("ip", "\u{131}p".as_bytes()));
        assert!(!fold_match("kind", "\u{212A}\u{212A}ind".as_bytes()));
        assert!(!fold_match("kind", b"kinds"));
        assert!(!fold_match("ip", b"i"));
    }
}
