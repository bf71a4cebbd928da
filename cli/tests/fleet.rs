//! `fabcheck merge` on real shard outputs: hunt shards are run here (`hunt --shard I/N
//! --json`), written to files and merged, as a GitHub Actions matrix or a Kubernetes Indexed
//! Job would do. Also `replay --fuzz-input`: a fuzz input and the seed string it prints are
//! the same run.

mod common;

use common::{code, fabcheck, stdout, tmp};
use fabcheck_sim::fuzzing::sim_choices;
use fabcheck_sim::strategy::Random;
use serde_json::Value;
use std::path::Path;

/// Runs `hunt --shard i/n --json` for every shard; returns the files and their summaries.
fn shards(dir: &Path, extra: &[&str], runs: &str, n: u64) -> (Vec<String>, Vec<Value>) {
    let mut files = Vec::new();
    let mut sums = Vec::new();
    for i in 0..n {
        let shard = format!("{i}/{n}");
        let out = dir.join(format!("out-{i}"));
        let mut args = vec![
            "hunt", "--runs", runs, "--jobs", "1", "--json", "--shard", &shard,
        ];
        args.extend(["--out", out.to_str().unwrap()]);
        args.extend(extra);
        let o = fabcheck(&args);
        let text = stdout(&o);
        let file = dir.join(format!("shard-{i}.jsonl"));
        std::fs::write(&file, &text).unwrap();
        let last = text.lines().last().expect("a summary line");
        sums.push(serde_json::from_str::<Value>(last).unwrap());
        files.push(file.display().to_string());
    }
    (files, sums)
}

fn merged(files: &[String]) -> (i32, Value) {
    let mut args = vec!["merge", "--json"];
    args.extend(files.iter().map(String::as_str));
    let o = fabcheck(&args);
    (
        code(&o),
        serde_json::from_str(stdout(&o).trim()).expect("merge prints JSON"),
    )
}

#[test]
fn merge_folds_clean_shards_into_the_whole_sweep() {
    let dir = tmp("clean");
    let (files, sums) = shards(&dir, &["--scenario", "seed-3302"], "90", 3);
    let (c, m) = merged(&files);
    assert_eq!(c, 0, "{m}");
    assert_eq!(m["runs"], 90);
    let steps: u64 = sums.iter().map(|s| s["steps"].as_u64().unwrap()).sum();
    assert_eq!(m["steps"], steps);
    assert_eq!(m["violations"].as_array().unwrap().len(), 0);
    assert_eq!(m["per_shard"].as_array().unwrap().len(), 3);
    assert_eq!(m["per_shard"][2]["shard"], "2/3");
    for s in &sums {
        for (mark, n) in s["coverage"].as_object().unwrap() {
            assert!(m["coverage"][mark].as_u64().unwrap() >= n.as_u64().unwrap());
        }
    }
    let total: u64 = m["coverage"]["qpair_accepted"].as_u64().unwrap();
    let parts: u64 = sums
        .iter()
        .map(|s| s["coverage"]["qpair_accepted"].as_u64().unwrap())
        .sum();
    assert_eq!(total, parts);
    let o = fabcheck(&["merge", &files[0], &files[1], &files[2]]);
    assert!(stdout(&o).contains("3 shards, 90 runs") && stdout(&o).contains("shard 1/3"));
}

#[test]
fn merge_keeps_every_violation_with_a_seed_string_that_replays() {
    let dir = tmp("bug");
    let extra = [
        "--scenario",
        "seed-3302",
        "--bug",
        "spdk-3302",
        "--shrink-budget",
        "50",
    ];
    let (files, _) = shards(&dir, &extra, "400", 2);
    let (c, m) = merged(&files);
    assert_eq!(c, 1, "{m}");
    let v = m["violations"].as_array().unwrap();
    assert_eq!(v.len(), 2, "each shard stops at its first violation: {m}");
    for x in v {
        let seed = x["seed"].as_str().unwrap();
        assert!(seed.starts_with("fc1:seed-3302@v24.01+spdk-3302:"));
        let o = fabcheck(&["replay", seed]);
        assert_eq!(code(&o), 1);
        assert!(stdout(&o).contains("free_aer"));
    }
}

