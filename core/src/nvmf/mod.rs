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

mod abort;
mod admin;
mod api;
pub mod arena;
mod blocks;
mod buffers;
mod callbacks;
pub mod catalogue;
mod config;
mod connect;
mod connect_admin;
mod connect_qid;
mod connect_retry;
mod ctrlr;
mod ctrlr_destruct;
mod ctrlr_events;
mod disconnect_cb;
mod discovery;
mod display;
mod fused;
mod historical;
mod host_wait;
mod ident;
pub mod invariants;
mod io;
mod io_cmds;
#[cfg(test)]
mod layering;
mod listener;
mod live;
mod log_page;
mod mark;
mod multipath;
pub mod nqn;
mod objects;
pub mod ownership;
#[doc(hidden)]
pub mod planted;
mod poll_group;
mod poller;
mod profile;
mod qpair;
mod qpair_fini;
mod request;
mod request_counter;
mod response;
mod rpc;
mod rpc_hosts;
mod rpc_listeners;
mod rpc_query;
mod sgroup;
mod shutdown;
mod state;
mod subsys_listener;
mod subsystem;
mod subsystem_destroy;
mod tcp;
mod tcp_fused;
mod tcp_slots;
mod thread;
mod thread_life;
mod timer;
mod trid;
mod violations;
mod write_cache;
#[doc(hidden)]
pub use planted::Planted;

use crate::time::Instant;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

pub use api::{
    ControllerInfo, DeviceIoId, EnabledEvent, Input, Output, QpairInfo, RpcError, RpcId,
    RpcRequest, RpcResponse, SubsystemInfo, TargetEvent, Timer,
};
use arena::{Arena, CtrlrH, QpairH, ReqH, SubsysH};
pub use catalogue::{catalogue, BugId, BugSet, CatalogueEntry};
pub use config::{
    NamespaceConfig, NamespaceIds, NamespaceIdsConfig, SubsystemConfig, TargetConfig,
    DEFAULT_MAX_NAMESPACES,
};
pub use connect_retry::BusyConnect;
use ctrlr::Ctrlr;
pub use discovery::DISCOVERY_NQN;
pub use listener::FilteredDisconnect;
pub use mark::Mark;
use poll_group::PollGroup;
pub use profile::{Spdk, MASTER_COMMIT};
use qpair::Qpair;
use request::Request;
pub use state::{QpairState, SubState};
use subsystem::Subsystem;
pub use tcp_slots::RecvState;
use thread::{Fanout, Msg};
pub use thread_life::ThreadLife;
pub use trid::BadTrid;
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
    listeners: listener::Listeners,
    subsystems: Arena<SubsysH, Subsystem>,
    pgs: Vec<PollGroup>,
    qpairs: Arena<QpairH, Qpair>,
    ctrlrs: Arena<CtrlrH, Ctrlr>,
    reqs: Arena<ReqH, Request>,
    conns: BTreeMap<ConnId, QpairH>,
    fanouts: BTreeMap<u64, Fanout>,
    next_fanout: u64,
    /// Registered pollers and the owners' pointer fields to them (poller.rs).
    pollers: poller::Pollers,
    /// Requests parked on a `Timer::ConnectRetry` poller.
    retry_reqs: BTreeMap<ConnId, ReqH>,
    /// Pending device completions.
    device: BTreeMap<DeviceIoId, ReqH>,
    /// Pending zero-copy response writes whose completion may be delivered (tcp_slots.rs).
    tcp_writes: BTreeMap<DeviceIoId, QpairH>,
    next_device_io: u64,
    /// (subsystem index, cntlid) -> controller, for timers.
    #[serde(serialize_with = "arena::ser_pairs")]
    ctrlr_keys: BTreeMap<u64, CtrlrH>,
    /// Round-robin cursor of the acceptor.
    next_pg: u16,
    rpcs_pending: BTreeSet<RpcId>,
    shutdown: Option<shutdown::Shutdown>,
    outputs: VecDeque<Output>,
    violation: Option<Violation>,
    history: invariants::History,
    /// The discovery service's state (discovery.rs).
    discovery: discovery::Discovery,
    /// Thread and poll-group lifetime (thread_life.rs, I15).
    lifetime: thread_life::Lifetime,
    /// S7: each poll group's data buffers and their wait queue (buffers.rs).
    bufs: buffers::Buffers,
    /// Contexts of `remove_host` RPCs waiting for the host's controllers (host_wait.rs).
    host_waits: BTreeMap<RpcId, host_wait::HostWait>,
    /// Data buffers of sent read responses the embedder handed back (`recycle`), filled by
    /// the next reads instead of new allocations. A cache, not state: equality, hashing and
    /// clones ignore it (`Spares`), so the simulator and the model checker, which never hand
    /// buffers back, see the same target with or without it.
    #[serde(skip)]
    spare_data: crate::wire::Spares,
}

