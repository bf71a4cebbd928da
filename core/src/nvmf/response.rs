//! The response of a request on the wire (`request_transfer_out` and
//! `_nvmf_tcp_send_c2h_data`): the SQ head step and SQHD, the C2HData carrying read data, and
//! whether a C2HData with SUCCESS replaces the CapsuleResp (`Spdk::c2h_success`, given the
//! transport option and the controller's SQ flow control, `Spdk::negotiates_sq_flow_control`).
//!
//! Invariant kept: a request gets at most one response, and none once its qpair is no longer
//! active; the read data moves into the C2HData, so the request ends right after.

use super::arena::{QpairH, ReqH};
use super::ownership::{foreign, Foreign};
use super::Target;
use crate::wire::{C2HData, CapsuleResp, Pdu};

impl Target {
    /// Whether the controller of qpair `qh` runs without SQ flow control (None: no
    /// controller).
    pub(super) fn sq_flow_control_of(&self, qh: QpairH) -> Option<bool> {
        let c = self.qpairs.get(qh)?.ctrlr()?;
        let _fixed = foreign(Foreign::FixedFields);
        self.ctrlrs
            .get(c)
            .map(super::Ctrlr::sq_flow_control_disabled)
    }

    /// Emits the C2HData (if any) and the CapsuleResp of a request, unless the connection is
    /// dead. A C2HData with SUCCESS replaces the CapsuleResp where the profile's transport
    /// sets it (`Spdk::c2h_success`).
    /// The read data moves into the C2HData PDU: the request ends right after this.
    pub(super) fn send_response(&mut self, r: ReqH) {
        let Some(qh) = self.reqs.get(r).map(|req| req.qpair) else {
            return;
        };
        let ctrlr_fc_disabled = self.sq_flow_control_of(qh);
        let Some(req) = self.reqs.get_mut(r) else {
            return;
        };
        let Some(q) = self.qpairs.get_mut(req.qpair) else {
            return;
        };
        // `nvmf_tcp_req_process`: a request of a qpair that is no longer active goes to
        // COMPLETED without a response PDU.
        if q.tcp().dead || q.tcp().closed || !q.state().is_active() {
            return;
        }
        let mut cqe = req.rsp;
        // `request_transfer_out`: without a controller, or with SQ flow control on, the SQ
        // head advances per response (wrapping after SQSIZE) and is reported; with it
        // disabled SQHD stays as the handler left it (0, or 0xFFFF for CONNECT).
        if ctrlr_fc_disabled != Some(true) {
            let head = q.tcp().sq_head;
            q.tcp_mut().sq_head = if head == q.sqsize() { 0 } else { head + 1 };
            cqe.sqhd = q.tcp().sq_head;
        }
        cqe.cid = req.sqe.cid;
        // `_nvmf_request_complete`: `rsp->sqid = 0` on every queue (v24.01 and master).
        cqe.sqid = 0;
        let c2h = !req.rsp_data.is_empty() && cqe.status.is_success();
        let success = c2h
            && self
                .config
                .spdk
                .c2h_success(self.config.c2h_success, ctrlr_fc_disabled, &cqe);
        let data = c2h.then(|| {
            Pdu::C2HData(C2HData {
                cccid: req.sqe.cid,
                datao: 0,
                last: true,
                success,
                data: std::mem::take(&mut req.rsp_data),
            })
        });
        let resp = (!success).then_some(Pdu::CapsuleResp(CapsuleResp { cqe }));
        let (conn, qh) = (q.conn(), req.qpair);
        let digests = q.tcp().digests;
        self.history.responses_sent += 1;
        let deferred = self.tcp_write_begin(qh);
        if let Some(req) = self.reqs.get_mut(r) {
            req.write_pending = deferred;
        }
        for pdu in [data, resp].into_iter().flatten() {
            self.emit_pdu(conn, digests, pdu);
        }
    }
}
