//! Whole-target teardown as SPDK's `module/event/subsystems/nvmf/nvmf_tgt.c` runs it, per
//! version profile (its FINI states, `nvmf_tgt_advance_state`):
//!
//! - v21.01 (the `spdk-1850` switch): STOP_SUBSYSTEMS, DESTROY_POLL_GROUPS, FREE_RESOURCES
//!   (the target's destroy) only.
//! - STOP_LISTEN first in v24.01 with 2cbc8aec37 (as v24.05 has it; v24.01 as released has
//!   none: catalogue `spdk-3273`); see below for what it does.
//! - STOP_SUBSYSTEMS: `spdk_nvmf_subsystem_stop` on each subsystem in turn, in the target's
//!   subsystem tree order (NQN order), the next one from the previous one's callback
//!   (`nvmf_tgt_subsystem_stopped`); a stop refused at once is skipped ("Trying others").
//! - STOP_LISTEN (master, after the stops since f5bebba058; `nvmf_tgt_stop_listen`): the
//!   synchronous `spdk_nvmf_transport_stop_listen` for every listener of every subsystem: one
//!   reference dropped each, the listen socket closed at zero; no qpair is disconnected, and
//!   the subsystem listeners stay, pointing at freed transport listeners (hazard H-10 when one
//!   is later removed with stop: `subsystem_destroy.rs`).
//!   Without it (v24.01 as released) the listeners stay open, and keep accepting, until the
//!   target is destroyed.
//! - DESTROY_SUBSYSTEMS (`_nvmf_tgt_subsystem_destroy`): `spdk_nvmf_subsystem_destroy` on each
//!   subsystem in tree order; a destroy that must wait for controllers (-EINPROGRESS) ends the
//!   loop and its callback restarts it from the first subsystem; other refusals are skipped.
//! - DESTROY_POLL_GROUPS (`nvmf_tgt_destroy_poll_groups`): one message to every poll group
//!   thread at once (`nvmf_tgt_destroy_poll_group`); each group disconnects its qpairs, is
//!   freed, tells the app thread (`_nvmf_tgt_destroy_poll_group_done`) and exits its thread;
//!   the last one moves on.
//! - DESTROY_TARGET (`spdk_nvmf_tgt_destroy` -> `nvmf_tgt_destroy_cb`): subsystems still there
//!   lose their listeners (stop) and are destroyed once more (-EINPROGRESS waits, as above);
//!   then the transports are destroyed, which frees every transport listener.
//! - STOPPED: the shutdown RPC is answered.
//!
//! Invariant kept: the shutdown RPC is answered exactly once, after the last phase (I5); after
//! it no object survives (I8, checked in the quiescence report, `shutdown_survivors`).
//! `spdk_io_device_unregister` defers `nvmf_tgt_destroy_cb` to a message on the app thread
//! (`Msg::TgtDestroyCb`, `_finish_unregister`): a delete's `_nvmf_subsystem_destroy` re-poll
//! already queued there runs first.

use super::callbacks::StateCb;
use super::rpc::{err, RpcResult, EALREADY};
use super::state::SubState;
use super::subsys_listener::Reader;
use super::subsystem_destroy::DestroyRc;
use super::thread::{FanKind, Fanout, Msg};
use super::{BugId, Mark, RpcId, SubsysH, Target, ThreadId};
use serde::Serialize;

/// Whole-target teardown phases (`nvmf_tgt.c` FINI states).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ShutdownPhase {
    StopSubsystems,
    StopListen,
    DestroySubsystems,
    DestroyPollGroups,
    DestroyTarget,
    Done,
}

/// Shutdown progress.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Shutdown {
    pub rpc: Option<RpcId>,
    pub phase: ShutdownPhase,
    /// NQN of the subsystem whose stop is running (STOP_SUBSYSTEMS walks the tree from it).
    cursor: Option<String>,
    /// `g_num_poll_groups`: poll groups whose destroy has not reported done.
    pgs_left: u32,
    pub done: bool,
}

impl Target {
    pub(super) fn rpc_shutdown(&mut self, id: RpcId) -> Option<RpcResult> {
        if self.shutdown.is_some() {
            return Some(err(EALREADY, "shutdown already in progress"));
        }
        let first = self.shutdown_order()[0];
        self.shutdown = Some(Shutdown {
            rpc: Some(id),
            phase: first,
            cursor: None,
            pgs_left: 0,
            done: false,
        });
        self.shutdown_advance(first);
        None
    }

    fn shutdown_phase(&self) -> Option<ShutdownPhase> {
        self.shutdown.as_ref().map(|s| s.phase)
    }

