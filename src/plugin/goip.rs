//! Go 1.7 `net.ParseIP` and `net.IP.String()`, reproduced byte for byte.
//!
//! This module owns the IP text rules the kubelet (built with Go 1.7) applied to
//! the `ip` field of a plugin's `status` output: which strings parse (leading
//! zeros in IPv4 fields are accepted and read as decimal, unlike Go >= 1.17),
//! the 16-byte storage form (IPv4 results are IPv4-mapped), and the canonical
//! text Go prints for an address. It never panics on any input.

use std::fmt;

/// An IP address as Go's `ParseIP` returns it: always the 16-byte form.
/// IPv4 addresses are stored IPv4-mapped (`::ffff:a.b.c.d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GoIp(pub [u8; 16]);

const IPV4_PREFIX: [u8; 12] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/// Go's `big` constant in net/parse.go: digit loops give up once the value reaches it.
const BIG: u32 = 0x00FF_FFFF;

/// Go 1.7 `net.ParseIP`: the first `.` or `:` decides the family; neither means nil.
pub fn parse_ip(s: &str) -> Option<GoIp> {
    let b = s.as_bytes();
    for &c in b {
        match c {
            b'.' => return parse_ipv4(b).map(v4_mapped),
            b':' => return parse_ipv6(b).map(GoIp),
            _ => {}
        }
    }
    None
}

fn v4_mapped(p: [u8; 4]) -> GoIp {
    let mut ip = [0u8; 16];
    ip[..12].copy_from_slice(&IPV4_PREFIX);
    ip[12..].copy_from_slice(&p);
    GoIp(ip)
}

/// Go 1.7 `dtoi(s, i0)` (net/parse.go at go1.7.6), sign quirk included: when the **whole**
/// string `s` starts with `-`, Go drops that byte (`s = s[1:]`), reads the digits of the shifted
/// string from `i0` (so one byte later than asked), negates the value and adds the byte back to
/// the returned offset. The byte at `i0` itself is never looked at. `None` when there are no
/// digits or the value reaches `BIG` (Go's `ok == false`; the returned offsets then do not
/// matter, every caller gives up).
fn dtoi(s: &[u8], i0: usize) -> Option<(i64, usize)> {
    let neg = s.first() == Some(&b'-');
    let digits = if neg { &s[1..] } else { s };
    let mut n: i64 = 0;
    let mut i = i0;
    while let Some(&c) = digits.get(i) {
        if !c.is_ascii_digit() {
            break;
        }
        n = n * 10 + i64::from(c - b'0');
        if n >= i64::from(BIG) {
            return None;
        }
        i += 1;
    }
    if i == i0 {
        return None;
    }
    if neg { Some((-n, i + 1)) } else { Some((n, i)) }
}

/// Go's `xtoi`: hex digits from `i0`; `None` if there are none or the value reaches `BIG`.
fn xtoi(s: &[u8], i0: usize) -> Option<(u32, usize)> {
    let mut n: u32 = 0;
    let mut i = i0;
    while let Some(&c) = s.get(i) {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => break,
        };
        n = n * 16 + u32::from(d);
        if n >= BIG {
            return None;
        }
        i += 1;
    }
    if i == i0 { None } else { Some((n, i)) }
}

