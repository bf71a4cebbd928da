//! The seed bug `spdk-3302`, scripted in both windows: with the switch on the exact order
//! reproduces the NULL-controller dereference in `free_aer`; with it off the same order
//! completes cleanly, quiesces, and frees everything.

use crate::nvmf::{
    BugId, BugSet, InvariantId, Mark, QpairState, RpcRequest, Spdk, SubState, TargetConfig,
    ThreadId,
};
use crate::testkit::pdu;
use crate::testkit::{config, trid, World, NQN};
use crate::testkit::{HOSTNQN, HOSTNQN_B};
use crate::time::Duration;

fn seed_config(bug: bool, spdk: Spdk) -> TargetConfig {
    let mut c = config();
    c.spdk = spdk;
    // v24.01 as released parks on the retry poller (`spdk-3095`), which window (a) needs.
    let mut bugs = BugSet([BugId::Spdk3095].into_iter().collect());
    if bug {
        bugs.0.insert(BugId::Spdk3302);
    }
    c.bugs = bugs;
    c
}

/// Window (a), v24.01: pause(S) is issued; the admin CONNECT is admitted on PG0 before the
/// pause reaches it and parks on the retry poller (still on `outstanding`, ctrlr NULL, qid 0);
/// the pause completes; `stop_listen_async(T, NULL)` disconnects the qpair.
fn window_a(bug: bool) -> World {
    window_a_with(bug, Spdk::V24_01)
}

fn window_a_with(bug: bool, spdk: Spdk) -> World {
    let mut w = World::new(seed_config(bug, spdk));
    w.expect_violation = bug;
    let c = w.accept(1);
    assert!(w.run(ThreadId::PollGroup(0)));
    w.send(c, &pdu::icreq());
    let pause = w.rpc(RpcRequest::PauseSubsystem {
        nqn: NQN.into(),
        nsid: 0,
    });
    assert_eq!(w.target.subsystem_state(NQN), Some(SubState::Pausing));
    w.send(c, &pdu::connect(1, 0, NQN, HOSTNQN, 0xFFFF, 0));
    assert_eq!(w.marked(Mark::ConnectParkedWhilePausing), 1, "{spdk:?}");
    w.run_all();
    assert!(w.rpc_ok(pause));
    assert_eq!(w.target.subsystem_state(NQN), Some(SubState::Paused));
    w.embedder_listen();
    w.rpc(RpcRequest::StopListenAsync {
        trid: trid(),
        nqn: None,
    });
    assert!(w.run(ThreadId::PollGroup(0)));
    w
}

#[test]
fn spdk_3302_window_a_crashes_in_free_aer_with_the_switch_on() {
    let w = window_a(true);
    let v = w.violation().expect("the seed bug must be found");
    assert_eq!(v.invariant, InvariantId::I1);
    assert_eq!(v.site, "free_aer");
    assert_eq!(v.thread, ThreadId::PollGroup(0));
    assert_eq!(w.target.check_invariants(), Err(v.clone()));
    assert!(
        w.target.enabled_events().is_empty(),
        "a crashed target is sticky"
    );
    assert_eq!(w.marked(Mark::StopListenMetQpairWithoutCtrlr), 1);
}

#[test]
fn spdk_3302_window_a_is_clean_with_the_switch_off() {
    let mut w = window_a(false);
    assert!(w.violation().is_none());
    assert_eq!(
        w.marked(Mark::FreeAerWithoutCtrlr),
        1,
        "the window was reached"
    );
    assert_eq!(
        w.target.qpair_state(crate::nvmf::ConnId(1)),
        Some(QpairState::Deactivating)
    );
    w.run_all();
    // v24.01's stop_listen re-polls the group until the disconnected qpair is gone.
    assert_eq!(w.marked(Mark::StopListenDone), 0);
    // The parked CONNECT gives up after 1 s with CONTROLLER_BUSY, in a handful of steps.
    let before = w.target_events.len();
    w.settle_until(w.now + Duration::from_secs(2));
    assert_eq!(w.marked(Mark::ConnectRetryGaveUp), 1);
    assert_eq!(w.marked(Mark::StopListenDone), 1);
    assert!(w.target_events.len() - before < 20);
    let c = crate::nvmf::ConnId(1);
    // Completed on a DEACTIVATING qpair: the TCP transport sends no response PDU.
    assert!(w.responses(c).is_empty());
    assert!(w.closed(c));
    assert_eq!(w.target.qpair_count(), 0);
    let id = w.rpc(RpcRequest::ResumeSubsystem { nqn: NQN.into() });
    w.run_all();
    assert!(w.rpc_ok(id));
    w.assert_quiescent();
    w.shutdown_and_check();
}

