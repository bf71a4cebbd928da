//! The sans-IO NVMe-oF target: SPDK's nvmf lifecycle (listeners, subsystems with pause/resume,
//! poll groups, qpairs, controllers, CONNECT, properties, identify, keep-alive, AER, I/O) as
//! logical threads with FIFO message queues that the driver runs one message at a time.
//!
//! Calling order (quinn-proto's shape):
//! 1. `Target::new(config)`.
//! 2. Feed inputs with `handle(now, input)`; `enabled_events()` lists the internal events that
//!    may run next (`Input::Run(thread)`, `Input::Complete(io)`, `Input::Fire(timer)` with its
//!    deadline). The driver MUST pick one and feed it; that choice is the interleaving.
//! 3. After every call drain `poll_output()` until `None`.
//! 4. `check_invariants()` is a read-only oracle; call it after every step.
//!
//! Time never goes backwards (`debug_assert!`). Where SPDK would crash, the target records a
//! sticky `Violation` and ignores later inputs.
//!
//! CONTRACT NOTE: the public names here are the interface the simulator, the model checker and
//! the runtime are written against. Add freely; do not rename or remove.

mod admin;
pub mod arena;
mod callbacks;
pub mod catalogue;
mod connect;
mod ctrlr;
mod display;
pub mod invariants;
mod io;
#[cfg(test)]
mod layering;
mod listener;
mod live;
mod poll_group;
mod profile;
mod qpair;
mod request;
mod rpc;
mod sgroup;
mod state;
mod subsystem;
mod tcp;
mod thread;
mod timer;
mod violations;

use crate::time::Instant;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

use arena::{Arena, CtrlrH, QpairH, ReqH, SubsysH};
pub use catalogue::{catalogue, CatalogueEntry};
use ctrlr::Ctrlr;
use listener::Listener;
use poll_group::PollGroup;
pub use profile::{Spdk, MASTER_COMMIT};
use qpair::Qpair;
use request::Request;
pub use state::{QpairState, SubState};
use subsystem::Subsystem;
use thread::{Fanout, Msg};
pub use violations::{InvariantId, Violation};

/// A connection chosen by the driver (one TCP connection = one qpair).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ConnId(pub u64);

/// A logical SPDK thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ThreadId {
    /// RPCs, the acceptor and the subsystems' thread.
    App,
    /// Poll group `n` (0-based).
    PollGroup(u16),
}

impl fmt::Display for ThreadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ThreadId::App => write!(f, "app"),
            ThreadId::PollGroup(n) => write!(f, "pg{n}"),
        }
    }
}

/// A transport ID (trtype TCP, adrfam IPv4 in this model).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Trid {
    pub traddr: String,
    pub trsvcid: String,
}

impl Trid {
    /// `Trid::tcp("127.0.0.1", 4420)`.
    pub fn tcp(addr: &str, port: u16) -> Self {
        Trid {
            traddr: addr.to_string(),
            trsvcid: port.to_string(),
        }
    }
}

impl fmt::Display for Trid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.traddr, self.trsvcid)
    }
}

/// A catalogue bug that can be switched back on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum BugId {
    /// `free_aer` without the `ctrlr.is_some()` guard (SPDK #3302, fix 6c23277d0a, v24.05).
    Spdk3302,
    /// A namespace pause of an already PAUSED poll group skips the drain (SPDK #3738, fix
    /// d123762feb, after v26.05).
    Spdk3738,
}

/// The set of catalogue bugs switched on (empty = the fixed core).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct BugSet(pub BTreeSet<BugId>);

impl BugSet {
    pub fn has(&self, bug: BugId) -> bool {
        self.0.contains(&bug)
    }
}

/// A RAM-backed namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NamespaceConfig {
    pub nsid: u32,
    pub block_size: u32,
    pub blocks: u64,
}

