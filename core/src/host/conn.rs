//! Connection plumbing: opening queues, ICReq/ICResp negotiation, CONNECT, byte input through
//! the streaming decoder, PDU dispatch, protocol errors and closing.
//!
//! Invariants kept: the ICResp is checked exactly as Linux's `nvme_tcp_init_connection` does
//! (pfv 0, digests equal to those requested, cpda 0, maxh2cdata a multiple of 4 and >= 4096);
//! any violation, any decoder error and any PDU that does not fit a command in flight becomes
//! `ProtocolError` + H2CTermReq + `Close`. After that the queue is `Closed` and ignores input.

use super::queue::{Payload, Purpose, Queue, QueueState};
use super::{Host, HostEvent, HostOutput, Qid};
use crate::wire::{
    CapsuleResp, Command, Connect, ConnectData, Cqe, FatalErrorStatus, IcReq, IcResp, Pdu, TermReq,
};

/// Smallest maxh2cdata a host accepts (Linux `NVME_TCP_MIN_MAXH2CDATA`).
const MIN_MAXH2CDATA: u32 = 4096;
/// Largest admin queue size (0's based) the host asks for (Linux and SPDK: 32 entries).
const ADMIN_SQSIZE_MAX: u16 = 31;

/// Byte offsets of PDU fields, reported in a TermReq's `fei`.
pub(crate) mod fei {
    pub const PFV: u32 = 8;
    pub const CPDA: u32 = 10;
    pub const DGST: u32 = 11;
    pub const MAXH2CDATA: u32 = 12;
    pub const CCCID: u32 = 8;
    pub const DATAO: u32 = 12;
    pub const DATAL: u32 = 16;
    /// CQE `cid` inside a CapsuleResp (8 + 12).
    pub const CQE_CID: u32 = 20;
}

/// A peer violation found while handling one PDU: what to put in the TermReq.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Violation {
    pub fes: FatalErrorStatus,
    pub fei: u32,
    pub reason: String,
}

impl Violation {
    pub fn new(fes: FatalErrorStatus, fei: u32, reason: impl Into<String>) -> Self {
        Violation {
            fes,
            fei,
            reason: reason.into(),
        }
    }

    pub fn field(fei: u32, reason: impl Into<String>) -> Self {
        Self::new(FatalErrorStatus::InvalidHeaderField, fei, reason)
    }
}

/// The header bytes of `pdu` (at most 128), echoed in a TermReq.
fn header_bytes(pdu: &Pdu) -> Vec<u8> {
    let mut bytes = pdu.to_bytes(crate::wire::Digests::default());
    let hlen = bytes.get(2).map_or(0, |&h| usize::from(h)).min(128);
    bytes.truncate(hlen);
    bytes
}

/// Linux's ICResp checks, in Linux's order.
fn check_ic_resp(resp: &IcResp, requested: crate::wire::Digests) -> Result<(), Violation> {
    if resp.pfv != 0 {
        // The decoder already rejects this; kept so the check stands on its own.
        return Err(Violation::new(
            FatalErrorStatus::UnsupportedParameter,
            fei::PFV,
            format!("ICResp pfv {}", resp.pfv),
        ));
    }
    if resp.digests != requested {
        return Err(Violation::field(
            fei::DGST,
            format!(
                "ICResp digests {:?} differ from requested {:?}",
                resp.digests, requested
            ),
        ));
    }
    if resp.cpda != 0 {
        return Err(Violation::field(
            fei::CPDA,
            format!("ICResp cpda {}", resp.cpda),
        ));
    }
    if !resp.maxh2cdata.is_multiple_of(4) || resp.maxh2cdata < MIN_MAXH2CDATA {
        return Err(Violation::field(
            fei::MAXH2CDATA,
            format!("ICResp maxh2cdata {}", resp.maxh2cdata),
        ));
    }
    Ok(())
}

