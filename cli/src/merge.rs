//! `fabcheck merge FILES...`: folds the `--json` outputs of `fabcheck hunt --shard I/N` jobs
//! (one file per shard, e.g. from a GitHub Actions matrix or a Kubernetes Indexed Job) into one
//! summary: total runs and steps, every violation with its seed string, the union of the
//! coverage marks (runs per mark summed), the marks no shard reached, and each shard's rate.
//!
//! Refuses (exit 64, one line) a file that is not hunt output, a shard without its summary
//! line (a job that did not finish), shards of different scenarios or splits (`I/N` with
//! different `N`), and shards whose run indices overlap. Exit codes as `hunt`: 1 safety (or a required mark no shard reached),
//! 2 liveness, 3 nondeterminism, else 0.

use crate::replay::read;
use crate::{Usage, EXIT_NONDETERMINISM};
use clap::Args;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// Shard outputs of `fabcheck hunt --shard I/N --json`.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Print the merged summary as one JSON object.
    #[arg(long)]
    json: bool,
}

/// One shard file, parsed.
struct Shard {
    name: String,
    runs: Vec<Value>,
    summary: Value,
}

fn parse(path: &Path) -> Result<Shard, Usage> {
    let name = path.display().to_string();
    let text = read(path, "shard output")?;
    let mut runs = Vec::new();
    let mut summary = None;
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let v: Value = serde_json::from_str(line)
            .map_err(|e| Usage(format!("{name}:{}: not a hunt --json line: {e}", i + 1)))?;
        if v["summary"] == json!(true) {
            summary = Some(v);
        } else if v["index"].is_u64() && v["seed"].is_string() {
            runs.push(v);
        } else {
            return Err(Usage(format!("{name}:{}: not a hunt --json line", i + 1)));
        }
    }
    let summary =
        summary.ok_or_else(|| Usage(format!("{name}: no summary line (did the shard finish?)")))?;
    Ok(Shard {
        name,
        runs,
        summary,
    })
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The `N` of a summary's `"shard": "I/N"` (absent in output of older hunts).
fn shard_count(summary: &Value) -> Option<&str> {
    summary["shard"]
        .as_str()
        .and_then(|s| s.split_once('/'))
        .map(|(_, n)| n)
}

/// The merged summary as JSON (the human form is printed from it).
fn merge(shards: &[Shard]) -> Result<Value, Usage> {
    let scenario = &shards[0].summary["scenario"];
    let mut seen: BTreeMap<u64, &str> = BTreeMap::new();
    let mut coverage: BTreeMap<String, u64> = BTreeMap::new();
    let mut missing = strings(&shards[0].summary["missing_marks"]);
    let (mut runs, mut steps, mut violations, mut nondet, mut rates) =
        (0, 0, Vec::new(), Vec::new(), Vec::new());
    for s in shards {
        if shard_count(&s.summary) != shard_count(&shards[0].summary) {
            return Err(Usage(format!(
                "{}: shard {} is not from the same split as {} in {}",
                s.name, s.summary["shard"], shards[0].summary["shard"], shards[0].name
            )));
        }
        if &s.summary["scenario"] != scenario {
            return Err(Usage(format!(
                "{}: scenario {} differs from {} in {}",
                s.name, s.summary["scenario"], scenario, shards[0].name
            )));
        }
        for r in &s.runs {
            let index = r["index"].as_u64().unwrap_or_default();
            if let Some(other) = seen.insert(index, &s.name) {
                return Err(Usage(format!(
                    "shards overlap: run {index} is in {other} and {}",
                    s.name
                )));
            }
            // A run tagged with a known hazard is not a violation (docs/hazards.md).
            if r.get("violation").is_some() && r.get("hazard").is_none() {
                violations.push(json!({ "shard": s.name, "index": index, "seed": r["seed"],
                    "result": r["result"], "violation": r["violation"] }));
            }
        }
        let sum = &s.summary;
        runs += sum["runs"].as_u64().unwrap_or_default();
        steps += sum["steps"].as_u64().unwrap_or_default();
        if let Some(c) = sum["coverage"].as_object() {
            for (mark, n) in c {
                *coverage.entry(mark.clone()).or_default() += n.as_u64().unwrap_or_default();
            }
        }
        let here = strings(&sum["missing_marks"]);
        missing.retain(|m| here.contains(m));
        nondet.extend(strings(&sum["nondeterminism"]));
        rates.push(
            json!({ "file": s.name, "shard": sum["shard"], "runs": sum["runs"],
            "seconds": sum["seconds"], "runs_per_sec": sum["runs_per_sec"],
            "steps_per_sec": sum["steps_per_sec"], "violations": sum["violations"] }),
        );
    }
    Ok(
        json!({ "merged": true, "scenario": scenario, "shards": shards.len(), "runs": runs,
        "steps": steps, "violations": violations, "coverage": coverage,
        "missing_marks": missing, "nondeterminism": nondet, "per_shard": rates }),
    )
}

fn print_human(m: &Value) {
    println!(
        "{}: {} shards, {} runs, {} steps",
        m["scenario"].as_str().unwrap_or("?"),
        m["shards"],
        m["runs"],
        m["steps"]
    );
    for r in m["per_shard"].as_array().into_iter().flatten() {
        println!(
            "    shard {:<6} {:>8} runs {:>10.0} runs/s {:>12.0} steps/s  {} violations  ({})",
            r["shard"].as_str().unwrap_or("?"),
            r["runs"],
            r["runs_per_sec"].as_f64().unwrap_or_default(),
            r["steps_per_sec"].as_f64().unwrap_or_default(),
            r["violations"],
            r["file"].as_str().unwrap_or("?")
        );
    }
    let cov = m["coverage"].as_object().cloned().unwrap_or_default();
    println!("coverage: {} marks reached", cov.len());
    for (mark, n) in &cov {
        println!("    {mark:<40} {n} runs");
    }
    let missing = strings(&m["missing_marks"]);
    if !missing.is_empty() {
        println!("missing in every shard: {}", missing.join(", "));
    }
    let v = m["violations"].as_array().cloned().unwrap_or_default();
    println!("violations: {}", v.len());
    for x in &v {
        println!(
            "    {} {}: {}",
            x["seed"].as_str().unwrap_or("?"),
            x["result"].as_str().unwrap_or("?"),
            x["violation"].as_str().unwrap_or("?")
        );
    }
}

fn exit_code(m: &Value) -> u8 {
    let v = m["violations"].as_array().cloned().unwrap_or_default();
    if !strings(&m["nondeterminism"]).is_empty() {
        return EXIT_NONDETERMINISM;
    }
    if v.iter().any(|x| x["result"] == json!("safety")) || !strings(&m["missing_marks"]).is_empty()
    {
        return 1;
    }
    if v.is_empty() {
        0
    } else {
        2
    }
}

pub fn merge_cmd(a: MergeArgs) -> Result<u8, Usage> {
    let shards = a
        .files
        .iter()
        .map(|f| parse(f))
        .collect::<Result<Vec<_>, _>>()?;
    let m = merge(&shards)?;
    if a.json {
        println!("{m}");
    } else {
        print_human(&m);
    }
    Ok(exit_code(&m))
}
