//! Each flow's edge cases; after each, invariants hold (checked at every step by the harness)
//! and a shutdown reaches quiescence with every object freed.

use crate::nvmf::{
    BugId, BugSet, ConnId, Input, InvariantId, Mark, QpairState, RpcRequest, Spdk, SubState,
    TargetConfig, ThreadId, Timer, Trid,
};
use crate::testkit::pdu;
use crate::testkit::{config, subsystem, trid, World, NQN};
use crate::testkit::{HOSTNQN, HOSTNQN_B};
use crate::time::Duration;
use crate::wire::{status, Pdu};

#[test]
fn connect_to_a_paused_subsystem_is_queued_and_replayed_on_resume() {
    let mut w = World::new(config());
    w.pause(0);
    let c = w.start_connect(1, HOSTNQN, 0xFFFF, 0);
    w.run_all();
    assert!(w.responses(c).is_empty(), "parked");
    assert_eq!(w.target.armed_timers(), vec![], "queue mode arms no poller");
    w.resume();
    assert_eq!(w.marked(Mark::ConnectReplayedOnResume), 1);
    assert!(w.responses(c)[0].status.is_success());
    w.shutdown_and_check();
}

#[test]
fn connect_in_retry_mode_parks_while_pausing_and_connects_after_resume() {
    let mut cfg = config();
    cfg.spdk = Spdk::V24_01;
    cfg.bugs = BugSet([BugId::Spdk3095].into_iter().collect());
    let mut w = World::new(cfg);
    let c = w.accept(1);
    w.run_all();
    w.send(c, &pdu::icreq());
    let p = w.rpc(RpcRequest::PauseSubsystem {
        nqn: NQN.into(),
        nsid: 0,
    });
    w.send(c, &pdu::connect(1, 0, NQN, HOSTNQN, 0xFFFF, 0));
    w.run_all();
    assert!(w.rpc_ok(p));
    let retry = Timer::ConnectRetry { conn: c };
    let (t, at) = w.target.armed_timers()[0];
    assert_eq!(t, retry);
    assert_eq!(
        at.as_nanos(),
        1_000_100_000,
        "time jumps to the give-up while paused"
    );
    w.skip(Duration::from_millis(300));
    w.resume();
    let (_, at) = w.target.armed_timers()[0];
    assert_eq!(
        at.as_nanos(),
        300_100_000,
        "due at the next 100 us tick once active"
    );
    w.fire(retry);
    w.run_all();
    assert!(w.responses(c)[0].status.is_success());
    w.shutdown_and_check();
}

#[test]
fn connect_to_an_already_paused_subsystem_queues_in_both_modes() {
    for spdk in [Spdk::V24_01, Spdk::Master] {
        let mut cfg = config();
        cfg.spdk = spdk;
        let mut w = World::new(cfg);
        w.pause(0);
        let c = w.start_connect(1, HOSTNQN, 0xFFFF, 0);
        w.run_all();
        assert!(
            w.target.armed_timers().is_empty(),
            "sgroup->queued, no poller"
        );
        w.resume();
        assert!(w.responses(c)[0].status.is_success());
        w.shutdown_and_check();
    }
}

#[test]
fn connect_from_a_host_not_allowed_is_rejected() {
    let mut cfg = config();
    cfg.subsystems[0].allow_any_host = false;
    cfg.subsystems[0].hosts = vec![HOSTNQN.to_string()];
    let mut w = World::new(cfg);
    let (_, ok) = w.connect_admin(1, HOSTNQN, 0);
    assert!(ok.status.is_success());
    let (_, bad) = w.connect_admin(2, HOSTNQN_B, 0);
    assert_eq!(bad.status, status::CONNECT_INVALID_HOST);
    w.shutdown_and_check();
}

#[test]
fn connect_on_a_trid_the_subsystem_does_not_listen_on_is_rejected() {
    let mut cfg = config();
    let other = Trid::tcp("127.0.0.1", 4421);
    cfg.listeners.push(other.clone());
    let mut w = World::new(cfg);
    let c = ConnId(1);
    w.input(Input::Accept {
        trid: other,
        conn: c,
    });
    w.run_all();
    w.send(c, &pdu::icreq());
    w.send(c, &pdu::connect(1, 0, NQN, HOSTNQN, 0xFFFF, 0));
    w.run_all();
    assert_eq!(w.responses(c)[0].status, status::CONNECT_INVALID_HOST);
    w.shutdown_and_check();
}

