//! The world as an explicit state for exhaustive exploration (`fabcheck-models`).
//!
//! `WorldState` is everything a `World` carries except the scenario, the chooser and the trace;
//! `WorldState::step` rebuilds a world around it with a chooser that answers a given list of
//! picks (then 0), runs exactly one step of the same loop `run_safety` / `run_liveness` run,
//! and returns the new state and every choice the step asked. So a path of steps is a run, and
//! the concatenated picks (after the initial keep-everything `Drop` answers) are the choice list
//! of an `fc1:` seed string that `fabcheck replay` replays.
//!
//! Invariant kept: `Hash` covers every field that decides the future (target, hosts, pipes,
//! operator progress, time, phase, failure); the step counters and the marks of the last step
//! are left out so that two paths reaching the same state meet. The counters only matter at the
//! scenario's step bounds, which `within_bounds` reports.

use super::{Conn, Failure, OpState, Phase, World};
use crate::chooser::{Choice, ChoiceKind, Chooser, Recorder};
use crate::coverage::Coverage;
use crate::scenario::Scenario;
use fabcheck_core::nvmf::{ConnId, Target};
use fabcheck_core::Instant;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

use super::host::HostSlot;

/// Where the run is: the two phases of `run::run_with`, then done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    Safety,
    Liveness,
    Done,
}

/// One connection's state (the trace views are not kept).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ConnState {
    host: usize,
    qid: u16,
    to_target: crate::net::Pipe,
    to_host: crate::net::Pipe,
    host_open: bool,
    target_open: bool,
}

/// The world's state between two steps.
#[derive(Clone)]
pub struct WorldState {
    now: Instant,
    target: Target,
    hosts: Vec<HostSlot>,
    conns: BTreeMap<ConnId, ConnState>,
    by_queue: BTreeMap<(usize, u16), ConnId>,
    ops: Vec<OpState>,
    next_conn: u64,
    next_rpc: u64,
    stage: Stage,
    faults_left: u32,
    failure: Option<Failure>,
    /// Steps taken (both phases), as `World::steps`. Not hashed.
    pub step: u32,
    /// Steps taken in the liveness phase. Not hashed.
    pub live_steps: u32,
    /// Marks the last step reached. Not hashed.
    pub marks: Coverage,
}

/// What one step did.
pub struct Stepped {
    pub state: WorldState,
    /// Every choice the step asked (n >= 2), in order.
    pub choices: Vec<Choice>,
}

/// Answers a list of picks, then 0.
struct Picks(Vec<u32>, usize);

impl Chooser for Picks {
    fn choose(&mut self, _kind: ChoiceKind, n: u32) -> u32 {
        let v = self.0.get(self.1).copied().unwrap_or(0);
        self.1 += 1;
        v.min(n - 1)
    }
}

