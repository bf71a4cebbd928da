//! Thread ownership of every access (I17, #10): `hunt` on a built-in scenario finds a planted
//! controller write made on a poll group instead of the controller's thread, and the fixed core
//! is silent over the same runs, in both SPDK profiles.

use crate::{hunt, scenario};
use fabcheck_core::nvmf::planted::{Plant, Planted};
use fabcheck_core::nvmf::{InvariantId, Spdk};
use fabcheck_sim::{run, Failure};

#[test]
fn hunt_finds_a_controller_field_written_on_a_poll_group() {
    for p in Spdk::ALL {
        let fixed = scenario("churn", &[]).with_spdk(p.name()).unwrap();
        let mut planted = fixed.clone();
        planted.planted = Planted::one(Plant::CtrlrMaskClearedOnGroup);
        let r = hunt(planted, 300);
        let f = r
            .failure
            .unwrap_or_else(|| panic!("not found on churn@{p} in {} runs", r.runs));
        let Some(Failure::Safety(v)) = &f.failure else {
            panic!("expected I17, got {:?}", f.failure);
        };
        assert_eq!(v.invariant, InvariantId::I17, "{v}");
        assert_eq!(v.site, "_nvmf_tcp_qpair_destroy", "{v}");
        assert!(v.detail.starts_with("controller written on pg"), "{v}");
        assert_eq!(run(&fixed, &f.seed, false).failure, None, "{}", f.seed);
        let silent = hunt(fixed, r.runs);
        assert_eq!(silent.failure.map(|f| f.seed.to_string()), None);
        assert_eq!(silent.runs, r.runs);
    }
}
