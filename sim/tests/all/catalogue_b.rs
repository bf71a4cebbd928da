//! Catalogue issue I, helper B's entries: `spdk-3100-early-admin` (`rude-host`), `spdk-2220`
//! (`ka-lapse-reconnect`), `spdk-admin-qpair-gone` (`admin-loss`) and `spdk-2199`
//! (`reset-under-io`, I12). Each is found with its switch on within a stated budget (runs of
//! the scenario's default sweep), its shrunk story names the invariant and the SPDK site, and
//! the scenario is silent with every switch off in both SPDK profiles.

use crate::{hunt, hunt_entry, scenario};
use fabcheck_core::nvmf::{BugId, Spdk};
use fabcheck_sim::shrink::shrink;
use fabcheck_sim::Failure;

/// Finds `bug` on `name` (in the entry's SPDK profile) within `budget` runs (other findings
/// of the switched-on code passed over, as `fabcheck bugs --check` does), shrinks the
/// failure and checks that the shrunk story ends in the entry's invariant at its site.
pub(crate) fn found_and_shrunk(name: &str, bug: BugId, budget: u64) {
    let e = bug.entry();
    let sc = fabcheck_sim::catalogue::entry_world(e, name).unwrap();
    let r = hunt_entry(sc.clone(), bug, budget);
    let found = r
        .failure
        .unwrap_or_else(|| panic!("{} not found on {name} in {} runs", e.name, r.runs));
    let s = shrink(&sc, &found, 3000).expect("shrinks");
    match &s.report.failure {
        Some(Failure::Safety(v)) => {
            assert_eq!(v.invariant, e.invariant, "{name}");
            assert!(
                e.sites().any(|s| s == v.site),
                "{name}: {} is none of the entry's sites",
                v.site
            );
        }
        other => panic!("{}: expected a safety violation, got {other:?}", e.name),
    }
    let story = s.report.trace.as_ref().expect("traced").story();
    let code = format!("{:?}", e.invariant);
    assert!(
        story.contains(&code) && e.sites().any(|s| story.contains(s)),
        "{}: the shrunk story names {code} and {}:\n{story}",
        e.name,
        e.site
    );
}

/// Silent with every switch off in both profiles (FABCHECK_RUNS scales `runs`); the required
/// marks are reached in the scenario's own profile.
pub(crate) fn silent(name: &str, runs: u64) {
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
        if spdk == own {
            assert!(r.missing.is_empty(), "{name} never reached {:?}", r.missing);
        }
        assert!(r.nondeterminism.is_empty(), "{:?}", r.nondeterminism);
    }
}

#[test]
fn spdk_3100_early_admin_found_by_rude_host() {
    found_and_shrunk("rude-host", BugId::Spdk3100EarlyAdmin, 50);
}

#[test]
fn spdk_2220_found_by_ka_lapse_reconnect() {
    found_and_shrunk("ka-lapse-reconnect", BugId::Spdk2220, 2000);
}

#[test]
fn spdk_admin_qpair_gone_found_by_admin_loss() {
    found_and_shrunk("admin-loss", BugId::SpdkAdminQpairGone, 300);
}

#[test]
fn spdk_2199_found_by_reset_under_io() {
    found_and_shrunk("reset-under-io", BugId::Spdk2199, 50);
}

#[test]
fn rude_host_is_silent_with_every_switch_off() {
    silent("rude-host", 100);
}

#[test]
fn ka_lapse_reconnect_is_silent_with_every_switch_off() {
    silent("ka-lapse-reconnect", 100);
}

#[test]
fn admin_loss_is_silent_with_every_switch_off() {
    silent("admin-loss", 100);
}

#[test]
fn reset_under_io_is_silent_with_every_switch_off() {
    silent("reset-under-io", 100);
}

/// The values these scenarios leave to the seed (a `wait`'s jitter, an early admin opcode)
/// replay byte for byte, and different seeds do pick different ones.
#[test]
fn seed_picked_waits_and_opcodes_replay_exactly() {
    use fabcheck_sim::sweep::check_determinism;
    for name in ["ka-lapse-reconnect", "rude-host"] {
        let sc = scenario(name, &[]);
        let mut hashes = std::collections::BTreeSet::new();
        for s in 1..=4u64 {
            let seed: fabcheck_sim::SeedString = format!("fc1:{name}:{:016x}", s * 0x9e37_79b9)
                .parse()
                .unwrap();
            hashes.insert(check_determinism(&sc, &seed).unwrap());
        }
        assert!(hashes.len() > 1, "{name}: every seed ran the same trace");
    }
}
