//! Whole-target teardown (`nvmf_tgt.c`'s FINI states) as an explicit phase machine: stop every
//! subsystem -> stop every listener -> destroy every subsystem -> destroy the poll groups ->
//! done, each phase waiting for all of its units (state changes, stop_listens, destroys, the
//! poll-group fan-out) before the next starts.
//!
//! Invariant kept: the shutdown RPC is answered exactly once, after the last phase (I5); after
//! it no object survives (I8, checked in the quiescence report).

use super::callbacks::{StateCb, StopListenCb};
use super::rpc::{err, RpcResult, EALREADY};
use super::state::SubState;
use super::{Mark, RpcId, Target, Trid};
use serde::Serialize;

/// Whole-target teardown phases (`nvmf_tgt.c` FINI states).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ShutdownPhase {
    StopSubsystems,
    StopListen,
    DestroySubsystems,
    DestroyPollGroups,
    Done,
}

/// Shutdown progress.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Shutdown {
    pub rpc: Option<RpcId>,
    pub phase: ShutdownPhase,
    /// Units of the current phase still running.
    pub pending: u32,
    pub done: bool,
}

impl Target {
    pub(super) fn rpc_shutdown(&mut self, id: RpcId) -> Option<RpcResult> {
        if self.shutdown.is_some() {
            return Some(err(EALREADY, "shutdown already in progress"));
        }
        self.shutdown = Some(Shutdown {
            rpc: Some(id),
            phase: ShutdownPhase::StopSubsystems,
            pending: 1,
            done: false,
        });
        let subs = self.subsystems.handles();
        self.shutdown_add_units(subs.len() as u32);
        for s in subs {
            self.subsystem_state_change(s, SubState::Inactive, 0, StateCb::Shutdown);
        }
        self.shutdown_unit_done();
        None
    }

    fn shutdown_add_units(&mut self, n: u32) {
        if let Some(sd) = self.shutdown.as_mut() {
            sd.pending += n;
        }
    }

    /// One unit of the current shutdown phase finished; start the next phase at zero.
    pub(super) fn shutdown_unit_done(&mut self) {
        let Some(sd) = self.shutdown.as_mut() else {
            return;
        };
        sd.pending = sd.pending.saturating_sub(1);
        if sd.pending > 0 || sd.done {
            return;
        }
        let next = match sd.phase {
            ShutdownPhase::StopSubsystems => ShutdownPhase::StopListen,
            ShutdownPhase::StopListen => ShutdownPhase::DestroySubsystems,
            ShutdownPhase::DestroySubsystems => ShutdownPhase::DestroyPollGroups,
            ShutdownPhase::DestroyPollGroups | ShutdownPhase::Done => ShutdownPhase::Done,
        };
        sd.phase = next;
        sd.pending = 1;
        self.shutdown_phase(next);
    }

    fn shutdown_phase(&mut self, phase: ShutdownPhase) {
        match phase {
            ShutdownPhase::StopListen => {
                let trids: Vec<Trid> = self.listeners.trids();
                self.shutdown_add_units(trids.len() as u32);
                for t in &trids {
                    self.stop_listen_async(t, None, StopListenCb::Shutdown);
                }
            }
            ShutdownPhase::DestroySubsystems => {
                self.listeners.clear();
                let subs = self.subsystems.handles();
                self.shutdown_add_units(subs.len() as u32);
                for s in subs {
                    if self.subsystem_destroy(s, None).is_err() {
                        self.shutdown_unit_done();
                    }
                }
            }
            ShutdownPhase::DestroyPollGroups => {
                self.shutdown_add_units(1);
                self.for_each_channel(super::thread::FanKind::PgDestroy);
            }
            _ => return self.shutdown_finish(),
        }
        self.shutdown_unit_done();
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

    /// A subsystem finished `_nvmf_subsystem_destroy`.
    pub(super) fn subsystem_destroyed_hook(&mut self) {
        let destroying = self
            .shutdown
            .as_ref()
            .is_some_and(|s| s.phase == ShutdownPhase::DestroySubsystems);
        if destroying {
            self.shutdown_unit_done();
        }
    }

    /// The PG-destroy fan-out finished.
    pub(super) fn shutdown_step(&mut self) {
        self.shutdown_unit_done();
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
