//! Determinism: every seed run twice gives the same trace; sweeps give the same results
//! whatever the thread count.

use crate::scenario;
use fabcheck_sim::sweep::{check_determinism, seed_for, sweep, SweepConfig};
use fabcheck_sim::SeedString;

#[test]
fn each_seed_twice_gives_identical_traces() {
    for (name, bugs) in [
        ("seed-3302", &["spdk-3302"][..]),
        ("seed-3302-ctrlr-add-fail", &[][..]),
        ("churn", &[][..]),
    ] {
        let sc = scenario(name, bugs);
        for i in 0..6 {
            let seed = SeedString::new(&sc.key(), seed_for(7, i, None));
            check_determinism(&sc, &seed).unwrap();
        }
    }
}

#[test]
fn sweep_results_do_not_depend_on_the_thread_count() {
    for (sc, stop) in [
        (scenario("churn", &[]), false),
        (scenario("seed-3302", &["spdk-3302"]), true),
    ] {
        let mut cfg = SweepConfig::new(sc, 48);
        cfg.stop_on_failure = stop;
        cfg.determinism_every = 0;
        cfg.jobs = 1;
        let one = sweep(&cfg, &|_| {});
        cfg.jobs = 3;
        let three = sweep(&cfg, &|_| {});
        assert_eq!(one.results, three.results);
        assert_eq!(one.coverage, three.coverage);
        assert_eq!(one.steps, three.steps);
    }
}

#[test]
fn shards_partition_the_sweep() {
    let sc = scenario("seed-3302", &[]);
    let mut cfg = SweepConfig::new(sc, 30);
    cfg.stop_on_failure = false;
    cfg.determinism_every = 0;
    let whole = sweep(&cfg, &|_| {});
    let mut parts = Vec::new();
    for i in 0..3 {
        cfg.shard = format!("{i}/3").parse().unwrap();
        parts.extend(sweep(&cfg, &|_| {}).results);
    }
    parts.sort_by_key(|r| r.index);
    assert_eq!(parts, whole.results);
}
