//! `fabcheck replay SEED | --trace FILE | --recording FILE | --fuzz-input FILE --scenario KEY`
//! and `fabcheck shrink SEED`.

use crate::report::replay_command;
use crate::{Usage, EXIT_NONDETERMINISM};
use clap::Args;
use fabcheck_sim::recording::replay_recording;
use fabcheck_sim::shrink::shrink as shrink_run;
use fabcheck_sim::trace::{LineKind, Trace};
use fabcheck_sim::{run, RunReport, Scenario, SeedString};
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// A seed string, `fc1:<scenario>:<seed hex>[:<choices>]`.
    seed: Option<String>,
    /// A trace.jsonl written by `hunt`: re-run its seed and compare trace hashes.
    #[arg(long, conflicts_with_all = ["seed", "recording"])]
    trace: Option<PathBuf>,
    /// A runtime recording (JSON lines): replay it into a fresh target.
    #[arg(long, conflicts_with_all = ["seed", "trace"])]
    recording: Option<PathBuf>,
    /// A `sim_choices` fuzz input (e.g. a crash artifact): run it on `--scenario`, print the
    /// run and its seed string.
    #[arg(long, conflicts_with_all = ["seed", "trace", "recording"], requires = "scenario")]
    fuzz_input: Option<PathBuf>,
    /// The scenario file, when the seed names a scenario that is not built in; with
    /// `--fuzz-input`, the scenario key the fuzzer ran (`churn`, `seed-3302+spdk-3302`) or a file.
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// Print the trace as JSON lines.
    #[arg(long)]
    json: bool,
    /// Print the trace as a Mermaid sequence diagram.
    #[arg(long)]
    mermaid: bool,
}

pub fn read(path: &Path, what: &str) -> Result<String, Usage> {
    std::fs::read_to_string(path)
        .map_err(|e| Usage(format!("cannot read {what} {}: {e}", path.display())))
}

/// Parses a seed string and finds its scenario.
pub fn resolve(seed: &str, file: Option<&Path>) -> Result<(SeedString, Scenario), Usage> {
    let seed: SeedString = seed.parse()?;
    let file = file.map(Scenario::load).transpose()?;
    let sc = Scenario::from_key(&seed.scenario, file.as_ref())?;
    Ok((seed, sc))
}

pub fn print_run(r: &RunReport, a: &ReplayArgs) {
    let t = r.trace.as_ref().expect("replays are traced");
    if a.json {
        print!("{}", t.json_lines());
    } else if a.mermaid {
        print!("{}", t.mermaid());
    } else {
        print!("{}", t.human());
    }
    println!("trace hash: {:016x}", t.hash());
    match &r.failure {
        Some(f) => println!("{f}"),
        None => println!("no violation"),
    }
}

pub fn code(r: &RunReport) -> u8 {
    r.failure.as_ref().map_or(0, |f| f.exit_code() as u8)
}

pub fn replay(a: ReplayArgs) -> Result<u8, Usage> {
    if let Some(path) = &a.recording {
        return recording(path);
    }
    if let Some(path) = &a.trace {
        return trace_file(path, a.scenario.as_deref());
    }
    if let Some(path) = &a.fuzz_input {
        return crate::fuzz_input::replay(path, a.scenario.as_deref(), &a);
    }
    let Some(seed) = &a.seed else {
        return Err(Usage(
            "replay needs a seed string, --trace FILE or --recording FILE".into(),
        ));
    };
    let (seed, sc) = resolve(seed, a.scenario.as_deref())?;
    let r = run(&sc, &seed, true);
    print_run(&r, &a);
    Ok(code(&r))
}

fn trace_file(path: &Path, scenario: Option<&Path>) -> Result<u8, Usage> {
    let text = read(path, "trace file")?;
    let trace = Trace::from_json_lines(&text)
        .map_err(|e| Usage(format!("bad trace file {}: {e}", path.display())))?;
    let first = trace.lines.first().filter(|l| l.kind == LineKind::Params);
    let seed = first
        .and_then(|l| l.text.split_whitespace().next())
        .ok_or_else(|| Usage(format!("bad trace file {}: no params line", path.display())))?;
    let (seed, sc) = resolve(seed, scenario)?;
    let r = run(&sc, &seed, true);
    let (want, got) = (trace.hash(), r.trace_hash());
    if want != got {
        eprintln!(
            "NONDETERMINISM: {} recorded trace hash {want:016x}, replay {got:016x}",
            seed
        );
        return Ok(EXIT_NONDETERMINISM);
    }
    println!(
        "replayed {seed}: trace hash {got:016x} matches {}",
        path.display()
    );
    match &r.failure {
        Some(f) => println!("{f}"),
        None => println!("no violation"),
    }
    Ok(code(&r))
}

fn recording(path: &Path) -> Result<u8, Usage> {
    let text = read(path, "recording")?;
    let out = replay_recording(&text)?;
    for l in &out.lines {
        println!("{l}");
    }
    println!("{} inputs replayed", out.inputs);
    match &out.violation {
        Some(v) => {
            println!("safety violation: {v}");
            Ok(1)
        }
        None => {
            println!("no violation");
            Ok(0)
        }
    }
}

pub fn shrink(seed: &str, scenario: Option<&Path>, budget: u32) -> Result<u8, Usage> {
    let (seed, sc) = resolve(seed, scenario)?;
    let r = run(&sc, &seed, false);
    let Some(s) = shrink_run(&sc, &r, budget) else {
        println!("{seed} does not fail: nothing to shrink");
        return Ok(0);
    };
    let t = s.report.trace.as_ref().expect("shrunk runs are traced");
    print!("{}", t.story());
    println!("trace hash:  {:016x}", t.hash());
    println!(
        "shrunk seed: {} ({} runs{})",
        s.seed,
        s.runs,
        if s.minimal {
            ", 1-minimal"
        } else {
            ", budget hit"
        }
    );
    println!(
        "replay:      {}",
        replay_command(&s.seed.to_string(), scenario.and_then(Path::to_str))
    );
    Ok(code(&s.report))
}
