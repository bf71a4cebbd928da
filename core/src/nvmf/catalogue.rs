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
    /// The SPDK releases that had the bug, in words ("v22.01 .. v23.01"; a bug that never
    /// reached a release says so). Empty: "up to `last_buggy`".
    pub versions: &'static str,
    /// What the profile is with this switch off, and what the switch puts back: a bug native
    /// to the profile (the profile *is* the buggy release; off = that release plus the fix) or
    /// one re-introduced (it lived before the profile's version; on = the pre-fix code).
    pub profile_note: &'static str,
    /// Entries this one switches on with it, because its windows need their behaviour (e.g.
    /// `spdk-3302` window (a) needs v24.01's retry parking, which is `spdk-3095`).
    pub requires: &'static [BugId],
    /// Further SPDK sites the same switch puts back (the first is `site`).
    pub more_sites: &'static [&'static str],
    /// Other profiles whose SPDK release shipped the bug, when `spdk` (the profile it is
    /// detected in) is not the only one; the differential harness switches it on there.
    pub also_shipped_in: &'static [Spdk],
}

impl CatalogueEntry {
    /// Defaults for the optional fields (the macro fills `id`).
    const DEFAULTS: CatalogueEntry = CatalogueEntry {
        id: BugId::Spdk3302,
        name: "",
        title: "",
        fix_commit: "",
        issue: "",
        last_buggy: "",
        first_fixed: "",
        invariant: InvariantId::I1,
        site: "",
        spdk: Spdk::V24_01,
        summary: "",
        window: "",
        scenarios: &[],
        versions: "",
        profile_note: "",
        requires: &[],
        more_sites: &[],
        also_shipped_in: &[],
    };

    /// The releases with the bug, as the table prints them.
    pub fn affected_versions(&self) -> String {
        if self.versions.is_empty() {
            format!("up to {}", self.last_buggy)
        } else {
            self.versions.to_string()
        }
    }

    /// Every site the switch breaks, `site` first.
    pub fn sites(&self) -> impl Iterator<Item = &'static str> {
        std::iter::once(self.site).chain(self.more_sites.iter().copied())
    }
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
            $( CatalogueEntry { id: BugId::$id, $($field: $value,)* ..CatalogueEntry::DEFAULTS }, )*
        ];
    };
}

// The list itself, one entry per bug in the order of the `BugId` variants (append only), in
// two files: the second defines the macro the first invokes.
include!("catalogue_list_ii.rs");
include!("catalogue_list.rs");

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
    /// Whether `bug` is on: switched on itself, or required by a switch that is (a bug whose
    /// windows need another entry's behaviour brings it along, `CatalogueEntry::requires`).
    pub fn has(&self, bug: BugId) -> bool {
        self.0.contains(&bug) || self.0.iter().any(|b| b.entry().requires.contains(&bug))
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
