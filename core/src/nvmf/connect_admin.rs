//! The admin-qpair checks of an I/O CONNECT (`_nvmf_ctrlr_add_io_qpair` before the hop to the
//! controller thread, `nvmf_ctrlr_add_io_qpair` and `ctrlr_add_qpair_and_send_rsp` after it):
//! what SPDK reads of `ctrlr->admin_qpair` when that qpair is tearing down or gone, with the
//! catalogue switches that put the historical reads back (`spdk-2220`: no check after the hop;
//! `spdk-admin-qpair-gone`: v24.01 dereferences a NULL `admin_qpair`).
//!
//! `_nvmf_ctrlr_add_io_qpair` is split after its read of the admin qpair (docs/invariants.md,
//! "Reads split into steps"): its second step sends with the group the check read, as
//! cc2f6634b7 does; the planted `AdminGroupReread` reads it again, as v24.01 does.
//!
//! Invariants kept: an I/O qpair is added only to a controller whose admin qpair is ACTIVE on
//! its poll group at the moment of the add (else the CONNECT is rejected); where SPDK would
//! dereference a NULL admin qpair or group, an I1 violation names the function.

use super::arena::{CtrlrH, QpairH, ReqH};
use super::ownership::{foreign, Foreign};
use super::planted::Plant;
use super::qpair::Qpair;
use super::thread::Msg;
use super::{BugId, InvariantId, Mark, Target, ThreadId};

impl Target {
    /// An I/O CONNECT met a controller whose admin qpair finished teardown
    /// (`ctrlr->admin_qpair == NULL`). With `spdk-admin-qpair-gone` on (v24.01 as released)
    /// `site` dereferences it: returns true after recording the crash. Else the caller rejects.
    pub(super) fn admin_qpair_gone(&mut self, r: ReqH, admin: Option<QpairH>, site: &str) -> bool {
        if admin.is_some() {
            return false;
        }
        self.mark(Mark::IoConnectWithoutAdminQpair, format!("{r}"));
        if !self.bug(BugId::SpdkAdminQpairGone) {
            return false;
        }
        let label = self
            .reqs
            .get(r)
            .and_then(|req| self.qpairs.get(req.qpair))
            .map(Qpair::label)
            .unwrap_or_default();
        let detail = "I/O CONNECT dereferences ctrlr->admin_qpair after its teardown (NULL)";
        self.crash_on(
            InvariantId::NoDanglingReference,
            site,
            vec![label, "admin_qpair NULL".to_string()],
            detail,
        );
        true
    }

    /// `assert(ctrlr->admin_qpair->group->thread == spdk_get_thread())` in
    /// `ctrlr_add_qpair_and_send_rsp`: reads the admin qpair's group, NULL once
    /// `spdk_nvmf_poll_group_remove` ran (reachable when the after-hop check is missing,
    /// `spdk-2220`, and on both fixed profiles from `_retry_qid_check`, which calls it without
    /// the admin qpair check of the CONNECT path; `retried` says which caller it was).
    pub(super) fn assert_admin_on_group(&mut self, admin: Option<QpairH>, retried: bool) -> bool {
        let Some(q) = admin.and_then(|a| self.qpairs.get(a)) else {
            return true;
        };
        if q.group().is_some() {
            return true;
        }
        let label = q.label();
        self.crash_on(
            InvariantId::NoDanglingReference,
            "ctrlr_add_qpair_and_send_rsp",
            vec![label, "admin_qpair->group NULL".to_string()],
            if retried {
                "assert(ctrlr->admin_qpair->group->thread == spdk_get_thread()) reads a NULL \
                 group: a duplicate-qid CONNECT retried by _retry_qid_check"
            } else {
                "assert(ctrlr->admin_qpair->group->thread == spdk_get_thread()) reads a NULL group"
            },
        );
        false
    }

    /// The admin qpair's poll group if it is ACTIVE on one, read once (cc2f6634b7 keeps the
    /// state and the group in locals): the check of both I/O CONNECT hops.
    pub(super) fn active_admin_group(&self, admin: Option<QpairH>) -> Option<u16> {
        admin
            .and_then(|a| self.qpairs.get(a))
            .filter(|a| a.state().is_active())
            .and_then(Qpair::group)
    }

    /// The end of `_nvmf_ctrlr_add_io_qpair`: `qpair->ctrlr = ctrlr`, then
    /// `spdk_thread_send_msg(group->thread, nvmf_ctrlr_add_io_qpair)` with the group the check
    /// read (master `ctrlr.c:843`, the local `admin_qpair_group` of cc2f6634b7). v24.01 reads
    /// `admin_qpair->group` again here (`ctrlr.c:705`); the planted `AdminGroupReread` does.
    pub(super) fn subsystem_add_io_qpair_send(
        &mut self,
        r: ReqH,
        c: CtrlrH,
        admin: QpairH,
        group: u16,
    ) {
        let _checks = foreign(Foreign::SubsystemThreadChecksIoConnect);
        let site = "_nvmf_ctrlr_add_io_qpair";
        let Some(req) = self.live(r, site) else {
            return;
        };
        let (qh, pg) = (req.qpair, req.pg);
        let group = if self.planted(Plant::AdminGroupReread) {
            match self.reread_admin_group(admin, qh, site) {
                Some(g) => g,
                None => return,
            }
        } else {
            group
        };
        if let Some(q) = self.qpairs.get_mut(qh) {
            q.set_ctrlr(Some(c));
        }
        self.wake(ThreadId::PollGroup(pg));
        let msg = Msg::CtrlrAddIoQpair { req: r, ctrlr: c };
        self.send_msg(ThreadId::PollGroup(group), msg);
    }

    /// The planted re-read of `admin_qpair->group->thread` after the check: a NULL group
    /// (`spdk_nvmf_poll_group_remove` ran in between) or a freed admin qpair is a crash (I1).
    fn reread_admin_group(&mut self, admin: QpairH, io: QpairH, site: &str) -> Option<u16> {
        let group = self.qpairs.get(admin).map(Qpair::group);
        if let Some(Some(g)) = group {
            return Some(g);
        }
        let io_label = self.qpairs.get(io).map(Qpair::label).unwrap_or_default();
        let detail = match group {
            None => "reads admin_qpair->group of a freed admin qpair (use after free)",
            Some(_) => "reads admin_qpair->group->thread: group is NULL (spdk_nvmf_poll_group_remove ran after the check)",
        };
        let handles = vec![io_label, format!("{admin}")];
        self.crash_on(InvariantId::NoDanglingReference, site, handles, detail);
        None
    }
}