impl Host {
    /// Asks the driver for a connection for `qid` and registers the queue.
    pub(crate) fn open_queue(&mut self, qid: Qid, connect_on_ic: bool) {
        let sqsize = if qid == 0 {
            self.config.sqsize.min(ADMIN_SQSIZE_MAX)
        } else {
            self.config.sqsize
        };
        self.queues.insert(qid, Queue::new(sqsize, connect_on_ic));
        self.out.push_back(HostOutput::Open { qid });
    }

    pub(crate) fn handle_opened(&mut self, qid: Qid) {
        match self.queues.get_mut(&qid) {
            Some(q) if q.state == QueueState::Opening => q.state = QueueState::AwaitingIcResp,
            Some(q) => {
                let state = q.state;
                return self.reject(format!("Opened for qid {qid} in state {state:?}"));
            }
            None => return self.reject(format!("Opened for unknown qid {qid}")),
        }
        let icreq = Pdu::IcReq(IcReq {
            pfv: 0,
            hpda: 0,
            digests: self.config.digests,
            maxr2t: 0,
        });
        self.send_pdu(qid, &icreq);
    }

    pub(crate) fn handle_bytes(&mut self, qid: Qid, data: &[u8]) {
        let mut input = data;
        loop {
            let Some(q) = self.queues.get_mut(&qid) else {
                return;
            };
            if matches!(q.state, QueueState::Closed | QueueState::Opening) {
                return;
            }
            match q.decoder.decode(&mut input) {
                Ok(Some(pdu)) => {
                    if let Err(v) = self.handle_pdu(qid, &pdu) {
                        let term = TermReq {
                            fes: v.fes,
                            fei: v.fei,
                            data: header_bytes(&pdu),
                        };
                        self.protocol_error(qid, Some(term), v.reason);
                    }
                }
                Ok(None) => return,
                Err(e) => return self.protocol_error(qid, Some(e.term_req()), e.reason),
            }
        }
    }

    fn handle_pdu(&mut self, qid: Qid, pdu: &Pdu) -> Result<(), Violation> {
        let state = self.queues.get(&qid).map(|q| q.state);
        match (state, pdu) {
            (Some(QueueState::AwaitingIcResp), Pdu::IcResp(resp)) => self.handle_ic_resp(qid, resp),
            (_, Pdu::C2HTermReq(term)) => {
                self.handle_term_req(qid, term);
                Ok(())
            }
            (Some(QueueState::AwaitingIcResp), _) | (_, Pdu::IcResp(_)) => Err(Violation::new(
                FatalErrorStatus::PduSequenceError,
                0,
                format!("unexpected {:?} PDU", pdu.pdu_type()),
            )),
            (_, Pdu::CapsuleResp(resp)) => self.handle_capsule_resp(qid, resp),
            (_, Pdu::C2HData(d)) => self.handle_c2h_data(qid, d),
            (_, Pdu::R2T(r2t)) => self.handle_r2t(qid, r2t),
            _ => Err(Violation::new(
                FatalErrorStatus::PduSequenceError,
                0,
                format!("{:?} PDU sent to a host", pdu.pdu_type()),
            )),
        }
    }

    fn handle_ic_resp(&mut self, qid: Qid, resp: &IcResp) -> Result<(), Violation> {
        let requested = self.config.digests;
        check_ic_resp(resp, requested)?;
        let Some(q) = self.queues.get_mut(&qid) else {
            return Ok(());
        };
        q.decoder.set_digests(requested);
        q.digests = requested;
        q.maxh2cdata = resp.maxh2cdata;
        q.state = QueueState::IcDone;
        let connect = q.connect_on_ic;
        self.event(HostEvent::IcDone { qid });
        if connect {
            self.send_connect(qid);
        }
        Ok(())
    }

    /// Sends CONNECT on `qid` (after IC): dynamic cntlid on the admin queue, the admin's on I/O.
    pub(crate) fn send_connect(&mut self, qid: Qid) {
        let Some(q) = self.queues.get_mut(&qid) else {
            return;
        };
        q.state = QueueState::Connecting;
        let Some((cmd, data)) = self.connect_capsule(qid) else {
            return;
        };
        if let Err(status) = self.submit(qid, &cmd, Purpose::Connect, Payload::InCapsule(data)) {
            self.event(HostEvent::ConnectFailed { qid, status });
        }
    }

