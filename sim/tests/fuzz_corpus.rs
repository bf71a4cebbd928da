//! The committed fuzz corpus (`fuzz/corpus/<target>/seed-*`) through the very harness code the
//! cargo-fuzz targets run, on the stable toolchain, so plain `cargo test` catches regressions;
//! plus the proofs that the fuzz oracles find a real bug and stay silent on the fixed core.
//!
//! `cargo test -p fabcheck-sim --test fuzz_corpus -- --ignored write_corpus` rewrites the
//! corpus from real connections (simulator runs of the sans-IO initiators, SPDK's captured
//! streams from `$FABCHECK_CAPTURES`, default `../shared/captures` beside the repository).

use fabcheck_core::nvmf::{InvariantId, Mark};
use fabcheck_core::record::RecordLine;
use fabcheck_sim::chooser::Chooser;
use fabcheck_sim::fuzzing::sim_choices::{self, scenario};
use fabcheck_sim::fuzzing::target_inputs::{self, Finding, Harness};
use fabcheck_sim::fuzzing::{corpus, pdu, FuzzInput};
use fabcheck_sim::hazard::known;
use fabcheck_sim::strategy::Random;
use fabcheck_sim::sweep::seed_for;
use fabcheck_sim::{run, Failure, Scenario, SeedString};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target)
}

/// Every committed seed file of `target`, sorted by name (there must be some).
fn files(target: &str) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(corpus_dir(target))
        .expect("corpus folder exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("seed-"))
        })
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read(&p).expect("readable"),
            )
        })
        .collect();
    out.sort();
    assert!(out.len() >= 3, "{target}: too few committed seeds");
    out
}

#[test]
fn pdu_corpus_decodes_and_round_trips() {
    for target in ["pdu_decode", "pdu_roundtrip"] {
        for (_, data) in files(target) {
            pdu::pdu_decode(&data);
            pdu::pdu_roundtrip(&data);
        }
    }
}

#[test]
fn target_inputs_corpus_holds_the_oracle_and_reaches_the_lifecycle() {
    let mut marks = BTreeSet::new();
    for (name, data) in files("target_inputs") {
        let reached = target_inputs::run(&data).unwrap_or_else(|f| panic!("{name}: {f}"));
        marks.extend(reached);
    }
    for m in [
        Mark::IcDone,
        Mark::CtrlrCreated,
        Mark::IoCompleted,
        Mark::SubsystemPaused,
        Mark::QpairDestroyed,
        Mark::CtrlrDestroyed,
    ] {
        assert!(marks.contains(&m), "corpus never reaches {}", m.name());
    }
}

#[test]
fn sim_choices_corpus_runs_clean_and_replays_from_its_seed_string() {
    for key in ["churn", "seed-3302"] {
        let sc = scenario(key).unwrap();
        for (name, data) in files("sim_choices") {
            let r = sim_choices::run(&sc, &data, true);
            let clean = r
                .failure
                .as_ref()
                .is_none_or(|f| known(f, sc.spdk).is_some());
            assert!(clean, "{name} on {key}: {:?}", r.failure);
            let again = run(&sc, &r.replay_seed(), true);
            assert!(sim_choices::same_run(&r, &again), "{name} on {key}");
        }
    }
}

/// Random byte strings, as a fuzzer without guidance would try them.
fn random_input(seed: u64, len: usize) -> Vec<u8> {
    let mut r = Random::new(seed);
    (0..len)
        .map(|_| r.choose(fabcheck_sim::chooser::ChoiceKind::Event, 256) as u8)
        .collect()
}

