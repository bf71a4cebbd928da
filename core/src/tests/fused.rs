//! Fused Compare-and-Write through a real I/O queue (match, miscompare, every out-of-order
//! half as SPDK answers it, the pair's checks) and the volatile write cache feature.

use crate::nvmf::{ConnId, Spdk};
use crate::testkit::{config, pdu, World, HOSTNQN};
use crate::wire::{status, Cqe, Pdu, Status};

const COMPARE_FAILURE: Status = Status::new(2, 0x85);
const FAILED_FUSED: Status = Status::new(0, 0x09);
const MISSING_FUSED: Status = Status::new(0, 0x0A);

fn io_world(spdk: Spdk) -> (World, ConnId, ConnId) {
    let mut cfg = config();
    cfg.spdk = spdk;
    let mut w = World::new(cfg);
    let (a, cntlid) = w.connect_enabled(1, HOSTNQN);
    let (io, cqe) = w.connect_io(2, HOSTNQN, cntlid, 1);
    assert!(cqe.status.is_success());
    (w, a, io)
}

fn fuse(mut p: Pdu, bits: u8) -> Pdu {
    if let Pdu::CapsuleCmd(c) = &mut p {
        c.sqe.flags |= bits;
    }
    p
}

fn compare(cid: u16, slba: u64, data: Vec<u8>) -> Pdu {
    let nlb = (data.len() / 512 - 1) as u32;
    fuse(pdu::io_cmd(cid, 0x05, [slba as u32, 0, nlb], data, true), 1)
}

fn write2(cid: u16, slba: u64, data: Vec<u8>) -> Pdu {
    fuse(pdu::write(cid, 1, slba, data, true), 2)
}

/// Sends `p`, runs everything, returns (cid, status) of every answer in order.
fn answers(w: &mut World, c: ConnId, p: &Pdu) -> Vec<(u16, Status)> {
    w.send(c, p);
    w.run_all();
    w.responses(c)
        .iter()
        .map(|q: &Cqe| (q.cid, q.status))
        .collect()
}

fn read(w: &mut World, io: ConnId, slba: u64, blocks: u16) -> Vec<u8> {
    w.send(io, &pdu::read(30, 1, slba, blocks));
    w.run_all();
    match w.recv(io).first() {
        Some(Pdu::C2HData(d)) => d.data.clone(),
        other => panic!("read data: {other:?}"),
    }
}

#[test]
fn compare_and_write_writes_on_a_match_only() {
    let (mut w, _, io) = io_world(Spdk::Master);
    let (a, b, c) = (vec![1u8; 1024], vec![2u8; 1024], vec![3u8; 1024]);
    assert_eq!(
        answers(&mut w, io, &pdu::write(4, 1, 0, a.clone(), true)),
        [(4, status::SUCCESS)]
    );
    assert!(
        answers(&mut w, io, &compare(5, 0, a.clone())).is_empty(),
        "the first half is held"
    );
    assert_eq!(
        answers(&mut w, io, &write2(6, 0, b.clone())),
        [(5, status::SUCCESS), (6, status::SUCCESS)],
        "the Compare is answered first"
    );
    assert_eq!(read(&mut w, io, 0, 2), b);
    assert!(answers(&mut w, io, &compare(7, 0, a.clone())).is_empty());
    assert_eq!(
        answers(&mut w, io, &write2(8, 0, c)),
        [(7, COMPARE_FAILURE), (8, FAILED_FUSED)]
    );
    assert_eq!(read(&mut w, io, 0, 2), b, "a miscompare writes nothing");
    assert!(answers(&mut w, io, &compare(9, 0, b.clone())).is_empty());
    let pdus = {
        w.send(io, &fuse(pdu::write_r2t(10, 1, 0, 1024), 2));
        w.run_all();
        w.recv(io)
    };
    let [Pdu::R2T(r2t)] = &pdus[..] else {
        panic!("the second half's data by R2T, the first still held: {pdus:?}")
    };
    let h2c = pdu::h2c(10, r2t.ttag, 0, a.clone(), true);
    assert_eq!(
        answers(&mut w, io, &h2c),
        [(9, status::SUCCESS), (10, status::SUCCESS)],
        "the pair runs once the second half's data is in"
    );
    assert_eq!(read(&mut w, io, 0, 2), a);
    w.shutdown_and_check();
}