/// A subsystem created at start-up (or by `RpcRequest::CreateSubsystem`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SubsystemConfig {
    pub nqn: String,
    pub allow_any_host: bool,
    pub hosts: Vec<String>,
    pub listeners: Vec<Trid>,
    pub namespaces: Vec<NamespaceConfig>,
    pub min_cntlid: u16,
    pub max_cntlid: u16,
    pub serial: String,
    pub model: String,
    /// Start ACTIVE (true) or INACTIVE.
    pub start: bool,
}

impl SubsystemConfig {
    /// An ACTIVE subsystem allowing any host, cntlid 1..=0xFFEF, no listeners or namespaces.
    pub fn new(nqn: &str) -> Self {
        SubsystemConfig {
            nqn: nqn.to_string(),
            allow_any_host: true,
            hosts: Vec::new(),
            listeners: Vec::new(),
            namespaces: Vec::new(),
            min_cntlid: 1,
            max_cntlid: 0xFFEF,
            serial: "FABCHECK0000000001".to_string(),
            model: "fabcheck target".to_string(),
            start: true,
        }
    }
}

/// Static target configuration.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TargetConfig {
    pub poll_groups: u16,
    /// The SPDK version modelled (every version-dependent behaviour at once).
    pub spdk: Spdk,
    pub bugs: BugSet,
    /// Transport listeners opened at start (subsystem listeners are added to these).
    pub listeners: Vec<Trid>,
    pub subsystems: Vec<SubsystemConfig>,
    /// Minimum keep-alive timeout (SPDK default 10000 ms).
    pub min_kato_ms: u32,
    /// Maximum queue depth (CAP.MQES + 1).
    pub max_queue_depth: u16,
    /// Maximum I/O qpairs per controller.
    pub max_io_qpairs_per_ctrlr: u16,
    /// In-capsule data size (ioccsz = 4 + this / 16).
    pub in_capsule_data_size: u32,
    /// Maximum H2CData payload (ICResp maxh2cdata).
    pub max_h2c_data: u32,
    /// Maximum data transfer per command (bytes).
    pub max_io_size: u32,
    /// Association timeout after a CC reset/shutdown (SPDK default 120000 ms).
    pub association_timeout_ms: u32,
}

impl Default for TargetConfig {
    fn default() -> Self {
        TargetConfig {
            poll_groups: 2,
            spdk: Spdk::Master,
            bugs: BugSet::default(),
            listeners: Vec::new(),
            subsystems: Vec::new(),
            min_kato_ms: 10_000,
            max_queue_depth: 128,
            max_io_qpairs_per_ctrlr: 127,
            in_capsule_data_size: 4096,
            max_h2c_data: 131_072,
            max_io_size: 131_072,
            association_timeout_ms: 120_000,
        }
    }
}

/// Identifies an RPC call so its single answer can be matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RpcId(pub u64);

/// Operator actions, named after SPDK's RPCs and C API.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RpcRequest {
    CreateSubsystem(SubsystemConfig),
    /// `nvmf_delete_subsystem`: stop, then destroy.
    DeleteSubsystem {
        nqn: String,
    },
    StartSubsystem {
        nqn: String,
    },
    StopSubsystem {
        nqn: String,
    },
    /// `spdk_nvmf_subsystem_pause(nsid)`; nsid 0 = all.
    PauseSubsystem {
        nqn: String,
        nsid: u32,
    },
    ResumeSubsystem {
        nqn: String,
    },
    AddHost {
        nqn: String,
        hostnqn: String,
    },
    RemoveHost {
        nqn: String,
        hostnqn: String,
    },
    AllowAnyHost {
        nqn: String,
        allow: bool,
    },
    /// Through pause(nsid) -> add -> resume.
    AddNamespace {
        nqn: String,
        ns: NamespaceConfig,
    },
    /// Through pause(nsid) -> remove -> resume.
    RemoveNamespace {
        nqn: String,
        nsid: u32,
    },
    /// Transport listen (refcounted).
    TransportListen {
        trid: Trid,
    },
    /// `nvmf_subsystem_add_listener`: transport listen + subsystem listener, under pause.
    SubsystemAddListener {
        nqn: String,
        trid: Trid,
    },
    /// `nvmf_subsystem_remove_listener`: pause, `stop_listen_async(trid, subsystem)`, resume.
    SubsystemRemoveListener {
        nqn: String,
        trid: Trid,
    },
    /// `spdk_nvmf_transport_stop_listen_async(trid, subsystem or none)` as an embedder calls it.
    StopListenAsync {
        trid: Trid,
        nqn: Option<String>,
    },
    /// `spdk_nvmf_qpair_disconnect` on the qpair of this connection.
    DisconnectQpair {
        conn: ConnId,
    },
    GetSubsystems,
    GetControllers {
        nqn: String,
    },
    GetQpairs {
        nqn: String,
    },
    GetListeners {
        nqn: String,
    },
    /// Whole-target teardown: stop subsystems, stop listeners, destroy subsystems, destroy poll
    /// groups, destroy target.
    Shutdown,
}