#[test]
fn cntlid_exhaustion_fails_the_connect_without_leaking_a_controller() {
    let mut cfg = config();
    cfg.subsystems[0].max_cntlid = 1;
    let mut w = World::new(cfg);
    let (_, a) = w.connect_admin(1, HOSTNQN, 0);
    assert!(a.status.is_success());
    let (b, cqe) = w.connect_admin(2, HOSTNQN_B, 0);
    assert_eq!(cqe.status, status::INTERNAL_DEVICE_ERROR);
    assert_eq!(w.target.ctrlr_count(), 1);
    assert_eq!(w.target.qpair_state(b), Some(QpairState::Connecting));
    w.input(Input::PeerClosed { conn: b });
    w.run_all();
    assert_eq!(w.target.qpair_count(), 1);
    w.shutdown_and_check();
}

#[test]
fn keep_alive_expiry_disconnects_every_qpair_of_the_controller() {
    let mut w = World::new(config());
    let (a, cqe) = w.connect_admin(1, HOSTNQN, 10_000);
    let cntlid = cqe.cdw0 as u16;
    w.send(a, &pdu::prop_set_cc(2, pdu::CC_ENABLE));
    w.run_all();
    let (io, _) = w.connect_io(2, HOSTNQN, cntlid, 1);
    w.skip(Duration::from_secs(6));
    w.send(a, &pdu::keep_alive(3));
    w.run_all();
    let _ = cntlid;
    let ka = keep_alive_timer(&w);
    let (_, at) = w
        .target
        .armed_timers()
        .into_iter()
        .find(|(t, _)| *t == ka)
        .unwrap();
    // The poller runs every KATO (10 s) from its registration; the Keep Alive at 6 s moves the
    // deadline to 16 s, so the first run that can expire it is the one at 20 s.
    assert_eq!(
        at.as_nanos(),
        20_000_000_000,
        "Keep Alive refreshed the deadline"
    );
    w.fire(ka);
    w.run_all();
    assert_eq!(w.marked(Mark::KeepAliveExpired), 1);
    assert!(w.closed(a) && w.closed(io));
    assert_eq!((w.target.qpair_count(), w.target.ctrlr_count()), (0, 0));
    w.shutdown_and_check();
}

#[test]
fn cc_reset_disconnects_io_queues_and_clears_the_registers() {
    let mut w = World::new(config());
    let (a, cntlid) = w.connect_enabled(1, HOSTNQN);
    let (io1, _) = w.connect_io(2, HOSTNQN, cntlid, 1);
    let (io2, _) = w.connect_io(3, HOSTNQN, cntlid, 2);
    w.send(io1, &pdu::write(5, 1, 0, vec![1; 512], true));
    w.send(a, &pdu::prop_set_cc(4, 0));
    w.run_all();
    assert!(w.closed(io1) && w.closed(io2));
    assert_eq!(w.marked(Mark::CcReset), 1);
    assert_eq!(
        w.marked(Mark::CcRepolled),
        1,
        "the I/O qpairs were still being destroyed"
    );
    w.settle_until(w.now + Duration::from_millis(100));
    w.send(a, &pdu::prop_get(6, crate::wire::prop::CSTS));
    w.run_all();
    assert_eq!(
        w.responses(a).last().unwrap().cdw0,
        0,
        "CSTS cleared after the reset"
    );
    let (_, cqe) = w.connect_io(4, HOSTNQN, cntlid, 1);
    assert_eq!(
        cqe.status,
        status::CONNECT_INVALID_PARAMETERS,
        "no I/O queue while CC.EN = 0 (SPDK_NVMF_INVALID_CONNECT_CMD(rsp, qid))"
    );
    let assoc = w.target.armed_timers();
    assert!(assoc
        .iter()
        .any(|(t, _)| matches!(t, Timer::Association { .. })));
    w.settle_until(w.now + Duration::from_secs(121));
    assert_eq!(w.marked(Mark::AssociationExpired), 1);
    assert!(w.closed(a));
    assert_eq!(
        w.target.qpair_count(),
        1,
        "only the rejected I/O qpair is left"
    );
    w.shutdown_and_check();
}

