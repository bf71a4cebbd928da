//! Subsystems (`struct spdk_nvmf_subsystem`): NQN, state, hosts, listeners, RAM namespaces,
//! controllers, the queue of state changes (`nvmf_subsystem_state_change`: one runs at a time,
//! intermediate CAS, for_each_channel, final CAS, callback on the requesting thread, next; the
//! v24.01 profile refuses a second concurrent change with -EBUSY instead of queueing it) and
//! destroy (`_nvmf_subsystem_destroy` re-polling while controllers remain).
//!
//! Invariants kept: state transitions follow SPDK's CAS table (I10); every state-change
//! callback fires exactly once (I5); a subsystem is freed only with no controller left (I3).
//!
//! Keeper: `Subsystem` (private fields) owns its state (the CAS table in state.rs), its
//! host/listener/namespace sets, controller map and state-change queue. See docs/lifecycle.md
//! and docs/invariants.md (I3, I5, I10).

use super::arena::{CtrlrH, ListenerH, SubsysH};
use super::callbacks::StateCb;
use super::state::SubState;
use super::thread::FanKind;
use super::{
    BugId, InvariantId, Mark, NamespaceConfig, NamespaceIds, SubsystemConfig, Target, Trid,
};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// -EALREADY: `spdk_nvmf_subsystem_destroy` on a subsystem whose destruction already started.
pub(super) const EALREADY: i32 = -114;

/// -EBUSY: v24.01's answer to a state change requested while another one runs.
const EBUSY: i32 = -16;

/// A RAM namespace: blocks written so far (sparse; unwritten blocks read as zeros).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Namespace {
    pub cfg: NamespaceConfig,
    /// The written data in chunks keyed by chunk index (blocks.rs owns the layout).
    pub blocks: BTreeMap<u64, Vec<u8>>,
    /// NGUID, EUI64 and UUID (Identify Namespace, CNS 03h).
    pub ids: NamespaceIds,
}

impl Namespace {
    pub fn new(cfg: NamespaceConfig, ids: NamespaceIds) -> Self {
        Namespace {
            cfg,
            blocks: BTreeMap::new(),
            ids,
        }
    }
}

/// One queued state change (`struct subsystem_state_change_ctx`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct StateChange {
    pub requested: SubState,
    pub nsid: u32,
    pub cb: StateCb,
}

/// A subsystem listener (`struct spdk_nvmf_subsystem_listener`). It does not copy its trid:
/// `listener->trid = &tr_listener->trid` points into the transport listener that existed when
/// it was added (`bound`), which may be freed while the subsystem listener stays
/// (subsys_listener.rs).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SubsysListener {
    /// The trid it was added for (what `*listener->trid` held then).
    pub trid: Trid,
    /// The transport listener `listener->trid` points into.
    pub bound: ListenerH,
    /// `listener->id`: the discovery log's PORTID.
    pub id: u16,
}

/// A subsystem: the only writer of its state (SPDK's CAS table), its host/listener/namespace
/// sets, its controller map with the cntlid allocator, and its state-change queue.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Subsystem {
    nqn: String,
    state: SubState,
    allow_any_host: bool,
    hosts: BTreeSet<String>,
    /// `subsystem->listeners`, head first (`TAILQ_INSERT_HEAD`: newest first).
    listeners: Vec<SubsysListener>,
    namespaces: BTreeMap<u32, Namespace>,
    ctrlrs: BTreeMap<u16, CtrlrH>,
    min_cntlid: u16,
    max_cntlid: u16,
    next_cntlid: u16,
    serial: String,
    model: String,
    /// `subsystem->max_nsid` (`SubsystemConfig::max_namespaces`).
    max_nsid: u32,
    /// `subsystem->state_changes`; the head is running.
    state_changes: VecDeque<StateChange>,
    /// `destroy_state != NOT_STARTED`.
    destroying: bool,
    /// A delete's stop is queued or running (master DESTROY_PENDING; v24.01 refuses the
    /// same changes with -EBUSY while its stop runs): later state changes fail.
    destroy_pending: bool,
}

