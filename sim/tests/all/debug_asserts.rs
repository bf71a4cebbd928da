//! SPDK built with asserts (`TargetConfig::debug_asserts`, the differential harness's build):
//! v24.01's `assert(0)` in `spdk_nvmf_subsystem_destroy` when the target's shutdown destroys a
//! subsystem an in-flight `nvmf_delete_subsystem` is already destroying (subsystem.c:443) is a
//! crash; the release build (the default) returns -EALREADY and goes on; master has no assert.

use crate::{hunt, scenario};
use fabcheck_core::nvmf::{InvariantId, Spdk};
use fabcheck_sim::{run, Failure};

const SITE: &str = "spdk_nvmf_subsystem_destroy";

fn is_second_destroy_assert(f: &Option<Failure>) -> bool {
    matches!(f, Some(Failure::Safety(v))
        if v.invariant == InvariantId::LegalTransitions && v.site == SITE)
}

#[test]
fn v24_01_debug_builds_assert_on_a_second_destroy_and_release_builds_go_on() {
    // As released (`spdk-3273`: no STOP_LISTEN), so no H-10 ends the runs first.
    let mut debug = scenario("shutdown-under-load", &["spdk-3273"])
        .with_spdk(Spdk::V24_01.name())
        .unwrap();
    debug.debug_asserts = true;
    let r = hunt(debug.clone(), 2000);
    let f = r
        .failure
        .unwrap_or_else(|| panic!("no second destroy in {} runs", r.runs));
    assert!(is_second_destroy_assert(&f.failure), "{:?}", f.failure);
    let mut release = debug.clone();
    release.debug_asserts = false;
    assert!(!is_second_destroy_assert(
        &run(&release, &f.seed, false).failure
    ));
    let master = debug.with_spdk(Spdk::Master.name()).unwrap();
    let m = hunt(master, r.runs);
    assert!(!is_second_destroy_assert(
        &m.failure.and_then(|f| f.failure)
    ));
}
