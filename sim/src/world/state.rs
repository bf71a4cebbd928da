//! `WorldState`: everything simulated about the world between two steps (target core, hosts,
//! connections with their pipes, operator progress, virtual time, stage, failure, counters).
//! `World` holds one and drives it; `fabcheck-models` clones and hashes it as an explicit state.
//!
//! Invariant kept: `Hash` covers every field that decides the future (target, hosts, pipes,
//! operator progress, time, stage, failure); the step counters and the marks of the last step
//! are left out so that two paths reaching the same state meet. The counters only matter at the
//! scenario's step bounds, which `within_bounds` reports. The target's `current` (the thread
//! that ran last) is hashed only while it can decide something (`Target::hash_state`).

use super::host::HostSlot;
use super::{Conn, Failure, OpState};
use crate::coverage::Coverage;
use crate::scenario::Scenario;
use fabcheck_core::nvmf::{ConnId, Target};
use fabcheck_core::Instant;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

/// Where the run is: the safety phase, the liveness phase, then done (exploration only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    Safety,
    Liveness,
    Done,
}

/// The world's state between two steps.
#[derive(Clone)]
pub struct WorldState {
    pub(super) now: Instant,
    pub(super) target: Target,
    pub(super) hosts: Vec<HostSlot>,
    pub(super) conns: BTreeMap<ConnId, Conn>,
    pub(super) by_queue: BTreeMap<(usize, u16), ConnId>,
    pub(super) ops: Vec<OpState>,
    /// RPCs a random operator action still issues (0 for scripted actions).
    pub(super) op_left: Vec<u32>,
    /// The RPC a random operator action owes before anything else (the resume of its pause,
    /// the start of its stop).
    pub(super) op_owed: Vec<Option<crate::scenario::OperatorRpc>>,
    /// Device I/Os held by a `device_stall` fault: enabled from that time on.
    pub(super) stalled: BTreeMap<u64, Instant>,
    pub(super) next_conn: u64,
    pub(super) next_rpc: u64,
    pub(super) stage: Stage,
    pub(super) faults_left: u32,
    pub(super) failure: Option<Failure>,
    /// Liveness-phase fairness: how long each due actor has waited (fair.rs).
    pub(super) waits: super::fair::Waits,
    /// Steps taken (both phases). Not hashed.
    pub step: u32,
    /// Steps taken in the liveness phase (exploration only). Not hashed.
    pub live_steps: u32,
    /// Marks reached: over the whole run in the simulator, by the last step in exploration.
    /// Not hashed.
    pub marks: Coverage,
}

impl WorldState {
    /// The state before anything happened: every scenario item kept.
    pub(super) fn new(sc: &Scenario) -> WorldState {
        WorldState {
            now: Instant::ZERO,
            target: Target::new(sc.target_config()),
            hosts: sc.hosts.iter().map(|h| HostSlot::new(h, sc)).collect(),
            conns: BTreeMap::new(),
            by_queue: BTreeMap::new(),
            ops: vec![OpState::Pending; sc.operator.len()],
            op_left: sc.operator.iter().map(|a| a.rpc.random_actions()).collect(),
            op_owed: vec![None; sc.operator.len()],
            stalled: BTreeMap::new(),
            next_conn: 1,
            next_rpc: 1,
            stage: Stage::Safety,
            faults_left: sc.faults.max,
            failure: None,
            waits: super::fair::Waits::default(),
            step: 0,
            live_steps: 0,
            marks: Coverage::default(),
        }
    }

    /// Where the run is.
    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// The failure, if the run failed.
    pub fn failure(&self) -> Option<&Failure> {
        self.failure.as_ref()
    }

    /// Whether the state is inside the scenario's step bounds (beyond them the simulator ends
    /// the phase, which the unhashed step counters decide).
    pub fn within_bounds(&self, sc: &Scenario) -> bool {
        match self.stage {
            Stage::Safety => self.step < sc.steps,
            Stage::Liveness => self.live_steps < sc.liveness_steps,
            Stage::Done => true,
        }
    }
}

impl Hash for WorldState {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.now.hash(h);
        self.target.hash_state(h);
        for s in &self.hosts {
            hash_host(s, h);
        }
        self.conns.hash(h);
        self.by_queue.hash(h);
        hash_operator(self, h);
        (self.next_conn, self.next_rpc, self.stage, self.faults_left).hash(h);
        self.failure.as_ref().map(ToString::to_string).hash(h);
        self.waits.hash(h);
    }
}

/// Hashes what decides a host's future (also one object of a step's footprint).
pub(super) fn hash_host<H: Hasher>(s: &HostSlot, h: &mut H) {
    s.host.hash(h);
    (s.kept, s.pos, &s.open, &s.ic, &s.connected).hash(h);
    (s.connecting, s.ready, s.keep_alive, s.next_tag, s.wake_at).hash(h);
    s.random_done.hash(h);
    s.steps.iter().for_each(|(_, kept)| kept.hash(h));
}

/// Hashes the operator's progress (scripted and random) and the device stalls.
pub(super) fn hash_operator<H: Hasher>(s: &WorldState, h: &mut H) {
    for o in &s.ops {
        match o {
            OpState::Issued(id) => (1u8, id.0).hash(h),
            other => (0u8, format!("{other:?}")).hash(h),
        }
    }
    s.op_left.hash(h);
    s.stalled.hash(h);
    for o in &s.op_owed {
        o.as_ref().map(ToString::to_string).hash(h);
    }
}

impl std::fmt::Debug for WorldState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "WorldState {{ step: {}, now: {:?}, stage: {:?}, conns: {}, failure: {:?} }}",
            self.step,
            self.now,
            self.stage,
            self.conns.len(),
            self.failure
        )
    }
}

impl Clone for HostSlot {
    fn clone(&self) -> Self {
        HostSlot {
            host: self.host.clone(),
            kept: self.kept,
            steps: self.steps.clone(),
            pos: self.pos,
            open: self.open.clone(),
            ic: self.ic.clone(),
            connected: self.connected.clone(),
            connecting: self.connecting,
            ready: self.ready,
            keep_alive: self.keep_alive,
            next_tag: self.next_tag,
            wake_at: self.wake_at,
            random_done: self.random_done,
            menu: self.menu.clone(),
        }
    }
}
