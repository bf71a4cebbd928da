//! Misbehaving hosts and the CC reset/shutdown status (catalogue issue I, helper B): what SPDK
//! answers an admin command before CONNECT, an I/O CONNECT after the admin qpair is gone or
//! racing a keep-alive expiry, and when a reset reports CSTS.RDY = 0; each pinned on the fixed
//! core and with the catalogue switch that puts the historical code back.

use crate::nvmf::{
    BugId, ConnId, Input, InvariantId, Mark, QpairState, Spdk, TargetConfig, ThreadId, Timer,
};
use crate::testkit::{config, pdu, World, HOSTNQN, NQN};
use crate::time::Duration;
use crate::wire::status;

fn config_with(spdk: Spdk, bugs: &[BugId]) -> TargetConfig {
    let mut cfg = config();
    cfg.spdk = spdk;
    cfg.bugs.0.extend(bugs.iter().copied());
    cfg
}

/// Admin CONNECT with a 10 s KATO, CC.EN = 1, and I/O qid 1; returns (admin, io, cntlid).
fn connected_with_kato(w: &mut World) -> (ConnId, ConnId, u16) {
    let (admin, cqe) = w.connect_admin(1, HOSTNQN, 10_000);
    assert!(cqe.status.is_success(), "{cqe:?}");
    w.send(admin, &pdu::prop_set_cc(2, pdu::CC_ENABLE));
    w.run_all();
    assert!(w.responses(admin)[0].status.is_success());
    let cntlid = cqe.cdw0 as u16;
    let (io, cqe) = w.connect_io(2, HOSTNQN, cntlid, 1);
    assert!(cqe.status.is_success(), "{cqe:?}");
    (admin, io, cntlid)
}

/// Runs thread messages only (device completions and timers wait).
fn run_threads(w: &mut World) {
    while let Some(input) = w
        .target
        .enabled_events()
        .into_iter()
        .find(|e| matches!(e.input, Input::Run(_)))
        .map(|e| e.input)
    {
        w.input(input);
    }
}

fn armed(w: &World, pick: fn(&Timer) -> bool) -> Timer {
    w.target
        .armed_timers()
        .into_iter()
        .map(|(t, _)| t)
        .find(pick)
        .expect("timer armed")
}

#[test]
fn admin_commands_before_connect_are_sequence_errors_in_both_profiles() {
    for spdk in [Spdk::V24_01, Spdk::Master] {
        let mut w = World::new(config_with(spdk, &[]));
        let c = w.accept(1);
        w.run_all();
        w.send(c, &pdu::icreq());
        w.send(c, &pdu::aer(5));
        w.send(c, &pdu::identify(6, 1, 0));
        w.send(c, &pdu::keep_alive(7));
        w.run_all();
        let r = w.responses(c);
        assert_eq!(r.len(), 3, "{spdk}: {r:?}");
        for cqe in &r {
            assert_eq!(
                cqe.status,
                status::COMMAND_SEQUENCE_ERROR,
                "{spdk}: {cqe:?}"
            );
        }
        // v24.01 admits them (the qpair is ACTIVE at once) and refuses in
        // nvmf_ctrlr_process_admin_cmd; master refuses in nvmf_check_qpair_active.
        assert_eq!(w.marked(Mark::AdminBeforeConnect), 3, "{spdk}");
        w.send(c, &pdu::connect(8, 0, NQN, HOSTNQN, 0xFFFF, 0));
        w.run_all();
        assert!(
            w.responses(c)[0].status.is_success(),
            "{spdk}: CONNECT after"
        );
        w.shutdown_and_check();
    }
}

#[test]
fn spdk_3100_early_admin_aer_before_connect_reads_a_null_controller() {
    let mut w = World::new(config_with(Spdk::V24_01, &[BugId::Spdk3100EarlyAdmin]));
    w.expect_violation = true;
    let c = w.accept(1);
    w.run_all();
    w.send(c, &pdu::icreq());
    w.send(c, &pdu::identify(6, 1, 0));
    w.run_all();
    assert!(w.violation().is_none(), "only the AER reads the controller");
    w.send(c, &pdu::aer(5));
    w.run_all();
    let v = w.violation().expect("crash");
    assert_eq!(v.invariant, InvariantId::I1);
    assert_eq!(v.site, "nvmf_ctrlr_process_admin_cmd");
}

