//! A handler split at a cross-thread read (docs/invariants.md, "Reads split into steps"):
//! `_nvmf_ctrlr_add_io_qpair` checks the admin qpair, the admin qpair's poll group removes it
//! before the handler's second step, which then sends with the group it read (cc2f6634b7).
//! The planted re-read of `admin_qpair->group` (v24.01's code) crashes there instead.

use crate::nvmf::planted::{Plant, Planted};
use crate::nvmf::{Input, InvariantId, Mark, Spdk, TargetConfig, ThreadId};
use crate::testkit::{config, World, HOSTNQN};

fn config_for(spdk: Spdk, planted: bool) -> TargetConfig {
    let mut c = TargetConfig { spdk, ..config() };
    if planted {
        c.planted = Planted::one(Plant::AdminGroupReread);
    }
    c
}

/// Runs the window: the I/O CONNECT's check on the subsystem thread, then the admin
/// connection's close and teardown on pg0, then the handler's second step.
fn admin_gone_between_the_halves(spdk: Spdk, planted: bool) -> World {
    let mut w = World::new(config_for(spdk, planted));
    let (admin, cntlid) = w.connect_enabled(1, HOSTNQN);
    let io = w.start_connect(2, HOSTNQN, cntlid, 1);
    let pg = w.target.qpair_thread(io).expect("on a poll group");
    while w.target.queued_messages(ThreadId::App).is_empty() {
        assert!(w.run(pg), "the I/O CONNECT reaches the subsystem thread");
    }
    assert!(w.run(ThreadId::App), "the check");
    assert_eq!(
        w.target.queued_messages(ThreadId::App),
        ["_nvmf_ctrlr_add_io_qpair:send"]
    );
    w.input(Input::PeerClosed { conn: admin });
    let admin_pg = ThreadId::PollGroup(0);
    while w.run(admin_pg) {}
    w.expect_violation = planted;
    assert!(w.run(ThreadId::App), "the second step");
    w
}

#[test]
fn the_second_step_sends_with_the_group_the_check_read() {
    for spdk in Spdk::ALL {
        let mut w = admin_gone_between_the_halves(spdk, false);
        assert!(w.violation().is_none(), "{spdk}: {:?}", w.violation());
        w.run_all();
        // nvmf_ctrlr_add_io_qpair on the controller thread re-checks and refuses it.
        assert_eq!(w.marked(Mark::IoConnectAccepted), 0, "{spdk}");
        assert_eq!(w.marked(Mark::IoConnectRejected), 1, "{spdk}");
        assert!(w.violation().is_none(), "{spdk}: {:?}", w.violation());
    }
}

#[test]
fn reading_the_group_again_after_the_check_is_found() {
    for spdk in Spdk::ALL {
        let w = admin_gone_between_the_halves(spdk, true);
        let v = w.violation().expect("the re-read crashes").clone();
        assert_eq!(v.invariant, InvariantId::NoDanglingReference, "{v}");
        assert_eq!(v.site, "_nvmf_ctrlr_add_io_qpair", "{v}");
        assert!(v.detail.starts_with("reads admin_qpair->group"), "{v}");
    }
}
