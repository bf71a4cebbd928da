//! Subsystem destroy (`spdk_nvmf_subsystem_destroy` and `_nvmf_subsystem_destroy`): the
//! subsystem refuses later state changes; a subsystem without controllers is freed before the
//! call returns (0, no callback), otherwise it re-polls on the app thread while controllers
//! remain (-EINPROGRESS, callback when freed); queued state changes are cancelled and the
//! subsystem is freed.
//! Its sgroups stay in each poll group's array at its id, `queued` included (S8, poll_group.rs).
//!
//! Invariant kept: a subsystem is freed once, only with no controller left (I3, I1).

use super::arena::SubsysH;
use super::subsys_listener::Reader;
use super::thread::Msg;
use super::{InvariantId, Mark, RpcId, Target, ThreadId};

/// What `spdk_nvmf_subsystem_destroy` returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DestroyRc {
    /// 0: freed before returning (no callback).
    Freed,
    /// -EINPROGRESS: controllers remain; the callback runs when it is freed.
    InProgress,
}

impl Target {
    /// `spdk_nvmf_subsystem_destroy` (INACTIVE only): listeners (without stop) and hosts go,
    /// then the first `_nvmf_subsystem_destroy` runs at once: freed now, or -EINPROGRESS and
    /// re-sent while controllers remain (the callback then runs when it is freed).
    pub(super) fn subsystem_destroy(
        &mut self,
        s: SubsysH,
        rpc: Option<RpcId>,
    ) -> Result<DestroyRc, i32> {
        let Some(sub) = self.subsystems.get_mut(s) else {
            return Err(-2);
        };
        if let Err(rc) = sub.begin_destroy() {
            if rc == super::subsystem::EALREADY && self.config.spdk.asserts_on_second_destroy() {
                let detail = "assert(0): the subsystem's destruction is already started";
                let handles = vec![format!("{s}")];
                self.debug_assert_fails(handles, "spdk_nvmf_subsystem_destroy", detail);
            }
            return Err(rc);
        }
        self.remove_all_listeners(s, false);
        if self.subsystem_destroy_step(s, rpc) {
            Ok(DestroyRc::Freed)
        } else {
            Ok(DestroyRc::InProgress)
        }
    }

    /// `_nvmf_subsystem_destroy_msg` (re-sent while controllers remain): when the subsystem is
    /// freed, its async callback runs (the RPC answer, or the shutdown's loop).
    pub(super) fn subsystem_destroy_poll(&mut self, s: SubsysH, rpc: Option<RpcId>) {
        if self.live(s, "_nvmf_subsystem_destroy").is_none() {
            return;
        }
        if !self.subsystem_destroy_step(s, rpc) {
            return;
        }
        match rpc {
            Some(id) => self.rpc_ok(id),
            None => self.shutdown_subsystem_destroyed(),
        }
    }

    /// `_nvmf_subsystem_destroy`: re-send while controllers remain (returns false), else
    /// cancel queued state changes (-ECANCELED), free the sgroups and the subsystem.
    fn subsystem_destroy_step(&mut self, s: SubsysH, rpc: Option<RpcId>) -> bool {
        let Some(sub) = self.subsystems.get(s) else {
            return false;
        };
        if sub.has_ctrlrs() && !self.destroy_with_ctrlrs(s) {
            self.park_msg(ThreadId::App, Msg::SubsystemDestroy { subsys: s, rpc });
            return false;
        }
        let Some(sub) = self.subsystems.get_mut(s) else {
            return false;
        };
        for c in sub.drain_changes() {
            self.state_cb(s, c.cb, Err(-125));
        }
        // The sgroups stay at the subsystem's id with whatever is still queued (S8).
        for pg in self.pgs.iter_mut() {
            if let Some(sg) = pg.existing_sgroup_mut(s) {
                sg.subsystem_freed();
            }
        }
        let Some(sub) = self.subsystems.remove(s) else {
            let handles = vec![format!("{s}")];
            let detail = "subsystem freed during its own destroy";
            self.crash_on(
                InvariantId::NoDanglingReference,
                "_nvmf_subsystem_destroy",
                handles,
                detail,
            );
            return false;
        };
        self.history.subsystems_destroyed += 1;
        self.mark(Mark::SubsystemDestroyed, sub.nqn().to_string());
        self.refresh_connect_retry_deadlines();
        self.host_waits_recheck(s);
        true
    }

    /// `nvmf_subsystem_remove_all_listeners(subsystem, stop)`, head first: with `stop` each
    /// listener's trid is read (`listener->trid->trstring`; master asserts
    /// `nvmf_subsystem_listener_is_active` first) and its transport reference dropped
    /// (`spdk_nvmf_transport_stop_listen`) before it is removed.
    pub(super) fn remove_all_listeners(&mut self, s: SubsysH, stop: bool) {
        const SITE: &str = "_nvmf_subsystem_remove_listener";
        for l in self.subsys_listeners(s) {
            if stop {
                if self
                    .read_listener(s, &l, SITE, Reader::Dereferences)
                    .is_none()
                {
                    return;
                }
                self.transport_stop_listen(&l.trid, SITE);
            }
            self.remove_subsystem_listener(s, &l);
        }
    }
}
