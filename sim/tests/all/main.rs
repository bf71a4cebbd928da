//! fabcheck-sim integration tests (one binary): catalogue found/silent, replay round trips,
//! determinism, shrinking (snapshot + 1-minimality), sweeps, coverage and liveness.
//! `FABCHECK_RUNS` scales the sweeps (defaults keep `cargo test` fast).

mod cat3a;
mod cat3b;
mod cat3c;
mod cat4a;
mod cat4b;
mod catalogue;
mod catalogue_b;
mod catalogue_i;
mod catalogue_ii;
mod debug_asserts;
mod determinism;
mod diff4;
mod fair_liveness;
mod hazards;
mod liveness;
mod own;
mod peers;
mod pollers;
mod replay;
mod shrink;
mod split_read;
mod sq_flow_control;
mod v26_05;

use fabcheck_core::nvmf::planted::{Plant, Planted};
use fabcheck_core::nvmf::Violation;
use fabcheck_sim::scenario::builtin;
use fabcheck_sim::sweep::{runs_from_env, sweep, SweepConfig, SweepReport};
use fabcheck_sim::{run, Failure, RunReport, Scenario};

/// A built-in scenario, with the given bug switches on.
pub fn scenario(name: &str, bugs: &[&str]) -> Scenario {
    let bugs: Vec<String> = bugs.iter().map(|b| b.to_string()).collect();
    builtin(name).unwrap().with_bugs(&bugs).unwrap()
}

/// A sweep of `runs` (scaled by FABCHECK_RUNS) runs, stopping at the first failure that is
/// not a recorded hazard (docs/hazards.md; the first hazard is `SweepReport::hazard`).
pub fn hunt(sc: Scenario, default_runs: u64) -> SweepReport {
    hunt_for(sc, None, default_runs)
}

/// The proof of a checker feature: `hunt` finds planted slip `p` on `fixed` (a safety
/// violation, returned for the caller's assertions) within `default_runs`; the fixed core
/// replays the finding's seed clean and is silent over the same number of runs.
pub fn planted_found_fixed_silent(fixed: &Scenario, p: Plant, default_runs: u64) -> Violation {
    let mut planted = fixed.clone();
    planted.planted = Planted::one(p);
    let r = hunt(planted, default_runs);
    let f = r
        .failure
        .unwrap_or_else(|| panic!("{p:?} not found on {} in {} runs", fixed.name, r.runs));
    let Some(Failure::Safety(v)) = f.failure else {
        panic!("expected a safety violation, got {:?}", f.failure);
    };
    assert_eq!(run(fixed, &f.seed, false).failure, None, "{}", f.seed);
    let silent = hunt(fixed.clone(), r.runs);
    assert_eq!(silent.failure.map(|f| f.seed.to_string()), None);
    assert_eq!(silent.runs, r.runs);
    v
}

/// `hunt` looking for catalogue entry `bug` only (`SweepConfig::wanted`).
pub fn hunt_entry(sc: Scenario, bug: fabcheck_core::nvmf::BugId, default_runs: u64) -> SweepReport {
    hunt_for(sc, Some(bug), default_runs)
}

fn hunt_for(
    sc: Scenario,
    wanted: Option<fabcheck_core::nvmf::BugId>,
    default_runs: u64,
) -> SweepReport {
    let mut cfg = SweepConfig::new(sc, runs_from_env(default_runs));
    cfg.skip_hazards = true;
    cfg.wanted = wanted;
    sweep(&cfg, &|_| {})
}

/// The first spdk-3302 failure on `name` (panics if the default budget does not find it).
pub fn find_3302(name: &str) -> (Scenario, RunReport) {
    find(name, "spdk-3302")
}

/// The first failure of catalogue bug `bug` on built-in `name`, in the entry's SPDK profile,
/// other findings passed over as `bugs --check` does (panics if the default budget does not
/// find it).
pub fn find(name: &str, bug: &str) -> (Scenario, RunReport) {
    let e = fabcheck_sim::catalogue::by_name(bug).expect("a catalogue switch");
    let sc = fabcheck_sim::catalogue::entry_world(e, name).unwrap();
    let r = hunt_entry(sc.clone(), e.id, 2000);
    let f = r
        .failure
        .unwrap_or_else(|| panic!("{bug} not found on {name} in {} runs", r.runs));
    (sc, f)
}
