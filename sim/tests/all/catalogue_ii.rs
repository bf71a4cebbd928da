//! Catalogue issue II (#12): each entry is found with its switch on within a stated budget
//! (runs of the scenario's default sweep), its shrunk story names the invariant and the SPDK
//! site, and its scenario is silent with every switch off in both SPDK profiles.

use crate::catalogue_b::{found_and_shrunk, silent};
use fabcheck_core::nvmf::BugId;

#[test]
fn spdk_paused_deactivate_found_by_operator_sequences() {
    found_and_shrunk("operator-sequences", BugId::SpdkPausedDeactivate, 100);
}

#[test]
fn spdk_double_destruct_found_by_operator_sequences() {
    found_and_shrunk("operator-sequences", BugId::SpdkDoubleDestruct, 100);
}

#[test]
fn operator_sequences_is_silent_with_every_switch_off() {
    silent("operator-sequences", 100);
}

#[test]
fn spdk_1552_found_by_aen_storm() {
    found_and_shrunk("aen-storm", BugId::Spdk1552, 100);
}

#[test]
fn spdk_2215_found_by_aen_storm() {
    found_and_shrunk("aen-storm", BugId::Spdk2215, 100);
}

/// The master profile: the AER aen-storm's second host sends behind its CONNECT meets the
/// qpair still CONNECTING with its controller bound.
#[test]
fn spdk_aer_inactive_qpair_found_by_aen_storm() {
    found_and_shrunk("aen-storm", BugId::SpdkAerInactiveQpair, 100);
}

#[test]
fn aen_storm_is_silent_with_every_switch_off() {
    silent("aen-storm", 100);
}
