//! Catalogue issue II (#12), helper cat3c: `spdk-3738` on the built-in `namespace-churn`
//! (found with its switch on within a stated budget, the shrunk story names the invariant and
//! one of the entry's sites, silent with every switch off in both SPDK profiles).

use crate::{hunt, scenario};
use fabcheck_core::nvmf::BugId;
use fabcheck_sim::shrink::shrink;
use fabcheck_sim::Failure;

/// Finds `bug` on `name` within `budget` runs (the scenario's own profile), shrinks it, and
/// checks that the shrunk story ends in the entry's invariant at one of its sites.
fn found_at_a_site(name: &str, bug: BugId, budget: u64) {
    let e = bug.entry();
    let sc = scenario(name, &[e.name]);
    let r = hunt(sc.clone(), budget);
    let found = r
        .failure
        .unwrap_or_else(|| panic!("{} not found on {name} in {} runs", e.name, r.runs));
    let s = shrink(&sc, &found, 3000).expect("shrinks");
    let site = match &s.report.failure {
        Some(Failure::Safety(v)) => {
            assert_eq!(v.invariant, e.invariant, "{name}: {v}");
            assert!(e.sites().any(|x| x == v.site), "{name}: {v}");
            v.site.clone()
        }
        other => panic!("{}: expected a safety violation, got {other:?}", e.name),
    };
    let story = s.report.trace.as_ref().expect("traced").story();
    let code = format!("{:?}", e.invariant);
    assert!(
        story.contains(&code) && story.contains(&site),
        "{}: the shrunk story names {code} and {site}:\n{story}",
        e.name
    );
}

#[test]
fn spdk_3738_found_by_namespace_churn() {
    found_at_a_site("namespace-churn", BugId::Spdk3738, 300);
}

#[test]
fn namespace_churn_is_silent_with_every_switch_off() {
    crate::catalogue_b::silent("namespace-churn", 150);
}
