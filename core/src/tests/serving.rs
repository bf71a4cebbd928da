//! `TargetConfig::for_serving`: fabcheck-target's configuration without the I17 check and the
//! per-I/O event details puts the same bytes on the wire and the same marks in the same order;
//! only the details are gone. With its debug checks (`for_serving(true)`), and in a replay of a
//! recording (`with_every_check`), a planted ownership slip is found again.

use crate::nvmf::planted::{Plant, Planted};
use crate::nvmf::{Input, InvariantId, Mark, TargetConfig};
use crate::testkit::{config, pdu, World, HOSTNQN};
use crate::wire::Cqe;

/// A write and a read back on an I/O queue, then the I/O connection closes; the world and
/// what the host received for each command (data and completion).
fn write_read_close(cfg: TargetConfig) -> (World, Vec<(Vec<u8>, Cqe)>) {
    let mut w = World::new(cfg);
    let (_admin, io) = w.enabled_with_io(HOSTNQN);
    let data: Vec<u8> = (0..4096u32).map(|i| (i % 251) as u8).collect();
    let wrote = w.exec(io, &pdu::write(5, 1, 8, data.clone(), true));
    assert!(wrote.1.status.is_success(), "{wrote:?}");
    let read = w.exec(io, &pdu::read(6, 1, 8, 8));
    assert!(read.1.status.is_success() && read.0 == data, "{:?}", read.1);
    w.input(Input::PeerClosed { conn: io });
    w.run_all();
    (w, vec![wrote, read])
}

#[test]
fn serving_sends_the_same_bytes_and_marks_without_the_details() {
    let (checked, answers) = write_read_close(config());
    let (serving, served) = write_read_close(config().for_serving(false));
    assert_eq!(served, answers, "the same data and completions");
    let marks = |w: &World| w.target_events.iter().map(|e| e.mark).collect::<Vec<_>>();
    assert_eq!(marks(&serving), marks(&checked));
    let details = |w: &World| -> Vec<String> {
        w.target_events
            .iter()
            .filter(|e| e.mark == Mark::IoCompleted)
            .map(|e| e.detail.clone())
            .collect()
    };
    assert_eq!(details(&checked).len(), 2, "a write and a read completed");
    assert!(
        details(&checked).iter().all(|d| d.starts_with("req")),
        "{:?}",
        details(&checked)
    );
    assert!(
        details(&serving).iter().all(String::is_empty),
        "{:?}",
        details(&serving)
    );
    let (debug, _) = write_read_close(config().for_serving(true));
    assert_eq!(
        details(&debug),
        details(&checked),
        "--check-invariants keeps the details"
    );
}

#[test]
fn the_ownership_check_is_off_when_serving_and_back_with_debug_checks_or_in_a_replay() {
    let planted = TargetConfig {
        planted: Planted::one(Plant::CtrlrMaskClearedOnGroup),
        ..config()
    };
    let found = |cfg: TargetConfig| {
        let mut w = World::new(cfg);
        let (_admin, io) = w.enabled_with_io(HOSTNQN);
        w.expect_violation = true;
        w.input(Input::PeerClosed { conn: io });
        w.run_all();
        w.target.violation().map(|v| v.invariant)
    };
    assert_eq!(found(planted.clone().for_serving(false)), None);
    assert_eq!(
        found(planted.clone().for_serving(true)),
        Some(InvariantId::I17)
    );
    let replayed = planted.for_serving(false).with_every_check();
    assert_eq!(found(replayed), Some(InvariantId::I17));
}