/// Go 1.7 `parseIPv4`: exactly four decimal fields (leading zeros allowed), each `<= 0xFF`
/// (only an upper bound: a negative field from `dtoi`'s sign quirk passes and is stored as
/// Go's `byte(n)`, i.e. modulo 256: `-1` is 255, `-300` is 212).
fn parse_ipv4(s: &[u8]) -> Option<[u8; 4]> {
    let mut p = [0u8; 4];
    let mut i = 0usize;
    for (j, slot) in p.iter_mut().enumerate() {
        if i >= s.len() {
            return None;
        }
        if j > 0 {
            if s.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let (n, ni) = dtoi(s, i)?;
        if n > 0xFF {
            return None;
        }
        // Go's byte(n): two's complement truncation.
        *slot = n.rem_euclid(256) as u8;
        i = ni;
    }
    if i != s.len() { None } else { Some(p) }
}

/// Go 1.7 `parseIPv6(s, zoneAllowed=false)`.
fn parse_ipv6(s: &[u8]) -> Option<[u8; 16]> {
    let mut ip = [0u8; 16];
    let mut ellipsis: Option<usize> = None;
    let mut i = 0usize;

    // Might have leading ellipsis.
    if s.len() >= 2 && s[0] == b':' && s[1] == b':' {
        ellipsis = Some(0);
        i = 2;
        if i == s.len() {
            return Some(ip);
        }
    }

    let mut j = 0usize;
    while j < 16 {
        let (n, i1) = xtoi(s, i)?;
        if n > 0xFFFF {
            return None;
        }

        // Followed by a dot: might be a trailing IPv4.
        if s.get(i1) == Some(&b'.') {
            if ellipsis.is_none() && j != 16 - 4 {
                return None;
            }
            if j + 4 > 16 {
                return None;
            }
            // `s[i:]` starts with the hex digit xtoi just read, never with `-`: dtoi's sign
            // quirk cannot apply to an embedded IPv4 (a `-` later in it is just not a digit).
            let ip4 = parse_ipv4(s.get(i..)?)?;
            ip[j..j + 4].copy_from_slice(&ip4);
            i = s.len();
            j += 4;
            break;
        }

        ip[j] = (n >> 8) as u8;
        ip[j + 1] = n as u8;
        j += 2;

        i = i1;
        if i == s.len() {
            break;
        }

        // Otherwise must be followed by a colon and more.
        if s[i] != b':' || i + 1 == s.len() {
            return None;
        }
        i += 1;

        if s[i] == b':' {
            if ellipsis.is_some() {
                return None;
            }
            ellipsis = Some(j);
            i += 1;
            if i == s.len() {
                break;
            }
        }
    }

    if i != s.len() {
        return None;
    }

    if j < 16 {
        let e = ellipsis?;
        let n = 16 - j;
        for k in (e..j).rev() {
            ip[k + n] = ip[k];
        }
        for b in ip.iter_mut().skip(e).take(n) {
            *b = 0;
        }
    } else if ellipsis.is_some() {
        // The ellipsis must stand for at least one zero group.
        return None;
    }
    Some(ip)
}

impl GoIp {
    /// Go's `To4() != nil` for a 16-byte IP: the IPv4-mapped prefix is present.
    pub fn is_ipv4(&self) -> bool {
        self.0[..12] == IPV4_PREFIX
    }

    /// Go's `IsLoopback`: 127.0.0.0/8 for IPv4, otherwise exactly `::1`.
    pub fn is_loopback(&self) -> bool {
        if self.is_ipv4() {
            return self.0[12] == 127;
        }
        let mut one = [0u8; 16];
        one[15] = 1;
        self.0 == one
    }

    /// Go's `IsUnspecified`: equal to `0.0.0.0` (IPv4-mapped) or `::`.
    pub fn is_unspecified(&self) -> bool {
        self.0 == [0u8; 16] || (self.is_ipv4() && self.0[12..] == [0, 0, 0, 0])
    }
}

impl fmt::Display for GoIp {
    /// Go 1.7 `IP.String()` for a 16-byte IP.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.0;
        if self.is_ipv4() {
            return write!(f, "{}.{}.{}.{}", p[12], p[13], p[14], p[15]);
        }

        // Longest run of zero groups; the first one wins ties.
        let mut e0: isize = -1;
        let mut e1: isize = -1;
        let mut i = 0usize;
        while i < 16 {
            let mut j = i;
            while j < 16 && p[j] == 0 && p[j + 1] == 0 {
                j += 2;
            }
            if j > i && (j - i) as isize > e1 - e0 {
                e0 = i as isize;
                e1 = j as isize;
                i = j;
            }
            i += 2;
        }
        // "::" must not stand for a single zero group.
        if e1 - e0 <= 2 {
            e0 = -1;
            e1 = -1;
        }

        let mut out = String::with_capacity(39);
        let mut i = 0usize;
        while i < 16 {
            if i as isize == e0 {
                out.push_str("::");
                i = e1 as usize;
                if i >= 16 {
                    break;
                }
            } else if i > 0 {
                out.push(':');
            }
            let g = (u16::from(p[i]) << 8) | u16::from(p[i + 1]);
            out.push_str(&format!("{g:x}"));
            i += 2;
        }
        f.write_str(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(s: &str) -> Option<String> {
        parse_ip(s).map(|ip| ip.to_string())
    }

    #[test]
    fn ipv4_forms() {
        assert_eq!(show("10.1.2.3").as_deref(), Some("10.1.2.3"));
        // Go 1.7 reads leading zeros as decimal.
        assert_eq!(show("010.001.002.003").as_deref(), Some("10.1.2.3"));
        assert_eq!(show("0000000000255.0.0.1").as_deref(), Some("255.0.0.1"));
        assert_eq!(show("255.255.255.255").as_deref(), Some("255.255.255.255"));
        assert_eq!(show("256.0.0.1"), None);
        assert_eq!(show("10.0.0.300"), None);
        assert_eq!(show("10.0.0"), None);
        assert_eq!(show("10.0.0.1.5"), None);
        assert_eq!(show("10.0.0."), None);
        assert_eq!(show(".10.0.0.1"), None);
        assert_eq!(show("10..0.1"), None);
        assert_eq!(show("1.2.3.4/24"), None);
        assert_eq!(show(" 1.2.3.4"), None);
        assert_eq!(show("1.2.3.4 "), None);
        assert_eq!(show("+1.2.3.4"), None);
        assert_eq!(show("99999999999.1.1.1"), None);
        assert_eq!(show("hello"), None);
        assert_eq!(show(""), None);
    }

    /// go1.7.6 net/parse.go `dtoi` drops a leading `-` of the whole string, reads each field
    /// one byte late and negates it; parseIPv4 only checks `n > 0xFF` and stores `byte(n)`.
    #[test]
    fn go17_sign_quirk() {
        // The skipped byte before each later field is the `-`: every field negated.
        assert_eq!(show("-1.-2.-3.-4").as_deref(), Some("255.254.253.252"));
        // Negative zero is zero; the skipped byte may be a digit.
        assert_eq!(show("-0.00.00.00").as_deref(), Some("0.0.0.0"));
        // The skipped byte may be anything at all.
        assert_eq!(show("-10.a20.b30.c40").as_deref(), Some("246.236.226.216"));
        // No upper bound once negative: byte(-300) is 212, byte(-256) is 0.
        assert_eq!(show("-300.-1.-256.-0").as_deref(), Some("212.255.0.0"));
        // Only the first field is read one byte late relative to a plain address, so the
        // later fields of "-1.2.3.4" start on a '.' (digit '2' skipped): no digits, nil.
        assert_eq!(show("-1.2.3.4"), None);
        // dtoi still gives up at big (0xFFFFFF) when negative.
        assert_eq!(show("-16777215.-1.-1.-1"), None);
        assert_eq!(show("-16777214.-1.-1.-1").as_deref(), Some("2.255.255.255"));
        // A '-' alone before a field: nothing to read.
        assert_eq!(show("-.-1.-1.-1"), None);
        // Trailing '-' left over: i != len(s).
        assert_eq!(show("-1.-2.-3.-4-"), None);
        // IPv6 uses xtoi (no sign) and an embedded IPv4 starts at a hex digit: no quirk.
        assert_eq!(show("-1::"), None);
        assert_eq!(show("::ffff:-1.-2.-3.-4"), None);
        assert_eq!(show("::ffff:1.-2.3.4"), None);
    }

    #[test]
    fn ipv6_forms() {
        assert_eq!(show("::").as_deref(), Some("::"));
        assert_eq!(show("::1").as_deref(), Some("::1"));
        assert_eq!(show("2001:DB8::1").as_deref(), Some("2001:db8::1"));
        assert_eq!(show("::ffff:10.1.2.3").as_deref(), Some("10.1.2.3"));
        assert_eq!(show("::10.1.2.3").as_deref(), Some("::a01:203"));
        assert_eq!(show("::1.2.3.4").as_deref(), Some("::102:304"));
        assert_eq!(show("0000000001::").as_deref(), Some("1::"));
        assert_eq!(show("0:0:0:0:0:0:0:0").as_deref(), Some("::"));
        assert_eq!(show("1:0:1:0:0:0:1:1").as_deref(), Some("1:0:1::1:1"));
        assert_eq!(show("1:0:0:1:0:0:1:1").as_deref(), Some("1::1:0:0:1:1"));
        assert_eq!(show("1:0:2:3:4:5:6:7").as_deref(), Some("1:0:2:3:4:5:6:7"));
        assert_eq!(
            show("2001:0db8:0000:0000:0000:ff00:0042:8329").as_deref(),
            Some("2001:db8::ff00:42:8329")
        );
        assert_eq!(
            show("1:2:3:4:5:6:1.2.3.4").as_deref(),
            Some("1:2:3:4:5:6:102:304")
        );
        assert_eq!(show("1::2:3:4:5:6:7").as_deref(), Some("1:0:2:3:4:5:6:7"));
        assert_eq!(show("fe80::").as_deref(), Some("fe80::"));
        assert_eq!(show("0:0:0:0:0:ffff:1.2.3.4").as_deref(), Some("1.2.3.4"));
    }

    #[test]
    fn ipv6_rejections() {
        for bad in [
            "1:2:3:4:5:6:7:8:9",
            "1::2::3",
            "1:::2",
            "1:2:3:4:5:6:7:8::",
            "::1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7:",
            ":1:2:3:4:5:6:7",
            "1:2:3:4:5:6:7",
            "fe80::1%eth0",
            "[::1]",
            "::1/128",
            "10000::",
            "1:2:3:4:5:1.2.3.4",
            "1:2:3:4:5:6:7:1.2.3.4",
            "::1.2.3",
            "::1.2.3.4:5",
            "::ffff:010.1.2.300",
            ":",
            ":::",
            "g::",
        ] {
            assert_eq!(show(bad), None, "{bad:?} should not parse");
        }
    }

    #[test]
    fn predicates() {
        let ip = |s: &str| parse_ip(s).unwrap_or(GoIp([0xAA; 16]));
        assert!(ip("127.0.0.1").is_loopback());
        assert!(ip("127.255.0.9").is_loopback());
        assert!(ip("::1").is_loopback());
        assert!(!ip("::2").is_loopback());
        assert!(!ip("10.0.0.1").is_loopback());
        assert!(ip("0.0.0.0").is_unspecified());
        assert!(ip("::").is_unspecified());
        assert!(ip("::ffff:0.0.0.0").is_unspecified());
        assert!(!ip("::1").is_unspecified());
        assert!(ip("1.2.3.4").is_ipv4());
        assert!(!ip("::102:304").is_ipv4());
        assert_eq!(ip("1.2.3.4").0[..12], IPV4_PREFIX);
    }
}
