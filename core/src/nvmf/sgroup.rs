//! The poll group's view of a subsystem (`struct spdk_nvmf_subsystem_poll_group`): its state,
//! `mgmt_io_outstanding`, the `queued` requests and per-namespace info, and the per-group steps
//! of a subsystem state change (`nvmf_poll_group_{add,remove,pause,resume}_subsystem`).
//!
//! Invariants kept: PAUSING becomes PAUSED only when `mgmt_io_outstanding == 0` and no pausing
//! namespace has I/O outstanding, and only then does the fan-out continue (I5, I7); resume
//! replays `queued` in order and sends namespace-changed AENs to controllers whose admin qpair
//! is on this group.
//!
//! Keeper: `Sgroup` (private fields) is the only writer of the group state and the I7
//! counters; `Target` code here runs the per-group steps of a state change. See
//! docs/lifecycle.md (pause/resume) and docs/invariants.md (I5, I7).

use super::arena::{CtrlrH, QpairH, ReqH, SubsysH};
use super::ownership::{foreign, Foreign};
use super::state::SubState;
use super::thread::{FanKind, Msg};
use super::{Mark, Target, ThreadId};
use crate::wire::AsyncEvent;
use serde::Serialize;
use std::collections::BTreeMap;

/// `SPDK_NVME_GLOBAL_NS_TAG`: "every namespace" in a pause.
pub const GLOBAL_NS_TAG: u32 = 0xFFFF_FFFF;

/// `struct spdk_nvmf_subsystem_pg_ns_info`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct NsInfo {
    /// INACTIVE, ACTIVE or PAUSING (never PAUSED).
    state: SubState,
    io_outstanding: u32,
    /// `ns_info->num_blocks`: the size this group last saw (a change is a namespace change).
    num_blocks: u64,
}

impl NsInfo {
    pub fn io_outstanding(&self) -> u32 {
        self.io_outstanding
    }
}

/// `struct spdk_nvmf_subsystem_poll_group`: the only writer of its state and of the I7
/// counters (`mgmt_io_outstanding`, `ns_info[].io_outstanding`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Sgroup {
    /// INACTIVE, ACTIVE, PAUSING or PAUSED.
    state: SubState,
    mgmt_io_outstanding: u32,
    queued: Vec<ReqH>,
    ns: BTreeMap<u32, NsInfo>,
    /// The fan-out waiting for this group to finish pausing (`sgroup->cb_fn`).
    pause_cb: Option<u64>,
}

impl Default for Sgroup {
    fn default() -> Self {
        Sgroup {
            state: SubState::Inactive,
            mgmt_io_outstanding: 0,
            queued: Vec::new(),
            ns: BTreeMap::new(),
            pause_cb: None,
        }
    }
}

/// A counter release that would go below zero (I7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Underflow;

impl Sgroup {
    pub fn state(&self) -> SubState {
        self.state
    }

    pub fn mgmt_io_outstanding(&self) -> u32 {
        self.mgmt_io_outstanding
    }

    /// Per-namespace infos by NSID.
    pub fn namespaces(&self) -> impl Iterator<Item = (u32, &NsInfo)> {
        self.ns.iter().map(|(id, info)| (*id, info))
    }

    /// The state of namespace `nsid` on this group (None if the group does not know it).
    pub fn ns_state(&self, nsid: u32) -> Option<SubState> {
        self.ns.get(&nsid).map(|n| n.state)
    }

    /// `nvmf_check_subsystem_active` for an admin or fabrics command: `mgmt_io_outstanding++`.
    /// Also v24.01's `retry_connect`, which re-admits without looking at the group's state.
    pub fn admit_mgmt(&mut self) {
        self.mgmt_io_outstanding += 1;
    }

    /// `nvmf_check_subsystem_active` for an I/O command on an ACTIVE namespace:
    /// `ns_info->io_outstanding++`. Returns false if the group has no such namespace.
    pub fn admit_io(&mut self, nsid: u32) -> bool {
        let Some(ns) = self.ns.get_mut(&nsid) else {
            return false;
        };
        debug_assert_eq!(
            ns.state,
            SubState::Active,
            "nvmf_check_subsystem_active admits I/O only on an ACTIVE namespace"
        );
        ns.io_outstanding += 1;
        true
    }

