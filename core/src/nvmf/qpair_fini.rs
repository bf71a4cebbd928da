//! Qpair teardown after the disconnect: `spdk_nvmf_poll_group_remove` (the one writer that
//! clears `qpair->group`) and the purge of the qpair's queued requests, `_nvmf_tcp_qpair_destroy`
//! frees the qpair (once: a second fini is an I2 violation) and
//! `_nvmf_transport_qpair_fini_complete` hands its controller to the destruct chain on the
//! controller's thread (docs/lifecycle.md).
//!
//! Invariant kept: a qpair leaves the arena exactly once, with its transport requests, its
//! parked CONNECT retry and its connection entry.

use super::arena::{CtrlrH, QpairH};
use super::ownership::{foreign, Foreign};
use super::thread::Msg;
use super::{InvariantId, Mark, Output, Target, ThreadId};

impl Target {
    /// `_nvmf_tcp_qpair_destroy` + `_nvmf_transport_qpair_fini_complete`: close the socket, free
    /// the qpair, and hand the captured controller to the destruct chain.
    pub(super) fn transport_qpair_destroy(&mut self, h: QpairH, ctrlr: Option<CtrlrH>) {
        let pg = self.qpairs.get(h).map(|q| q.pg());
        self.transport_qpair_destroy_inner(h, ctrlr);
        if let Some(pg) = pg {
            self.disconnect_cb_after_fini(h, pg);
        }
    }

    fn transport_qpair_destroy_inner(&mut self, h: QpairH, ctrlr: Option<CtrlrH>) {
        if let Some(pg) = self.qpairs.get(h).map(|q| q.pg()) {
            let what = format!("{h}");
            if !self.assert_thread(ThreadId::PollGroup(pg), "_nvmf_tcp_qpair_destroy", what) {
                return;
            }
        }
        self.listener_qpair_freed(h);
        // `_nvmf_tcp_qpair_destroy`: `spdk_sock_close`, then `nvmf_tcp_cleanup_all_states`.
        self.tcp_sock_close(h);
        if !self.tcp_cleanup_buffer_states(h) {
            return;
        }
        let Some(q) = self.qpairs.remove(h) else {
            self.crash_on(
                InvariantId::QpairDestroyedOnce,
                "nvmf_transport_qpair_fini",
                vec![format!("{h}")],
                "transport fini ran twice",
            );
            return;
        };
        for (_, r) in q.tcp().r2t.iter() {
            self.tcp_req_drop(*r);
        }
        // Fused halves waiting ready in the transport (tcp_fused.rs) are freed with it.
        for f in q.tcp().fused.iter().filter(|f| f.ready) {
            self.tcp_req_drop(f.req);
        }
        let conn = q.conn();
        if let Some(r) = self.retry_reqs.get(&conn).copied() {
            if self.reqs.get(r).is_some_and(|req| req.qpair == h) {
                self.retry_reqs.remove(&conn);
                self.poller_unregister(super::Timer::ConnectRetry { conn });
            }
        }
        self.conns.remove(&conn);
        if !q.tcp().closed {
            self.outputs.push_back(Output::Close { conn });
        }
        *self.history.qpairs_destroyed.entry(conn).or_insert(0) += 1;
        self.mark(Mark::QpairDestroyed, q.label());
        self.tcp_freed_unlinked(h, q.pg(), q.label());
        if self.violation.is_some() {
            return;
        }
        if let Some(c) = ctrlr {
            self.qpair_fini_complete(c, q.qid(), h);
        }
    }

    /// `_nvmf_transport_qpair_fini_complete`: on qid 0 clear `ctrlr->admin_qpair` (ctrlr
    /// thread), then `_nvmf_ctrlr_free_from_qpair` on the controller's thread.
    fn qpair_fini_complete(&mut self, c: CtrlrH, qid: u16, h: QpairH) {
        let site = "_nvmf_transport_qpair_fini_complete";
        let fixed = foreign(Foreign::FixedFields);
        let Some(thread) = self.live_ref(c, site).map(|c| c.thread()) else {
            return;
        };
        drop(fixed);
        if qid != 0 && self.planted(super::planted::Plant::CtrlrMaskClearedOnGroup) {
            if let Some(ctrlr) = self.ctrlrs.get_mut(c) {
                ctrlr.remove_qpair(qid);
            }
        }
        if qid == 0 {
            // The admin qpair's group is the controller's thread.
            if let Some(ctrlr) = self.ctrlrs.get_mut(c) {
                ctrlr.clear_admin_qpair();
            }
            let site = "_nvmf_transport_qpair_fini_complete";
            if !self.assert_thread(thread, site, format!("{c} {h}")) {
                return;
            }
        }
        let site = "_nvmf_transport_qpair_fini_complete";
        self.send_msg_from(site, thread, Msg::CtrlrFreeFromQpair { ctrlr: c, qid });
    }

    /// `spdk_nvmf_poll_group_remove`: the transport's `nvmf_tcp_poll_group_remove` (its
    /// NEED_BUFFER requests, buffers.rs), ERROR, off `group->qpairs`, `qpair->group = NULL`
    /// (the one place that clears it). Returns false after an I10 violation.
    pub(super) fn poll_group_remove(&mut self, h: QpairH) -> bool {
        let site = "spdk_nvmf_poll_group_remove";
        let Some(q) = self.live(h, site) else {
            return false;
        };
        let pg = q.pg();
        self.tcp_poll_group_remove_buffers(h);
        let Some(q) = self.qpairs.get_mut(h) else {
            return false;
        };
        if let Err(e) = q.leave_poll_group() {
            let (label, detail) = (
                q.label(),
                format!("illegal qpair transition {:?} -> {:?}", e.from, e.to),
            );
            self.crash_on(InvariantId::LegalTransitions, site, vec![label], &detail);
            return false;
        }
        self.tcp_poll_group_remove(pg, h);
        self.wake(ThreadId::PollGroup(pg));
        true
    }

    /// Frees this qpair's requests parked in `sgroup->queued` (no completion): only the
    /// controller's subsystem if it has one, else every sgroup of the group.
    pub(super) fn purge_queued_requests(&mut self, h: QpairH, pg: u16, ctrlr: Option<CtrlrH>) {
        let fixed = super::ownership::foreign(super::ownership::Foreign::FixedFields);
        let only = ctrlr.and_then(|c| self.ctrlrs.get(c)).map(|c| c.subsys());
        drop(fixed);
        let mut freed = Vec::new();
        let reqs = &self.reqs;
        for (s, sg) in self.pgs[usize::from(pg)].sgroups_mut() {
            if only.is_some_and(|o| o.idx != s) {
                continue;
            }
            freed.extend(sg.purge_queued(|r| reqs.get(r).is_some_and(|req| req.qpair == h)));
        }
        for r in freed {
            self.request_free(r);
        }
    }
}
