//! Hazards (docs/hazards.md): each recorded seed reaches its hazard with every switch off, the
//! hazard scenarios are silent apart from recorded hazards, and the blind spots the hazards'
//! invariants close are proven by planted defects (test-only switches, not catalogue entries)
//! that a sweep of a built-in scenario finds and that are not mistaken for a hazard.

use crate::scenario;
use fabcheck_core::nvmf::planted::{Plant, Planted};
use fabcheck_core::nvmf::{InvariantId, Spdk};
use fabcheck_sim::hazard::{hazard, known, HAZARDS};
use fabcheck_sim::sweep::{runs_from_env, sweep, SweepConfig, SweepReport};
use fabcheck_sim::{run, Failure, Scenario, SeedString};

/// A sweep that keeps going past known hazards.
fn hunt_past_hazards(sc: Scenario, runs: u64) -> SweepReport {
    let mut cfg = SweepConfig::new(sc, runs_from_env(runs));
    cfg.skip_hazards = true;
    sweep(&cfg, &|_| {})
}

#[test]
fn every_recorded_seed_reaches_its_hazard_and_names_its_site() {
    for h in HAZARDS {
        assert!(!h.seeds.is_empty(), "{} records no seed", h.id);
        for s in h.seeds {
            let seed: SeedString = s.parse().unwrap();
            let sc = Scenario::from_key(&seed.scenario, None).unwrap();
            assert!(
                sc.bugs.is_empty(),
                "{}: hazards are reached with every switch off",
                h.id
            );
            assert_eq!(sc.name, h.scenario);
            let r = run(&sc, &seed, true);
            let f = r
                .failure
                .as_ref()
                .unwrap_or_else(|| panic!("{s}: no finding"));
            assert_eq!(known(f, sc.spdk).map(|x| x.id), Some(h.id), "{s}: {f}");
            let story = r.trace.unwrap().story();
            assert!(
                story.contains(h.site),
                "{s}: story lacks {}:\n{story}",
                h.site
            );
        }
    }
}

#[test]
fn subsystem_delete_under_connect_is_silent_apart_from_h1_in_every_profile() {
    for spdk in Spdk::ALL {
        let sc = scenario("subsystem-delete-under-connect", &[])
            .with_spdk(spdk.name())
            .unwrap();
        let r = hunt_past_hazards(sc, 300);
        if let Some(f) = &r.failure {
            panic!(
                "{spdk}: {} ({})",
                f.failure.as_ref().unwrap(),
                f.replay_seed()
            );
        }
        let h = r.hazard.expect("H-1 reached");
        let f = h.failure.as_ref().unwrap();
        assert_eq!(known(f, spdk).unwrap().id, "H-1-queued-connect-orphaned");
        assert!(r.nondeterminism.is_empty(), "{:?}", r.nondeterminism);
    }
}

/// A hazard is matched by invariant and site: the same liveness report with one more stuck
/// line that the hazard does not explain is an ordinary finding.
#[test]
fn a_finding_with_anything_else_stuck_is_not_the_hazard() {
    let h = hazard("H-1-queued-connect-orphaned").unwrap();
    let line = "request req#3.1 on conn 2 never answered (_nvmf_subsystem_destroy)".to_string();
    let only = Failure::Liveness {
        stuck: vec![line.clone()],
    };
    assert!(h.matches(&only, Spdk::Master));
    let more = Failure::Liveness {
        stuck: vec![line, "pause of subsys#0.0 never finished".to_string()],
    };
    assert!(!h.matches(&more, Spdk::Master));
    assert!(known(&more, Spdk::Master).is_none());
}

fn planted(name: &str, defect: Plant) -> Scenario {
    let mut sc = scenario(name, &[]);
    sc.planted = Planted::one(defect);
    sc
}

/// The violation a planted defect must produce: found, at `site`, and not a known hazard.
fn assert_planted_found(sc: Scenario, invariant: InvariantId, site: &str, runs: u64) {
    let r = hunt_past_hazards(sc.clone(), runs);
    let f = r
        .failure
        .unwrap_or_else(|| panic!("planted defect not found in {} runs", r.runs));
    match f.failure.as_ref().unwrap() {
        Failure::Safety(v) => assert_eq!((v.invariant, v.site.as_str()), (invariant, site), "{v}"),
        other => panic!("expected {invariant:?} at {site}, got {other}"),
    }
    assert!(known(f.failure.as_ref().unwrap(), sc.spdk).is_none());
}

/// Blind spot "listeners are objects": a listener freed while reference-form qpairs use it.
#[test]
fn planted_early_listener_free_is_found_in_listener_lifetime() {
    let defect = Plant::ListenerFreedEarly;
    let sc = planted("listener-lifetime", defect);
    assert_planted_found(
        sc,
        InvariantId::I14,
        "spdk_nvmf_transport_stop_listen_async",
        500,
    );
}

/// Blind spot "the stop-listen contract": the walk that disconnects only what matched at the
/// call; I9 cannot see it (it checks the same set).
#[test]
fn planted_stop_listen_snapshot_is_found_in_listener_lifetime() {
    let defect = Plant::StopListenSnapshot;
    let sc = planted("listener-lifetime", defect);
    let site = "nvmf_stop_listen_disconnect_qpairs";
    assert_planted_found(sc, InvariantId::I13, site, 2000);
}

/// With every switch off the listener scenarios report nothing but recorded hazards, and
/// reach their marks.
#[test]
fn listener_scenarios_are_silent_apart_from_hazards() {
    for name in ["listener-lifetime", "listener-churn", "seed-3302"] {
        let r = hunt_past_hazards(scenario(name, &[]), 300);
        if let Some(f) = &r.failure {
            panic!(
                "{name}: {} ({})",
                f.failure.as_ref().unwrap(),
                f.replay_seed()
            );
        }
        assert!(r.missing.is_empty(), "{name} never reached {:?}", r.missing);
        assert!(r.nondeterminism.is_empty(), "{:?}", r.nondeterminism);
    }
}
