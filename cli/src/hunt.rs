//! `fabcheck hunt`: a sweep with a progress bar and a summary; on a violation, shrink it and
//! print the failure block.

use crate::report::{failure_block, load_scenario, replay_command};
use crate::{Usage, EXIT_NONDETERMINISM};
use clap::Args;
use fabcheck_sim::hazard::known;
use fabcheck_sim::scenario::builtin;
use fabcheck_sim::shrink::shrink;
use fabcheck_sim::strategy::Strategy;
use fabcheck_sim::sweep::{sweep, RunSummary, Shard, SweepConfig, SweepReport};
use fabcheck_sim::RunReport;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct HuntArgs {
    /// A built-in scenario name or a .toml/.json scenario file.
    #[arg(long, default_value = "churn")]
    scenario: String,
    /// Turn a catalogue bug back on (see `fabcheck bugs`); repeatable.
    #[arg(long = "bug")]
    bugs: Vec<String>,
    /// The SPDK profile, `v24.01` or `master` (default: the scenario's own).
    #[arg(long)]
    spdk: Option<String>,
    /// `random` or `pct:<d>`; default: a portfolio of random, pct:1, pct:2, pct:3.
    #[arg(long)]
    strategy: Option<String>,
    /// Runs in the whole sweep (before sharding).
    #[arg(long, default_value_t = 1000)]
    runs: u64,
    /// Base seed (decimal or 0x-hex).
    #[arg(long, default_value = "0")]
    seed: String,
    /// Run every N-th seed starting at I.
    #[arg(long)]
    shard: Option<String>,
    /// Worker threads (default: all cores).
    #[arg(long, default_value_t = 0)]
    jobs: usize,
    /// Where trace files of failures go.
    #[arg(long, default_value = "target/fabcheck")]
    out: PathBuf,
    /// One JSON result line per run on stdout, then a JSON summary line.
    #[arg(long)]
    json: bool,
    /// Runs to spend shrinking a failure.
    #[arg(long, default_value_t = 20_000)]
    shrink_budget: u32,
}

fn parse_seed(s: &str) -> Result<u64, Usage> {
    let r = match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse(),
    };
    r.map_err(|_| {
        Usage(format!(
            "bad --seed '{s}': expected a decimal or 0x-hex u64"
        ))
    })
}

fn config(a: &HuntArgs) -> Result<SweepConfig, Usage> {
    let mut scenario = load_scenario(&a.scenario, &a.bugs)?;
    if let Some(p) = &a.spdk {
        scenario = scenario.with_spdk(p)?;
    }
    let strategy = a
        .strategy
        .as_deref()
        .map(str::parse::<Strategy>)
        .transpose()?;
    let shard = a
        .shard
        .as_deref()
        .map(str::parse::<Shard>)
        .transpose()?
        .unwrap_or_default();
    let mut cfg = SweepConfig::new(scenario, a.runs);
    cfg.strategy = strategy;
    cfg.base_seed = parse_seed(&a.seed)?;
    cfg.shard = shard;
    cfg.jobs = a.jobs;
    cfg.skip_hazards = true;
    Ok(cfg)
}

/// Wall-clock time, for the speed summary only (never reaches the simulation).
#[allow(clippy::disallowed_methods)]
pub fn wall_clock() -> std::time::Instant {
    std::time::Instant::now()
}

pub fn hunt(a: HuntArgs) -> Result<u8, Usage> {
    let cfg = config(&a)?;
    let total = (cfg.shard.index..cfg.runs)
        .step_by(cfg.shard.count as usize)
        .count() as u64;
    let bar = if a.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} runs {per_sec} {msg}")
            .expect("valid template"),
    );
    let on_run = |r: &RunSummary| {
        bar.inc(1);
        if r.violation.is_some() {
            bar.set_message("violation found");
        }
    };
    let start = wall_clock();
    let report = sweep(&cfg, &on_run);
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    bar.finish_and_clear();
    if a.json {
        for r in &report.results {
            println!("{}", serde_json::to_string(r).expect("summaries serialize"));
        }
    }
    summary(&cfg, &report, secs, a.json);
    Ok(finish(&cfg, &report, &a))
}

