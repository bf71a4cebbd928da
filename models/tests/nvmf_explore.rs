//! The NVMe-oF world explored exhaustively: built-in configurations complete with every switch
//! off (state counts pinned, every required mark reached), and with `spdk-3302` on BFS finds a
//! shortest counterexample whose seed string replays in the simulator to the same violation.

use fabcheck_models::nvmf::NvmfModel;
use fabcheck_models::{check, CheckOptions, Outcome};
use fabcheck_sim::Scenario;

fn model(name: &str, bugs: &[&str]) -> NvmfModel {
    let bugs: Vec<String> = bugs.iter().map(|b| b.to_string()).collect();
    NvmfModel::new(Scenario::resolve(name).unwrap().with_bugs(&bugs).unwrap())
}

fn opts(threads: usize) -> CheckOptions {
    CheckOptions {
        threads,
        ..CheckOptions::default()
    }
}

const CHURN_SMALL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/churn-small.toml");

#[test]
fn seed_3302_completes_clean_on_the_fixed_core() {
    let m = model("seed-3302", &[]);
    let one = check(&m, &opts(1));
    assert_eq!(one.outcome, Outcome::Verified, "{:?}", one.sometimes);
    // v24.01 with every switch off parks CONNECTs in sgroup->queued (v24.01.x; the retry
    // poller is catalogue entry spdk-3095).
    // The stop-listen walk's bookkeeping for I13 (which qpairs each visit matched) and the
    // recorded contract breaches (hazard H-2: the host connects after the walk passed its
    // group) are part of the state. The thread that ran last (`current`) is not: it is dead
    // between steps (tests/models4.rs), so states that differ only in it are one state.
    assert_eq!((one.states, one.transitions, one.depth), (2742, 6334, 29));
    assert!(one.sometimes.iter().all(|(_, reached)| *reached));
    assert_eq!(one.sometimes.len(), 2);
    let two = check(&m, &opts(2));
    assert_eq!((two.states, two.transitions), (one.states, one.transitions));
}

#[test]
fn small_churn_completes_clean_on_the_fixed_core() {
    let m = model(CHURN_SMALL, &[]);
    let r = check(&m, &opts(2));
    assert_eq!(r.outcome, Outcome::Verified, "{:?}", r.sometimes);
    // 1361 / 2613 / 62 before `_nvmf_ctrlr_add_io_qpair` was split after its read of the
    // admin qpair (docs/invariants.md, "Reads split into steps").
    assert_eq!((r.states, r.transitions, r.depth), (1367, 2622, 63));
    assert_eq!(r.sometimes.len(), 7);
}

#[test]
fn spdk_3302_shortest_counterexample_replays_in_the_simulator() {
    let m = model("seed-3302", &["spdk-3302"]);
    let r = check(&m, &opts(2));
    assert_eq!(r.outcome, Outcome::Violated);
    let v = &r.violations[0];
    assert_eq!(v.property, "no safety violation");
    assert_eq!(v.path.len(), 9);
    let shorter = check(
        &m,
        &CheckOptions {
            max_depth: Some(8),
            ..opts(2)
        },
    );
    assert!(
        matches!(shorter.outcome, Outcome::Incomplete(_)),
        "no violation within 8 steps: 9 is the shortest"
    );
    let seed = m.seed_string(v.path.steps.iter().map(|s| &s.0));
    let found = v
        .path
        .last()
        .failure()
        .expect("the last state failed")
        .clone();
    assert!(found.signature().contains("free_aer"), "{found}");
    let replayed = fabcheck_sim::run(&m.sc, &seed.to_string().parse().unwrap(), false);
    assert_eq!(replayed.failure, Some(found));
    assert_eq!(replayed.steps, 9);
    let same = check(&m, &opts(1));
    let seed1 = m.seed_string(same.violations[0].path.steps.iter().map(|s| &s.0));
    assert_eq!(seed1, seed, "the same counterexample on 1 and 2 threads");
}

#[test]
fn ctrlr_add_fail_window_clean_then_found_and_replayed() {
    let clean = check(&model("seed-3302-ctrlr-add-fail", &[]), &opts(2));
    assert_eq!(clean.outcome, Outcome::Verified, "{:?}", clean.sometimes);
    assert_eq!(clean.states, 1476);
    let m = model("seed-3302-ctrlr-add-fail", &["spdk-3302"]);
    let r = check(&m, &opts(2));
    assert_eq!(r.outcome, Outcome::Violated);
    let path = &r.violations[0].path;
    assert_eq!(path.len(), 16);
    let seed = m.seed_string(path.steps.iter().map(|s| &s.0));
    let replayed = fabcheck_sim::run(&m.sc, &seed, false);
    assert_eq!(replayed.failure.as_ref(), path.last().failure());
}
