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

/// fabcheck-target hands the bytes of a sent response back (`Target::recycle`): the next read
/// fills that data buffer instead of allocating one, and carries its own blocks (zeros here),
/// none of the old data.
#[test]
fn a_recycled_read_buffer_is_filled_by_the_next_read() {
    use crate::nvmf::{Output, Spdk, Target};
    use crate::testkit::config_for;
    use crate::wire::{Digests, PduBytes};
    let mut w = World::new(config_for(Spdk::V26_05).for_serving(false));
    let (_admin, io) = w.enabled_with_io(HOSTNQN);
    let data: Vec<u8> = (0..4096u32).map(|i| (i % 251) as u8 | 1).collect();
    let wrote = w.exec(io, &pdu::write(5, 1, 8, data.clone(), true));
    assert!(wrote.1.status.is_success(), "{wrote:?}");
    let now = w.now;
    let mut t = w.target;
    // One read, run to its response as fabcheck-target's driver does; its C2HData's bytes.
    let read = |t: &mut Target, cid: u16, slba: u64| -> PduBytes {
        let bytes = pdu::read(cid, 1, slba, 8).to_bytes(Digests::NONE);
        t.handle(
            now,
            Input::Bytes {
                conn: io,
                data: bytes,
            },
        );
        let mut due = Vec::new();
        loop {
            due.clear();
            t.push_due_inputs(now, &mut due);
            if due.is_empty() {
                break;
            }
            for input in due.drain(..) {
                t.handle(now, input);
            }
        }
        let mut sent = Vec::new();
        while let Some(out) = t.poll_output() {
            if let Output::Send { data, .. } = out {
                sent.push(data);
            }
        }
        assert_eq!(sent.len(), 1, "v26.05's one C2HData with SUCCESS: {sent:?}");
        sent.pop().unwrap()
    };
    let data_part = |b: &PduBytes| b.parts().nth(1).expect("a data part").to_vec();
    let data_ptr = |b: &PduBytes| b.parts().nth(1).expect("a data part").as_ptr();
    let first = read(&mut t, 6, 8);
    assert_eq!(data_part(&first), data);
    let buffer = data_ptr(&first);
    t.recycle(first);
    let second = read(&mut t, 7, 16);
    assert_eq!(
        data_part(&second),
        vec![0u8; 4096],
        "unwritten blocks read as zeros"
    );
    assert_eq!(data_ptr(&second), buffer, "the recycled buffer was filled");
    assert!(t.violation().is_none(), "{:?}", t.violation());
}
