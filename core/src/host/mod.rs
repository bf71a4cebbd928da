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
//! Invariants kept: every `Read`/`Write` ends in exactly one `IoDone` (a local status from
//! `local_status` when it never reached the target or its queue closed); a misbehaving peer
//! closes only its own queue (H2CTermReq + `Close`); timers exist only while the admin queue
//! is live; no map iteration order reaches a decision (BTreeMap only), so runs are repeatable.
//!
//! Files: `queue` (per-connection state, CIDs, capsules), `conn` (IC, CONNECT, PDU dispatch,
//! errors, close), `init` (the init sequence, namespace scans), `ctrl` (phases, CSTS polling,
//! reset, shutdown, keep-alive, AERs), `io` (reads, writes, R2T, C2HData), `display`.
//!
//! CONTRACT NOTE: the public names here are the interface the simulator and the runtime use.
//! Add freely; do not rename or remove.

mod conn;
mod ctrl;
mod display;
mod init;
mod io;
mod peer;
mod queue;
mod rude;

use crate::time::Instant;
use crate::wire::{AsyncEvent, Digests, FatalErrorStatus, Status};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

pub use ctrl::CtrlPhase;
pub use peer::dup_qid_key;
pub use queue::QueueState;

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
    /// 0's based submission queue size sent in CONNECT (the admin queue uses at most 31,
    /// as Linux and SPDK hosts do; SPDK's target rejects larger admin queues).
    pub sqsize: u16,
    /// Largest write sent in-capsule; larger writes use R2T + H2CData.
    pub in_capsule_max: u32,
    /// Number of AERs kept outstanding after init (SPDK host: up to 4, Linux: 1).
    pub aers: u8,
    /// Ask the controller to disable SQ flow control: CONNECT `cattr.dissqfc` on every queue,
    /// as SPDK's host does with `disable_sq_flow_control` (`nvme_fabric_qpair_connect_async`).
    /// The host never reads SQHD, so nothing else changes on its side.
    #[serde(default)]
    pub disable_sq_flow_control: bool,
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
            disable_sq_flow_control: false,
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
    /// Send an admin command with opcode `opc` on the admin queue after ICResp and before
    /// CONNECT (a misbehaving host): 0x0C AER, 0x06 Identify controller, 0x18 Keep Alive, 0x02
    /// Get Log Page, anything else as a bare SQE. Reported as `CommandFailed` unless it succeeds.
    AdminBeforeConnect { opc: u8 },
    /// Open I/O queue `qid` and CONNECT it with the last cntlid this host learned, whether or
    /// not its admin queue is still connected (a host whose view of the controller is stale).
    ConnectIoStale { qid: Qid },
    /// Property Set CC with the host's CC value but EN = `en` and SHN = `shn` (0..=3), outside
    /// the host's reset/shutdown state machine (peer.rs).
    WriteCc { en: bool, shn: u8 },
    /// A second CONNECT on the connected queue `qid` (same capsule as its first).
    ConnectAgain { qid: Qid },
    /// Open a new connection and CONNECT it as I/O queue `qid` with the current cntlid, even
    /// if `qid` is in use; the host keys that connection `dup_qid_key(qid)`.
    ConnectDupQid { qid: Qid },
    /// Send one H2CData PDU on `qid` for the last command answered with an R2T (by now
    /// completed or aborted), or for cid 0 / ttag 0 if none was.
    StaleH2cData { qid: Qid },
    /// Vanish without FIN: stop reading, sending and every timer (half-open connections).
    Vanish,
    /// Send `count` Asynchronous Event Requests on the admin queue now, whatever the
    /// controller's state and AERL (a host racing its reset, or one ignoring the limit).
    Aers { count: u8 },
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
    /// The host gave up on the controller: an init check failed (Identify `icdoff`, `sgls`,
    /// `cntlid`) or CSTS did not reach the wanted state within the CAP.TO-derived bound.
    ControllerFailed { reason: String },
    /// A scripted action made no sense in the current state (e.g. `Reset` before CONNECT) and
    /// was dropped. Reads and writes are never rejected this way: they always end in `IoDone`.
    Rejected { reason: String },
}

/// Local completion statuses the host makes up itself (as Linux does), for commands that never
/// reached the target.
pub mod local_status {
    use crate::wire::Status;

    const fn path(sc: u8) -> Status {
        Status {
            sct: 3,
            sc,
            crd: 0,
            more: false,
            dnr: true,
        }
    }

    /// The queue is not connected (Linux `NVME_SC_HOST_PATH_ERROR`).
    pub const HOST_PATH_ERROR: Status = path(0x70);
    /// The queue closed while the command was outstanding (Linux `NVME_SC_HOST_ABORTED_CMD`).
    pub const HOST_ABORTED: Status = path(0x71);
}

