//! Counter recomputation at completion (S4): what `_nvmf_request_complete` releases for a
//! request, worked out as SPDK does from the request, its qpair and its controller, not from
//! what admission recorded.
//!
//! Invariant kept: the recomputed counter equals the request's own tag (`Request::counted`);
//! a difference is SPDK's accounting going wrong (I7 at `_nvmf_request_complete`).

use super::arena::ReqH;
use super::ownership::{foreign, Foreign};
use super::request::Counted;
use super::{InvariantId, Target};
use crate::wire::Command;

impl Target {
    /// Releases an sgroup counter (I7: never below zero) and completes a drained pause.
    pub(super) fn uncount(&mut self, pg: u16, counted: Counted) {
        let (s, nsid) = match counted {
            Counted::None => return,
            Counted::Mgmt(s) => (s, None),
            Counted::Io(s, n) => (s, Some(n)),
        };
        if self.pgs[usize::from(pg)]
            .sgroup_mut(s)
            .release(nsid)
            .is_err()
        {
            self.crash_on(
                InvariantId::SgroupCountersExact,
                "_nvmf_request_complete",
                vec![format!("pg{pg} {s}")],
                "sgroup counter underflow",
            );
            return;
        }
        self.sgroup_check_paused(pg, s);
    }

    /// What `_nvmf_request_complete` decrements for `r`, recomputed as SPDK does from the
    /// request (S4): the sgroup of the qpair's controller's subsystem, or of a CONNECT's
    /// subsystem by NQN; AERs on the admin queue are skipped; fabrics and admin commands
    /// release `mgmt_io_outstanding`, I/O its namespace's `io_outstanding` (an nsid the group
    /// has no info for is not counted on either side). The request's own tag (`counted`) is
    /// kept only as the check: if the two disagree SPDK's accounting is off (I7). None if the
    /// objects needed are gone (reported elsewhere); the tag is used then.
    pub(super) fn completion_counter(&mut self, r: ReqH) -> Option<Counted> {
        let spdk = self.spdk_completion_counter(r)?;
        let req = self.reqs.get(r)?;
        if spdk != req.counted() {
            let orphan = if self.connect_of_gone_subsystem(r) {
                " (a CONNECT whose subsystem was deleted: nvmf_subsystem_pg_from_connect_cmd \
                 finds no sgroup)"
            } else {
                ""
            };
            let detail = format!(
                "_nvmf_request_complete releases {spdk:?} but the request holds {:?}{orphan}",
                req.counted()
            );
            let handles = vec![format!("{r}"), format!("pg{}", req.pg)];
            self.crash_on(
                InvariantId::SgroupCountersExact,
                "_nvmf_request_complete",
                handles,
                &detail,
            );
        }
        Some(spdk)
    }

    /// An AER on an admin qpair that has a controller (the requests SPDK's AER offset and
    /// completion skip are about).
    pub(super) fn is_admin_aer(&self, r: ReqH) -> bool {
        let Some(req) = self.reqs.get(r) else {
            return false;
        };
        let q = self.qpairs.get(req.qpair);
        req.cmd == Command::AsyncEventRequest
            && q.is_some_and(|q| q.qid() == 0 && q.ctrlr().is_some())
    }

    /// A CONNECT without a controller whose subsystem is no longer found by its NQN.
    fn connect_of_gone_subsystem(&self, r: ReqH) -> bool {
        let Some(req) = self.reqs.get(r) else {
            return false;
        };
        let ctrlr = self.qpairs.get(req.qpair).and_then(|q| q.ctrlr());
        ctrlr.is_none()
            && req.is_connect()
            && req
                .connect_data()
                .is_some_and(|d| self.find_subsystem(&d.subnqn).is_none())
    }

    fn spdk_completion_counter(&self, r: ReqH) -> Option<Counted> {
        let req = self.reqs.get(r)?;
        let q = self.qpairs.get(req.qpair)?;
        let fixed = foreign(Foreign::FixedFields);
        let s = match q.ctrlr() {
            Some(c) => self.ctrlrs.get(c)?.subsys(),
            // `nvmf_subsystem_pg_from_connect_cmd`: no subsystem by that NQN, no sgroup, nothing
            // released.
            None if req.is_connect() => match self.find_subsystem(&req.connect_data()?.subnqn) {
                Some(s) => s,
                None => return Some(Counted::None),
            },
            None => return Some(Counted::None),
        };
        drop(fixed);
        let (_, sg) = self.pgs[usize::from(req.pg)]
            .sgroups()
            .find(|(sid, _)| *sid == s.idx)?;
        if q.qid() == 0 && req.cmd == Command::AsyncEventRequest {
            return Some(Counted::None);
        }
        if q.qid() == 0 || req.is_fabrics() {
            return Some(Counted::Mgmt(s));
        }
        let nsid = req.sqe.nsid;
        Some(match sg.ns_state(nsid) {
            Some(_) => Counted::Io(s, nsid),
            None => Counted::None,
        })
    }
}