    /// Parks a request in `sgroup->queued` (replayed on resume, in order).
    pub fn queue(&mut self, r: ReqH) {
        debug_assert!(
            !self.queued.contains(&r),
            "a request sits in sgroup->queued at most once"
        );
        self.queued.push(r);
    }

    /// Releases one admission (`mgmt_io_outstanding--` or `io_outstanding--` of `nsid`).
    /// Never goes below zero: that is an I7 violation the caller records.
    pub fn release(&mut self, nsid: Option<u32>) -> Result<(), Underflow> {
        let counter = match nsid {
            None => &mut self.mgmt_io_outstanding,
            Some(n) => &mut self.ns.get_mut(&n).ok_or(Underflow)?.io_outstanding,
        };
        *counter = counter.checked_sub(1).ok_or(Underflow)?;
        Ok(())
    }

    /// `nvmf_poll_group_add_subsystem` / `_resume_subsystem`: the group and every namespace go
    /// ACTIVE; returns the queued requests to replay, in order.
    pub fn activate(&mut self) -> Vec<ReqH> {
        self.state = SubState::Active;
        for info in self.ns.values_mut() {
            info.state = SubState::Active;
        }
        std::mem::take(&mut self.queued)
    }

    /// `nvmf_poll_group_pause_subsystem(nsid)`. Returns true if the pause is complete now
    /// (the caller continues the fan-out), false if it waits for a drain (the fan-out is
    /// stored and continued by `try_finish_pause`). `drain_when_paused` is the whole fix
    /// d123762feb: a group already PAUSED still marks the targeted namespace PAUSING and
    /// waits for its I/O; without it (SPDK #3738) the group returns at once.
    pub fn begin_pause(&mut self, nsid: u32, fan: u64, drain_when_paused: bool) -> bool {
        debug_assert!(
            self.pause_cb.is_none(),
            "nvmf_poll_group_pause_subsystem: assert(sgroup->cb_fn == NULL)"
        );
        if self.state == SubState::Paused {
            if !drain_when_paused || !self.pause_ns(nsid) {
                return true;
            }
            self.state = SubState::Pausing;
            self.pause_cb = Some(fan);
            return false;
        }
        self.state = SubState::Pausing;
        let draining = self.pause_ns(nsid);
        if self.mgmt_io_outstanding > 0 || draining {
            self.pause_cb = Some(fan);
            return false;
        }
        self.state = SubState::Paused;
        true
    }

    /// `nvmf_sgroup_pause_ns`: marks the namespace(s) PAUSING; returns whether any has I/O
    /// outstanding. 0xFFFFFFFF names every namespace; nsid 0 (listener changes, resize)
    /// names none.
    fn pause_ns(&mut self, nsid: u32) -> bool {
        let mut draining = false;
        for (id, info) in self.ns.iter_mut() {
            if nsid == GLOBAL_NS_TAG || *id == nsid {
                info.state = SubState::Pausing;
                draining |= info.io_outstanding > 0;
            }
        }
        draining
    }

    /// PAUSING -> PAUSED once `mgmt_io_outstanding == 0` and no pausing namespace has I/O
    /// outstanding. Returns None if it did not complete, else the stored fan-out.
    pub fn try_finish_pause(&mut self) -> Option<Option<u64>> {
        let busy = self.mgmt_io_outstanding > 0
            || self
                .ns
                .values()
                .any(|n| n.state == SubState::Pausing && n.io_outstanding > 0);
        if self.state != SubState::Pausing || busy {
            return None;
        }
        debug_assert_eq!(
            self.mgmt_io_outstanding, 0,
            "nvmf_poll_group_pause_subsystem: assert(sgroup->mgmt_io_outstanding == 0)"
        );
        self.state = SubState::Paused;
        Some(self.pause_cb.take())
    }

    /// `nvmf_poll_group_remove_subsystem`: the group and its namespaces go INACTIVE (queued
    /// requests stay queued: SPDK neither answers nor frees them here).
    pub fn deactivate(&mut self) {
        self.state = SubState::Inactive;
        for info in self.ns.values_mut() {
            info.state = SubState::Inactive;
        }
    }

    /// `nvmf_poll_group_add_subsystem`: requests still queued from before the group was
    /// removed are dropped without an answer (master frees them, v24.01's `TAILQ_INIT`
    /// forgets them).
    pub fn take_stale_queued(&mut self) -> Vec<ReqH> {
        std::mem::take(&mut self.queued)
    }