/// SPDK keeps a controller whose admin qpair is gone alive while an I/O qpair holds a mask
/// bit, until its keep-alive expires; an I/O CONNECT meanwhile is refused (cc2f6634b7).
#[test]
fn io_connect_after_the_admin_qpair_finished_teardown_is_refused() {
    for spdk in [Spdk::V24_01, Spdk::Master] {
        let mut w = World::new(config_with(spdk, &[]));
        let (admin, io, cntlid) = connected_with_kato(&mut w);
        w.input(Input::PeerClosed { conn: admin });
        w.run_all();
        assert_eq!(w.target.ctrlr_count(), 1, "{spdk}: the I/O qpair keeps it");
        assert_eq!(w.target.qpair_state(io), Some(QpairState::Enabled));
        let (_, cqe) = w.connect_io(3, HOSTNQN, cntlid, 2);
        assert_eq!(cqe.status.sct, 1, "{spdk}: INVALID PARAM: {cqe:?}");
        assert_eq!(w.marked(Mark::IoConnectWithoutAdminQpair), 1, "{spdk}");
        // The poller runs every KATO (10 s) and expires strictly after last + KATO: 20 s.
        w.settle_until(w.now + Duration::from_secs(21));
        assert_eq!(w.marked(Mark::KeepAliveExpired), 1, "{spdk}");
        assert_eq!(w.target.ctrlr_count(), 0, "{spdk}");
        w.shutdown_and_check();
    }
}

#[test]
fn spdk_admin_qpair_gone_io_connect_dereferences_the_null_admin_qpair() {
    let mut w = World::new(config_with(Spdk::V24_01, &[BugId::SpdkAdminQpairGone]));
    let (admin, _io, cntlid) = connected_with_kato(&mut w);
    w.input(Input::PeerClosed { conn: admin });
    w.run_all();
    w.expect_violation = true;
    let c = w.accept(3);
    w.run_all();
    w.send(c, &pdu::icreq());
    w.send(c, &pdu::connect(1, 2, NQN, HOSTNQN, cntlid, 0));
    w.run_all();
    let v = w.violation().expect("crash");
    assert_eq!(
        (v.invariant, v.site.as_str()),
        (InvariantId::I1, "_nvmf_ctrlr_add_io_qpair")
    );
}

#[test]
fn spdk_admin_qpair_gone_cc_timeout_dereferences_the_null_admin_qpair() {
    for bug in [false, true] {
        let bugs: &[BugId] = if bug {
            &[BugId::SpdkAdminQpairGone]
        } else {
            &[]
        };
        let mut w = World::new(config_with(Spdk::V24_01, bugs));
        let (admin, io, _) = connected_with_kato(&mut w);
        w.send(io, &pdu::read(3, 1, 0, 1));
        run_threads(&mut w);
        w.send(admin, &pdu::prop_set_cc(4, 0));
        run_threads(&mut w);
        w.input(Input::PeerClosed { conn: admin });
        run_threads(&mut w);
        let timer = armed(&w, |t| matches!(t, Timer::CcTimeout { .. }));
        w.expect_violation = bug;
        w.fire(timer);
        match w.violation() {
            Some(v) if bug => assert_eq!(v.site, "nvmf_ctrlr_cc_timeout"),
            None if !bug => assert_eq!(w.marked(Mark::CcTimeoutReset), 0),
            other => panic!("bug={bug}: {other:?}"),
        }
    }
}

/// The `spdk-2220` window: the keep-alive expiry's fan-out is queued on the controller thread,
/// then the subsystem thread checks the admin qpair (still ACTIVE) and hops behind it.
fn ka_race(spdk: Spdk, bugs: &[BugId]) -> World {
    let mut w = World::new(config_with(spdk, bugs));
    let (_admin, _io, cntlid) = connected_with_kato(&mut w);
    let c = w.accept(3);
    w.run_all();
    w.send(c, &pdu::icreq());
    w.send(c, &pdu::connect(1, 2, NQN, HOSTNQN, cntlid, 0));
    let pg = w.target.qpair_thread(c).expect("on a poll group");
    while w.target.queued_messages(ThreadId::App).is_empty() {
        assert!(w.run(pg), "CONNECT reaches the subsystem thread");
    }
    assert_eq!(
        w.target.queued_messages(ThreadId::App),
        ["_nvmf_ctrlr_add_io_qpair"]
    );
    let ka = armed(&w, |t| matches!(t, Timer::KeepAlive { .. }));
    w.fire(ka);
    assert_eq!(w.marked(Mark::KeepAliveExpired), 1);
    w.run(ThreadId::App);
    // The handler's second half (after its read of the admin qpair) runs next on this thread.
    assert_eq!(
        w.target.queued_messages(ThreadId::App).first(),
        Some(&"_nvmf_ctrlr_add_io_qpair:send")
    );
    w.run(ThreadId::App);
    let ctrlr_thread = ThreadId::PollGroup(0);
    let queued = w.target.queued_messages(ctrlr_thread);
    assert_eq!(
        queued.last(),
        Some(&"nvmf_ctrlr_add_io_qpair"),
        "{queued:?}"
    );
    while w.target.queued_messages(ctrlr_thread).first() != Some(&"nvmf_ctrlr_add_io_qpair") {
        w.run(ctrlr_thread);
    }
    w.expect_violation = !bugs.is_empty();
    w.run(ctrlr_thread);
    w
}

