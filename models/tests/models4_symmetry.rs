//! Host symmetry on the NVMe-oF world (`--symmetry on`): on a world with two interchangeable
//! hosts, BFS with symmetry gives the same verdict and the same shortest counterexample length
//! as without, stores fewer states, and stores exactly one state per class (the number of
//! distinct canonical hashes among every state reachable without symmetry), which also checks
//! that the renamed states are reachable: the world is symmetric under the renaming.

use fabcheck_models::nvmf::{NvmfModel, Step};
use fabcheck_models::{check, CheckOptions, Model, Outcome, Report};
use fabcheck_sim::world::WorldState;
use fabcheck_sim::Scenario;
use std::collections::hash_map::DefaultHasher;
use std::collections::BTreeSet;
use std::hash::{Hash, Hasher};

const TWINS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/scenarios/seed-3302-twins.toml"
);
const TWINS_SMALL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/twins-small.toml");

fn model(name: &str, bugs: &[&str]) -> NvmfModel {
    let bugs: Vec<String> = bugs.iter().map(|b| b.to_string()).collect();
    NvmfModel::new(Scenario::resolve(name).unwrap().with_bugs(&bugs).unwrap())
}

fn bfs(m: &NvmfModel, symmetry: bool) -> Report<NvmfModel> {
    let opts = CheckOptions {
        threads: 2,
        symmetry,
        ..CheckOptions::default()
    };
    check(m, &opts)
}

fn fp(s: &WorldState) -> u64 {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

fn canonical(m: &NvmfModel, s: &WorldState) -> u64 {
    let mut h = DefaultHasher::new();
    m.hash_canonical(s, &mut h);
    h.finish()
}

/// Every reachable state (no reduction): how many, and how many classes.
fn classes(m: &NvmfModel) -> (usize, usize) {
    let init = m.init_states().remove(0);
    let mut seen = BTreeSet::from([fp(&init)]);
    let mut classes = BTreeSet::from([canonical(m, &init)]);
    let mut todo = vec![init];
    while let Some(s) = todo.pop() {
        if !m.within_bounds(&s) {
            continue;
        }
        let mut succ: Vec<(Step, WorldState)> = Vec::new();
        m.successors(&s, &mut succ);
        for (_, t) in succ {
            if seen.insert(fp(&t)) {
                classes.insert(canonical(m, &t));
                todo.push(t);
            }
        }
    }
    (seen.len(), classes.len())
}

#[test]
fn interchangeable_hosts_are_found() {
    assert_eq!(model(TWINS, &[]).host_groups(), &[vec![0, 1]]);
    assert_eq!(model(TWINS_SMALL, &[]).host_groups(), &[vec![0, 1]]);
    assert!(model("seed-3302", &[]).host_groups().is_empty());
    assert!(
        model("seed-3302-ctrlr-add-fail", &[])
            .host_groups()
            .is_empty(),
        "different scripts"
    );
}

#[test]
fn symmetry_keeps_the_verdict_and_stores_one_state_per_class() {
    // seed-3302-twins (518,246 states) takes minutes in a debug build: FABCHECK_TWINS=1.
    let name = match std::env::var("FABCHECK_TWINS") {
        Ok(_) => TWINS,
        Err(_) => TWINS_SMALL,
    };
    let m = model(name, &[]);
    let (off, on) = (bfs(&m, false), bfs(&m, true));
    eprintln!(
        "{name}: states {} / {}, transitions {} / {} (without / with symmetry)",
        off.states, on.states, off.transitions, on.transitions
    );
    assert_eq!(off.outcome, Outcome::Verified, "{:?}", off.sometimes);
    assert_eq!(on.outcome, Outcome::Verified, "{:?}", on.sometimes);
    assert_eq!(off.sometimes, on.sometimes);
    assert!(on.states < off.states, "symmetry merges states");
    let (all, classes) = classes(&m);
    assert_eq!(all as u64, off.states);
    assert_eq!(on.states, classes as u64, "one stored state per class");
}

#[test]
fn symmetry_keeps_the_shortest_counterexample() {
    let m = model(TWINS, &["spdk-3302"]);
    let (off, on) = (bfs(&m, false), bfs(&m, true));
    eprintln!(
        "twins + spdk-3302: states {} / {} to the violation (without / with symmetry)",
        off.states, on.states
    );
    assert_eq!(off.outcome, Outcome::Violated);
    assert_eq!(on.outcome, Outcome::Violated);
    let (a, b) = (&off.violations[0], &on.violations[0]);
    assert_eq!(a.property, b.property);
    assert_eq!(a.path.len(), b.path.len(), "the same shortest length");
    assert!(on.states <= off.states);
    let seed = m.seed_string(b.path.steps.iter().map(|s| &s.0));
    let replayed = fabcheck_sim::run(&m.sc, &seed, false);
    assert_eq!(
        replayed.failure.as_ref(),
        b.path.last().failure(),
        "a real path"
    );
}
