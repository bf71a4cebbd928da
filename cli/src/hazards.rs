//! `fabcheck hazards`: the confirmed hazards (SPDK behaviour that breaks an invariant with
//! every switch off, `fabcheck_sim::hazard`), each with its invariant, site, scenario, seed
//! strings and the SPDK source lines of each step. `--check` replays every recorded seed,
//! prints its (shrunk) story and exits 1 if a seed no longer reaches its hazard or its story
//! does not name the site. See docs/hazards.md.

use crate::replay::resolve;
use crate::Usage;
use clap::Args;
use fabcheck_sim::hazard::{Hazard, HAZARDS};
use fabcheck_sim::run;

/// Options of `fabcheck hazards`.
#[derive(Args, Debug, Clone)]
pub struct HazardsArgs {
    /// Replay each hazard's seeds and show the shrunk story and the site.
    #[arg(long)]
    pub check: bool,
    /// One JSON document (the hazard records) instead of text.
    #[arg(long)]
    pub json: bool,
}

fn print_hazard(h: &Hazard) {
    let profiles: Vec<String> = h.profiles.iter().map(|p| p.to_string()).collect();
    println!("{}: {}", h.id, h.title);
    println!("  profiles:  {}", profiles.join(", "));
    println!("  breaks:    {:?} at {}", h.invariant, h.site);
    println!("  scenario:  {} (every switch off)", h.scenario);
    for s in h.seeds {
        println!("  seed:      {s}");
    }
    println!("  what:      {}", h.summary);
    println!("  backstop:  {}", h.backstop);
    println!("  steps and SPDK source:");
    for (i, step) in h.steps.iter().enumerate() {
        println!("    {}. {}", i + 1, step.what);
        for l in step.source {
            println!("       {:<7} {:<24} {}", l.spdk, l.at, l.function);
        }
    }
}

/// Replays one seed; prints the story; whether it reached the hazard and named the site.
fn check_seed(h: &Hazard, seed: &str) -> Result<bool, Usage> {
    let (seed, sc) = resolve(seed, None)?;
    let r = run(&sc, &seed, true);
    let story = r.trace.as_ref().map(|t| t.story()).unwrap_or_default();
    let reached = r.failure.as_ref().is_some_and(|f| h.matches(f, r.spdk));
    let names_site = story.contains(h.site);
    println!("--- {} replaying {seed}", h.id);
    print!("{story}");
    match &r.failure {
        Some(f) => println!("{f}"),
        None => println!("no finding"),
    }
    println!(
        "{}: {} ({:?} at {}), story names the site: {}",
        h.id,
        if reached { "reached" } else { "NOT reached" },
        h.invariant,
        h.site,
        if names_site { "yes" } else { "no" }
    );
    Ok(reached && names_site)
}

/// `fabcheck hazards`.
pub fn hazards(a: &HazardsArgs) -> Result<u8, Usage> {
    if a.json {
        let text = serde_json::to_string(HAZARDS).expect("hazards serialize");
        println!("{text}");
    } else {
        for h in HAZARDS {
            print_hazard(h);
            println!();
        }
    }
    if !a.check {
        return Ok(0);
    }
    let mut ok = true;
    for h in HAZARDS {
        for s in h.seeds {
            ok &= check_seed(h, s)?;
        }
    }
    Ok(if ok { 0 } else { 1 })
}
