//! Thread and poll-group lifetime (S1, I15) and the disconnect callbacks of the old poll-group
//! destroy walk (S2, I16, `spdk-2765`), scripted: SPDK's behaviour on the fixed core in both
//! profiles, and the switch breaking I16 at `_nvmf_tgt_disconnect_next_qpair`.

use crate::nvmf::{
    BugId, BugSet, InvariantId, Mark, RpcRequest, Spdk, TargetConfig, ThreadId, ThreadLife,
};
use crate::testkit::{config, pattern, pdu, World, HOSTNQN, NQN};

fn cfg(spdk: Spdk, bugs: &[BugId]) -> TargetConfig {
    let mut c = config();
    c.spdk = spdk;
    c.bugs = BugSet(bugs.iter().copied().collect());
    c
}

fn pg_threads(w: &World) -> Vec<ThreadId> {
    (0..w.target.config().poll_groups)
        .map(ThreadId::PollGroup)
        .collect()
}

/// Shutdown destroys every poll group and each thread exits once its queue is empty; the app
/// thread keeps running. Before the shutdown every thread runs.
#[test]
fn shutdown_destroys_every_poll_group_and_its_thread_exits() {
    for spdk in Spdk::ALL {
        let mut w = World::new(cfg(spdk, &[]));
        w.enabled_with_io(HOSTNQN);
        for t in pg_threads(&w) {
            assert_eq!(w.target.thread_life(t), ThreadLife::Running, "{spdk} {t}");
        }
        w.shutdown_and_check();
        for t in pg_threads(&w) {
            assert_eq!(w.target.thread_life(t), ThreadLife::Exited, "{spdk} {t}");
        }
        assert_eq!(w.target.thread_life(ThreadId::App), ThreadLife::Running);
        let n = pg_threads(&w).len();
        assert_eq!(w.marked(Mark::ThreadExited), n, "{spdk}");
    }
}

/// A host with a write held at the device (its I/O qpair will drain), then
/// `nvmf_delete_subsystem` and the target shutdown, running thread messages only: the delete's
/// stop disconnects the I/O qpair, which stays on its group while the write is outstanding;
/// the shutdown passes the subsystem it cannot stop or destroy (SPDK's nvmf_tgt logs and
/// tries the others) and reaches the poll-group destroy walk with that qpair disconnecting.
fn shutdown_with_a_draining_qpair(spdk: Spdk, bugs: &[BugId], kato_ms: u32) -> World {
    let mut w = World::new(cfg(spdk, bugs));
    w.expect_violation = !bugs.is_empty() || kato_ms == 0;
    let (admin, cqe) = w.connect_admin(1, HOSTNQN, kato_ms);
    let cntlid = cqe.cdw0 as u16;
    w.send(admin, &pdu::prop_set_cc(2, pdu::CC_ENABLE));
    w.run_all();
    let (io, cqe) = w.connect_io(2, HOSTNQN, cntlid, 1);
    assert!(cqe.status.is_success(), "I/O CONNECT: {cqe:?}");
    w.send(io, &pdu::write(1, 1, 0, pattern(512, 7), true));
    w.run_threads();
    assert_eq!(
        w.target.pending_device_ios().len(),
        1,
        "the write waits at the device"
    );
    w.rpc(RpcRequest::DeleteSubsystem { nqn: NQN.into() });
    w.run_threads();
    w.rpc(RpcRequest::Shutdown);
    w.run_threads();
    w
}

