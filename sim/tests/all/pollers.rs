//! Pollers as objects (#10): `hunt` on built-in scenarios finds each planted poller slip
//! through P2 (no poller outlives its owner), and the fixed core is silent over the same runs.

use crate::{planted_found_fixed_silent, scenario};
use fabcheck_core::nvmf::planted::Plant;
use fabcheck_core::nvmf::InvariantId;

/// Hunts `p` on `name`: found as P2 within the default budget; the fixed core is silent on the
/// same seeds (all runs up to the finding, and the finding's own seed).
fn found_and_fixed_silent(name: &str, p: Plant, what: &str) {
    let v = planted_found_fixed_silent(&scenario(name, &[]), p, 300);
    assert_eq!(v.invariant, InvariantId::P2, "{v}");
    assert!(v.detail.contains(what), "{v}");
}

#[test]
fn hunt_finds_a_keep_alive_poller_left_registered_at_free() {
    found_and_fixed_silent(
        "reset-under-io",
        Plant::KeepAliveNotStoppedAtFree,
        "KeepAlive",
    );
}

#[test]
fn hunt_finds_an_association_timer_armed_twice() {
    found_and_fixed_silent("churn", Plant::AssociationTimerArmedTwice, "Association");
}
