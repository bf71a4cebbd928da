//! Real-peer replay: SPDK's own initiator (`spdk_nvme_identify`, captured against SPDK's
//! target) is fed into the fabcheck target byte by byte, with every enabled event run between
//! bytes. Every command must get a response of the same kind, CID and status class as SPDK's
//! target gave, and the session must end in an orderly shutdown with everything freed.

use fabcheck_core::nvmf::{ConnId, Input, RpcRequest, TargetConfig};
use fabcheck_core::testkit::{config_with_blocks, World};
use fabcheck_core::time::Duration;
use fabcheck_core::wire::{DecoderConfig, Digests, Pdu, PduDecoder, Role, Status};

const H2T: &[u8] = include_bytes!("../data/nvmf/spdk-identify.stream0.host-to-target.bin");
const T2H: &[u8] = include_bytes!("../data/nvmf/spdk-identify.stream0.target-to-host.bin");

/// Decodes a whole stream; the digests negotiated by the IC exchange apply after it. A
/// truncated tail (the perf captures stop mid-PDU) is left undecoded.
fn decode_all(bytes: &[u8], role: Role) -> Vec<Pdu> {
    let mut dec = PduDecoder::new(DecoderConfig {
        role,
        max_pdu_len: 1 << 20,
        max_data_len: 1 << 20,
        digests: Digests::default(),
    });
    let mut input = bytes;
    let mut out = Vec::new();
    while let Some(pdu) = dec.decode(&mut input).expect("capture decodes") {
        match &pdu {
            Pdu::IcReq(ic) => dec.set_digests(ic.digests),
            Pdu::IcResp(ic) => dec.set_digests(ic.digests),
            _ => {}
        }
        out.push(pdu);
    }
    out
}

/// What a command got back: whether data came, and the completion status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Answer {
    data: bool,
    status: Status,
}

/// Per CID, in order: SPDK's C2HData with SUCCESS counts as data + a successful completion.
fn answers(pdus: &[Pdu]) -> Vec<(u16, Answer)> {
    let mut out = Vec::new();
    let mut data_for: Option<u16> = None;
    for p in pdus {
        match p {
            Pdu::C2HData(d) if d.success => out.push((
                d.cccid,
                Answer {
                    data: true,
                    status: Status::default(),
                },
            )),
            Pdu::C2HData(d) => data_for = Some(d.cccid),
            Pdu::CapsuleResp(r) => {
                let data = data_for.take() == Some(r.cqe.cid);
                out.push((
                    r.cqe.cid,
                    Answer {
                        data,
                        status: r.cqe.status,
                    },
                ));
            }
            _ => {}
        }
    }
    out
}

/// The fixture target with a 64 MiB namespace (the captures' size).
fn config() -> TargetConfig {
    config_with_blocks(64 * 1024 * 1024 / 512)
}

#[test]
fn spdk_identify_session_replays_byte_for_byte() {
    let mut w = World::new(config());
    let ours = feed(&mut w, ConnId(1), H2T, 1);
    let spdk = decode_all(T2H, Role::Host);
    assert!(
        matches!(ours.first(), Some(Pdu::IcResp(ic)) if ic.cpda == 0 && ic.maxh2cdata == 131_072)
    );
    assert!(matches!(spdk.first(), Some(Pdu::IcResp(_))));
    let class = |a: &Answer| (a.data, a.status.sct, a.status.is_success());
    let ours_a: Vec<_> = answers(&ours)
        .iter()
        .map(|(cid, a)| (*cid, class(a)))
        .collect();
    let spdk_a: Vec<_> = answers(&spdk)
        .iter()
        .map(|(cid, a)| (*cid, class(a)))
        .collect();
    assert_eq!(
        ours_a.len(),
        28,
        "every answered command, AERs stay outstanding"
    );
    assert_eq!(ours_a, spdk_a);
    assert!(ours
        .iter()
        .all(|p| !matches!(p, Pdu::C2HData(d) if d.success)));
    // The session ends in an orderly shutdown: the last CSTS read reports SHST complete.
    let last = |pdus: &[Pdu]| match pdus.last() {
        Some(Pdu::CapsuleResp(c)) => c.cqe.cdw0,
        other => panic!("last PDU {other:?}"),
    };
    assert_eq!((last(&ours) >> 2) & 3, 2);
    assert_eq!((last(&spdk) >> 2) & 3, 2);
    // The host hangs up; everything is freed and the target shuts down cleanly.
    w.input(Input::PeerClosed { conn: ConnId(1) });
    w.run_all();
    assert!(w.closed(ConnId(1)));
    assert_eq!((w.target.qpair_count(), w.target.ctrlr_count()), (0, 0));
    let id = w.rpc(RpcRequest::Shutdown);
    w.run_all();
    assert!(w.rpc_ok(id), "{:?}", w.rpc_results);
    assert!(
        w.target.quiescence_report().is_quiet(),
        "{:?}",
        w.target.quiescence_report()
    );
}

