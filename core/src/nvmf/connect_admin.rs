//! The admin-qpair checks of an I/O CONNECT (`_nvmf_ctrlr_add_io_qpair` before the hop to the
//! controller thread, `nvmf_ctrlr_add_io_qpair` and `ctrlr_add_qpair_and_send_rsp` after it):
//! what SPDK reads of `ctrlr->admin_qpair` when that qpair is tearing down or gone, with the
//! catalogue switches that put the historical reads back (`spdk-2220`: no check after the hop;
//! `spdk-admin-qpair-gone`: v24.01 dereferences a NULL `admin_qpair`).
//!
//! Invariants kept: an I/O qpair is added only to a controller whose admin qpair is ACTIVE on
//! its poll group at the moment of the add (else the CONNECT is rejected); where SPDK would
//! dereference a NULL admin qpair or group, an I1 violation names the function.

use super::arena::{QpairH, ReqH};
use super::qpair::Qpair;
use super::{BugId, InvariantId, Mark, Target};

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
        let Some(a) = admin.and_then(|a| self.qpairs.get(a).map(|q| (a, q))) else {
            return true;
        };
        let (h, q) = a;
        if self.pgs[usize::from(q.pg())].has_qpair(h) {
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
}