/// Fixed (both profiles), keep-alive on: the walk re-polls until the qpair left its group
/// (the controller's keep-alive poller holds its thread in EXITING). Once the device answers,
/// the delete's stop completes and removes its listeners with stop, which STOP_LISTEN already
/// freed: hazard H-10 (I1 at `_nvmf_subsystem_remove_listener`). v24.01 as released
/// (`spdk-3273`: no STOP_LISTEN) frees everything and every poll group thread exits.
#[test]
fn the_fixed_destroy_walk_waits_for_a_draining_qpair() {
    for spdk in Spdk::ALL {
        let mut w = shutdown_with_a_draining_qpair(spdk, &[], 10_000);
        assert!(w.violation().is_none(), "{spdk}: {:?}", w.violation());
        assert!(
            !w.target.is_shut_down(),
            "{spdk}: the shutdown waits for the write"
        );
        w.expect_violation = true;
        w.complete_device();
        w.settle_until(w.now + crate::time::Duration::from_secs(200));
        let v = w.violation().expect("H-10");
        assert_eq!(
            (v.invariant, v.site.as_str()),
            (InvariantId::I1, "_nvmf_subsystem_remove_listener"),
            "{spdk}"
        );
    }
    let mut w = shutdown_with_a_draining_qpair(Spdk::V24_01, &[BugId::Spdk3273], 10_000);
    w.complete_device();
    w.settle_until(w.now + crate::time::Duration::from_secs(200));
    assert!(w.violation().is_none(), "{:?}", w.violation());
    assert!(w.target.is_shut_down());
    assert_eq!(w.target.qpair_count(), 0);
    assert_eq!(w.target.ctrlr_count(), 0);
    for t in pg_threads(&w) {
        assert_eq!(w.target.thread_life(t), ThreadLife::Exited, "{t}");
    }
    w.assert_quiescent();
}

/// `spdk-2765`: the old walk disconnects the group's first qpair with itself as callback; the
/// qpair is already disconnecting, so the callback runs at once and the walk re-enters itself
/// on the same qpair until the bound: I16 at `_nvmf_tgt_disconnect_next_qpair`.
#[test]
fn spdk_2765_the_old_destroy_walk_recurses_on_a_disconnecting_qpair() {
    let w = shutdown_with_a_draining_qpair(Spdk::Master, &[BugId::Spdk2765], 10_000);
    let v = w.violation().expect("the walk recursed");
    assert_eq!(
        (v.invariant, v.site.as_str()),
        (InvariantId::I16, "_nvmf_tgt_disconnect_next_qpair")
    );
    assert_eq!(w.marked(Mark::DestroyWalkMetDisconnecting), 1);
}

/// SPDK's behaviour with KATO 0 (hazard H-8; here v24.01 as released): no keep-alive poller holds the
/// controller's thread, so it exits once the admin qpair is gone and the walk reached it (the
/// drain ends the delete's stop, the shutdown goes on); when the I/O qpair's teardown ends,
/// `_nvmf_transport_qpair_fini_complete` sends `_nvmf_ctrlr_free_from_qpair` to the exited
/// thread: I15 (v24.01 loses the message).
#[test]
fn with_kato_0_the_controller_thread_exits_under_its_draining_qpair() {
    // v24.01 as released (no STOP_LISTEN), so that H-10 cannot come first; on master H-10
    // comes first (`master_with_kato_0_removes_a_freed_listener_first`).
    let spdk = Spdk::V24_01;
    let mut w = shutdown_with_a_draining_qpair(spdk, &[BugId::Spdk3273], 0);
    assert!(w.violation().is_none(), "{spdk}: {:?}", w.violation());
    w.complete_device();
    let ctrlr_thread = ThreadId::PollGroup(0);
    assert_eq!(
        w.target.thread_life(ctrlr_thread),
        ThreadLife::Exited,
        "{spdk}"
    );
    let v = w.violation().expect("the send to the exited thread");
    assert_eq!(
        (v.invariant, v.site.as_str()),
        (InvariantId::I15, "_nvmf_transport_qpair_fini_complete"),
        "{spdk}"
    );
    assert!(v.handles.iter().any(|h| h == "_nvmf_ctrlr_free_from_qpair"));
}

/// master, keep-alive off: the delete's stop completes before the controller thread exits and
/// removes its listeners with stop, which STOP_LISTEN freed: hazard H-10 comes first.
#[test]
fn master_with_kato_0_removes_a_freed_listener_first() {
    let mut w = shutdown_with_a_draining_qpair(Spdk::Master, &[], 0);
    assert!(w.violation().is_none(), "{:?}", w.violation());
    w.expect_violation = true;
    w.complete_device();
    let v = w.violation().expect("H-10");
    assert_eq!(
        (v.invariant, v.site.as_str()),
        (InvariantId::I1, "_nvmf_subsystem_remove_listener")
    );
}
