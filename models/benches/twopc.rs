//! Two-phase commit side by side: fabcheck's engine and Stateright's BFS and DFS on the same
//! model, the same thread count, in the same run. The unique state counts must be equal; prints
//! states/s for each and the ratios.
//!
//! fabcheck runs the model twice: `twopc::TwoPhaseSys` has Stateright's state shape (two `Vec`s
//! and a `BTreeSet`, so this row compares the engines), `twopc_packed::PackedTwoPhase` is the
//! same model with the state in two words (what a model's encoding is worth).
//!
//! `cargo bench -p fabcheck-models --bench twopc` (FABCHECK_2PC_RMS=9, FABCHECK_2PC_THREADS=2
//! by default).

#![allow(clippy::disallowed_methods)] // wall time measures the checkers, nothing else

#[path = "peer/stateright_2pc.rs"]
mod peer;

use fabcheck_models::twopc::TwoPhaseSys;
use fabcheck_models::twopc_packed::PackedTwoPhase;
use fabcheck_models::{check, check_dfs, CheckOptions, Model, Outcome, Report};
use stateright::{Checker, Model as _};
use std::time::Instant;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn row(name: &str, states: usize, secs: f64) -> f64 {
    let rate = states as f64 / secs;
    println!(
        "| {name:<40} | {states:>11} | {secs:>8.2} s | {:>7.3} M |",
        rate / 1e6
    );
    rate
}

/// Runs one of fabcheck's checks; returns (states, states/s).
fn ours<M: Model>(
    name: &str,
    model: &M,
    threads: usize,
    run: fn(&M, &CheckOptions) -> Report<M>,
) -> (u64, f64) {
    let t = Instant::now();
    let opts = CheckOptions {
        threads,
        ..CheckOptions::default()
    };
    let r = run(model, &opts);
    let rate = row(name, r.states as usize, t.elapsed().as_secs_f64());
    assert_eq!(r.outcome, Outcome::Verified);
    (r.states, rate)
}

fn stateright(rms: usize, threads: usize, bfs: bool) -> (u64, f64) {
    let t = Instant::now();
    let b = peer::TwoPhaseSys { rms: 0..rms }.checker().threads(threads);
    let (states, name) = if bfs {
        let c = b.spawn_bfs().join();
        c.assert_properties();
        (c.unique_state_count(), "stateright 0.31 bfs")
    } else {
        let c = b.spawn_dfs().join();
        c.assert_properties();
        (c.unique_state_count(), "stateright 0.31 dfs")
    };
    let rate = row(name, states, t.elapsed().as_secs_f64());
    (states as u64, rate)
}

fn main() {
    let rms = env("FABCHECK_2PC_RMS", 9);
    let threads = env("FABCHECK_2PC_THREADS", 2);
    println!("two-phase commit, {rms} resource managers, {threads} threads\n");
    println!("| checker | unique states | time | states/s |\n|---|---|---|---|");
    let shaped = TwoPhaseSys { rms };
    let packed = PackedTwoPhase { rms };
    let (n, packed_bfs) = ours("fabcheck bfs, packed state", &packed, threads, check);
    let (n2, packed_dfs) = ours(
        "fabcheck dfs (1 thread), packed state",
        &packed,
        1,
        check_dfs,
    );
    let (n3, shaped_bfs) = ours(
        "fabcheck bfs, Stateright's state shape",
        &shaped,
        threads,
        check,
    );
    let (n4, sr_bfs) = stateright(rms, threads, true);
    let (n5, sr_dfs) = stateright(rms, threads, false);
    for other in [n2, n3, n4, n5] {
        assert_eq!(other, n, "unique state counts differ");
    }
    println!("\nunique states equal: {n}");
    println!(
        "fabcheck bfs packed / stateright bfs: {:.2}x; / stateright dfs: {:.2}x",
        packed_bfs / sr_bfs,
        packed_bfs / sr_dfs
    );
    println!(
        "fabcheck dfs packed (1 thread) / stateright dfs ({threads} threads): {:.2}x",
        packed_dfs / sr_dfs
    );
    println!(
        "fabcheck bfs, same state shape / stateright bfs: {:.2}x; / stateright dfs: {:.2}x",
        shaped_bfs / sr_bfs,
        shaped_bfs / sr_dfs
    );
}
