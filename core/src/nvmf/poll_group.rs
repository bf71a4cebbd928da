//! Poll groups (`struct spdk_nvmf_poll_group`): the qpairs on the group (`group->qpairs`, in
//! insertion order), the per-subsystem sgroups, and poll-group destroy during target shutdown
//! (`_nvmf_tgt_disconnect_qpairs`: disconnect everything, re-poll until the group is empty).
//!
//! Invariant kept: a qpair is on exactly the group it was assigned to from `_nvmf_poll_group_add`
//! until `_nvmf_qpair_destroy` removes it.

use super::arena::{QpairH, SubsysH};
use super::sgroup::Sgroup;
use super::thread::Msg;
use super::{Target, ThreadId};
use serde::Serialize;
use std::collections::BTreeMap;

/// One poll group.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Default)]
pub struct PollGroup {
    pub qpairs: Vec<QpairH>,
    #[serde(serialize_with = "super::arena::ser_pairs")]
    pub sgroups: BTreeMap<SubsysH, Sgroup>,
    pub destroyed: bool,
}

impl Target {
    /// `_nvmf_tgt_disconnect_qpairs`: disconnect every qpair; re-send until the group is empty,
    /// then the group is destroyed and the walk continues.
    pub(super) fn pg_destroy_poll(&mut self, fan: u64) {
        let Some(f) = self.fanouts.get(&fan) else {
            return;
        };
        let pg = f.pg;
        let qpairs = self.pgs[usize::from(pg)].qpairs.clone();
        if qpairs.is_empty() {
            self.pgs[usize::from(pg)].destroyed = true;
            self.pgs[usize::from(pg)].sgroups.clear();
            self.channel_continue(fan);
            return;
        }
        for q in qpairs {
            self.qpair_disconnect(q);
        }
        let msg = Msg::PgDestroyRepoll { fan };
        if self.pgs[usize::from(pg)].qpairs.is_empty() {
            self.send_msg(ThreadId::PollGroup(pg), msg);
        } else {
            self.park_msg(ThreadId::PollGroup(pg), msg);
        }
    }
}
