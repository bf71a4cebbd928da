//! S7 (helper cat4a): each poll group's data buffers with the FIFO of requests waiting in
//! NEED_BUFFER (`nvmf_request_get_buffers`, `spdk_iobuf_get`/`spdk_iobuf_put`), the fixed
//! teardown of master (`nvmf_tcp_poll_group_remove` aborts the waiters while `qpair->group`
//! is set, 243b7d792e), v24.01's (`nvmf_tcp_cleanup_all_states` unlinks them through
//! `tqpair->group`) and `spdk-3627` (the abort after `qpair->group` was cleared).

use crate::nvmf::{BugId, BugSet, ConnId, Input, InvariantId, Mark, Spdk, TargetConfig};
use crate::testkit::{config_for, pdu, World, HOSTNQN};
use crate::wire::Pdu;

const LEN: u32 = 8192;

fn bug_3627() -> BugSet {
    BugSet([BugId::Spdk3627].into_iter().collect())
}

fn config(spdk: Spdk, pg_buffers: Option<u32>) -> TargetConfig {
    TargetConfig {
        poll_groups: 1,
        pg_buffers,
        ..config_for(spdk)
    }
}

/// (cccid, ttag) of every R2T the peer received, and the cids of the responses.
fn r2ts_and_responses(w: &mut World, c: ConnId) -> (Vec<(u16, u16)>, Vec<u16>) {
    let (mut r2ts, mut rsps) = (Vec::new(), Vec::new());
    for p in w.recv(c) {
        match p {
            Pdu::R2T(r) => r2ts.push((r.cccid, r.ttag)),
            Pdu::CapsuleResp(r) => rsps.push(r.cqe.cid),
            _ => {}
        }
    }
    (r2ts, rsps)
}

fn write_data(w: &mut World, c: ConnId, cid: u16, ttag: u16) {
    w.send(c, &pdu::h2c(cid, ttag, 0, vec![0xA5; LEN as usize], true));
}

fn assert_accounting(w: &World) {
    assert_eq!(w.target.buffer_breach(), None);
}

/// Three R2T writes on a group with one buffer: the first gets it, the others wait in
/// arrival order, and each completion hands the buffer to the head of the queue.
#[test]
fn waiting_writes_take_the_buffer_in_fifo_order_at_each_completion() {
    for spdk in Spdk::ALL {
        let mut w = World::new(config(spdk, Some(1)));
        let (_, io) = w.enabled_with_io(HOSTNQN);
        for cid in 1..=3 {
            w.send(io, &pdu::write_r2t(cid, 1, u64::from(cid) * 16, LEN));
        }
        w.run_threads();
        let (r2ts, _) = r2ts_and_responses(&mut w, io);
        assert_eq!(r2ts.iter().map(|r| r.0).collect::<Vec<_>>(), [1], "{spdk}");
        assert_eq!(w.marked(Mark::BufferWait), 2, "{spdk}");
        let (free, cap, waiters) = w.target.buffer_pool(0).expect("bounded");
        assert_eq!((free, cap, waiters.len()), (0, 1, 2), "{spdk}");
        assert_accounting(&w);
        let mut ttag = r2ts[0].1;
        for cid in 1..=3u16 {
            write_data(&mut w, io, cid, ttag);
            w.run_threads();
            w.complete_device();
            assert_accounting(&w);
            let (r2ts, rsps) = r2ts_and_responses(&mut w, io);
            assert_eq!(rsps, [cid], "{spdk}: write {cid} answered");
            if cid < 3 {
                assert_eq!(r2ts.len(), 1, "{spdk}: one hand-over");
                assert_eq!(
                    r2ts[0].0,
                    cid + 1,
                    "{spdk}: the head of the queue goes next"
                );
                ttag = r2ts[0].1;
            } else {
                assert!(r2ts.is_empty());
            }
        }
        assert_eq!(w.target.buffer_pool(0), Some((1, 1, Vec::new())), "{spdk}");
        assert!(w.violation().is_none());
    }
}

/// The pool unset (the default) and a pool that never runs out give the peer the same bytes:
/// S7 changes nothing until a request finds no buffer.
#[test]
fn an_unbounded_pool_and_a_pool_that_never_runs_out_answer_alike() {
    for spdk in Spdk::ALL {
        let run = |pg_buffers| {
            let mut w = World::new(config(spdk, pg_buffers));
            let (_, io) = w.enabled_with_io(HOSTNQN);
            for cid in 1..=3 {
                w.send(io, &pdu::write_r2t(cid, 1, u64::from(cid) * 16, LEN));
                w.send(io, &pdu::read(10 + cid, 1, 0, 16));
            }
            w.run_threads();
            let mut seen = w.recv(io);
            for (cid, ttag) in r2ts_of(&seen) {
                write_data(&mut w, io, cid, ttag);
            }
            w.run_all();
            seen.extend(w.recv(io));
            assert_eq!(w.marked(Mark::BufferWait), 0);
            (seen, w.target.buffer_pool(0))
        };
        let (unbounded, none) = run(None);
        let (large, pool) = run(Some(64));
        assert_eq!(none, None);
        assert_eq!(pool, Some((64, 64, Vec::new())));
        assert_eq!(unbounded, large, "{spdk}");
        assert_eq!(
            r2ts_of(&unbounded).len(),
            3,
            "{spdk}: every write got its R2T at once"
        );
        assert!(unbounded.len() >= 9, "{spdk}: R2Ts, read data, responses");
    }
}

