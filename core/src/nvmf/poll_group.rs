//! Poll groups (`struct spdk_nvmf_poll_group`): the qpairs on the group (`group->qpairs`, in
//! insertion order), the per-subsystem sgroups, and poll-group destroy during target shutdown
//! (`_nvmf_tgt_disconnect_qpairs`: disconnect everything, re-poll until the group is empty).
//!
//! Invariant kept: a qpair is on exactly the group it was assigned to from `_nvmf_poll_group_add`
//! until `_nvmf_qpair_destroy` removes it.
//!
//! Keeper: `PollGroup` (private fields) owns `group->qpairs` and the sgroup array. See
//! docs/lifecycle.md.
//!
//! `group->sgroups` is indexed by subsystem id (`subsystem->id`, the arena slot of the
//! subsystem: `spdk_nvmf_subsystem_create` takes the lowest free id, as the arena does), not by
//! the generation-tagged handle: an sgroup outlives its subsystem, and a subsystem created
//! later with the same id inherits whatever its predecessor left there (`sgroup->queued`).

use super::arena::{QpairH, SubsysH};
use super::sgroup::Sgroup;
use super::thread::Msg;
use super::{Target, ThreadId};
use serde::Serialize;
use std::collections::BTreeMap;

/// One poll group: the only writer of `group->qpairs` and of its sgroups map.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Default)]
pub struct PollGroup {
    qpairs: Vec<QpairH>,
    /// `group->sgroups[subsystem->id]` (entries appear on first use, calloc'd INACTIVE).
    #[serde(serialize_with = "super::arena::ser_pairs")]
    sgroups: BTreeMap<u32, Sgroup>,
    destroyed: bool,
    /// The TCP transport's poll group (`struct spdk_nvmf_tcp_poll_group`, tcp_slots.rs).
    pub tcp: super::tcp_slots::TcpGroup,
}

impl PollGroup {
    /// `group->qpairs`, in insertion order.
    pub fn qpairs(&self) -> &[QpairH] {
        &self.qpairs
    }

    pub fn has_qpair(&self, h: QpairH) -> bool {
        self.qpairs.contains(&h)
    }

    /// `TAILQ_INSERT_TAIL(&group->qpairs, qpair)` in `spdk_nvmf_poll_group_add`.
    pub fn add_qpair(&mut self, h: QpairH) {
        debug_assert!(
            !self.qpairs.contains(&h),
            "spdk_nvmf_poll_group_add: a qpair joins its group once"
        );
        debug_assert!(!self.destroyed, "no qpair joins a destroyed poll group");
        self.qpairs.push(h);
    }

    /// `TAILQ_REMOVE(&group->qpairs, qpair)` in `spdk_nvmf_poll_group_remove`.
    pub fn remove_qpair(&mut self, h: QpairH) {
        self.qpairs.retain(|x| *x != h);
    }

    /// `&group->sgroups[subsystem->id]`.
    pub fn sgroup_mut(&mut self, s: SubsysH) -> &mut Sgroup {
        self.sgroups.entry(s.idx).or_default()
    }

    /// The sgroup of `s`'s id, mutably, if it was ever used.
    pub fn existing_sgroup_mut(&mut self, s: SubsysH) -> Option<&mut Sgroup> {
        self.sgroups.get_mut(&s.idx)
    }

    /// Every sgroup used so far, by subsystem id.
    pub fn sgroups(&self) -> impl Iterator<Item = (u32, &Sgroup)> {
        self.sgroups.iter().map(|(s, sg)| (*s, sg))
    }

    /// Every sgroup, mutably, by subsystem id.
    pub fn sgroups_mut(&mut self) -> impl Iterator<Item = (u32, &mut Sgroup)> {
        self.sgroups.iter_mut().map(|(s, sg)| (*s, sg))
    }

    /// Whether `nvmf_tgt_destroy_poll_group` freed the group (shutdown).
    pub fn is_destroyed(&self) -> bool {
        self.destroyed
    }

    /// `nvmf_tgt_destroy_poll_group`: the group is freed (whatever is still linked on it).
    pub fn destroy(&mut self) {
        self.destroyed = true;
        self.sgroups.clear();
    }
}

impl Target {
    /// `_nvmf_tgt_disconnect_qpairs`: disconnect every qpair; if the group is then empty, put
    /// its channel (v24.01 nvmf.c:325, master nvmf.c:473), else re-send to this thread.
    pub(super) fn pg_destroy_poll(&mut self, fan: u64) {
        let Some(f) = self.fanouts.get(&fan) else {
            return;
        };
        let pg = f.pg;
        if self.bug(super::BugId::Spdk2765) {
            return self.tgt_disconnect_next_qpair(fan);
        }
        let qpairs = self.pgs[usize::from(pg)].qpairs().to_vec();
        if qpairs.is_empty() {
            return self.pg_destroyed(fan, pg);
        }
        if qpairs
            .iter()
            .any(|q| self.qpairs.get(*q).is_some_and(|q| q.disconnect_started()))
        {
            self.mark(super::Mark::DestroyWalkMetDisconnecting, format!("pg{pg}"));
        }
        for q in qpairs {
            self.qpair_disconnect(q);
        }
        if self.pgs[usize::from(pg)].qpairs().is_empty() {
            // The group emptied during the loop (every disconnect completed synchronously):
            // SPDK puts the channel at once, without another round.
            return self.pg_destroyed(fan, pg);
        }
        self.park_msg(ThreadId::PollGroup(pg), Msg::PgDestroyRepoll { fan });
    }

    /// The group is empty: `spdk_put_io_channel` defers the release to a message on the same
    /// thread (`put_io_channel`), so messages already queued there still see the group.
    pub(super) fn pg_destroyed(&mut self, fan: u64, pg: u16) {
        self.send_msg(ThreadId::PollGroup(pg), Msg::PutIoChannel { fan });
    }

    /// `put_io_channel` -> `nvmf_tgt_destroy_poll_group` frees the group;
    /// `nvmf_tgt_destroy_poll_group_done` tells the app thread and lets this thread exit
    /// (thread_life.rs).
    pub(super) fn pg_channel_put(&mut self, fan: u64) {
        let Some(pg) = self.fanouts.remove(&fan).map(|f| f.pg) else {
            return;
        };
        let linked = self.pgs[usize::from(pg)].qpairs().to_vec();
        if !linked.is_empty() {
            // A qpair added after the walk found the group empty (its `_nvmf_poll_group_add`
            // ran before `put_io_channel`) keeps pointing at the freed group.
            let mut handles: Vec<String> = linked
                .iter()
                .filter_map(|q| self.qpairs.get(*q).map(|x| x.label()))
                .collect();
            handles.push(format!("pg{pg} (freed)"));
            let detail = "poll group freed while a qpair is still on group->qpairs (use after \
                          free of struct spdk_nvmf_poll_group)";
            let site = "nvmf_tgt_destroy_poll_group";
            self.crash_on(super::InvariantId::ThreadLifetime, site, handles, detail);
            return;
        }
        self.pgs[usize::from(pg)].destroy();
        self.send_msg(ThreadId::App, Msg::TgtPollGroupDestroyed);
        self.thread_exit(ThreadId::PollGroup(pg));
    }
}
