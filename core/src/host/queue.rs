//! One queue = one connection: its lifecycle state, its stream decoder, the digests in force
//! and the commands in flight, keyed by command id.
//!
//! Owns: CID allocation (never reuses a CID still in flight) and building CapsuleCmd PDUs
//! (SGL choice, in-capsule data). Invariants kept: a command id is in `outstanding` from the
//! moment its capsule is queued for sending until its one completion (CapsuleResp, or a C2HData
//! with SUCCESS) or until the queue closes; at most `sqsize + 1` commands are in flight.

use super::init::InitStep;
use super::{local_status, Host, HostOutput, Qid};
use crate::wire::{
    CapsuleCmd, Command, DecoderConfig, Digests, Pdu, PduDecoder, Role, SglDescriptor, Status,
    SGL_IN_CAPSULE, SGL_TRANSPORT,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Largest data payload the host accepts in one C2HData PDU (SPDK sends at most 128 KiB).
pub const MAX_DATA_LEN: u32 = 1 << 20;

/// SQE flags: PSDT = 01b (SGL, metadata contiguous), as Linux and SPDK hosts set on fabrics.
const PSDT_SGL: u8 = 0x40;

/// Where one queue's connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum QueueState {
    /// `HostOutput::Open` sent, waiting for `HostInput::Opened`.
    Opening,
    /// ICReq sent, waiting for ICResp.
    AwaitingIcResp,
    /// ICResp accepted; CONNECT not sent yet.
    IcDone,
    /// CONNECT sent, waiting for its response.
    Connecting,
    /// CONNECT succeeded: commands may be sent.
    Live,
    /// Closed (by us, by the peer, or after a protocol error).
    Closed,
}

/// Why a command was sent: decides what its completion does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Purpose {
    Connect,
    Init(InitStep),
    /// Property Set CC for a reset (EN = 0) or a shutdown (SHN = normal).
    CcWrite,
    /// Property Get CSTS while polling for RDY / SHST.
    CstsPoll,
    Aer,
    KeepAlive,
    /// Get Log Page `lid` after an AEN (clears the event so the target can send the next one).
    AenLog {
        lid: u8,
    },
    /// Identify commands of a namespace rescan after a namespace-changed AEN.
    Rescan(InitStep),
    Io {
        tag: u64,
    },
    /// An admin command sent before CONNECT (`HostAction::AdminBeforeConnect`).
    BeforeConnect,
    /// A command sent outside the host's own state machine (peer.rs): only failures are
    /// reported.
    Raw,
}

/// How a command's data moves.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Payload {
    None,
    /// Data sent inside the CapsuleCmd (SGL 0x01).
    InCapsule(Vec<u8>),
    /// Write data sent on R2T as H2CData (SGL 0x5A).
    OnR2t(Vec<u8>),
    /// Read `n` bytes by C2HData (SGL 0x5A).
    Receive(u32),
}

/// One command in flight.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Outstanding {
    pub purpose: Purpose,
    pub opc: u8,
    /// Data received so far by C2HData (`datao` must continue at `rx.len()`).
    pub rx: Vec<u8>,
    /// Bytes the command reads (0 for commands without data-in).
    pub rx_expected: u32,
    /// Write data held for R2T (empty when sent in-capsule).
    pub tx: Vec<u8>,
    /// Bytes of `tx` already requested by R2Ts.
    pub tx_sent: u32,
}

/// One connection's state.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Queue {
    pub state: QueueState,
    pub decoder: PduDecoder,
    /// Digests in force (after ICResp).
    pub digests: Digests,
    pub maxh2cdata: u32,
    /// 0's based queue size sent in CONNECT; bounds the commands in flight.
    pub sqsize: u16,
    /// Send CONNECT as soon as ICResp is accepted.
    pub connect_on_ic: bool,
    /// The cntlid a stale I/O CONNECT sends (None: the controller's current one).
    pub stale_cntlid: Option<u16>,
    /// The qid its CONNECT names when it differs from the host's key for the queue (a
    /// duplicate-qid connection, peer.rs).
    pub wire_qid: Option<u16>,
    /// The last R2T answered on this queue: `(cccid, ttag)`.
    pub last_r2t: Option<(u16, u16)>,
    pub outstanding: BTreeMap<u16, Outstanding>,
}

impl Queue {
    pub fn new(sqsize: u16, connect_on_ic: bool) -> Self {
        Queue {
            state: QueueState::Opening,
            decoder: PduDecoder::new(DecoderConfig {
                role: Role::Host,
                max_pdu_len: MAX_DATA_LEN + 256,
                max_data_len: MAX_DATA_LEN,
                digests: Digests::default(),
            }),
            digests: Digests::default(),
            maxh2cdata: 0,
            sqsize,
            connect_on_ic,
            stale_cntlid: None,
            wire_qid: None,
            last_r2t: None,
            outstanding: BTreeMap::new(),
        }
    }

    /// Whether the connection is still there (opening, negotiating, connecting or live).
    pub fn is_open(&self) -> bool {
        self.state != QueueState::Closed
    }

    /// The lowest free command id (as SPDK's host allocates), or `None` when the queue is full.
    fn alloc_cid(&self) -> Option<u16> {
        if self.outstanding.len() > usize::from(self.sqsize) {
            return None;
        }
        let mut cid = 0u16;
        for &used in self.outstanding.keys() {
            if used != cid {
                break;
            }
            cid += 1;
        }
        Some(cid)
    }
}

