//! Replay round trips: the printed seed strings (as found, and shrunk) replay to the same trace
//! hash and the same violation text. Never ignored.

use crate::find_3302;
use fabcheck_sim::shrink::shrink;
use fabcheck_sim::{run, SeedString};

#[test]
fn printed_seed_strings_replay_to_the_same_trace_and_violation() {
    let (sc, found) = find_3302("seed-3302");
    let text = found.failure.as_ref().unwrap().to_string();
    let printed = found.seed.to_string();
    let seed: SeedString = printed.parse().unwrap();
    let a = run(&sc, &seed, true);
    let b = run(&sc, &seed, true);
    assert_eq!(a.failure.as_ref().unwrap().to_string(), text);
    assert_eq!(a.trace_hash(), b.trace_hash());
    assert_eq!(a.record, found.record);

    let replay: SeedString = found.replay_seed().to_string().parse().unwrap();
    let c = run(&sc, &replay, true);
    assert_eq!(c.failure.as_ref().unwrap().to_string(), text);
    assert_eq!(
        c.trace.as_ref().unwrap().lines[1..],
        a.trace.as_ref().unwrap().lines[1..]
    );

    let s = shrink(&sc, &found, 5000).unwrap();
    let again: SeedString = s.seed.to_string().parse().unwrap();
    let d = run(&sc, &again, true);
    assert_eq!(d.trace_hash(), s.report.trace_hash());
    assert_eq!(d.failure, s.report.failure);
    assert_eq!(
        d.failure.unwrap().signature(),
        found.failure.unwrap().signature()
    );
}