/// An RPC's single answer on success.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RpcResponse {
    Done,
    Subsystems(Vec<SubsystemInfo>),
    Controllers(Vec<ControllerInfo>),
    Qpairs(Vec<QpairInfo>),
    Listeners(Vec<Trid>),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SubsystemInfo {
    pub nqn: String,
    /// SPDK's state name, e.g. "active", "paused".
    pub state: String,
    pub allow_any_host: bool,
    pub hosts: Vec<String>,
    pub listeners: Vec<Trid>,
    pub namespaces: Vec<NamespaceConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ControllerInfo {
    pub cntlid: u16,
    pub hostnqn: String,
    pub hostid: [u8; 16],
    pub num_io_qpairs: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct QpairInfo {
    pub conn: ConnId,
    pub cntlid: Option<u16>,
    pub qid: u16,
    /// SPDK's state name, e.g. "enabled".
    pub state: String,
    pub listen: Trid,
    pub thread: ThreadId,
}

/// An RPC failure, with SPDK-like errno semantics.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
#[error("{message} (code {code})")]
pub struct RpcError {
    /// Negative errno as SPDK returns it (-ENOENT not found, -EAGAIN wrong state, -EINVAL, ...).
    pub code: i32,
    pub message: String,
}

/// A pending RAM device completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DeviceIoId(pub u64);

/// Everything that can be fed to the target.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Input {
    /// A new connection on the listener `trid`. Unknown trid: the target closes `conn`.
    Accept {
        trid: Trid,
        conn: ConnId,
    },
    Bytes {
        conn: ConnId,
        data: Vec<u8>,
    },
    PeerClosed {
        conn: ConnId,
    },
    Rpc {
        id: RpcId,
        request: RpcRequest,
    },
    /// Run the head message of this thread's queue.
    Run(ThreadId),
    /// Deliver a device completion.
    Complete(DeviceIoId),
    /// Fire this timer (the driver sets `now` to its deadline or later).
    Fire(Timer),
}

/// An internal event that may run next, with the earliest time it may run (`None` = now).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EnabledEvent {
    pub input: Input,
    pub at: Option<Instant>,
}

/// Timers (pollers) of the model, keyed so they expire in a deterministic order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Timer {
    /// Keep-alive poller of the controller with this serial (controller pollers belong to
    /// the controller object; serials are never reused, cntlids are).
    KeepAlive { ctrlr: u64 },
    /// Association timer after CC reset/shutdown.
    Association { ctrlr: u64 },
    /// 100 ms re-poll while a CC reset/shutdown waits for I/O qpairs.
    CcRepoll { ctrlr: u64 },
    /// 10 s CC timeout (`nvmf_ctrlr_cc_timeout`).
    CcTimeout { ctrlr: u64 },
    /// Retry-mode CONNECT re-poll (100 us, 1 s give-up) of the CONNECT on this connection.
    ConnectRetry { conn: ConnId },
    /// Duplicate-qid retry (1000 us).
    QidRetry { conn: ConnId },
    /// A connection that never sent ICReq or CONNECT.
    IdleConnection { conn: ConnId },
}

