//! S7: the data buffers of each poll group's transport (`tgroup->buf_cache`, an iobuf channel
//! in master, `pending_buf_queue` plus the buffer cache in v24.01) with the FIFO of requests
//! waiting for one (TCP `NEED_BUFFER`).
//!
//! SPDK's TCP transport moves every command with data to NEED_BUFFER
//! (`nvmf_tcp_req_process`, state NEW); `nvmf_tcp_req_parse_sgl` takes the data buffers of a
//! transport SGL from the group (`spdk_nvmf_request_get_buffers` -> `nvmf_request_get_buffers`
//! -> `spdk_iobuf_get`) and in-capsule data uses the request's own buffer. Without a buffer
//! the request waits: master queues its iobuf entry at the tail of the channel's wait queue
//! (`spdk_iobuf_get`, 18ede8d38d) and `spdk_iobuf_put` hands a returned buffer to the head
//! entry at once (`nvmf_request_iobuf_get_cb` -> `nvmf_tcp_req_get_buffers_done` ->
//! `nvmf_tcp_req_process`, HAVE_BUFFER); v24.01 keeps it on `group->pending_buf_queue`,
//! which the group poller walks head first (`nvmf_tcp_poll_group_poll`). A request of a qpair
//! that is no longer active is completed instead (`nvmf_tcp_req_process`: COMPLETED, which
//! frees the buffer again: `spdk_nvmf_request_free_buffers`).
//!
//! Teardown: master's `nvmf_tcp_poll_group_remove` aborts the qpair's NEED_BUFFER requests
//! while `qpair->group` is still set and marks them COMPLETED (`nvmf_tcp_abort_await_buffer_reqs`,
//! 243b7d792e); `_nvmf_tcp_qpair_destroy` -> `nvmf_tcp_cleanup_all_states` drains COMPLETED.
//! Before that fix (`spdk-3627`) the abort ran in `nvmf_tcp_cleanup_all_states`, after
//! `spdk_nvmf_poll_group_remove` cleared `qpair->group`, and `nvmf_request_get_buffers_abort`
//! passed that NULL to `nvmf_get_transport_poll_group`. v24.01's cleanup unlinks them from
//! `tqpair->group->group.pending_buf_queue`, a pointer the removal leaves alone.
//!
//! Simplified (docs/lifecycle.md): one buffer per request (SPDK's TCP io_unit_size equals
//! max_io_size, so a request up to 128 KiB takes one large buffer; small and large pools are
//! one pool here); only I/O queue reads and R2T writes take one (admin commands with data,
//! e.g. Identify, also do in SPDK); v24.01's poller hand-over is made at the put, as master's.
//! With `pg_buffers` unset every request gets its buffer at once, as before S7.
//!
//! Invariant kept: a buffer is either free or held by one live request, and a free buffer
//! never coexists with a waiter (`check`).

use super::arena::{QpairH, ReqH};
use super::request::{Buf, Next, Phase, Request};
use super::{BugId, InvariantId, Mark, Target};
use serde::Serialize;
use std::collections::VecDeque;

/// One poll group's buffers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Default)]
pub struct BufPool {
    capacity: u32,
    free: u32,
    /// The wait queue, head first.
    waiters: VecDeque<ReqH>,
}

/// Every poll group's pool; empty when the pools are unbounded.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Default)]
pub struct Buffers {
    pools: Vec<BufPool>,
}

impl Buffers {
    /// `pg_buffers` buffers on each of `groups` poll groups, or unbounded.
    pub fn new(groups: u16, pg_buffers: Option<u32>) -> Self {
        let pools = pg_buffers.map_or_else(Vec::new, |n| {
            let pool = BufPool {
                capacity: n,
                free: n,
                waiters: VecDeque::new(),
            };
            vec![pool; usize::from(groups)]
        });
        Buffers { pools }
    }

    fn bounded(&self) -> bool {
        !self.pools.is_empty()
    }
}