    /// The target's subsystems in tree order (`spdk_nvmf_subsystem_get_first`/`_next` walk an
    /// RB tree keyed by NQN, in both profiles).
    fn subsystems_in_tree_order(&self) -> Vec<SubsysH> {
        let mut subs: Vec<(String, SubsysH)> = self
            .subsystems
            .iter()
            .map(|(h, s)| (s.nqn().to_string(), h))
            .collect();
        subs.sort();
        subs.into_iter().map(|(_, h)| h).collect()
    }

    /// `nvmf_tgt_subsystem_stopped`: stop the subsystem after the cursor, or move on.
    fn shutdown_stop_next(&mut self) {
        let cursor = self.shutdown.as_ref().and_then(|s| s.cursor.clone());
        let next = self.subsystems_in_tree_order().into_iter().find(|h| {
            let nqn = self.subsystems.get(*h).map(|s| s.nqn().to_string());
            cursor.as_ref().is_none_or(|c| nqn.as_ref() > Some(c))
        });
        let Some(s) = next else {
            return self.shutdown_next();
        };
        let nqn = self.subsystems.get(s).map(|x| x.nqn().to_string());
        if let Some(sd) = self.shutdown.as_mut() {
            sd.cursor = nqn;
        }
        // A refused stop calls back at once with an error: the walk goes on from it.
        self.subsystem_state_change(s, SubState::Inactive, 0, StateCb::Shutdown);
    }