fn r2ts_of(pdus: &[Pdu]) -> Vec<(u16, u16)> {
    pdus.iter()
        .filter_map(|p| match p {
            Pdu::R2T(r) => Some((r.cccid, r.ttag)),
            _ => None,
        })
        .collect()
}

/// A qpair with a write holding the buffer (waiting for its data) and one waiting for a
/// buffer; the peer closes. Returns the world right after `PeerClosed` (the disconnect ran
/// `_nvmf_qpair_destroy` at once: nothing was outstanding), transport fini still queued.
fn closed_with_a_waiter(spdk: Spdk, bugs: BugSet) -> World {
    let mut w = World::new(TargetConfig {
        bugs: bugs.clone(),
        ..config(spdk, Some(1))
    });
    w.expect_violation = !bugs.0.is_empty();
    let (_, io) = w.enabled_with_io(HOSTNQN);
    w.send(io, &pdu::write_r2t(1, 1, 0, LEN));
    w.send(io, &pdu::write_r2t(2, 1, 16, LEN));
    w.run_threads();
    assert_eq!(w.marked(Mark::BufferWait), 1);
    w.input(Input::PeerClosed { conn: io });
    assert_eq!(
        w.target.qpair_group(io),
        Some(None),
        "removed from its group"
    );
    w
}

/// master (fixed): `nvmf_tcp_poll_group_remove` takes the waiter off the queue while the
/// qpair is still on its group; the cleanup frees it and the held buffer comes back.
/// v24.01: the waiter stays on `pending_buf_queue` until `nvmf_tcp_cleanup_all_states`.
#[test]
fn a_waiting_request_leaves_the_queue_at_teardown_in_each_profile() {
    for spdk in Spdk::ALL {
        let mut w = closed_with_a_waiter(spdk, BugSet::default());
        let waiters = w.target.buffer_pool(0).expect("bounded").2;
        let at_remove = usize::from(spdk != Spdk::V24_01);
        assert_eq!(w.marked(Mark::BufferWaitAborted), at_remove, "{spdk}");
        assert_eq!(waiters.len(), 1 - at_remove, "{spdk}");
        w.run_all();
        assert_eq!(w.marked(Mark::BufferWaitAborted), 1, "{spdk}");
        assert_eq!(w.target.buffer_pool(0), Some((1, 1, Vec::new())), "{spdk}");
        assert!(w.violation().is_none(), "{spdk}: {:?}", w.violation());
        assert_accounting(&w);
    }
}

/// `spdk-3627`: the cleanup aborts the waiter through the cleared `qpair->group`.
#[test]
fn spdk_3627_cleanup_aborts_the_waiter_through_a_null_group() {
    let mut w = closed_with_a_waiter(Spdk::Master, bug_3627());
    assert_eq!(w.marked(Mark::BufferWaitAborted), 0);
    w.run_all();
    let v = w.violation().expect("I1");
    assert_eq!(v.invariant, InvariantId::NoDanglingReference);
    assert_eq!(v.site, "nvmf_request_get_buffers_abort");
}

/// `spdk-3627`, second site: another qpair's completion hands the buffer to the waiter of a
/// qpair already removed from its group, before that qpair's transport fini ran.
#[test]
fn spdk_3627_a_buffer_handed_to_a_removed_qpairs_waiter_reads_a_null_group() {
    for bugs in [BugSet::default(), bug_3627()] {
        let mut w = World::new(TargetConfig {
            bugs: bugs.clone(),
            ..config(Spdk::Master, Some(1))
        });
        w.expect_violation = !bugs.0.is_empty();
        let (_, io) = w.enabled_with_io(HOSTNQN);
        let cntlid = 1;
        let (io2, cqe) = w.connect_io(3, HOSTNQN, cntlid, 2);
        assert!(cqe.status.is_success(), "{cqe:?}");
        w.send(io, &pdu::read(1, 1, 0, 16));
        w.run_threads();
        w.send(io2, &pdu::read(2, 1, 16, 16));
        w.run_threads();
        assert_eq!(w.marked(Mark::BufferWait), 1);
        w.input(Input::PeerClosed { conn: io2 });
        for io in w.target.pending_device_ios() {
            w.input(Input::Complete(io));
        }
        if bugs.0.is_empty() {
            w.run_all();
            assert!(w.violation().is_none(), "{:?}", w.violation());
            assert_eq!(w.target.buffer_pool(0), Some((1, 1, Vec::new())));
        } else {
            let v = w.violation().expect("I1");
            assert_eq!(v.invariant, InvariantId::NoDanglingReference);
            assert_eq!(v.site, "nvmf_request_iobuf_get_cb");
        }
    }
}
