//! Pre-fix shapes of SPDK's teardown and state-change code that catalogue issue II's switches
//! put back (`spdk-paused-deactivate`, `spdk-double-destruct`, `spdk-3467`), next to the checks that tell
//! the fixed shape from the old one. With every switch off each function here answers "do
//! what the fixed SPDK does" and only records a coverage mark.
//!
//! Invariants: the old shapes break I10 (a CAS with no edge) and I3 (a controller destroyed
//! twice, or while a qpair still holds its mask bit) and I4 (v24.05's assert that no request
//! is left on `sgroup->queued` when a subsystem is added); the checks name SPDK's function.

use super::arena::{CtrlrH, QpairH, ReqH, SubsysH};
use super::state::SubState;
use super::thread::Msg;
use super::{BugId, InvariantId, Mark, Target, ThreadId};

impl Target {
    /// `nvmf_subsystem_set_state` from PAUSED: the PAUSED -> DEACTIVATING edge of fa949b0c14.
    /// Returns false (and records the failed assert) where the pre-fix table had no such edge;
    /// true lets the caller's CAS run.
    pub(super) fn stop_paused(&mut self, s: SubsysH, new: SubState) -> bool {
        let paused = self.subsystems.get(s).map(|sub| sub.state()) == Some(SubState::Paused);
        if !paused || new != SubState::Deactivating {
            return true;
        }
        self.mark(Mark::StoppedWhilePaused, format!("{s}"));
        if !self.bug(BugId::SpdkPausedDeactivate) {
            return true;
        }
        // Before fa949b0c14 DEACTIVATING expected ACTIVE and the CAS-failure fallbacks knew
        // only RESUMING -> ACTIVE, ACTIVATING -> DEACTIVATING and RESUMING -> PAUSING; the
        // second CAS fails and `assert(actual_old_state == expected_old_state)` fires (a
        // release build fails the stop and leaves the subsystem PAUSED).
        self.crash_on(
            InvariantId::LegalTransitions,
            "nvmf_subsystem_set_state",
            vec![format!("{s}")],
            "assert(actual_old_state == expected_old_state): no PAUSED -> DEACTIVATING edge \
             (stop of a paused subsystem)",
        );
        false
    }

    /// `_nvmf_subsystem_destroy` with controllers still on `subsystem->ctrlrs`. Fixed
    /// (97385af196): wait for them (returns false: the caller re-sends the destroy). Before
    /// it, `spdk_nvmf_subsystem_destroy` called `nvmf_ctrlr_destruct` on each and freed the
    /// subsystem (returns true: the caller goes on). Those controllers are on the list because
    /// their last-qpair teardown (`_nvmf_ctrlr_free_from_qpair` -> `nvmf_ctrlr_destruct`) is
    /// still on its way, so the direct destruct is a second one, or one while a qpair still
    /// holds its mask bit (I3).
    pub(super) fn destroy_with_ctrlrs(&mut self, s: SubsysH) -> bool {
        if !self.bug(BugId::SpdkDoubleDestruct) {
            self.mark(Mark::DestroyWaitedForCtrlrs, format!("{s}"));
            return false;
        }
        let Some(sub) = self.subsystems.get(s) else {
            return false;
        };
        let ctrlrs: Vec<CtrlrH> = sub.ctrlrs().collect();
        for h in ctrlrs {
            if let Some(detail) = self.destruct_in_flight(h) {
                let handles = vec![format!("{s}"), format!("{h}")];
                self.crash_on(
                    InvariantId::CtrlrDestroyedOnce,
                    "_nvmf_subsystem_destroy",
                    handles,
                    detail,
                );
                return false;
            }
            self.subsystem_remove_ctrlr(h);
        }
        true
    }

    /// Why destructing `h` now would break I3, if it would.
    fn destruct_in_flight(&self, h: CtrlrH) -> Option<&'static str> {
        let c = self.ctrlrs.get(h)?;
        if c.in_destruct() {
            Some("nvmf_ctrlr_destruct of a controller whose last-qpair destruct already started")
        } else if !c.qpair_mask().is_empty() {
            Some("nvmf_ctrlr_destruct of a controller whose qpair teardown is still in flight")
        } else {
            None
        }
    }
}

impl Target {
    /// `nvmf_poll_group_add_subsystem` met requests on `sgroup->queued` (left there by the
    /// previous holder of the subsystem id, or by this subsystem before it was stopped). Both
    /// profiles free them unanswered (v24.01 forgets them with `TAILQ_INIT`, master frees them
    /// with an error log). v24.05 also had `assert(false)` there (3e787bba61), which a
    /// subsystem reusing an id fires while an old qpair's queued request is still waiting
    /// for `_nvmf_qpair_sgroup_req_clean` (5993fd035d removed it, `spdk-3467`). Returns true
    /// after recording that assert.
    pub(super) fn stale_queued_on_add(&mut self, pg: u16, s: SubsysH, stale: &[ReqH]) -> bool {
        let Some(first) = stale.first() else {
            return false;
        };
        self.mark(Mark::StaleQueuedOnAdd, format!("pg{pg} sid={}", s.idx));
        if !self.bug(BugId::Spdk3467) {
            return false;
        }
        let handles = vec![format!("pg{pg} sid={}", s.idx), format!("{first}")];
        self.crash_on(
            InvariantId::RequestEndsOnce,
            "nvmf_poll_group_add_subsystem",
            handles,
            "assert(false): sgroup->queued not empty when adding subsystem",
        );
        true
    }
}

