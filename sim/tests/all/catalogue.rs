//! Each catalogue bug is found with its switch on (within the default budget) and the
//! scenarios are silent with every switch off; silent sweeps must reach their required marks.

use crate::{find, find_3302, hunt, scenario};
use fabcheck_core::nvmf::{InvariantId, Spdk};
use fabcheck_sim::Failure;

fn assert_found_at_free_aer(name: &str) {
    let (_, f) = find_3302(name);
    match f.failure {
        Some(Failure::Safety(v)) => {
            assert_eq!(v.invariant, InvariantId::I1);
            assert_eq!(v.site, "free_aer");
            assert!(v.handles.iter().any(|h| h.contains("NULL")), "{v}");
        }
        other => panic!("{name}: expected I1 at free_aer, got {other:?}"),
    }
}

/// Every entry of the core's catalogue is found in every scenario it lists, breaking the
/// invariant at one of the sites the entry names (a new entry is tested without a new test).
#[test]
fn every_catalogue_bug_is_found_in_each_of_its_scenarios() {
    for e in fabcheck_core::nvmf::catalogue() {
        for name in e.scenarios {
            let (_, f) = find(name, e.name);
            match f.failure {
                // One of the entry's sites (as `bugs --check` accepts them).
                Some(Failure::Safety(v)) => {
                    assert_eq!(v.invariant, e.invariant, "{name}: {v}");
                    assert!(e.sites().any(|s| s == v.site), "{name}: {v}");
                }
                other => panic!(
                    "{}: {name}: expected {:?} at {}, got {other:?}",
                    e.name, e.invariant, e.site
                ),
            }
        }
    }
}

#[test]
fn spdk_3302_found_in_the_retry_parking_window() {
    assert_found_at_free_aer("seed-3302");
}

#[test]
fn spdk_3302_found_in_the_ctrlr_add_fail_window() {
    assert_found_at_free_aer("seed-3302-ctrlr-add-fail");
}

/// Silent in both SPDK profiles; the scenario's own profile must reach its required marks.
fn assert_silent(name: &str, runs: u64) {
    let own = scenario(name, &[]).spdk;
    for spdk in Spdk::ALL {
        let sc = scenario(name, &[]).with_spdk(spdk.name()).unwrap();
        let r = hunt(sc, runs);
        if let Some(f) = &r.failure {
            panic!(
                "{name}@{spdk} fixed core failed: {} ({})",
                f.failure.as_ref().unwrap(),
                f.replay_seed()
            );
        }
        assert_eq!(r.runs, fabcheck_sim::sweep::runs_from_env(runs));
        if spdk == own {
            assert!(r.missing.is_empty(), "{name} never reached {:?}", r.missing);
        }
        assert!(r.nondeterminism.is_empty(), "{:?}", r.nondeterminism);
    }
}

#[test]
fn seed_3302_is_silent_with_every_switch_off() {
    assert_silent("seed-3302", 300);
}

#[test]
fn ctrlr_add_fail_is_silent_with_every_switch_off() {
    assert_silent("seed-3302-ctrlr-add-fail", 200);
}

#[test]
fn churn_is_silent_with_every_switch_off() {
    assert_silent("churn", 300);
}

#[test]
fn a_sweep_that_misses_a_required_mark_fails() {
    let mut sc = scenario("seed-3302", &[]);
    sc.required_marks.push("target_shutdown_done".into());
    let r = hunt(sc, 20);
    assert_eq!(r.missing, vec!["target_shutdown_done".to_string()]);
}

/// Regression: a sweep of the fixed core once reported `I10 illegal sgroup state` here (v24.01
/// as released, i.e. with the retry parking of `spdk-3095`). In retry mode, v24.01's `retry_connect` re-admits a CONNECT parked during a pause as soon as the
/// subsystem is RESUMING, while this poll group's sgroup is still PAUSED; SPDK does exactly that
/// and nothing breaks. The run must pass that window (the CONNECT is re-admitted before the
/// resume reaches pg0) and stay clean (apart from recorded hazards: the host connects after
/// stop_listen visited its group, hazard H-2).
#[test]
fn retry_connect_readmitted_while_resuming_is_not_a_violation() {
    let sc = crate::scenario("seed-3302", &["spdk-3095"]);
    let seed: fabcheck_sim::SeedString =
        "fc1:seed-3302@v24.01+spdk-3095:0264eed14b01c726:0.0.0.0.0.0.2.1.1.1.1.0.1.1.1.0.0.0.0.1"
            .parse()
            .unwrap();
    let report = fabcheck_sim::run(&sc, &seed, true);
    let lines = report.trace.as_ref().unwrap().human();
    assert!(lines.contains("connect_parked_while_pausing"), "{lines}");
    assert!(lines.contains("fires ConnectRetry"), "{lines}");
    let clean = report
        .failure
        .as_ref()
        .is_none_or(|f| fabcheck_sim::hazard::known(f, sc.spdk).is_some());
    assert!(clean, "{:?}\n{lines}", report.failure);
}
