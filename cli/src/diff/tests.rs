use super::real_spdk::{column, real_spdk_check, real_spdk_check_with, RealSpdk};
use super::{find_harness, log, seed_for, Summary};
use fabcheck_core::nvmf::catalogue::BugId;
use std::path::Path;

#[test]
fn seed_strings_carry_profile_and_bugs() {
    assert_eq!(seed_for("churn", "master", 10), "fc1:churn@master:a");
    assert_eq!(
        seed_for("seed-3302+spdk-3302", "v24.01", 1),
        "fc1:seed-3302@v24.01+spdk-3302:1"
    );
}

#[test]
fn v24_01_ships_spdk_3302_and_master_ships_no_catalogue_bug() {
    let v24_01 = super::shipped_bugs("v24.01");
    assert!(v24_01.contains(&"spdk-3302"));
    assert!(
        v24_01.contains(&"spdk-3095"),
        "v24.01's retry parking shipped"
    );
    assert!(
        !v24_01.contains(&"spdk-2299-null"),
        "a re-introduced bug never shipped in v24.01"
    );
    assert!(super::shipped_bugs("master").is_empty());
}

#[test]
fn a_missing_harness_says_how_to_build_it() {
    let e = find_harness("master", Some(Path::new("/nonexistent/fabcheck-diff"))).unwrap_err();
    assert!(e.contains("not built"), "{e}");
    assert!(e.contains("differential/build.sh master"), "{e}");
}

#[test]
fn the_summary_counts_agreement_and_names_the_first_story_of_each_kind() {
    let text = "story a\nseed S1\nmodel result: clean\nverdict a: QUIESCENT\n\
                story b\nseed S2\nmodel result: clean\nstep 3 @0us: run\n  \
                DIVERGENCE step 3: model runs f, SPDK's head message is g [x.c]\nverdict b: DIVERGED\n\
                story c\nseed S3\nmodel result: clean\nstep 9 @0us: run\n  \
                DIVERGENCE step 9: model runs f, SPDK's head message is g [x.c]\nverdict c: DIVERGED\n";
    let s = Summary::of(&log::parse(text));
    assert_eq!((s.stories, s.replayed, s.agree), (3, 3, 1));
    let r = s.render("churn@master", "master");
    assert!(
        r.starts_with("churn@master on SPDK master: 3 stories, 0 unsupported, 1/3 agree (33.3%)"),
        "{r}"
    );
    assert!(
        r.contains("    2 x message: model runs f, SPDK's head message is g [x.c]"),
        "{r}"
    );
    assert!(r.contains("first: S2 (step 3)"), "{r}");
}

#[test]
fn the_column_needs_a_crash_before_the_fix_and_quiescence_after() {
    assert_eq!(
        column("v24.01", "CRASH", "v24.05", "QUIESCENT"),
        RealSpdk::Confirmed {
            buggy: "v24.01".into(),
            fixed: "v24.05".into()
        }
    );
    assert!(matches!(
        column("v24.01", "QUIESCENT", "v24.05", "QUIESCENT"),
        RealSpdk::Refuted { .. }
    ));
    assert!(matches!(
        column("v24.01", "CRASH", "v24.05", "CRASH"),
        RealSpdk::Refuted { .. }
    ));
    assert!(matches!(
        column("v24.01", "UNSUPPORTED", "v24.05", "QUIESCENT"),
        RealSpdk::Unavailable(_)
    ));
    assert!(matches!(
        column("v24.01", "DIVERGED", "v24.05", "QUIESCENT"),
        RealSpdk::Unavailable(m) if m.contains("diverge on v24.01")
    ));
}

#[test]
fn a_tag_without_snapshot_or_harness_is_unavailable() {
    let e = BugId::Spdk3302.entry();
    let r = real_spdk_check_with(e, "fc1:seed-3302+spdk-3302:1", |t| {
        find_harness(t, Some(Path::new("/nonexistent")))
    });
    assert!(
        matches!(&r, RealSpdk::Unavailable(m) if m.contains("not built")),
        "{r}"
    );
    let later = fabcheck_core::nvmf::catalogue::catalogue()
        .iter()
        .find(|e| {
            !super::real_spdk::BUILDABLE_TAGS.contains(&e.last_buggy)
                && !e.profile_note.starts_with("native")
        });
    if let Some(e) = later {
        let r = real_spdk_check(e, "fc1:churn:1");
        assert!(
            matches!(&r, RealSpdk::Unavailable(m) if m.contains("snapshot")),
            "{r}"
        );
    }
}

/// With the v24.01 and v24.05 harnesses built (`differential/build.sh`), the shrunk spdk-3302
/// window-a story crashes v24.01 and is silent on v24.05; without them the test checks the
/// message and says it did not replay.
#[test]
fn spdk_3302_window_a_is_confirmed_on_real_spdk_when_the_harness_is_built() {
    const WINDOW_A: &str = "fc1:seed-3302+spdk-3302:14e3d14bf9586e0f:0.0.1.0.0.0.0.0.0.0.0.1.1";
    let e = BugId::Spdk3302.entry();
    let r = real_spdk_check(e, WINDOW_A);
    if find_harness("v24.01", None).is_err() || find_harness("v24.05", None).is_err() {
        eprintln!("harness not built: real-SPDK replay skipped");
        assert!(matches!(r, RealSpdk::Unavailable(_)), "{r}");
        return;
    }
    assert_eq!(r.to_string(), "confirmed: crashes v24.01, silent on v24.05");
}