/// Qpairs in every state on one trid: pre-ICReq, post-ICReq, CONNECT parked (queue mode),
/// enabled admin, enabled I/O.
fn every_state(w: &mut World) -> [ConnId; 5] {
    let (admin, cntlid) = w.connect_enabled(1, HOSTNQN);
    let (io, _) = w.connect_io(2, HOSTNQN, cntlid, 1);
    let fresh = w.accept(3);
    w.run_all();
    let ic = w.accept(4);
    w.run_all();
    w.send(ic, &pdu::icreq());
    w.pause(0);
    let parked = w.start_connect(5, HOSTNQN_B, 0xFFFF, 0);
    w.run_all();
    [admin, io, fresh, ic, parked]
}

#[test]
fn stop_listen_with_a_subsystem_spares_qpairs_without_a_controller() {
    let mut w = World::new(config());
    let [admin, io, fresh, ic, parked] = every_state(&mut w);
    w.embedder_listen();
    let id = w.rpc(RpcRequest::StopListenAsync {
        trid: trid(),
        nqn: Some(NQN.into()),
    });
    w.run_all();
    assert!(w.rpc_ok(id));
    assert!(w.closed(admin) && w.closed(io));
    assert!(!w.closed(fresh) && !w.closed(ic) && !w.closed(parked));
    w.resume();
    assert!(
        w.responses(parked)[0].status.is_success(),
        "the parked CONNECT still connects"
    );
    w.shutdown_and_check();
}

#[test]
fn stop_listen_without_a_subsystem_disconnects_every_qpair_on_the_trid() {
    let mut w = World::new(config());
    let conns = every_state(&mut w);
    let id = w.rpc(RpcRequest::StopListenAsync {
        trid: trid(),
        nqn: None,
    });
    w.run_all();
    assert!(w.rpc_ok(id));
    assert!(conns.iter().all(|c| w.closed(*c)));
    assert_eq!(w.target.qpair_count(), 0);
    // The subsystem listener still holds a reference: new connections are accepted...
    let late = w.accept(9);
    assert!(!w.closed(late));
    w.input(Input::PeerClosed { conn: late });
    // ...until the last reference is dropped.
    let id = w.rpc(RpcRequest::StopListenAsync {
        trid: trid(),
        nqn: None,
    });
    w.run_all();
    assert!(w.rpc_ok(id));
    let refused = ConnId(10);
    w.input(Input::Accept {
        trid: trid(),
        conn: refused,
    });
    assert!(
        w.closed(refused),
        "no listener left after the last reference"
    );
    // The subsystem listener stays, pointing at the freed transport listener: nvmf_tgt's
    // STOP_LISTEN reads its trid unchecked (NULL since dfdd45beeb), H-13.
    w.resume();
    w.expect_violation = true;
    w.rpc(RpcRequest::Shutdown);
    w.run_all();
    let v = w
        .violation()
        .expect("STOP_LISTEN reads the freed listener's trid");
    assert_eq!(
        (v.invariant, v.site.as_str()),
        (InvariantId::I1, "nvmf_tgt_stop_listen")
    );
}

#[test]
fn remove_listener_rpc_pauses_stops_listening_and_resumes() {
    let mut w = World::new(config());
    let (a, _) = w.connect_enabled(1, HOSTNQN);
    let id = w.rpc(RpcRequest::SubsystemRemoveListener {
        nqn: NQN.into(),
        trid: trid(),
    });
    w.run_all();
    assert!(w.rpc_ok(id));
    assert!(w.closed(a));
    assert_eq!(w.target.subsystem_state(NQN), Some(SubState::Active));
    let (_, cqe) = w.connect_admin(2, HOSTNQN, 0);
    assert_eq!(
        cqe.status,
        status::CONNECT_INVALID_HOST,
        "listener no longer allowed"
    );
    w.shutdown_and_check();
}

