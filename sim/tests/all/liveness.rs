//! The liveness phase: with a healing budget the world reaches quiescence; without one it
//! reports a liveness violation naming what is stuck.

use crate::scenario;
use fabcheck_sim::{run, Failure, SeedString};

#[test]
fn an_unhealed_world_is_a_liveness_violation_naming_what_is_stuck() {
    let mut sc = scenario("seed-3302", &[]);
    sc.steps = 4;
    let seed = SeedString::new(&sc.key(), 1);
    assert_eq!(
        run(&sc, &seed, false).failure,
        None,
        "heals with the default bound"
    );
    sc.liveness_steps = 1;
    let r = run(&sc, &seed, true);
    let Some(Failure::Liveness { stuck }) = &r.failure else {
        panic!("expected a liveness violation, got {:?}", r.failure);
    };
    assert!(!stuck.is_empty());
    assert_eq!(r.failure.as_ref().unwrap().exit_code(), 2);
    let story = r.trace.unwrap().story();
    assert!(story.contains("liveness violation (I8)"), "{story}");
}

/// A due poller is not overtaken by later timers. Found by `hunt --spdk v24.01` on churn
/// (18,578 runs, PCT depth 1): host1's I/O CONNECT is parked on v24.01's 100 us retry poller
/// while cnode1 pauses; the resume makes the poller due at 0.0002 s, but the scheduler used to
/// offer a jump to host0's next keep-alive timer (5 s later) while only timers were due, and PCT's
/// fixed priorities took that jump on every step, safety and liveness phase alike: the poller
/// never ran and the CONNECT was reported unanswered (I8). SPDK's reactor runs a timed poller
/// on its thread's next iteration after the deadline, and v24.01's `retry_connect` then answers
/// the CONNECT (`nvmf_ctrlr_cmd_connect` proceeds once the subsystem is ACTIVE).
#[test]
fn a_due_retry_poller_runs_before_time_moves_past_it() {
    let sc = crate::scenario("churn", &[]).with_spdk("v24.01").unwrap();
    let seed: SeedString = "fc1:churn@v24.01:1d2d76861e680b61".parse().unwrap();
    let r = run(&sc, &seed, true);
    let trace = r.trace.as_ref().unwrap();
    let at = |text: &str| {
        trace
            .lines
            .iter()
            .position(|l| l.text == text)
            .unwrap_or_else(|| panic!("no `{text}` in the run; re-pin the seed"))
    };
    let parked = at("connect_parked: conn=5 Pausing");
    let answered = at("connect_responded: qpair conn=5 qid=1");
    assert!(parked < answered);
    assert_eq!(r.failure, None, "{}", trace.story());
}
