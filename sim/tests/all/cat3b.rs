//! Catalogue issue II (#12), helper cat3b's entries: `spdk-3467` (`subsystem-recreate`, master
//! profile), `spdk-2055` (`teardown-race`) and `spdk-1819` (`qpair-teardown`). Found with its
//! switch on within a stated budget (runs of the scenario's default sweep), the shrunk story
//! names the invariant and the SPDK site, and the scenario is silent with every switch off in
//! both SPDK profiles (apart from the recorded hazard H-1 on `subsystem-recreate`).

use crate::catalogue_b::{found_and_shrunk, silent};
use fabcheck_core::nvmf::BugId;
use fabcheck_sim::scenario::builtin;
use fabcheck_sim::sweep::{sweep, SweepConfig};

#[test]
fn spdk_3467_found_by_subsystem_recreate() {
    found_and_shrunk("subsystem-recreate", BugId::Spdk3467, 300);
}

#[test]
fn subsystem_recreate_is_silent_with_every_switch_off() {
    silent("subsystem-recreate", 100);
}

#[test]
fn spdk_2055_found_by_teardown_race() {
    found_and_shrunk("teardown-race", BugId::Spdk2055, 300);
}

#[test]
fn spdk_1819_found_by_qpair_teardown() {
    found_and_shrunk("qpair-teardown", BugId::Spdk1819, 300);
}

#[test]
fn teardown_race_is_silent_with_every_switch_off() {
    silent("teardown-race", 100);
}

#[test]
fn qpair_teardown_is_silent_with_every_switch_off() {
    silent("qpair-teardown", 100);
}

/// The mark `peers.rs` lists as unreachable on the fixed core: the old teardown order alone
/// (`spdk-2055` without the 1819 read) frees a controller before an I/O qpair's fini, and
/// `qpair-teardown` reports nothing then (no namespace change, so 2055's read never runs).
#[test]
fn the_old_teardown_order_alone_reaches_the_late_fini_silently() {
    let sc = builtin("qpair-teardown")
        .unwrap()
        .with_bugs(&["spdk-2055".into()])
        .unwrap();
    let mut cfg = SweepConfig::new(sc, 300);
    cfg.determinism_every = 0;
    cfg.stop_on_failure = false;
    let r = sweep(&cfg, &|_| {});
    assert!(
        r.coverage.reached("poll_group_remove_after_ctrlr_free"),
        "{:?}",
        r.coverage
    );
    let found: Vec<String> = r
        .results
        .iter()
        .filter_map(|run| run.violation.as_ref().map(|v| format!("{}: {v}", run.seed)))
        .collect();
    assert_eq!(found, Vec::<String>::new());
}