/// The capsule for `cmd` with its SGL and flags set for `payload`, plus what the command
/// will read (bytes expected by C2HData) and the write data held back for R2T.
fn build_capsule(cmd: &Command, cid: u16, payload: Payload) -> (CapsuleCmd, u32, Vec<u8>) {
    let mut sqe = cmd.to_sqe(cid);
    sqe.flags |= PSDT_SGL;
    let (kind, len, data, rx, tx) = match payload {
        Payload::None => (SGL_TRANSPORT, 0, Vec::new(), 0, Vec::new()),
        Payload::InCapsule(d) => (SGL_IN_CAPSULE, d.len(), d, 0, Vec::new()),
        Payload::OnR2t(d) => (SGL_TRANSPORT, d.len(), Vec::new(), 0, d),
        Payload::Receive(n) => (SGL_TRANSPORT, n as usize, Vec::new(), n, Vec::new()),
    };
    sqe.sgl1 = SglDescriptor {
        addr: 0,
        len: u32::try_from(len).unwrap_or(u32::MAX),
        kind,
    };
    (CapsuleCmd { sqe, data }, rx, tx)
}

impl Host {
    /// Sends `cmd` on `qid`. Fails with a local status if the queue is absent or full; the
    /// caller decides how to report that.
    pub(crate) fn submit(
        &mut self,
        qid: Qid,
        cmd: &Command,
        purpose: Purpose,
        payload: Payload,
    ) -> Result<u16, Status> {
        let q = self
            .queues
            .get_mut(&qid)
            .filter(|q| q.is_open())
            .ok_or(local_status::HOST_PATH_ERROR)?;
        let cid = q.alloc_cid().ok_or(local_status::HOST_PATH_ERROR)?;
        let (capsule, rx_expected, tx) = build_capsule(cmd, cid, payload);
        q.outstanding.insert(
            cid,
            Outstanding {
                purpose,
                opc: capsule.sqe.opc,
                rx: Vec::new(),
                rx_expected,
                tx,
                tx_sent: 0,
            },
        );
        let data = Pdu::CapsuleCmd(capsule).to_bytes(q.digests);
        self.out.push_back(HostOutput::Send { qid, data });
        Ok(cid)
    }

    /// Sends `cmd` on a live `qid`; `Err` with the host path error if the queue is not live.
    pub(crate) fn submit_live(
        &mut self,
        qid: Qid,
        cmd: &Command,
        purpose: Purpose,
        payload: Payload,
    ) -> Result<u16, Status> {
        match self.queues.get(&qid) {
            Some(q) if q.state == QueueState::Live => self.submit(qid, cmd, purpose, payload),
            _ => Err(local_status::HOST_PATH_ERROR),
        }
    }

    /// Whether `qid` is connected and accepts commands.
    pub(crate) fn is_live(&self, qid: Qid) -> bool {
        self.queues
            .get(&qid)
            .is_some_and(|q| q.state == QueueState::Live)
    }

    /// Emits a PDU on `qid` with that queue's digests.
    pub(crate) fn send_pdu(&mut self, qid: Qid, pdu: &Pdu) {
        let digests = self.queues.get(&qid).map(|q| q.digests).unwrap_or_default();
        self.out.push_back(HostOutput::Send {
            qid,
            data: pdu.to_bytes(digests),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out() -> Outstanding {
        Outstanding {
            purpose: Purpose::KeepAlive,
            opc: 0x18,
            rx: Vec::new(),
            rx_expected: 0,
            tx: Vec::new(),
            tx_sent: 0,
        }
    }

    #[test]
    fn cids_are_lowest_free_and_bounded_by_sqsize() {
        let mut q = Queue::new(3, false);
        assert_eq!(q.alloc_cid(), Some(0));
        for cid in [0, 1, 3] {
            q.outstanding.insert(cid, out());
        }
        assert_eq!(q.alloc_cid(), Some(2));
        q.outstanding.insert(2, out());
        assert_eq!(
            q.alloc_cid(),
            None,
            "sqsize 3 (0's based) allows 4 in flight"
        );
        q.outstanding.remove(&0);
        assert_eq!(q.alloc_cid(), Some(0));
    }

    #[test]
    fn capsule_sgl_follows_the_payload() {
        let cmd = Command::KeepAlive;
        let (c, rx, tx) = build_capsule(&cmd, 7, Payload::InCapsule(vec![1; 100]));
        assert_eq!((rx, tx.len()), (0, 0));
        assert_eq!(
            (c.sqe.sgl1.kind, c.sqe.sgl1.len, c.data.len()),
            (SGL_IN_CAPSULE, 100, 100)
        );
        assert_eq!(c.sqe.cid, 7);
        assert_eq!(c.sqe.flags & 0xC0, PSDT_SGL);
        let (c, _, tx) = build_capsule(&cmd, 7, Payload::OnR2t(vec![1; 8192]));
        assert_eq!(tx.len(), 8192, "held for R2T");
        assert_eq!(
            (c.sqe.sgl1.kind, c.sqe.sgl1.len, c.data.len()),
            (SGL_TRANSPORT, 8192, 0)
        );
        let (c, rx, _) = build_capsule(&cmd, 7, Payload::Receive(4096));
        assert_eq!(rx, 4096);
        assert_eq!((c.sqe.sgl1.kind, c.sqe.sgl1.len), (SGL_TRANSPORT, 4096));
    }
}
