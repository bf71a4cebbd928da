//! Catalogue issue II (#12), helper cat4b's entry: `spdk-3208` on `queue-full-teardown`
//! (v24.01 profile, zero-copy send, 4 request slots per qpair). Found with the switch on within
//! a stated budget, the shrunk story names I1 and `_nvmf_tcp_qpair_destroy`, and the scenario
//! is silent with every switch off in both SPDK profiles, reaching its required marks (a
//! capsule waited in AWAIT_REQ, a pending write was aborted at close).

use crate::catalogue_b::{found_and_shrunk, silent};
use fabcheck_core::nvmf::BugId;

#[test]
fn spdk_3208_found_by_queue_full_teardown() {
    found_and_shrunk("queue-full-teardown", BugId::Spdk3208, 100);
}

#[test]
fn queue_full_teardown_is_silent_with_every_switch_off() {
    silent("queue-full-teardown", 200);
}
