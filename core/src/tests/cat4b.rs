//! S6 (helper cat4b), scripted: the TCP transport's request slots, the receive state
//! AWAIT_REQ, the TCP poll group's two lists and deferred (zero-copy) response writes, read
//! from v24.01 `lib/nvmf/tcp.c`; and `spdk-3208` (v23.09's `nvmf_tcp_poll_group_remove`).

use crate::nvmf::{BugId, BugSet, ConnId, Input, InvariantId, Mark, RecvState, RpcRequest};
use crate::nvmf::{Spdk, TargetConfig};
use crate::testkit::{config_for, pdu, World, HOSTNQN};

/// The transport queue depth: the raw peers' CONNECTs ask for SQSIZE 31, the largest it allows.
const DEPTH: u16 = 32;

fn cfg(spdk: Spdk, zcopy: bool, bugs: &[BugId]) -> TargetConfig {
    let mut c = config_for(spdk);
    c.max_queue_depth = DEPTH;
    c.zcopy = zcopy;
    c.bugs = BugSet(bugs.iter().copied().collect());
    c
}

/// An enabled controller with its I/O qpair (every write delivered), then `DEPTH` reads on
/// the I/O qpair, all at the device: every slot busy, no write pending.
fn full_queue(c: TargetConfig) -> (World, ConnId) {
    let mut w = World::new(c);
    let (_admin, io) = w.enabled_with_io(HOSTNQN);
    for cid in 0..DEPTH {
        w.send(io, &pdu::read(cid, 1, u64::from(cid), 1));
    }
    w.run_threads();
    assert_eq!(
        w.target.tcp_slots_of(io),
        Some((RecvState::Ready, DEPTH, 0))
    );
    assert_eq!(w.target.pending_device_ios().len(), usize::from(DEPTH));
    (w, io)
}

/// The poll group of `conn`'s qpair.
fn pg_of(w: &World, conn: ConnId) -> u16 {
    (0..w.target.config().poll_groups)
        .find(|pg| {
            let (q, a) = w.target.tcp_lists(*pg);
            q.contains(&Some(conn)) || a.contains(&Some(conn))
        })
        .expect("linked on a TCP list")
}

/// Completes one device read: its response goes out and, with zero-copy, its write is
/// pending; then the host, which saw the completion, sends one more read (cid 0 again).
fn one_answered_one_more(w: &mut World, io: ConnId) {
    let first = w.target.pending_device_ios()[0];
    w.input(Input::Complete(first));
    w.run_threads();
    assert_eq!(w.responses(io).len(), 1, "the read is answered");
    w.send(io, &pdu::read(0, 1, 9, 1));
    w.run_threads();
}

/// Off (the default), a response's write completes as it is emitted: the slot is free at
/// once and no write event exists, so the next capsule takes it.
#[test]
fn without_zcopy_a_response_frees_its_slot_at_once() {
    for spdk in Spdk::ALL {
        let (mut w, io) = full_queue(cfg(spdk, false, &[]));
        one_answered_one_more(&mut w, io);
        assert!(w.target.pending_tcp_writes().is_empty(), "{spdk}");
        assert_eq!(
            w.target.tcp_slots_of(io),
            Some((RecvState::Ready, DEPTH, 0))
        );
        assert_eq!(w.marked(Mark::TcpAwaitReqWaited), 0);
        w.shutdown_and_check();
    }
}

/// `nvmf_tcp_capsule_cmd_hdr_handle`: with every slot busy and a response write pending the
/// capsule waits in AWAIT_REQ, the qpair on `tgroup->await_req`; the write's completion
/// (`_req_pdu_write_done` -> `nvmf_tcp_request_free`) frees the slot and the group's poll of
/// `await_req` runs the capsule, which moves the qpair back to `tgroup->qpairs`.
#[test]
fn await_req_holds_a_capsule_until_a_pending_write_completes() {
    for spdk in Spdk::ALL {
        let (mut w, io) = full_queue(cfg(spdk, true, &[]));
        one_answered_one_more(&mut w, io);
        assert_eq!(
            w.target.tcp_slots_of(io),
            Some((RecvState::AwaitReq, DEPTH, 1)),
            "{spdk}"
        );
        assert_eq!(w.marked(Mark::TcpAwaitReqWaited), 1);
        let pg = pg_of(&w, io);
        assert!(w.target.tcp_lists(pg).1.contains(&Some(io)), "on await_req");
        assert!(!w.target.tcp_lists(pg).0.contains(&Some(io)));
        let write = w.target.pending_tcp_writes();
        assert_eq!(write.len(), 1);
        w.input(Input::Complete(write[0]));
        w.run_threads();
        assert_eq!(
            w.target.tcp_slots_of(io),
            Some((RecvState::Ready, DEPTH, 0)),
            "{spdk}: the capsule took the freed slot"
        );
        assert!(
            w.target.tcp_lists(pg).0.contains(&Some(io)),
            "back on qpairs"
        );
        assert_eq!(w.target.pending_device_ios().len(), usize::from(DEPTH));
        w.shutdown_and_check();
    }
}