#[test]
fn pause_with_io_outstanding_waits_for_the_drain() {
    let mut w = World::new(config());
    let (_a, cntlid) = w.connect_enabled(1, HOSTNQN);
    let (io, _) = w.connect_io(2, HOSTNQN, cntlid, 1);
    w.send(io, &pdu::write(5, 1, 0, vec![9; 512], true));
    let ios = w.target.pending_device_ios();
    assert_eq!(ios.len(), 1);
    let id = w.rpc(RpcRequest::PauseSubsystem {
        nqn: NQN.into(),
        nsid: 1,
    });
    while w.run(ThreadId::PollGroup(0)) || w.run(ThreadId::PollGroup(1)) || w.run(ThreadId::App) {}
    assert!(!w.rpc_ok(id), "pause waits for the write");
    assert_eq!(w.marked(Mark::PauseWaitedForDrain), 1);
    w.send(io, &pdu::read(6, 1, 0, 1));
    assert_eq!(
        w.target.pending_device_ios().len(),
        1,
        "new I/O is queued while pausing"
    );
    w.input(Input::Complete(ios[0]));
    w.run_all();
    assert!(w.rpc_ok(id));
    assert_eq!(w.responses(io).len(), 1);
    w.resume();
    let pdus = w.recv(io);
    assert!(
        matches!(&pdus[0], Pdu::C2HData(d) if d.data == vec![9; 512]),
        "replayed read: {pdus:?}"
    );
    w.shutdown_and_check();
}

#[test]
fn subsystem_delete_with_live_controllers_disconnects_them_first() {
    let mut w = World::new(config());
    let (a, cntlid) = w.connect_enabled(1, HOSTNQN);
    let (io, _) = w.connect_io(2, HOSTNQN, cntlid, 1);
    w.send(a, &pdu::aer(9));
    let id = w.rpc(RpcRequest::DeleteSubsystem { nqn: NQN.into() });
    w.run_all();
    assert!(w.rpc_ok(id));
    assert!(w.closed(a) && w.closed(io));
    assert_eq!((w.target.subsystem_count(), w.target.ctrlr_count()), (0, 0));
    let again = w.rpc(RpcRequest::DeleteSubsystem { nqn: NQN.into() });
    assert_eq!(w.rpc_results[&again].as_ref().unwrap_err().code, -2);
    w.shutdown_and_check();
}

#[test]
fn shutdown_with_everything_live() {
    let mut cfg = config();
    let mut second = subsystem();
    second.nqn = "nqn.2016-06.io.spdk:cnode2".into();
    cfg.subsystems.push(second);
    let mut w = World::new(cfg);
    let [_, io, ..] = every_state(&mut w);
    w.send(io, &pdu::write(5, 1, 0, vec![3; 512], true));
    w.shutdown_and_check();
}

#[test]
fn malformed_pdu_gets_a_termreq_and_a_close() {
    let mut w = World::new(config());
    let c = w.accept(1);
    w.run_all();
    w.input(Input::Bytes {
        conn: c,
        data: vec![0x04, 0, 72, 0, 8, 0, 0, 0],
    });
    w.run_all();
    assert!(matches!(w.recv(c).first(), Some(Pdu::C2HTermReq(_))));
    assert!(w.closed(c));
    assert_eq!(w.target.qpair_count(), 0);
    w.shutdown_and_check();
}