fn summary(cfg: &SweepConfig, r: &SweepReport, secs: f64, json: bool) {
    let hazards = r.results.iter().filter(|x| x.hazard.is_some()).count();
    let violations = r.results.iter().filter(|x| x.violation.is_some()).count() - hazards;
    let strategy = cfg
        .strategy
        .map_or("portfolio(random,pct:1,pct:2,pct:3)".to_string(), |s| {
            s.to_string()
        });
    if json {
        let s = serde_json::json!({
            "summary": true, "scenario": cfg.scenario.key(), "strategy": strategy,
            "shard": format!("{}/{}", cfg.shard.index, cfg.shard.count),
            "runs": r.runs, "steps": r.steps, "seconds": secs,
            "runs_per_sec": r.runs as f64 / secs, "steps_per_sec": r.steps as f64 / secs,
            "coverage": r.coverage.counts, "missing_marks": r.missing,
            "unreached_marks": r.coverage.unreached(),
            "violations": violations, "nondeterminism": r.nondeterminism,
            "hazards": hazards,
        });
        println!("{s}");
        return;
    }
    println!(
        "{}: {} runs, {} steps, {:.0} runs/s, {:.0} steps/s, strategy {strategy}",
        cfg.scenario.key(),
        r.runs,
        r.steps,
        r.runs as f64 / secs,
        r.steps as f64 / secs
    );
    println!("coverage: {}", r.coverage.summary());
    for (mark, n) in &r.coverage.counts {
        println!("    {mark:<40} {n} runs");
    }
    let unreached = r.coverage.unreached_labels();
    if !unreached.is_empty() {
        println!("marks not reached: {}", unreached.join(", "));
    }
    if !r.missing.is_empty() {
        println!("coverage missing required marks: {}", r.missing.join(", "));
    }
    println!("violations: {violations}");
    if hazards > 0 {
        println!("known hazards (SPDK behaviour, not counted as violations): {hazards} runs");
    }
}

fn finish(cfg: &SweepConfig, r: &SweepReport, a: &HuntArgs) -> u8 {
    for n in &r.nondeterminism {
        eprintln!("NONDETERMINISM: {n}");
    }
    if let Some(h) = r.hazard.as_ref().filter(|_| r.failure.is_none()) {
        hazard_block(h, a);
    }
    if let Some(f) = &r.failure {
        let shrunk = shrink(&cfg.scenario, f, a.shrink_budget);
        let file = builtin(&a.scenario)
            .is_none()
            .then_some(a.scenario.as_str());
        failure_block(f, shrunk.as_ref(), &a.out, file);
    }
    if !r.nondeterminism.is_empty() {
        return EXIT_NONDETERMINISM;
    }
    if let Some(f) = r.failure.as_ref().and_then(|f| f.failure.as_ref()) {
        return f.exit_code() as u8;
    }
    if !r.missing.is_empty() && cfg.shard.count == 1 {
        eprintln!(
            "sweep failed: required coverage marks never reached: {}",
            r.missing.join(", ")
        );
        return 1;
    }
    0
}

/// A finding that is a known hazard: said plainly, with its seed and the replay command.
fn hazard_block(h: &RunReport, a: &HuntArgs) {
    let (Some(f), spdk) = (&h.failure, h.spdk) else {
        return;
    };
    let Some(hz) = known(f, spdk) else {
        return;
    };
    let file = builtin(&a.scenario)
        .is_none()
        .then_some(a.scenario.as_str());
    eprintln!("\n=== {}", hz.verdict());
    eprintln!("finding:     {f}");
    eprintln!("seed:        {}", h.seed);
    eprintln!("replay:      {}", replay_command(&h.seed.to_string(), file));
}
