//! Profile behaviours the first profile tests (`profiles.rs`) left unpinned: the v24.01 CONNECT
//! retry poller answering a parked I/O CONNECT once the subsystem is ACTIVE again (the core
//! side of the churn@v24.01 liveness finding, whose cause was the simulator's time-jump rule,
//! docs/spdk-profiles.md), the admin half of an nsid 0 pause, and master's DESTROY_PENDING on
//! a plain delete. Each test is named after the SPDK behaviour it pins.

use crate::nvmf::{Input, Mark, RpcRequest, Spdk, SubState, ThreadId, Timer};
use crate::testkit::{config_for, pdu, World, HOSTNQN, NQN};
use crate::time::Duration;
use crate::wire::status;

/// v24.01 `nvmf_ctrlr_cmd_connect`: an I/O CONNECT that passes the (still ACTIVE) sgroup gate
/// while the subsystem is already PAUSING stays on `qpair->outstanding` with a 100 us
/// `retry_connect` poller; after the resume the next tick re-runs the handler, which now
/// proceeds and answers. The poller is due within one period of the resume (the model's
/// time-jump rule may not push it further), so a scheduler that lets every due poller run
/// before time passes it sees the answer.
#[test]
fn v24_01_retry_poller_answers_a_parked_io_connect_after_resume() {
    // v24.01 as released: the retry poller is catalogue entry spdk-3095.
    let mut cfg = config_for(Spdk::V24_01);
    cfg.bugs = crate::nvmf::BugSet([crate::nvmf::BugId::Spdk3095].into_iter().collect());
    let mut w = World::new(cfg);
    let (_, cntlid) = w.connect_enabled(1, HOSTNQN);
    let io = w.accept(2);
    w.run_all();
    w.send(io, &pdu::icreq());
    w.run_all();
    let pause = w.rpc(RpcRequest::PauseSubsystem {
        nqn: NQN.into(),
        nsid: 0,
    });
    w.run(ThreadId::App);
    assert_eq!(w.target.subsystem_state(NQN), Some(SubState::Pausing));
    w.send(io, &pdu::connect(1, 1, NQN, HOSTNQN, cntlid, 0));
    w.run_all();
    assert!(w.rpc_ok(pause));
    assert_eq!(w.marked(Mark::ConnectParked), 1);
    assert!(w.responses(io).is_empty(), "parked, not answered");
    w.resume();
    let retry = Timer::ConnectRetry { conn: io };
    let due = w
        .target
        .armed_timers()
        .into_iter()
        .find(|(t, _)| *t == retry);
    let (_, at) = due.expect("the retry poller is still armed after the resume");
    assert!(
        at <= w.now + Duration::from_micros(100),
        "due within one period: {at:?}"
    );
    w.fire(retry);
    w.run_all();
    let r = w.responses(io);
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(r[0].status.is_success(), "{r:?}");
    assert_eq!(r[0].cdw0 as u16, cntlid);
    w.shutdown_and_check();
}

/// `nvmf_check_subsystem_active`: admin commands are gated on the sgroup state, so an nsid 0
/// pause (listener add/remove, resize) queues them until the resume while namespace I/O keeps
/// flowing (`pause_nsid_0_leaves_namespace_io_flowing` pins the I/O half).
#[test]
fn pause_nsid_0_queues_admin_commands_until_resume() {
    for (spdk, mut w) in World::per_profile(config_for) {
        let (admin, _) = w.connect_enabled(1, HOSTNQN);
        w.pause(0);
        assert_eq!(w.target.subsystem_state(NQN), Some(SubState::Paused));
        w.send(admin, &pdu::keep_alive(5));
        w.run_all();
        assert!(w.responses(admin).is_empty(), "{spdk}: queued while PAUSED");
        w.resume();
        let r = w.responses(admin);
        assert_eq!(r.len(), 1, "{spdk}: {r:?}");
        assert_eq!((r[0].cid, r[0].status), (5, status::SUCCESS), "{spdk}");
        w.shutdown_and_check();
    }
}

/// master `rpc_nvmf_delete_subsystem` -> `spdk_nvmf_subsystem_stop_for_destroy`: the subsystem
/// is DESTROY_PENDING from the request on, so a state change requested behind the delete fails
/// with -ENODEV and never runs on the freed subsystem; v24.01's `changing_state` CAS refuses it
/// with -EBUSY.
#[test]
fn delete_stops_for_destroy_and_refuses_later_state_changes() {
    for (spdk, mut w) in World::per_profile(config_for) {
        let (admin, _) = w.connect_enabled(1, HOSTNQN);
        let del = w.rpc(RpcRequest::DeleteSubsystem { nqn: NQN.into() });
        let pause = w.rpc(RpcRequest::PauseSubsystem {
            nqn: NQN.into(),
            nsid: 0,
        });
        w.run_all();
        let code = w.rpc_results[&pause].as_ref().map_err(|e| e.code).err();
        let want = if spdk != Spdk::V24_01 { -19 } else { -16 };
        assert_eq!(
            code,
            Some(want),
            "{spdk}: ENODEV (v26.05, master) / EBUSY (v24.01)"
        );
        w.input(Input::PeerClosed { conn: admin });
        w.settle_until(w.now + Duration::from_secs(20));
        assert!(w.rpc_ok(del), "{spdk}: {:?}", w.rpc_results.get(&del));
        assert_eq!(w.target.subsystem_count(), 0, "{spdk}");
        assert!(w.violation().is_none(), "{spdk}: {:?}", w.violation());
        w.shutdown_and_check();
    }
}
