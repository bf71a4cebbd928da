//! `FakeTarget`: a small scripted NVMe/TCP target end for host tests. It decodes what the host
//! sends with the codec's `PduDecoder` (Role::Target) and answers at once with codec-built
//! PDUs. Knobs steer the answers (ICResp fields, CSTS delays, C2HData with SUCCESS, R2T size,
//! ...); every PDU the host sent is logged so tests can assert exact command sequences.
//! `FakeWorld` (in `fake_world`) is the router with this end.

use super::fixtures::BLOCK;
use crate::host::Qid;
use crate::nvmf::{ConnId, Output};
use crate::time::Instant;
use crate::wire::{
    prop, status, AsyncEvent, C2HData, CapsuleCmd, CapsuleResp, Command, ConnectData, Cqe,
    DecoderConfig, Digests, IcResp, IdentifyController, IdentifyNamespace, Pdu, PduDecoder,
    QueueKind, Role, Sqe, Status, R2T, SGL_IN_CAPSULE,
};
use std::collections::{BTreeMap, VecDeque};

/// Blocks of the fake's one namespace (`BLOCK` bytes each).
pub const FAKE_NS_BLOCKS: usize = 256;
pub const CNTLID: u16 = 0x21;
/// CAP: MQES 127, CQR, TO = 2 (1.5 s with Linux's rounding).
pub const CAP: u64 = 127 | (1 << 16) | (2 << 24);

/// How the fake target behaves.
#[derive(Debug, Clone)]
pub struct Knobs {
    /// ICResp sent for every ICReq (`None`: echo the host's digests, cpda 0, maxh2cdata 8192).
    pub ic_resp: Option<IcResp>,
    pub maxh2cdata: u32,
    /// CSTS reads answering RDY = 0 after CC.EN = 1 before RDY = 1 (`u32::MAX`: never ready).
    pub rdy_delay: u32,
    /// CSTS reads before SHST = complete / RDY = 0 after a shutdown / reset.
    pub shst_delay: u32,
    /// Complete reads with a C2HData carrying SUCCESS instead of a CapsuleResp.
    pub c2h_success: bool,
    /// Bytes per C2HData PDU.
    pub c2h_chunk: usize,
    /// Bytes asked per R2T.
    pub r2t_size: u32,
    /// Fields of Identify Controller.
    pub identify: IdentifyController,
    /// KATO reported by Get Features KATO (ms).
    pub kato_ms: u32,
    /// Fail every CONNECT with this status.
    pub connect_status: Option<Status>,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            ic_resp: None,
            maxh2cdata: 8192,
            rdy_delay: 0,
            shst_delay: 0,
            c2h_success: false,
            c2h_chunk: 4096,
            r2t_size: 1 << 20,
            identify: IdentifyController {
                cntlid: CNTLID,
                sgls: 1,
                ioccsz: 260,
                iorcsz: 1,
                icdoff: 0,
                aerl: 3,
                mdts: 5,
                oaes: 1 << 8,
                sqes: 0x66,
                cqes: 0x44,
                nn: 1,
                kas: 10,
                ver: 0x0002_0000,
                cntrltype: 1,
                msdbd: 1,
                ..IdentifyController::default()
            },
            kato_ms: 10_000,
            connect_status: None,
        }
    }
}

/// A write waiting for its H2CData.
#[derive(Debug, Clone)]
struct PendingWrite {
    cid: u16,
    slba: u64,
    data: Vec<u8>,
    len: u32,
    /// End of the region the last R2T asked for.
    asked: u32,
}

/// The fake target's per-queue state.
#[derive(Debug)]
struct FakeQueue {
    decoder: PduDecoder,
    digests: Digests,
    kind: QueueKind,
    writes: BTreeMap<u16, PendingWrite>,
}

