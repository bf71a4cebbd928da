//! `fabcheck replay --fuzz-input FILE --scenario KEY`: a `sim_choices` fuzz input (a corpus
//! file or a crash artifact) run exactly as the fuzz target runs it, then replayed from the seed
//! string it derives; both runs must be the same run (else nondeterminism, exit 3). Prints the
//! replayed trace, the verdict and the seed string, which replays without the file.

use crate::replay::{code, print_run, ReplayArgs};
use crate::report::replay_command;
use crate::{Usage, EXIT_NONDETERMINISM};
use fabcheck_sim::fuzzing::sim_choices;
use fabcheck_sim::{run, Scenario};
use std::path::Path;

/// A scenario key (`churn`, `seed-3302+spdk-3302`) or else a scenario file.
fn scenario(arg: &Path) -> Result<(Scenario, Option<&str>), Usage> {
    let text = arg.to_str().unwrap_or_default();
    if let Ok(sc) = sim_choices::scenario(text) {
        return Ok((sc, None));
    }
    let looks_like_file = text.ends_with(".toml") || text.ends_with(".json") || arg.exists();
    if !looks_like_file {
        return Err(Usage(format!(
            "unknown scenario '{text}' for --fuzz-input (a built-in key such as churn or \
             seed-3302+spdk-3302, or a .toml/.json file)"
        )));
    }
    Ok((Scenario::load(arg)?, Some(text)))
}

pub fn replay(path: &Path, scenario_arg: Option<&Path>, a: &ReplayArgs) -> Result<u8, Usage> {
    let data = std::fs::read(path)
        .map_err(|e| Usage(format!("cannot read fuzz input {}: {e}", path.display())))?;
    let arg = scenario_arg.ok_or_else(|| Usage("--fuzz-input needs --scenario KEY".into()))?;
    let (sc, file) = scenario(arg)?;
    let direct = sim_choices::run(&sc, &data, true);
    let seed = direct.replay_seed();
    let replayed = run(&sc, &seed, true);
    if !sim_choices::same_run(&direct, &replayed) {
        eprintln!(
            "NONDETERMINISM: {} differs from its seed string {seed}",
            path.display()
        );
        return Ok(EXIT_NONDETERMINISM);
    }
    print_run(&replayed, a);
    println!("seed string: {seed}");
    println!("replay:      {}", replay_command(&seed.to_string(), file));
    Ok(code(&replayed))
}
