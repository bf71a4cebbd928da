//! Two-phase commit side by side: fabcheck's BFS and Stateright's BFS and DFS on the same model,
//! the same thread count, in the same run. The unique state counts must be equal; prints
//! states/s for each and the ratio.
//!
//! `cargo bench -p fabcheck-models --bench twopc` (FABCHECK_2PC_RMS=9, FABCHECK_2PC_THREADS=2
//! by default).

#![allow(clippy::disallowed_methods)] // wall time measures the checkers, nothing else

#[path = "peer/stateright_2pc.rs"]
mod peer;

use fabcheck_models::twopc::TwoPhaseSys;
use fabcheck_models::{check, check_dfs, CheckOptions, Outcome};
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
        "{name:<28} {states:>12} states {secs:>8.2} s {:>8.3} M states/s",
        rate / 1e6
    );
    rate
}

fn main() {
    let rms = env("FABCHECK_2PC_RMS", 9);
    let threads = env("FABCHECK_2PC_THREADS", 2);
    println!("two-phase commit, {rms} resource managers, {threads} threads");

    let t = Instant::now();
    let ours = check(
        &TwoPhaseSys { rms },
        &CheckOptions {
            threads,
            ..CheckOptions::default()
        },
    );
    let ours_rate = row(
        "fabcheck-models bfs",
        ours.states as usize,
        t.elapsed().as_secs_f64(),
    );
    assert_eq!(ours.outcome, Outcome::Verified);

    let t = Instant::now();
    let dfs_ours = check_dfs(&TwoPhaseSys { rms }, &CheckOptions::default());
    let dfs_ours_rate = row(
        "fabcheck-models dfs (1 thread)",
        dfs_ours.states as usize,
        t.elapsed().as_secs_f64(),
    );
    assert_eq!(dfs_ours.states, ours.states);

    let t = Instant::now();
    let bfs = peer::TwoPhaseSys { rms: 0..rms }
        .checker()
        .threads(threads)
        .spawn_bfs()
        .join();
    let bfs_rate = row(
        "stateright 0.31 bfs",
        bfs.unique_state_count(),
        t.elapsed().as_secs_f64(),
    );
    bfs.assert_properties();

    let t = Instant::now();
    let dfs = peer::TwoPhaseSys { rms: 0..rms }
        .checker()
        .threads(threads)
        .spawn_dfs()
        .join();
    let dfs_rate = row(
        "stateright 0.31 dfs",
        dfs.unique_state_count(),
        t.elapsed().as_secs_f64(),
    );
    dfs.assert_properties();

    assert_eq!(
        ours.states as usize,
        bfs.unique_state_count(),
        "state counts differ"
    );
    assert_eq!(
        ours.states as usize,
        dfs.unique_state_count(),
        "state counts differ"
    );
    println!(
        "ratio fabcheck bfs / stateright bfs: {:.2}x; fabcheck bfs / stateright dfs: {:.2}x; \
         fabcheck dfs (1 thread) / stateright dfs ({threads} threads): {:.2}x; unique states equal: {}",
        ours_rate / bfs_rate,
        ours_rate / dfs_rate,
        dfs_ours_rate / dfs_rate,
        ours.states
    );
}
