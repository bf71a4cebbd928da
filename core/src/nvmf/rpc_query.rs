//! The monitoring RPCs `nvmf_subsystem_get_controllers`, `nvmf_subsystem_get_qpairs` and
//! `nvmf_subsystem_get_listeners` as SPDK runs them (`nvmf_rpc.c:_rpc_nvmf_subsystem_query`):
//! pause the subsystem (nsid 0), then dump `subsystem->ctrlrs` or `subsystem->listeners` on the
//! app thread, or walk every poll group's `group->qpairs` on that group's thread
//! (`spdk_for_each_channel(rpc_nvmf_get_qpairs)`), answer, and resume.
//!
//! Invariant kept: I1, the qpair walk never dereferences a NULL controller (a qpair is on
//! `group->qpairs` from accept on, long before CONNECT binds a controller; SPDK checks since
//! `1965c4ddc2`, catalogue switch `spdk-3391` puts the unchecked read back). The answer is sent
//! exactly once (I5). Simplification: when the pause itself fails the RPC is answered with the
//! error; SPDK ignores the status of an asynchronous pause failure and dumps anyway.

use super::arena::SubsysH;
use super::callbacks::StateCb;
use super::catalogue::BugId;
use super::ownership::{foreign, Foreign};
use super::rpc::{err, RpcResult, ENOENT};
use super::state::SubState;
use super::thread::FanKind;
use super::{ControllerInfo, InvariantId, QpairInfo, RpcId, RpcResponse, Target, ThreadId};

impl Target {
    /// `_rpc_nvmf_subsystem_query`: find the subsystem, pause it, continue in `cb`.
    pub(super) fn rpc_query(&mut self, nqn: &str, cb: StateCb) -> Option<RpcResult> {
        let Some(s) = self.find_subsystem(nqn) else {
            return Some(err(ENOENT, "subsystem not found"));
        };
        self.subsystem_state_change(s, SubState::Paused, 0, cb);
        None
    }

    /// `rpc_nvmf_get_controllers_paused` (app thread): dump, answer, resume.
    pub(super) fn get_controllers_paused(&mut self, s: SubsysH, rpc: RpcId) {
        let infos = self
            .ctrlrs
            .iter()
            .filter(|(_, c)| c.subsys() == s && c.added())
            .map(|(_, c)| ControllerInfo {
                cntlid: c.cntlid(),
                hostnqn: c.hostnqn().to_string(),
                hostid: c.hostid(),
                // SPDK counts every bit of qpair_mask, the admin queue's included.
                num_io_qpairs: c.qpair_mask().len() as u32,
            })
            .collect();
        self.rpc_done(rpc, Ok(RpcResponse::Controllers(infos)));
        self.query_resume(s);
    }

    /// `rpc_nvmf_get_listeners_paused` (app thread): dump the listeners (each read,
    /// subsys_listener.rs; v26.05 and master leave out an inactive one), answer, resume.
    pub(super) fn get_listeners_paused(&mut self, s: SubsysH, rpc: RpcId) {
        let Some(listeners) = self.read_subsys_listeners(s, "rpc_nvmf_get_listeners_paused") else {
            return;
        };
        let trids = listeners.into_iter().map(|l| l.trid).collect();
        self.rpc_done(rpc, Ok(RpcResponse::Listeners(trids)));
        self.query_resume(s);
    }

    /// `rpc_nvmf_get_qpairs_paused`: start the walk over the poll groups.
    pub(super) fn get_qpairs_paused(&mut self, s: SubsysH, rpc: RpcId) {
        self.for_each_channel(FanKind::GetQpairs {
            subsys: s,
            rpc,
            found: Vec::new(),
        });
    }

    /// `rpc_nvmf_get_qpairs` on poll group `pg`: the group's qpairs whose controller is in
    /// the subsystem (`qpair->ctrlr && qpair->ctrlr->subsys == S`; `spdk-3391`: no NULL test).
    pub(super) fn get_qpairs_on_pg(&mut self, fan: u64, pg: u16, s: SubsysH) {
        let mut found = Vec::new();
        for qh in self.pgs[usize::from(pg)].qpairs().to_vec() {
            let Some(q) = self.qpairs.get(qh) else {
                continue;
            };
            let Some(c) = q.ctrlr() else {
                if self.bug(BugId::Spdk3391) {
                    let handles = vec![q.label(), "ctrlr NULL".to_string()];
                    let detail = "qpair->ctrlr->subsys read on a qpair without a controller";
                    self.crash_on(InvariantId::I1, "rpc_nvmf_get_qpairs", handles, detail);
                    return;
                }
                continue;
            };
            let _fixed = foreign(Foreign::FixedFields);
            let Some(ctrlr) = self.ctrlrs.get(c).filter(|c| c.subsys() == s) else {
                continue;
            };
            found.push(QpairInfo {
                conn: q.conn(),
                cntlid: Some(ctrlr.cntlid()),
                qid: q.qid(),
                state: q.state().name().to_string(),
                listen: q.trid().clone(),
                thread: ThreadId::PollGroup(q.pg()),
            });
        }
        if let Some(FanKind::GetQpairs { found: all, .. }) =
            self.fanouts.get_mut(&fan).map(|f| &mut f.kind)
        {
            all.extend(found);
        }
        self.channel_continue(fan);
    }

    /// `rpc_nvmf_get_qpairs_done` (app thread): answer, resume.
    pub(super) fn get_qpairs_done(&mut self, s: SubsysH, rpc: RpcId, found: Vec<QpairInfo>) {
        self.rpc_done(rpc, Ok(RpcResponse::Qpairs(found)));
        self.query_resume(s);
    }

    /// `spdk_nvmf_subsystem_resume(subsystem, NULL, NULL)` after a query (a failure is only
    /// logged by SPDK; the model resumes only a subsystem that is still PAUSED).
    fn query_resume(&mut self, s: SubsysH) {
        self.resume_unanswered(s);
    }
}
