//! Shrinking: the shrunk spdk-3302 story is pinned by an insta snapshot (with its trace hash),
//! and it is 1-minimal: removing any single remaining choice, operator action or host step
//! loses the failure.

use crate::find_3302;
use fabcheck_sim::chooser::{canonical, ChoiceKind};
use fabcheck_sim::run;
use fabcheck_sim::shrink::shrink;

#[test]
fn shrunk_spdk_3302_story_snapshot() {
    let (sc, found) = find_3302("seed-3302");
    let s = shrink(&sc, &found, 5000).unwrap();
    assert!(s.minimal, "fixpoint within the budget");
    let t = s.report.trace.as_ref().unwrap();
    let text = format!(
        "found: {}\nshrunk: {}\ntrace hash: {:016x}\n\n{}",
        found.seed,
        s.seed,
        t.hash(),
        t.story()
    );
    insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("spdk_3302_shrunk_story", text);
    });
}

#[test]
fn shrunk_trace_is_one_minimal() {
    for name in ["seed-3302", "seed-3302-ctrlr-add-fail"] {
        let (sc, found) = find_3302(name);
        let sig = found.failure.as_ref().unwrap().signature();
        let s = shrink(&sc, &found, 5000).unwrap();
        let picks = canonical(&s.report.record);
        let drops = s
            .report
            .record
            .iter()
            .filter(|c| c.kind == ChoiceKind::Drop)
            .count();
        let fails = |p: Vec<u32>| {
            let r = run(&sc, &s.seed.with_choices(p), false);
            r.failure.is_some_and(|f| f.signature() == sig)
        };
        assert!(fails(picks.clone()));
        for i in drops..picks.len() {
            let mut p = picks.clone();
            p.remove(i);
            assert!(
                !fails(p),
                "{name}: removing step {i} of {} still fails",
                s.seed
            );
        }
        for i in 0..drops {
            if picks.get(i).copied().unwrap_or(0) == 0 {
                let mut p = picks.clone();
                p.resize(p.len().max(i + 1), 0);
                p[i] = 1;
                assert!(
                    !fails(p),
                    "{name}: dropping item {i} of {} still fails",
                    s.seed
                );
            }
        }
    }
}