#[test]
fn rpcs_answer_once_with_clear_errors() {
    let mut w = World::new(config());
    let e = |w: &World, id| w.rpc_results[&id].as_ref().unwrap_err().code;
    let id = w.rpc(RpcRequest::PauseSubsystem {
        nqn: "nqn.nope".into(),
        nsid: 0,
    });
    assert_eq!(e(&w, id), -2);
    // `spdk_nvmf_transport_stop_listen_async` walks the poll groups first;
    // `nvmf_stop_listen_fini` finds no listener and answers -ENOENT.
    let id = w.rpc(RpcRequest::StopListenAsync {
        trid: Trid::tcp("10.0.0.1", 1),
        nqn: None,
    });
    assert!(!w.rpc_results.contains_key(&id), "answered before the walk");
    w.run_all();
    assert_eq!(e(&w, id), -2);
    let id = w.rpc(RpcRequest::CreateSubsystem(subsystem()));
    assert_eq!(e(&w, id), -17);
    let id = w.rpc(RpcRequest::DisconnectQpair { conn: ConnId(77) });
    assert_eq!(e(&w, id), -2);
    let stop = w.rpc(RpcRequest::StopSubsystem { nqn: NQN.into() });
    w.run_all();
    assert!(w.rpc_ok(stop));
    let id = w.rpc(RpcRequest::PauseSubsystem {
        nqn: NQN.into(),
        nsid: 0,
    });
    assert_eq!(e(&w, id), -16, "an INACTIVE subsystem cannot pause");
    let a = w.rpc(RpcRequest::StartSubsystem { nqn: NQN.into() });
    let b = w.rpc(RpcRequest::PauseSubsystem {
        nqn: NQN.into(),
        nsid: 0,
    });
    let c = w.rpc(RpcRequest::ResumeSubsystem { nqn: NQN.into() });
    assert_eq!(w.marked(Mark::StateChangeQueued), 2);
    w.run_all();
    assert!(w.rpc_ok(a) && w.rpc_ok(b) && w.rpc_ok(c));
    assert_eq!(w.target.subsystem_state(NQN), Some(SubState::Active));
    w.shutdown_and_check();
    let late = w.rpc(RpcRequest::GetSubsystems);
    assert_eq!(e(&w, late), -108);
}

#[test]
fn namespace_remove_with_io_outstanding_drains_first() {
    let mut w = World::new(config());
    let (_a, cntlid) = w.connect_enabled(1, HOSTNQN);
    let (io, _) = w.connect_io(2, HOSTNQN, cntlid, 1);
    w.send(io, &pdu::read(5, 1, 0, 1));
    let id = w.rpc(RpcRequest::RemoveNamespace {
        nqn: NQN.into(),
        nsid: 1,
    });
    w.run_all();
    assert!(w.rpc_ok(id));
    assert!(w.responses(io)[0].status.is_success());
    w.send(io, &pdu::read(6, 1, 0, 1));
    w.run_all();
    assert_eq!(w.responses(io)[0].status, status::INVALID_NAMESPACE);
    w.shutdown_and_check();
}

#[test]
fn busy_re_polls_wait_without_spinning() {
    let mut w = World::new(config());
    let (_a, cntlid) = w.connect_enabled(1, HOSTNQN);
    let (io, _) = w.connect_io(2, HOSTNQN, cntlid, 1);
    w.send(io, &pdu::write(5, 1, 0, vec![1; 512], true));
    let stop = w.rpc(RpcRequest::StopSubsystem { nqn: NQN.into() });
    let mut steps = 0;
    while let Some(e) = w
        .target
        .enabled_events()
        .into_iter()
        .find(|e| matches!(e.input, Input::Run(_)))
    {
        w.input(e.input);
        steps += 1;
    }
    assert!(steps < 40, "re-polls must park, not spin ({steps} steps)");
    assert!(!w.rpc_ok(stop), "the stop waits for the write to drain");
    let stuck = w.target.quiescence_report().stuck;
    assert!(
        stuck
            .iter()
            .any(|s| s.contains("nvmf_poll_group_remove_subsystem_msg")),
        "{stuck:?}"
    );
    w.run_all();
    assert!(w.rpc_ok(stop));
    assert_eq!(w.target.ctrlr_count(), 0);
    w.shutdown_and_check();
}

#[test]
fn a_second_connect_on_a_connected_qpair_is_an_invalid_opcode() {
    let mut w = World::new(config());
    let (a, _) = w.connect_enabled(1, HOSTNQN);
    w.send(a, &pdu::connect(7, 0, NQN, HOSTNQN, 0xFFFF, 0));
    w.run_all();
    assert_eq!(w.responses(a)[0].status, status::INVALID_OPCODE);
    assert_eq!(w.target.ctrlr_count(), 1);
    w.shutdown_and_check();
}

