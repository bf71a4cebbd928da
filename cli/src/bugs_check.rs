//! `fabcheck bugs --check`: detection of every catalogue entry from its built-in scenarios,
//! and silence of those scenarios with every switch off, for the same budget.
//!
//! Rows come from the core's catalogue: for each entry and each scenario it lists, `--seeds K`
//! sweeps (base seeds 0..K, one thread, at most `--runs N` runs each) in the entry's SPDK
//! profile with its switch on; a seed finds the entry when a run breaks the entry's invariant
//! at one of its sites (`SweepConfig::wanted`: other findings the switched-on code reaches
//! first, such as the other failures of an old release's shapes, are passed over and do not
//! count). The first finding is shrunk, and its story must name the site. Then every listed
//! scenario runs K x N runs with every switch off, in each profile an entry lists it for, and
//! must stay clean. Exit 1 if an entry is missed in any seed, a shrunk story does not name the site, or a scenario is noisy. A
//! finding that is a known hazard (SPDK behaviour, `fabcheck hazards`) is neither a detection
//! nor noise: the silence table names it by id.
//! Wall-clock times are measured for the table only; they never reach a simulation.
//! With `--explore`, each row also gets the model checker's verdict on that world
//! (`fabcheck_models::catalogue::explore_entry_on`: found by exhaustive BFS within the state
//! bound, states stored, shortest counterexample), which is informational and off by default
//! because it costs seconds per row.
//! With `--diff`, each row also gets the `real SPDK` column (`diff::real_spdk`): the shrunk
//! story replayed on SPDK's real lib/nvmf of the entry's last buggy and first fixed tags;
//! informational (it never changes the exit code) and off by default (it needs the harness).

use crate::diff::real_spdk::real_spdk_check;
use crate::hunt::wall_clock;
use crate::Usage;
use clap::Args;
use fabcheck_core::nvmf::{CatalogueEntry, Spdk};
use fabcheck_sim::catalogue::entry_world;
use fabcheck_sim::scenario::builtin;
use fabcheck_sim::shrink::shrink;
use fabcheck_sim::strategy::Strategy;
use fabcheck_sim::sweep::{sweep, SweepConfig};
use fabcheck_sim::{Failure, Scenario};
use serde::Serialize;

/// Options of `fabcheck bugs --check`.
#[derive(Args, Debug, Clone)]
pub struct CheckArgs {
    /// Run detection for every entry and the silence sweeps (instead of listing).
    #[arg(long)]
    pub check: bool,
    /// Most runs per seed (detection), and per seed of the silence sweep.
    #[arg(long, default_value_t = 2000)]
    pub runs: u64,
    /// Base seeds per entry and scenario.
    #[arg(long, default_value_t = 20)]
    pub seeds: u64,
    /// `random` or `pct:<d>`; default: the sweep's portfolio.
    #[arg(long)]
    pub strategy: Option<String>,
    /// One JSON document instead of the tables.
    #[arg(long)]
    pub json: bool,
    /// Runs to spend shrinking the first finding.
    #[arg(long, default_value_t = 5000)]
    pub shrink_budget: u32,
    /// Add the `explore` column: exhaustive BFS of each row's world with the entry's switch on.
    #[arg(long)]
    pub explore: bool,
    /// State bound of each `--explore` search.
    #[arg(long, default_value_t = fabcheck_models::catalogue::ENTRY_MAX_STATES)]
    pub explore_states: u64,
    /// Add the `real SPDK` column: each row's shrunk story replayed by the differential
    /// harness on the entry's last buggy tag (must crash) and first fixed tag (must run to
    /// quiescence); needs `differential/build.sh` builds of those tags (docs/differential.md).
    #[arg(long)]
    pub diff: bool,
}

/// The `explore` cell of a row.
#[derive(Debug, Clone, Serialize)]
pub struct ExploreCell {
    /// `yes` (found at the entry's site), `no` (whole bounded world explored, no violation),
    /// `other` (another violation first), `incomplete` (a bound hit first), `unavailable`.
    pub result: &'static str,
    pub states: Option<u64>,
    /// Steps in the shortest counterexample (`yes` only).
    pub shortest: Option<usize>,
    /// Why incomplete, or the other violation's signature, or the counterexample's seed.
    pub detail: Option<String>,
}

