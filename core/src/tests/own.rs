//! Thread ownership of every access (I17, ownership.rs): a controller field written on an I/O
//! qpair's poll group is found at the handler that wrote it; the fixed core is silent on the
//! same story; the other invariants do not see the slip.

use crate::nvmf::planted::{Plant, Planted};
use crate::nvmf::{Input, InvariantId, TargetConfig, ThreadId};
use crate::testkit::{config, World, HOSTNQN};

/// An enabled controller (admin qpair on pg0) with an I/O qpair on pg1, then the I/O
/// connection closes.
fn io_qpair_closed(cfg: TargetConfig) -> World {
    let mut w = World::new(cfg);
    let (_admin, io) = w.enabled_with_io(HOSTNQN);
    w.expect_violation = true;
    w.input(Input::PeerClosed { conn: io });
    w.run_all();
    w
}

fn planted(off: bool) -> TargetConfig {
    TargetConfig {
        planted: Planted::one(Plant::CtrlrMaskClearedOnGroup),
        ownership_check_off: off,
        ..config()
    }
}

#[test]
fn a_controller_field_written_on_a_poll_group_breaks_i17() {
    let w = io_qpair_closed(planted(false));
    let v = w.target.violation().expect("I17 found").clone();
    assert_eq!(v.invariant, InvariantId::I17, "{v}");
    assert_eq!(v.site, "_nvmf_tcp_qpair_destroy", "{v}");
    assert_eq!(v.thread, ThreadId::PollGroup(1), "{v}");
    let want = "controller written on pg1 but owned by pg0 (model: core/src/nvmf/qpair_fini.rs:";
    assert!(v.detail.starts_with(want), "{v}");
    assert_eq!(v.handles.len(), 1, "{v}");
    assert!(v.handles[0].starts_with("controller#"), "{v}");
}

#[test]
fn the_fixed_core_is_silent_on_the_same_story() {
    let mut w = io_qpair_closed(config());
    assert_eq!(w.target.check_invariants(), Ok(()));
    w.expect_violation = false;
    w.shutdown_and_check();
}

#[test]
fn without_the_ownership_check_the_slip_goes_unseen() {
    let mut w = io_qpair_closed(planted(true));
    assert_eq!(w.target.check_invariants(), Ok(()));
    w.expect_violation = false;
    w.shutdown_and_check();
}