/// Peer scenario (KATO racing an I/O CONNECT): keep-alive expiry disconnects the admin qpair while an I/O
/// CONNECT is between hops. FIFO on the ctrlr thread orders `nvmf_ctrlr_add_io_qpair` before
/// the final `_nvmf_ctrlr_destruct`, so the CONNECT is re-validated and rejected, never a crash.
#[test]
fn keep_alive_expiry_during_an_io_connect_rejects_it_cleanly() {
    for app_first in [true, false] {
        let mut w = World::new(config());
        let (a, cqe) = w.connect_admin(1, HOSTNQN, 10_000);
        let cntlid = cqe.cdw0 as u16;
        w.send(a, &pdu::prop_set_cc(2, pdu::CC_ENABLE));
        w.run_all();
        let io = w.start_connect(2, HOSTNQN, cntlid, 1);
        assert_eq!(
            w.target.queued_messages(ThreadId::App),
            vec!["_nvmf_ctrlr_add_io_qpair"]
        );
        if app_first {
            // Both halves of the handler (split after its read of the admin qpair).
            assert!(w.run(ThreadId::App));
            assert!(w.run(ThreadId::App));
        }
        w.fire(keep_alive_timer(&w));
        // Let the expiry fan-out and the admin qpair's teardown run before the app thread.
        while w.run(ThreadId::PollGroup(0)) || w.run(ThreadId::PollGroup(1)) {}
        w.run_all();
        assert_eq!(w.marked(Mark::KeepAliveExpired), 1);
        assert!(w.closed(a));
        let (accepted, rejected) = (
            w.marked(Mark::IoConnectAccepted),
            w.marked(Mark::IoConnectRejected),
        );
        if app_first {
            assert_eq!(
                (accepted, rejected),
                (1, 0),
                "connected just before the expiry"
            );
        } else {
            assert_eq!((accepted, rejected), (0, 1), "re-validated after the hop");
            assert!(!w.responses(io)[0].status.is_success());
        }
        assert_eq!(w.target.ctrlr_count(), 0);
        w.shutdown_and_check();
    }
}

#[test]
fn add_listener_pauses_adds_and_resumes_and_the_new_trid_accepts_connects() {
    let mut w = World::new(config());
    let (a, _) = w.connect_enabled(1, HOSTNQN);
    let t2 = Trid::tcp("127.0.0.1", 4421);
    let id = w.rpc(RpcRequest::SubsystemAddListener {
        nqn: NQN.into(),
        trid: t2.clone(),
    });
    w.run_all();
    assert!(w.rpc_ok(id));
    assert_eq!(
        (
            w.marked(Mark::SubsystemPaused),
            w.marked(Mark::SubsystemResumed)
        ),
        (1, 1)
    );
    assert!(!w.closed(a), "existing qpairs survive the pause");
    let dup = w.rpc(RpcRequest::SubsystemAddListener {
        nqn: NQN.into(),
        trid: t2.clone(),
    });
    w.run_all();
    // master: found in the paused callback, refused, then resumed (listener_rpcs.rs).
    assert_eq!(w.rpc_results[&dup].as_ref().unwrap_err().code, -17);
    let c = ConnId(2);
    w.input(Input::Accept { trid: t2, conn: c });
    w.run_all();
    w.send(c, &pdu::icreq());
    w.send(c, &pdu::connect(1, 0, NQN, HOSTNQN_B, 0xFFFF, 0));
    w.run_all();
    assert!(w.responses(c)[0].status.is_success());
    w.shutdown_and_check();
}

#[test]
fn stop_and_start_a_subsystem_with_a_connected_host() {
    let mut w = World::new(config());
    let (a, _) = w.connect_enabled(1, HOSTNQN);
    let stop = w.rpc(RpcRequest::StopSubsystem { nqn: NQN.into() });
    w.run_all();
    assert!(w.rpc_ok(stop));
    assert!(w.closed(a));
    assert_eq!(w.target.subsystem_state(NQN), Some(SubState::Inactive));
    let (b, _) = {
        let c = w.start_connect(2, HOSTNQN, 0xFFFF, 0);
        w.run_all();
        (c, ())
    };
    assert!(w.responses(b).is_empty(), "queued while INACTIVE");
    let start = w.rpc(RpcRequest::StartSubsystem { nqn: NQN.into() });
    w.run_all();
    assert!(w.rpc_ok(start));
    // SPDK drops requests left in sgroup->queued when the group is added again, unanswered;
    // the liveness report names the lost answer.
    assert!(
        w.responses(b).is_empty(),
        "not replayed when the subsystem starts"
    );
    let stuck = w.target.quiescence_report().stuck;
    assert!(
        stuck.iter().any(|l| l.contains("never answered")),
        "{stuck:?}"
    );
    w.input(Input::PeerClosed { conn: b });
    w.run_all();
    assert_eq!(w.target.qpair_count(), 0);
}

