//! Sweeps: many seeds of one scenario, spread over std threads, with results identical
//! whatever the thread count (runs are independent, results are kept by run index, and a
//! sweep that stops at the first failure keeps exactly the runs before it). Sharding
//! (`--shard I/N`: run indices I, I+N, ...) splits one sweep over CI jobs or a Kubernetes
//! Indexed Job. Also: the determinism self-check and coverage of required marks.

use crate::coverage::Coverage;
use crate::run::{run, RunReport};
use crate::scenario::Scenario;
use crate::seed::SeedString;
use crate::strategy::Strategy;
use fabcheck_core::nvmf::BugId;
use serde::Serialize;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// The strategies a default hunt cycles through.
pub const PORTFOLIO: &[Strategy] = &[
    Strategy::Random,
    Strategy::Pct(1),
    Strategy::Pct(2),
    Strategy::Pct(3),
];

/// `--shard I/N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Default for Shard {
    fn default() -> Self {
        Shard { index: 0, count: 1 }
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("bad shard '{s}': expected I/N with 0 <= I < N");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u64 = i.parse().map_err(|_| bad())?;
        let count: u64 = n.parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// What to sweep.
#[derive(Debug, Clone)]
pub struct SweepConfig {
    pub scenario: Scenario,
    /// `None` = cycle through `PORTFOLIO`.
    pub strategy: Option<Strategy>,
    /// Total runs before sharding.
    pub runs: u64,
    pub base_seed: u64,
    pub shard: Shard,
    /// Worker threads (0 = the machine's cores).
    pub jobs: usize,
    /// Stop at the first failure (by run index).
    pub stop_on_failure: bool,
    /// Re-run every `determinism_every`-th passing run twice with traces (0 = never); failing
    /// runs are always re-checked.
    pub determinism_every: u64,
    /// A finding that is a known hazard (`crate::hazard`) neither stops the sweep nor is its
    /// `failure`; the first one is kept as `SweepReport::hazard`.
    pub skip_hazards: bool,
    /// Looking for one catalogue entry (`fabcheck bugs --check`): only a failure of its
    /// invariant at one of its sites stops the sweep and is its `failure`; any other finding
    /// the switch's code also reaches is passed over like a hazard (not kept).
    pub wanted: Option<BugId>,
}

impl SweepConfig {
    pub fn new(scenario: Scenario, runs: u64) -> Self {
        SweepConfig {
            scenario,
            strategy: None,
            runs,
            base_seed: 0,
            shard: Shard::default(),
            jobs: 0,
            stop_on_failure: true,
            determinism_every: 64,
            skip_hazards: false,
            wanted: None,
        }
    }
}

/// One run's result line (`--json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    pub index: u64,
    pub seed: String,
    pub strategy: String,
    pub steps: u32,
    /// "ok", "safety" or "liveness".
    pub result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub violation: Option<String>,
    /// The known hazard the finding is (`crate::hazard`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hazard: Option<&'static str>,
}

