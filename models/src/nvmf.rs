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
//!
//! With footprints on (`with_footprints`), each step also carries a stable identity (its
//! event's actor and its script picks, equal across states) and its footprint from the core
//! (`WorldState::step_touches`), for sleep-set partial-order reduction.
//!
//! With symmetry on, a state is fingerprinted as its class under renaming interchangeable hosts
//! (`hash_canonical`, `fabcheck_sim::world::HostSymmetry`).

use crate::model::{Footprint, Model, Property};
use fabcheck_sim::chooser::{canonical, ChoiceKind};
use fabcheck_sim::world::{HostSymmetry, Stage, Stepped, Touches, WorldState};
use fabcheck_sim::{Failure, Scenario, SeedString};

/// A scenario's world.
pub struct NvmfModel {
    pub sc: Scenario,
    init: WorldState,
    drops: usize,
    footprints: bool,
    symmetry: HostSymmetry,
}

/// The picks one simulator step answers.
pub type Picks = Vec<u32>;

/// One simulator step: its picks, and with footprints on, its identity and footprint.
/// Two steps are equal when their identities are (the same event with the same script
/// choices, in any state); steps without one are equal when their picks are (which names a
/// step only within one state; such steps never stay asleep past the state they belong to).
#[derive(Debug, Clone)]
pub struct Step {
    pub picks: Picks,
    key: Option<(u64, Vec<u32>)>,
    footprint: Option<Footprint>,
}

impl PartialEq for Step {
    fn eq(&self, other: &Step) -> bool {
        match (&self.key, &other.key) {
            (Some(a), Some(b)) => a == b,
            (None, None) => self.picks == other.picks,
            _ => false,
        }
    }
}

impl Step {
    fn new(picks: Picks, stepped: &Stepped, touches: Option<Touches>) -> Step {
        let script: Vec<u32> = stepped
            .choices
            .iter()
            .filter(|c| c.kind == ChoiceKind::Script)
            .map(|c| c.picked)
            .collect();
        let key = touches.as_ref().map(|t| (t.actor, script));
        let footprint = touches.map(|t| Footprint {
            thread: t.actor,
            reads: t.reads,
            writes: t.writes,
            adds: t.adds,
        });
        Step {
            picks,
            key,
            footprint,
        }
    }
}

impl NvmfModel {
    pub fn new(sc: Scenario) -> Self {
        let (init, drops) = WorldState::initial(&sc);
        let symmetry = HostSymmetry::of(&sc);
        NvmfModel {
            sc,
            init,
            drops,
            footprints: false,
            symmetry,
        }
    }

    /// Computes each step's identity and footprint (needed for `--por on`; costs a snapshot of
    /// the world and access recording per step).
    #[must_use]
    pub fn with_footprints(mut self) -> Self {
        self.footprints = true;
        self
    }

    /// The groups of interchangeable hosts (`--symmetry on` merges states that differ only by
    /// a renaming inside each group; `fabcheck_sim::world::HostSymmetry`).
    pub fn host_groups(&self) -> &[Vec<usize>] {
        self.symmetry.groups()
    }

    /// The seed string that replays a path of steps in the simulator.
    pub fn seed_string<'a>(&self, steps: impl IntoIterator<Item = &'a Step>) -> SeedString {
        let mut picks = vec![0u32; self.drops];
        for s in steps {
            picks.extend_from_slice(&s.picks);
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
    type Action = Step;

    fn init_states(&self) -> Vec<WorldState> {
        vec![self.init.clone()]
    }

    fn actions(&self, state: &WorldState, out: &mut Vec<Step>) {
        let mut succ = Vec::new();
        self.successors(state, &mut succ);
        out.extend(succ.into_iter().map(|(a, _)| a));
    }

    fn next_state(&self, state: &WorldState, action: &Step) -> Option<WorldState> {
        Some(state.step(&self.sc, &action.picks).state)
    }

    fn hash_canonical<H: std::hash::Hasher>(&self, state: &WorldState, h: &mut H) {
        self.symmetry.hash_canonical(state, h);
    }

    fn footprint(&self, _: &WorldState, action: &Step) -> Option<Footprint> {
        action.footprint.clone()
    }

    /// Every way the next step can go: each leaf of the step's choice tree, in a fixed order
    /// (all-zero picks first).
    fn successors(&self, state: &WorldState, out: &mut Vec<(Step, WorldState)>) {
        if state.stage() == Stage::Done {
            return;
        }
        let mut todo: Vec<Picks> = vec![Vec::new()];
        while let Some(prefix) = todo.pop() {
            let (stepped, touches) = if self.footprints {
                state.step_touches(&self.sc, &prefix)
            } else {
                (state.step(&self.sc, &prefix), None)
            };
            let picks: Picks = stepped.choices.iter().map(|c| c.picked).collect();
            for i in (prefix.len()..picks.len()).rev() {
                for alt in (1..stepped.choices[i].n).rev() {
                    let mut p = picks[..i].to_vec();
                    p.push(alt);
                    todo.push(p);
                }
            }
            let step = Step::new(picks, &stepped, touches);
            out.push((step, stepped.state));
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
