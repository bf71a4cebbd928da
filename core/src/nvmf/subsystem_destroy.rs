//! Subsystem destroy (`spdk_nvmf_subsystem_destroy` and `_nvmf_subsystem_destroy`): the
//! subsystem refuses later state changes, then re-polls on the app thread while controllers
//! remain; when none is left, queued state changes are cancelled, the sgroups and their queued
//! requests go, and the subsystem is freed.
//!
//! Invariant kept: a subsystem is freed once, only with no controller left (I3, I1).

use super::arena::SubsysH;
use super::thread::Msg;
use super::{InvariantId, Mark, RpcId, Target, ThreadId};

impl Target {
    /// Starts `spdk_nvmf_subsystem_destroy` (INACTIVE only): listeners and hosts go, then
    /// `_nvmf_subsystem_destroy` waits for the controllers.
    pub(super) fn subsystem_destroy(&mut self, s: SubsysH, rpc: Option<RpcId>) -> Result<(), i32> {
        let Some(sub) = self.subsystems.get_mut(s) else {
            return Err(-2);
        };
        sub.begin_destroy()?;
        self.send_msg(ThreadId::App, Msg::SubsystemDestroy { subsys: s, rpc });
        Ok(())
    }

    /// `_nvmf_subsystem_destroy`: re-send while controllers remain, then cancel queued state
    /// changes (-ECANCELED), free the sgroups and the subsystem.
    pub(super) fn subsystem_destroy_poll(&mut self, s: SubsysH, rpc: Option<RpcId>) {
        let Some(sub) = self.live(s, "_nvmf_subsystem_destroy") else {
            return;
        };
        if sub.has_ctrlrs() && !self.destroy_with_ctrlrs(s) {
            self.park_msg(ThreadId::App, Msg::SubsystemDestroy { subsys: s, rpc });
            return;
        }
        let Some(sub) = self.subsystems.get_mut(s) else {
            return;
        };
        for c in sub.drain_changes() {
            self.state_cb(s, c.cb, Err(-125));
        }
        let queued: Vec<_> = self
            .pgs
            .iter_mut()
            .filter_map(|pg| pg.remove_sgroup(s))
            .flat_map(|sg| sg.into_queued())
            .collect();
        // SPDK leaves these on the freed sgroup's `queued` list (hazard H-1); the model frees
        // them here to name the lost answer, which is no access of SPDK's.
        let index = super::ownership::bookkeeping();
        for r in queued {
            self.request_lost(r, "_nvmf_subsystem_destroy");
        }
        drop(index);
        let Some(sub) = self.subsystems.remove(s) else {
            let handles = vec![format!("{s}")];
            let detail = "subsystem freed during its own destroy";
            self.crash_on(
                InvariantId::NoDanglingReference,
                "_nvmf_subsystem_destroy",
                handles,
                detail,
            );
            return;
        };
        self.history.subsystems_destroyed += 1;
        self.mark(Mark::SubsystemDestroyed, sub.nqn().to_string());
        self.refresh_connect_retry_deadlines();
        if let Some(id) = rpc {
            self.rpc_ok(id);
        }
        self.subsystem_destroyed_hook();
    }
}
