//! The catalogue of real SPDK bugs the core can re-introduce behind a switch, as the simulator
//! and the `fabcheck bugs` command name them (`--bug spdk-3302`).

use fabcheck_core::nvmf::{BugId, BugSet, Spdk};

/// One catalogue entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BugInfo {
    pub id: BugId,
    /// The switch name, e.g. "spdk-3302".
    pub name: &'static str,
    pub fix_commit: &'static str,
    pub issue: &'static str,
    /// The SPDK profile the bug lived in (its scenarios run in it).
    pub spdk: Spdk,
    /// Built-in scenarios that reach it.
    pub scenarios: &'static [&'static str],
    /// The invariant and site it breaks.
    pub breaks: &'static str,
    pub summary: &'static str,
}

/// Every catalogue entry.
pub const CATALOGUE: &[BugInfo] = &[
    BugInfo {
        id: BugId::Spdk3302,
        name: "spdk-3302",
        fix_commit: "6c23277d0a (v24.05)",
        issue: "spdk/spdk#3302",
        spdk: Spdk::V24_01,
        scenarios: &["seed-3302", "seed-3302-ctrlr-add-fail"],
        breaks: "I1 at free_aer",
        summary: "free_aer dereferences a NULL controller when a qpair with a parked or failed \
              admin CONNECT is disconnected (stop_listen_async without subsystem)",
    },
    BugInfo {
        id: BugId::Spdk3738,
        name: "spdk-3738",
        fix_commit: "d123762feb (after v26.05)",
        issue: "spdk/spdk#3738",
        spdk: Spdk::V24_01,
        scenarios: &[],
        breaks: "I7 at _nvmf_request_complete",
        summary:
            "a namespace pause of an already PAUSED subsystem skips the drain, so a namespace \
              is removed with I/O in flight and its counter is dropped under that I/O",
    },
];

/// Looks a switch name up.
pub fn by_name(name: &str) -> Option<&'static BugInfo> {
    CATALOGUE.iter().find(|b| b.name == name)
}

/// The entry of a bug id.
pub fn by_id(id: BugId) -> &'static BugInfo {
    CATALOGUE
        .iter()
        .find(|b| b.id == id)
        .expect("every BugId has a catalogue entry")
}

/// The switch names of a bug set, sorted.
pub fn names(bugs: &BugSet) -> Vec<&'static str> {
    bugs.0.iter().map(|&b| by_id(b).name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ids_agree() {
        for b in CATALOGUE {
            assert_eq!(by_name(b.name), Some(b));
            assert_eq!(by_id(b.id).name, b.name);
        }
        assert!(by_name("spdk-0000").is_none());
        for b in CATALOGUE {
            assert_eq!(b.id.name(), b.name, "agrees with the core's catalogue");
        }
        assert_eq!(
            CATALOGUE.len(),
            fabcheck_core::nvmf::catalogue::catalogue().len()
        );
    }
}
