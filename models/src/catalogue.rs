//! Exhaustive search per catalogue entry: for the `explore` column of `fabcheck bugs --check`
//! (states to first detection, shortest counterexample length).
//!
//! For each built-in scenario an entry names, the world is explored breadth-first with the
//! entry's switch on, under a state bound. The entry counts as found only when BFS stops on a
//! violation whose signature names the entry's site (another failure found first does not
//! count), so the length is the shortest story to that violation in that world.

use crate::nvmf::NvmfModel;
use crate::{check, CheckOptions, Outcome};
use fabcheck_core::nvmf::CatalogueEntry;
use fabcheck_sim::SeedString;

/// A state bound under which every built-in scenario small enough for the column completes or
/// detects in a few seconds.
pub const ENTRY_MAX_STATES: u64 = 100_000;

/// What BFS found for one catalogue entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryExplore {
    /// The scenario whose world gave the shortest counterexample.
    pub scenario: String,
    /// Unique states stored when the violation was found (the level is finished first).
    pub states_to_first: u64,
    /// Steps in the shortest counterexample.
    pub shortest_len: usize,
    /// The counterexample as a seed string `fabcheck replay` replays.
    pub seed: SeedString,
}

/// Explores `entry`'s scenarios with its switch on, at most `max_states` states each, on
/// `threads` threads (the result does not depend on it). `None` when no scenario is named,
/// none can be loaded, or none reaches the entry's violation within the bound.
pub fn explore_entry(
    entry: &CatalogueEntry,
    max_states: u64,
    threads: usize,
) -> Option<EntryExplore> {
    entry
        .scenarios
        .iter()
        .filter_map(|name| explore_scenario(entry, name, max_states, threads))
        .min_by_key(|f| (f.shortest_len, f.states_to_first))
}

fn explore_scenario(
    entry: &CatalogueEntry,
    name: &str,
    max_states: u64,
    threads: usize,
) -> Option<EntryExplore> {
    match explore_entry_on(entry, name, max_states, threads) {
        ScenarioVerdict::Found(f) => Some(f),
        _ => None,
    }
}

/// What BFS said about one entry on one of its scenarios (a cell of the `explore` column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScenarioVerdict {
    /// The entry's violation, at its site, with the shortest story to it.
    Found(EntryExplore),
    /// The whole bounded world was explored and no safety or liveness property failed.
    NotFound { states: u64 },
    /// Another violation was met first (BFS stops at the first level that has one).
    Other { states: u64, signature: String },
    /// A bound (states, or the scenario's step bounds) stopped the search: nothing proven.
    Incomplete { states: u64, why: String },
    /// The scenario does not load with the entry's switch on.
    Unavailable,
}

/// Explores `name`'s world with `entry`'s switch on, in the entry's SPDK profile
/// (`fabcheck_sim::catalogue::entry_world`), breadth-first, at most `max_states` states, on
/// `threads` threads (the verdict does not depend on it).
pub fn explore_entry_on(
    entry: &CatalogueEntry,
    name: &str,
    max_states: u64,
    threads: usize,
) -> ScenarioVerdict {
    let Ok(sc) = fabcheck_sim::catalogue::entry_world(entry, name) else {
        return ScenarioVerdict::Unavailable;
    };
    let model = NvmfModel::new(sc);
    let opts = CheckOptions {
        threads: threads.max(1),
        max_states: Some(max_states),
        ..CheckOptions::default()
    };
    let r = check(&model, &opts);
    let states = r.states;
    match r.outcome {
        Outcome::Incomplete(why) => ScenarioVerdict::Incomplete { states, why },
        Outcome::Verified | Outcome::Unreached(_) => ScenarioVerdict::NotFound { states },
        Outcome::Violated => {
            let Some(path) = r.violations.first().map(|v| &v.path) else {
                return ScenarioVerdict::Unavailable;
            };
            let signature = path
                .last()
                .failure()
                .map_or(String::new(), |f| f.signature());
            if !signature.contains(entry.site) {
                return ScenarioVerdict::Other { states, signature };
            }
            ScenarioVerdict::Found(EntryExplore {
                scenario: name.to_string(),
                states_to_first: states,
                shortest_len: path.len(),
                seed: model.seed_string(path.steps.iter().map(|s| &s.0)),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fabcheck_core::nvmf::BugId;

    #[test]
    fn spdk_3302_is_found_shortest_and_replays() {
        let e = explore_entry(BugId::Spdk3302.entry(), ENTRY_MAX_STATES, 2).expect("found");
        assert_eq!(e.scenario, "seed-3302");
        assert_eq!(e.shortest_len, 9);
        let one = explore_entry(BugId::Spdk3302.entry(), ENTRY_MAX_STATES, 1).expect("found");
        assert_eq!(one, e, "independent of the thread count");
        let sc =
            fabcheck_sim::catalogue::entry_world(BugId::Spdk3302.entry(), &e.scenario).unwrap();
        let run = fabcheck_sim::run(&sc, &e.seed, false);
        let f = run.failure.expect("the seed replays to a failure");
        assert!(f.signature().contains("free_aer"), "{f}");
    }

    #[test]
    fn a_bound_too_small_another_site_or_no_scenario_gives_none() {
        let e = BugId::Spdk3302.entry();
        assert_eq!(explore_entry(e, 50, 1), None);
        let elsewhere = CatalogueEntry {
            site: "a site the violation does not name",
            ..e.clone()
        };
        assert_eq!(explore_entry(&elsewhere, ENTRY_MAX_STATES, 1), None);
        let unnamed = CatalogueEntry {
            scenarios: &[],
            ..e.clone()
        };
        assert_eq!(explore_entry(&unnamed, ENTRY_MAX_STATES, 1), None);
    }

    #[test]
    fn per_scenario_verdicts_say_found_not_found_other_or_incomplete() {
        let e = BugId::Spdk3302.entry();
        let found = explore_entry_on(e, "seed-3302", ENTRY_MAX_STATES, 1);
        assert!(matches!(found, ScenarioVerdict::Found(ref f) if f.shortest_len == 9));
        let cut = explore_entry_on(e, "seed-3302", 50, 1);
        assert!(matches!(cut, ScenarioVerdict::Incomplete { ref why, .. }
            if why.contains("state bound")));
        let elsewhere = CatalogueEntry {
            site: "a site the violation does not name",
            ..e.clone()
        };
        let other = explore_entry_on(&elsewhere, "seed-3302", ENTRY_MAX_STATES, 1);
        assert!(matches!(other, ScenarioVerdict::Other { ref signature, .. }
            if signature.contains("free_aer")));
        assert_eq!(
            explore_entry_on(e, "no-such-scenario", 50, 1),
            ScenarioVerdict::Unavailable
        );
    }
}