#[test]
fn sim_choices_finds_spdk_3302_and_its_seed_string_replays_without_the_input() {
    let buggy = scenario("seed-3302+spdk-3302").unwrap();
    let fixed = scenario("seed-3302").unwrap();
    let (data, r) = (0..2000)
        .map(|s| random_input(s, 64))
        .map(|d| {
            let r = sim_choices::run(&buggy, &d, true);
            (d, r)
        })
        .find(|(_, r)| bug_found(&buggy, r))
        .expect("2000 random inputs find spdk-3302");
    let Some(Failure::Safety(v)) = &r.failure else {
        panic!("expected a safety violation, got {:?}", r.failure)
    };
    assert_eq!(
        (v.invariant, v.site.as_str()),
        (InvariantId::I1, "free_aer")
    );
    let seed: SeedString = r.replay_seed().to_string().parse().unwrap();
    let again = run(&buggy, &seed, true);
    assert_eq!(again.failure, r.failure);
    assert!(sim_choices::same_run(&r, &again));
    let off = sim_choices::run(&fixed, &data, false);
    assert!(!bug_found(&fixed, &off), "{:?}", off.failure);
}

/// A failure that is not a recorded hazard (docs/hazards.md).
fn bug_found(sc: &Scenario, r: &fabcheck_sim::RunReport) -> bool {
    r.failure
        .as_ref()
        .is_some_and(|f| known(f, sc.spdk).is_none())
}

/// A simulator run's recording of `key` with seed index `i` (random or PCT per the portfolio).
fn recording(key: &str, i: u64) -> (fabcheck_sim::RunReport, Vec<RecordLine>) {
    let sc = scenario(key).unwrap();
    let r = run(
        &sc,
        &SeedString::new(&sc.key(), seed_for(0x2026, i, None)),
        true,
    );
    let rec = r.recording.clone().expect("traced runs record");
    (r, rec)
}

#[test]
fn target_inputs_oracle_reports_spdk_3302_when_switched_on() {
    let sc = scenario("seed-3302+spdk-3302").unwrap();
    let (r, rec) = (0..500)
        .map(|i| recording("seed-3302+spdk-3302", i))
        .find(|(r, _)| bug_found(&sc, r))
        .expect("the simulator finds spdk-3302 within 500 runs");
    assert!(matches!(r.failure, Some(Failure::Safety(_))));
    let input = corpus::from_recording(0, &rec);
    let mut h = Harness::new(sc.target_config());
    let found = input.ops.iter().find_map(|op| h.apply(op).err());
    let Some(Finding::Violation { violation, .. }) = found else {
        panic!("the re-encoded run must hit the bug, got {found:?}")
    };
    assert_eq!(
        (violation.invariant, violation.site.as_str()),
        (InvariantId::I1, "free_aer")
    );
    // The same ops on the fixed core (what the fuzz target runs) hold the oracle.
    assert!(target_inputs::run(&input.encode()).is_ok());
}

#[test]
fn choice_streams_encode_back_to_the_same_run() {
    let sc = scenario("churn").unwrap();
    let r = run(
        &sc,
        &SeedString::new("churn", seed_for(0x2026, 1, None)),
        true,
    );
    let data = sim_choices::encode(r.seed.seed, &r.record);
    assert!(sim_choices::same_run(
        &sim_choices::run(&sc, &data, true),
        &r
    ));
}

fn write(target: &str, name: &str, data: &[u8]) {
    let dir = corpus_dir(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("seed-{name}")), data).unwrap();
}

fn capture(name: &str) -> Option<Vec<u8>> {
    let dir = std::env::var("FABCHECK_CAPTURES").map_or_else(
        |_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/captures"),
        PathBuf::from,
    );
    std::fs::read(dir.join(name)).ok()
}