impl Target {
    /// Whether a new request takes a data buffer from its group (`nvmf_tcp_req_parse_sgl`
    /// with a transport SGL): an R2T write, or a read on an I/O queue.
    pub(super) fn tcp_needs_buffer(&self, h: QpairH, req: &Request, next: Next) -> bool {
        if !self.bufs.bounded() {
            return false;
        }
        let io_queue = self.qpairs.get(h).is_some_and(|q| q.qid() != 0);
        match next {
            Next::R2t(len) => len <= self.config.max_h2c_data,
            Next::Execute => {
                io_queue
                    && matches!(req.cmd, crate::wire::Command::Read { .. })
                    && req.sqe.sgl1.kind == crate::wire::SGL_TRANSPORT
            }
        }
    }

    /// `nvmf_request_get_buffers`: a free buffer, or the tail of the wait queue (NEED_BUFFER).
    /// Returns whether the request has its buffer.
    pub(super) fn tcp_get_buffer(&mut self, h: QpairH, r: ReqH, next: Next) -> bool {
        let Some(pg) = self.qpairs.get(h).map(|q| q.pg()) else {
            return false;
        };
        let pool = &mut self.bufs.pools[usize::from(pg)];
        let got = pool.free > 0;
        if got {
            pool.free -= 1;
        } else {
            pool.waiters.push_back(r);
        }
        if let Some(req) = self.reqs.get_mut(r) {
            if got {
                req.buf = Buf::Held;
            } else {
                req.buf = Buf::Waiting(next);
                req.phase = Phase::NeedBuffer;
            }
        }
        if !got {
            if let Some(q) = self.qpairs.get_mut(h) {
                q.tcp_mut().need_buffer.push(r);
            }
            self.mark(Mark::BufferWait, format!("{r} pg{pg}"));
        }
        got
    }

    /// HAVE_BUFFER: the R2T of a write, or READY_TO_EXECUTE.
    pub(super) fn tcp_req_continue(&mut self, h: QpairH, r: ReqH, next: Next) {
        match next {
            Next::R2t(len) => self.send_r2t(h, r, len),
            Next::Execute => self.tcp_ready_to_execute(h, r),
        }
    }

    /// `spdk_iobuf_put`: the buffer goes to the head of the wait queue, else back to the pool.
    pub(super) fn buf_put(&mut self, pg: u16) {
        let Some(pool) = self.bufs.pools.get_mut(usize::from(pg)) else {
            return;
        };
        match pool.waiters.pop_front() {
            Some(w) => self.iobuf_get_cb(w),
            None => pool.free += 1,
        }
    }

    /// `nvmf_request_iobuf_get_cb` (master; v24.01's poller retry of the queue head): the
    /// waiter takes the buffer and goes on, or completes at once if its qpair is no longer
    /// active (`nvmf_tcp_req_process`), which frees the buffer again.
    fn iobuf_get_cb(&mut self, w: ReqH) {
        let Some(req) = self.reqs.get_mut(w) else {
            return;
        };
        let (h, pg) = (req.qpair, req.pg);
        let Buf::Waiting(next) = req.buf else {
            return;
        };
        req.buf = Buf::Held;
        req.phase = Phase::Executing;
        let Some(q) = self.qpairs.get_mut(h) else {
            return;
        };
        q.tcp_mut().need_buffer.retain(|x| *x != w);
        let (group, active) = (q.group(), q.state().is_active());
        if group.is_none() && self.config.spdk.iobuf_queue() {
            // Only reachable with `spdk-3627`: the fixed removal empties the queue of the qpair.
            self.crash_on(
                InvariantId::NoDanglingReference,
                "nvmf_request_iobuf_get_cb",
                vec![format!("{w}"), format!("pg{pg}")],
                "nvmf_get_transport_poll_group(req->qpair->group = NULL) for a buffer handed to a \
                 request of a qpair already removed from its poll group",
            );
            return;
        }
        if active {
            self.tcp_req_continue(h, w, next);
        } else {
            self.request_free(w);
        }
    }