fn explore_cell(e: &CatalogueEntry, name: &str, a: &CheckArgs) -> ExploreCell {
    use fabcheck_models::catalogue::{explore_entry_on, ScenarioVerdict as V};
    let cell = |result, states, shortest, detail| ExploreCell {
        result,
        states,
        shortest,
        detail,
    };
    match explore_entry_on(e, name, a.explore_states, 1) {
        V::Found(f) => cell(
            "yes",
            Some(f.states_to_first),
            Some(f.shortest_len),
            Some(f.seed.to_string()),
        ),
        V::NotFound { states } => cell("no", Some(states), None, None),
        V::Other { states, signature } => cell("other", Some(states), None, Some(signature)),
        V::Incomplete { states, why } => cell("incomplete", Some(states), None, Some(why)),
        V::Unavailable => cell("unavailable", None, None, None),
    }
}

/// One row: an entry on one of its scenarios.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub id: &'static str,
    pub profile: String,
    pub invariant: String,
    pub scenario: String,
    pub strategy: String,
    pub found: u64,
    pub seeds: u64,
    pub median_runs: Option<u64>,
    pub median_ms: Option<f64>,
    pub story_lines: Option<usize>,
    /// Whether the shrunk story names the entry's site.
    pub story_names_site: bool,
    /// The model checker's verdict (`--explore` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explore: Option<ExploreCell>,
    /// The shrunk story on real SPDK (`--diff` only): `confirmed: ...`, `REFUTED: ...`, `n/a: ...`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub real_spdk: Option<String>,
}

/// A scenario swept with every switch off.
#[derive(Debug, Clone, Serialize)]
pub struct Silence {
    pub scenario: String,
    pub runs: u64,
    /// The first failure that is not a known hazard: its signature and seed, if any.
    pub failure: Option<String>,
    /// Known hazards the sweep met (SPDK behaviour, `fabcheck hazards`): id and runs.
    pub hazards: Vec<(String, u64)>,
}

#[derive(Debug, Clone, Serialize)]
struct CheckReport {
    rows: Vec<Row>,
    /// Entries no built-in scenario reaches (their window says what finds them).
    untested: Vec<&'static str>,
    silence: Vec<Silence>,
    ok: bool,
}

fn median<T: Copy + PartialOrd>(v: &mut [T]) -> Option<T> {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    v.get(v.len().saturating_sub(1) / 2).copied()
}

fn detect(e: &CatalogueEntry, name: &str, a: &CheckArgs, strategy: Option<Strategy>) -> Row {
    let sc = entry_world(e, name).expect("catalogue scenarios are built in (a sim test checks)");
    let (mut runs, mut ms, mut first) = (Vec::new(), Vec::new(), None);
    for base in 0..a.seeds {
        let mut cfg = SweepConfig::new(sc.clone(), a.runs);
        cfg.strategy = strategy;
        cfg.base_seed = base;
        cfg.jobs = 1;
        cfg.determinism_every = 0;
        cfg.skip_hazards = true;
        cfg.wanted = Some(e.id);
        let start = wall_clock();
        let r = sweep(&cfg, &|_| {});
        let elapsed = start.elapsed().as_secs_f64() * 1000.0;
        if let Some(f) = r.failure {
            runs.push(r.runs);
            ms.push(elapsed);
            first.get_or_insert(f);
        }
    }
    let shrunk = first.and_then(|f| shrink(&sc, &f, a.shrink_budget));
    let real_spdk = a.diff.then(|| match &shrunk {
        Some(s) => real_spdk_check(e, &s.seed.to_string()).to_string(),
        None => "n/a: no shrunk story (not found)".to_string(),
    });
    let story = shrunk.and_then(|s| s.report.trace.map(|t| t.story()));
    Row {
        id: e.name,
        profile: sc.spdk.to_string(),
        invariant: format!("{:?}", e.invariant),
        scenario: name.to_string(),
        strategy: strategy.map_or("portfolio".to_string(), |s| s.to_string()),
        found: runs.len() as u64,
        seeds: a.seeds,
        median_runs: median(&mut runs),
        median_ms: median(&mut ms),
        story_lines: story.as_ref().map(|s| s.lines().count()),
        story_names_site: story.is_some_and(|s| e.sites().any(|site| s.contains(site))),
        explore: a.explore.then(|| explore_cell(e, name, a)),
        real_spdk,
    }
}

