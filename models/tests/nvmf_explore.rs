//! The NVMe-oF world explored exhaustively.

use fabcheck_models::nvmf::NvmfModel;
use fabcheck_models::{check, CheckOptions, Outcome};
use fabcheck_sim::Scenario;

fn model(name: &str, bugs: &[&str]) -> NvmfModel {
    let bugs: Vec<String> = bugs.iter().map(|b| b.to_string()).collect();
    NvmfModel::new(Scenario::resolve(name).unwrap().with_bugs(&bugs).unwrap())
}

#[test]
fn probe() {
    let m = model("seed-3302", &[]);
    let r = check(
        &m,
        &CheckOptions {
            threads: 2,
            max_states: Some(200_000),
            ..CheckOptions::default()
        },
    );
    eprintln!(
        "{:?} states={} trans={} depth={} t={:?} sometimes={:?}",
        r.outcome, r.states, r.transitions, r.depth, r.elapsed, r.sometimes
    );
    let m = model("seed-3302", &["spdk-3302"]);
    let r = check(
        &m,
        &CheckOptions {
            threads: 2,
            max_states: Some(200_000),
            ..CheckOptions::default()
        },
    );
    eprintln!(
        "{:?} states={} trans={} depth={} t={:?}",
        r.outcome, r.states, r.transitions, r.depth, r.elapsed
    );
    if let Some(v) = r.violations.first() {
        eprintln!(
            "{} len {} seed {}",
            v.property,
            v.path.len(),
            m.seed_string(v.path.steps.iter().map(|s| &s.0))
        );
    }
    let _ = Outcome::Verified;
}