    /// The CONNECT command and data for the queue `qid` (its wire qid may differ: see
    /// `Queue::wire_qid`): dynamic cntlid on the admin queue, the admin's (or a stale one) on
    /// I/O queues.
    pub(crate) fn connect_capsule(&self, qid: Qid) -> Option<(Command, Vec<u8>)> {
        let q = self.queues.get(&qid)?;
        let (sqsize, stale, wire_qid) = (q.sqsize, q.stale_cntlid, q.wire_qid.unwrap_or(qid));
        let cntlid = if wire_qid == 0 {
            0xFFFF
        } else {
            stale.or(self.ctrl.cntlid).unwrap_or(0xFFFF)
        };
        let cmd = Command::Connect(Connect {
            recfmt: 0,
            qid: wire_qid,
            sqsize,
            cattr: if self.config.disable_sq_flow_control {
                crate::wire::CATTR_DISSQFC
            } else {
                0
            },
            kato_ms: if wire_qid == 0 {
                self.config.kato_ms
            } else {
                0
            },
        });
        let data = ConnectData {
            hostid: self.config.hostid,
            cntlid,
            subnqn: self.config.subnqn.clone(),
            hostnqn: self.config.hostnqn.clone(),
        }
        .to_bytes();
        Some((cmd, data))
    }

    fn handle_capsule_resp(&mut self, qid: Qid, resp: &CapsuleResp) -> Result<(), Violation> {
        let cid = resp.cqe.cid;
        let out = self
            .queues
            .get_mut(&qid)
            .and_then(|q| q.outstanding.remove(&cid))
            .ok_or_else(|| {
                Violation::field(fei::CQE_CID, format!("CapsuleResp for unknown cid {cid}"))
            })?;
        self.complete(qid, out, &resp.cqe);
        Ok(())
    }

    /// Routes a completion to whoever sent the command.
    pub(crate) fn complete(&mut self, qid: Qid, out: super::queue::Outstanding, cqe: &Cqe) {
        match out.purpose {
            Purpose::Connect => self.connect_done(qid, cqe),
            Purpose::Init(step) => self.init_step_done(step, out.opc, cqe, &out.rx),
            Purpose::CcWrite => self.cc_write_done(cqe),
            Purpose::CstsPoll => self.csts_polled(cqe),
            Purpose::Aer => self.aer_done(cqe),
            Purpose::KeepAlive | Purpose::BeforeConnect => self.admin_done(out.opc, cqe),
            Purpose::Raw => self.raw_done(qid, out.opc, cqe),
            Purpose::AenLog { lid } => self.aen_log_done(lid, out.opc, cqe),
            Purpose::Rescan(step) => self.rescan_step_done(step, cqe, &out.rx),
            Purpose::Io { tag } => self.event(HostEvent::IoDone {
                tag,
                status: cqe.status,
                data: out.rx,
            }),
        }
    }

    fn connect_done(&mut self, qid: Qid, cqe: &Cqe) {
        if !cqe.status.is_success() {
            self.event(HostEvent::ConnectFailed {
                qid,
                status: cqe.status,
            });
            return self.close_queue(qid, true);
        }
        if let Some(q) = self.queues.get_mut(&qid) {
            q.state = QueueState::Live;
        }
        let cntlid = if qid == 0 {
            let cntlid = (cqe.cdw0 & 0xFFFF) as u16;
            self.ctrl.admin_connected(cntlid);
            cntlid
        } else {
            self.ctrl.cntlid.unwrap_or(0xFFFF)
        };
        self.event(HostEvent::Connected { qid, cntlid });
        if qid == 0 && self.ctrl.auto_init {
            self.ctrl.auto_init = false;
            self.start_init();
        }
    }