pub struct FakeTarget {
    pub knobs: Knobs,
    queues: BTreeMap<Qid, FakeQueue>,
    /// Every PDU the host sent, in order, with its queue and the time it was seen.
    pub log: Vec<(Instant, Qid, Pdu)>,
    pub cc: u32,
    csts_reads: u32,
    pub storage: Vec<u8>,
    /// AER cids held open.
    pub aers: Vec<u16>,
    /// Answer nothing (the test answers by hand).
    pub silent: bool,
    /// Active namespaces: (nsid, log2 of the block size).
    pub namespaces: Vec<(u32, u8)>,
    /// The host queue each router connection serves.
    pub(super) conns: BTreeMap<ConnId, Qid>,
    /// Answers not yet polled by the router.
    pub(super) outbox: VecDeque<Output>,
}

impl FakeTarget {
    pub fn new(knobs: Knobs) -> Self {
        FakeTarget {
            knobs,
            queues: BTreeMap::new(),
            log: Vec::new(),
            cc: 0,
            csts_reads: 0,
            storage: vec![0; BLOCK * FAKE_NS_BLOCKS],
            aers: Vec::new(),
            silent: false,
            namespaces: vec![(1, 9)],
            conns: BTreeMap::new(),
            outbox: VecDeque::new(),
        }
    }

    pub fn accept(&mut self, qid: Qid) {
        self.queues.insert(
            qid,
            FakeQueue {
                decoder: PduDecoder::new(DecoderConfig {
                    role: Role::Target,
                    max_pdu_len: 1 << 21,
                    max_data_len: 1 << 20,
                    digests: Digests::default(),
                }),
                digests: Digests::default(),
                kind: if qid == 0 {
                    QueueKind::Admin
                } else {
                    QueueKind::Io
                },
                writes: BTreeMap::new(),
            },
        );
    }

