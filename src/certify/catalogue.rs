//! The checks catalogue: every check's definition (id, level, title, the kubelet behaviour that
//! makes it matter, the scenarios whose transcripts it judges, its judge), in report order. The
//! checks themselves live in [`checks`](super::checks), one file per category.

use super::Level;
use super::checks::{
    self, Ctx, Judgement, args, concurrency, crash_restart, exit_code, fds, idempotence, init,
    leak, lifecycle, output, status_json, timeout,
};
use crate::kubelet::Transcript;

pub use checks::ALL_SCENARIOS;

/// One check of the catalogue.
#[derive(Debug)]
pub struct CheckDef {
    pub id: &'static str,
    pub level: Level,
    pub title: &'static str,
    pub rationale: &'static str,
    /// The scenarios it judges: the runner replays them and hands exactly their transcripts to
    /// the judge, in this order.
    pub scenarios: &'static [&'static str],
    /// The judge also sees transcripts in which the kubelet refused to start (otherwise such a
    /// scenario leaves the check without evidence).
    pub judges_start: bool,
    pub judge: fn(&Ctx, &[&Transcript]) -> Judgement,
}

impl CheckDef {
    pub fn scenarios(&self) -> &'static [&'static str] {
        self.scenarios
    }

    pub fn category(&self) -> &'static str {
        self.id.split('/').next().unwrap_or(self.id)
    }
}

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
];

/// The SPEC 5 categories of the sim runtime, each a file of [`checks`].
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
];

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
                    ALL_SCENARIOS.contains(s),
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
    fn every_bundled_scenario_is_in_the_suite() {
        let bundled: BTreeSet<&str> = crate::certify::embedded::SCENARIOS
            .iter()
            .map(|(n, _)| *n)
            .collect();
        assert_eq!(bundled, ALL_SCENARIOS.iter().copied().collect());
    }
}
