//! `fabcheck explore`: exhaustive breadth-first exploration of a scenario's world with
//! `fabcheck-models` (a progress bar, then states, transitions, depth, states/s and the result:
//! verified, a violation with its `fc1:` seed string and story, or incomplete and why).
//!
//! Exit codes as `hunt`: 0 verified or incomplete without a violation (the output says which),
//! 1 safety violation or a required mark never reached, 2 liveness violation, 64 bad usage.

use crate::report::{failure_block, load_scenario};
use crate::Usage;
use clap::{Args, ValueEnum};
use fabcheck_models::nvmf::NvmfModel;
use fabcheck_models::report::{Progress, Report};
use fabcheck_models::{check, CheckOptions, Outcome};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

#[derive(Args, Debug)]
pub struct ExploreArgs {
    /// A built-in scenario name or a .toml/.json scenario file.
    #[arg(long, default_value = "seed-3302")]
    scenario: String,
    /// Turn a catalogue bug back on (see `fabcheck bugs`); repeatable.
    #[arg(long = "bug")]
    bugs: Vec<String>,
    /// Do not expand states at this depth (the result is then incomplete).
    #[arg(long)]
    max_depth: Option<u64>,
    /// Stop after this many unique states (the result is then incomplete).
    #[arg(long)]
    max_states: Option<u64>,
    /// Stop after this many seconds (the result is then incomplete).
    #[arg(long)]
    max_seconds: Option<u64>,
    /// Worker threads (0: all cores). The result does not depend on it.
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Partial-order reduction (not available for the NVMe-oF world yet: refused).
    #[arg(long, value_enum, default_value_t = OnOff::Off)]
    por: OnOff,
    /// Symmetry reduction over interchangeable hosts (same scenario entry but the host NQN;
    /// breadth-first only: refused with `--por on`).
    #[arg(long, value_enum, default_value_t = OnOff::Off)]
    symmetry: OnOff,
    /// 128-bit state fingerprints instead of 64-bit.
    #[arg(long)]
    fp128: bool,
    /// One JSON result line on stdout.
    #[arg(long)]
    json: bool,
    /// Where the trace files of a counterexample go.
    #[arg(long, default_value = "target/fabcheck")]
    out: PathBuf,
}

fn progress_bar(json: bool) -> ProgressBar {
    if json {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} {elapsed} {msg}").expect("a valid template"),
    );
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

fn options(a: &ExploreArgs, pb: &ProgressBar) -> Result<CheckOptions, Usage> {
    if a.symmetry == OnOff::On && a.por == OnOff::On {
        return Err(Usage(
            "--symmetry on and --por on together: sleep sets name steps by host, so they do \
             not carry over to a renamed state; pick one"
                .into(),
        ));
    }
    let threads = match a.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let bar = pb.clone();
    Ok(CheckOptions {
        threads,
        max_depth: a.max_depth,
        max_states: a.max_states,
        time_limit: a.max_seconds.map(Duration::from_secs),
        fp128: a.fp128,
        por: a.por == OnOff::On,
        symmetry: a.symmetry == OnOff::On,
        progress: Some(Arc::new(move |p: Progress| {
            bar.set_message(format!(
                "{} states, {} transitions, depth {}",
                p.states, p.transitions, p.depth
            ));
        })),
        ..CheckOptions::default()
    })
}

/// Runs `fabcheck explore`.
pub fn explore(a: ExploreArgs) -> Result<u8, Usage> {
    let sc = load_scenario(&a.scenario, &a.bugs)?;
    let file = fabcheck_sim::scenario::builtin(&a.scenario)
        .is_none()
        .then_some(a.scenario.as_str());
    let key = sc.key();
    let pb = progress_bar(a.json);
    let opts = options(&a, &pb)?;
    // Sleep sets run depth-first on one thread, over the core's per-step footprints.
    let (model, r) = if opts.por {
        let model = NvmfModel::new(sc).with_footprints();
        if !a.json {
            eprintln!("explore {key}: dfs with sleep sets (--por on), 1 thread");
        }
        let r = fabcheck_models::check_dfs(&model, &opts);
        (model, r)
    } else {
        let model = NvmfModel::new(sc);
        if !a.json {
            eprintln!("explore {key}: bfs, {} threads", opts.threads);
        }
        let r = check(&model, &opts);
        (model, r)
    };
    pb.finish_and_clear();
    Ok(report(&model, &r, &a, file))
}

fn summary(model: &NvmfModel, r: &Report<NvmfModel>, json: bool) -> (String, Option<String>) {
    let (result, why) = match &r.outcome {
        Outcome::Verified => ("verified", String::new()),
        Outcome::Violated => ("violation", r.violations[0].property.clone()),
        Outcome::Unreached(m) => ("unreached", m.join(", ")),
        Outcome::Incomplete(w) => ("incomplete", w.clone()),
    };
    let seed = r.violations.first().map(|v| {
        model
            .seed_string(v.path.steps.iter().map(|s| &s.0))
            .to_string()
    });
    if json {
        let line = serde_json::json!({
            "scenario": model.sc.key(), "result": result, "why": why,
            "states": r.states, "transitions": r.transitions, "depth": r.depth,
            "seconds": r.elapsed.as_secs_f64(), "states_per_sec": r.states_per_sec(),
            "seed": seed, "length": r.violations.first().map(|v| v.path.len()),
            "sometimes": r.sometimes.iter().map(|(n, ok)| serde_json::json!({"name": n, "reached": ok})).collect::<Vec<_>>(),
        });
        println!("{line}");
    } else {
        println!(
            "states {}  transitions {}  depth {}  time {:.2} s  {:.0} states/s",
            r.states,
            r.transitions,
            r.depth,
            r.elapsed.as_secs_f64(),
            r.states_per_sec()
        );
        for (name, ok) in &r.sometimes {
            println!(
                "  sometimes {name}: {}",
                if *ok { "reached" } else { "NOT reached" }
            );
        }
        match why.is_empty() {
            true => println!("result: {result}"),
            false => println!("result: {result} ({why})"),
        }
    }
    (result.to_string(), seed)
}

fn report(model: &NvmfModel, r: &Report<NvmfModel>, a: &ExploreArgs, file: Option<&str>) -> u8 {
    let (_, seed) = summary(model, r, a.json);
    match &r.outcome {
        Outcome::Verified | Outcome::Incomplete(_) => 0,
        Outcome::Unreached(_) => 1,
        Outcome::Violated => {
            let seed = seed
                .expect("a violation has a seed")
                .parse()
                .expect("a valid seed");
            let run = fabcheck_sim::run(&model.sc, &seed, true);
            let Some(f) = &run.failure else {
                eprintln!("fabcheck: the counterexample did not replay in the simulator (a bug in fabcheck)");
                return crate::EXIT_NONDETERMINISM;
            };
            if !a.json {
                eprintln!(
                    "shortest counterexample: {} steps",
                    r.violations[0].path.len()
                );
                failure_block(&run, None, &a.out, file);
            }
            f.exit_code() as u8
        }
    }
}
