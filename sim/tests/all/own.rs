//! Thread ownership of every access (I17, #10): `hunt` on a built-in scenario finds a planted
//! controller write made on a poll group instead of the controller's thread, and the fixed core
//! is silent over the same runs, in both SPDK profiles.

use crate::{planted_found_fixed_silent, scenario};
use fabcheck_core::nvmf::planted::Plant;
use fabcheck_core::nvmf::{InvariantId, Spdk};

#[test]
fn hunt_finds_a_controller_field_written_on_a_poll_group() {
    for p in Spdk::ALL {
        let fixed = scenario("churn", &[]).with_spdk(p.name()).unwrap();
        let v = planted_found_fixed_silent(&fixed, Plant::CtrlrMaskClearedOnGroup, 300);
        assert_eq!(v.invariant, InvariantId::I17, "{v}");
        assert_eq!(v.site, "_nvmf_tcp_qpair_destroy", "{v}");
        assert!(v.detail.starts_with("controller written on pg"), "{v}");
    }
}
