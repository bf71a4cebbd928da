//! `fabcheck bugs --check` end to end at fast sizes: every catalogue entry with a built-in
//! scenario is found in every seed and its shrunk story names its site, every listed scenario is
//! silent with every switch off apart from recorded hazards, which are named (exit 0); the id /
//! invariant / found columns and the hazard ids are pinned by an insta snapshot (timings and
//! hazard counts are not). A budget too small to find the entries exits 1.

use std::process::{Command, Output};

fn fabcheck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fabcheck"))
        .args(args)
        .output()
        .expect("fabcheck runs")
}

fn report(args: &[&str]) -> (i32, serde_json::Value) {
    let o = fabcheck(args);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let v = serde_json::from_str(&out).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {out}\n{}",
            String::from_utf8_lossy(&o.stderr)
        )
    });
    (o.status.code().expect("exited normally"), v)
}

/// The columns the snapshot pins: id, invariant, scenario, found, whether the story names the
/// site; then each silence sweep's scenario and result.
fn pinned(v: &serde_json::Value) -> String {
    let mut s = String::new();
    for r in v["rows"].as_array().expect("rows") {
        s.push_str(&format!(
            "{} {} {} found {}/{} story names site: {}\n",
            r["id"].as_str().unwrap_or("?"),
            r["invariant"].as_str().unwrap_or("?"),
            r["scenario"].as_str().unwrap_or("?"),
            r["found"],
            r["seeds"],
            r["story_names_site"]
        ));
    }
    for u in v["untested"].as_array().expect("untested") {
        s.push_str(&format!(
            "{} no built-in scenario\n",
            u.as_str().unwrap_or("?")
        ));
    }
    for x in v["silence"].as_array().expect("silence") {
        let result = x["failure"].as_str().unwrap_or("silent");
        let hazards: Vec<&str> = x["hazards"]
            .as_array()
            .expect("hazards")
            .iter()
            .filter_map(|h| h[0].as_str())
            .collect();
        let known = if hazards.is_empty() {
            String::new()
        } else {
            format!(" apart from known hazards {}", hazards.join(", "))
        };
        s.push_str(&format!(
            "{} {result}{known}\n",
            x["scenario"].as_str().unwrap_or("?")
        ));
    }
    s
}

#[test]
fn every_entry_found_and_every_scenario_silent() {
    let args = [
        "bugs",
        "--check",
        "--json",
        "--runs",
        "300",
        "--seeds",
        "2",
        "--shrink-budget",
        "400",
    ];
    let (code, v) = report(&args);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["ok"], true);
    let text = pinned(&v);
    insta::assert_snapshot!("bugs_check_fast", text);
}

#[test]
fn a_budget_too_small_exits_one() {
    let args = [
        "bugs",
        "--check",
        "--json",
        "--runs",
        "1",
        "--seeds",
        "1",
        "--shrink-budget",
        "10",
    ];
    let (code, v) = report(&args);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["ok"], false);
    let missed = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["found"] == 0);
    assert!(missed, "one run per entry misses something: {v:#}");
}

#[test]
fn zero_runs_is_bad_usage() {
    let o = fabcheck(&["bugs", "--check", "--runs", "0"]);
    assert_eq!(o.status.code(), Some(64));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn explore_column_finds_spdk_3302_shortest_and_says_incomplete_at_the_bound() {
    let args = [
        "bugs",
        "--check",
        "--json",
        "--runs",
        "1",
        "--seeds",
        "1",
        "--shrink-budget",
        "1",
        "--explore",
        "--explore-states",
        "1000",
    ];
    let (_, v) = report(&args);
    let rows = v["rows"].as_array().unwrap();
    assert!(rows.iter().all(|r| r["explore"]["result"].is_string()));
    let row = rows
        .iter()
        .find(|r| r["id"] == "spdk-3302" && r["scenario"] == "seed-3302")
        .expect("a spdk-3302 row on seed-3302");
    assert_eq!(row["explore"]["result"], "yes", "{row:#}");
    assert_eq!(row["explore"]["shortest"], 9);
    let cut = rows.iter().any(|r| r["explore"]["result"] == "incomplete");
    assert!(cut, "some world does not fit in 1000 states");
}
