//! Peers that do anything a real peer can: the built-in sweep reaches every coverage mark, the
//! new peer actions and random actors stay silent on the fixed core and replay by seed.

use fabcheck_core::nvmf::planted::{Plant, Planted};
use fabcheck_core::nvmf::{Mark, Spdk};
use fabcheck_sim::coverage::Coverage;
use fabcheck_sim::run::run;
use fabcheck_sim::scenario::{builtin, builtin_names};
use fabcheck_sim::seed::SeedString;
use fabcheck_sim::sweep::{runs_from_env, sweep, SweepConfig};

/// The built-ins written for full lifecycles and random peers.
const NEW_BUILTINS: &[&str] = &["peer-life", "cc-race", "random-peers"];

/// Whether a violation is only SPDK's lost answer: a request freed or forgotten without an
/// answer while its qpair lives (`request_lost`; docs/spdk-profiles.md, stale
/// `sgroup->queued`), which a random operator reaches by stopping or deleting a subsystem
/// while CONNECTs wait on it. That is SPDK's behaviour (a hazard), not a modelling error.
fn lost_answer_only(violation: &str) -> bool {
    let Some(stuck) = violation.strip_prefix("liveness violation (I8): no quiescence: ") else {
        return false;
    };
    // A lost answer keeps the world from quiescence, so the phase runs to its bound while live
    // hosts keep exchanging keep-alives: bytes in flight then are no finding of their own.
    let lines: Vec<&str> = stuck.split("; ").collect();
    lines.iter().any(|l| l.contains(" never answered ("))
        && lines
            .iter()
            .all(|l| l.contains(" never answered (") || l.contains(" bytes pending to "))
}

/// Sweeps every built-in scenario in both profiles with `runs` runs each; the union of their
/// coverage, every failure found, and the runs that only met SPDK's lost answer.
fn builtin_sweep(runs: u64) -> (Coverage, Vec<String>, usize) {
    let mut all = Coverage::default();
    let (mut failures, mut hazards) = (Vec::new(), 0);
    for name in builtin_names() {
        for p in Spdk::ALL {
            let sc = builtin(name).unwrap().with_spdk(p.name()).unwrap();
            // random-peers' hosts complete an I/O in about 3% of its runs (5 to 7 of 200 per
            // profile, 3 December 2026): its operator may stop a listener, pause, delete or
            // remove a listener at any step, and every listener RPC pauses the subsystem as
            // SPDK's does. Eight times the runs keep its required marks in reach.
            let runs = if name == "random-peers" {
                runs * 8
            } else {
                runs
            };
            let mut cfg = SweepConfig::new(sc, runs);
            cfg.determinism_every = 0;
            cfg.stop_on_failure = false;
            let r = sweep(&cfg, &|_| {});
            for (mark, n) in r.coverage.counts {
                *all.counts.entry(mark).or_default() += n;
            }
            for run in &r.results {
                match (&run.violation, run.hazard) {
                    (Some(_), Some(_)) => hazards += 1,
                    (Some(v), None) => failures.push(format!("{}: {v}", run.seed)),
                    (None, _) => {}
                }
            }
            // The older built-ins' marks are checked by their silent tests (catalogue.rs).
            if NEW_BUILTINS.contains(&name) && !r.missing.is_empty() {
                failures.push(format!(
                    "{name}@{p}: required marks missed: {:?}",
                    r.missing
                ));
            }
        }
    }
    (all, failures, hazards)
}

/// Every mark defined in the code is reached: by the built-in sweep on the fixed core, or, for
/// a mark only an old SPDK path takes (`Mark::requires`), from its catalogue entry's built-in
/// scenarios with that switch on (in the entry's profile).
#[test]
fn the_builtin_sweep_reaches_every_mark_and_is_silent_on_the_fixed_core() {
    let (cov, failures, hazards) = builtin_sweep(runs_from_env(24));
    assert_eq!(failures, Vec::<String>::new());
    println!("runs that met SPDK's lost answer (a hazard): {hazards}");
    let needs_switch: Vec<&str> = Mark::all()
        .iter()
        .filter(|m| m.requires().is_some())
        .map(|m| m.name())
        .collect();
    assert_eq!(cov.unreached(), needs_switch, "marks never reached");
    assert!(cov.reached(Mark::AssociationExpired.name()));
    assert!(cov.reached(Mark::AerOnInactiveQpair.name()));
}

