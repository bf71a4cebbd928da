//! The `sim_choices` harness: a fuzz input is the run's seed (its first 8 bytes, a
//! little-endian `u64`) followed by the byte stream a `Bytes` chooser answers a built-in
//! scenario's choices from. The seed picks the scenario's shape (poll groups, hosts, fault
//! rates within its `[shape]` bounds) exactly as it does for a seed string; the choice bytes
//! drive the run. An input shorter than 8 bytes is read as if zero-padded to 8 bytes: its
//! bytes are the seed's low bytes, and it has no choice bytes (every answer 0).
//!
//! Invariant kept: every input is one simulator run and one `fc1:` seed string
//! (`RunReport::replay_seed`: the input's seed and the run's recorded choices) that replays it
//! without the input; `encode` turns any recorded run back into an input giving the same run.

use crate::chooser::Choice;
use crate::run::{run_with, RunReport};
use crate::scenario::{Scenario, ScenarioError};
use crate::seed::SeedString;
use crate::strategy::{bytes, Bytes};
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

/// Bytes of the seed prefix of an input.
pub const SEED_LEN: usize = 8;

/// An input's seed and its choice bytes (a short input's missing seed bytes read as 0).
pub fn split(data: &[u8]) -> (u64, &[u8]) {
    let n = data.len().min(SEED_LEN);
    let mut seed = [0u8; SEED_LEN];
    seed[..n].copy_from_slice(&data[..n]);
    (u64::from_le_bytes(seed), &data[n..])
}

/// The input that reproduces a run of `seed` whose choices were `record`: the seed, then the
/// choice bytes (`bytes::encode`).
pub fn encode(seed: u64, record: &[Choice]) -> Vec<u8> {
    let mut out = seed.to_le_bytes().to_vec();
    out.extend(bytes::encode(record));
    out
}

/// Runs `sc` with the input's seed and its choices answered from the input's choice bytes;
/// `trace` keeps the trace.
pub fn run(sc: &Scenario, data: &[u8], trace: bool) -> RunReport {
    let (seed, choices) = split(data);
    let seed = SeedString::new(&sc.key(), seed);
    run_with(sc, &seed, Box::new(Bytes::new(choices)), trace)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_eight_bytes_are_the_seed_and_short_inputs_are_zero_padded() {
        let data = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        assert_eq!(split(&data), (0x0807_0605_0403_0201, &data[8..]));
        assert_eq!(split(&[0xab, 0xcd]), (0xcdab, &[][..]));
        assert_eq!(split(&[]), (0, &[][..]));
    }

    #[test]
    fn encode_puts_the_seed_before_the_choice_bytes() {
        use crate::chooser::ChoiceKind;
        let record = [Choice {
            kind: ChoiceKind::Event,
            n: 5,
            picked: 3,
        }];
        let data = encode(0xfedc_ba98_7654_3210, &record);
        assert_eq!(split(&data), (0xfedc_ba98_7654_3210, &[3u8][..]));
    }
}