/// The sans-IO host. `Clone + Eq + Hash` so a model checker can fingerprint it.
///
/// invariant: `queues` holds at most one entry per qid; a `Closed` entry is replaced when the
/// qid is opened again.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Host {
    config: HostConfig,
    now: Instant,
    queues: BTreeMap<Qid, queue::Queue>,
    ctrl: ctrl::Ctrl,
    out: VecDeque<HostOutput>,
    /// Set by `HostAction::Vanish`: every later input is ignored.
    vanished: bool,
}

impl Host {
    pub fn new(config: HostConfig) -> Self {
        Host {
            config,
            now: Instant::ZERO,
            queues: BTreeMap::new(),
            ctrl: ctrl::Ctrl::default(),
            out: VecDeque::new(),
            vanished: false,
        }
    }

    pub fn config(&self) -> &HostConfig {
        &self.config
    }

    /// Feeds one input. `now` MUST NOT go backwards (earlier values are clamped).
    pub fn handle(&mut self, now: Instant, input: HostInput) {
        self.now = self.now.max(now);
        if self.vanished {
            return;
        }
        match input {
            HostInput::Opened { qid } => self.handle_opened(qid),
            HostInput::Bytes { qid, data } => self.handle_bytes(qid, &data),
            HostInput::Closed { qid } => self.handle_peer_closed(qid),
            HostInput::Do(action) => self.handle_action(action),
        }
    }

    /// Fires whatever timers are due at `now` (keep-alive, CSTS polling). Spurious calls are no-ops.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        if self.vanished {
            return;
        }
        self.fire_csts_poll();
        self.fire_keep_alive();
    }

    #[must_use]
    pub fn poll_output(&mut self) -> Option<HostOutput> {
        self.out.pop_front()
    }

    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let poll = self.ctrl.poll.as_ref().and_then(|p| p.next);
        match (poll, self.ctrl.ka.next) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The cntlid the admin CONNECT returned, if connected.
    pub fn cntlid(&self) -> Option<u16> {
        self.ctrl.cntlid
    }

    /// Whether the init sequence finished and the controller is usable.
    pub fn is_ready(&self) -> bool {
        self.ctrl.phase == CtrlPhase::Ready
    }

    /// Where the controller (admin side) is in its lifecycle.
    pub fn phase(&self) -> CtrlPhase {
        self.ctrl.phase
    }

    /// The state of queue `qid`'s connection, if it was ever opened.
    pub fn queue_state(&self, qid: Qid) -> Option<QueueState> {
        self.queues.get(&qid).map(|q| q.state)
    }

    /// Commands in flight on `qid` (AERs included on the admin queue).
    pub fn outstanding(&self, qid: Qid) -> usize {
        self.queues.get(&qid).map_or(0, |q| q.outstanding.len())
    }

    /// Namespaces learned by Identify: `(nsid, block size in bytes)`.
    pub fn namespaces(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.ctrl.namespaces.iter().map(|(&n, &b)| (n, b))
    }

    /// The last cntlid an admin CONNECT returned, even after the admin queue closed.
    pub fn last_cntlid(&self) -> Option<u16> {
        self.ctrl.last_cntlid
    }

    /// Whether periodic Keep Alive is armed.
    pub fn keep_alive_armed(&self) -> bool {
        self.ctrl.ka.next.is_some()
    }

    fn event(&mut self, event: HostEvent) {
        self.out.push_back(HostOutput::Event(event));
    }

    fn reject(&mut self, reason: impl Into<String>) {
        self.event(HostEvent::Rejected {
            reason: reason.into(),
        });
    }

    fn handle_action(&mut self, action: HostAction) {
        match action {
            HostAction::OpenAdmin => self.open_admin(),
            HostAction::ConnectAdmin => self.connect_admin(),
            HostAction::Initialize => self.initialize(),
            HostAction::Connect => self.connect_all(),
            HostAction::ConnectIo { qid } => self.connect_io(qid),
            HostAction::Read {
                tag,
                qid,
                nsid,
                slba,
                nlb,
            } => self.read(tag, qid, nsid, slba, nlb),
            HostAction::Write {
                tag,
                qid,
                nsid,
                slba,
                data,
            } => self.write(tag, qid, nsid, slba, data),
            HostAction::KeepAlive => self.keep_alive_now(),
            HostAction::SetKeepAlive(on) => self.set_keep_alive(on),
            HostAction::Reset => self.reset(),
            HostAction::Shutdown => self.shutdown(),
            HostAction::Disconnect { qid } => self.disconnect(qid),
            HostAction::DisconnectAll => self.disconnect_all(),
            HostAction::AdminBeforeConnect { opc } => self.admin_before_connect(opc),
            HostAction::ConnectIoStale { qid } => self.connect_io_stale(qid),
            HostAction::WriteCc { en, shn } => self.write_cc_raw(en, shn),
            HostAction::ConnectAgain { qid } => self.connect_again(qid),
            HostAction::ConnectDupQid { qid } => self.connect_dup_qid(qid),
            HostAction::StaleH2cData { qid } => self.stale_h2c_data(qid),
            HostAction::Vanish => self.vanish(),
            HostAction::Aers { count } => self.submit_aers(count),
        }
    }
}
