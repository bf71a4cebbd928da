//! Catalogue issue II, thread/poll-group lifetime and disconnect callbacks (cat3a):
//! `spdk-2765` is found on `shutdown-under-load` within a stated budget with a shrunk story
//! naming I16 and `_nvmf_tgt_disconnect_next_qpair`; with every switch off the scenario is
//! silent in both profiles apart from the recorded I15 hazards H-8 and H-9 (SPDK's shutdown
//! lets a KATO-0 controller's thread exit under its draining I/O qpair).

use crate::catalogue_b::found_and_shrunk;
use crate::{hunt, scenario};
use fabcheck_core::nvmf::{BugId, Spdk};

#[test]
fn spdk_2765_found_by_shutdown_under_load() {
    found_and_shrunk("shutdown-under-load", BugId::Spdk2765, 300);
}

/// SPDK #3273, which no scenario was written for: v24.01 as released keeps listening while
/// its shutdown destroys the poll groups (found in a median of about 100 runs).
#[test]
fn spdk_3273_found_by_shutdown_under_load() {
    found_and_shrunk("shutdown-under-load", BugId::Spdk3273, 1000);
}

/// SPDK #1850 with v21.01's shapes put back: a subsystem stop done while its qpairs'
/// teardown round trip is in flight, and the shutdown's poll-group threads exiting under it.
#[test]
fn spdk_1850_found_by_shutdown_under_load() {
    found_and_shrunk("shutdown-under-load", BugId::Spdk1850, 300);
}

/// Silent in both profiles (hazards aside); every required mark reached in both (since the
/// shutdown runs each profile's own FINI states, v24.01's destroy walk meets qpairs still
/// tearing down too).
#[test]
fn shutdown_under_load_is_silent_with_every_switch_off() {
    for spdk in Spdk::ALL {
        let sc = scenario("shutdown-under-load", &[])
            .with_spdk(spdk.name())
            .unwrap();
        let r = hunt(sc, 300);
        if let Some(f) = &r.failure {
            panic!(
                "shutdown-under-load@{spdk} fixed core failed: {} ({})",
                f.failure.as_ref().unwrap(),
                f.replay_seed()
            );
        }
        assert!(
            r.missing.is_empty(),
            "{spdk}: never reached {:?}",
            r.missing
        );
        assert!(r.nondeterminism.is_empty(), "{:?}", r.nondeterminism);
    }
}