    /// master `nvmf_tcp_poll_group_remove` -> `nvmf_tcp_abort_await_buffer_reqs` (243b7d792e):
    /// off the wait queue while `qpair->group` is still set, marked COMPLETED. Nothing with
    /// `spdk-3627` (the old code aborts them in the cleanup) or in v24.01.
    pub(super) fn tcp_poll_group_remove_buffers(&mut self, h: QpairH) {
        if !self.bufs.bounded() || !self.config.spdk.iobuf_queue() || self.bug(BugId::Spdk3627) {
            return;
        }
        let Some(q) = self.qpairs.get(h) else { return };
        let (pg, waiting) = (q.pg(), q.tcp().need_buffer.clone());
        for r in waiting {
            self.bufs.pools[usize::from(pg)].waiters.retain(|x| *x != r);
            if let Some(req) = self.reqs.get_mut(r) {
                req.buf = Buf::Aborted;
            }
            self.mark(
                Mark::BufferWaitAborted,
                format!("{r} nvmf_tcp_poll_group_remove"),
            );
        }
    }

    /// `nvmf_tcp_cleanup_all_states` for the requests around NEED_BUFFER, before the
    /// transport's other states are drained: the buggy master aborts the waiters through
    /// `qpair->group` (NULL by now: I1); v24.01 unlinks them from its TCP group's queue; the
    /// COMPLETED ones are freed. Returns false after a violation.
    pub(super) fn tcp_cleanup_buffer_states(&mut self, h: QpairH) -> bool {
        let Some(q) = self.qpairs.get_mut(h) else {
            return true;
        };
        let (pg, group, label) = (q.pg(), q.group(), q.label());
        let reqs = std::mem::take(&mut q.tcp_mut().need_buffer);
        for r in reqs {
            let Some(req) = self.reqs.get(r) else {
                continue;
            };
            if matches!(req.buf, Buf::Waiting(_)) {
                if self.config.spdk.iobuf_queue() && group.is_none() {
                    self.crash_on(
                        InvariantId::NoDanglingReference,
                        "nvmf_request_get_buffers_abort",
                        vec![label, format!("{r}")],
                        "nvmf_get_transport_poll_group(req->qpair->group = NULL): the cleanup \
                         aborts a request waiting for a buffer after spdk_nvmf_poll_group_remove",
                    );
                    return false;
                }
                self.bufs.pools[usize::from(pg)].waiters.retain(|x| *x != r);
                self.mark(
                    Mark::BufferWaitAborted,
                    format!("{r} nvmf_tcp_cleanup_all_states"),
                );
            }
            self.request_free(r);
        }
        true
    }

    /// A transport request freed with its qpair (`nvmf_tcp_drain_state_queue`): its buffer
    /// goes back (and on to the next waiter).
    pub(super) fn tcp_req_drop(&mut self, r: ReqH) {
        if let Some(req) = self.reqs.remove(r) {
            if req.buf == Buf::Held {
                self.buf_put(req.pg);
            }
        }
    }

    /// The pool of poll group `pg`: (free, capacity, waiters head first); None if unbounded.
    pub fn buffer_pool(&self, pg: u16) -> Option<(u32, u32, Vec<ReqH>)> {
        let p = self.bufs.pools.get(usize::from(pg))?;
        Some((p.free, p.capacity, p.waiters.iter().copied().collect()))
    }

    /// S7's accounting: free plus held equals the capacity, and no request waits while a
    /// buffer is free. Returns a description of the first breach.
    pub fn buffer_breach(&self) -> Option<String> {
        for (pg, p) in self.bufs.pools.iter().enumerate() {
            let held = self
                .reqs
                .iter()
                .filter(|(_, r)| usize::from(r.pg) == pg && r.buf == Buf::Held)
                .count() as u32;
            if held + p.free != p.capacity {
                return Some(format!(
                    "pg{pg}: {held} held + {} free != {}",
                    p.free, p.capacity
                ));
            }
            if p.free > 0 && !p.waiters.is_empty() {
                return Some(format!("pg{pg}: {} free with waiters", p.free));
            }
        }
        None
    }
}
