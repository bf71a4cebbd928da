//! Catalogue issue I (stop-listen, CONNECT parking, subsystem delete, monitoring): each entry
//! is found by the simulator from its built-in scenario with the switch on within a stated
//! budget, its shrunk story names the invariant and the SPDK site, and the same scenario is
//! silent with the switch off in both profiles.

use crate::{hunt, scenario};
use fabcheck_core::nvmf::{BugId, Spdk};
use fabcheck_sim::shrink::shrink;
use fabcheck_sim::sweep::{runs_from_env, sweep, SweepConfig};
use fabcheck_sim::Failure;

/// Runs each of the switch-off sweeps spends per profile (scaled by FABCHECK_RUNS).
const SILENT_RUNS: u64 = 150;

/// Found within `budget` runs, breaking the entry's invariant at its site; the shrunk story
/// names both; `SILENT_RUNS` with every switch off stay clean in both profiles.
fn found_shrunk_and_silent(bug: BugId, name: &str, budget: u64) {
    let e = bug.entry();
    let sc = scenario(name, &[e.name]);
    let r = hunt(sc.clone(), budget);
    let f = r
        .failure
        .unwrap_or_else(|| panic!("{}: not found on {name} in {} runs", e.name, r.runs));
    match &f.failure {
        Some(Failure::Safety(v)) => {
            assert_eq!((v.invariant, v.site.as_str()), (e.invariant, e.site), "{v}")
        }
        other => panic!(
            "{}: expected {:?} at {}, got {other:?}",
            e.name, e.invariant, e.site
        ),
    }
    let s = shrink(&sc, &f, 5000).expect("a failing run shrinks");
    let story = s.report.trace.expect("shrunk runs are traced").story();
    let code = format!("{:?} at {}", e.invariant, e.site);
    assert!(
        story.contains(&code),
        "shrunk story lacks '{code}':\n{story}"
    );
    for spdk in Spdk::ALL {
        let off = scenario(name, &[]).with_spdk(spdk.name()).unwrap();
        let r = hunt(off, SILENT_RUNS);
        if let Some(f) = &r.failure {
            panic!(
                "{name}@{spdk} with every switch off failed: {} ({})",
                f.failure.as_ref().unwrap(),
                f.replay_seed()
            );
        }
        assert!(r.nondeterminism.is_empty(), "{:?}", r.nondeterminism);
        if spdk == e.spdk {
            assert!(r.missing.is_empty(), "{name} never reached {:?}", r.missing);
        }
    }
}

#[test]
fn spdk_2299_null_found_in_listener_churn() {
    found_shrunk_and_silent(BugId::Spdk2299Null, "listener-churn", 500);
}

#[test]
fn spdk_2299_precision_found_in_listener_churn() {
    found_shrunk_and_silent(BugId::Spdk2299Precision, "listener-churn", 500);
}

#[test]
fn spdk_3095_found_in_long_pause() {
    found_shrunk_and_silent(BugId::Spdk3095, "long-pause", 500);
}

fn delete_under_connect(bugs: &[&str], spdk: Spdk) -> fabcheck_sim::Scenario {
    let bugs: Vec<String> = bugs.iter().map(|b| b.to_string()).collect();
    fabcheck_sim::Scenario::resolve("subsystem-delete-under-connect")
        .unwrap()
        .with_bugs(&bugs)
        .unwrap()
        .with_spdk(spdk.name())
        .unwrap()
}

/// `spdk-3100-deleted` lives on v24.01's retry poller (`requires` spdk-3095): found with the
/// switch on; with only its fix applied (v24.01 as released plus e1602892a1) the parked
/// CONNECT is answered "subsystem not found" and no run breaks a safety invariant (runs may
/// still end in the unanswered-queued-CONNECT liveness finding below: a CONNECT that arrives
/// once the sgroup is already PAUSED is queued by `nvmf_check_subsystem_active` in v24.01 too).
#[test]
fn spdk_3100_deleted_found_in_subsystem_delete_under_connect() {
    let e = BugId::Spdk3100Deleted.entry();
    let sc = delete_under_connect(&["spdk-3100-deleted"], Spdk::V24_01);
    let f = hunt(sc.clone(), 500)
        .failure
        .expect("found within 500 runs");
    match &f.failure {
        Some(Failure::Safety(v)) => {
            assert_eq!((v.invariant, v.site.as_str()), (e.invariant, e.site))
        }
        other => panic!("expected I1 at retry_connect, got {other:?}"),
    }
    let story = shrink(&sc, &f, 5000).unwrap().report.trace.unwrap().story();
    assert!(story.contains("I1 at retry_connect"), "{story}");
    let fixed = delete_under_connect(&["spdk-3095"], Spdk::V24_01);
    let mut cfg = SweepConfig::new(fixed, runs_from_env(SILENT_RUNS));
    cfg.stop_on_failure = false;
    let r = sweep(&cfg, &|_| {});
    let safety: Vec<_> = r.results.iter().filter(|x| x.result == "safety").collect();
    assert!(safety.is_empty(), "{safety:?}");
    assert!(r.missing.is_empty(), "never reached {:?}", r.missing);
}

/// With every switch off (queue parking, v24.01.x and master) a CONNECT parked while the
/// subsystem is paused or stopping is left on `sgroup->queued` by the delete and never
/// answered. SPDK does this (nvmf.c frees such leftovers only when the id is reused, without
/// answering); the host's own CONNECT timeout is its only way out. Pinned here as a finding
/// and recorded as hazard H-1 (docs/hazards.md), which sweeps then skip.
#[test]
fn delete_under_connect_finds_the_unanswered_queued_connect_with_every_switch_off() {
    for spdk in Spdk::ALL {
        let r = hunt(delete_under_connect(&[], spdk), 500);
        assert!(r.failure.is_none(), "{spdk}: only the hazard");
        let f = r
            .hazard
            .unwrap_or_else(|| panic!("{spdk}: not reached in {} runs", r.runs));
        match &f.failure {
            Some(Failure::Liveness { stuck }) => assert!(
                // Left on the freed id's sgroup by the destroy, or dropped by the re-created
                // subsystem that takes the same id (S8).
                stuck.iter().any(|l| {
                    l.contains("never answered (_nvmf_subsystem_destroy)")
                        || l.contains("never answered (nvmf_poll_group_add_subsystem)")
                }),
                "{spdk}: {stuck:?}"
            ),
            other => panic!("{spdk}: expected the unanswered CONNECT, got {other:?}"),
        }
    }
}

#[test]
fn spdk_3391_found_in_monitoring() {
    found_shrunk_and_silent(BugId::Spdk3391, "monitoring", 500);
}

/// `requires`: switching an entry on brings the entries its windows need.
#[test]
fn required_entries_come_along() {
    let on = scenario("seed-3302", &["spdk-3302"]).bug_set();
    assert!(
        on.has(BugId::Spdk3095),
        "3302 window (a) needs retry parking"
    );
    assert_eq!(
        on.names(),
        vec!["spdk-3302"],
        "the key names only what was asked"
    );
    assert!(!scenario("seed-3302", &[]).bug_set().has(BugId::Spdk3095));
}