#[test]
fn a_contract_breach_agrees_with_a_quiescent_spdk_and_a_crash_does_not() {
    let text = "story a\nseed S1\nmodel result: violation I13 nvmf_stop_listen_fini\n\
                verdict a: QUIESCENT\n\
                story b\nseed S2\nmodel result: violation I1 free_aer\nverdict b: QUIESCENT\n";
    let outcomes = log::parse(text);
    assert!(outcomes[0].agrees(), "{:?}", outcomes[0]);
    assert!(!outcomes[1].agrees(), "{:?}", outcomes[1]);
}

/// A fix released after v24.05 and up to v26.05 is checked on the pinned master, which follows
/// v26.05; a snapshot tag stands for itself; a later or unknown tag has no build.
#[test]
fn the_fixed_side_uses_the_pinned_master_for_releases_it_follows() {
    use super::real_spdk::fixed_build;
    assert_eq!(fixed_build("v24.05"), Some("v24.05"));
    assert_eq!(fixed_build("v25.05"), Some("master"));
    assert_eq!(fixed_build("v26.05"), Some("master"));
    assert_eq!(fixed_build("master"), Some("master"));
    assert_eq!(fixed_build("v26.09"), None);
    assert_eq!(fixed_build(""), None);
}

/// The buggy side is the last buggy tag when it has a snapshot, else the entry's own profile
/// when the bug is native to it and that profile is not also the fixed side; a re-introduced
/// bug whose tag has no snapshot has no build.
#[test]
fn the_buggy_side_falls_back_to_the_profile_that_ships_a_native_bug() {
    use super::real_spdk::buggy_build;
    assert_eq!(buggy_build(BugId::Spdk3302.entry()), Some("v24.01"));
    // #3391 lived until v25.01 (no snapshot) and is native to the v24.01 profile.
    assert_eq!(buggy_build(BugId::Spdk3391.entry()), Some("v24.01"));
    // Native to the master profile, whose fixed side is master itself: nothing to compare.
    assert_eq!(buggy_build(BugId::SpdkAerInactiveQpair.entry()), None);
    // Re-introduced (lived up to v23.01): no snapshot, not native.
    assert_eq!(buggy_build(BugId::Spdk2299Precision.entry()), None);
}

/// Only memory errors (what ASAN reports) are expected to crash real SPDK; a liveness or a
/// counter contract is not.
#[test]
fn only_memory_error_invariants_expect_a_crash() {
    use super::real_spdk::is_crash;
    assert!(is_crash(BugId::Spdk3302.entry().invariant));
    assert!(!is_crash(BugId::Spdk3095.entry().invariant));
    assert!(!is_crash(BugId::Spdk3738.entry().invariant));
    let r = RealSpdk::NoCrashExpected {
        invariant: "L1".into(),
        buggy: "v24.01 QUIESCENT".into(),
        fixed: "v24.05 QUIESCENT".into(),
    };
    assert_eq!(
        r.to_string(),
        "no crash expected (L1): v24.01 QUIESCENT, v24.05 QUIESCENT"
    );
}

#[test]
fn a_shutdown_story_agrees_when_spdk_loses_the_message_or_leaks_what_the_model_says() {
    let text = "story a\nseed S1\nmodel result: violation I15 nvmf_ctrlr_destruct\n\
                verdict a: LOST-MESSAGE\n\
                story b\nseed S2\nmodel result: failure liveness I8: subsystem nqn.-.io.spdk:cnode survives target shutdown in state active (spdk_nvmf_subsystem_destroy)\n\
                verdict b: LEAKED\n\
                story c\nseed S3\nmodel result: clean\nverdict c: LEAKED\n\
                story d\nseed S4\nmodel result: clean\nverdict d: LOST-MESSAGE\n";
    let s = Summary::of(&log::parse(text));
    assert_eq!((s.stories, s.replayed, s.agree), (4, 4, 2));
}

#[test]
fn a_qpair_left_on_a_freed_poll_group_is_the_models_i15_there() {
    let text = "story a\nseed S1\nmodel result: violation I15 nvmf_tgt_destroy_poll_group\n\
                verdict a: ORPHANED-QPAIR\n\
                story b\nseed S2\nmodel result: clean\nverdict b: ORPHANED-QPAIR\n\
                story c\nseed S3\nmodel result: violation I15 nvmf_ctrlr_destruct\n\
                verdict c: ORPHANED-QPAIR\n";
    let s = Summary::of(&log::parse(text));
    assert_eq!((s.stories, s.replayed, s.agree), (3, 3, 1));
}
