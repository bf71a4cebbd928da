//! Timed explorations, one table row each: the NVMe-oF worlds the tests pin (time to complete,
//! states/s) and fabcheck's side of the two-phase-commit comparison. `fabcheck bench --models`
//! and `cargo bench -p fabcheck-models --bench nvmf` print these rows; the side-by-side run
//! against Stateright is `benches/twopc.rs` (Stateright is a dev-dependency only).
//!
//! Times come from the engine's own report (wall time of the search, nothing else).

use crate::nvmf::NvmfModel;
use crate::twopc::TwoPhaseSys;
use crate::twopc_packed::PackedTwoPhase;
use crate::{check, check_dfs, CheckOptions, Model, Outcome, Report};
use fabcheck_sim::Scenario;

/// The small churn world (`models/scenarios/churn-small.toml`), built into the crate.
pub const CHURN_SMALL_TOML: &str = include_str!("../scenarios/churn-small.toml");

/// One measured exploration.
#[derive(Debug, Clone)]
pub struct Row {
    pub name: String,
    pub threads: usize,
    pub result: String,
    pub states: u64,
    pub transitions: u64,
    pub depth: u64,
    pub secs: f64,
}

impl Row {
    fn of<M: Model>(name: &str, threads: usize, r: &Report<M>) -> Row {
        let result = match &r.outcome {
            Outcome::Verified => "verified".to_string(),
            Outcome::Violated => match r.violations.first() {
                Some(v) => format!("violation, {} steps", v.path.len()),
                None => "violation".to_string(),
            },
            Outcome::Unreached(m) => format!("unreached: {}", m.join(", ")),
            Outcome::Incomplete(w) => format!("incomplete: {w}"),
        };
        Row {
            name: name.to_string(),
            threads,
            result,
            states: r.states,
            transitions: r.transitions,
            depth: r.depth,
            secs: r.elapsed.as_secs_f64(),
        }
    }

    /// States per second of wall time.
    pub fn rate(&self) -> f64 {
        self.states as f64 / self.secs.max(1e-9)
    }

    /// The markdown header `markdown` rows go under.
    pub fn header() -> &'static str {
        "| world | threads | result | states | transitions | depth | time | states/s |\n\
         |---|---|---|---|---|---|---|---|"
    }

    pub fn markdown(&self) -> String {
        format!(
            "| {} | {} | {} | {} | {} | {} | {:.2} s | {:.0} |",
            self.name,
            self.threads,
            self.result,
            self.states,
            self.transitions,
            self.depth,
            self.secs,
            self.rate()
        )
    }
}

fn opts(threads: usize) -> CheckOptions {
    CheckOptions {
        threads: threads.max(1),
        ..CheckOptions::default()
    }
}

/// The worlds: (row name, scenario, bugs).
fn worlds() -> Vec<(&'static str, Scenario, &'static [&'static str])> {
    let resolve = |n: &str| Scenario::resolve(n).expect("a built-in scenario");
    let churn = Scenario::from_toml_str(CHURN_SMALL_TOML, "models/scenarios/churn-small.toml")
        .expect("churn-small parses");
    vec![
        ("seed-3302", resolve("seed-3302"), &[]),
        ("seed-3302 +spdk-3302", resolve("seed-3302"), &["spdk-3302"]),
        (
            "seed-3302-ctrlr-add-fail",
            resolve("seed-3302-ctrlr-add-fail"),
            &[],
        ),
        (
            "seed-3302-ctrlr-add-fail +spdk-3302",
            resolve("seed-3302-ctrlr-add-fail"),
            &["spdk-3302"],
        ),
        ("churn-small", churn, &[]),
    ]
}

/// Breadth-first exploration of each NVMe-oF world on `threads` threads.
pub fn nvmf_rows(threads: usize) -> Vec<Row> {
    worlds()
        .into_iter()
        .map(|(name, sc, bugs)| {
            let bugs: Vec<String> = bugs.iter().map(|b| b.to_string()).collect();
            let m = NvmfModel::new(sc.with_bugs(&bugs).expect("catalogue bugs"));
            Row::of(name, threads, &check(&m, &opts(threads)))
        })
        .collect()
}

/// fabcheck's two-phase-commit rows: BFS with the packed state and with Stateright's state
/// shape on `threads` threads, and DFS with the packed state (one thread).
pub fn twopc_rows(rms: usize, threads: usize) -> Vec<Row> {
    let packed = PackedTwoPhase { rms };
    let shaped = TwoPhaseSys { rms };
    vec![
        Row::of(
            &format!("2pc-{rms} bfs, packed state"),
            threads,
            &check(&packed, &opts(threads)),
        ),
        Row::of(
            &format!("2pc-{rms} dfs, packed state"),
            1,
            &check_dfs(&packed, &opts(1)),
        ),
        Row::of(
            &format!("2pc-{rms} bfs, Stateright's state shape"),
            threads,
            &check(&shaped, &opts(threads)),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_report_what_the_checks_found() {
        let rows = twopc_rows(3, 2);
        assert!(rows
            .iter()
            .all(|r| r.states == 288 && r.result == "verified"));
        let row = &nvmf_rows(1)[1];
        assert_eq!(row.result, "violation, 9 steps");
        assert!(row
            .markdown()
            .starts_with("| seed-3302 +spdk-3302 | 1 | violation, 9 steps |"));
    }
}