/// Everything the target produces.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Output {
    Send {
        conn: ConnId,
        data: Vec<u8>,
    },
    Close {
        conn: ConnId,
    },
    RpcDone {
        id: RpcId,
        result: Result<RpcResponse, RpcError>,
    },
    Event(TargetEvent),
}

/// Lifecycle events for traces and coverage.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TargetEvent {
    pub thread: ThreadId,
    pub mark: Mark,
    /// Human detail, e.g. "qpair conn=3 qid=0".
    pub detail: String,
}

/// Named lifecycle points (coverage marks). `name()` is the stable string scenarios use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Mark {
    QpairAccepted,
    IcDone,
    AdminConnectStarted,
    /// An admin CONNECT was parked because its subsystem was not ACTIVE.
    ConnectParked,
    /// Parked while the subsystem was PAUSING (the #3302 window).
    ConnectParkedWhilePausing,
    ConnectRetryGaveUp,
    ConnectReplayedOnResume,
    /// `_nvmf_subsystem_add_ctrlr` failed (e.g. cntlid range exhausted).
    CtrlrAddFailed,
    CtrlrCreated,
    ConnectResponded,
    IoConnectRejected,
    /// stop_listen_async met a qpair with no controller.
    StopListenMetQpairWithoutCtrlr,
    StopListenDone,
    DisconnectWithOutstanding,
    /// `free_aer` was reached on a qpair with no controller.
    FreeAerWithoutCtrlr,
    QpairDestroyed,
    CtrlrDestroyed,
    KeepAliveExpired,
    CcReset,
    CcShutdown,
    PauseWaitedForDrain,
    StateChangeQueued,
    SubsystemPaused,
    SubsystemResumed,
    NamespaceChangedAen,
    IoCompleted,
    TermReqSent,
    TargetShutdownDone,
    /// `spdk_nvmf_qpair_disconnect` started on a qpair.
    QpairDisconnectStarted,
    StopListenStarted,
    /// An I/O CONNECT was accepted (mask bit set on the ctrlr thread).
    IoConnectAccepted,
    AssociationExpired,
    SubsystemStarted,
    SubsystemStopped,
    SubsystemDestroyed,
    /// An AER was completed with an event.
    AenCompleted,
    PeerClosed,
    /// A CC reset/shutdown re-polled because I/O qpairs were still alive.
    CcRepolled,
    /// `nvmf_ctrlr_cc_timeout` reset a namespace through the admin qpair's poll group.
    CcTimeoutReset,
}

impl Mark {
    /// Stable snake_case name, e.g. "stop_listen_met_qpair_without_ctrlr".
    pub fn name(self) -> &'static str {
        display::mark_name(self)
    }

    /// Every mark, in declaration order (for coverage tables).
    pub fn all() -> &'static [Mark] {
        display::ALL_MARKS
    }
}

/// What keeps the target from quiescence (liveness phase).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct QuiescenceReport {
    /// One line per stuck thing: "pause of cnode1 never finished", "CONNECT on conn 3 unanswered".
    pub stuck: Vec<String>,
}

impl QuiescenceReport {
    pub fn is_quiet(&self) -> bool {
        self.stuck.is_empty()
    }
}