/// `name` in profile `spdk` with every switch off.
fn silence(name: &str, spdk: Spdk, a: &CheckArgs) -> Silence {
    let sc: Scenario = builtin(name)
        .expect("catalogue scenarios are built in")
        .with_spdk(spdk.name())
        .expect("every profile loads");
    let mut cfg = SweepConfig::new(sc, a.runs.saturating_mul(a.seeds));
    cfg.determinism_every = 0;
    cfg.skip_hazards = true;
    let r = sweep(&cfg, &|_| {});
    let mut hazards: Vec<(String, u64)> = Vec::new();
    for id in r.results.iter().filter_map(|x| x.hazard) {
        match hazards.iter_mut().find(|(h, _)| h == id) {
            Some((_, n)) => *n += 1,
            None => hazards.push((id.to_string(), 1)),
        }
    }
    Silence {
        hazards,
        scenario: r
            .failure
            .as_ref()
            .map_or(cfg.scenario.key(), |f| f.seed.scenario.clone()),
        runs: r.runs,
        failure: r.failure.map(|f| {
            let sig = f.failure.as_ref().map_or(String::new(), Failure::signature);
            format!("{sig} ({})", f.replay_seed())
        }),
    }
}

fn run_check(a: &CheckArgs) -> Result<CheckReport, Usage> {
    let strategy = a
        .strategy
        .as_deref()
        .map(str::parse::<Strategy>)
        .transpose()?;
    let entries = fabcheck_core::nvmf::catalogue();
    let mut rows = Vec::new();
    let mut scenarios: Vec<(&str, Spdk)> = Vec::new();
    for e in entries {
        for name in e.scenarios {
            rows.push(detect(e, name, a, strategy));
            if !scenarios.contains(&(*name, e.spdk)) {
                scenarios.push((*name, e.spdk));
            }
        }
    }
    let untested = entries
        .iter()
        .filter(|e| e.scenarios.is_empty())
        .map(|e| e.name)
        .collect();
    let silence: Vec<Silence> = scenarios
        .iter()
        .map(|(n, spdk)| silence(n, *spdk, a))
        .collect();
    let ok = rows
        .iter()
        .all(|r| r.found == r.seeds && r.story_names_site)
        && silence.iter().all(|s| s.failure.is_none());
    Ok(CheckReport {
        rows,
        untested,
        silence,
        ok,
    })
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or("-".to_string(), |v| v.to_string())
}

fn explore_text(x: &Row) -> String {
    match &x.explore {
        None => String::new(),
        Some(c) => {
            let states = opt(c.states);
            match c.shortest {
                Some(n) => format!(" {}, {states} states, {n} steps |", c.result),
                None => format!(" {}, {states} states |", c.result),
            }
        }
    }
}

fn print_tables(r: &CheckReport) {
    let explore = r.rows.iter().any(|x| x.explore.is_some());
    let (mut head, mut rule) = if explore {
        (" explore |".to_string(), "---|".to_string())
    } else {
        (String::new(), String::new())
    };
    if r.rows.iter().any(|x| x.real_spdk.is_some()) {
        head.push_str(" real SPDK |");
        rule.push_str("---|");
    }
    println!("| id | profile | invariant | scenario | strategy | found | median runs | median ms | shrunk story lines | names site |{head}");
    println!("|---|---|---|---|---|---|---|---|---|---|{rule}");
    for x in &r.rows {
        println!(
            "| `{}` | `{}` | {} | `{}` | {} | {}/{} | {} | {} | {} | {} |{}",
            x.id,
            x.profile,
            x.invariant,
            x.scenario,
            x.strategy,
            x.found,
            x.seeds,
            opt(x.median_runs),
            opt(x.median_ms.map(|m| format!("{m:.1}"))),
            opt(x.story_lines),
            if x.story_names_site { "yes" } else { "no" },
            explore_text(x)
                + &x.real_spdk
                    .as_ref()
                    .map_or(String::new(), |c| format!(" {c} |"))
        );
    }
    for id in &r.untested {
        println!("| `{id}` | | | no built-in scenario (see `fabcheck bugs`) | | | | | | |");
    }
    println!("\n| scenario, every switch off | runs | result |\n|---|---|---|");
    for s in &r.silence {
        let result = match (&s.failure, s.hazards.is_empty()) {
            (Some(f), _) => f.clone(),
            (None, true) => "silent".to_string(),
            (None, false) => format!("silent apart from known hazards: {}", hazard_list(s)),
        };
        println!("| `{}` | {} | {result} |", s.scenario, s.runs);
    }
}

fn hazard_list(s: &Silence) -> String {
    let v: Vec<String> = s
        .hazards
        .iter()
        .map(|(id, n)| format!("{id} in {n} runs"))
        .collect();
    v.join(", ")
}

/// `fabcheck bugs --check`.
pub fn bugs_check(a: &CheckArgs) -> Result<u8, Usage> {
    if a.runs == 0 || a.seeds == 0 {
        return Err(Usage("--runs and --seeds must be at least 1".into()));
    }
    let r = run_check(a)?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string(&r).expect("the report serializes")
        );
    } else {
        print_tables(&r);
    }
    Ok(if r.ok { 0 } else { 1 })
}
