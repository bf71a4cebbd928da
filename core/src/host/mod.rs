//! Sans-IO NVMe/TCP initiator (host): one controller association, an admin queue and I/O
//! queues, each queue its own byte stream.
//!
//! Owns: ICReq/ICResp negotiation, CONNECT (admin with dynamic cntlid, I/O with the admin's
//! cntlid), the init sequence real hosts use, periodic Keep Alive, AERs, reads and writes
//! (in-capsule, R2T + H2CData, C2HData with or without SUCCESS), CC reset and shutdown.
//!
//! Calling order (same shape as the target): `handle(now, input)` for everything from outside,
//! `handle_timeout(now)` when `poll_timeout()` is due, then drain `poll_output()` until `None`.
//! Protocol errors are values (`HostEvent::ProtocolError`), never panics.
//!
//! CONTRACT NOTE: the public names here are the interface the simulator and the runtime use.
//! Add freely; do not rename or remove.

use crate::time::Instant;
use crate::wire::{AsyncEvent, Digests, FatalErrorStatus, Status};
use serde::{Deserialize, Serialize};

/// Queue id: 0 is the admin queue, 1.. are I/O queues. Each queue is one TCP connection.
pub type Qid = u16;

/// Static parameters of one host.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HostConfig {
    pub hostnqn: String,
    pub hostid: [u8; 16],
    pub subnqn: String,
    /// Keep-alive timeout requested in CONNECT (ms); 0 disables keep-alive.
    pub kato_ms: u32,
    /// Digests requested in ICReq.
    pub digests: Digests,
    /// 0's based submission queue size sent in CONNECT.
    pub sqsize: u16,
    /// Largest write sent in-capsule; larger writes use R2T + H2CData.
    pub in_capsule_max: u32,
    /// Number of AERs kept outstanding after init (SPDK host: up to 4, Linux: 1).
    pub aers: u8,
}

impl HostConfig {
    /// A host with SPDK-initiator-like defaults for `hostnqn` connecting to `subnqn`.
    pub fn new(hostnqn: &str, subnqn: &str) -> Self {
        HostConfig {
            hostnqn: hostnqn.to_string(),
            hostid: [0; 16],
            subnqn: subnqn.to_string(),
            kato_ms: 10_000,
            digests: Digests::default(),
            sqsize: 127,
            in_capsule_max: 4096,
            aers: 1,
        }
    }
}

/// Something that happened to the host, or a scripted step to take.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HostInput {
    /// The connection for `qid` (asked for with `HostOutput::Open`) is established.
    Opened { qid: Qid },
    /// Bytes arrived on the connection of `qid`.
    Bytes { qid: Qid, data: Vec<u8> },
    /// The connection of `qid` was closed by the peer or the network.
    Closed { qid: Qid },
    /// A scripted action.
    Do(HostAction),
}

/// Scripted host actions (the simulator's host scripts are sequences of these).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HostAction {
    /// Open the admin connection and send ICReq; stop there (a host that stalls before CONNECT).
    OpenAdmin,
    /// Send the admin CONNECT (after IC negotiation).
    ConnectAdmin,
    /// Run the init sequence after CONNECT: properties, CC.EN, CSTS.RDY, identify, features, AERs.
    Initialize,
    /// `OpenAdmin`, `ConnectAdmin` and `Initialize`, each started as soon as the previous ends.
    Connect,
    /// Open I/O queue `qid`, send ICReq, then its CONNECT with the admin cntlid.
    ConnectIo { qid: Qid },
    /// Read `nlb` blocks (1-based count) at `slba`; completion reported with `tag`.
    Read {
        tag: u64,
        qid: Qid,
        nsid: u32,
        slba: u64,
        nlb: u32,
    },
    /// Write `data` (a whole number of blocks) at `slba`; completion reported with `tag`.
    Write {
        tag: u64,
        qid: Qid,
        nsid: u32,
        slba: u64,
        data: Vec<u8>,
    },
    /// Send one Keep Alive now.
    KeepAlive,
    /// Stop (false) or restart (true) the periodic Keep Alive.
    SetKeepAlive(bool),
    /// Property Set CC.EN = 0 (controller reset).
    Reset,
    /// Property Set CC.SHN = normal, then poll CSTS.SHST.
    Shutdown,
    /// Close the connection of `qid`.
    Disconnect { qid: Qid },
    /// Close every connection.
    DisconnectAll,
}

/// What the host asks of its driver, or reports.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HostOutput {
    /// Open a connection for `qid`; answer with `HostInput::Opened`.
    Open {
        qid: Qid,
    },
    /// Send these bytes on the connection of `qid`.
    Send {
        qid: Qid,
        data: Vec<u8>,
    },
    /// Close the connection of `qid`.
    Close {
        qid: Qid,
    },
    Event(HostEvent),
}

/// Results and errors, reported as values.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HostEvent {
    /// ICResp accepted on `qid`.
    IcDone { qid: Qid },
    /// CONNECT on `qid` succeeded.
    Connected { qid: Qid, cntlid: u16 },
    /// CONNECT on `qid` failed with `status`.
    ConnectFailed { qid: Qid, status: Status },
    /// The init sequence finished: the controller is ready.
    Ready { cntlid: u16 },
    /// An init-sequence or admin command failed.
    CommandFailed { qid: Qid, opc: u8, status: Status },
    /// A read or write finished; `data` holds read data.
    IoDone {
        tag: u64,
        status: Status,
        data: Vec<u8>,
    },
    /// An AER completed with this event.
    Aen(AsyncEvent),
    /// CC.SHN finished with CSTS.SHST = complete.
    ShutdownComplete,
    /// CC.EN = 0 finished with CSTS.RDY = 0.
    ResetComplete,
    /// The peer violated the protocol; the host sent H2CTermReq (if it could) and closed `qid`.
    ProtocolError { qid: Qid, reason: String },
    /// The target sent C2HTermReq on `qid`.
    TermReceived { qid: Qid, fes: FatalErrorStatus },
    /// The connection of `qid` is gone.
    QueueClosed { qid: Qid },
}

/// The sans-IO host. `Clone + Eq + Hash` so a model checker can fingerprint it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Host {
    config: HostConfig,
}

impl Host {
    pub fn new(config: HostConfig) -> Self {
        Host { config }
    }

    pub fn config(&self) -> &HostConfig {
        &self.config
    }

    /// Feeds one input. `now` MUST NOT go backwards.
    pub fn handle(&mut self, now: Instant, input: HostInput) {
        let _ = (now, input);
        todo!()
    }

    /// Fires whatever timers are due at `now` (keep-alive, CSTS polling). Spurious calls are no-ops.
    pub fn handle_timeout(&mut self, now: Instant) {
        let _ = now;
        todo!()
    }

    #[must_use]
    pub fn poll_output(&mut self) -> Option<HostOutput> {
        todo!()
    }

    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        todo!()
    }

    /// The cntlid the admin CONNECT returned, if connected.
    pub fn cntlid(&self) -> Option<u16> {
        todo!()
    }
}
