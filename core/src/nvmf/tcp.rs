//! The NVMe/TCP transport on the poll group: bytes in through the connection's `PduDecoder`
//! (Role::Target), ICReq/ICResp (pfv 0, cpda 0, echoed digests, maxh2cdata), capsules to
//! requests, R2T/H2CData for writes larger than the in-capsule data, and PDUs out through
//! `Pdu::emit`. A malformed PDU or a protocol error sends C2HTermReq, closes, and disconnects
//! the qpair.
//!
//! A successful C2H transfer ends with C2HData + CapsuleResp, or (v24.01) with a C2HData
//! carrying SUCCESS alone (`Spdk::c2h_success`, applied in `request.rs`).
//!
//! Invariants kept: peer input never panics; after a fatal error the connection ignores input.

use super::arena::{QpairH, ReqH};
use super::request::{Phase, Request};
use super::{ConnId, Mark, Output, Target, TargetConfig, ThreadId};
use crate::wire::{
    CapsuleCmd, Command, DecoderConfig, Digests, FatalErrorStatus, H2CData, IcReq, IcResp, Pdu,
    PduDecoder, QueueKind, Role, TermReq, R2T, SGL_TRANSPORT,
};
use serde::Serialize;
use std::collections::BTreeMap;

/// The NVMe/TCP side of a qpair. The transport (this module) is its keeper.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct TcpConn {
    #[serde(skip)]
    pub decoder: PduDecoder,
    pub ic_done: bool,
    pub digests: Digests,
    /// TermReq sent, peer closed or transport exiting: input is ignored.
    pub dead: bool,
    /// `Output::Close` emitted.
    pub closed: bool,
    /// Bytes that arrived before `_nvmf_poll_group_add` ran.
    pub rx_pending: Vec<u8>,
    pub next_ttag: u16,
    /// Writes waiting for H2CData, by transfer tag.
    pub r2t: BTreeMap<u16, ReqH>,
    /// `qpair->sq_head`: advanced for every response sent (`request_transfer_out`), wrapping
    /// after `sq_head_max` (the CONNECT's SQSIZE; 0 before it).
    pub sq_head: u16,
    /// `tqpair->fused_first`: the last capsule, when it was a fused first half (tcp_fused.rs).
    pub fused_first: Option<ReqH>,
    /// Fused halves not yet executed, in arrival order (tcp_fused.rs).
    pub fused: Vec<super::tcp_fused::TcpFused>,
    /// Requests in NEED_BUFFER, or aborted out of it and marked COMPLETED
    /// (`tqpair->tcp_req_working_queue` in those states; buffers.rs).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub need_buffer: Vec<ReqH>,
    /// Request slots, the receive state AWAIT_REQ and pending writes (tcp_slots.rs).
    #[serde(skip_serializing_if = "super::tcp_slots::TcpSlots::is_idle")]
    pub slots: super::tcp_slots::TcpSlots,
}

impl TcpConn {
    pub fn new(config: &TargetConfig) -> Self {
        let decoder = PduDecoder::new(DecoderConfig {
            role: Role::Target,
            max_pdu_len: config.max_h2c_data.max(config.in_capsule_data_size) + 256,
            max_data_len: config.max_h2c_data.max(config.in_capsule_data_size),
            digests: Digests::default(),
        });
        TcpConn {
            decoder,
            ic_done: false,
            digests: Digests::default(),
            dead: false,
            closed: false,
            rx_pending: Vec::new(),
            next_ttag: 1,
            r2t: BTreeMap::new(),
            sq_head: 0,
            fused_first: None,
            fused: Vec::new(),
            need_buffer: Vec::new(),
            slots: super::tcp_slots::TcpSlots::default(),
        }
    }
}

impl Target {
    /// `Input::Bytes`: buffered until the qpair is on its poll group, else decoded now (the
    /// poll group's socket poller).
    pub(super) fn handle_bytes(&mut self, conn: ConnId, data: &[u8]) {
        let Some(h) = self.conns.get(&conn).copied() else {
            return;
        };
        let Some(q) = self.qpairs.get_mut(h) else {
            return;
        };
        if q.tcp().dead || q.disconnect_started() {
            return;
        }
        if q.state() == super::QpairState::Uninitialized {
            q.tcp_mut().rx_pending.extend_from_slice(data);
            return;
        }
        if q.tcp_mut().slots.hold_input(data) {
            return;
        }
        super::ownership::enter(&mut self.current, ThreadId::PollGroup(q.pg()));
        self.process_bytes(h, data);
    }

