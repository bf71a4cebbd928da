//! Subsystems (`struct spdk_nvmf_subsystem`): NQN, state, hosts, listeners, RAM namespaces,
//! controllers, the queue of state changes (`nvmf_subsystem_state_change`: one runs at a time,
//! intermediate CAS, for_each_channel, final CAS, callback on the requesting thread, next) and
//! destroy (`_nvmf_subsystem_destroy` re-polling while controllers remain).
//!
//! Invariants kept: state transitions follow SPDK's CAS table (I10); every state-change
//! callback fires exactly once (I5); a subsystem is freed only with no controller left (I3).

use super::arena::{CtrlrH, SubsysH};
use super::rpc::StateCb;
use super::thread::{FanKind, Msg};
use super::{InvariantId, Mark, NamespaceConfig, RpcId, SubsystemConfig, Target, ThreadId, Trid};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// `enum spdk_nvmf_subsystem_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SubState {
    Inactive,
    Activating,
    Active,
    Pausing,
    Paused,
    Resuming,
    Deactivating,
}

impl SubState {
    /// SPDK's name, as `nvmf_get_subsystems` prints it.
    pub fn name(self) -> &'static str {
        match self {
            SubState::Inactive => "inactive",
            SubState::Activating => "activating",
            SubState::Active => "active",
            SubState::Pausing => "pausing",
            SubState::Paused => "paused",
            SubState::Resuming => "resuming",
            SubState::Deactivating => "deactivating",
        }
    }

    /// `nvmf_subsystem_set_state`'s CAS table: may `self` become `new`?
    pub fn may_become(self, new: SubState) -> bool {
        use SubState::*;
        matches!(
            (self, new),
            (Inactive, Activating)
                | (Activating | Resuming, Active)
                | (Active | Resuming, Pausing)
                | (Pausing, Paused)
                | (Paused, Resuming)
                | (Active | Activating | Paused, Deactivating)
                | (Deactivating, Inactive)
        )
    }
}

/// A RAM namespace: blocks written so far (sparse; unwritten blocks read as zeros).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Namespace {
    pub cfg: NamespaceConfig,
    pub blocks: BTreeMap<u64, Vec<u8>>,
}

/// One queued state change (`struct subsystem_state_change_ctx`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct StateChange {
    pub requested: SubState,
    pub nsid: u32,
    pub cb: StateCb,
}

/// A subsystem.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Subsystem {
    pub nqn: String,
    pub state: SubState,
    pub allow_any_host: bool,
    pub hosts: BTreeSet<String>,
    pub listeners: BTreeSet<Trid>,
    pub namespaces: BTreeMap<u32, Namespace>,
    pub ctrlrs: BTreeMap<u16, CtrlrH>,
    pub min_cntlid: u16,
    pub max_cntlid: u16,
    pub next_cntlid: u16,
    pub serial: String,
    pub model: String,
    /// `subsystem->state_changes`; the head is running.
    pub state_changes: VecDeque<StateChange>,
    /// `destroy_state != NOT_STARTED`.
    pub destroying: bool,
}

impl Subsystem {
    pub fn from_config(cfg: &SubsystemConfig) -> Self {
        Subsystem {
            nqn: cfg.nqn.clone(),
            state: SubState::Inactive,
            allow_any_host: cfg.allow_any_host,
            hosts: cfg.hosts.iter().cloned().collect(),
            listeners: BTreeSet::new(),
            namespaces: cfg
                .namespaces
                .iter()
                .map(|n| {
                    (
                        n.nsid,
                        Namespace {
                            cfg: n.clone(),
                            blocks: BTreeMap::new(),
                        },
                    )
                })
                .collect(),
            ctrlrs: BTreeMap::new(),
            min_cntlid: cfg.min_cntlid,
            max_cntlid: cfg.max_cntlid,
            next_cntlid: cfg.min_cntlid,
            serial: cfg.serial.clone(),
            model: cfg.model.clone(),
            state_changes: VecDeque::new(),
            destroying: false,
        }
    }
}

impl Target {
    /// `spdk_nvmf_tgt_find_subsystem`.
    pub(super) fn find_subsystem(&self, nqn: &str) -> Option<SubsysH> {
        self.subsystems
            .iter()
            .find(|(_, s)| s.nqn == nqn)
            .map(|(h, _)| h)
    }

    /// The subsystem, or an I1 crash at `site` if `h` is stale.
    pub(super) fn live_subsystem(&mut self, h: SubsysH, site: &str) -> Option<&mut Subsystem> {
        if !self.subsystems.contains(h) {
            self.crash_on(
                InvariantId::I1,
                site,
                vec![format!("{h}")],
                "freed subsystem dereferenced",
            );
            return None;
        }
        self.subsystems.get_mut(h)
    }

    /// Creates a subsystem (INACTIVE) with its configured listeners; starts it if asked.
    pub(super) fn create_subsystem(&mut self, cfg: &SubsystemConfig, cb: StateCb) -> SubsysH {
        let s = self.subsystems.insert(Subsystem::from_config(cfg));
        for trid in &cfg.listeners {
            self.transport_listen(trid);
            self.subsystems
                .get_mut(s)
                .expect("new")
                .listeners
                .insert(trid.clone());
        }
        if cfg.start {
            self.subsystem_state_change(s, SubState::Active, 0, cb);
        } else {
            self.state_cb(s, cb, Ok(()));
        }
        s
    }