    /// The FINI states in this profile's order: v24.01 with 2cbc8aec37 (as v24.05) stops
    /// listening first; v24.01 as released (`spdk-3273`) has no STOP_LISTEN; master stops the
    /// subsystems first (f5bebba058).
    fn shutdown_order(&self) -> &'static [ShutdownPhase] {
        use ShutdownPhase::*;
        let after = self.config.spdk.stops_listening_after_subsystems();
        match () {
            // v21.01 (`spdk-1850`): no STOP_LISTEN, no DESTROY_SUBSYSTEMS (11f0a6ec0f, v22.01);
            // FREE_RESOURCES is `spdk_nvmf_tgt_destroy`.
            _ if self.bug(BugId::Spdk1850) => {
                &[StopSubsystems, DestroyPollGroups, DestroyTarget, Done]
            }
            _ if !after && self.bug(BugId::Spdk3273) => &[
                StopSubsystems,
                DestroySubsystems,
                DestroyPollGroups,
                DestroyTarget,
                Done,
            ],
            _ if !after => &[
                StopListen,
                StopSubsystems,
                DestroySubsystems,
                DestroyPollGroups,
                DestroyTarget,
                Done,
            ],
            _ => &[
                StopSubsystems,
                StopListen,
                DestroySubsystems,
                DestroyPollGroups,
                DestroyTarget,
                Done,
            ],
        }
    }

    /// The current phase is over: `nvmf_tgt_advance_state` to the next one.
    fn shutdown_next(&mut self) {
        let order = self.shutdown_order();
        let next = self
            .shutdown_phase()
            .and_then(|p| order.iter().position(|x| *x == p))
            .and_then(|i| order.get(i + 1))
            .copied()
            .unwrap_or(ShutdownPhase::Done);
        self.shutdown_advance(next);
    }

    /// A subsystem stop of STOP_SUBSYSTEMS called back (with any status).
    pub(super) fn shutdown_subsystem_stopped(&mut self) {
        if self.shutdown_phase() == Some(ShutdownPhase::StopSubsystems) {
            self.shutdown_stop_next();
        }
    }

    /// `nvmf_tgt_advance_state`: enter `phase` and run it.
    fn shutdown_advance(&mut self, phase: ShutdownPhase) {
        if let Some(sd) = self.shutdown.as_mut() {
            sd.phase = phase;
        }
        match phase {
            ShutdownPhase::StopListen => self.shutdown_stop_listen(),
            ShutdownPhase::DestroySubsystems => self.shutdown_destroy_subsystems(),
            ShutdownPhase::DestroyPollGroups => self.shutdown_destroy_poll_groups(),
            // `spdk_nvmf_tgt_destroy` -> `spdk_io_device_unregister`: no channel is left, so
            // `io_device_free` sends `_finish_unregister` (which calls `nvmf_tgt_destroy_cb`)
            // to this thread, behind what is already queued here.
            ShutdownPhase::DestroyTarget => self.send_msg(ThreadId::App, Msg::TgtDestroyCb),
            ShutdownPhase::Done => self.shutdown_finish(),
            ShutdownPhase::StopSubsystems => self.shutdown_stop_next(),
        }
    }

    /// `nvmf_tgt_stop_listen`: drop the transport listener reference of every subsystem
    /// listener; the subsystem listeners themselves stay. The discovery subsystem comes first
    /// in NQN order: its listeners are the configured ports (`apply_initial_config`).
    fn shutdown_stop_listen(&mut self) {
        for trid in self.config.listeners.clone() {
            self.transport_stop_listen(&trid, "nvmf_tgt_stop_listen");
        }
        for s in self.subsystems_in_tree_order() {
            // `spdk_nvmf_subsystem_listener_get_trid(listener)->trstring`, unchecked.
            for l in self.subsys_listeners(s) {
                let site = "nvmf_tgt_stop_listen";
                if self
                    .read_listener(s, &l, site, Reader::Dereferences)
                    .is_none()
                {
                    return;
                }
                self.transport_stop_listen(&l.trid, site);
            }
        }
        self.shutdown_next();
    }

    /// `_nvmf_tgt_subsystem_destroy`: destroy every subsystem in tree order; stop at the first
    /// that must wait for its controllers (its callback calls this again).
    fn shutdown_destroy_subsystems(&mut self) {
        if self.destroy_remaining_subsystems(false) {
            self.shutdown_next();
        }
    }

    /// The loop of `_nvmf_tgt_subsystem_destroy` and `nvmf_tgt_destroy_cb` (which first removes
    /// each subsystem's listeners with stop). Returns whether it ran to the end.
    fn destroy_remaining_subsystems(&mut self, stop_listeners: bool) -> bool {
        for s in self.subsystems_in_tree_order() {
            if stop_listeners {
                self.remove_all_listeners(s, true);
            }
            if let Ok(DestroyRc::InProgress) = self.subsystem_destroy(s, None) {
                return false;
            }
        }
        true
    }

    /// A destroy the shutdown started (its callback) finished: continue the current loop.
    pub(super) fn shutdown_subsystem_destroyed(&mut self) {
        match self.shutdown_phase() {
            Some(ShutdownPhase::DestroySubsystems) => self.shutdown_destroy_subsystems(),
            Some(ShutdownPhase::DestroyTarget) => self.shutdown_destroy_target(),
            _ => {}
        }
    }

    /// `nvmf_tgt_destroy_poll_groups`: `nvmf_tgt_destroy_poll_group` sent to every poll group
    /// thread at once.
    fn shutdown_destroy_poll_groups(&mut self) {
        let live: Vec<u16> = (0..self.pgs.len() as u16)
            .filter(|pg| !self.pgs[usize::from(*pg)].is_destroyed())
            .collect();
        if let Some(sd) = self.shutdown.as_mut() {
            sd.pgs_left = live.len() as u32;
        }
        if live.is_empty() {
            return self.shutdown_next();
        }
        for pg in live {
            let fan = self.new_fanout(Fanout {
                kind: FanKind::PgDestroy,
                origin: ThreadId::App,
                pg,
            });
            self.send_msg(ThreadId::PollGroup(pg), Msg::TgtDestroyPollGroup { fan });
        }
    }

    /// `_nvmf_tgt_destroy_poll_group_done` (app thread): the last group moves on.
    pub(super) fn shutdown_poll_group_done(&mut self) {
        let Some(sd) = self.shutdown.as_mut() else {
            return;
        };
        sd.pgs_left = sd.pgs_left.saturating_sub(1);
        if sd.pgs_left == 0 && sd.phase == ShutdownPhase::DestroyPollGroups {
            self.shutdown_next();
        }
    }

    /// `nvmf_tgt_destroy_cb` (the `_finish_unregister` message, then each time a destroy it
    /// had to wait for finishes): the subsystems still there are destroyed (listeners stopped
    /// first); then the transports, with every listener.
    pub(super) fn shutdown_destroy_target(&mut self) {
        if !self.destroy_remaining_subsystems(true) {
            return;
        }
        self.listeners.clear();
        self.shutdown_next();
    }

    fn shutdown_finish(&mut self) {
        let Some(sd) = self.shutdown.as_mut() else {
            return;
        };
        sd.done = true;
        let rpc = sd.rpc;
        self.mark(Mark::TargetShutdownDone, String::new());
        if let Some(id) = rpc {
            self.rpc_ok(id);
        }
    }

    /// What a finished target shutdown left alive. A subsystem that is not INACTIVE is one
    /// `spdk_nvmf_subsystem_destroy` refused (-EAGAIN, "can only be destroyed in inactive state"),
    /// so its line names that site; other survivors are counted.
    pub(super) fn shutdown_survivors(&self, stuck: &mut Vec<String>) {
        for (_, s) in self.subsystems.iter() {
            let site = if s.state() == SubState::Inactive {
                ""
            } else {
                " (spdk_nvmf_subsystem_destroy)"
            };
            stuck.push(format!(
                "subsystem {} survives target shutdown in state {}{site}",
                s.nqn(),
                s.state().name()
            ));
        }
        let others = self.qpairs.len() + self.ctrlrs.len() + self.reqs.len();
        if others > 0 {
            stuck.push(format!(
                "{others} qpairs, controllers and requests survive target shutdown"
            ));
        }
    }
}
