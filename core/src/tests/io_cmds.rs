//! The optional NVM commands through a real I/O queue: Compare (in-capsule and by R2T, match
//! and miscompare), Write Zeroes, Dataset Management deallocate, Flush, what ONCS advertises,
//! and Abort (fused commands: tests/fused.rs).

use crate::testkit::{config, pdu, World, HOSTNQN};
use crate::wire::{status, Cqe, Pdu, Status};

const COMPARE_FAILURE: Status = Status::new(2, 0x85);

fn io_world() -> (World, crate::nvmf::ConnId, crate::nvmf::ConnId) {
    let mut w = World::new(config());
    let (a, cntlid) = w.connect_enabled(1, HOSTNQN);
    let (io, cqe) = w.connect_io(2, HOSTNQN, cntlid, 1);
    assert!(cqe.status.is_success());
    (w, a, io)
}

fn one(w: &mut World, c: crate::nvmf::ConnId, p: &Pdu) -> Cqe {
    w.send(c, p);
    w.run_all();
    let r = w.responses(c);
    assert_eq!(r.len(), 1, "{r:?}");
    r[0]
}

fn read(w: &mut World, io: crate::nvmf::ConnId, slba: u64, blocks: u16) -> Vec<u8> {
    w.send(io, &pdu::read(30, 1, slba, blocks));
    w.run_all();
    match w.recv(io).first() {
        Some(Pdu::C2HData(d)) => d.data.clone(),
        other => panic!("read data: {other:?}"),
    }
}

#[test]
fn compare_matches_miscompares_and_checks_its_data() {
    let (mut w, _, io) = io_world();
    let data: Vec<u8> = (0..2048).map(|i| (i % 251) as u8 + 1).collect();
    let ok = one(
        &mut w,
        io,
        &pdu::write(4, 1, 0, data[..1024].to_vec(), true),
    );
    assert!(ok.status.is_success());
    let ok = one(
        &mut w,
        io,
        &pdu::write(5, 1, 2, data[1024..].to_vec(), true),
    );
    assert!(ok.status.is_success());
    let cmp = |cid, slba: u64, nlb: u32, d: Vec<u8>, ic| {
        pdu::io_cmd(cid, 0x05, [slba as u32, 0, nlb], d, ic)
    };
    assert_eq!(
        one(&mut w, io, &cmp(6, 0, 3, data.clone(), true)).status,
        status::SUCCESS
    );
    let mut bad = data.clone();
    bad[2047] ^= 1;
    assert_eq!(
        one(&mut w, io, &cmp(7, 0, 3, bad, true)).status,
        COMPARE_FAILURE
    );
    w.send(io, &cmp(8, 0, 3, data.clone(), false));
    let pdus = w.recv(io);
    let Some(Pdu::R2T(r2t)) = pdus.first() else {
        panic!("Compare data by R2T: {pdus:?}")
    };
    let h2c = pdu::h2c(8, r2t.ttag, 0, data.clone(), true);
    assert_eq!(one(&mut w, io, &h2c).status, status::SUCCESS);
    let short = cmp(9, 0, 3, data[..1024].to_vec(), true);
    assert_eq!(
        one(&mut w, io, &short).status,
        Status::new(0, 0x0F),
        "SGL too short"
    );
    let past = cmp(10, 63, 1, data[..1024].to_vec(), true);
    assert_eq!(one(&mut w, io, &past).status, status::LBA_OUT_OF_RANGE);
    w.shutdown_and_check();
}

#[test]
fn write_zeroes_and_deallocate_zero_blocks_and_oncs_says_so() {
    let (mut w, a, io) = io_world();
    let data: Vec<u8> = (0..2048).map(|i| (i % 251) as u8 + 1).collect();
    let ok = one(&mut w, io, &pdu::write(4, 1, 0, data.clone(), true));
    assert!(ok.status.is_success());
    let wz = pdu::io_cmd(11, 0x08, [1, 0, 0], Vec::new(), true);
    assert_eq!(one(&mut w, io, &wz).status, status::SUCCESS);
    let deac = pdu::io_cmd(12, 0x08, [1, 0, 1 << 25], Vec::new(), true);
    assert_eq!(one(&mut w, io, &deac).status, status::INVALID_FIELD);
    let mut range = vec![0u8; 16];
    range[4..8].copy_from_slice(&1u32.to_le_bytes());
    range[8..16].copy_from_slice(&3u64.to_le_bytes());
    let dsm = pdu::io_cmd(13, 0x09, [0, 1 << 2, 0], range, true);
    assert_eq!(one(&mut w, io, &dsm).status, status::SUCCESS);
    let after = read(&mut w, io, 0, 4);
    assert_eq!(&after[..512], &data[..512]);
    assert_eq!(&after[512..1024], &[0u8; 512][..], "write zeroes");
    assert_eq!(&after[1024..1536], &data[1024..1536]);
    assert_eq!(&after[1536..], &[0u8; 512][..], "deallocated");
    let flush = pdu::io_cmd(14, 0x00, [0, 0, 0], Vec::new(), true);
    assert_eq!(one(&mut w, io, &flush).status, status::SUCCESS);
    w.send(a, &pdu::identify(16, 1, 0));
    w.run_all();
    let id = match w.recv(a).first() {
        Some(Pdu::C2HData(d)) => d.data.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(u16::from_le_bytes([id[520], id[521]]), 0b1101, "ONCS");
    assert_eq!(
        u16::from_le_bytes([id[522], id[523]]),
        1,
        "FUSES: Compare and Write"
    );
    assert_eq!(id[525], 0b101, "VWC present, no flush broadcast");
    w.shutdown_and_check();
}

#[test]
fn abort_takes_back_an_aer_and_reports_anything_else_as_not_aborted() {
    let (mut w, a, _io) = io_world();
    w.send(a, &pdu::aer(4));
    w.run_all();
    assert!(w.responses(a).is_empty(), "the AER is held");
    let abort = |cid: u16, sqid: u16, target: u16| {
        pdu::io_cmd(
            cid,
            0x08,
            [u32::from(sqid) | u32::from(target) << 16, 0, 0],
            vec![],
            true,
        )
    };
    w.send(a, &abort(5, 0, 4));
    w.run_all();
    let r = w.responses(a);
    assert_eq!(r.len(), 2, "{r:?}");
    assert_eq!(
        (r[0].cid, r[0].status),
        (4, Status::new(0, 0x07)),
        "AER aborted"
    );
    assert_eq!((r[1].cid, r[1].status, r[1].cdw0), (5, status::SUCCESS, 0));
    for (cid, sqid, target) in [(6, 0, 4), (7, 1, 99), (8, 9, 1)] {
        let cqe = one(&mut w, a, &abort(cid, sqid, target));
        assert_eq!((cqe.cid, cqe.status, cqe.cdw0), (cid, status::SUCCESS, 1));
    }
    w.send(a, &pdu::identify(9, 1, 0));
    w.run_all();
    let id = match w.recv(a).first() {
        Some(Pdu::C2HData(d)) => d.data.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(id[258], 3, "ACL: four Aborts at once");
    w.shutdown_and_check();
}