impl Target {
    /// `_nvmf_qpair_destroy` before 478f652436 (`spdk-2055`): a qpair with a controller sends
    /// `_nvmf_ctrlr_free_from_qpair` to the controller thread first, while it is still on its
    /// poll group; the group removal and transport fini come back later. Returns false (the
    /// fixed order: remove, fini, then free from the controller) with the switch off or
    /// without a controller (the old code finalized those at once too).
    pub(super) fn free_from_qpair_first(
        &mut self,
        h: QpairH,
        ctrlr: Option<CtrlrH>,
        qid: u16,
    ) -> bool {
        if !self.bug(BugId::Spdk2055) {
            return false;
        }
        let Some(c) = ctrlr else {
            return false;
        };
        // `qpair->ctrlr->thread`: fixed at creation, read on the qpair's poll group.
        let fixed = super::ownership::foreign(super::ownership::Foreign::FixedFields);
        let thread = self.live_ref(c, "_nvmf_qpair_destroy").map(|c| c.thread());
        drop(fixed);
        let Some(thread) = thread else {
            return false;
        };
        // v21.01 (`spdk-1850`): `spdk_nvmf_poll_group_remove` came first in
        // `_nvmf_qpair_destroy` (103f5c62f5 moved it into `_nvmf_transport_qpair_fini`).
        if self.bug(BugId::Spdk1850) && !self.poll_group_remove(h) {
            return true;
        }
        let msg = Msg::CtrlrFreeFromQpairFirst {
            ctrlr: c,
            qid,
            qpair: h,
        };
        self.send_msg(thread, msg);
        true
    }

    /// The old `_nvmf_ctrlr_free_from_qpair`: clear the bit (the last one starts the
    /// destruct), then `_nvmf_transport_qpair_fini` on the qpair's group.
    /// `ctrlr->admin_qpair` is never cleared in this order.
    pub(super) fn ctrlr_free_from_qpair_first(&mut self, c: CtrlrH, qid: u16, h: QpairH) {
        self.ctrlr_free_from_qpair(c, qid);
        if self.violation.is_some() {
            return;
        }
        // The model's record that this qpair's bit was released (no SPDK field).
        let index = super::ownership::bookkeeping();
        let Some(q) = self.qpairs.get_mut(h) else {
            return;
        };
        q.release_ctrlr();
        let pg = q.pg();
        drop(index);
        self.send_msg(
            ThreadId::PollGroup(pg),
            Msg::TransportQpairFini { qpair: h },
        );
    }

    /// The old `_nvmf_transport_qpair_fini` (PG): `spdk_nvmf_poll_group_remove`, then transport
    /// fini with no controller step after it. Between 103f5c62f5 and b503ef4fa0
    /// (`spdk-1819`) the removal also purged `sgroup->queued` through
    /// `qpair->ctrlr->subsys->id`, reading a controller the destruct may have freed.
    /// In v21.01 (`spdk-1850`) the qpair left its group in `_nvmf_qpair_destroy` already and
    /// this message only finalizes it.
    pub(super) fn transport_qpair_fini_old(&mut self, h: QpairH) {
        let Some(q) = self.qpairs.get(h) else {
            return;
        };
        if q.group().is_none() && self.bug(BugId::Spdk1850) {
            self.tcp_close_qpair(h, q.pg(), None);
            return;
        }
        let (label, ctrlr) = (q.label(), q.ctrlr());
        // Whether the controller is gone: the model's own question, not an SPDK read (SPDK
        // reads it only in the 1819 purge, reported below).
        let index = super::ownership::bookkeeping();
        let freed = ctrlr.filter(|c| !self.ctrlrs.contains(*c));
        drop(index);
        if let Some(c) = freed {
            self.mark(Mark::PollGroupRemoveAfterCtrlrFree, label.clone());
            if self.bug(BugId::Spdk1819) {
                self.crash_on(
                    InvariantId::NoDanglingReference,
                    "spdk_nvmf_poll_group_remove",
                    vec![label, format!("{c}")],
                    "reads qpair->ctrlr->subsys->id of a freed controller to purge sgroup->queued",
                );
                return;
            }
        }
        if !self.poll_group_remove(h) {
            return;
        }
        self.tcp_close_qpair(h, self.qpair_pg(h), None);
    }

    fn qpair_pg(&self, h: QpairH) -> u16 {
        self.qpairs.get(h).map_or(0, |q| q.pg())
    }

    /// `poll_group_update_subsystem` reads `ctrlr->admin_qpair->group` for each controller of
    /// the subsystem on this thread. In the old teardown order (`spdk-2055`) the admin qpair
    /// can be freed while its controller is still on `subsystem->ctrlrs`: a use after free.
    /// Returns false after recording it.
    pub(super) fn admin_qpair_readable(&mut self, c: CtrlrH) -> bool {
        let Some(admin) = self.ctrlrs.get(c).and_then(|c| c.admin_qpair()) else {
            return true;
        };
        if self.qpairs.contains(admin) {
            return true;
        }
        self.crash_on(
            InvariantId::NoDanglingReference,
            "poll_group_update_subsystem",
            vec![format!("{c}"), format!("{admin}")],
            "reads ctrlr->admin_qpair->group of a freed admin qpair (namespace change notice)",
        );
        false
    }
}