impl Subsystem {
    pub fn from_config(cfg: &SubsystemConfig) -> Self {
        Subsystem {
            nqn: cfg.nqn.clone(),
            state: SubState::Inactive,
            allow_any_host: cfg.allow_any_host,
            hosts: cfg.hosts.iter().cloned().collect(),
            listeners: Vec::new(),
            namespaces: cfg
                .namespaces
                .iter()
                .map(|n| {
                    let ids = NamespaceIds::derived(&cfg.nqn, n.nsid);
                    (n.nsid, Namespace::new(n.clone(), ids))
                })
                .collect(),
            ctrlrs: BTreeMap::new(),
            min_cntlid: cfg.min_cntlid,
            max_cntlid: cfg.max_cntlid,
            next_cntlid: cfg.min_cntlid,
            serial: cfg.serial.clone(),
            model: cfg.model.clone(),
            max_nsid: cfg.max_namespaces,
            state_changes: VecDeque::new(),
            destroying: false,
            destroy_pending: false,
        }
    }

    pub fn nqn(&self) -> &str {
        &self.nqn
    }

    pub fn state(&self) -> SubState {
        self.state
    }

    pub fn allow_any_host(&self) -> bool {
        self.allow_any_host
    }

    /// The cntlid range `(min, max)` controllers of this subsystem are numbered from.
    pub fn cntlid_range(&self) -> (u16, u16) {
        (self.min_cntlid, self.max_cntlid)
    }

    pub fn serial(&self) -> &str {
        &self.serial
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    /// Whether a delete started: no further state change is accepted.
    pub fn refuses_changes(&self) -> bool {
        self.destroying || self.destroy_pending
    }

    /// `spdk_nvmf_subsystem_stop_for_destroy`: DESTROY_PENDING.
    pub fn mark_destroy_pending(&mut self) {
        self.destroy_pending = true;
    }

    /// `nvmf_subsystem_set_state`'s CAS: false (and no change) if the table forbids it.
    pub fn set_state(&mut self, new: SubState) -> bool {
        if !self.state.may_become(new) {
            return false;
        }
        self.state = new;
        true
    }

    /// `spdk_nvmf_subsystem_host_allowed`.
    pub fn host_allowed(&self, hostnqn: &str) -> bool {
        self.allow_any_host || self.hosts.contains(hostnqn)
    }

    pub fn hosts(&self) -> impl Iterator<Item = &String> {
        self.hosts.iter()
    }

    /// Adds (true) or removes (false) a host; returns whether the set changed.
    pub fn set_host(&mut self, hostnqn: &str, allowed: bool) -> bool {
        if allowed {
            self.hosts.insert(hostnqn.to_string())
        } else {
            self.hosts.remove(hostnqn)
        }
    }

    pub fn set_allow_any_host(&mut self, allow: bool) {
        self.allow_any_host = allow;
    }

    /// `subsystem->listeners`, head first. Reading a listener's trid goes through
    /// `Target::read_listener` (subsys_listener.rs), which checks what it points at.
    pub fn listeners(&self) -> &[SubsysListener] {
        &self.listeners
    }

    /// `_nvmf_subsystem_add_listener`: a listener pointing into transport listener `bound`,
    /// with the lowest free id (`used_listener_ids`), at the head of the list.
    pub fn add_listener(&mut self, trid: Trid, bound: ListenerH) -> SubsysListener {
        let id = (0u16..)
            .find(|i| self.listeners.iter().all(|l| l.id != *i))
            .unwrap_or(u16::MAX);
        let l = SubsysListener { trid, bound, id };
        self.listeners.insert(0, l.clone());
        l
    }

    /// `_nvmf_subsystem_remove_listener`: this listener (and its id) goes.
    pub fn remove_listener(&mut self, l: &SubsysListener) {
        self.listeners.retain(|x| x != l);
    }

    pub fn namespace(&self, nsid: u32) -> Option<&Namespace> {
        self.namespaces.get(&nsid)
    }

    pub fn namespace_mut(&mut self, nsid: u32) -> Option<&mut Namespace> {
        self.namespaces.get_mut(&nsid)
    }

    /// Namespaces by NSID.
    pub fn namespaces(&self) -> impl Iterator<Item = &Namespace> {
        self.namespaces.values()
    }

    /// `subsystem->max_nsid`: the highest NSID it may have (Identify Controller's NN).
    pub fn max_nsid(&self) -> u32 {
        self.max_nsid
    }

    /// `spdk_nvmf_subsystem_add_ns_ext` (the subsystem is paused or inactive).
    pub fn add_namespace(&mut self, cfg: NamespaceConfig, ids: NamespaceIds) {
        debug_assert!(
            matches!(self.state, SubState::Inactive | SubState::Paused),
            "spdk_nvmf_subsystem_add_ns_ext: subsystem must be INACTIVE or PAUSED"
        );
        self.namespaces.insert(cfg.nsid, Namespace::new(cfg, ids));
    }

    /// `spdk_nvmf_subsystem_remove_ns` (the subsystem is paused or inactive).
    pub fn remove_namespace(&mut self, nsid: u32) {
        debug_assert!(
            matches!(self.state, SubState::Inactive | SubState::Paused),
            "spdk_nvmf_subsystem_remove_ns: subsystem must be INACTIVE or PAUSED"
        );
        self.namespaces.remove(&nsid);
    }

    /// The controller with this cntlid.
    pub fn ctrlr(&self, cntlid: u16) -> Option<CtrlrH> {
        self.ctrlrs.get(&cntlid).copied()
    }

    /// Controllers in cntlid order.
    pub fn ctrlrs(&self) -> impl Iterator<Item = CtrlrH> + '_ {
        self.ctrlrs.values().copied()
    }

