//! Partial-order reduction on the NVMe-oF world: sleep sets over the footprints the core
//! records (`WorldState::step_touches`). Checked two ways:
//! - the reduction: depth-first search with and without sleep sets finds the same states, the
//!   same terminal states and the same verdict on small configurations, with fewer transitions;
//! - the footprints themselves: for every pair of steps the footprints call independent in the
//!   states of a small world, both orders are enabled and reach the same state (the diamond).

use fabcheck_models::nvmf::{NvmfModel, Step};
use fabcheck_models::{check_dfs, CheckOptions, Model, Outcome, Report};
use fabcheck_sim::world::WorldState;
use fabcheck_sim::Scenario;
use std::collections::hash_map::DefaultHasher;
use std::collections::BTreeSet;
use std::hash::{Hash, Hasher};

const CHURN_SMALL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/churn-small.toml");

fn model(name: &str, bugs: &[&str]) -> NvmfModel {
    let bugs: Vec<String> = bugs.iter().map(|b| b.to_string()).collect();
    let sc = Scenario::resolve(name).unwrap().with_bugs(&bugs).unwrap();
    NvmfModel::new(sc).with_footprints()
}

fn dfs(m: &NvmfModel, por: bool) -> Report<NvmfModel> {
    let opts = CheckOptions {
        por,
        collect_terminals: true,
        ..CheckOptions::default()
    };
    check_dfs(m, &opts)
}

/// Same verdict; on a clean world the same states and terminal states with fewer transitions.
fn compare(name: &str, bugs: &[&str]) -> (Report<NvmfModel>, Report<NvmfModel>) {
    let m = model(name, bugs);
    let (off, on) = (dfs(&m, false), dfs(&m, true));
    assert_eq!(off.outcome, on.outcome, "{name} {bugs:?}");
    let props = |r: &Report<NvmfModel>| -> Vec<String> {
        r.violations.iter().map(|v| v.property.clone()).collect()
    };
    assert_eq!(props(&off), props(&on), "{name} {bugs:?}");
    if off.outcome == Outcome::Verified {
        assert_eq!(off.states, on.states, "{name}: sleep sets keep every state");
        assert_eq!(
            off.terminals, on.terminals,
            "{name}: and every terminal state"
        );
        assert!(on.transitions <= off.transitions, "{name}");
    }
    eprintln!(
        "{name} {bugs:?}: {:?}, states {} / {}, transitions {} / {} (without / with sleep sets)",
        on.outcome, off.states, on.states, off.transitions, on.transitions
    );
    (off, on)
}

#[test]
fn sleep_sets_keep_verdicts_states_and_terminals_on_seed_3302() {
    let (off, on) = compare("seed-3302", &[]);
    assert_eq!(off.outcome, Outcome::Verified);
    assert!(
        on.transitions < off.transitions,
        "the reduction saves transitions"
    );
}

#[test]
fn sleep_sets_find_spdk_3302() {
    let (_, on) = compare("seed-3302", &["spdk-3302"]);
    assert_eq!(on.outcome, Outcome::Violated);
    assert_eq!(on.violations[0].property, "no safety violation");
}

#[test]
fn sleep_sets_keep_verdicts_on_ctrlr_add_fail_and_churn_small() {
    let (off, _) = compare("seed-3302-ctrlr-add-fail", &[]);
    assert_eq!(off.outcome, Outcome::Verified);
    let (off, _) = compare("seed-3302-ctrlr-add-fail", &["spdk-3302"]);
    assert_eq!(off.outcome, Outcome::Violated);
    let (off, _) = compare(CHURN_SMALL, &[]);
    assert_eq!(off.outcome, Outcome::Verified);
}

fn fp(s: &WorldState) -> u64 {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

fn successors(m: &NvmfModel, s: &WorldState) -> Vec<(Step, WorldState)> {
    let mut out = Vec::new();
    m.successors(s, &mut out);
    out
}

/// The state after the step equal to `a` from `s`, if `a` is enabled there.
fn after(m: &NvmfModel, s: &WorldState, a: &Step) -> Option<WorldState> {
    successors(m, s)
        .into_iter()
        .find(|(b, _)| b == a)
        .map(|(_, t)| t)
}

/// Walks the first `limit` states of `m` breadth-first and checks every independent pair.
fn diamonds(m: &NvmfModel, limit: usize) -> usize {
    let init = m.init_states().remove(0);
    let (mut seen, mut todo) = (BTreeSet::from([fp(&init)]), vec![init]);
    let mut checked = 0;
    while let Some(s) = (seen.len() <= limit).then(|| todo.pop()).flatten() {
        let succ = successors(m, &s);
        for (i, (a, sa)) in succ.iter().enumerate() {
            for (b, sb) in &succ[i + 1..] {
                let (fa, fb) = (m.footprint(&s, a), m.footprint(&s, b));
                if !fabcheck_models::por::independent(&fa, &fb) {
                    continue;
                }
                let ab = after(m, sa, b).expect("b stays enabled after an independent a");
                let ba = after(m, sb, a).expect("a stays enabled after an independent b");
                assert_eq!(fp(&ab), fp(&ba), "{a:?} and {b:?} commute");
                checked += 1;
            }
        }
        for (_, t) in succ {
            if seen.insert(fp(&t)) {
                todo.insert(0, t);
            }
        }
    }
    checked
}

#[test]
fn independent_steps_commute_in_the_core() {
    let n = diamonds(&model("seed-3302", &[]), 1500);
    assert!(n > 0, "some steps are independent");
    let n = diamonds(&model(CHURN_SMALL, &[]), 800);
    assert!(n > 0, "some steps are independent");
}
