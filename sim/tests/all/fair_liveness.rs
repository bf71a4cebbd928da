//! Fair liveness (#10): the liveness phase is judged under a fair schedule. A host that polls
//! CSTS every 10 ms while its controller's reset or shutdown waits for I/O queues (the target's
//! 100 ms CC re-poll, the 10 s CC timeout) must not keep those due pollers from running under
//! PCT's fixed priorities; the fixed core is then never reported stuck.

use crate::scenario;
use fabcheck_sim::strategy::Strategy;
use fabcheck_sim::sweep::{runs_from_env, sweep, SweepConfig};
use fabcheck_sim::Scenario;

/// reset-under-io (v24.01) with a safety phase cut short at `steps`, so in some runs a reset
/// still waits for its I/O queues (the 100 ms CC re-poll) when the liveness phase starts, while
/// its host polls CSTS every 10 ms for up to CAP.TO (15.5 s).
fn polling_hosts_in_liveness(steps: u32) -> Scenario {
    let mut sc = scenario("reset-under-io", &[]);
    sc.steps = steps;
    sc
}

/// Before the due-poller rule (e41674a) the liveness phase offered a jump to the host's next
/// CSTS poll while only timers were due, and PCT (depth 1: fixed priorities) took it on every
/// step when the host outranked the re-poll: 9 of these 200 runs at 160 steps and 2 at 200
/// steps were reported stuck ("ctrlr ... in destruct but never freed", the controller's destruct
/// waiting for the reset the starved re-poll would finish). Verified by putting the old rule
/// back locally with the fairness bound (fair.rs) off; with either the due-poller rule or the
/// fairness bound alone the runs are silent.
#[test]
fn a_host_polling_csts_does_not_starve_due_target_pollers_under_pct() {
    for steps in [160, 200] {
        let mut cfg = SweepConfig::new(polling_hosts_in_liveness(steps), runs_from_env(200));
        cfg.strategy = Some(Strategy::Pct(1));
        let r = sweep(&cfg, &|_| {});
        let failure = r.failure.as_ref().map(|f| (f.seed.to_string(), &f.failure));
        assert_eq!(failure, None, "steps={steps}");
        for mark in ["cc_reset", "cc_repolled", "ctrlr_destroyed"] {
            assert!(
                r.coverage.reached(mark),
                "steps={steps}: never reached {mark}"
            );
        }
    }
}