/// Window (b): a cntlid range of size 1; host B's admin CONNECT fails on the subsystem thread
/// (`qpair->ctrlr = NULL`, the error completion sent to PG1); the socket dies on PG1 first.
fn window_b(bug: bool, spdk: Spdk) -> World {
    let mut cfg = seed_config(bug, spdk);
    cfg.subsystems[0].max_cntlid = 1;
    let mut w = World::new(cfg);
    w.expect_violation = bug;
    let (_a, cqe) = w.connect_admin(1, HOSTNQN, 0);
    assert!(cqe.status.is_success());
    let b = w.accept(2);
    assert!(w.run(ThreadId::PollGroup(1)));
    w.send(b, &pdu::icreq());
    w.send(b, &pdu::connect(1, 0, NQN, HOSTNQN_B, 0xFFFF, 0));
    assert!(w.run(ThreadId::App), "_nvmf_subsystem_add_ctrlr");
    assert_eq!(w.marked(Mark::CtrlrAddFailed), 1);
    assert_eq!(
        w.target.queued_messages(ThreadId::PollGroup(1)),
        vec!["_nvmf_request_complete"]
    );
    w.input(crate::nvmf::Input::PeerClosed { conn: b });
    w
}

#[test]
fn spdk_3302_window_b_crashes_in_free_aer_with_the_switch_on() {
    for spdk in [Spdk::V24_01, Spdk::Master] {
        let w = window_b(true, spdk);
        let v = w.violation().expect("the second window must be found");
        assert_eq!(
            (v.invariant, v.site.as_str()),
            (InvariantId::I1, "free_aer")
        );
        assert_eq!(v.thread, ThreadId::PollGroup(1));
    }
}

#[test]
fn spdk_3302_window_b_is_clean_with_the_switch_off() {
    let mut w = window_b(false, Spdk::Master);
    assert!(w.violation().is_none());
    assert_eq!(w.marked(Mark::FreeAerWithoutCtrlr), 1);
    w.run_all();
    let b = crate::nvmf::ConnId(2);
    assert!(w.closed(b));
    assert!(
        w.responses(b).is_empty(),
        "a dead connection gets no response"
    );
    assert_eq!(w.target.qpair_count(), 1, "host A stays");
    w.shutdown_and_check();
}

/// At HEAD (queue mode, and the v24.01.x backport `0276a8e631`) the parked CONNECT leaves
/// `qpair->outstanding`, so even without the guard window (a) is closed: the qpair is destroyed
/// at once and the queued CONNECT is freed with it.
#[test]
fn spdk_3302_window_a_is_closed_by_queue_mode_even_with_the_switch_on() {
    let mut w = window_a_with(true, Spdk::Master);
    assert!(w.violation().is_none());
    assert_eq!(
        w.marked(Mark::FreeAerWithoutCtrlr),
        0,
        "no request outstanding"
    );
    w.run_all();
    assert!(w.closed(crate::nvmf::ConnId(1)));
    assert_eq!(
        w.target.request_count(),
        0,
        "the queued CONNECT was freed with its qpair"
    );
    let id = w.rpc(RpcRequest::ResumeSubsystem { nqn: NQN.into() });
    w.run_all();
    assert!(w.rpc_ok(id));
    w.expect_violation = false;
    w.shutdown_and_check();
}