#[test]
fn merge_refuses_overlapping_unfinished_and_foreign_input() {
    let dir = tmp("bad");
    let (files, _) = shards(&dir, &["--scenario", "seed-3302"], "10", 2);
    let o = fabcheck(&["merge", &files[0], &files[0]]);
    assert_eq!(code(&o), 64);
    assert!(String::from_utf8_lossy(&o.stderr).contains("shards overlap"));
    let cut = dir.join("cut.jsonl");
    let text = std::fs::read_to_string(&files[1]).unwrap();
    std::fs::write(&cut, text.lines().next().unwrap()).unwrap();
    let o = fabcheck(&["merge", &files[0], cut.to_str().unwrap()]);
    assert_eq!(code(&o), 64);
    assert!(String::from_utf8_lossy(&o.stderr).contains("no summary line"));
    let (other, _) = shards(&tmp("bad3"), &["--scenario", "seed-3302"], "10", 3);
    let o = fabcheck(&["merge", &files[0], &other[1]]);
    assert_eq!(code(&o), 64);
    assert!(String::from_utf8_lossy(&o.stderr).contains("not from the same split"));
    let junk = dir.join("junk");
    std::fs::write(&junk, "hello\n").unwrap();
    assert_eq!(code(&fabcheck(&["merge", junk.to_str().unwrap()])), 64);
    assert_eq!(code(&fabcheck(&["merge"])), 64);
}

fn line_after<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no '{prefix}' line in {text}"))
        .trim()
}

/// Replays `file` with `--fuzz-input`, then its printed seed string without the file.
fn fuzz_input_and_seed(file: &str, key: &str, want: i32) -> String {
    let o = fabcheck(&["replay", "--fuzz-input", file, "--scenario", key]);
    assert_eq!(code(&o), want, "{}", String::from_utf8_lossy(&o.stderr));
    let text = stdout(&o);
    let seed = line_after(&text, "seed string:").to_string();
    let again = fabcheck(&["replay", &seed]);
    assert_eq!(code(&again), want);
    assert_eq!(stdout(&again), text.split("seed string:").next().unwrap());
    seed
}

#[test]
fn replay_fuzz_input_prints_a_seed_string_that_replays_without_the_file() {
    let corpus = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fuzz/corpus/sim_choices/seed-churn-1"
    );
    let seed = fuzz_input_and_seed(corpus, "churn", 0);
    assert!(seed.starts_with("fc1:churn@master:"));
    let sc = sim_choices::scenario("seed-3302+spdk-3302").unwrap();
    let data = (0..2000u64)
        .map(|s| {
            let mut r = Random::new(s);
            (0..64)
                .map(|_| {
                    fabcheck_sim::chooser::Chooser::choose(
                        &mut r,
                        fabcheck_sim::chooser::ChoiceKind::Event,
                        256,
                    ) as u8
                })
                .collect::<Vec<u8>>()
        })
        .find(|d| sim_choices::run(&sc, d, false).failure.is_some())
        .expect("random inputs find spdk-3302");
    let file = tmp("fuzz").join("crash-3302");
    std::fs::write(&file, &data).unwrap();
    let seed = fuzz_input_and_seed(file.to_str().unwrap(), "seed-3302+spdk-3302", 1);
    assert!(seed.starts_with("fc1:seed-3302@v24.01+spdk-3302:"));
    let o = fabcheck(&[
        "replay",
        "--fuzz-input",
        file.to_str().unwrap(),
        "--scenario",
        "nope",
    ]);
    assert_eq!(code(&o), 64);
    let o = fabcheck(&[
        "replay",
        "--fuzz-input",
        "/nonexistent",
        "--scenario",
        "churn",
    ]);
    assert_eq!(code(&o), 64);
    assert_eq!(
        code(&fabcheck(&[
            "replay",
            "--fuzz-input",
            file.to_str().unwrap()
        ])),
        64
    );
}