#[test]
fn halves_out_of_order_are_answered_as_spdk_does() {
    let (mut w, _, io) = io_world(Spdk::Master);
    let d = vec![0u8; 512];
    let lone_second = answers(&mut w, io, &write2(4, 0, d.clone()));
    assert_eq!(lone_second, [(4, MISSING_FUSED)]);
    let first_write = fuse(pdu::write(5, 1, 0, d.clone(), true), 1);
    assert!(
        answers(&mut w, io, &first_write).is_empty(),
        "the transport holds a first half until the next capsule"
    );
    assert_eq!(
        answers(&mut w, io, &write2(50, 0, d.clone())),
        [(5, status::INVALID_OPCODE), (50, MISSING_FUSED)],
        "a first half that is not a Compare, then its second with nothing held"
    );
    assert!(answers(&mut w, io, &compare(6, 0, d.clone())).is_empty());
    w.send(io, &pdu::read(7, 1, 0, 1));
    w.run_all();
    let after_plain: Vec<_> = w.responses(io).iter().map(|q| (q.cid, q.status)).collect();
    assert_eq!(
        after_plain,
        [(6, MISSING_FUSED), (7, status::SUCCESS)],
        "a plain command ends the held half and runs"
    );
    assert!(answers(&mut w, io, &compare(8, 0, d.clone())).is_empty());
    assert_eq!(
        answers(&mut w, io, &compare(9, 0, d.clone())),
        [(8, MISSING_FUSED)],
        "a second first half replaces the held one"
    );
    assert_eq!(
        answers(
            &mut w,
            io,
            &fuse(pdu::io_cmd(10, 0x05, [0, 0, 0], d.clone(), true), 2)
        ),
        [(9, MISSING_FUSED), (10, status::INVALID_OPCODE)],
        "a second half that is not a Write"
    );
    let both = fuse(pdu::write(11, 1, 0, d.clone(), true), 3);
    assert!(
        answers(&mut w, io, &both).is_empty(),
        "FUSE 11b never pairs and is never answered (SPDK's TCP transport)"
    );
    assert_eq!(
        answers(&mut w, io, &pdu::write(12, 1, 0, d, true)),
        [(12, status::SUCCESS)],
        "the queue still works"
    );
    w.shutdown_and_check();
}

#[test]
fn fused_admin_commands_are_an_invalid_field() {
    let (mut w, a, _) = io_world(Spdk::Master);
    assert!(answers(&mut w, a, &fuse(pdu::identify(4, 1, 0), 1)).is_empty());
    assert_eq!(
        answers(&mut w, a, &fuse(pdu::identify(5, 1, 0), 2)),
        [(4, status::INVALID_FIELD), (5, status::INVALID_FIELD)]
    );
    w.shutdown_and_check();
}

#[test]
fn the_pairs_checks_fail_both_halves() {
    let (mut w, _, io) = io_world(Spdk::Master);
    let d = vec![0u8; 1024];
    for (slba_cmp, slba_wr, want) in [
        (0, 1, status::INVALID_FIELD),
        (63, 63, status::LBA_OUT_OF_RANGE),
    ] {
        assert!(answers(&mut w, io, &compare(4, slba_cmp, d.clone())).is_empty());
        assert_eq!(
            answers(&mut w, io, &write2(5, slba_wr, d.clone())),
            [(4, want), (5, FAILED_FUSED)]
        );
    }
    w.shutdown_and_check();
}

fn feature(w: &mut World, a: ConnId, p: &Pdu) -> (Status, u32) {
    w.send(a, p);
    w.run_all();
    let r = w.responses(a);
    assert_eq!(r.len(), 1, "{r:?}");
    (r[0].status, r[0].cdw0)
}

#[test]
fn write_cache_feature_as_each_profile_runs_it() {
    let (mut w, a, _) = io_world(Spdk::Master);
    let not_changeable = Status::new(1, 0x0E);
    assert_eq!(
        feature(&mut w, a, &pdu::get_features(4, 6)),
        (status::SUCCESS, 1)
    );
    assert_eq!(
        feature(&mut w, a, &pdu::set_features(5, 6, 0)).0,
        not_changeable
    );
    assert_eq!(
        feature(&mut w, a, &pdu::set_features(6, 6, 1)).0,
        status::SUCCESS
    );
    assert_eq!(
        feature(&mut w, a, &pdu::get_features(7, 6)),
        (status::SUCCESS, 1)
    );
    w.shutdown_and_check();
    // The releases store CDW11 (v26.05 ctrlr.c:1834-1847; master's refusal is 7daf055591).
    for spdk in [Spdk::V24_01, Spdk::V26_05] {
        let (mut w, a, _) = io_world(spdk);
        assert_eq!(
            feature(&mut w, a, &pdu::set_features(4, 6, 0xFE)).0,
            status::SUCCESS,
            "{spdk}"
        );
        assert_eq!(
            feature(&mut w, a, &pdu::get_features(5, 6)),
            (status::SUCCESS, 0),
            "{spdk}"
        );
        w.shutdown_and_check();
    }
}
