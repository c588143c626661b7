//! `--pool CIDR`: the plugin's address pool as its vendor declares it. With it, certification
//! can tell an allocator that hands out addresses round robin (CNI host-local does) from one
//! that leaks a crashed container's address: the `pool-wrap` scenario crashes one pod's infra
//! container more times than the pool holds addresses. A leaking plugin runs out (a setup
//! fails with one pod live); a correct one wraps and hands an address out again.

use std::net::Ipv4Addr;

use crate::kubelet::Scenario;

/// The generated scenario's name (not a file of `conformance/scenarios/`).
pub const POOL_WRAP: &str = "pool-wrap";

/// The largest pool execnet wraps (a /22: 1022 addresses, as many crash cycles).
pub const MAX_HOSTS: u32 = 1022;

/// An IPv4 pool, `network/prefix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool {
    pub network: Ipv4Addr,
    pub prefix: u8,
}

impl Pool {
    /// Parse `A.B.C.D/N` (N from 22 to 30); an error names what was wrong.
    pub fn parse(text: &str) -> Result<Pool, String> {
        let (addr, prefix) = text.split_once('/').ok_or_else(|| {
            format!("invalid --pool '{text}': expected an IPv4 CIDR, e.g. 10.244.0.0/24")
        })?;
        let addr: Ipv4Addr = addr
            .parse()
            .map_err(|_| format!("invalid --pool '{text}': '{addr}' is not an IPv4 address"))?;
        let prefix: u8 =
            prefix.parse().ok().filter(|p| *p <= 32).ok_or_else(|| {
                format!("invalid --pool '{text}': '{prefix}' is not a prefix length")
            })?;
        let pool = Pool {
            network: Ipv4Addr::from(u32::from(addr) & mask(prefix)),
            prefix,
        };
        if pool.hosts() > MAX_HOSTS || prefix > 30 {
            return Err(format!(
                "invalid --pool '{text}': execnet wraps pools of 2 to {MAX_HOSTS} addresses (/30 to /22); declare the part of the pool this node uses"
            ));
        }
        Ok(pool)
    }

    /// The addresses a plugin can hand out: all but the network and broadcast addresses.
    pub fn hosts(&self) -> u32 {
        (1u32 << (32 - u32::from(self.prefix))).saturating_sub(2)
    }

    pub fn contains(&self, ip: &str) -> bool {
        ip.parse::<Ipv4Addr>()
            .is_ok_and(|a| u32::from(a) & mask(self.prefix) == u32::from(self.network))
    }

    /// Crash cycles that must wrap the pool: every address once, and two more.
    pub fn cycles(&self) -> u32 {
        self.hosts() + 2
    }

    /// The `pool-wrap` scenario: one pod whose infra container crashes [`Pool::cycles`] times,
    /// a sync after each (the kubelet sets a new one up, never tears the dead one down,
    /// docs/kubelet.md §3.6), then the pod's deletion.
    pub fn scenario(&self) -> Scenario {
        let mut steps = vec![
            r#"{"start_kubelet": {}}"#.to_string(),
            r#"{"create": ["pool-wrap/wrap"]}"#.into(),
            r#"{"sync": {"count": 1}}"#.into(),
        ];
        for _ in 0..self.cycles() {
            steps.push(r#"{"crash": ["pool-wrap/wrap"]}"#.into());
            steps.push(r#"{"sync": {"count": 1}}"#.into());
        }
        steps.push(r#"{"delete": ["pool-wrap/wrap"]}"#.into());
        let text = format!(
            r#"{{"name": "{POOL_WRAP}", "description": "Generated for --pool {self}: one pod's infra container crashes {} times, one more than the pool's {} addresses and one to spare; a plugin that leaks a crashed container's address runs out, one that reclaims wraps.", "sync_interval_s": 10, "pods": [{{"namespace": "pool-wrap", "name": "wrap"}}], "steps": [{}]}}"#,
            self.cycles(),
            self.hosts(),
            steps.join(", ")
        );
        Scenario::parse(&text, std::path::Path::new("pool-wrap.json"))
            .expect("the generated pool-wrap scenario is valid")
    }
}

impl std::fmt::Display for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_wraps() {
        let p = Pool::parse("10.77.0.9/28").unwrap();
        assert_eq!(p.to_string(), "10.77.0.0/28");
        assert_eq!(p.hosts(), 14);
        assert!(p.contains("10.77.0.14") && !p.contains("10.77.0.16"));
        let s = p.scenario();
        assert_eq!(s.name, POOL_WRAP);
        for bad in [
            "10.0.0.0",
            "10.0.0.0/8",
            "x/24",
            "10.0.0.0/33",
            "10.0.0.0/31",
        ] {
            assert!(Pool::parse(bad).is_err(), "{bad}");
        }
    }
}