/// The whole target state. `Clone + Eq + Hash + Serialize` for fingerprinting.
///
/// Calling order: see the module docs. Objects live in generation-tagged arenas; every thread
/// hop is a `Msg` on a per-thread FIFO queue.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Target {
    config: TargetConfig,
    now: Instant,
    /// Thread queues: index 0 is the app thread, 1 + n is poll group n.
    queues: Vec<VecDeque<Msg>>,
    /// Busy re-poll messages parked until what they wait for changes (see `thread::park_msg`).
    parked: Vec<Vec<Msg>>,
    /// The thread whose code is running (for I6 checks).
    current: ThreadId,
    #[serde(serialize_with = "arena::ser_pairs")]
    listeners: BTreeMap<Trid, Listener>,
    subsystems: Arena<SubsysH, Subsystem>,
    pgs: Vec<PollGroup>,
    qpairs: Arena<QpairH, Qpair>,
    ctrlrs: Arena<CtrlrH, Ctrlr>,
    reqs: Arena<ReqH, Request>,
    conns: BTreeMap<ConnId, QpairH>,
    fanouts: BTreeMap<u64, Fanout>,
    next_fanout: u64,
    #[serde(serialize_with = "arena::ser_pairs")]
    timers: BTreeMap<Timer, Instant>,
    /// Requests parked on a `Timer::ConnectRetry` poller.
    retry_reqs: BTreeMap<ConnId, ReqH>,
    /// Pending device completions.
    device: BTreeMap<DeviceIoId, ReqH>,
    next_device_io: u64,
    /// (subsystem index, cntlid) -> controller, for timers.
    #[serde(serialize_with = "arena::ser_pairs")]
    ctrlr_keys: BTreeMap<u64, CtrlrH>,
    /// Round-robin cursor of the acceptor.
    next_pg: u16,
    rpcs_pending: BTreeSet<RpcId>,
    shutdown: Option<rpc::Shutdown>,
    outputs: VecDeque<Output>,
    violation: Option<Violation>,
    history: invariants::History,
}

impl Target {
    pub fn new(config: TargetConfig) -> Self {
        let n = config.poll_groups.max(1);
        let mut t = Target {
            queues: vec![VecDeque::new(); usize::from(n) + 1],
            parked: vec![Vec::new(); usize::from(n) + 1],
            pgs: vec![PollGroup::default(); usize::from(n)],
            config,
            now: Instant::ZERO,
            current: ThreadId::App,
            listeners: BTreeMap::new(),
            subsystems: Arena::default(),
            qpairs: Arena::default(),
            ctrlrs: Arena::default(),
            reqs: Arena::default(),
            conns: BTreeMap::new(),
            fanouts: BTreeMap::new(),
            next_fanout: 1,
            timers: BTreeMap::new(),
            retry_reqs: BTreeMap::new(),
            device: BTreeMap::new(),
            next_device_io: 1,
            ctrlr_keys: BTreeMap::new(),
            next_pg: 0,
            rpcs_pending: BTreeSet::new(),
            shutdown: None,
            outputs: VecDeque::new(),
            violation: None,
            history: invariants::History::default(),
        };
        t.apply_initial_config();
        t
    }

    pub fn config(&self) -> &TargetConfig {
        &self.config
    }

    /// Current virtual time (the latest `now` passed in).
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Feeds one input. `now` MUST NOT go backwards.
    pub fn handle(&mut self, now: Instant, input: Input) {
        debug_assert!(now >= self.now, "time went backwards: {now} < {}", self.now);
        self.now = self.now.max(now);
        if self.violation.is_some() {
            return;
        }
        match input {
            Input::Accept { trid, conn } => self.handle_accept(&trid, conn),
            Input::Bytes { conn, data } => self.handle_bytes(conn, &data),
            Input::PeerClosed { conn } => self.handle_peer_closed(conn),
            Input::Rpc { id, request } => self.handle_rpc(id, request),
            Input::Run(thread) => self.run_thread(thread),
            Input::Complete(io) => self.handle_device_complete(io),
            Input::Fire(timer) => self.fire_timer(timer),
        }
    }

