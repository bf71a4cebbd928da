//! Pollers as objects (#10): `hunt` on built-in scenarios finds each planted poller slip
//! through P2 (no poller outlives its owner), and the fixed core is silent over the same runs.

use crate::{hunt, scenario};
use fabcheck_core::nvmf::planted::{Plant, Planted};
use fabcheck_core::nvmf::InvariantId;
use fabcheck_sim::{run, Failure, Scenario};

fn planted(name: &str, p: Plant) -> Scenario {
    let mut sc = scenario(name, &[]);
    sc.planted = Planted::one(p);
    sc
}

/// Hunts `p` on `name`: found as P2 within the default budget; the fixed core is silent on the
/// same seeds (all runs up to the finding, and the finding's own seed).
fn found_and_fixed_silent(name: &str, p: Plant, what: &str) {
    let r = hunt(planted(name, p), 300);
    let f = r
        .failure
        .unwrap_or_else(|| panic!("{p:?} not found on {name} in {} runs", r.runs));
    let Some(Failure::Safety(v)) = &f.failure else {
        panic!("expected P2, got {:?}", f.failure);
    };
    assert_eq!(v.invariant, InvariantId::P2, "{v}");
    assert!(v.detail.contains(what), "{v}");
    let fixed = scenario(name, &[]);
    assert_eq!(run(&fixed, &f.seed, false).failure, None, "{}", f.seed);
    let silent = hunt(fixed, r.runs);
    assert_eq!(silent.failure.map(|f| f.seed.to_string()), None);
    assert_eq!(silent.runs, r.runs);
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
