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

/// Swarm shape: a churn run's header shows the shape its seed picked within the scenario's
/// bounds, a replay of its seed string (with the choice list) gives the same shape and the same
/// trace, and a handful of seeds already run more than one shape.
#[test]
fn churn_seeds_pick_their_shape_and_replay_it() {
    let sc = scenario("churn", &[]);
    let bounds = sc.shape.clone().expect("churn has shape bounds").describe();
    let mut shapes = std::collections::BTreeSet::new();
    for i in 0..8 {
        let seed = SeedString::new(&sc.key(), seed_for(11, i, None));
        let shaped = sc.shaped(seed.seed);
        let r = fabcheck_sim::run(&sc, &seed, true);
        let header = format!(
            "poll_groups={} hosts={} ",
            shaped.poll_groups,
            shaped.hosts.len()
        );
        assert!(r.params.contains(&header), "{}", r.params);
        assert!(r.params.ends_with(&bounds), "{}", r.params);
        let again = fabcheck_sim::run(&sc, &r.replay_seed(), true);
        let shape_part = |p: &str| p.split_once(" parking=").map(|(_, t)| t.to_string());
        assert_eq!(shape_part(&again.params), shape_part(&r.params));
        let body = |r: &fabcheck_sim::RunReport| {
            let text = r.trace.as_ref().unwrap().human();
            text.lines().skip(1).collect::<Vec<_>>().join("\n")
        };
        assert_eq!(body(&again), body(&r), "{}", r.seed);
        shapes.insert(header);
    }
    assert!(shapes.len() > 1, "eight seeds, one shape: {shapes:?}");
}
