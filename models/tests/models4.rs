//! Partial-order reduction on the NVMe-oF world, the precise footprints:
//! - `current` (the thread that ran last) is dead between steps: a step from a state with any
//!   other value of it reaches the same state and asks the same choices, so leaving it out of
//!   the state's identity and of every footprint is sound;
//! - the measurement behind the footprints (`FABCHECK_MEASURE=1`, `--nocapture`): over the
//!   first states of a world, for each pair of co-enabled steps with different actors, which
//!   object groups make their footprints conflict, and how many steps have no footprint.

use fabcheck_core::nvmf::ThreadId;
use fabcheck_models::nvmf::{NvmfModel, Step};
use fabcheck_models::{Footprint, Model};
use fabcheck_sim::world::WorldState;
use fabcheck_sim::Scenario;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};

const CHURN_SMALL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/churn-small.toml");

fn fp(s: &WorldState) -> u64 {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

fn overlaps(a: u64, b: u64) -> bool {
    const M: u64 = 0xFFFF_FFFF;
    a == b || (a >> 32 == b >> 32 && (a & M == M || b & M == M))
}

fn groups(a: &Footprint, b: &Footprint) -> BTreeSet<u64> {
    let mut g = BTreeSet::new();
    for (x, y) in [(a, b), (b, a)] {
        for &w in &x.writes {
            for &o in y.reads.iter().chain(&y.writes) {
                if overlaps(w, o) {
                    g.insert(w >> 32);
                }
            }
        }
    }
    g
}

fn measure(name: &str, limit: usize) {
    let sc = Scenario::resolve(name).unwrap();
    let m = NvmfModel::new(sc).with_footprints();
    let init = m.init_states().remove(0);
    let (mut seen, mut todo) = (BTreeSet::from([fp(&init)]), vec![init]);
    let (mut steps, mut none, mut pairs, mut indep) = (0, 0, 0, 0);
    let mut by: BTreeMap<BTreeSet<u64>, usize> = BTreeMap::new();
    let mut single: BTreeMap<u64, usize> = BTreeMap::new();
    let mut written: BTreeMap<u64, usize> = BTreeMap::new();
    while let Some(s) = (seen.len() <= limit).then(|| todo.pop()).flatten() {
        let mut succ: Vec<(Step, WorldState)> = Vec::new();
        m.successors(&s, &mut succ);
        let fps: Vec<_> = succ.iter().map(|(a, _)| m.footprint(&s, a)).collect();
        steps += succ.len();
        for f in fps.iter().flatten() {
            for &w in &f.writes {
                if w >> 32 == 6 || w >> 32 == 12 {
                    *written.entry(w).or_default() += 1;
                }
            }
        }
        none += fps.iter().filter(|f| f.is_none()).count();
        for i in 0..fps.len() {
            for j in i + 1..fps.len() {
                let (Some(a), Some(b)) = (&fps[i], &fps[j]) else {
                    continue;
                };
                if a.thread == b.thread {
                    continue;
                }
                pairs += 1;
                let g = groups(a, b);
                if g.is_empty() {
                    indep += 1;
                } else {
                    if g.len() == 1 {
                        *single.entry(*g.iter().next().unwrap()).or_default() += 1;
                    }
                    *by.entry(g).or_default() += 1;
                }
            }
        }
        for (_, t) in succ {
            if seen.insert(fp(&t)) {
                todo.insert(0, t);
            }
        }
    }
    eprintln!("== {name}: {steps} steps, {none} without footprint; {pairs} pairs of different actors, {indep} independent");
    let mut v: Vec<_> = by.into_iter().collect();
    v.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    for (g, n) in v.iter().take(15) {
        eprintln!("  conflict groups {g:?}: {n}");
    }
    eprintln!("  conflicts on one group only: {single:?}");
    let names = fabcheck_core::nvmf::Target::FOOTPRINT_FIELDS;
    for (w, n) in written {
        let what = match w >> 32 {
            6 => names
                .get((w & 0xFFFF_FFFF) as usize)
                .copied()
                .unwrap_or("all"),
            _ => "poller slot",
        };
        eprintln!("  steps writing {what} ({w:x}): {n}");
    }
}

#[test]
fn measure_conflicts() {
    if std::env::var("FABCHECK_MEASURE").is_err() {
        return;
    }
    measure("seed-3302", 5000);
    measure("seed-3302-ctrlr-add-fail", 3000);
    measure(CHURN_SMALL, 3000);
}

/// A step's picks, the fingerprint of the state it reaches, and the choices it asked.
type Outcome = (Vec<u32>, u64, Vec<(u32, u32)>);

/// The state after each step from `s`, with the choices it asked.
fn stepped(m: &NvmfModel, s: &WorldState) -> Vec<Outcome> {
    let mut succ: Vec<(Step, WorldState)> = Vec::new();
    m.successors(s, &mut succ);
    succ.into_iter()
        .map(|(a, _)| {
            let st = s.step(&m.sc, &a.picks);
            let asked = st.choices.iter().map(|c| (c.n, c.picked)).collect();
            (a.picks, fp(&st.state), asked)
        })
        .collect()
}

/// For the first `limit` states: where `current` is not live, every value of it gives the
/// same steps to the same states. Returns how many states were compared.
fn current_is_dead(name: &str, limit: usize) -> usize {
    let m = NvmfModel::new(Scenario::resolve(name).unwrap());
    let init = m.init_states().remove(0);
    let (mut seen, mut todo) = (BTreeSet::from([fp(&init)]), vec![init]);
    let mut compared = 0;
    while let Some(s) = (seen.len() <= limit).then(|| todo.pop()).flatten() {
        let here = stepped(&m, &s);
        if !s.current_is_live() {
            for t in [
                ThreadId::App,
                ThreadId::PollGroup(0),
                ThreadId::PollGroup(1),
            ] {
                let other = s.with_current_for_test(t);
                assert_eq!(fp(&other), fp(&s), "{name}: current is not hashed");
                assert_eq!(stepped(&m, &other), here, "{name}: current decided a step");
            }
            compared += 1;
        }
        let mut succ: Vec<(Step, WorldState)> = Vec::new();
        m.successors(&s, &mut succ);
        for (_, t) in succ {
            if seen.insert(fp(&t)) {
                todo.insert(0, t);
            }
        }
    }
    compared
}

#[test]
fn the_thread_that_ran_last_is_dead_between_steps() {
    for (name, limit) in [
        ("seed-3302", 1500),
        ("seed-3302-ctrlr-add-fail", 800),
        (CHURN_SMALL, 800),
    ] {
        let n = current_is_dead(name, limit);
        assert!(n > limit / 2, "{name}: compared {n} states");
    }
}
