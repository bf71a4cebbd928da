//! `fabcheck bench`: speed (runs/s, steps/s) on seed-3302 and churn, and the median runs and
//! milliseconds to the first detection of spdk-3302 per strategy over 20 base seeds.
//! `fabcheck bench --models`: the model checker instead (`fabcheck_models::bench`): time to
//! complete and states/s on the NVMe-oF worlds, and fabcheck's two-phase-commit rows (the
//! side-by-side run with Stateright is `cargo bench -p fabcheck-models --bench twopc`).

use crate::hunt::wall_clock;
use crate::Usage;
use clap::Args;
use fabcheck_sim::strategy::Strategy;
use fabcheck_sim::sweep::{sweep, SweepConfig};
use fabcheck_sim::Scenario;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Base seeds per strategy.
    #[arg(long, default_value_t = 20)]
    seeds: u64,
    /// Give up on one base seed after this many runs.
    #[arg(long, default_value_t = 20_000)]
    max_runs: u64,
    /// Runs for the speed measurement.
    #[arg(long, default_value_t = 2000)]
    speed_runs: u64,
    /// The detection scenario.
    #[arg(long, default_value = "seed-3302")]
    scenario: String,
    /// Benchmark the model checker instead (docs/model-checker.md).
    #[arg(long)]
    models: bool,
    /// Only the cost rows (random peers and swarm vs scripted twins, the I17 ownership check
    /// off vs on), with `--speed-runs / 4` runs per measurement.
    #[arg(long)]
    cost: bool,
    /// Resource managers in the two-phase-commit rows of `--models`.
    #[arg(long, default_value_t = 7)]
    rms: usize,
    /// Checker threads for `--models` (0: all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

fn models(a: &BenchArgs) -> Result<u8, Usage> {
    if !(1..=16).contains(&a.rms) {
        return Err(Usage("--rms: 1 to 16 resource managers".into()));
    }
    let threads = match a.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    println!("{}", fabcheck_models::bench::Row::header());
    let rows = fabcheck_models::bench::nvmf_rows(threads)
        .into_iter()
        .chain(fabcheck_models::bench::twopc_rows(a.rms, threads));
    for row in rows {
        println!("{}", row.markdown());
    }
    Ok(0)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    v[v.len() / 2]
}

fn speed(name: &str, runs: u64) -> Result<(), Usage> {
    let mut cfg = SweepConfig::new(Scenario::resolve(name)?, runs);
    cfg.jobs = 1;
    cfg.determinism_every = 0;
    cfg.stop_on_failure = false;
    cfg.skip_hazards = true;
    let start = wall_clock();
    let r = sweep(&cfg, &|_| {});
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    println!(
        "| {name} (fixed, 1 thread) | {} runs | {:.0} runs/s | {:.0} steps/s |",
        r.runs,
        r.runs as f64 / secs,
        r.steps as f64 / secs
    );
    Ok(())
}

fn detection(sc: &Scenario, strategy: Strategy, a: &BenchArgs) -> (f64, f64, u64) {
    let (mut runs, mut ms, mut found) = (Vec::new(), Vec::new(), 0);
    for base in 0..a.seeds {
        let mut cfg = SweepConfig::new(sc.clone(), a.max_runs);
        cfg.strategy = Some(strategy);
        cfg.base_seed = base;
        cfg.jobs = 1;
        cfg.determinism_every = 0;
        cfg.skip_hazards = true;
        let start = wall_clock();
        let r = sweep(&cfg, &|_| {});
        let elapsed = start.elapsed().as_secs_f64() * 1000.0;
        if r.failure.is_some() {
            found += 1;
            runs.push(r.runs as f64);
            ms.push(elapsed);
        }
    }
    (median(&mut runs), median(&mut ms), found)
}

pub fn bench(a: BenchArgs) -> Result<u8, Usage> {
    if a.models {
        return models(&a);
    }
    if a.cost {
        crate::bench_peers::peers(a.speed_runs / 4)?;
        crate::bench_own::ownership(a.speed_runs / 4)?;
        return Ok(0);
    }
    println!("| scenario | runs | runs/s | steps/s |\n|---|---|---|---|");
    speed("seed-3302", a.speed_runs)?;
    speed("churn", a.speed_runs / 4)?;
    crate::bench_peers::peers(a.speed_runs / 4)?;
    crate::bench_own::ownership(a.speed_runs / 4)?;
    let sc = Scenario::resolve(&a.scenario)?.with_bugs(&["spdk-3302".to_string()])?;
    println!(
        "\n| strategy | {} +spdk-3302: median runs to first detection | median ms | found |",
        a.scenario
    );
    println!("|---|---|---|---|");
    for s in [Strategy::Random, Strategy::Pct(2), Strategy::Pct(3)] {
        let (runs, ms, found) = detection(&sc, s, &a);
        println!("| {s} | {runs:.0} | {ms:.1} | {found}/{} |", a.seeds);
    }
    Ok(0)
}