    /// `nvmf_subsystem_state_change`: queue the request; run it if it is the only one.
    pub(super) fn subsystem_state_change(
        &mut self,
        s: SubsysH,
        requested: SubState,
        nsid: u32,
        cb: StateCb,
    ) {
        let Some(sub) = self.subsystems.get_mut(s) else {
            return;
        };
        if sub.destroying {
            self.state_cb(s, cb, Err(-19));
            return;
        }
        sub.state_changes.push_back(StateChange {
            requested,
            nsid,
            cb,
        });
        if sub.state_changes.len() == 1 {
            self.do_state_change(s);
        } else {
            self.mark(Mark::StateChangeQueued, format!("{s} -> {requested:?}"));
        }
    }

    /// `nvmf_subsystem_do_state_change` for the head of the queue.
    fn do_state_change(&mut self, s: SubsysH) {
        let Some(sub) = self.subsystems.get(s) else {
            return;
        };
        let Some(head) = sub.state_changes.front() else {
            return;
        };
        let (requested, nsid, cur) = (head.requested, head.nsid, sub.state);
        if cur == requested && !(requested == SubState::Paused && nsid != 0) {
            self.state_change_complete(s, Ok(()));
            return;
        }
        let intermediate = match requested {
            SubState::Inactive => SubState::Deactivating,
            SubState::Active if cur == SubState::Paused => SubState::Resuming,
            SubState::Active => SubState::Activating,
            _ => SubState::Pausing,
        };
        let intermediate = if cur == requested { cur } else { intermediate };
        if cur != intermediate && !self.set_state(s, intermediate) {
            self.state_change_complete(s, Err(-16));
            return;
        }
        self.for_each_channel(FanKind::StateChange {
            subsys: s,
            requested,
            nsid,
        });
    }

    /// `nvmf_subsystem_set_state`: the CAS table. Returns false if the transition is illegal.
    pub(super) fn set_state(&mut self, s: SubsysH, new: SubState) -> bool {
        let Some(sub) = self.subsystems.get_mut(s) else {
            return false;
        };
        if !sub.state.may_become(new) {
            return false;
        }
        sub.state = new;
        self.refresh_connect_retry_deadlines();
        true
    }

    /// `subsystem_state_change_done` on the requesting thread: the final CAS, then the
    /// callback and the next queued change. The model serializes changes, so a failed final
    /// CAS is an I10 violation rather than a revert.
    pub(super) fn state_change_done(&mut self, s: SubsysH) {
        let Some(sub) = self.live_subsystem(s, "subsystem_state_change_done") else {
            return;
        };
        let Some(head) = sub.state_changes.front() else {
            return;
        };
        let (requested, cur) = (head.requested, sub.state);
        if cur != requested && !self.set_state(s, requested) {
            self.crash_on(
                InvariantId::I10,
                "nvmf_subsystem_set_state",
                vec![format!("{s}")],
                &format!("illegal {cur:?} -> {requested:?}"),
            );
            return;
        }
        let mark = match requested {
            SubState::Active if cur == SubState::Resuming => Mark::SubsystemResumed,
            SubState::Active => Mark::SubsystemStarted,
            SubState::Paused => Mark::SubsystemPaused,
            _ => Mark::SubsystemStopped,
        };
        self.mark(mark, format!("{s}"));
        self.state_change_complete(s, Ok(()));
    }

    /// `_nvmf_subsystem_state_change_complete`: pop the head, call back, start the next.
    fn state_change_complete(&mut self, s: SubsysH, rc: Result<(), i32>) {
        let Some(sub) = self.subsystems.get_mut(s) else {
            return;
        };
        let Some(head) = sub.state_changes.pop_front() else {
            return;
        };
        let more = !sub.state_changes.is_empty();
        self.state_cb(s, head.cb, rc);
        if more && self.subsystems.contains(s) {
            self.do_state_change(s);
        }
    }

    /// Starts `spdk_nvmf_subsystem_destroy` (INACTIVE only): listeners and hosts go, then
    /// `_nvmf_subsystem_destroy` waits for the controllers.
    pub(super) fn subsystem_destroy(&mut self, s: SubsysH, rpc: Option<RpcId>) -> Result<(), i32> {
        let Some(sub) = self.subsystems.get_mut(s) else {
            return Err(-2);
        };
        if sub.state != SubState::Inactive || sub.destroying {
            return Err(-11);
        }
        sub.destroying = true;
        sub.listeners.clear();
        sub.hosts.clear();
        self.send_msg(ThreadId::App, Msg::SubsystemDestroy { subsys: s, rpc });
        Ok(())
    }

    /// `_nvmf_subsystem_destroy`: re-send while controllers remain, then cancel queued state
    /// changes (-ECANCELED), free the sgroups and the subsystem.
    pub(super) fn subsystem_destroy_poll(&mut self, s: SubsysH, rpc: Option<RpcId>) {
        let Some(sub) = self.live_subsystem(s, "_nvmf_subsystem_destroy") else {
            return;
        };
        if !sub.ctrlrs.is_empty() {
            self.park_msg(ThreadId::App, Msg::SubsystemDestroy { subsys: s, rpc });
            return;
        }
        let changes: Vec<StateChange> = sub.state_changes.drain(..).collect();
        for c in changes {
            self.state_cb(s, c.cb, Err(-125));
        }
        let queued: Vec<_> = self
            .pgs
            .iter_mut()
            .filter_map(|pg| pg.sgroups.remove(&s))
            .flat_map(|sg| sg.queued)
            .collect();
        for r in queued {
            self.request_free(r);
        }
        let sub = self.subsystems.remove(s).expect("checked live");
        self.history.subsystems_destroyed += 1;
        self.mark(Mark::SubsystemDestroyed, sub.nqn.clone());
        self.refresh_connect_retry_deadlines();
        if let Some(id) = rpc {
            self.rpc_ok(id);
        }
        self.subsystem_destroyed_hook();
    }
}
