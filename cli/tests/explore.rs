//! `fabcheck explore` end to end: verified (0), a violation whose seed string `replay` replays
//! (1), incomplete on a bound (0, says so), a refused switch (64, one line), `--por on`.

mod common;

use common::{fabcheck, text};

#[test]
fn seed_3302_is_verified_on_the_fixed_core() {
    let (code, out, _) = text(&fabcheck(&[
        "explore",
        "--scenario",
        "seed-3302",
        "--threads",
        "2",
    ]));
    assert_eq!(code, 0, "{out}");
    // v24.01 with every switch off parks CONNECTs in sgroup->queued (v24.01.x; the retry
    // poller is catalogue entry spdk-3095).
    assert!(out.contains("states 2742 "), "{out}");
    assert!(out.contains("result: verified"), "{out}");
}

#[test]
fn spdk_3302_violation_prints_a_seed_that_replays() {
    let dir = std::env::temp_dir().join(format!("fabcheck-explore-{}", std::process::id()));
    let out_dir = dir.to_str().unwrap();
    let args = [
        "explore",
        "--scenario",
        "seed-3302",
        "--bug",
        "spdk-3302",
        "--json",
        "--out",
        out_dir,
    ];
    let (code, out, _) = text(&fabcheck(&args));
    assert_eq!(code, 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["result"], "violation");
    assert_eq!(v["length"], 9);
    let seed = v["seed"].as_str().unwrap();
    let (code, _, err) = text(&fabcheck(&["replay", seed]));
    assert_eq!(code, 1, "{err}");
    let (_, out, err) = text(&fabcheck(&["replay", seed]));
    assert!(format!("{out}{err}").contains("free_aer"));
}

#[test]
fn a_bound_is_incomplete_and_refused_switches_are_one_line() {
    let (code, out, _) = text(&fabcheck(&["explore", "--max-states", "50"]));
    assert_eq!(code, 0);
    assert!(out.contains("result: incomplete (state bound"), "{out}");
    let (code, _, err) = text(&fabcheck(&["explore", "--symmetry", "on", "--por", "on"]));
    assert_eq!(code, 64);
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn por_on_explores_depth_first_with_sleep_sets_and_keeps_the_verdict() {
    let args = ["explore", "--scenario", "seed-3302", "--por", "on"];
    let (code, out, err) = text(&fabcheck(&args));
    assert_eq!(code, 0, "{out}");
    assert!(err.contains("dfs with sleep sets"), "{err}");
    assert!(out.contains("states 2742 "), "{out}");
    assert!(out.contains("result: verified"), "{out}");
}

#[test]
fn bench_models_prints_the_explore_and_2pc_rows() {
    let (code, out, err) = text(&fabcheck(&[
        "bench",
        "--models",
        "--rms",
        "3",
        "--threads",
        "1",
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("| seed-3302 | 1 | verified | 2742 | 6334 | 29 |"),
        "{out}"
    );
    assert!(
        out.contains("| seed-3302 +spdk-3302 | 1 | violation, 9 steps |"),
        "{out}"
    );
    assert!(
        out.contains("| 2pc-3 bfs, packed state | 1 | verified | 288 |"),
        "{out}"
    );
    let (code, _, err) = text(&fabcheck(&["bench", "--models", "--rms", "17"]));
    assert_eq!(code, 64, "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn symmetry_on_merges_interchangeable_hosts_and_keeps_the_verdict() {
    let twins = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../models/scenarios/twins-small.toml"
    );
    let run = |sym: &str| {
        let args = ["explore", "--scenario", twins, "--symmetry", sym, "--json"];
        let (code, out, _) = text(&fabcheck(&args));
        assert_eq!(code, 0, "{out}");
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(v["result"], "verified");
        v["states"].as_u64().unwrap()
    };
    assert_eq!((run("off"), run("on")), (641, 325));
}
