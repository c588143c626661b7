//! The checks catalogue: every check's definition (id, level, title, the kubelet behaviour that
//! makes it matter, the scenarios whose transcripts it judges, its judge), in report order. The
//! checks themselves live in [`checks`](super::checks), one file per category; the catalogue
//! imports them and they never import it (a new check is a constant in its file and a line here).

use super::checks::{
    self, args, concurrency, crash_restart, exit_code, fds, idempotence, init, leak, lifecycle,
    output, status_json, timeout,
};

use super::network;

pub use checks::CheckDef;

pub use checks::ALL_SCENARIOS;

/// The catalogue, in report order.
pub static CATALOGUE: &[CheckDef] = &[
    init::SELECTION,
    init::RESTART,
    args::LONG_NAMES,
    args::SWAPPED_STATUS,
    exit_code::SUCCESS,
    exit_code::SIGNAL,
    fds::STDIO_ONLY,
    status_json::PARSES,
    status_json::IP_PRESENT,
    status_json::IP_VALID,
    status_json::KIND_VERSION,
    status_json::NO_STATUS_ERROR_FOR_LIVE_POD,
    checks::not_set_up::NOT_SET_UP,
    lifecycle::SETUP_STATUS_TEARDOWN,
    lifecycle::STABLE_IP,
    lifecycle::DISTINCT_IPS,
    crash_restart::SETUP_NEW_ID,
    crash_restart::RECLAIM,
    idempotence::REPEATED_TEARDOWN,
    concurrency::PARALLEL_SETUP,
    timeout::WITHIN_LIMIT,
    timeout::P99,
    leak::OUTPUT_PIPE,
    leak::PROCESS_GROUP,
    output::SMALL,
    output::SINGLE_DOCUMENT,
    network::ADDRESS_IN_POD,
    network::UNIQUE_ADDRESS,
    network::POD_ANSWERS,
    network::TEARDOWN_LEAVES_NOTHING,
    network::CRASH_RECOVERY,
    network::STATUS_FOR_LIVE_POD,
];

/// The docs/cli.md §5 categories, each a file of [`checks`], and `network` (netns only, judged on the
/// network lifecycle).
pub const CATEGORIES: &[&str] = &[
    "init",
    "args",
    "exit-code",
    "fds",
    "status-json",
    "lifecycle",
    "crash-restart",
    "idempotence",
    "concurrency",
    "timeout",
    "leak",
    "output",
    "network",
];

/// The checks that also judge a vendor's own scenarios (`certify --scenario FILE`,
/// `--scenarios DIR`, and `replay` of a scenario file): those whose judgement holds for any
/// pod lifecycle. Latency (`timeout/p99`) is left out: it depends on the machine, not on the
/// scenario.
pub const VENDOR_JUDGES: &[&str] = &[
    "exit-code/success",
    "exit-code/signal",
    "fds/stdio-only",
    "status-json/parses",
    "status-json/ip-present",
    "status-json/ip-valid",
    "status-json/no-status-error-for-live-pod",
    "lifecycle/stable-ip",
    "lifecycle/distinct-ips",
    "crash-restart/setup-new-id",
    "idempotence/repeated-teardown",
    "timeout/within-limit",
    "leak/output-pipe",
    "leak/process-group",
    "output/small",
];

/// Whether `def` judges the scenario `name`: one it names, or a vendor's scenario (a name not
/// in the suite) when it is one of [`VENDOR_JUDGES`].
pub fn judges_scenario(def: &CheckDef, name: &str) -> bool {
    def.scenarios().contains(&name)
        || (!ALL_SCENARIOS.contains(&name) && VENDOR_JUDGES.contains(&def.id))
}

/// The check with this id.
pub fn by_id(id: &str) -> Option<&'static CheckDef> {
    CATALOGUE.iter().find(|c| c.id == id)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn ids_are_unique_and_use_the_spec_categories() {
        let mut seen = BTreeSet::new();
        for c in CATALOGUE {
            assert!(seen.insert(c.id), "duplicate id {}", c.id);
            assert!(
                CATEGORIES.contains(&c.category()),
                "{} has an unknown category",
                c.id
            );
            assert!(!c.scenarios().is_empty(), "{} judges no scenario", c.id);
            for s in c.scenarios() {
                assert!(
                    ALL_SCENARIOS.contains(s) || *s == network::LIFECYCLE,
                    "{} judges unknown scenario {s}",
                    c.id
                );
            }
        }
        for cat in CATEGORIES {
            assert!(
                CATALOGUE.iter().any(|c| c.category() == *cat),
                "no check in {cat}"
            );
        }
    }

    #[test]
    fn the_network_checks_are_netns_only_and_last() {
        let netns: Vec<&str> = CATALOGUE
            .iter()
            .filter(|c| c.runtimes() == ["netns"])
            .map(|c| c.id)
            .collect();
        assert_eq!(netns, network::check_ids());
        let n = network::CHECKS.len();
        let last: Vec<&str> = CATALOGUE[CATALOGUE.len() - n..]
            .iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(last, netns, "the network checks are the catalogue's last");
    }

    #[test]
    fn vendor_judges_are_checks() {
        for id in VENDOR_JUDGES {
            assert!(by_id(id).is_some(), "{id} is no check");
        }
    }

    #[test]
    fn every_bundled_scenario_is_in_the_suite() {
        let bundled: BTreeSet<&str> = crate::certify::embedded::SCENARIOS
            .iter()
            .map(|(n, _)| *n)
            .collect();
        assert_eq!(bundled, ALL_SCENARIOS.iter().copied().collect());
    }
}
