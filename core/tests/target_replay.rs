//! Real-peer replay: SPDK's own initiator (`spdk_nvme_identify`, captured against SPDK's
//! target) is fed into the fabcheck target byte by byte, with every enabled event run between
//! bytes. Every command must get a response of the same kind, CID and status class as SPDK's
//! target gave, and the session must end in an orderly shutdown with everything freed.

use fabcheck_core::target::{
    ConnId, Input, NamespaceConfig, Output, RpcId, RpcRequest, SubsystemConfig, Target,
    TargetConfig, Trid,
};
use fabcheck_core::time::{Duration, Instant};
use fabcheck_core::wire::{DecoderConfig, Digests, Pdu, PduDecoder, Role, Status};
use std::collections::BTreeMap;

const H2T: &[u8] = include_bytes!("data/target/spdk-identify.stream0.host-to-target.bin");
const T2H: &[u8] = include_bytes!("data/target/spdk-identify.stream0.target-to-host.bin");

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
