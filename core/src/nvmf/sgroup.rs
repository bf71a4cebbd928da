//! The poll group's view of a subsystem (`struct spdk_nvmf_subsystem_poll_group`): its state,
//! `mgmt_io_outstanding`, the `queued` requests and per-namespace info, and the per-group steps
//! of a subsystem state change (`nvmf_poll_group_{add,remove,pause,resume}_subsystem`).
//!
//! Invariants kept: PAUSING becomes PAUSED only when `mgmt_io_outstanding == 0` and no pausing
//! namespace has I/O outstanding, and only then does the fan-out continue (I5, I7); resume
//! replays `queued` in order and sends namespace-changed AENs to controllers whose admin qpair
//! is on this group.

use super::arena::{QpairH, ReqH, SubsysH};
use super::subsystem::SubState;
use super::thread::Msg;
use super::{Mark, Target, ThreadId};
use crate::wire::AsyncEvent;
use serde::Serialize;
use std::collections::BTreeMap;

/// `struct spdk_nvmf_subsystem_pg_ns_info`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct NsInfo {
    /// INACTIVE, ACTIVE or PAUSING (never PAUSED).
    pub state: SubState,
    pub io_outstanding: u32,
}

/// `struct spdk_nvmf_subsystem_poll_group`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Sgroup {
    /// INACTIVE, ACTIVE, PAUSING or PAUSED.
    pub state: SubState,
    pub mgmt_io_outstanding: u32,
    pub queued: Vec<ReqH>,
    pub ns: BTreeMap<u32, NsInfo>,
    /// The fan-out waiting for this group to finish pausing (`sgroup->cb_fn`).
    pub pause_cb: Option<u64>,
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
        let Some(sub) = self.live_subsystem(s, "subsystem_state_change_on_pg") else {
            return;
        };
        let resuming = sub.state == SubState::Resuming;
        match requested {
            SubState::Inactive => self.pg_remove_subsystem(fan, pg, s),
            SubState::Active if resuming => self.pg_resume_subsystem(fan, pg, s),
            SubState::Active => self.pg_add_subsystem(fan, pg, s),
            _ => self.pg_pause_subsystem(fan, pg, s, nsid),
        }
    }

    /// `nvmf_poll_group_add_subsystem`.
    fn pg_add_subsystem(&mut self, fan: u64, pg: u16, s: SubsysH) {
        self.pg_update_subsystem(pg, s);
        let sg = self.pgs[usize::from(pg)].sgroups.entry(s).or_default();
        sg.state = SubState::Active;
        let queued = std::mem::take(&mut sg.queued);
        for info in sg.ns.values_mut() {
            info.state = SubState::Active;
        }
        // SPDK frees stale queued requests here with only an error log (#3467); the model
        // replays them so every command is answered (see docs/lifecycle.md).
        for r in queued {
            self.request_exec(r);
        }
        self.channel_continue(fan);
    }

    /// `nvmf_poll_group_pause_subsystem(nsid)`.
    fn pg_pause_subsystem(&mut self, fan: u64, pg: u16, s: SubsysH, nsid: u32) {
        let sg = self.pgs[usize::from(pg)].sgroups.entry(s).or_default();
        if sg.state == SubState::Paused {
            self.channel_continue(fan);
            return;
        }
        sg.state = SubState::Pausing;
        for (id, info) in sg.ns.iter_mut() {
            if nsid == 0 || *id == nsid {
                info.state = SubState::Pausing;
            }
        }
        sg.pause_cb = Some(fan);
        if !self.sgroup_check_paused(pg, s) {
            self.mark(Mark::PauseWaitedForDrain, format!("pg{pg} {s}"));
        }
    }

    /// PAUSING -> PAUSED once drained; fires the stored callback. Returns whether it did.
    pub(super) fn sgroup_check_paused(&mut self, pg: u16, s: SubsysH) -> bool {
        let Some(sg) = self.pgs[usize::from(pg)].sgroups.get_mut(&s) else {
            return false;
        };
        let busy = sg.mgmt_io_outstanding > 0
            || sg
                .ns
                .values()
                .any(|n| n.state == SubState::Pausing && n.io_outstanding > 0);
        if sg.state != SubState::Pausing || busy {
            return false;
        }
        sg.state = SubState::Paused;
        if let Some(fan) = sg.pause_cb.take() {
            self.channel_continue(fan);
        }
        true
    }

    /// `nvmf_poll_group_resume_subsystem`: update namespaces (AENs), ACTIVE, replay queued.
    fn pg_resume_subsystem(&mut self, fan: u64, pg: u16, s: SubsysH) {
        self.pg_update_subsystem(pg, s);
        let sg = self.pgs[usize::from(pg)].sgroups.entry(s).or_default();
        sg.state = SubState::Active;
        for info in sg.ns.values_mut() {
            info.state = SubState::Active;
        }
        let queued = std::mem::take(&mut sg.queued);
        for r in queued {
            self.mark(Mark::ConnectReplayedOnResume, format!("{r}"));
            self.request_exec(r);
        }
        self.channel_continue(fan);
    }

    /// `poll_group_update_subsystem`: add/remove namespace infos; if the set changed, a
    /// namespace-changed notice to every controller whose admin qpair is on this group.
    fn pg_update_subsystem(&mut self, pg: u16, s: SubsysH) {
        let Some(sub) = self.subsystems.get(s) else {
            return;
        };
        let nsids: Vec<u32> = sub.namespaces.keys().copied().collect();
        let ctrlrs: Vec<_> = sub.ctrlrs.values().copied().collect();
        let sg = self.pgs[usize::from(pg)].sgroups.entry(s).or_default();
        let before: Vec<u32> = sg.ns.keys().copied().collect();
        sg.ns.retain(|id, _| nsids.contains(id));
        for id in &nsids {
            sg.ns.entry(*id).or_insert(NsInfo {
                state: SubState::Inactive,
                io_outstanding: 0,
            });
        }
        if before == nsids {
            return;
        }
        for c in ctrlrs {
            let on_this_pg = self.ctrlrs.get(c).is_some_and(|c| {
                c.thread == ThreadId::PollGroup(pg)
                    && c.admin_qpair
                        .and_then(|q| self.qpairs.get(q))
                        .is_some_and(|q| q.pg == pg)
            });
            if on_this_pg {
                self.ctrlr_async_event(c, AsyncEvent::NAMESPACE_CHANGED);
            }
        }
    }

    /// `nvmf_poll_group_remove_subsystem`: INACTIVE, then disconnect-and-re-poll.
    fn pg_remove_subsystem(&mut self, fan: u64, pg: u16, s: SubsysH) {
        let sg = self.pgs[usize::from(pg)].sgroups.entry(s).or_default();
        sg.state = SubState::Inactive;
        self.remove_subsystem_poll(fan);
        let _ = s;
    }

    /// `nvmf_poll_group_remove_subsystem_msg`: disconnect every qpair whose controller is in
    /// the subsystem; re-send itself until none is left on the group.
    pub(super) fn remove_subsystem_poll(&mut self, fan: u64) {
        let Some(f) = self.fanouts.get(&fan) else {
            return;
        };
        let pg = f.pg;
        let super::thread::FanKind::StateChange { subsys: s, .. } = f.kind else {
            return;
        };
        let found: Vec<QpairH> = self.pgs[usize::from(pg)]
            .qpairs
            .iter()
            .copied()
            .filter(|q| self.qpair_in_subsystem(*q, s))
            .collect();
        if found.is_empty() {
            self.pg_remove_subsystem_done(pg, s);
            self.channel_continue(fan);
            return;
        }
        for q in found {
            self.qpair_disconnect(q);
        }
        let msg = Msg::RemoveSubsystemRepoll { fan };
        if self.pgs[usize::from(pg)]
            .qpairs
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
        self.qpairs
            .get(q)
            .and_then(|q| q.ctrlr)
            .and_then(|c| self.ctrlrs.get(c))
            .is_some_and(|c| c.subsys == s)
    }

    /// `_nvmf_poll_group_remove_subsystem_cb`: namespaces go INACTIVE. Requests still queued
    /// here (CONNECTs that never got a controller) are answered with an error rather than
    /// left behind (see docs/lifecycle.md).
    fn pg_remove_subsystem_done(&mut self, pg: u16, s: SubsysH) {
        let sg = self.pgs[usize::from(pg)].sgroups.entry(s).or_default();
        for info in sg.ns.values_mut() {
            info.state = SubState::Inactive;
        }
        let queued = std::mem::take(&mut sg.queued);
        for r in queued {
            let Some(req) = self.reqs.get(r) else {
                continue;
            };
            let qh = req.qpair;
            if let Some(q) = self.qpairs.get_mut(qh) {
                q.outstanding.push(r);
            }
            self.complete_with(r, crate::wire::status::ABORTED_SQ_DELETION);
        }
    }
}
