//! The input is the run's seed (first 8 bytes, little-endian; it picks a shaped scenario's
//! shape) then the byte stream a `Bytes` chooser answers a built-in scenario's choices from
//! (`FABCHECK_FUZZ_SCENARIO`, default `churn`; `seed-3302+spdk-3302` shows it finds #3302).
//! A failing run panics with its `fc1:` seed string, which replays without the input:
//! `fabcheck replay 'fc1:...'`, or `fabcheck replay --fuzz-input ARTIFACT --scenario KEY`.
#![no_main]

use fabcheck_sim::fuzzing::sim_choices;
use fabcheck_sim::Scenario;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

static SCENARIO: OnceLock<Scenario> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let sc = SCENARIO.get_or_init(sim_choices::scenario_from_env);
    let r = sim_choices::run(sc, data, false);
    if let Some(f) = &r.failure {
        panic!("{f}\nseed string: {}", r.replay_seed());
    }
});