    /// `poll_group_update_subsystem`'s namespace part: keep exactly `namespaces` (nsid,
    /// blocks; new ones INACTIVE). Returns whether the set or a size changed (SPDK compares
    /// `ns_info->num_blocks` with the bdev's size).
    pub fn update_namespaces(&mut self, namespaces: &[(u32, u64)]) -> bool {
        let before: Vec<(u32, u64)> = self.ns.iter().map(|(&id, n)| (id, n.num_blocks)).collect();
        self.ns
            .retain(|id, _| namespaces.iter().any(|(n, _)| n == id));
        for &(id, num_blocks) in namespaces {
            self.ns
                .entry(id)
                .or_insert(NsInfo {
                    state: SubState::Inactive,
                    io_outstanding: 0,
                    num_blocks,
                })
                .num_blocks = num_blocks;
        }
        before != namespaces
    }

    /// `sgroup->queued`, oldest first.
    pub fn queued(&self) -> &[ReqH] {
        &self.queued
    }

    /// The subsystem holding this sgroup's id was freed: the sgroup stays in the group's array
    /// with its `queued` list and counters, for the next subsystem that gets the same id. Its
    /// namespace infos go (SPDK frees `ns_info` already in
    /// `_nvmf_poll_group_remove_subsystem_cb`; the model keeps them until the free, which no
    /// stopped subsystem can observe).
    pub fn subsystem_freed(&mut self) {
        self.state = SubState::Inactive;
        self.ns.clear();
    }

    /// Removes and returns the queued requests `mine` selects.
    pub fn purge_queued(&mut self, mut mine: impl FnMut(ReqH) -> bool) -> Vec<ReqH> {
        let mut freed = Vec::new();
        self.queued.retain(|r| {
            let m = mine(*r);
            if m {
                freed.push(*r);
            }
            !m
        });
        freed
    }
}

impl Target {
    /// `subsystem_state_change_on_pg`.
    pub(super) fn state_change_on_pg(
        &mut self,
        fan: u64,
        pg: u16,
        s: SubsysH,
        requested: SubState,
        nsid: u32,
    ) {
        let read = foreign(Foreign::PollGroupReadsSubsystem);
        let Some(sub) = self.live_ref(s, "subsystem_state_change_on_pg") else {
            return;
        };
        let resuming = sub.state() == SubState::Resuming;
        drop(read);
        match requested {
            SubState::Inactive => self.pg_remove_subsystem(fan, pg, s),
            SubState::Active if resuming => self.pg_resume_subsystem(fan, pg, s),
            SubState::Active => self.pg_add_subsystem(fan, pg, s),
            _ => self.pg_pause_subsystem(fan, pg, s, nsid),
        }
    }

    /// `nvmf_poll_group_add_subsystem`.
    fn pg_add_subsystem(&mut self, fan: u64, pg: u16, s: SubsysH) {
        let stale = self.pgs[usize::from(pg)].sgroup_mut(s).take_stale_queued();
        if self.stale_queued_on_add(pg, s, &stale) {
            return;
        }
        for r in stale {
            self.request_lost(r, "nvmf_poll_group_add_subsystem");
        }
        self.pg_update_subsystem(pg, s);
        let replay = self.pgs[usize::from(pg)].sgroup_mut(s).activate();
        debug_assert!(replay.is_empty(), "stale requests were dropped first");
        self.channel_continue(fan);
    }

    /// `nvmf_poll_group_pause_subsystem(nsid)`.
    fn pg_pause_subsystem(&mut self, fan: u64, pg: u16, s: SubsysH, nsid: u32) {
        let fixed = !self.bug(super::BugId::Spdk3738);
        let sg = self.pgs[usize::from(pg)].sgroup_mut(s);
        let was_paused = sg.state() == SubState::Paused;
        if sg.begin_pause(nsid, fan, fixed) {
            self.channel_continue(fan);
            return;
        }
        if was_paused {
            self.mark(Mark::NsPauseOfPausedDrained, format!("pg{pg} {s} ns{nsid}"));
        }
        self.mark(Mark::PauseWaitedForDrain, format!("pg{pg} {s}"));
    }

    /// PAUSING -> PAUSED once drained; fires the stored callback. Returns whether it did.
    pub(super) fn sgroup_check_paused(&mut self, pg: u16, s: SubsysH) -> bool {
        let Some(sg) = self.pgs[usize::from(pg)].existing_sgroup_mut(s) else {
            return false;
        };
        let Some(cb) = sg.try_finish_pause() else {
            return false;
        };
        if let Some(fan) = cb {
            self.channel_continue(fan);
        }
        true
    }

