//! Fair liveness (#10): the liveness phase is judged under a fair schedule. A host that polls
//! CSTS every 10 ms while its controller's reset or shutdown waits for I/O queues (the target's
//! 100 ms CC re-poll, the 10 s CC timeout) must not keep those due pollers from running under
//! PCT's fixed priorities; the fixed core is then never reported stuck.

use crate::scenario;
use fabcheck_sim::strategy::Strategy;
use fabcheck_sim::sweep::{runs_from_env, sweep, SweepConfig};
use fabcheck_sim::Scenario;

/// reset-under-io (v24.01) with a short safety phase, so the resets and shutdowns are still
/// waiting for their I/O queues when the liveness phase starts, while the hosts poll CSTS.
fn polling_hosts_in_liveness() -> Scenario {
    let mut sc = scenario("reset-under-io", &[]);
    sc.steps = 90;
    sc
}

#[test]
fn a_host_polling_csts_does_not_starve_due_target_pollers_under_pct() {
    for depth in [1, 2] {
        let mut cfg = SweepConfig::new(polling_hosts_in_liveness(), runs_from_env(150));
        cfg.strategy = Some(Strategy::Pct(depth));
        let r = sweep(&cfg, &|_| {});
        let failure = r.failure.as_ref().map(|f| (f.seed.to_string(), &f.failure));
        assert_eq!(failure, None, "pct:{depth}");
        for mark in ["cc_reset", "cc_shutdown", "cc_repolled"] {
            assert!(r.coverage.reached(mark), "pct:{depth} never reached {mark}");
        }
    }
}
