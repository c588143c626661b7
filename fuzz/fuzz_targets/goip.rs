//! Fuzz target: Go 1.7 `net.ParseIP` / `IP.String()` (`execnet::plugin::goip`).
//!
//! Properties (besides "never panics"): deterministic; an accepted IP prints as Go's canonical
//! text, which re-parses to the same value and prints the same again (a fixed point); the text
//! is what Rust's std prints for the same 16 bytes (dotted quad for IPv4-mapped, RFC 5952 for
//! the rest: Go 1.7 and std agree on both); everything std parses strictly, Go 1.7 accepts with
//! the same value (Go is the more lenient: leading zeros, long hex groups); no input without
//! `.` or `:` parses; IPv4 results are stored IPv4-mapped.
#![no_main]

use std::net::{Ipv4Addr, Ipv6Addr};

use execnet::plugin::goip::{GoIp, parse_ip};
use libfuzzer_sys::fuzz_target;

fn check(s: &str) {
    let ip = parse_ip(s);
    assert_eq!(ip, parse_ip(s), "not deterministic");

    if !s.contains(['.', ':']) {
        assert_eq!(ip, None, "accepted text with neither '.' nor ':'");
    }

    if let Ok(v4) = s.parse::<Ipv4Addr>() {
        assert_eq!(
            ip,
            Some(GoIp(v4.to_ipv6_mapped().octets())),
            "std IPv4 disagrees"
        );
    }
    if let Ok(v6) = s.parse::<Ipv6Addr>() {
        assert_eq!(ip, Some(GoIp(v6.octets())), "std IPv6 disagrees");
    }

    let Some(ip) = ip else { return };
    let text = ip.to_string();
    assert!(
        text.len() <= 39 && text.is_ascii(),
        "odd canonical text {text:?}"
    );
    assert_eq!(
        parse_ip(&text),
        Some(ip),
        "canonical text {text:?} does not re-parse"
    );
    assert_eq!(parse_ip(&text).map(|p| p.to_string()), Some(text.clone()));

    let b = ip.0;
    if ip.is_ipv4() {
        let v4 = Ipv4Addr::new(b[12], b[13], b[14], b[15]);
        assert_eq!(text, v4.to_string());
        assert_eq!(ip.is_loopback(), v4.is_loopback());
        assert_eq!(ip.is_unspecified(), v4.is_unspecified());
    } else {
        let v6 = Ipv6Addr::from(b);
        assert_eq!(text, v6.to_string(), "Go 1.7 and std print differently");
        assert_eq!(ip.is_loopback(), v6.is_loopback());
        assert_eq!(ip.is_unspecified(), v6.is_unspecified());
    }
}

fuzz_target!(|data: &[u8]| {
    // ParseIP takes a Go string: arbitrary bytes. Non-UTF-8 never parses (only ASCII can).
    match std::str::from_utf8(data) {
        Ok(s) => check(s),
        Err(_) => check(&String::from_utf8_lossy(data)),
    }
});
