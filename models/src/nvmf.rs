//! The NVMe-oF world of `fabcheck-sim` as a model: a state is a `WorldState` (target core,
//! hosts, pipes at PDU granularity, operator progress, armed timers, virtual time); an action is
//! the list of picks one simulator step asks (which enabled event, and any split or fault
//! choice), so time advances exactly as the simulator's rules say. A path's picks, after the
//! initial keep-everything answers, form the choice list of an `fc1:` seed string.
//!
//! Properties: `always` no safety violation (the core's invariants and the hosts' protocol
//! checks), `always` quiescence in the liveness phase (I8), and one `sometimes` per lifecycle
//! mark the scenario requires. A failure that is a recorded hazard (`fabcheck_sim::hazard`,
//! SPDK's own behaviour) breaks neither property.

use crate::model::{Model, Property};
use fabcheck_sim::chooser::canonical;
use fabcheck_sim::world::{Stage, WorldState};
use fabcheck_sim::{Failure, Scenario, SeedString};

/// A scenario's world.
pub struct NvmfModel {
    pub sc: Scenario,
    init: WorldState,
    drops: usize,
}

/// One simulator step: the picks it answers.
pub type Picks = Vec<u32>;

impl NvmfModel {
    pub fn new(sc: Scenario) -> Self {
        let (init, drops) = WorldState::initial(&sc);
        NvmfModel { sc, init, drops }
    }

    /// The seed string that replays a path of steps in the simulator.
    pub fn seed_string<'a>(&self, steps: impl IntoIterator<Item = &'a Picks>) -> SeedString {
        let mut picks = vec![0u32; self.drops];
        for s in steps {
            picks.extend_from_slice(s);
        }
        let record: Vec<fabcheck_sim::chooser::Choice> = picks
            .iter()
            .map(|&picked| fabcheck_sim::chooser::Choice {
                kind: fabcheck_sim::chooser::ChoiceKind::Event,
                n: picked + 1,
                picked,
            })
            .collect();
        SeedString::new(&self.sc.key(), 0).with_choices(canonical(&record))
    }
}

/// Whether a state's failure is a recorded hazard (SPDK's own behaviour, docs/hazards.md):
/// not counted against the properties.
fn is_hazard(m: &NvmfModel, f: &Failure) -> bool {
    fabcheck_sim::hazard::known(f, m.sc.spdk).is_some()
}

fn safety(m: &NvmfModel, s: &WorldState) -> bool {
    match s.failure() {
        Some(f @ (Failure::Safety(_) | Failure::Protocol { .. })) => is_hazard(m, f),
        _ => true,
    }
}

impl Model for NvmfModel {
    type State = WorldState;
    type Action = Picks;

    fn init_states(&self) -> Vec<WorldState> {
        vec![self.init.clone()]
    }

    fn actions(&self, state: &WorldState, out: &mut Vec<Picks>) {
        let mut succ = Vec::new();
        self.successors(state, &mut succ);
        out.extend(succ.into_iter().map(|(a, _)| a));
    }

    fn next_state(&self, state: &WorldState, action: &Picks) -> Option<WorldState> {
        Some(state.step(&self.sc, action).state)
    }

    /// Every way the next step can go: each leaf of the step's choice tree, in a fixed order
    /// (all-zero picks first).
    fn successors(&self, state: &WorldState, out: &mut Vec<(Picks, WorldState)>) {
        if state.stage() == Stage::Done {
            return;
        }
        let mut todo: Vec<Picks> = vec![Vec::new()];
        while let Some(prefix) = todo.pop() {
            let stepped = state.step(&self.sc, &prefix);
            let picks: Picks = stepped.choices.iter().map(|c| c.picked).collect();
            for i in (prefix.len()..picks.len()).rev() {
                for alt in (1..stepped.choices[i].n).rev() {
                    let mut p = picks[..i].to_vec();
                    p.push(alt);
                    todo.push(p);
                }
            }
            out.push((picks, stepped.state));
        }
    }

    fn within_bounds(&self, state: &WorldState) -> bool {
        state.within_bounds(&self.sc)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        let mut props = vec![
            Property::<Self>::always("no safety violation", safety),
            Property::<Self>::always("quiescence (I8)", |m, s: &WorldState| match s.failure() {
                Some(f @ Failure::Liveness { .. }) => is_hazard(m, f),
                _ => true,
            }),
        ];
        for m in &self.sc.required_marks {
            let name = m.clone();
            props.push(Property::<Self>::sometimes(
                format!("reaches {m}"),
                move |_, s: &WorldState| s.marks.reached(&name),
            ));
        }
        props
    }
}
