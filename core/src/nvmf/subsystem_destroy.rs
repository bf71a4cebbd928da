//! Subsystem destroy (`spdk_nvmf_subsystem_destroy` and `_nvmf_subsystem_destroy`): the
//! subsystem refuses later state changes; a subsystem without controllers is freed before the
//! call returns (0, no callback), otherwise it re-polls on the app thread while controllers
//! remain (-EINPROGRESS, callback when freed); queued state changes are cancelled and the
//! subsystem is freed.
//! Its sgroups stay in each poll group's array at its id, `queued` included (S8, poll_group.rs).
//!
//! Invariant kept: a subsystem is freed once, only with no controller left (I3, I1).

use super::arena::SubsysH;
use super::thread::Msg;
use super::{InvariantId, Mark, RpcId, Target, ThreadId, Trid};

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

    /// `nvmf_subsystem_remove_all_listeners(subsystem, stop)`: with `stop` each listener's
    /// transport reference is dropped first (`spdk_nvmf_transport_stop_listen`).
    pub(super) fn remove_all_listeners(&mut self, s: SubsysH, stop: bool) {
        let Some(sub) = self.subsystems.get(s) else {
            return;
        };
        let trids: Vec<Trid> = sub.listeners().cloned().collect();
        for trid in &trids {
            if stop {
                if !self.stopped_listener_readable(s, trid) {
                    return;
                }
                self.transport_stop_listen(trid, "_nvmf_subsystem_remove_listener");
            }
            self.remove_subsystem_listener(s, trid);
        }
    }

    /// A subsystem listener points at its transport listener's trid (`listener->trid =
    /// &tr_listener->trid`). When that transport listener was freed while the subsystem
    /// listener stayed (the shutdown's STOP_LISTEN drops every reference and removes nothing),
    /// `_nvmf_subsystem_remove_listener(stop)` reads `listener->trid->trstring`: freed memory
    /// before dfdd45beeb (v26.01, #3656), NULL after it (`assert(nvmf_subsystem_listener_is_active)`,
    /// then the dereference). Returns false after recording I1.
    fn stopped_listener_readable(&mut self, s: SubsysH, trid: &Trid) -> bool {
        if self.listeners.find(trid).is_some() {
            return true;
        }
        let detail = if self.config.spdk.nulls_stopped_listener_trid() {
            "reads listener->trid->trstring of a subsystem listener whose transport \
             listener was freed: trid is NULL (assert(nvmf_subsystem_listener_is_active), \
             then a NULL dereference)"
        } else {
            "reads listener->trid of a subsystem listener whose transport listener was \
             freed (use after free; NULL and an assert since dfdd45beeb, #3656)"
        };
        let handles = vec![format!("{s}"), format!("{trid}")];
        let site = "_nvmf_subsystem_remove_listener";
        self.crash_on(InvariantId::NoDanglingReference, site, handles, detail);
        false
    }

    /// `_nvmf_subsystem_remove_listener` without the stop: controllers forget the listener,
    /// it leaves the subsystem and the discovery log changes.
    pub(super) fn remove_subsystem_listener(&mut self, s: SubsysH, trid: &Trid) {
        for (_, c) in self.ctrlrs.iter_mut() {
            if c.subsys() == s {
                c.forget_listener(trid);
            }
        }
        if let Some(sub) = self.subsystems.get_mut(s) {
            sub.remove_listener(trid);
        }
        self.discovery_listener_removed(s, trid);
    }
}