    /// Decodes and handles every whole PDU in `data`.
    pub(super) fn process_bytes(&mut self, h: QpairH, data: &[u8]) {
        let mut input = data;
        loop {
            let Some(q) = self.qpairs.get_mut(h) else {
                return;
            };
            if q.tcp().dead || q.disconnect_started() || self.violation.is_some() {
                return;
            }
            if q.tcp_mut().slots.hold_input(input) {
                return;
            }
            match q.tcp_mut().decoder.decode(&mut input) {
                Ok(Some(pdu)) => self.handle_pdu(h, pdu),
                Ok(None) => return,
                Err(e) => {
                    let term = e.term_req();
                    self.fatal(h, term);
                    return;
                }
            }
        }
    }

    /// Sends C2HTermReq, closes the connection and disconnects the qpair.
    pub(super) fn fatal(&mut self, h: QpairH, term: TermReq) {
        let Some(q) = self.qpairs.get_mut(h) else {
            return;
        };
        let conn = q.conn();
        q.tcp_mut().dead = true;
        q.tcp_mut().closed = true;
        let pdu = Pdu::C2HTermReq(term);
        let data = pdu.into_pdu_bytes(Digests::default());
        self.outputs.push_back(Output::Send { conn, data });
        self.outputs.push_back(Output::Close { conn });
        self.mark(Mark::TermReqSent, format!("conn={}", conn.0));
        self.qpair_disconnect(h);
    }

    fn protocol_error(&mut self, h: QpairH, fes: FatalErrorStatus, fei: u32) {
        self.fatal(
            h,
            TermReq {
                fes,
                fei,
                data: Vec::new(),
            },
        );
    }

    fn handle_pdu(&mut self, h: QpairH, pdu: Pdu) {
        let Some(q) = self.qpairs.get(h) else { return };
        let ic_done = q.tcp().ic_done;
        match pdu {
            Pdu::IcReq(ic) if !ic_done => self.handle_icreq(h, &ic),
            _ if !ic_done => self.protocol_error(h, FatalErrorStatus::PduSequenceError, 0),
            Pdu::CapsuleCmd(cmd) => self.handle_capsule(h, cmd),
            Pdu::H2CData(d) => self.handle_h2c_data(h, d),
            Pdu::H2CTermReq(_) => {
                if let Some(q) = self.qpairs.get_mut(h) {
                    q.tcp_mut().dead = true;
                }
                self.qpair_disconnect(h);
            }
            _ => self.protocol_error(h, FatalErrorStatus::PduSequenceError, 0),
        }
    }

    fn handle_icreq(&mut self, h: QpairH, ic: &IcReq) {
        if ic.pfv != 0 {
            self.protocol_error(h, FatalErrorStatus::InvalidHeaderField, 8);
            return;
        }
        if ic.hpda > 31 {
            self.protocol_error(h, FatalErrorStatus::InvalidHeaderField, 10);
            return;
        }
        let maxh2cdata = self.config.max_h2c_data;
        let Some(q) = self.qpairs.get_mut(h) else {
            return;
        };
        let conn = q.conn();
        let tcp = q.tcp_mut();
        tcp.ic_done = true;
        tcp.digests = ic.digests;
        tcp.decoder.set_digests(ic.digests);
        let resp = Pdu::IcResp(IcResp {
            pfv: 0,
            cpda: 0,
            digests: ic.digests,
            maxh2cdata,
        });
        // The ICResp itself goes out without digests.
        self.emit_pdu(conn, Digests::default(), resp);
        self.mark(Mark::IcDone, format!("conn={}", conn.0));
    }

    /// A command capsule takes a request slot (tcp_slots.rs) and becomes a request.
    fn handle_capsule(&mut self, h: QpairH, cap: CapsuleCmd) {
        if self.tcp_capsule_slot(h, &cap) {
            self.handle_capsule_admitted(h, cap);
        }
    }

