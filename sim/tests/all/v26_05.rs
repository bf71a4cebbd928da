//! The `v26.05` profile (docs/spdk-profiles.md, "The v26.05 profile"): the catalogue entries
//! that shipped in the v26.05 release (`also_shipped_in`) are found in it, with their switch
//! on, on the built-in scenario that finds them in master, at the entry's invariant.

use crate::{hunt_entry, scenario};
use fabcheck_core::nvmf::{BugId, Spdk};
use fabcheck_sim::world::Failure;

#[test]
fn bugs_that_shipped_in_v26_05_are_found_in_its_profile() {
    for (name, bug) in [
        ("namespace-churn", BugId::Spdk3738),
        ("aen-storm", BugId::SpdkAerInactiveQpair),
    ] {
        assert!(
            bug.entry().also_shipped_in.contains(&Spdk::V26_05),
            "{bug:?}"
        );
        let sc = scenario(name, &[bug.entry().name])
            .with_spdk("v26.05")
            .unwrap();
        let r = hunt_entry(sc, bug, 2000);
        let f = r
            .failure
            .unwrap_or_else(|| panic!("{bug:?} not found in v26.05 in {} runs", r.runs));
        let Some(Failure::Safety(v)) = f.failure else {
            panic!("{bug:?}: expected a safety violation, got {:?}", f.failure);
        };
        assert_eq!(v.invariant, bug.entry().invariant, "{v}");
    }
}
