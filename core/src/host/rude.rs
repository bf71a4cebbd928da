//! Misbehaving-host actions: an admin command on the admin queue after ICResp but before
//! CONNECT, an I/O CONNECT with a cntlid remembered from an admin queue that may be gone, and
//! AERs sent at any time (beyond AERL, while CC.EN is 0).
//! Real initiators do both (a host racing its own connect sequence, a host that has not yet
//! noticed its keep-alive lapsed or its admin connection dropped); the simulator's scripts use
//! them to drive SPDK's pre-CONNECT and admin-qpair-gone paths.
//!
//! Invariants kept: neither action touches the controller state of the host (`Ctrl`); the
//! answer to an early admin command is reported as `CommandFailed` (or ignored on success).

use super::queue::{Payload, Purpose, QueueState};
use super::{Host, HostEvent, Qid};
use crate::wire::Command;

/// The command an early admin opcode stands for, with the data it asks for.
fn early_command(opc: u8) -> (Command, Payload) {
    match opc {
        0x0C => (Command::AsyncEventRequest, Payload::None),
        0x18 => (Command::KeepAlive, Payload::None),
        0x06 => (
            Command::Identify {
                cns: 1,
                cntid: 0,
                nsid: 0,
            },
            Payload::Receive(4096),
        ),
        0x02 => (
            Command::GetLogPage {
                lid: 1,
                numd: 15,
                offset: 0,
                nsid: 0,
            },
            Payload::Receive(64),
        ),
        opc => (Command::Other { opc, fctype: None }, Payload::None),
    }
}

impl Host {
    /// `HostAction::AdminBeforeConnect`: needs the admin queue negotiated (ICResp accepted)
    /// and its CONNECT not answered yet (not sent, or in flight: a host that pipelines its
    /// first commands behind the CONNECT).
    pub(crate) fn admin_before_connect(&mut self, opc: u8) {
        let state = self.queues.get(&0).map(|q| q.state);
        if !matches!(state, Some(QueueState::IcDone | QueueState::Connecting)) {
            return self.reject(format!(
                "admin command before CONNECT needs a negotiated admin queue ({state:?})"
            ));
        }
        let (cmd, payload) = early_command(opc);
        if let Err(status) = self.submit(0, &cmd, Purpose::BeforeConnect, payload) {
            self.event(HostEvent::CommandFailed {
                qid: 0,
                opc,
                status,
            });
        }
    }

    /// `HostAction::Aers`: `count` AERs on the live admin queue, beyond AERL and during a
    /// reset too; each is handled like the driver's own (re-sent after an event, reported if
    /// it fails).
    pub(crate) fn submit_aers(&mut self, count: u8) {
        for _ in 0..count {
            self.submit_aer();
        }
    }

    /// `HostAction::ConnectIoStale`: like `ConnectIo`, but with the last cntlid learned.
    pub(crate) fn connect_io_stale(&mut self, qid: Qid) {
        let open = self.queues.get(&qid).is_some_and(|q| q.is_open());
        let Some(cntlid) = self.ctrl.last_cntlid.filter(|_| qid != 0 && !open) else {
            return self.event(HostEvent::ConnectFailed {
                qid,
                status: super::local_status::HOST_PATH_ERROR,
            });
        };
        self.open_queue(qid, true);
        if let Some(q) = self.queues.get_mut(&qid) {
            q.stale_cntlid = Some(cntlid);
        }
    }
}