    /// Feeds host bytes; returns the encoded answers.
    pub fn receive(&mut self, now: Instant, qid: Qid, mut data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let q = self
                .queues
                .get_mut(&qid)
                .expect("fake: bytes on unknown queue");
            let pdu = match q.decoder.decode(&mut data) {
                Ok(Some(pdu)) => pdu,
                Ok(None) => break,
                Err(e) => panic!("fake target: host sent a bad PDU: {e}"),
            };
            self.log.push((now, qid, pdu.clone()));
            if let Pdu::IcReq(req) = &pdu {
                // The host uses the digests it asked for once ICResp arrives (from us or a test).
                let q = self.queues.get_mut(&qid).unwrap();
                q.digests = req.digests;
                q.decoder.set_digests(req.digests);
            }
            if !self.silent {
                for answer in self.answer(qid, &pdu) {
                    let digests = self.queues[&qid].digests;
                    answer.emit(digests, &mut out);
                }
            }
        }
        out
    }

    /// Encodes `pdu` with the digests in force on `qid`.
    pub fn encode(&self, qid: Qid, pdu: &Pdu) -> Vec<u8> {
        pdu.to_bytes(self.queues[&qid].digests)
    }

    fn answer(&mut self, qid: Qid, pdu: &Pdu) -> Vec<Pdu> {
        match pdu {
            Pdu::IcReq(req) => {
                let resp = self.knobs.ic_resp.clone().unwrap_or(IcResp {
                    pfv: 0,
                    cpda: 0,
                    digests: req.digests,
                    maxh2cdata: self.knobs.maxh2cdata,
                });
                vec![Pdu::IcResp(resp)]
            }
            Pdu::CapsuleCmd(cmd) => self.command(qid, cmd),
            Pdu::H2CData(d) => self.h2c(qid, d),
            _ => Vec::new(),
        }
    }

    fn command(&mut self, qid: Qid, cmd: &CapsuleCmd) -> Vec<Pdu> {
        let sqe = cmd.sqe;
        let kind = self.queues[&qid].kind;
        match Command::parse(&sqe, kind) {
            Command::Connect(c) => {
                let st = self.connect_status(c.qid, cmd);
                vec![resp(qid, sqe.cid, st, u32::from(CNTLID), 0)]
            }
            Command::PropertyGet { ofst, .. } => {
                let v = self.property(ofst);
                vec![resp(
                    qid,
                    sqe.cid,
                    status::SUCCESS,
                    v as u32,
                    (v >> 32) as u32,
                )]
            }
            Command::PropertySet { ofst, value, .. } => {
                if ofst == prop::CC {
                    self.cc = value as u32;
                    self.csts_reads = 0;
                }
                vec![resp(qid, sqe.cid, status::SUCCESS, 0, 0)]
            }
            Command::Identify { cns, nsid, .. } => self.identify(qid, sqe.cid, cns, nsid),
            Command::GetFeatures { fid, .. } => {
                let v = if fid == 0x0F { self.knobs.kato_ms } else { 0 };
                vec![resp(qid, sqe.cid, status::SUCCESS, v, 0)]
            }
            Command::SetFeatures { fid, cdw11, .. } => {
                let v = if fid == 0x07 {
                    cdw11.min(0x0003_0003)
                } else {
                    0
                };
                vec![resp(qid, sqe.cid, status::SUCCESS, v, 0)]
            }
            Command::AsyncEventRequest => {
                self.aers.push(sqe.cid);
                Vec::new()
            }
            Command::GetLogPage { .. } => self.data_in(qid, sqe.cid, vec![0; 4096]),
            Command::Read { slba, nlb, .. } => {
                let start = slba as usize * BLOCK;
                let end = start + (usize::from(nlb) + 1) * BLOCK;
                let data = self.storage[start..end].to_vec();
                self.data_in(qid, sqe.cid, data)
            }
            Command::Write { slba, nlb, .. } => self.write(qid, &sqe, cmd, slba, nlb),
            _ => vec![resp(qid, sqe.cid, status::SUCCESS, 0, 0)],
        }
    }

    /// A CONNECT succeeds with cntlid 0xFFFF on the admin queue and `CNTLID` on I/O queues,
    /// unless the knobs fail every CONNECT.
    fn connect_status(&self, cmd_qid: u16, cmd: &CapsuleCmd) -> Status {
        let data = ConnectData::parse(&cmd.data).expect("CONNECT data");
        let ok = if cmd_qid == 0 {
            data.cntlid == 0xFFFF
        } else {
            data.cntlid == CNTLID
        };
        if let Some(st) = self.knobs.connect_status {
            st
        } else if ok {
            status::SUCCESS
        } else {
            status::CONNECT_INVALID_PARAMETERS
        }
    }

    fn property(&mut self, ofst: u32) -> u64 {
        match ofst {
            prop::CAP => CAP,
            prop::VS => 0x0002_0000,
            prop::CC => u64::from(self.cc),
            prop::CSTS => {
                self.csts_reads += 1;
                let en = self.cc & 1 != 0;
                let shn = self.cc & (3 << 14) != 0;
                if shn {
                    let done = self.csts_reads > self.knobs.shst_delay;
                    u64::from(en) | if done { 2 << 2 } else { 1 << 2 }
                } else if en {
                    u64::from(self.csts_reads > self.knobs.rdy_delay)
                } else {
                    u64::from(self.csts_reads <= self.knobs.shst_delay)
                }
            }
            _ => 0,
        }
    }

    fn identify(&mut self, qid: Qid, cid: u16, cns: u8, nsid: u32) -> Vec<Pdu> {
        let data = match cns {
            1 => self.knobs.identify.to_bytes(),
            2 => {
                let mut d = vec![0; 4096];
                for (i, (nsid, _)) in self.namespaces.iter().enumerate() {
                    d[i * 4..i * 4 + 4].copy_from_slice(&nsid.to_le_bytes());
                }
                d
            }
            0 if self.namespaces.iter().any(|(n, _)| *n == nsid) => {
                let lbads = self.namespaces.iter().find(|(n, _)| *n == nsid).unwrap().1;
                IdentifyNamespace {
                    nsze: FAKE_NS_BLOCKS as u64,
                    ncap: FAKE_NS_BLOCKS as u64,
                    nuse: FAKE_NS_BLOCKS as u64,
                    nlbaf: 0,
                    flbas: 0,
                    lbads,
                }
                .to_bytes()
            }
            _ => return vec![resp(qid, cid, status::INVALID_NAMESPACE, 0, 0)],
        };
        self.data_in(qid, cid, data)
    }

    /// C2HData chunks, then a CapsuleResp (or SUCCESS on the last chunk).
    fn data_in(&mut self, qid: Qid, cid: u16, data: Vec<u8>) -> Vec<Pdu> {
        let chunk = self.knobs.c2h_chunk.max(1);
        let n = data.len().div_ceil(chunk);
        let mut pdus: Vec<Pdu> = data
            .chunks(chunk)
            .enumerate()
            .map(|(i, c)| {
                Pdu::C2HData(C2HData {
                    cccid: cid,
                    datao: (i * chunk) as u32,
                    last: i + 1 == n,
                    success: i + 1 == n && self.knobs.c2h_success,
                    data: c.to_vec(),
                })
            })
            .collect();
        if !self.knobs.c2h_success {
            pdus.push(resp(qid, cid, status::SUCCESS, 0, 0));
        }
        pdus
    }

    fn write(&mut self, qid: Qid, sqe: &Sqe, cmd: &CapsuleCmd, slba: u64, nlb: u16) -> Vec<Pdu> {
        let len = (u32::from(nlb) + 1) * BLOCK as u32;
        if sqe.sgl1.kind == SGL_IN_CAPSULE {
            assert_eq!(cmd.data.len(), len as usize, "in-capsule length");
            let start = slba as usize * BLOCK;
            self.storage[start..start + cmd.data.len()].copy_from_slice(&cmd.data);
            return vec![resp(qid, sqe.cid, status::SUCCESS, 0, 0)];
        }
        let first = len.min(self.knobs.r2t_size);
        let w = PendingWrite {
            cid: sqe.cid,
            slba,
            data: Vec::new(),
            len,
            asked: first,
        };
        self.queues.get_mut(&qid).unwrap().writes.insert(sqe.cid, w);
        vec![r2t(sqe.cid, 0, first)]
    }

    fn h2c(&mut self, qid: Qid, d: &crate::wire::H2CData) -> Vec<Pdu> {
        let r2t_size = self.knobs.r2t_size;
        let q = self.queues.get_mut(&qid).unwrap();
        let w = q
            .writes
            .get_mut(&d.cccid)
            .expect("H2CData for unknown write");
        assert_eq!(d.datao as usize, w.data.len(), "H2CData offset");
        w.data.extend_from_slice(&d.data);
        let got = w.data.len() as u32;
        assert_eq!(
            d.last,
            got == w.asked,
            "LAST_PDU exactly on the last chunk of an R2T"
        );
        if got < w.asked {
            return Vec::new();
        }
        if got < w.len {
            let next = (w.len - got).min(r2t_size);
            w.asked = got + next;
            return vec![r2t(d.cccid, got, next)];
        }
        let w = q.writes.remove(&d.cccid).unwrap();
        let start = w.slba as usize * BLOCK;
        self.storage[start..start + w.data.len()].copy_from_slice(&w.data);
        vec![resp(qid, w.cid, status::SUCCESS, 0, 0)]
    }

    /// Completes one held AER with `event`.
    pub fn aen(&mut self, event: AsyncEvent) -> Option<Pdu> {
        let cid = self.aers.pop()?;
        Some(resp(0, cid, status::SUCCESS, event.to_cdw0(), 0))
    }

    /// The (qid, opcode, fctype-or-cdw10-low-byte) of every command the host sent.
    pub fn commands(&self) -> Vec<(Qid, Command)> {
        self.log
            .iter()
            .filter_map(|(_, qid, p)| match p {
                Pdu::CapsuleCmd(c) => {
                    let kind = if *qid == 0 {
                        QueueKind::Admin
                    } else {
                        QueueKind::Io
                    };
                    Some((*qid, Command::parse(&c.sqe, kind)))
                }
                _ => None,
            })
            .collect()
    }
}

pub fn resp(qid: Qid, cid: u16, st: Status, cdw0: u32, cdw1: u32) -> Pdu {
    Pdu::CapsuleResp(CapsuleResp {
        cqe: Cqe {
            cdw0,
            cdw1,
            sqhd: 0,
            sqid: qid,
            cid,
            status: st,
        },
    })
}

pub fn r2t(cid: u16, r2to: u32, r2tl: u32) -> Pdu {
    Pdu::R2T(R2T {
        cccid: cid,
        ttag: cid ^ 0x5a00,
        r2to,
        r2tl,
    })
}