impl Target {
    pub fn new(config: TargetConfig) -> Self {
        let n = config.poll_groups.max(1);
        let bufs = buffers::Buffers::new(n, config.pg_buffers);
        let mut t = Target {
            queues: vec![VecDeque::new(); usize::from(n) + 1],
            parked: vec![Vec::new(); usize::from(n) + 1],
            pgs: vec![PollGroup::default(); usize::from(n)],
            config,
            now: Instant::ZERO,
            current: ThreadId::App,
            listeners: listener::Listeners::default(),
            subsystems: Arena::default(),
            qpairs: Arena::default(),
            ctrlrs: Arena::default(),
            reqs: Arena::default(),
            conns: BTreeMap::new(),
            fanouts: BTreeMap::new(),
            next_fanout: 1,
            pollers: poller::Pollers::default(),
            retry_reqs: BTreeMap::new(),
            device: BTreeMap::new(),
            tcp_writes: BTreeMap::new(),
            next_device_io: 1,
            ctrlr_keys: BTreeMap::new(),
            next_pg: 0,
            rpcs_pending: BTreeSet::new(),
            shutdown: None,
            outputs: VecDeque::new(),
            violation: None,
            history: invariants::History::default(),
            discovery: discovery::Discovery::default(),
            lifetime: thread_life::Lifetime::new(usize::from(n) + 1),
            bufs,
            host_waits: BTreeMap::new(),
            spare_data: crate::wire::Spares::default(),
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
        let step = self.ownership_begin(&input);
        self.dispatch_input(input);
        self.ownership_end(step);
    }

    fn dispatch_input(&mut self, input: Input) {
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

    /// Fires every poller due at `now`, in key order. Spurious calls are no-ops.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        let due: Vec<Timer> = self
            .pollers
            .armed()
            .into_iter()
            .filter(|(_, at)| *at <= self.now)
            .map(|(t, _)| t)
            .collect();
        for timer in due {
            if self.violation.is_some() {
                return;
            }
            self.fire_timer(timer);
        }
    }

    /// Hands back the bytes of an `Output::Send` once they are on the wire: their data
    /// buffer is kept (up to 1 MiB in all) for the next reads to fill instead of allocating.
    /// Optional; without it every read allocates its buffer. fabcheck-target's driver calls it
    /// for what it wrote to a socket itself (docs/runtime.md, "The ninth pass").
    pub fn recycle(&mut self, sent: crate::wire::PduBytes) {
        let max = self.config.max_io_size as usize;
        self.spare_data.put(sent.into_data(), max);
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
        self.pollers.iter().filter_map(|(_, p)| p.next).min()
    }

    /// Internal events that may run next: threads with queued messages, pending device
    /// completions, armed timers (with their deadlines). Deterministic order. Empty once the
    /// target has crashed.
    pub fn enabled_events(&self) -> Vec<EnabledEvent> {
        if self.violation.is_some() {
            return Vec::new();
        }
        let mut out: Vec<EnabledEvent> = Vec::new();
        self.each_untimed_input(|input| out.push(EnabledEvent { input, at: None }));
        // One `Fire` per poller name, at its earliest registration's deadline (a name armed
        // twice fires its registrations one after the other).
        let mut armed = self.pollers.armed();
        armed.dedup_by_key(|(t, _)| *t);
        out.extend(armed.into_iter().map(|(t, at)| EnabledEvent {
            input: Input::Fire(t),
            at: Some(at),
        }));
        out
    }

    /// The inputs of `enabled_events()` whose time has come at `now`, in the same order,
    /// appended to `out`: what a real-time driver runs next. It allocates nothing once `out`
    /// has room (a driver keeps one buffer), where `enabled_events()` builds two lists per
    /// call; the runtime called that one twice per I/O (docs/runtime.md, "The eighth pass").
    /// Nothing once the target has crashed.
    pub fn push_due_inputs(&self, now: Instant, out: &mut Vec<Input>) {
        if self.violation.is_some() {
            return;
        }
        self.each_untimed_input(|input| out.push(input));
        // One `Fire` per due poller name, in name order (as `enabled_events` dedups them).
        let timers = out.len();
        for (_, p) in self.pollers.iter() {
            if p.next.is_some_and(|at| at <= now) {
                out.push(Input::Fire(p.what));
            }
        }
        if out.len() - timers < 2 {
            return;
        }
        let fired = |i: &Input| match i {
            Input::Fire(t) => Some(*t),
            _ => None,
        };
        out[timers..].sort_unstable_by_key(fired);
        let mut kept = timers;
        for i in timers..out.len() {
            if kept == timers || fired(&out[kept - 1]) != fired(&out[i]) {
                out.swap(kept, i);
                kept += 1;
            }
        }
        out.truncate(kept);
    }

    /// Calls `f` with each internal event that may run at any time, in `enabled_events()`'s
    /// order: a `Run` per thread with queued messages, then a `Complete` per pending device
    /// I/O and TCP write. Plain loops, not a chain of iterators: the driver calls this on
    /// every turn, most of them with nothing pending.
    fn each_untimed_input(&self, mut f: impl FnMut(Input)) {
        for (i, q) in self.queues.iter().enumerate() {
            if !q.is_empty() {
                f(Input::Run(thread::thread_of(i)));
            }
        }
        for io in self.device.keys().chain(self.tcp_writes.keys()) {
            f(Input::Complete(*io));
        }
    }

    /// Read-only oracle over I1-I11 and L1 (safety parts). The sticky crash, if any, is returned first.
    pub fn check_invariants(&self) -> Result<(), Violation> {
        if let Some(v) = &self.violation {
            return Err(v.clone());
        }
        let _oracle = arena::record::pause();
        invariants::check(self)
    }

    /// The sticky crash, if the target has crashed.
    pub fn violation(&self) -> Option<&Violation> {
        self.violation.as_ref()
    }

    /// What is still pending (liveness): stuck pauses, unanswered CONNECTs, unfired callbacks,
    /// undestroyed objects after shutdown.
    pub fn quiescence_report(&self) -> QuiescenceReport {
        let _oracle = arena::record::pause();
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

    /// Registered pollers with a deadline, `(name, deadline)`, sorted by name then deadline.
    pub fn armed_timers(&self) -> Vec<(Timer, Instant)> {
        self.pollers.armed()
    }

    /// Number of registered pollers (idle ones included).
    pub fn poller_count(&self) -> usize {
        self.pollers.iter().count()
    }
}