#[test]
fn marks_that_need_a_switch_are_reached_from_its_entrys_scenarios() {
    let mut checked = 0;
    for m in Mark::all() {
        let Some(bug) = m.requires() else { continue };
        let e = bug.entry();
        assert!(!e.scenarios.is_empty(), "{bug:?} has no built-in scenario");
        let mut reached = false;
        for name in e.scenarios {
            let sc = builtin(name)
                .unwrap()
                .with_spdk(e.spdk.name())
                .unwrap()
                .with_bugs(&[e.name.to_string()])
                .unwrap();
            let mut cfg = SweepConfig::new(sc, runs_from_env(24));
            cfg.determinism_every = 0;
            cfg.stop_on_failure = false;
            reached |= sweep(&cfg, &|_| {}).coverage.reached(m.name());
        }
        assert!(reached, "{} not reached with {}", m.name(), e.name);
        checked += 1;
    }
    assert!(checked > 0, "no mark declares a switch");
}

#[test]
fn random_peers_replay_by_seed_and_differ_between_seeds() {
    let sc = builtin("random-peers").unwrap();
    let mut traces = std::collections::BTreeSet::new();
    for seed in 0..6u64 {
        let s = SeedString::new(&sc.key(), seed);
        let a = run(&sc, &s, true);
        let b = run(&sc, &s, true);
        assert_eq!(a.trace_hash(), b.trace_hash(), "{s} replays");
        let first = a.trace.as_ref().unwrap().lines[0].text.clone();
        assert!(
            first.contains(" spdk=") && first.contains(" listeners="),
            "{first}"
        );
        traces.insert(a.trace_hash());
    }
    assert!(traces.len() > 4, "the seed picks the actions");
}

/// Sweeps `sc` with `runs` runs; the failure signature found, if any.
fn hunt(sc: &fabcheck_sim::Scenario, runs: u64) -> Option<String> {
    let mut cfg = SweepConfig::new(sc.clone(), runs);
    cfg.determinism_every = 0;
    let r = sweep(&cfg, &|_| {});
    r.failure.and_then(|f| f.failure).map(|f| f.signature())
}

#[test]
fn a_planted_duplicate_qid_defect_is_found_only_by_peers_that_reuse_a_live_qid() {
    let runs = runs_from_env(200);
    let mut sc = builtin("peer-life").unwrap();
    assert_eq!(hunt(&sc, runs), None, "silent with the defect off");
    assert!(lost_answer_only(
        "liveness violation (I8): no quiescence: request req#0.1 on conn 3 never answered (x)"
    ));
    assert!(!lost_answer_only(
        "liveness violation (I8): no quiescence: request req#0.1 on conn 3 never answered (x); \
         thread pg0 still has messages"
    ));
    assert!(!lost_answer_only(
        "liveness violation (I8): no quiescence: conn 20 has 24 bytes pending to host0"
    ));
    sc.planted = Planted::one(Plant::DupQidAccepted);
    let found = hunt(&sc, runs).expect("the duplicate qid is found from peer-life");
    assert!(found.starts_with("safety I3"), "{found}");
    // Scenarios whose hosts only reconnect (the old qpair already leaving ENABLED) never
    // reach it: the defect needs a host that reuses a live qid.
    for name in ["churn", "ka-lapse-reconnect", "reset-under-io"] {
        let mut other = builtin(name).unwrap();
        other.planted = Planted::one(Plant::DupQidAccepted);
        assert_eq!(hunt(&other, runs), None, "{name} cannot reach it");
    }
}
