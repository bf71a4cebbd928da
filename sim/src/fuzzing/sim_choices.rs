//! The `sim_choices` harness: a fuzz input is the byte stream a `Bytes` chooser answers a
//! built-in scenario's choices from, so every input is one simulator run and one `fc1:` seed
//! string (`RunReport::replay_seed`, the run's recorded choices) that replays it without the
//! input.

use crate::run::{run_with, RunReport};
use crate::scenario::{Scenario, ScenarioError};
use crate::seed::SeedString;
use crate::strategy::Bytes;
use crate::trace::LineKind;

/// The environment variable naming the scenario key the `sim_choices` fuzz target runs
/// (`churn` by default; e.g. `seed-3302+spdk-3302`).
pub const SCENARIO_ENV: &str = "FABCHECK_FUZZ_SCENARIO";

/// The scenario a key such as `churn` or `seed-3302+spdk-3302` names.
pub fn scenario(key: &str) -> Result<Scenario, ScenarioError> {
    Scenario::from_key(key, None)
}

/// The scenario `FABCHECK_FUZZ_SCENARIO` names (default `churn`); panics on a bad key, which
/// is a set-up error of the fuzzing session, not a finding.
pub fn scenario_from_env() -> Scenario {
    let key = std::env::var(SCENARIO_ENV).unwrap_or_else(|_| "churn".to_string());
    scenario(&key).unwrap_or_else(|e| panic!("{SCENARIO_ENV}={key}: {e}"))
}

/// FNV-1a of the input: the seed part of the input's seed string, so different inputs with
/// the same choices still print distinguishable strings.
fn input_hash(data: &[u8]) -> u64 {
    let h = data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    h & ((1 << 60) - 1)
}

/// Runs `sc` with its choices answered from `data`; `trace` keeps the trace.
pub fn run(sc: &Scenario, data: &[u8], trace: bool) -> RunReport {
    let seed = SeedString::new(&sc.key(), input_hash(data));
    run_with(sc, &seed, Box::new(Bytes::new(data)), trace)
}

/// Whether two traced runs are the same run: the same failure and the same trace after the
/// parameters line (which names how the run was driven: `Bytes` or a replayed choice list).
pub fn same_run(a: &RunReport, b: &RunReport) -> bool {
    let events = |r: &RunReport| {
        r.trace.as_ref().map(|t| {
            t.lines
                .iter()
                .filter(|l| l.kind != LineKind::Params)
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    a.failure == b.failure && events(a).is_some() && events(a) == events(b)
}