    /// A capsule with its slot becomes a request; writes without in-capsule data get an R2T
    /// first.
    pub(super) fn handle_capsule_admitted(&mut self, h: QpairH, cap: CapsuleCmd) {
        let Some(q) = self.qpairs.get_mut(h) else {
            return;
        };
        let kind = if q.qid() == 0 {
            QueueKind::Admin
        } else {
            QueueKind::Io
        };
        let cmd = Command::parse(&cap.sqe, kind);
        let req = Request::new(h, q.conn(), q.pg(), cap.sqe, cmd, cap.data);
        let write_len = self.write_len(h, &req.cmd, req.sqe.sgl1.len);
        let needs_r2t =
            req.sqe.sgl1.kind == SGL_TRANSPORT && req.data.is_empty() && write_len.is_some();
        let fuse = req.sqe.flags & 3;
        let next = match write_len {
            Some(len) if needs_r2t && len > 0 => super::request::Next::R2t(len),
            _ => super::request::Next::Execute,
        };
        let needs_buffer = self.tcp_needs_buffer(h, &req, next);
        let r = self.reqs.insert(req);
        self.tcp_fused_new(h, r, fuse);
        if needs_buffer && !self.tcp_get_buffer(h, r, next) {
            return;
        }
        self.tcp_req_continue(h, r, next);
    }

    pub(super) fn send_r2t(&mut self, h: QpairH, r: ReqH, len: u32) {
        if len > self.config.max_h2c_data {
            // One R2T per command in this model: larger writes are rejected.
            self.complete_unadmitted(h, r, crate::wire::status::INVALID_FIELD);
            return;
        }
        let Some(q) = self.qpairs.get_mut(h) else {
            return;
        };
        let conn = q.conn();
        let tcp = q.tcp_mut();
        let ttag = tcp.next_ttag;
        tcp.next_ttag = tcp.next_ttag.wrapping_add(1).max(1);
        tcp.r2t.insert(ttag, r);
        let digests = tcp.digests;
        let Some(req) = self.live(r, "nvmf_tcp_send_r2t_pdu") else {
            return;
        };
        req.phase = Phase::AwaitingData;
        req.data_len = len;
        let pdu = Pdu::R2T(R2T {
            cccid: req.sqe.cid,
            ttag,
            r2to: 0,
            r2tl: len,
        });
        self.emit_pdu(conn, digests, pdu);
    }

    /// Answers a request that never reached `request_exec`.
    pub(super) fn complete_unadmitted(&mut self, h: QpairH, r: ReqH, st: crate::wire::Status) {
        self.tcp_fused_answered_early(h, r);
        if let Some(q) = self.qpairs.get_mut(h) {
            q.push_outstanding(r);
        }
        self.transport_complete(r, st);
    }

    fn handle_h2c_data(&mut self, h: QpairH, d: H2CData) {
        let Some(q) = self.qpairs.get_mut(h) else {
            return;
        };
        let Some(r) = q.tcp_mut().r2t.get(&d.ttag).copied() else {
            self.protocol_error(h, FatalErrorStatus::InvalidHeaderField, 10);
            return;
        };
        let Some(req) = self.reqs.get_mut(r) else {
            return;
        };
        let in_order = d.datao as usize == req.data.len() && d.cccid == req.sqe.cid;
        let fits = req.data.len() + d.data.len() <= req.data_len as usize;
        if !in_order || !fits {
            self.protocol_error(h, FatalErrorStatus::DataOutOfRange, 12);
            return;
        }
        if req.data.is_empty() {
            // The first (usually only) H2CData: its buffer becomes the request's, uncopied.
            req.data = d.data;
        } else {
            req.data.extend_from_slice(&d.data);
            if let Some(q) = self.qpairs.get_mut(h) {
                q.tcp_mut().decoder.recycle(d.data);
            }
        }
        if req.data.len() == req.data_len as usize {
            if let Some(q) = self.qpairs.get_mut(h) {
                q.tcp_mut().r2t.remove(&d.ttag);
            }
            self.tcp_ready_to_execute(h, r);
        }
    }

    /// Encodes one PDU onto a connection (its data moves into the output, uncopied).
    pub(super) fn emit_pdu(&mut self, conn: ConnId, digests: Digests, pdu: Pdu) {
        let data = pdu.into_pdu_bytes(digests);
        self.outputs.push_back(Output::Send { conn, data });
    }
}