/// The first host's first connection's bytes in a recording (the initiator's stream).
fn initiator_stream(rec: &[RecordLine]) -> Vec<u8> {
    let conn = rec.iter().find_map(|l| match l {
        RecordLine::Input {
            input: fabcheck_core::nvmf::Input::Accept { conn, .. },
            ..
        } => Some(*conn),
        _ => None,
    });
    rec.iter()
        .filter_map(|l| match l {
            RecordLine::Input {
                input: fabcheck_core::nvmf::Input::Bytes { conn: c, data },
                ..
            } if Some(*c) == conn => Some(data.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

#[test]
#[ignore = "rewrites fuzz/corpus; run by hand"]
fn write_corpus() {
    for (i, key) in ["churn", "churn", "seed-3302", "seed-3302-ctrlr-add-fail"]
        .iter()
        .enumerate()
    {
        let idx = fabcheck_sim::scenario::builtin_names()
            .iter()
            .position(|n| n == key)
            .unwrap();
        let (r, rec) = recording(key, i as u64);
        let input = corpus::from_recording(idx as u8, &rec);
        write("target_inputs", &format!("{key}-{i}"), &input.encode());
        write(
            "sim_choices",
            &format!("{key}-{i}"),
            &sim_choices::encode(r.seed.seed, &r.record),
        );
        if i == 0 {
            let mut s = vec![0u8];
            s.extend(initiator_stream(&rec));
            write("pdu_decode", "initiator-churn", &s);
            write("pdu_roundtrip", "initiator-churn", &s);
        }
    }
    let churn = fabcheck_sim::scenario::builtin_names()
        .iter()
        .position(|n| *n == "churn")
        .unwrap();
    for (name, file, ctl, chunk) in [
        (
            "capture-identify",
            "spdk-identify.stream0.host-to-target.bin",
            0u8,
            512,
        ),
        (
            "capture-digests",
            "spdk-perf-randread-4k-digests.stream0.host-to-target.bin",
            6,
            1000,
        ),
        (
            "capture-rw",
            "spdk-perf-rw-4k.stream1.host-to-target.bin",
            0,
            4096,
        ),
    ] {
        let Some(stream) = capture(file) else {
            continue;
        };
        let stream = &stream[..stream.len().min(8192)];
        let input = corpus::from_capture(churn as u8, stream, chunk);
        write("target_inputs", name, &input.encode());
        let mut s = vec![ctl];
        s.extend_from_slice(stream);
        write("pdu_decode", name, &s);
        write("pdu_roundtrip", name, &s);
    }
    let _ = FuzzInput::decode(&[]);
}

/// Prints a `target_inputs` input op by op with the target's answer to each RPC and the
/// finding, if any: `FABCHECK_TARGET_INPUT=FILE cargo test -p fabcheck-sim --test fuzz_corpus
/// -- --ignored --nocapture explain_target_input`.
#[test]
#[ignore = "a debugging aid for fuzz artifacts; run by hand"]
fn explain_target_input() {
    let path = std::env::var("FABCHECK_TARGET_INPUT").expect("FABCHECK_TARGET_INPUT=FILE");
    let input = FuzzInput::decode(&std::fs::read(path).expect("readable input"));
    let sc = target_inputs::scenario_for(input.scenario);
    println!("config of scenario {}", sc.name);
    let mut h = Harness::new(sc.target_config());
    for (i, op) in input.ops.iter().enumerate() {
        let shown = match op {
            fabcheck_sim::fuzzing::Op::Bytes { slot, data } => {
                format!("Bytes slot {slot} ({} bytes)", data.len())
            }
            fabcheck_sim::fuzzing::Op::Rpc { kind, a, b } => format!(
                "{op:?} = {:?}",
                fabcheck_sim::fuzzing::rpc_template(&h, *kind, *a, *b)
            ),
            _ => format!("{op:?}"),
        };
        println!("op {i}: {shown}");
        if let Err(f) = h.apply(op) {
            println!("FINDING {f}");
            return;
        }
    }
    println!("no finding");
}

/// A finding of `target_inputs` on the old core (docs/fuzzing.md, "Findings"): remove a
/// namespace of cnode1 (pause, remove, resume), delete cnode1, let the threads run. SPDK
/// refuses state changes once delete has begun (DESTROY_PENDING); the old model ran the queued
/// resume's per-poll-group message on the freed subsystem (I1 at
/// `subsystem_state_change_on_pg`). Fixed by the version profiles; kept as a regression test.
#[test]
fn remove_namespace_then_delete_subsystem_holds_the_oracle() {
    let input = [0x02, 0x03, 0x09, 0x00, 0x01, 0x03, 0x0d, 0x00, 0x00, 0x06];
    assert_eq!(target_inputs::run(&input).map(|_| ()), Ok(()));
}
