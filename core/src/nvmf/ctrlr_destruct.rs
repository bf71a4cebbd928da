//! The controller destruct chain as SPDK runs it across threads:
//! `_nvmf_ctrlr_free_from_qpair` (ctrlr thread) -> `nvmf_ctrlr_destruct` /
//! `nvmf_subsystem_remove_ctrlr` (subsystem thread) -> `_nvmf_ctrlr_destruct` (ctrlr thread,
//! spinning while a CC reset/shutdown is in progress).
//!
//! Invariant kept: a controller is destroyed exactly once, only with an empty qpair mask and
//! after every qpair referencing it is gone (I3); each step runs on its owner's thread (I6).
//! The `Ctrlr` keeper itself is in ctrlr.rs. See docs/lifecycle.md and docs/invariants.md.

use super::arena::CtrlrH;
use super::ctrlr::Ctrlr;
use super::ownership::{foreign, Foreign};

use super::planted::Plant;
use super::poller::PollerOwner;
use super::thread::Msg;
use super::{InvariantId, Mark, Target, ThreadId, Timer};

impl Target {
    /// The controller on its own thread (I1 + I6 checks).
    pub(super) fn ctrlr_on_thread(&mut self, h: CtrlrH, site: &str) -> Option<&mut Ctrlr> {
        let thread = self.live(h, site)?.thread();
        if !self.assert_thread(thread, site, format!("{h}")) {
            return None;
        }
        self.ctrlrs.get_mut(h)
    }

    /// `_nvmf_ctrlr_free_from_qpair` (ctrlr thread): clear the qid bit; when the mask is empty
    /// start the destruct chain.
    pub(super) fn ctrlr_free_from_qpair(&mut self, h: CtrlrH, qid: u16) {
        let Some(c) = self.ctrlr_on_thread(h, "_nvmf_ctrlr_free_from_qpair") else {
            return;
        };
        if !c.remove_qpair(qid) {
            return;
        }
        if c.begin_destruct().is_err() {
            self.crash_on(
                InvariantId::CtrlrDestroyedOnce,
                "_nvmf_ctrlr_free_from_qpair",
                vec![format!("{h}")],
                "assert(!ctrlr->in_destruct): destructed twice",
            );
            return;
        }
        self.send_msg(ThreadId::App, Msg::SubsystemRemoveCtrlr { ctrlr: h });
    }

    /// `nvmf_ctrlr_destruct` (subsystem thread): `nvmf_subsystem_remove_ctrlr`, then the free
    /// on the ctrlr thread.
    pub(super) fn subsystem_remove_ctrlr(&mut self, h: CtrlrH) {
        let _unlink = foreign(Foreign::SubsystemThreadRemovesCtrlr);
        let Some(c) = self.live(h, "nvmf_subsystem_remove_ctrlr") else {
            return;
        };
        let (s, cntlid, thread) = (c.subsys(), c.cntlid(), c.thread());
        if c.mark_removed() {
            if let Some(sub) = self.live(s, "nvmf_subsystem_remove_ctrlr") {
                sub.remove_ctrlr(cntlid);
            }
            self.wake(ThreadId::App);
            self.host_waits_recheck(s);
        }
        self.send_msg(thread, Msg::CtrlrDestruct { ctrlr: h });
    }

    /// `_nvmf_ctrlr_destruct` (ctrlr thread): spin while a CC reset/shutdown is in progress,
    /// then stop the keep-alive and association pollers and free.
    pub(super) fn ctrlr_destruct(&mut self, h: CtrlrH) {
        let Some(c) = self.ctrlr_on_thread(h, "_nvmf_ctrlr_destruct") else {
            return;
        };
        if c.disconnect_in_progress() {
            let thread = c.thread();
            self.park_msg(thread, Msg::CtrlrDestruct { ctrlr: h });
            return;
        }
        let users: Vec<(String, bool)> = self
            .qpairs
            .iter()
            // Old teardown order: a qpair whose bit was released may outlive the controller.
            .filter(|(_, q)| q.ctrlr() == Some(h) && !q.ctrlr_released())
            .map(|(_, q)| (q.label(), q.connect_req().is_some()))
            .collect();
        if !users.is_empty() {
            // A qpair parked for `_retry_qid_check` holds `qpair->ctrlr` without a bit in the
            // controller's qpair mask, so the last-qpair path does not wait for it.
            let detail = if users.iter().all(|(_, parked)| *parked) {
                "controller freed while a qpair parked for a duplicate-qid retry still references it"
            } else {
                "controller freed while a qpair still references it"
            };
            let users = users.into_iter().map(|(label, _)| label).collect();
            self.crash_on(
                InvariantId::CtrlrDestroyedOnce,
                "_nvmf_ctrlr_destruct",
                users,
                detail,
            );
            return;
        }
        let ctrlr = self.ctrlrs.get(h).map(Ctrlr::key).unwrap_or_default();
        // `nvmf_ctrlr_stop_keep_alive_timer`, `nvmf_ctrlr_stop_association_timer`: the CC
        // timers are gone already (the destruct waits for `disconnect_in_progress`).
        if !self.planted(Plant::KeepAliveNotStoppedAtFree) {
            self.poller_unregister(Timer::KeepAlive { ctrlr });
        }
        self.poller_unregister(Timer::Association { ctrlr });
        let Some(mut c) = self.ctrlrs.remove(h) else {
            return;
        };
        self.pollers_owner_freed(PollerOwner::Ctrlr(h));
        self.ctrlr_keys.remove(&c.key());
        for r in c.take_aers() {
            self.request_free(r);
        }
        self.history.ctrlrs_destroyed += 1;
        self.mark(Mark::CtrlrDestroyed, format!("cntlid={}", c.cntlid()));
    }
}
