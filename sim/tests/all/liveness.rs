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