impl Hash for WorldState {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.now.hash(h);
        self.target.hash(h);
        for s in &self.hosts {
            s.host.hash(h);
            (s.kept, s.pos, &s.open, &s.ic, &s.connected).hash(h);
            (s.connecting, s.ready, s.keep_alive, s.next_tag, s.wake_at).hash(h);
            s.steps.iter().for_each(|(_, kept)| kept.hash(h));
        }
        self.conns.hash(h);
        self.by_queue.hash(h);
        for o in &self.ops {
            match o {
                OpState::Issued(id) => (1u8, id.0).hash(h),
                other => (0u8, format!("{other:?}")).hash(h),
            }
        }
        (self.next_conn, self.next_rpc, self.stage, self.faults_left).hash(h);
        self.failure.as_ref().map(ToString::to_string).hash(h);
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

fn clone_slot(s: &HostSlot) -> HostSlot {
    HostSlot {
        host: s.host.clone(),
        kept: s.kept,
        steps: s.steps.clone(),
        pos: s.pos,
        open: s.open.clone(),
        ic: s.ic.clone(),
        connected: s.connected.clone(),
        connecting: s.connecting,
        ready: s.ready,
        keep_alive: s.keep_alive,
        next_tag: s.next_tag,
        wake_at: s.wake_at,
    }
}

impl Clone for HostSlot {
    fn clone(&self) -> Self {
        clone_slot(self)
    }
}

impl WorldState {
    /// The state `World::new` starts in when every scenario item is kept, and how many `Drop`
    /// choices (all answered 0) building it asked.
    pub fn initial(sc: &Scenario) -> (WorldState, usize) {
        let w = World::new(sc, Box::new(Picks(Vec::new(), 0)), false);
        let drops = w.chooser.record().len();
        (Self::from_world(w, 0), drops)
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

    fn from_world(w: World<'_>, live_steps: u32) -> WorldState {
        let stage = match w.phase {
            Phase::Safety => Stage::Safety,
            Phase::Liveness => Stage::Liveness,
        };
        let conns = w
            .conns
            .into_iter()
            .map(|(id, c)| (id, conn_state(c)))
            .collect();
        WorldState {
            now: w.now,
            target: w.target,
            hosts: w.hosts,
            conns,
            by_queue: w.by_queue,
            ops: w.ops,
            next_conn: w.next_conn,
            next_rpc: w.next_rpc,
            stage,
            faults_left: w.faults_left,
            failure: w.failure,
            step: w.step,
            live_steps,
            marks: w.coverage,
        }
    }

    fn to_world<'s>(&self, sc: &'s Scenario, picks: &[u32]) -> World<'s> {
        let conns = self.conns.iter().map(|(&id, c)| (id, conn(c))).collect();
        World {
            sc,
            now: self.now,
            target: self.target.clone(),
            hosts: self.hosts.clone(),
            conns,
            by_queue: self.by_queue.clone(),
            ops: self.ops.clone(),
            next_conn: self.next_conn,
            next_rpc: self.next_rpc,
            phase: match self.stage {
                Stage::Safety => Phase::Safety,
                _ => Phase::Liveness,
            },
            faults_left: self.faults_left,
            chooser: Recorder::new(Box::new(Picks(picks.to_vec(), 0))),
            step: self.step,
            trace: None,
            recording: None,
            coverage: Coverage::default(),
            failure: self.failure.clone(),
        }
    }

    /// One step of the simulator's loop from this state, answering `picks` (then 0).
    pub fn step(&self, sc: &Scenario, picks: &[u32]) -> Stepped {
        let mut w = self.to_world(sc, picks);
        let mut live = self.live_steps;
        let stage = match self.stage {
            Stage::Done => Stage::Done,
            Stage::Safety => safety_step(&mut w),
            Stage::Liveness => liveness_step(&mut w, &mut live),
        };
        let choices = w.chooser.record().to_vec();
        let mut state = Self::from_world(w, live);
        state.stage = stage;
        Stepped { state, choices }
    }
}

/// One iteration of `World::run_safety`'s loop; at its end, the start of `run_liveness`.
fn safety_step(w: &mut World<'_>) -> Stage {
    if w.step < w.sc.steps && w.failure.is_none() {
        w.inject_faults();
        w.drain();
        let all = w.enabled();
        if !w.safety_done(&all) && w.step_once(all) {
            return Stage::Safety;
        }
    }
    if w.failure.is_some() {
        return Stage::Done;
    }
    w.phase = Phase::Liveness;
    Stage::Liveness
}

/// One iteration of `World::run_liveness`'s loop, or its final check.
fn liveness_step(w: &mut World<'_>, live: &mut u32) -> Stage {
    if w.failure.is_some() || w.stuck().is_empty() {
        return Stage::Done;
    }
    if *live < w.sc.liveness_steps {
        let all = w.enabled();
        if w.step_once(all) {
            *live += 1;
            return Stage::Liveness;
        }
    }
    let stuck = w.stuck();
    if w.failure.is_none() && !stuck.is_empty() {
        w.fail(Failure::Liveness { stuck });
    }
    Stage::Done
}

fn conn_state(c: Conn) -> ConnState {
    ConnState {
        host: c.host,
        qid: c.qid,
        to_target: c.to_target,
        to_host: c.to_host,
        host_open: c.host_open,
        target_open: c.target_open,
    }
}

fn conn(c: &ConnState) -> Conn {
    Conn {
        host: c.host,
        qid: c.qid,
        to_target: c.to_target.clone(),
        to_host: c.to_host.clone(),
        host_open: c.host_open,
        target_open: c.target_open,
        views: None,
    }
}
