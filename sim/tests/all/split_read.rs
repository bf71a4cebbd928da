//! Reads split into steps (#10, docs/invariants.md "Reads split into steps"): a planted
//! re-read of another thread's object after a check is found by `hunt` on a built-in scenario,
//! which only the split of the handler at that read makes possible, and the fixed core is
//! silent over the same runs, in both SPDK profiles.

use crate::{planted_found_fixed_silent, scenario};
use fabcheck_core::nvmf::planted::Plant;
use fabcheck_core::nvmf::{InvariantId, Spdk};

#[test]
fn hunt_finds_an_admin_qpair_group_read_again_after_its_check() {
    for p in Spdk::ALL {
        let fixed = scenario("ka-lapse-reconnect", &[])
            .with_spdk(p.name())
            .unwrap();
        let v = planted_found_fixed_silent(&fixed, Plant::AdminGroupReread, 1000);
        assert_eq!(v.invariant, InvariantId::NoDanglingReference, "{v}");
        assert_eq!(v.site, "_nvmf_ctrlr_add_io_qpair", "{v}");
        // The check passed (the admin qpair was ACTIVE on a group) and the read after it finds
        // the group gone: another thread ran between the two halves of the handler.
        assert!(v.detail.starts_with("reads admin_qpair->group"), "{v}");
    }
}
