//! `fabcheck hazards` lists the recorded hazards with their SPDK source lines, `--check`
//! replays every seed to its hazard (exit 0), and `hunt` on a hazard scenario says plainly that
//! a finding is a known hazard instead of calling it a bug (exit 0 when nothing else is found).

use std::process::{Command, Output};

fn fabcheck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fabcheck"))
        .args(args)
        .output()
        .expect("fabcheck runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn hazards_lists_every_hazard_with_source_lines() {
    let o = fabcheck(&["hazards"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = text(&o);
    for id in [
        "H-1-queued-connect-orphaned",
        "H-2-stop-listen-late-qpair",
        "H-3-listener-freed-under-qpairs",
        "H-4-shutdown-skips-changing-subsystem",
        "H-5-qid-retry-outlives-ctrlr",
        "H-6-qid-retry-admin-group-null",
        "H-7-connect-count-outlives-subsystem",
    ] {
        assert!(out.contains(id), "{out}");
    }
    assert!(out.contains("lib/nvmf/ctrlr.c:4567"), "{out}");
    assert!(out.contains("I8 at _nvmf_subsystem_destroy"), "{out}");
}

#[test]
fn hazards_check_replays_every_seed() {
    let o = fabcheck(&["hazards", "--check"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(!out.contains("NOT reached"), "{out}");
    assert!(out.contains("story names the site: yes"), "{out}");
}

#[test]
fn hunt_calls_a_hazard_a_hazard() {
    let dir = std::env::temp_dir().join(format!("fabcheck-hazards-{}", std::process::id()));
    let out_dir = dir.to_string_lossy().into_owned();
    let args = [
        "hunt",
        "--scenario",
        "subsystem-delete-under-connect",
        "--runs",
        "100",
        "--jobs",
        "1",
        "--out",
        &out_dir,
    ];
    let o = fabcheck(&args);
    let out = text(&o);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("hazard H-1-queued-connect-orphaned, SPDK behaviour, see `fabcheck hazards`"),
        "{out}"
    );
    assert!(out.contains("violations: 0"), "{out}");
}
