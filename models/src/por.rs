//! Sleep sets (Godefroid 1996) over per-action footprints, with state caching.
//!
//! After exploring action `a` from a state, `a` is put to sleep for its later siblings: a
//! sibling's subtree need not take `a` first while only actions independent of `a` have run,
//! because that order was covered by `a`'s subtree. A child inherits the sleeping actions that
//! commute with the action leading to it. Sleep sets never lose a reachable state or terminal
//! state; they save transitions. With a visited set, a state met again with a sleep set that
//! does not cover the one it was explored with is re-explored for the difference (the stored
//! sleep set shrinks to the intersection), which keeps the search complete.
//!
//! Invariant kept: an action whose footprint is unknown commutes with nothing.

use crate::model::{Footprint, Model};

/// An action with its footprint in the state it is enabled in.
pub struct Slept<M: Model> {
    pub action: M::Action,
    pub footprint: Option<Footprint>,
}

impl<M: Model> Clone for Slept<M> {
    fn clone(&self) -> Self {
        Slept {
            action: self.action.clone(),
            footprint: self.footprint.clone(),
        }
    }
}

/// Whether two (possibly unknown) footprints commute.
pub fn independent(a: &Option<Footprint>, b: &Option<Footprint>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.independent(b),
        _ => false,
    }
}

/// The sleep set a child inherits when `taken` runs from a state whose sleep set (plus the
/// siblings explored before `taken`) is `asleep`.
pub fn child_sleep<M: Model>(asleep: &[Slept<M>], taken: &Slept<M>) -> Vec<Slept<M>> {
    asleep
        .iter()
        .filter(|s| independent(&s.footprint, &taken.footprint))
        .cloned()
        .collect()
}

/// Whether `action` is in `set`.
pub fn contains<M: Model>(set: &[Slept<M>], action: &M::Action) -> bool {
    set.iter().any(|s| &s.action == action)
}

/// `a ∩ b` by action.
pub fn intersect<M: Model>(a: &[Slept<M>], b: &[Slept<M>]) -> Vec<Slept<M>> {
    a.iter()
        .filter(|s| contains(b, &s.action))
        .cloned()
        .collect()
}
