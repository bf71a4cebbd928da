//! Catalogue issue II (#12), helper cat3b's entries: `spdk-3467` (`subsystem-recreate`, master
//! profile). Found with its switch on within a stated budget (runs of the scenario's default
//! sweep), the shrunk story names the invariant and the SPDK site, and the scenario is silent
//! with every switch off in both SPDK profiles (apart from the recorded hazard H-1).

use crate::catalogue_b::{found_and_shrunk, silent};
use fabcheck_core::nvmf::BugId;

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
fn spdk_1819_found_by_teardown_race() {
    found_and_shrunk("teardown-race", BugId::Spdk1819, 300);
}

#[test]
fn teardown_race_is_silent_with_every_switch_off() {
    silent("teardown-race", 100);
}
