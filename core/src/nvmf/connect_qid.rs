//! The duplicate-qid retry of an I/O CONNECT on the controller thread: a qid still in the
//! controller's mask parks the CONNECT in `qpair->connect_req` with a 1000 us `_retry_qid_check`
//! poller (the old qpair may be going away); found again on the retry, the CONNECT is refused
//! with INVALID_QUEUE_IDENTIFIER (`connect.rs`, `nvmf_ctrlr_add_qpair`).
//!
//! Invariant served: I17 (the retry writes the I/O qpair of another poll group, as SPDK's
//! `_retry_qid_check` does: `ownership::Foreign::CtrlrThreadAddsIoQpair`).

use super::arena::{CtrlrH, QpairH, ReqH};
use super::ownership::{foreign, Foreign};
use super::qpair::Qpair;
use super::{ConnId, Target, ThreadId, Timer};
use crate::time::Duration;

impl Target {
    /// A qid still in the mask: park the CONNECT in `qpair->connect_req` with `qpair->ctrlr`
    /// set, and register the 1000 us `_retry_qid_check` poller.
    pub(super) fn park_for_qid_retry(
        &mut self,
        r: ReqH,
        c: CtrlrH,
        (qh, pg, conn): (QpairH, u16, ConnId),
    ) {
        if let Some(q) = self.qpairs.get_mut(qh) {
            q.set_connect_req(Some(r));
            q.set_ctrlr(Some(c));
        }
        self.wake(ThreadId::PollGroup(pg));
        let period = Duration::from_micros(1000);
        let owner = super::poller::PollerOwner::Req(r);
        self.poller_register(Timer::QidRetry { conn }, owner, period, None);
    }

    /// The error path of a duplicate qid: `connect_req = NULL; qpair->ctrlr = NULL`.
    pub(super) fn clear_connect_req(&mut self, qh: super::arena::QpairH) {
        if let Some(q) = self.qpairs.get_mut(qh) {
            q.set_connect_req(None);
            q.set_ctrlr(None);
        }
        if let Some(pg) = self.qpairs.get(qh).map(Qpair::pg) {
            self.wake(ThreadId::PollGroup(pg));
        }
    }

    /// `_retry_qid_check` (controller thread poller): add the qpair again.
    pub(super) fn qid_retry(&mut self, conn: ConnId) {
        let _handed = foreign(Foreign::CtrlrThreadAddsIoQpair);
        let Some(qh) = self.conns.get(&conn).copied() else {
            return;
        };
        let Some(q) = self.qpairs.get(qh) else { return };
        let (Some(r), Some(c)) = (q.connect_req(), q.ctrlr()) else {
            return;
        };
        let Some(thread) = self.live(c, "_retry_qid_check").map(|c| c.thread()) else {
            return;
        };
        super::ownership::enter(&mut self.current, thread);
        self.ctrlr_add_qpair(r, c);
    }
}
