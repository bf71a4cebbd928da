//! fabcheck-models: a generic explicit-state model checker (no NVMe in the engine), the
//! two-phase-commit benchmark model, and the NVMe-oF world of `fabcheck-sim` as a model.
//!
//! The engine (`model`, `fingerprint`, `visited`, `bfs`, `dfs`, `report`) explores every state a
//! [`Model`] can reach: breadth-first on N threads (shortest counterexamples; the state count and
//! the result do not depend on N) or depth-first with a depth bound. States are deduplicated by a
//! 64-bit (or 128-bit) fingerprint in a compact open-addressing table. A run stopped by a bound
//! (depth, states, time, or a model's own bound) is `Incomplete`, never `Verified`.
//! Reductions: sleep sets over per-action footprints (`por`) and symmetry canonicalization.

pub mod bench;
pub mod bfs;
pub mod catalogue;
pub mod dfs;
pub mod fingerprint;
pub mod model;
pub mod nvmf;
pub mod por;
pub mod report;
pub mod twopc;
pub mod twopc_packed;
pub mod visited;

#[cfg(test)]
mod toys;

pub use model::{Expectation, Footprint, Model, Property};
pub use report::{CheckOptions, Outcome, Report};

/// Checks `model` breadth-first with `opts` (the usual entry point).
pub fn check<M: Model>(model: &M, opts: &CheckOptions) -> Report<M> {
    if opts.fp128 {
        bfs::run::<M, u128>(model, opts)
    } else {
        bfs::run::<M, u64>(model, opts)
    }
}

/// Checks `model` depth-first (single thread) with `opts` (`max_depth` bounds the stack).
pub fn check_dfs<M: Model>(model: &M, opts: &CheckOptions) -> Report<M> {
    if opts.fp128 {
        dfs::run::<M, u128>(model, opts)
    } else {
        dfs::run::<M, u64>(model, opts)
    }
}