/// "The host sent more commands than the maximum queue depth": with every slot busy and no
/// write pending, the capsule makes the qpair QUIESCING (zero-copy or not); nothing more is
/// read from it.
#[test]
fn a_capsule_beyond_the_queue_depth_without_a_pending_write_quiesces() {
    for zcopy in [false, true] {
        let (mut w, io) = full_queue(cfg(Spdk::V24_01, zcopy, &[]));
        w.send(io, &pdu::read(DEPTH, 1, 9, 1));
        w.run_threads();
        assert_eq!(
            w.target.tcp_slots_of(io),
            Some((RecvState::Quiescing, DEPTH, 0)),
            "zcopy={zcopy}"
        );
        w.send(io, &pdu::read(DEPTH + 1, 1, 10, 1));
        w.run_threads();
        assert_eq!(w.target.tcp_slots_of(io).map(|s| s.1), Some(DEPTH));
        assert_eq!(w.marked(Mark::TcpAwaitReqWaited), 0);
    }
}

/// A qpair in AWAIT_REQ with a pending write, disconnected by the operator: once its reads
/// are done `_nvmf_qpair_destroy` removes it from its group in AWAIT_REQ and
/// `_nvmf_tcp_qpair_destroy`'s `spdk_sock_close` aborts the write. Returns the world.
fn teardown_in_await_req(bugs: &[BugId]) -> World {
    let (mut w, io) = full_queue(cfg(Spdk::V24_01, true, bugs));
    w.expect_violation = !bugs.is_empty();
    one_answered_one_more(&mut w, io);
    let pg = pg_of(&w, io);
    w.rpc(RpcRequest::DisconnectQpair { conn: io });
    w.run_threads();
    assert_eq!(
        w.target.tcp_slots_of(io),
        Some((RecvState::AwaitReq, DEPTH, 1)),
        "DEACTIVATING, still waiting for a slot, its reads at the device"
    );
    for d in w.target.pending_device_ios() {
        w.input(Input::Complete(d));
    }
    w.run_threads();
    assert_eq!(w.marked(Mark::TcpWriteAbortedAtClose), 1);
    let (qpairs, await_req) = w.target.tcp_lists(pg);
    assert!(!await_req.contains(&Some(io)));
    if bugs.is_empty() {
        assert!(!qpairs.contains(&Some(io)) && !qpairs.contains(&None));
    }
    w
}

/// Fixed (8cd4cc63d4): QUIESCING before the unlink, so the aborted write's QUIESCING changes
/// nothing and the qpair is freed unlinked.
#[test]
fn fixed_poll_group_remove_quiesces_first_and_frees_the_qpair_unlinked() {
    let mut w = teardown_in_await_req(&[]);
    assert!(w.violation().is_none());
    assert!(w.target.pending_tcp_writes().is_empty());
    w.shutdown_and_check();
}

/// `spdk-3208`: v23.09 unlinks the AWAIT_REQ qpair from `await_req` and keeps the state; the
/// aborted write's QUIESCING leaves AWAIT_REQ and inserts it into `tgroup->qpairs`; it is
/// freed still linked.
#[test]
fn spdk_3208_frees_a_qpair_still_linked_on_tgroup_qpairs() {
    let w = teardown_in_await_req(&[BugId::Spdk3208]);
    let v = w.violation().expect("a use after free");
    assert_eq!(
        (v.invariant, v.site.as_str()),
        (InvariantId::I1, "_nvmf_tcp_qpair_destroy")
    );
    assert!(v.detail.contains("tgroup->qpairs"), "{v}");
}