    /// `nvmf_poll_group_resume_subsystem`: update namespaces (AENs), ACTIVE, replay queued.
    fn pg_resume_subsystem(&mut self, fan: u64, pg: u16, s: SubsysH) {
        self.pg_update_subsystem(pg, s);
        let queued = self.pgs[usize::from(pg)].sgroup_mut(s).activate();
        for r in queued {
            self.mark(Mark::ConnectReplayedOnResume, format!("{r}"));
            self.request_exec(r);
        }
        self.channel_continue(fan);
    }

    /// `poll_group_update_subsystem`: add/remove namespace infos; if the set changed, a
    /// namespace-changed notice to every controller whose admin qpair is on this group.
    fn pg_update_subsystem(&mut self, pg: u16, s: SubsysH) {
        let _read = (
            foreign(Foreign::PollGroupReadsSubsystem),
            foreign(Foreign::FixedFields),
        );
        let Some(sub) = self.subsystems.get(s) else {
            return;
        };
        let nsids: Vec<(u32, u64)> = sub
            .namespaces()
            .map(|n| (n.cfg.nsid, n.cfg.blocks))
            .collect();
        let ctrlrs: Vec<CtrlrH> = sub.ctrlrs().collect();
        if !self.pgs[usize::from(pg)]
            .sgroup_mut(s)
            .update_namespaces(&nsids)
        {
            return;
        }
        for c in ctrlrs {
            let here = self
                .ctrlrs
                .get(c)
                .is_some_and(|c| c.thread() == ThreadId::PollGroup(pg));
            if here && !self.admin_qpair_readable(c) {
                return;
            }
            let on_this_pg = self.ctrlrs.get(c).is_some_and(|c| {
                c.thread() == ThreadId::PollGroup(pg)
                    && c.admin_qpair()
                        .and_then(|q| self.qpairs.get(q))
                        .is_some_and(|q| q.group() == Some(pg))
            });
            if on_this_pg {
                self.ctrlr_async_event(c, AsyncEvent::NAMESPACE_CHANGED);
            }
        }
    }

    /// `nvmf_poll_group_remove_subsystem`: INACTIVE, then disconnect-and-re-poll.
    fn pg_remove_subsystem(&mut self, fan: u64, pg: u16, s: SubsysH) {
        self.pgs[usize::from(pg)].sgroup_mut(s).deactivate();
        self.remove_subsystem_poll(fan);
    }

    /// `nvmf_poll_group_remove_subsystem_msg`: disconnect every qpair whose controller is in
    /// the subsystem; re-send itself until none is left on the group.
    pub(super) fn remove_subsystem_poll(&mut self, fan: u64) {
        let Some(f) = self.fanouts.get(&fan) else {
            return;
        };
        let pg = f.pg;
        let FanKind::StateChange { subsys: s, .. } = f.kind else {
            return;
        };
        let found: Vec<QpairH> = self.pgs[usize::from(pg)]
            .qpairs()
            .iter()
            .copied()
            .filter(|q| self.qpair_in_subsystem(*q, s))
            .collect();
        if found.is_empty() {
            // `_nvmf_poll_group_remove_subsystem_cb`: the namespaces are already INACTIVE;
            // requests still queued stay queued, unanswered (SPDK does the same).
            self.channel_continue(fan);
            return;
        }
        for q in found {
            self.qpair_disconnect(q);
        }
        let msg = Msg::RemoveSubsystemRepoll { fan };
        if self.pgs[usize::from(pg)]
            .qpairs()
            .iter()
            .any(|q| self.qpair_in_subsystem(*q, s))
        {
            self.park_msg(ThreadId::PollGroup(pg), msg);
        } else {
            self.send_msg(ThreadId::PollGroup(pg), msg);
        }
    }

    /// `qpair->ctrlr && qpair->ctrlr->subsys == subsystem`.
    fn qpair_in_subsystem(&self, q: QpairH, s: SubsysH) -> bool {
        let _fixed = foreign(Foreign::FixedFields);
        self.qpairs
            .get(q)
            .and_then(|q| q.ctrlr())
            .and_then(|c| self.ctrlrs.get(c))
            .is_some_and(|c| c.subsys() == s)
    }
}