    fn handle_term_req(&mut self, qid: Qid, term: &TermReq) {
        self.event(HostEvent::TermReceived { qid, fes: term.fes });
        self.close_queue(qid, true);
    }

    /// Sends H2CTermReq (if given), closes `qid` and reports the violation.
    pub(crate) fn protocol_error(&mut self, qid: Qid, term: Option<TermReq>, reason: String) {
        if let Some(term) = term {
            self.send_pdu(qid, &Pdu::H2CTermReq(term));
        }
        self.event(HostEvent::ProtocolError { qid, reason });
        self.close_queue(qid, true);
    }

    pub(crate) fn handle_peer_closed(&mut self, qid: Qid) {
        self.close_queue(qid, false);
    }

    /// Marks `qid` closed, aborts what was in flight on it and reports `QueueClosed`. With
    /// `tell_driver`, also asks the driver to close the connection.
    pub(crate) fn close_queue(&mut self, qid: Qid, tell_driver: bool) {
        let Some(q) = self.queues.get_mut(&qid).filter(|q| q.is_open()) else {
            return;
        };
        q.state = QueueState::Closed;
        let aborted = std::mem::take(&mut q.outstanding);
        if tell_driver {
            self.out.push_back(HostOutput::Close { qid });
        }
        for out in aborted.into_values() {
            if let Purpose::Io { tag } = out.purpose {
                self.event(HostEvent::IoDone {
                    tag,
                    status: super::local_status::HOST_ABORTED,
                    data: Vec::new(),
                });
            }
        }
        if qid == 0 {
            self.ctrl.admin_closed();
        }
        self.event(HostEvent::QueueClosed { qid });
    }

    pub(crate) fn disconnect(&mut self, qid: Qid) {
        if self.queues.get(&qid).is_some_and(Queue::is_open) {
            self.close_queue(qid, true);
        } else {
            self.reject(format!("Disconnect of qid {qid}, which is not open"));
        }
    }

    /// Closes every open queue, I/O queues first (as hosts tear down), admin last.
    pub(crate) fn disconnect_all(&mut self) {
        let open: Vec<Qid> = self
            .queues
            .iter()
            .filter(|(_, q)| q.is_open())
            .map(|(&qid, _)| qid)
            .collect();
        for qid in open.iter().rev() {
            self.close_queue(*qid, true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Digests;

    #[test]
    fn icresp_checks_name_the_offending_field() {
        let none = Digests::default();
        let ok = IcResp {
            pfv: 0,
            cpda: 0,
            digests: none,
            maxh2cdata: 131_072,
        };
        assert_eq!(check_ic_resp(&ok, none), Ok(()));
        let fei_of = |resp: IcResp, asked: Digests| check_ic_resp(&resp, asked).unwrap_err().fei;
        assert_eq!(
            fei_of(
                IcResp {
                    pfv: 1,
                    ..ok.clone()
                },
                none
            ),
            fei::PFV
        );
        assert_eq!(
            fei_of(
                IcResp {
                    cpda: 2,
                    ..ok.clone()
                },
                none
            ),
            fei::CPDA
        );
        let hd = Digests {
            header: true,
            data: false,
        };
        assert_eq!(fei_of(ok.clone(), hd), fei::DGST);
        assert_eq!(
            fei_of(
                IcResp {
                    maxh2cdata: 4092,
                    ..ok
                },
                none
            ),
            fei::MAXH2CDATA
        );
    }

    #[test]
    fn termreq_echoes_at_most_the_header() {
        let pdu = Pdu::IcResp(IcResp {
            pfv: 0,
            cpda: 0,
            digests: Digests::default(),
            maxh2cdata: 4096,
        });
        assert_eq!(header_bytes(&pdu).len(), 128);
        let resp = Pdu::CapsuleResp(CapsuleResp {
            cqe: Cqe::default(),
        });
        assert_eq!(header_bytes(&resp).len(), 24);
    }
}
