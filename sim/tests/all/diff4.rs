//! Findings of the differential replay on real SPDK that were the simulator's (diff4).

use fabcheck_sim::{run, Failure, Scenario, SeedString};

/// A connection reset injected at the end of the safety phase that crashes the target by
/// itself (here: a host close reaching `nvmf_qpair_free_aer` with no controller, #3302) is
/// the run's finding. It used to be hidden behind the liveness report, because no step
/// followed to check it; real v24.01 crashes on this story at `nvmf_qpair_free_aer`.
#[test]
fn a_crash_caused_by_an_injected_fault_is_reported_as_the_safety_violation() {
    let seed: SeedString = "fc1:churn@v24.01+spdk-3302+spdk-3738+spdk-3095+spdk-3391+spdk-admin-qpair-gone:00000000000000a7"
        .parse()
        .unwrap();
    let sc = Scenario::from_key(&seed.scenario, None).unwrap();
    let r = run(&sc, &seed, false);
    match r.failure {
        Some(Failure::Safety(v)) => assert_eq!(v.site, "free_aer", "{v:?}"),
        other => panic!("expected I1 at free_aer, got {other:?}"),
    }
}
