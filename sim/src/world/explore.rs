//! One step of the world from an explicit state, for exhaustive exploration
//! (`fabcheck-models`).
//!
//! `WorldState::step` puts a clone of the state in a world with a chooser that answers a given
//! list of picks (then 0), runs exactly one iteration of the same loop `run_safety` /
//! `run_liveness` run, and returns the new state and every choice the step asked. So a path of
//! steps is a run, and the concatenated picks (after the initial keep-everything `Drop`
//! answers) are the choice list of an `fc1:` seed string that `fabcheck replay` replays.
//! `WorldState::step_touches` also returns the step's footprint (`footprint.rs`).

use super::enabled::Cand;
use super::footprint::{touches, Snapshot, Touches};
use super::{Failure, Stage, World, WorldState};
use crate::chooser::{Choice, ChoiceKind, Chooser, Recorder};
use crate::coverage::Coverage;
use crate::scenario::Scenario;
use fabcheck_core::nvmf::arena::record;
use std::collections::BTreeMap;

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

impl WorldState {
    /// The state `World::new` starts in when every scenario item is kept, and how many `Drop`
    /// choices (all answered 0) building it asked.
    pub fn initial(sc: &Scenario) -> (WorldState, usize) {
        let w = World::new(sc, Box::new(Picks(Vec::new(), 0)), false);
        let drops = w.chooser.record().len();
        let mut s = w.s;
        s.live_steps = 0;
        (s, drops)
    }

    fn to_world<'s>(&self, sc: &'s Scenario, picks: &[u32]) -> World<'s> {
        let mut s = self.clone();
        s.marks = Coverage::default();
        World {
            sc,
            s,
            chooser: Recorder::new(Box::new(Picks(picks.to_vec(), 0))),
            trace: None,
            recording: None,
            views: BTreeMap::new(),
        }
    }

    /// One step of the simulator's loop from this state, answering `picks` (then 0).
    pub fn step(&self, sc: &Scenario, picks: &[u32]) -> Stepped {
        self.step_inner(sc, picks, None).0
    }

    /// `step`, plus the step's actor and footprint (`None`: it commutes with nothing). Records
    /// the target's arena accesses on this thread while the step runs.
    pub fn step_touches(&self, sc: &Scenario, picks: &[u32]) -> (Stepped, Option<Touches>) {
        let before = Snapshot::of(self);
        let mut offered = None;
        record::start();
        let (stepped, w_choices) = self.step_inner(sc, picks, Some(&mut offered));
        let accesses = record::stop();
        let i = w_choices
            .iter()
            .find(|c| c.kind == ChoiceKind::Event)
            .map_or(0, |c| c.picked as usize);
        let chosen = offered.and_then(|cands: Vec<Cand>| cands.into_iter().nth(i));
        let t =
            chosen.and_then(|c| touches(self, &before, &stepped.state, &c, &w_choices, &accesses));
        (stepped, t)
    }

    /// Test hook: the same state with the target's `current` (the thread that ran last) set
    /// to `t`, to check that it is dead between steps.
    #[doc(hidden)]
    #[must_use]
    pub fn with_current_for_test(&self, t: fabcheck_core::nvmf::ThreadId) -> WorldState {
        let mut s = self.clone();
        s.target.set_current_for_test(t);
        s
    }

    /// Whether the target's `current` is part of this state's identity (`Target::hash_state`).
    #[must_use]
    pub fn current_is_live(&self) -> bool {
        self.target.current_is_live()
    }

    fn step_inner(
        &self,
        sc: &Scenario,
        picks: &[u32],
        offered: Option<&mut Option<Vec<Cand>>>,
    ) -> (Stepped, Vec<Choice>) {
        let mut w = self.to_world(sc, picks);
        let stage = match self.stage {
            Stage::Done => Stage::Done,
            Stage::Safety => safety_step(&mut w, offered),
            Stage::Liveness => liveness_step(&mut w, offered),
        };
        let choices = w.chooser.record().to_vec();
        let mut state = w.s;
        state.stage = stage;
        let stepped = Stepped {
            state,
            choices: choices.clone(),
        };
        (stepped, choices)
    }
}

/// One iteration of `World::run_safety`'s loop; at its end, the start of `run_liveness`.
fn safety_step(w: &mut World<'_>, offered: Option<&mut Option<Vec<Cand>>>) -> Stage {
    if w.s.step < w.sc.steps && w.s.failure.is_none() {
        w.inject_faults();
        w.drain();
        let all = w.enabled();
        if !w.safety_done(&all) {
            if let Some(o) = offered {
                *o = Some(w.candidates(all.clone()));
            }
            if w.step_once(all) {
                return Stage::Safety;
            }
        }
    }
    if w.s.failure.is_some() {
        return Stage::Done;
    }
    w.s.stage = Stage::Liveness;
    Stage::Liveness
}

/// One iteration of `World::run_liveness`'s loop, or its final check.
fn liveness_step(w: &mut World<'_>, offered: Option<&mut Option<Vec<Cand>>>) -> Stage {
    if w.s.failure.is_some() || w.stuck().is_empty() {
        w.report_breach();
        return Stage::Done;
    }
    if w.s.live_steps < w.sc.liveness_steps {
        let all = w.enabled();
        if let Some(o) = offered {
            *o = Some(w.candidates(all.clone()));
        }
        if w.step_once(all) {
            w.s.live_steps += 1;
            return Stage::Liveness;
        }
    }
    let stuck = w.stuck();
    if w.s.failure.is_none() && !stuck.is_empty() {
        w.fail(Failure::Liveness { stuck });
    }
    w.report_breach();
    Stage::Done
}
