//! The `Model` trait: what a system under check must say (initial states, enabled actions in a
//! deterministic order, next states, properties), plus optional hooks for bounds, symmetry and
//! partial-order reduction.
//!
//! Contract the engine relies on: `actions` lists the same actions in the same order every time
//! it is asked about the same state, and `next_state` is a pure function. Two states with the
//! same `Hash` are the same state (fields left out of `Hash` must not influence the future; they
//! may only carry what the last step did, for `sometimes` properties).

use std::fmt::Debug;
use std::hash::{Hash, Hasher};

/// Whether a property must hold everywhere or somewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expectation {
    /// Must hold in every reachable state; a state where it fails is a violation.
    Always,
    /// Must hold in at least one reachable state; never reaching it fails the check (a vacuous
    /// exploration is not a proof).
    Sometimes,
}

/// A named property over states.
pub struct Property<M: Model + ?Sized> {
    pub name: String,
    pub expectation: Expectation,
    pub holds: Predicate<M>,
}

/// A property's test.
pub type Predicate<M> = Box<dyn Fn(&M, &<M as Model>::State) -> bool + Send + Sync>;

impl<M: Model + ?Sized> Property<M> {
    pub fn always(
        name: impl Into<String>,
        holds: impl Fn(&M, &M::State) -> bool + Send + Sync + 'static,
    ) -> Self {
        Property {
            name: name.into(),
            expectation: Expectation::Always,
            holds: Box::new(holds),
        }
    }

    pub fn sometimes(
        name: impl Into<String>,
        holds: impl Fn(&M, &M::State) -> bool + Send + Sync + 'static,
    ) -> Self {
        Property {
            name: name.into(),
            expectation: Expectation::Sometimes,
            holds: Box::new(holds),
        }
    }
}

/// What one action touches: the logical thread that takes it and the objects it reads, writes
/// and adds to. Two actions commute (are independent) when they run on different threads,
/// neither writes an object the other reads, writes or adds to, and neither adds to an object
/// the other reads or writes. Adding is a commutative update the action does not read (a
/// counter bumped, a count kept per key): two adds to the same object commute. An object id
/// whose low 32 bits are all ones (`Footprint::whole(group)`) stands for every object with the
/// same high 32 bits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Footprint {
    pub thread: u64,
    pub reads: Vec<u64>,
    pub writes: Vec<u64>,
    pub adds: Vec<u64>,
}

const MEMBER: u64 = 0xFFFF_FFFF;

/// Whether two object ids may name the same object.
fn overlaps(a: u64, b: u64) -> bool {
    a == b || (a >> 32 == b >> 32 && (a & MEMBER == MEMBER || b & MEMBER == MEMBER))
}

impl Footprint {
    /// The id standing for every object of `group`.
    pub const fn whole(group: u32) -> u64 {
        (group as u64) << 32 | MEMBER
    }

    /// Whether `self` and `other` commute.
    pub fn independent(&self, other: &Footprint) -> bool {
        let hits = |w: &[u64], t: &[&[u64]]| {
            w.iter()
                .any(|&o| t.iter().any(|v| v.iter().any(|&p| overlaps(o, p))))
        };
        let (a, b) = (self, other);
        a.thread != b.thread
            && !hits(&a.writes, &[&b.reads, &b.writes, &b.adds])
            && !hits(&b.writes, &[&a.reads, &a.writes, &a.adds])
            && !hits(&a.adds, &[&b.reads])
            && !hits(&b.adds, &[&a.reads])
    }
}

/// A system to check.
pub trait Model: Sync {
    type State: Clone + Hash + Debug + Send + Sync;
    type Action: Clone + Debug + PartialEq + Send + Sync;

    /// The initial states, in a fixed order.
    fn init_states(&self) -> Vec<Self::State>;

    /// The actions enabled in `state`, appended to `out` in a deterministic order.
    fn actions(&self, state: &Self::State, out: &mut Vec<Self::Action>);

    /// The state after `action`; `None` when the action turns out to do nothing.
    fn next_state(&self, state: &Self::State, action: &Self::Action) -> Option<Self::State>;

    /// The properties to check.
    fn properties(&self) -> Vec<Property<Self>>;

    /// Every successor with its action, in action order. Override when actions and successors
    /// are cheaper to compute together.
    fn successors(&self, state: &Self::State, out: &mut Vec<(Self::Action, Self::State)>) {
        let mut actions = Vec::new();
        self.actions(state, &mut actions);
        for a in actions {
            if let Some(next) = self.next_state(state, &a) {
                out.push((a, next));
            }
        }
    }

    /// Whether `state` may be expanded. A state outside the model's own bounds is kept but not
    /// expanded, and the run becomes incomplete.
    fn within_bounds(&self, _state: &Self::State) -> bool {
        true
    }

    /// The representative of `state`'s symmetry class (used when symmetry reduction is on).
    /// Must map every permutation of interchangeable components to the same state.
    fn canonical(&self, state: &Self::State) -> Self::State {
        state.clone()
    }

    /// Hashes the representative of `state`'s symmetry class into `h` (what symmetry reduction
    /// fingerprints). Must hash every permutation of interchangeable components the same, and
    /// two states the same only when one is a permutation of the other. Default: the hash of
    /// `canonical(state)`; override when the class can be hashed without building it.
    fn hash_canonical<H: Hasher>(&self, state: &Self::State, h: &mut H) {
        self.canonical(state).hash(h);
    }

    /// `action`'s footprint in `state`, or `None` when unknown (then it commutes with nothing).
    fn footprint(&self, _state: &Self::State, _action: &Self::Action) -> Option<Footprint> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::Footprint;

    fn fp(thread: u64, reads: &[u64], writes: &[u64]) -> Footprint {
        Footprint {
            thread,
            reads: reads.to_vec(),
            writes: writes.to_vec(),
            adds: Vec::new(),
        }
    }

    #[test]
    fn adds_commute_with_adds_only() {
        let adder = |t| Footprint {
            adds: vec![7],
            ..fp(t, &[], &[])
        };
        assert!(adder(1).independent(&adder(2)));
        assert!(
            !adder(1).independent(&fp(2, &[7], &[])),
            "a reader sees the add"
        );
        assert!(!fp(2, &[7], &[]).independent(&adder(1)));
        assert!(
            !adder(1).independent(&fp(2, &[], &[7])),
            "a writer overwrites it"
        );
        assert!(!fp(2, &[], &[7]).independent(&adder(1)));
        assert!(adder(1).independent(&fp(2, &[8], &[9])));
    }

    #[test]
    fn a_whole_group_id_overlaps_every_member_of_its_group_only() {
        let slot = |g: u64, m: u64| g << 32 | m;
        let writer = fp(1, &[], &[slot(8, 3)]);
        assert!(!writer.independent(&fp(2, &[Footprint::whole(8)], &[])));
        assert!(writer.independent(&fp(2, &[Footprint::whole(9)], &[])));
        assert!(writer.independent(&fp(2, &[slot(8, 4)], &[])));
        assert!(!writer.independent(&fp(2, &[slot(8, 3)], &[])));
        assert!(!writer.independent(&fp(1, &[], &[])), "same thread");
        let whole = fp(1, &[], &[Footprint::whole(8)]);
        assert!(!whole.independent(&fp(2, &[slot(8, 0)], &[])));
        assert!(fp(1, &[slot(8, 1)], &[]).independent(&fp(2, &[Footprint::whole(8)], &[])));
    }
}
