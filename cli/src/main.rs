//! The `fabcheck` command: hunt (sweeps with a progress bar and a summary), replay (a seed
//! string, a trace file, or a runtime recording), shrink, scenarios, bugs (`--check`:
//! bugs_check.rs), hazards (hazards.rs), bench.
//!
//! Exit codes: 0 clean, 1 safety violation (or a sweep that missed required coverage),
//! 2 liveness violation, 3 nondeterminism, 64 bad usage or bad input (one line on stderr).

mod bench;
mod bench_own;
mod bench_peers;
mod bugs_check;
mod diff;
mod explore;
mod export_story;
mod fuzz_input;
mod hazards;
mod hunt;
mod merge;
mod replay;
mod report;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit code for bad usage or bad input (BSD `EX_USAGE`).
pub const EXIT_USAGE: u8 = 64;
/// Exit code for nondeterminism.
pub const EXIT_NONDETERMINISM: u8 = 3;

#[derive(Parser, Debug)]
#[command(
    name = "fabcheck",
    version,
    about = "Deterministic simulation of the NVMe-oF target lifecycle"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a sweep of seeds and report violations (default: churn, fixed core, PCT portfolio).
    Hunt(hunt::HuntArgs),
    /// Replay a seed string, a trace file (re-run and compare) or a runtime recording.
    Replay(replay::ReplayArgs),
    /// Shrink a failing seed string to a 1-minimal story.
    Shrink {
        /// The failing seed string, `fc1:<scenario>:<seed hex>[:<choices>]`.
        seed: String,
        /// The scenario file, when the seed names a scenario that is not built in.
        #[arg(long)]
        scenario: Option<PathBuf>,
        /// Runs to spend at most.
        #[arg(long, default_value_t = 20_000)]
        budget: u32,
    },
    /// List the built-in scenarios.
    Scenarios,
    /// List the bug catalogue.
    Bugs {
        /// Print the README's Markdown table instead.
        #[arg(long)]
        markdown: bool,
        #[command(flatten)]
        check: bugs_check::CheckArgs,
    },
    /// Measure speed and time to first detection of spdk-3302.
    Bench(bench::BenchArgs),
    /// Write a seed's story for the differential harness (docs/differential.md).
    ExportStory {
        /// The seed string, `fc1:<scenario>:<seed hex>[:<choices>]`.
        seed: String,
        /// The scenario file, when the seed names a scenario that is not built in.
        #[arg(long)]
        scenario: Option<PathBuf>,
        /// Write the story here instead of stdout.
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Random stories through the model and SPDK's real lib/nvmf: agreement (docs/differential.md).
    Diff(diff::DiffArgs),
    /// Fold `hunt --shard I/N --json` outputs into one summary.
    Merge(merge::MergeArgs),
    /// Explore a scenario's world exhaustively (breadth-first, shortest counterexamples).
    Explore(explore::ExploreArgs),
    /// List the confirmed hazards (SPDK behaviour that breaks an invariant); `--check` replays them.
    Hazards(hazards::HazardsArgs),
}

/// A bad-input error: printed as one line, exit 64.
#[derive(Debug)]
pub struct Usage(pub String);

impl<E: std::fmt::Display> From<E> for Usage {
    fn from(e: E) -> Self {
        Usage(e.to_string())
    }
}

fn parse_cli() -> Result<Cli, ExitCode> {
    Cli::try_parse().map_err(|e| {
        use clap::error::ErrorKind;
        if matches!(
            e.kind(),
            ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        ) {
            let _ = e.print();
            return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
        let text = e.to_string();
        let first = text
            .lines()
            .next()
            .unwrap_or("bad usage")
            .trim_start_matches("error: ");
        eprintln!("fabcheck: {first}");
        ExitCode::from(EXIT_USAGE)
    })
}

fn main() -> ExitCode {
    let cli = match parse_cli() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let result = match cli.command {
        Command::Hunt(a) => hunt::hunt(a),
        Command::Replay(a) => replay::replay(a),
        Command::Shrink {
            seed,
            scenario,
            budget,
        } => replay::shrink(&seed, scenario.as_deref(), budget),
        Command::Scenarios => Ok(report::scenarios()),
        Command::Bugs { check, .. } if check.check => bugs_check::bugs_check(&check),
        Command::Bugs { markdown, .. } => Ok(report::bugs(markdown)),
        Command::Bench(a) => bench::bench(a),
        Command::ExportStory {
            seed,
            scenario,
            out,
        } => export_story::export_story(&seed, scenario.as_deref(), out.as_deref()),
        Command::Merge(a) => merge::merge_cmd(a),
        Command::Diff(a) => diff::diff(a),
        Command::Explore(a) => explore::explore(a),
        Command::Hazards(a) => hazards::hazards(&a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Usage(msg)) => {
            eprintln!("fabcheck: {}", msg.replace('\n', " "));
            ExitCode::from(EXIT_USAGE)
        }
    }
}
