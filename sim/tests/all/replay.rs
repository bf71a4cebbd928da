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

#[test]
fn a_run_exported_as_a_recording_replays_to_the_same_violation() {
    let (sc, found) = find_3302("seed-3302-ctrlr-add-fail");
    let traced = run(&sc, &found.seed, true);
    let Some(fabcheck_sim::Failure::Safety(v)) = &traced.failure else {
        panic!("expected a safety violation");
    };
    let rec = fabcheck_sim::recording::to_json_lines(traced.recording.as_ref().unwrap());
    let out = fabcheck_sim::recording::replay_recording(&rec).unwrap();
    assert_eq!(out.violation.as_ref(), Some(v));
    let fixed = run(
        &sc.clone().fixed(),
        &found
            .seed
            .with_choices(fabcheck_sim::chooser::canonical(&found.record)),
        true,
    );
    let rec = fabcheck_sim::recording::to_json_lines(fixed.recording.as_ref().unwrap());
    assert_eq!(
        fabcheck_sim::recording::replay_recording(&rec)
            .unwrap()
            .violation,
        None
    );
}
