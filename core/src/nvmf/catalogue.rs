//! The bug catalogue: real SPDK bugs that can be switched back on (`TargetConfig::bugs`), each
//! with its SPDK fix commit, issue, the scenario that reaches it and the invariant it breaks.
//! With every switch off the core is the fixed SPDK and the checker must report nothing.

use super::{BugId, InvariantId, Spdk};
use serde::Serialize;

/// One catalogue entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatalogueEntry {
    pub id: BugId,
    /// Stable name, e.g. "spdk-3302" (the `--bug` argument).
    pub name: &'static str,
    /// SPDK commit that fixed it.
    pub fix_commit: &'static str,
    /// SPDK GitHub issue.
    pub issue: &'static str,
    /// Last release with the bug / first release with the fix.
    pub last_buggy: &'static str,
    pub first_fixed: &'static str,
    pub invariant: InvariantId,
    /// The violation site the core reports.
    pub site: &'static str,
    /// The profile the bug lived in (its scenarios run in it).
    pub spdk: Spdk,
    pub summary: &'static str,
    /// How to reach it.
    pub scenario: &'static str,
}

static CATALOGUE: &[CatalogueEntry] = &[
    CatalogueEntry {
        id: BugId::Spdk3302,
        name: "spdk-3302",
        fix_commit: "6c23277d0a0da4ce2a67501434b7ec0339c361cb",
        issue: "https://github.com/spdk/spdk/issues/3302",
        last_buggy: "v24.01",
        first_fixed: "v24.05",
        invariant: InvariantId::I1,
        site: "free_aer",
        spdk: Spdk::V24_01,
        summary: "nvmf_qpair_free_aer dereferences a NULL controller: every pre-CONNECT qpair has \
              qid 0, so it 'is the admin queue', and the guard on qpair->ctrlr was missing",
        scenario:
            "(a) retry mode: pause(S) reaches the PG after an admin CONNECT to S was admitted \
               and parked on qpair->outstanding; stop_listen_async(T, NULL) disconnects the \
               qpair. (b) cntlid range exhausted: _nvmf_subsystem_add_ctrlr fails, sets \
               qpair->ctrlr = NULL and sends the error completion; a disconnect on the PG runs \
               first",
    },
    CatalogueEntry {
        id: BugId::Spdk3738,
        name: "spdk-3738",
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
        scenario: "I/O to ns 2 in flight; pause(ns 1) leaves the group PAUSED; a second remove \
                   (pause(ns 2)) is queued behind it and completes without draining ns 2",
    },
];

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

    /// This bug's catalogue entry.
    pub fn entry(self) -> &'static CatalogueEntry {
        CATALOGUE
            .iter()
            .find(|e| e.id == self)
            .expect("every BugId has a catalogue entry")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bug_has_an_entry_and_round_trips_by_name() {
        for e in catalogue() {
            assert_eq!(BugId::from_name(e.name), Some(e.id));
            assert_eq!(e.id.entry().fix_commit.len(), 40);
        }
        assert_eq!(BugId::Spdk3302.name(), "spdk-3302");
        assert_eq!(BugId::from_name("spdk-0000"), None);
    }
}