#[test]
fn remove_host_disconnects_that_hosts_qpairs_only() {
    let mut w = World::new(config());
    let (a, ca) = w.connect_enabled(1, HOSTNQN);
    let (io, _) = w.connect_io(2, HOSTNQN, ca, 1);
    let (b, _) = w.connect_enabled(3, HOSTNQN_B);
    let id = w.rpc(RpcRequest::AddHost {
        nqn: NQN.into(),
        hostnqn: HOSTNQN.into(),
    });
    assert!(w.rpc_ok(id));
    let id = w.rpc(RpcRequest::RemoveHost {
        nqn: NQN.into(),
        hostnqn: HOSTNQN.into(),
        timeout_ms: 0,
    });
    assert!(!w.rpc_ok(id), "answered after the walk");
    w.run_all();
    // master (the default profile) answers once a 5 ms poll finds no controller of the host
    // left (`nvmf_subsystem_disconnect_host_poll`); the walk alone does not answer.
    assert!(!w.rpc_ok(id), "answered by the poller, not the walk");
    assert!(w.closed(a) && w.closed(io) && !w.closed(b));
    w.fire(Timer::DisconnectHost { rpc: id });
    assert!(w.rpc_ok(id));
    let again = w.rpc(RpcRequest::RemoveHost {
        nqn: NQN.into(),
        hostnqn: HOSTNQN.into(),
        timeout_ms: 0,
    });
    assert_eq!(w.rpc_results[&again].as_ref().unwrap_err().code, -2);
    w.shutdown_and_check();
}

/// The one armed keep-alive poller.
fn keep_alive_timer(w: &World) -> Timer {
    w.target
        .armed_timers()
        .into_iter()
        .map(|(t, _)| t)
        .find(|t| matches!(t, Timer::KeepAlive { .. }))
        .expect("keep-alive armed")
}

#[test]
fn a_connect_with_the_largest_kato_is_answered_not_trapped() {
    // KATO is a u32 from the wire; SPDK rounds it up to whole KAS units in uint32_t arithmetic.
    let mut w = World::new(config());
    let (_, cqe) = w.connect_admin(1, HOSTNQN, u32::MAX);
    assert_eq!(cqe.status, status::SUCCESS);
    assert!(w.violation().is_none(), "{:?}", w.violation());
}

/// Adding a host twice: master refuses the second add (-EINVAL, subsystem.c:1220-1224),
/// v24.01 answers it with success and changes nothing (subsystem.c:812-817). Found by the
/// differential harness replaying `random-peers` stories on real v24.01.
#[test]
fn a_duplicate_add_host_is_an_error_on_master_only() {
    for (spdk, mut w) in World::per_profile(|spdk| TargetConfig { spdk, ..config() }) {
        let add = |w: &mut World| {
            w.rpc(RpcRequest::AddHost {
                nqn: NQN.into(),
                hostnqn: HOSTNQN.into(),
            })
        };
        let first = add(&mut w);
        assert!(w.rpc_ok(first), "{spdk}");
        let second = add(&mut w);
        match spdk {
            Spdk::V26_05 | Spdk::Master => {
                assert_eq!(w.rpc_results[&second].as_ref().unwrap_err().code, -22)
            }
            Spdk::V24_01 => assert!(w.rpc_ok(second), "v24.01 answers success"),
        }
        let remove = w.rpc(RpcRequest::RemoveHost {
            nqn: NQN.into(),
            hostnqn: HOSTNQN.into(),
            timeout_ms: 0,
        });
        // master answers at its first 5 ms poll (no controller of the host).
        w.settle_until(w.now + Duration::from_millis(5));
        assert!(w.rpc_ok(remove), "{spdk}: one entry to remove");
        w.shutdown_and_check();
    }
}