#[test]
fn io_connect_racing_keep_alive_expiry_is_refused_after_the_hop() {
    for spdk in [Spdk::V24_01, Spdk::Master] {
        let mut w = ka_race(spdk, &[]);
        assert!(w.violation().is_none(), "{spdk}");
        assert!(w.marked(Mark::IoConnectRejected) >= 1, "{spdk}");
        w.run_all();
        w.shutdown_and_check();
    }
}

#[test]
fn spdk_2220_io_connect_racing_keep_alive_expiry_reads_the_admin_qpairs_null_group() {
    let w = ka_race(Spdk::V24_01, &[BugId::Spdk2220]);
    let v = w.violation().expect("crash");
    assert_eq!(
        (v.invariant, v.site.as_str()),
        (InvariantId::I1, "ctrlr_add_qpair_and_send_rsp")
    );
}

/// A reset with I/O in flight on qid 1: the fixed core re-polls every 100 ms and reports
/// CSTS.RDY = 0 only after qid 1 left the mask; `spdk-2199` reports it at once (I12).
fn reset_under_io(bugs: &[BugId]) -> World {
    let mut w = World::new(config_with(Spdk::V24_01, bugs));
    let (admin, io, _) = connected_with_kato(&mut w);
    w.send(io, &pdu::read(3, 1, 0, 1));
    run_threads(&mut w);
    w.expect_violation = !bugs.is_empty();
    w.send(admin, &pdu::prop_set_cc(4, 0));
    run_threads(&mut w);
    w
}

#[test]
fn reset_reports_ready_zero_only_after_the_io_queues_left() {
    let mut w = reset_under_io(&[]);
    assert_eq!(w.marked(Mark::CcRepolled), 1, "waits for qid 1");
    let csts = |w: &mut World, cid| {
        w.send(ConnId(1), &pdu::prop_get(cid, 0x1C));
        w.run_all();
        w.responses(ConnId(1)).last().map(|c| c.cdw0)
    };
    assert_eq!(csts(&mut w, 5).map(|v| v & 1), Some(1), "RDY still 1");
    w.settle_until(w.now + Duration::from_millis(200));
    assert_eq!(csts(&mut w, 6), Some(0), "RDY 0 once qid 1 is gone");
    w.shutdown_and_check();
}

#[test]
fn spdk_2199_reset_reports_ready_zero_with_an_io_queue_connected() {
    let w = reset_under_io(&[BugId::Spdk2199]);
    let v = w.target.check_invariants().expect_err("I12");
    assert_eq!(
        (v.invariant, v.site.as_str()),
        (InvariantId::I12, "_nvmf_ctrlr_cc_reset_shn_done")
    );
}

/// The sans-IO host's misbehaviour actions against the target: an Identify before CONNECT is
/// answered COMMAND SEQUENCE ERROR and the host still connects; after closing only its admin
/// queue it keeps its I/O queue and its last cntlid, and a stale I/O CONNECT is refused.
#[test]
fn host_misbehaviour_actions_against_the_target() {
    use crate::host::{HostAction, HostConfig, HostEvent, QueueState};
    let mut w = World::new(config_with(Spdk::V24_01, &[]));
    let h = w.add_host(HostConfig::new(HOSTNQN, NQN));
    let settle = |w: &mut World| w.advance_to(w.now + Duration::from_millis(10));
    w.host_do(h, HostAction::OpenAdmin);
    settle(&mut w);
    w.host_do(h, HostAction::AdminBeforeConnect { opc: 0x06 });
    settle(&mut w);
    let refused = HostEvent::CommandFailed {
        qid: 0,
        opc: 0x06,
        status: status::COMMAND_SEQUENCE_ERROR,
    };
    assert!(
        w.host_events(h).contains(&refused),
        "{:?}",
        w.host_events(h)
    );
    w.host_do(h, HostAction::ConnectAdmin);
    w.host_do(h, HostAction::Initialize);
    settle(&mut w);
    w.host_do(h, HostAction::ConnectIo { qid: 1 });
    settle(&mut w);
    let cntlid = w.hosts_cntlid(h).expect("connected");
    w.host_do(h, HostAction::Disconnect { qid: 0 });
    settle(&mut w);
    assert_eq!(w.hosts_cntlid(h), None, "the admin queue is gone");
    assert_eq!(
        w.host_last_cntlid(h),
        Some(cntlid),
        "but the cntlid is remembered"
    );
    assert_eq!(w.host_queue_state(h, 1), Some(QueueState::Live));
    w.host_do(h, HostAction::ConnectIoStale { qid: 2 });
    settle(&mut w);
    let failed = w
        .host_events(h)
        .iter()
        .any(|e| matches!(e, HostEvent::ConnectFailed { qid: 2, status } if status.sct == 1));
    assert!(failed, "{:?}", w.host_events(h));
    assert_eq!(w.marked(Mark::IoConnectWithoutAdminQpair), 1);
}