    pub fn has_ctrlrs(&self) -> bool {
        !self.ctrlrs.is_empty()
    }

    /// `nvmf_subsystem_add_ctrlr`: the next free cntlid in `[min, max]` (cycling), and the
    /// controller joins `subsystem->ctrlrs`. None if the range is exhausted.
    pub fn add_ctrlr(&mut self, c: CtrlrH) -> Option<u16> {
        let (min, max) = (self.min_cntlid, self.max_cntlid);
        if min > max {
            return None;
        }
        let span = u32::from(max - min) + 1;
        let start = u32::from(self.next_cntlid.clamp(min, max) - min);
        let id = (0..span)
            .map(|i| min + ((start + i) % span) as u16)
            .find(|id| !self.ctrlrs.contains_key(id))?;
        self.next_cntlid = if id == max { min } else { id + 1 };
        self.ctrlrs.insert(id, c);
        Some(id)
    }

    /// `nvmf_subsystem_remove_ctrlr`.
    pub fn remove_ctrlr(&mut self, cntlid: u16) {
        self.ctrlrs.remove(&cntlid);
    }

    /// The running state change (head of `subsystem->state_changes`).
    pub fn current_change(&self) -> Option<&StateChange> {
        self.state_changes.front()
    }

    /// Queues a state change; returns whether it is the only one (so it runs now).
    pub fn push_change(&mut self, change: StateChange) -> bool {
        self.state_changes.push_back(change);
        self.state_changes.len() == 1
    }

    /// Pops the finished head; returns it and whether another change is waiting.
    pub fn pop_change(&mut self) -> Option<(StateChange, bool)> {
        let head = self.state_changes.pop_front()?;
        Some((head, !self.state_changes.is_empty()))
    }

    /// Every queued change (cancelled by destroy).
    pub fn drain_changes(&mut self) -> Vec<StateChange> {
        self.state_changes.drain(..).collect()
    }

    /// `spdk_nvmf_subsystem_destroy`: only INACTIVE, once; listeners and hosts go.
    pub fn begin_destroy(&mut self) -> Result<(), i32> {
        if self.state != SubState::Inactive {
            return Err(-11);
        }
        if self.destroying {
            return Err(EALREADY);
        }
        self.destroying = true;
        self.hosts.clear();
        Ok(())
    }
}

