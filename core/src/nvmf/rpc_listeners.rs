//! The listener RPCs (`nvmf_subsystem_add_listener` / `nvmf_subsystem_remove_listener`): the
//! subsystem is paused, the paused callback checks the subsystem's listeners and changes them,
//! and the subsystem resumes; a refusal is answered before the resume, as SPDK's paused
//! callbacks answer with `response_sent` (`nvmf_rpc_listen_paused` in v24.01 and v26.05,
//! `rpc_nvmf_add_listener_paused` / `rpc_nvmf_remove_listener_paused` in master).
//!
//! Invariant kept: each RPC is answered once, and a subsystem these RPCs paused is resumed.

use super::arena::SubsysH;
use super::callbacks::{StateCb, StopListenCb};
use super::rpc::{err, RpcResult, EEXIST, ENOENT};
use super::{RpcId, Target, Trid};

impl Target {
    /// `rpc_nvmf_subsystem_add_listener` / `_remove_listener`: the subsystem is paused first;
    /// whether it has the listener is checked in the paused callback `cb`
    /// (`add_listener_paused`, `remove_listener_paused`), as SPDK checks it.
    pub(super) fn rpc_listener_change(&mut self, nqn: &str, cb: StateCb) -> Option<RpcResult> {
        let s = match self.rpc_subsystem(nqn) {
            Ok((s, _)) => s,
            Err(e) => return Some(e),
        };
        self.paused_op(s, 0, cb);
        None
    }

    /// `nvmf_rpc_listen_paused` (ADD) / `rpc_nvmf_add_listener_paused`: listen on the
    /// transport, add the subsystem listener, resume and answer. A listener the subsystem
    /// already has is skipped (v24.01) or refused before the resume
    /// (`Spdk::refuses_existing_listener`). The lookup (`nvmf_subsystem_find_listener`) reads
    /// the subsystem's listeners (subsys_listener.rs).
    pub(super) fn add_listener_paused(&mut self, s: SubsysH, rpc: RpcId, trid: &Trid) {
        let Some(found) = self.find_subsys_listener(s, trid, FIND_SITE) else {
            return;
        };
        let exists = found.is_some();
        if exists && self.config.spdk.refuses_existing_listener() {
            self.rpc_done(rpc, err(EEXIST, "listener already exists"));
            self.resume_unanswered(s);
            return;
        }
        if !exists {
            self.add_subsys_listener(s, trid);
        }
        self.resume_then(s, rpc);
    }

    /// `rpc_nvmf_remove_listener_paused`: remove the subsystem listener (controllers lose
    /// it), then `stop_listen_async(trid, subsystem)` and resume when it completes. A listener
    /// the subsystem does not have fails `spdk_nvmf_subsystem_remove_listener` (-ENOENT): the
    /// error is answered, then the subsystem resumes (every profile).
    pub(super) fn remove_listener_paused(&mut self, s: SubsysH, rpc: RpcId, trid: &Trid) {
        let Some(found) = self.find_subsys_listener(s, trid, FIND_SITE) else {
            return;
        };
        let Some(l) = found else {
            self.rpc_done(rpc, err(ENOENT, "listener not found"));
            self.resume_unanswered(s);
            return;
        };
        self.remove_subsystem_listener(s, &l);
        self.stop_listen_async(trid, Some(s), StopListenCb::Resume { subsys: s, rpc });
    }
}

/// The lookup both paused callbacks make.
const FIND_SITE: &str = "nvmf_subsystem_find_listener";