const PERF_ADMIN_H2T: &[u8] =
    include_bytes!("../data/nvmf/spdk-perf-randread-4k-digests.stream0.host-to-target.bin");
const PERF_ADMIN_T2H: &[u8] =
    include_bytes!("../data/nvmf/spdk-perf-randread-4k-digests.stream0.target-to-host.bin");
const PERF_IO_H2T: &[u8] =
    include_bytes!("../data/nvmf/spdk-perf-randread-4k-digests.stream1.host-to-target.bin");
const PERF_IO_T2H: &[u8] =
    include_bytes!("../data/nvmf/spdk-perf-randread-4k-digests.stream1.target-to-host.bin");

/// Feeds one captured stream as a raw peer on `conn`, `chunk` bytes at a time, running every
/// ready event between; returns the PDUs the target sent on it.
fn feed(w: &mut World, conn: ConnId, bytes: &[u8], chunk: usize) -> Vec<Pdu> {
    w.accept(conn.0);
    w.run_all();
    for piece in bytes.chunks(chunk) {
        w.skip(Duration::from_micros(1));
        let data = piece.to_vec();
        w.input(Input::Bytes { conn, data });
        w.run_all();
    }
    assert_eq!(w.peers[&conn].wire_error, None, "the target's bytes decode");
    w.recv(conn)
}

/// Every answer SPDK gave (kind, CID, status class) is among ours; I/O with queue depth 4 may
/// complete in another order, and the capture stops before the session ends.
fn assert_spdk_answers_included(ours: &[Pdu], spdk: &[Pdu]) {
    let class = |(cid, a): &(u16, Answer)| (*cid, a.data, a.status.sct, a.status.is_success());
    let mut ours: Vec<_> = answers(ours).iter().map(class).collect();
    let spdk: Vec<_> = answers(spdk).iter().map(class).collect();
    assert!(!spdk.is_empty());
    for a in &spdk {
        let i = ours
            .iter()
            .position(|o| o == a)
            .unwrap_or_else(|| panic!("SPDK answer {a:?} missing"));
        ours.remove(i);
    }
}

#[test]
fn spdk_perf_randread_with_digests_replays() {
    // SPDK's target had handed out cntlid 5 in that run; the I/O CONNECT carries it.
    let mut cfg = config();
    cfg.subsystems[0].min_cntlid = cntlid_of(PERF_IO_H2T);
    assert_eq!(cfg.subsystems[0].min_cntlid, 5);
    let mut w = World::new(cfg);
    let admin = feed(&mut w, ConnId(1), PERF_ADMIN_H2T, 7);
    assert_spdk_answers_included(&admin, &decode_all(PERF_ADMIN_T2H, Role::Host));
    let io = feed(&mut w, ConnId(2), PERF_IO_H2T, 7);
    let Some(Pdu::IcResp(ic)) = io.first() else {
        panic!("ICResp")
    };
    assert!(ic.digests.header && ic.digests.data, "digests echoed");
    let spdk_io = decode_all(PERF_IO_T2H, Role::Host);
    assert!(answers(&spdk_io).len() > 10);
    assert_spdk_answers_included(&io, &spdk_io);
    assert!(io
        .iter()
        .all(|p| !matches!(p, Pdu::C2HData(d) if d.success)));
}

#[test]
fn spdk_perf_mixed_4k_reads_and_in_capsule_writes_replay() {
    let mut cfg = config();
    cfg.subsystems[0].min_cntlid = cntlid_of(include_bytes!(
        "../data/nvmf/spdk-perf-rw-4k.stream1.host-to-target.bin"
    ));
    let mut w = World::new(cfg);
    let admin = feed(
        &mut w,
        ConnId(1),
        include_bytes!("../data/nvmf/spdk-perf-rw-4k.stream0.host-to-target.bin"),
        7,
    );
    let spdk_admin = decode_all(
        include_bytes!("../data/nvmf/spdk-perf-rw-4k.stream0.target-to-host.bin"),
        Role::Host,
    );
    assert_spdk_answers_included(&admin, &spdk_admin);
    let io = feed(
        &mut w,
        ConnId(2),
        include_bytes!("../data/nvmf/spdk-perf-rw-4k.stream1.host-to-target.bin"),
        7,
    );
    let spdk_io = decode_all(
        include_bytes!("../data/nvmf/spdk-perf-rw-4k.stream1.target-to-host.bin"),
        Role::Host,
    );
    assert!(answers(&spdk_io).len() > 10);
    assert_spdk_answers_included(&io, &spdk_io);
}

/// The cntlid the capture's I/O CONNECT carries (SPDK's target chose it).
fn cntlid_of(io_h2t: &[u8]) -> u16 {
    decode_all(io_h2t, Role::Target)
        .iter()
        .find_map(|p| match p {
            Pdu::CapsuleCmd(c) if c.data.len() >= 1024 => {
                Some(u16::from_le_bytes([c.data[16], c.data[17]]))
            }
            _ => None,
        })
        .expect("an I/O CONNECT")
}
