//! The bug catalogue, the one list of real SPDK bugs the core can switch back on
//! (`TargetConfig::bugs`). Each entry says where SPDK fixed it, which releases had it, the
//! invariant and site it breaks, and the built-in scenarios that reach it; the `BugId` enum is
//! generated from the same list, so adding a bug is one entry here plus the `self.bug(..)` guard
//! at the SPDK site (docs/adding-a-bug.md). The simulator, `fabcheck bugs` and the README read
//! this list. With every switch off the core is the fixed SPDK and the checker must report
//! nothing.

use super::{InvariantId, Spdk};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One catalogue entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatalogueEntry {
    pub id: BugId,
    /// Stable name, e.g. "spdk-3302" (the `--bug` argument).
    pub name: &'static str,
    /// One line: what goes wrong.
    pub title: &'static str,
    /// SPDK commit that fixed it (full hash).
    pub fix_commit: &'static str,
    /// SPDK GitHub issue.
    pub issue: &'static str,
    /// Last release with the bug / first release with the fix.
    pub last_buggy: &'static str,
    pub first_fixed: &'static str,
    pub invariant: InvariantId,
    /// The violation site the core reports.
    pub site: &'static str,
    /// The SPDK profile the bug lived in (its scenarios run in it).
    pub spdk: Spdk,
    /// What the bug is, in SPDK's terms.
    pub summary: &'static str,
    /// The interleavings that reach it.
    pub window: &'static str,
    /// Built-in scenarios (sim/scenarios/NAME.toml) that find it with the switch on.
    pub scenarios: &'static [&'static str],
}

impl CatalogueEntry {
    /// The short fix commit (10 hex digits), as SPDK's changelogs print it.
    pub fn short_fix(&self) -> &'static str {
        &self.fix_commit[..10]
    }
}

/// Declares `BugId` and the catalogue table from one list, so they cannot disagree.
macro_rules! catalogue {
    ($( $(#[$doc:meta])* $id:ident { $($field:ident : $value:expr),* $(,)? } )*) => {
        /// A catalogue bug that can be switched back on.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum BugId {
            $( $(#[$doc])* $id, )*
        }

        static CATALOGUE: &[CatalogueEntry] = &[
            $( CatalogueEntry { id: BugId::$id, $($field: $value),* }, )*
        ];
    };
}

catalogue! {
    /// `free_aer` without the `ctrlr` guard (SPDK #3302).
    Spdk3302 {
        name: "spdk-3302",
        title: "free_aer dereferences a NULL controller",
        fix_commit: "6c23277d0a0da4ce2a67501434b7ec0339c361cb",
        issue: "https://github.com/spdk/spdk/issues/3302",
        last_buggy: "v24.01",
        first_fixed: "v24.05",
        invariant: InvariantId::I1,
        site: "free_aer",
        spdk: Spdk::V24_01,
        summary: "nvmf_qpair_free_aer dereferences a NULL controller: every pre-CONNECT qpair \
                  has qid 0, so it 'is the admin queue', and the guard on qpair->ctrlr was \
                  missing",
        window: "(a) retry mode: pause(S) reaches the PG after an admin CONNECT to S was \
                 admitted and parked on qpair->outstanding; stop_listen_async(T, NULL) \
                 disconnects the qpair. (b) cntlid range exhausted: _nvmf_subsystem_add_ctrlr \
                 fails, sets qpair->ctrlr = NULL and sends the error completion; a disconnect \
                 on the PG runs first",
        scenarios: &["seed-3302", "seed-3302-ctrlr-add-fail"],
    }
    /// A namespace pause of an already PAUSED poll group skips the drain (SPDK #3738).
    Spdk3738 {
        name: "spdk-3738",
        title: "a second namespace pause skips the drain",
        fix_commit: "d123762feb9e247f05c1c5e42845ac8eb0899dc9",
        issue: "https://github.com/spdk/spdk/issues/3738",
        last_buggy: "v26.05",
        first_fixed: "master",
        invariant: InvariantId::I7,
        site: "_nvmf_request_complete",
        spdk: Spdk::V24_01,
        summary: "a namespace pause of a subsystem already PAUSED returns at once (state-change \
                  fast path and poll-group early return), so the namespace is removed with I/O \
                  in flight and its counter is dropped under that I/O",
        window: "I/O to ns 2 in flight; pause(ns 1) leaves the group PAUSED; a second remove \
                 (pause(ns 2)) is queued behind it and completes without draining ns 2 (found \
                 by a core test; no built-in scenario reaches it yet)",
        scenarios: &[],
    }
}

/// Every catalogue entry.
pub fn catalogue() -> &'static [CatalogueEntry] {
    CATALOGUE
}

impl BugId {
    /// The stable name, e.g. "spdk-3302".
    pub fn name(self) -> &'static str {
        self.entry().name
    }

    /// Looks a bug up by its stable name.
    pub fn from_name(name: &str) -> Option<BugId> {
        CATALOGUE.iter().find(|e| e.name == name).map(|e| e.id)
    }

    /// This bug's catalogue entry (the macro gives every variant one, in declaration order).
    pub fn entry(self) -> &'static CatalogueEntry {
        &CATALOGUE[self as usize]
    }
}

/// The set of catalogue bugs switched on (empty = the fixed core).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct BugSet(pub BTreeSet<BugId>);

impl BugSet {
    pub fn has(&self, bug: BugId) -> bool {
        self.0.contains(&bug)
    }

    /// The switch names, sorted by id.
    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|b| b.name()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bug_has_an_entry_and_round_trips_by_name() {
        for (i, e) in catalogue().iter().enumerate() {
            assert_eq!(e.id as usize, i, "entries are in declaration order");
            assert_eq!(BugId::from_name(e.name), Some(e.id));
            assert_eq!(e.id.entry(), e);
            assert_eq!(e.fix_commit.len(), 40);
            assert!(e.fix_commit.chars().all(|c| c.is_ascii_hexdigit()));
            // An entry either names the built-in scenarios that find it or says plainly that
            // none does yet (its detection is then a core test only).
            assert!(
                !e.scenarios.is_empty() || e.window.contains("no built-in scenario reaches it"),
                "{} names no scenario",
                e.name
            );
        }
        assert_eq!(BugId::Spdk3302.name(), "spdk-3302");
        assert_eq!(BugId::Spdk3302.entry().short_fix(), "6c23277d0a");
        assert_eq!(BugId::from_name("spdk-0000"), None);
    }

    #[test]
    fn names_are_unique() {
        let names: BTreeSet<&str> = catalogue().iter().map(|e| e.name).collect();
        assert_eq!(names.len(), catalogue().len());
    }
}
