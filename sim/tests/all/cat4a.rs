//! Catalogue issue II (#12), helper cat4a: S7 (each poll group's data buffers and their wait
//! queue) and `spdk-3627` on the built-in `buffer-starved-teardown` (found with its switch on
//! within a stated budget, the shrunk story names the invariant and one of the entry's sites,
//! silent with every switch off in both SPDK profiles, the window's marks reached in both).

use crate::{hunt, scenario};
use fabcheck_core::nvmf::{BugId, Spdk};
use fabcheck_sim::shrink::shrink;
use fabcheck_sim::Failure;

const NAME: &str = "buffer-starved-teardown";

/// Found within 50 runs (`fabcheck hunt --bug spdk-3627` found it in the first or second run
/// of base seeds 0..7); the shrunk story names I1 and the site.
#[test]
fn spdk_3627_found_by_buffer_starved_teardown() {
    let e = BugId::Spdk3627.entry();
    let sc = scenario(NAME, &[e.name]);
    let r = hunt(sc.clone(), 50);
    let found = r
        .failure
        .unwrap_or_else(|| panic!("{} not found on {NAME} in {} runs", e.name, r.runs));
    let s = shrink(&sc, &found, 3000).expect("shrinks");
    let site = match &s.report.failure {
        Some(Failure::Safety(v)) => {
            assert_eq!(v.invariant, e.invariant, "{v}");
            assert!(e.sites().any(|x| x == v.site), "{v}");
            v.site.clone()
        }
        other => panic!("expected a safety violation, got {other:?}"),
    };
    let story = s.report.trace.as_ref().expect("traced").story();
    let code = format!("{:?}", e.invariant);
    assert!(
        story.contains(&code) && story.contains(&site),
        "the shrunk story names {code} and {site}:\n{story}"
    );
}

/// Silent with every switch off in both profiles; the required marks (`buffer_wait`,
/// `buffer_wait_aborted`, ...) in master, the scenario's profile.
#[test]
fn buffer_starved_teardown_is_silent_with_every_switch_off() {
    crate::catalogue_b::silent(NAME, 150);
}

/// v24.01 reaches the same window (requests wait on `pending_buf_queue` and are unlinked by
/// `nvmf_tcp_cleanup_all_states`), so its silence says something.
#[test]
fn v24_01_waits_for_buffers_and_unlinks_waiters_at_teardown() {
    let sc = scenario(NAME, &[]).with_spdk(Spdk::V24_01.name()).unwrap();
    let r = hunt(sc, 100);
    assert!(
        r.failure.is_none(),
        "{:?}",
        r.failure.map(|f| f.replay_seed())
    );
    for mark in ["buffer_wait", "buffer_wait_aborted"] {
        assert!(r.coverage.reached(mark), "v24.01 never reached {mark}");
    }
}
