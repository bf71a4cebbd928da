//! Real-peer replay: SPDK's own initiator (`spdk_nvme_identify`, captured against SPDK's
//! target) is fed into the fabcheck target byte by byte, with every enabled event run between
//! bytes. Every command must get a response of the same kind, CID and status class as SPDK's
//! target gave, and the session must end in an orderly shutdown with everything freed.

use fabcheck_core::nvmf::{
    ConnId, Input, NamespaceConfig, Output, RpcId, RpcRequest, SubsystemConfig, Target,
    TargetConfig, Trid,
};
use fabcheck_core::time::{Duration, Instant};
use fabcheck_core::wire::{DecoderConfig, Digests, Pdu, PduDecoder, Role, Status};
use std::collections::BTreeMap;

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

fn config() -> TargetConfig {
    let trid = Trid::tcp("127.0.0.1", 4420);
    let mut sub = SubsystemConfig::new("nqn.2016-06.io.spdk:cnode1");
    sub.listeners.push(trid.clone());
    sub.namespaces.push(NamespaceConfig {
        nsid: 1,
        block_size: 512,
        blocks: 64 * 1024 * 1024 / 512,
    });
    TargetConfig {
        listeners: vec![trid],
        subsystems: vec![sub],
        ..TargetConfig::default()
    }
}

struct Replay {
    target: Target,
    now: Instant,
    sent: Vec<u8>,
    closed: bool,
    rpcs: BTreeMap<RpcId, bool>,
}

impl Replay {
    fn step(&mut self, input: Input) {
        self.target.handle(self.now, input);
        while let Some(out) = self.target.poll_output() {
            match out {
                Output::Send { data, .. } => self.sent.extend_from_slice(&data),
                Output::Close { .. } => self.closed = true,
                Output::RpcDone { id, result } => {
                    assert!(self.rpcs.insert(id, result.is_ok()).is_none());
                }
                Output::Event(_) => {}
            }
        }
        if let Err(v) = self.target.check_invariants() {
            panic!("invariant violated during replay: {v}");
        }
    }

    /// Runs every enabled thread message and device completion (timers stay armed).
    fn run_enabled(&mut self) {
        while let Some(e) = self
            .target
            .enabled_events()
            .into_iter()
            .find(|e| e.at.is_none())
        {
            self.step(e.input);
        }
    }
}

#[test]
fn spdk_identify_session_replays_byte_for_byte() {
    let conn = ConnId(1);
    let mut r = Replay {
        target: Target::new(config()),
        now: Instant::ZERO,
        sent: Vec::new(),
        closed: false,
        rpcs: BTreeMap::new(),
    };
    r.step(Input::Accept {
        trid: Trid::tcp("127.0.0.1", 4420),
        conn,
    });
    r.run_enabled();
    for b in H2T {
        r.now = r.now + Duration::from_micros(1);
        r.step(Input::Bytes {
            conn,
            data: vec![*b],
        });
        r.run_enabled();
    }
    let ours = decode_all(&r.sent, Role::Host);
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
    r.step(Input::PeerClosed { conn });
    r.run_enabled();
    assert!(r.closed);
    assert_eq!((r.target.qpair_count(), r.target.ctrlr_count()), (0, 0));
    r.step(Input::Rpc {
        id: RpcId(1),
        request: RpcRequest::Shutdown,
    });
    r.run_enabled();
    assert_eq!(r.rpcs.get(&RpcId(1)), Some(&true));
    assert!(
        r.target.quiescence_report().is_quiet(),
        "{:?}",
        r.target.quiescence_report()
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

/// Feeds one captured stream on `conn`, a few bytes at a time, running events between.
fn feed(r: &mut Replay, conn: ConnId, bytes: &[u8]) -> Vec<Pdu> {
    r.sent.clear();
    r.step(Input::Accept {
        trid: Trid::tcp("127.0.0.1", 4420),
        conn,
    });
    r.run_enabled();
    for chunk in bytes.chunks(7) {
        r.now = r.now + Duration::from_micros(1);
        r.step(Input::Bytes {
            conn,
            data: chunk.to_vec(),
        });
        r.run_enabled();
    }
    decode_all(&r.sent, Role::Host)
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
    let mut r = Replay {
        target: Target::new(cfg),
        now: Instant::ZERO,
        sent: Vec::new(),
        closed: false,
        rpcs: BTreeMap::new(),
    };
    let admin = feed(&mut r, ConnId(1), PERF_ADMIN_H2T);
    assert_spdk_answers_included(&admin, &decode_all(PERF_ADMIN_T2H, Role::Host));
    let io = feed(&mut r, ConnId(2), PERF_IO_H2T);
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
    let mut r = Replay {
        target: Target::new(cfg),
        now: Instant::ZERO,
        sent: Vec::new(),
        closed: false,
        rpcs: BTreeMap::new(),
    };
    let admin = feed(
        &mut r,
        ConnId(1),
        include_bytes!("../data/nvmf/spdk-perf-rw-4k.stream0.host-to-target.bin"),
    );
    let spdk_admin = decode_all(
        include_bytes!("../data/nvmf/spdk-perf-rw-4k.stream0.target-to-host.bin"),
        Role::Host,
    );
    assert_spdk_answers_included(&admin, &spdk_admin);
    let io = feed(
        &mut r,
        ConnId(2),
        include_bytes!("../data/nvmf/spdk-perf-rw-4k.stream1.host-to-target.bin"),
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