impl Target {
    /// `spdk_nvmf_tgt_find_subsystem`.
    pub(super) fn find_subsystem(&self, nqn: &str) -> Option<SubsysH> {
        self.subsystems
            .iter()
            .find(|(_, s)| s.nqn() == nqn)
            .map(|(h, _)| h)
    }

    /// Creates a subsystem (INACTIVE) with its configured listeners; starts it if asked.
    pub(super) fn create_subsystem(&mut self, cfg: &SubsystemConfig, cb: StateCb) -> SubsysH {
        let s = self.subsystems.insert(Subsystem::from_config(cfg));
        for trid in &cfg.listeners {
            self.add_subsys_listener(s, trid);
        }
        if cfg.start {
            self.subsystem_state_change(s, SubState::Active, 0, cb);
        } else {
            self.state_cb(s, cb, Ok(()));
        }
        s
    }

    /// `nvmf_subsystem_state_change`: queue the request and run it if it is the only one
    /// (master); v24.01 refuses a request made while another change runs with -EBUSY, which
    /// its callers (the RPC handlers) answer as an error, without calling the callback.
    pub(super) fn subsystem_state_change(
        &mut self,
        s: SubsysH,
        requested: SubState,
        nsid: u32,
        cb: StateCb,
    ) {
        let errno_refused = self.config.spdk.refused_state_change_errno();
        let queues = self.config.spdk.queues_state_changes();
        let Some(sub) = self.subsystems.get_mut(s) else {
            return;
        };
        if sub.refuses_changes() {
            let errno = errno_refused;
            self.state_cb(s, cb, Err(errno));
            return;
        }
        if !queues && sub.current_change().is_some() {
            self.mark(Mark::StateChangeBusy, format!("{s} -> {requested:?}"));
            self.state_cb(s, cb, Err(EBUSY));
            return;
        }
        if matches!(cb, StateCb::Delete { .. }) {
            sub.mark_destroy_pending();
        }
        let change = StateChange {
            requested,
            nsid,
            cb,
        };
        if sub.push_change(change) {
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
        let Some(head) = sub.current_change() else {
            return;
        };
        let (requested, nsid, cur) = (head.requested, head.nsid, sub.state());
        // d123762feb: a namespace pause of a PAUSED subsystem still fans out to drain that
        // namespace (SPDK #3738 switched back on: it completes at once).
        let drain_ns = requested == SubState::Paused && nsid != 0 && !self.bug(BugId::Spdk3738);
        if cur == requested && !drain_ns {
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
        if !self.stop_paused(s, new) {
            return false;
        }
        let Some(sub) = self.subsystems.get_mut(s) else {
            return false;
        };
        if !sub.set_state(new) {
            return false;
        }
        self.refresh_connect_retry_deadlines();
        true
    }

    /// `subsystem_state_change_done` on the requesting thread: the final CAS, then the
    /// callback and the next queued change. The model serializes changes, so a failed final
    /// CAS is an I10 violation rather than a revert.
    pub(super) fn state_change_done(&mut self, s: SubsysH) {
        let Some(sub) = self.live(s, "subsystem_state_change_done") else {
            return;
        };
        let Some(head) = sub.current_change() else {
            return;
        };
        let (requested, cur) = (head.requested, sub.state());
        if cur != requested && !self.set_state(s, requested) {
            self.crash_on(
                InvariantId::LegalTransitions,
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
        let Some((head, more)) = sub.pop_change() else {
            return;
        };
        self.state_cb(s, head.cb, rc);
        if more && self.subsystems.contains(s) {
            self.do_state_change(s);
        }
    }
}

/// I17: a subsystem belongs to `subsystem->thread` (the app thread).
impl super::arena::Owned for Subsystem {
    fn owner(&self) -> Option<super::ThreadId> {
        Some(super::ThreadId::App)
    }
}
