//! Options and results of a check: what bounded it, what it found, how far it got.
//!
//! Invariant kept: `Outcome::Verified` only when the whole reachable space was explored (no
//! bound hit), no `always` property failed and every `sometimes` property was reached.

use crate::model::Model;
use std::sync::Arc;
use std::time::Duration;

/// Live numbers for a progress display.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    pub states: u64,
    pub transitions: u64,
    pub depth: u64,
}

/// A progress callback (called from checker threads).
pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// How to check.
#[derive(Clone)]
pub struct CheckOptions {
    /// Worker threads for BFS (DFS is single-threaded).
    pub threads: usize,
    /// States at this depth are not expanded (the run is incomplete if they have successors).
    pub max_depth: Option<u64>,
    /// Stop once this many unique states are stored.
    pub max_states: Option<u64>,
    /// Stop after this much wall time.
    pub time_limit: Option<Duration>,
    /// 128-bit fingerprints instead of 64-bit.
    pub fp128: bool,
    /// Deduplicate states by `Model::canonical`.
    pub symmetry: bool,
    /// Sleep-set partial-order reduction over `Model::footprint` (DFS only; see `por`).
    pub por: bool,
    /// Record every terminal state's fingerprint (for tests comparing reductions).
    pub collect_terminals: bool,
    pub progress: Option<ProgressFn>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            threads: 1,
            max_depth: None,
            max_states: None,
            time_limit: None,
            fp128: false,
            symmetry: false,
            por: false,
            collect_terminals: false,
            progress: None,
        }
    }
}

/// A path from an initial state: the states after each action.
#[derive(Debug, Clone)]
pub struct Path<M: Model> {
    pub init: M::State,
    pub steps: Vec<(M::Action, M::State)>,
}

impl<M: Model> Path<M> {
    /// The last state of the path.
    pub fn last(&self) -> &M::State {
        self.steps.last().map_or(&self.init, |(_, s)| s)
    }

    /// Number of actions.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

/// An `always` property that failed, with a path to a state where it fails.
#[derive(Debug, Clone)]
pub struct Violation<M: Model> {
    pub property: String,
    pub path: Path<M>,
}

/// The verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Everything reachable explored, every property holds.
    Verified,
    /// At least one `always` property fails (see `Report::violations`).
    Violated,
    /// Everything explored, no violation, but these `sometimes` properties were never reached.
    Unreached(Vec<String>),
    /// A bound stopped the search; nothing is proven.
    Incomplete(String),
}

/// What a check found.
#[derive(Debug, Clone)]
pub struct Report<M: Model> {
    pub outcome: Outcome,
    /// Unique states stored (after symmetry reduction when on).
    pub states: u64,
    /// Successors computed (including ones already seen).
    pub transitions: u64,
    /// Deepest level expanded (BFS) or deepest stack (DFS).
    pub depth: u64,
    pub elapsed: Duration,
    /// Every `sometimes` property and whether it was reached.
    pub sometimes: Vec<(String, bool)>,
    /// One violation per failed `always` property (BFS: a shortest one).
    pub violations: Vec<Violation<M>>,
    /// Sorted fingerprints of terminal states (when `collect_terminals`).
    pub terminals: Vec<u128>,
}

impl<M: Model> Report<M> {
    /// Unique states per second of wall time.
    pub fn states_per_sec(&self) -> f64 {
        self.states as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Chooses the outcome from what a search saw (the one place the verdict is decided).
pub(crate) fn verdict(
    violated: bool,
    incomplete: Option<String>,
    sometimes: &[(String, bool)],
) -> Outcome {
    if violated {
        return Outcome::Violated;
    }
    if let Some(why) = incomplete {
        return Outcome::Incomplete(why);
    }
    let missing: Vec<String> = sometimes
        .iter()
        .filter(|(_, r)| !r)
        .map(|(n, _)| n.clone())
        .collect();
    if missing.is_empty() {
        Outcome::Verified
    } else {
        Outcome::Unreached(missing)
    }
}