/// A whole sweep's result.
#[derive(Debug, Clone)]
pub struct SweepReport {
    pub runs: u64,
    pub steps: u64,
    /// Per mark, how many runs reached it.
    pub coverage: Coverage,
    /// Required marks no run reached.
    pub missing: Vec<String>,
    /// The failing run with the lowest index, if any (with `skip_hazards`: that is not a
    /// known hazard).
    pub failure: Option<RunReport>,
    /// With `skip_hazards`: the lowest-index run whose finding is a known hazard.
    pub hazard: Option<RunReport>,
    /// Nondeterminism found by the self-check (one line each).
    pub nondeterminism: Vec<String>,
    /// Every kept run, by index.
    pub results: Vec<RunSummary>,
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The seed of run `index`: strategy in the top nibble, the rest mixed from base and index.
pub fn seed_for(base: u64, index: u64, strategy: Option<Strategy>) -> u64 {
    let s = strategy.unwrap_or(PORTFOLIO[(index % PORTFOLIO.len() as u64) as usize]);
    splitmix64(base ^ splitmix64(index)) & ((1 << 60) - 1) | s.code() << 60
}

/// `FABCHECK_RUNS` if set to a number, else `default`.
pub fn runs_from_env(default: u64) -> u64 {
    std::env::var("FABCHECK_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Replays `seed` twice with traces; `Err` describes a difference.
pub fn check_determinism(sc: &Scenario, seed: &SeedString) -> Result<u64, String> {
    let a = run(sc, seed, true);
    let b = run(sc, seed, true);
    let (ha, hb) = (a.trace_hash(), b.trace_hash());
    if ha != hb || a.failure != b.failure || a.record != b.record {
        return Err(format!("{seed}: trace hash {ha:016x} then {hb:016x}"));
    }
    Ok(ha)
}

struct Shared {
    next: AtomicU64,
    stop_at: AtomicU64,
    done: Mutex<Vec<(u64, RunReport)>>,
}

fn worker(cfg: &SweepConfig, idx: &[u64], sh: &Shared, on_run: &(dyn Fn(&RunSummary) + Sync)) {
    loop {
        let k = sh.next.fetch_add(1, Ordering::SeqCst);
        let Some(&index) = idx.get(k as usize) else {
            return;
        };
        if index > sh.stop_at.load(Ordering::SeqCst) {
            return;
        }
        let seed = SeedString::new(
            &cfg.scenario.key(),
            seed_for(cfg.base_seed, index, cfg.strategy),
        );
        let r = run(&cfg.scenario, &seed, false);
        if stops(cfg, &r) && cfg.stop_on_failure {
            sh.stop_at.fetch_min(index, Ordering::SeqCst);
        }
        on_run(&summary(index, &r));
        sh.done.lock().expect("no worker panicked").push((index, r));
    }
}

/// The known hazard a run's finding is, if any, in the profile the run modelled (a shaped
/// scenario's seed may pick another profile than the scenario names).
fn hazard_of(r: &RunReport) -> Option<&'static str> {
    let f = r.failure.as_ref()?;
    crate::hazard::known(f, r.spdk).map(|h| h.id)
}

/// Whether a run's finding counts as the sweep's failure.
fn stops(cfg: &SweepConfig, r: &RunReport) -> bool {
    r.failure.is_some()
        && !(cfg.skip_hazards && hazard_of(r).is_some())
        && cfg.wanted.is_none_or(|b| is_entry(b, r))
}

/// Whether a run's failure is catalogue entry `bug`'s: its invariant at one of its sites.
fn is_entry(bug: BugId, r: &RunReport) -> bool {
    let e = bug.entry();
    match &r.failure {
        Some(crate::Failure::Safety(v)) => {
            v.invariant == e.invariant && e.sites().any(|s| s == v.site)
        }
        _ => false,
    }
}

fn summary(index: u64, r: &RunReport) -> RunSummary {
    RunSummary {
        index,
        seed: r.seed.to_string(),
        strategy: r.seed.strategy().to_string(),
        steps: r.steps,
        result: match &r.failure {
            None => "ok",
            Some(f) if f.exit_code() == 2 => "liveness",
            Some(_) => "safety",
        },
        violation: r.failure.as_ref().map(ToString::to_string),
        hazard: hazard_of(r),
    }
}

/// Runs the sweep; `on_run` sees each run as it finishes (any order: use it for progress only).
pub fn sweep(cfg: &SweepConfig, on_run: &(dyn Fn(&RunSummary) + Sync)) -> SweepReport {
    let idx: Vec<u64> = (cfg.shard.index..cfg.runs)
        .step_by(cfg.shard.count as usize)
        .collect();
    let jobs = match cfg.jobs {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        j => j,
    };
    let sh = Shared {
        next: AtomicU64::new(0),
        stop_at: AtomicU64::new(u64::MAX),
        done: Mutex::new(Vec::new()),
    };
    std::thread::scope(|s| {
        for _ in 0..jobs.min(idx.len()).max(1) {
            s.spawn(|| worker(cfg, &idx, &sh, on_run));
        }
    });
    let stop_at = sh.stop_at.load(Ordering::SeqCst);
    let mut done = sh.done.into_inner().expect("no worker panicked");
    done.retain(|(i, _)| *i <= stop_at);
    done.sort_by_key(|(i, _)| *i);
    report(cfg, done)
}

fn report(cfg: &SweepConfig, done: Vec<(u64, RunReport)>) -> SweepReport {
    let mut coverage = Coverage::default();
    let mut nondeterminism = Vec::new();
    let (mut failure, mut hazard) = (None, None);
    let mut results = Vec::with_capacity(done.len());
    let mut steps = 0;
    for (i, r) in done {
        coverage.absorb_run(&r.coverage);
        steps += u64::from(r.steps);
        results.push(summary(i, &r));
        let sample = cfg.determinism_every > 0 && i % cfg.determinism_every == 0;
        let first_hazard = hazard.is_none() && r.failure.is_some();
        if stops(cfg, &r) || first_hazard || sample {
            if let Err(e) = self_check(&cfg.scenario, &r) {
                nondeterminism.push(e);
            }
        }
        if failure.is_none() && stops(cfg, &r) {
            failure = Some(r);
        } else if hazard.is_none() && hazard_of(&r).is_some() && cfg.skip_hazards {
            hazard = Some(r);
        }
    }
    SweepReport {
        runs: results.len() as u64,
        steps,
        missing: coverage.missing(&cfg.scenario.required_marks),
        coverage,
        failure,
        hazard,
        nondeterminism,
        results,
    }
}

/// Two traced replays must match each other and the untraced run.
fn self_check(sc: &Scenario, r: &RunReport) -> Result<(), String> {
    let a = run(sc, &r.seed, true);
    let b = run(sc, &r.seed, true);
    let (ha, hb) = (a.trace_hash(), b.trace_hash());
    if ha != hb || a.failure != b.failure || a.record != b.record {
        return Err(format!("{}: trace hash {ha:016x} then {hb:016x}", r.seed));
    }
    if a.failure != r.failure || a.record != r.record {
        return Err(format!("{}: tracing changed the run", r.seed));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_strictly() {
        assert_eq!("2/5".parse::<Shard>(), Ok(Shard { index: 2, count: 5 }));
        for bad in ["5/5", "1/0", "x/2", "1", "-1/2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn seeds_carry_their_strategy_and_differ_per_index() {
        for i in 0..8 {
            let s = seed_for(42, i, None);
            assert_eq!(Strategy::from_seed(s), PORTFOLIO[(i % 4) as usize]);
            assert_eq!(
                Strategy::from_seed(seed_for(42, i, Some(Strategy::Pct(3)))),
                Strategy::Pct(3)
            );
        }
        assert_ne!(seed_for(42, 0, None), seed_for(42, 4, None));
        assert_ne!(seed_for(42, 0, None), seed_for(43, 0, None));
        assert_eq!(seed_for(42, 5, None), seed_for(42, 5, None));
    }
}
