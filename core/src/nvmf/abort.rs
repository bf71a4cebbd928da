//! Abort (`nvmf_ctrlr_abort`): the answer starts as "not aborted" (CDW0 bit 0 = 1), then a
//! `for_each_channel` looks on every poll group for this controller's qpair with the SQID
//! (`nvmf_ctrlr_abort_on_pg`); on the group that has it, `nvmf_qpair_abort_request` completes
//! an outstanding AER with that CID as "aborted by request" and clears CDW0 bit 0, and the walk
//! stops there; the Abort completes on that group, or at the walk's end when no qpair matched.
//!
//! Simplification (docs/runtime.md): a command other than an AER is never aborted (SPDK's TCP
//! transport can also abort a command still waiting for a buffer or for its H2C data, and the
//! bdev layer one it has queued; RAM I/O is never queued), so races between an Abort and the
//! completion of the aborted I/O are not explored. Owns no state (the walk is a `Fanout`).

use super::arena::{CtrlrH, ReqH};
use super::ownership::{foreign, Foreign};
use super::thread::FanKind;
use super::Target;
use crate::wire::Status;

/// `NVMF_ABORT_COMMAND_LIMIT` (0's based: four Aborts at once).
pub const ABORT_COMMAND_LIMIT: u8 = 3;
/// Generic SC 0x07: command abort requested.
const ABORTED_BY_REQUEST: Status = Status::new(0, 0x07);

impl Target {
    /// `nvmf_ctrlr_abort` (admin, ctrlr thread).
    pub(super) fn abort_start(&mut self, r: ReqH, c: CtrlrH) {
        let Some(req) = self.reqs.get_mut(r) else {
            return;
        };
        req.rsp.cdw0 = 1;
        let cdw10 = req.sqe.cdw10;
        self.for_each_channel(FanKind::Abort {
            req: r,
            ctrlr: c,
            sqid: cdw10 as u16,
            cid: (cdw10 >> 16) as u16,
            found: false,
        });
    }

    /// `nvmf_ctrlr_abort_on_pg`: true if the qpair is on this group (the walk stops).
    pub(super) fn abort_on_pg(&mut self, pg: u16, r: ReqH, c: CtrlrH, sqid: u16, cid: u16) -> bool {
        let _handed = foreign(Foreign::AbortFanout);
        let found = self.pgs[usize::from(pg)].qpairs().iter().any(|q| {
            self.qpairs
                .get(*q)
                .is_some_and(|q| q.ctrlr() == Some(c) && q.qid() == sqid)
        });
        if found {
            self.qpair_abort_request(r, c, sqid, cid);
        }
        found
    }

    /// `nvmf_qpair_abort_request`: an AER with the CID is aborted; nothing else is.
    fn qpair_abort_request(&mut self, r: ReqH, c: CtrlrH, sqid: u16, cid: u16) {
        let aer = (sqid == 0)
            .then(|| self.ctrlrs.get(c))
            .flatten()
            .and_then(|ctrlr| {
                ctrlr
                    .aers()
                    .iter()
                    .copied()
                    .find(|a| self.reqs.get(*a).is_some_and(|q| q.sqe.cid == cid))
            });
        if let Some(a) = aer {
            if let Some(ctrlr) = self.ctrlrs.get_mut(c) {
                ctrlr.remove_aer(a);
            }
            self.complete_with(a, ABORTED_BY_REQUEST);
            if let Some(req) = self.reqs.get_mut(r) {
                req.rsp.cdw0 &= !1;
            }
        }
        self.request_complete(r);
    }
}
