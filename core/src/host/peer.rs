//! What a real initiator can put on the wire outside a well-behaved driver's state machine:
//! a raw CC write with any EN/SHN combination, a second CONNECT on a connected queue, an I/O
//! CONNECT naming a qid already in use (on a new connection), an H2CData PDU for a command
//! that is already over, and vanishing without a FIN (a half-open connection: the host stops
//! reading and sending).
//!
//! Invariants kept: none of these touches the host's controller state (`Ctrl`): they are
//! bypasses, so the host's own view stays what its driver did; every command sent here is
//! `Purpose::Raw` and its failure is reported as `CommandFailed`; a vanished host ignores every
//! input and arms no timer, so it emits nothing more.

use super::queue::{Payload, Purpose, QueueState};
use super::{Host, HostEvent, Qid};
use crate::wire::{prop, Command, Cqe, H2CData, Pdu, OPC_FABRICS};

/// The host's key for the duplicate-qid connection of `qid` (its CONNECT says `qid`).
pub fn dup_qid_key(qid: Qid) -> Qid {
    0x8000 | qid
}

/// CC.EN and CC.SHN bits of a raw CC write (`shn`: 0 none, 1 normal, 2 abrupt, 3 reserved).
fn cc_bits(en: bool, shn: u8) -> u32 {
    u32::from(en) | (u32::from(shn & 3) << 14)
}

impl Host {
    /// `HostAction::WriteCc`: Property Set CC with the host's CC but `en`/`shn` as given.
    pub(crate) fn write_cc_raw(&mut self, en: bool, shn: u8) {
        let keep = self.ctrl.cc & !(cc_bits(true, 3));
        let cmd = Command::PropertySet {
            attrib: 0,
            ofst: prop::CC,
            value: u64::from(keep | cc_bits(en, shn)),
        };
        self.submit_raw(0, &cmd, Payload::None, OPC_FABRICS);
    }

    /// `HostAction::ConnectAgain`: a second CONNECT on the connected queue `qid`.
    pub(crate) fn connect_again(&mut self, qid: Qid) {
        if !self.is_live(qid) {
            return self.reject(format!("ConnectAgain: qid {qid} is not connected"));
        }
        let Some((cmd, data)) = self.connect_capsule(qid) else {
            return;
        };
        self.submit_raw(qid, &cmd, Payload::InCapsule(data), OPC_FABRICS);
    }

    /// `HostAction::ConnectDupQid`: a new connection whose I/O CONNECT names `qid` with the
    /// current cntlid, whether or not `qid` is in use (the host keys it `dup_qid_key(qid)`).
    pub(crate) fn connect_dup_qid(&mut self, qid: Qid) {
        let key = dup_qid_key(qid);
        let open = self.queues.get(&key).is_some_and(|q| q.is_open());
        if qid == 0 || open || self.ctrl.cntlid.is_none() {
            return self.event(HostEvent::ConnectFailed {
                qid: key,
                status: super::local_status::HOST_PATH_ERROR,
            });
        }
        self.open_queue(key, true);
        if let Some(q) = self.queues.get_mut(&key) {
            q.wire_qid = Some(qid);
        }
    }

    /// `HostAction::StaleH2cData`: one H2CData PDU on `qid` for the last command the target
    /// sent an R2T for (over by now, or aborted), else for command id 0 with transfer tag 0.
    pub(crate) fn stale_h2c_data(&mut self, qid: Qid) {
        let Some(q) = self
            .queues
            .get(&qid)
            .filter(|q| q.state == QueueState::Live)
        else {
            return self.reject(format!("StaleH2cData: qid {qid} is not connected"));
        };
        let (cccid, ttag) = q.last_r2t.unwrap_or((0, 0));
        let pdu = Pdu::H2CData(H2CData {
            cccid,
            ttag,
            datao: 0,
            last: true,
            data: vec![0; 512],
        });
        self.send_pdu(qid, &pdu);
    }

    /// `HostAction::Vanish`: the host stops reading and sending without closing anything.
    pub(crate) fn vanish(&mut self) {
        self.vanished = true;
        self.ctrl.ka.next = None;
        self.ctrl.poll = None;
    }

    /// Whether the host vanished (half-open connections).
    pub fn vanished(&self) -> bool {
        self.vanished
    }

    fn submit_raw(&mut self, qid: Qid, cmd: &Command, payload: Payload, opc: u8) {
        if let Err(status) = self.submit_live(qid, cmd, Purpose::Raw, payload) {
            self.event(HostEvent::CommandFailed { qid, opc, status });
        }
    }

    /// A raw command's completion: only failures are reported.
    pub(crate) fn raw_done(&mut self, qid: Qid, opc: u8, cqe: &Cqe) {
        if !cqe.status.is_success() {
            self.event(HostEvent::CommandFailed {
                qid,
                opc,
                status: cqe.status,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cc_bits_place_en_and_shn() {
        assert_eq!(cc_bits(true, 0), 1);
        assert_eq!(cc_bits(false, 1), 1 << 14);
        assert_eq!(cc_bits(true, 2), 1 | 2 << 14);
        assert_eq!(cc_bits(false, 7), 3 << 14, "shn is two bits");
        assert_eq!(dup_qid_key(1), 0x8001);
    }
}