    /// Fires every timer due at `now`, in key order. Spurious calls are no-ops.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        let due: Vec<Timer> = self
            .timers
            .iter()
            .filter(|(_, at)| **at <= self.now)
            .map(|(t, _)| *t)
            .collect();
        for timer in due {
            if self.violation.is_some() {
                return;
            }
            self.fire_timer(timer);
        }
    }

    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// The earliest armed timer deadline.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.violation.is_some() {
            return None;
        }
        self.timers.values().min().copied()
    }

    /// Internal events that may run next: threads with queued messages, pending device
    /// completions, armed timers (with their deadlines). Deterministic order. Empty once the
    /// target has crashed.
    pub fn enabled_events(&self) -> Vec<EnabledEvent> {
        if self.violation.is_some() {
            return Vec::new();
        }
        let mut out: Vec<EnabledEvent> = (0..self.queues.len())
            .filter(|i| !self.queues[*i].is_empty())
            .map(|i| EnabledEvent {
                input: Input::Run(thread::thread_of(i)),
                at: None,
            })
            .collect();
        out.extend(self.device.keys().map(|io| EnabledEvent {
            input: Input::Complete(*io),
            at: None,
        }));
        out.extend(self.timers.iter().map(|(t, at)| EnabledEvent {
            input: Input::Fire(*t),
            at: Some(*at),
        }));
        out
    }

    /// Read-only oracle over I1-I10 (safety parts). The sticky crash, if any, is returned first.
    pub fn check_invariants(&self) -> Result<(), Violation> {
        if let Some(v) = &self.violation {
            return Err(v.clone());
        }
        invariants::check(self)
    }

    /// The sticky crash, if the target has crashed.
    pub fn violation(&self) -> Option<&Violation> {
        self.violation.as_ref()
    }

    /// What is still pending (liveness): stuck pauses, unanswered CONNECTs, unfired callbacks,
    /// undestroyed objects after shutdown.
    pub fn quiescence_report(&self) -> QuiescenceReport {
        invariants::quiescence(self)
    }

    /// Number of live qpairs (any state).
    pub fn qpair_count(&self) -> usize {
        self.qpairs.len()
    }

    /// Number of live controllers.
    pub fn ctrlr_count(&self) -> usize {
        self.ctrlrs.len()
    }

    /// Number of live subsystems.
    pub fn subsystem_count(&self) -> usize {
        self.subsystems.len()
    }

    /// Number of live requests (admitted, parked, queued or executing).
    pub fn request_count(&self) -> usize {
        self.reqs.len()
    }

    /// The state of a subsystem by NQN.
    pub fn subsystem_state(&self, nqn: &str) -> Option<SubState> {
        self.find_subsystem(nqn)
            .and_then(|s| self.subsystems.get(s))
            .map(|s| s.state())
    }

    /// The state of the qpair of a connection (None once freed).
    pub fn qpair_state(&self, conn: ConnId) -> Option<QpairState> {
        let q = self.conns.get(&conn)?;
        self.qpairs.get(*q).map(|q| q.state())
    }

    /// The poll group thread serving a connection.
    pub fn qpair_thread(&self, conn: ConnId) -> Option<ThreadId> {
        let q = self.conns.get(&conn)?;
        self.qpairs.get(*q).map(|q| ThreadId::PollGroup(q.pg()))
    }

    /// Messages queued on a thread.
    pub fn queue_len(&self, thread: ThreadId) -> usize {
        self.queues
            .get(thread::thread_index(thread))
            .map_or(0, VecDeque::len)
    }

    /// SPDK names of the messages queued on a thread, head first (for traces).
    pub fn queued_messages(&self, thread: ThreadId) -> Vec<&'static str> {
        self.queues
            .get(thread::thread_index(thread))
            .map(|q| q.iter().map(Msg::name).collect())
            .unwrap_or_default()
    }

    /// Whether a whole-target shutdown has finished.
    pub fn is_shut_down(&self) -> bool {
        self.shutdown.as_ref().is_some_and(|s| s.done)
    }

    /// Pending device I/O ids.
    pub fn pending_device_ios(&self) -> Vec<DeviceIoId> {
        self.device.keys().copied().collect()
    }

    /// Armed timers with their deadlines.
    pub fn armed_timers(&self) -> Vec<(Timer, Instant)> {
        self.timers.iter().map(|(t, at)| (*t, *at)).collect()
    }
}
