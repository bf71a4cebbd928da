//! The single owner task of the sans-IO `Target`, driven quinn-style.
//!
//! Every step: take what arrived (accepted sockets, bytes, peer closes, RPCs, shutdown; on a
//! current-thread runtime the driver reads the connections' sockets itself), feed
//! it with `handle(now, input)`, then run every enabled internal event whose time has come
//! (`Input::Run(thread)` for each thread with queued messages, `Input::Complete(io)`,
//! `Input::Fire(timer)` once due) until none is left, draining `poll_output()` after every
//! input, and finally sleep until the next timer deadline (`poll_timeout()`) or the next
//! message. After a step that fed the core anything, the driver first yields to the runtime
//! (which polls the sockets without sleeping) for `Limits::busy_poll_us` before it sleeps;
//! in that window a turn after one that fed nothing reads its recently active sockets without
//! waiting for the runtime's readiness news (`read_sockets`).
//! Each thread's queue is run FIFO by the core; the driver only picks threads, round robin by
//! construction (one pass over the due inputs at a time, `Target::push_due_inputs`). The
//! PDUs each connection got in a step are handed to its `tcp::ConnHandle` once, at the end
//! of the step (on a current-thread runtime that is the `writev` itself, and the PDUs it
//! wrote go back to the core for their buffers, `Target::recycle`).
//!
//! Invariants kept: `now` (nanoseconds since start on tokio's clock) never goes backwards;
//! every input fed is recorded first (when recording), so a recording replays to identical
//! outputs; every RPC gets exactly one reply; the listening sockets follow the core's listeners
//! (bound before an add reaches the core, closed once no subsystem or transport listen wants
//! them); a connection the core closed is never fed again.

mod control;
mod step;

use crate::config::Limits;
use crate::record::Recorder;
use crate::shared::{ConnLimiter, ShutdownLatch};
use crate::tcp::{self, ConnHandle, NetEvent};
use fabcheck_core::nvmf::{
    ConnId, Input, Mark, Output, QpairState, RpcError, RpcId, RpcRequest, RpcResponse, Target,
    TargetConfig, Trid, Violation,
};
use fabcheck_core::wire::PduBytes;
use fabcheck_core::Instant;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// An RPC answer channel.
pub type RpcReply = oneshot::Sender<Result<RpcResponse, RpcError>>;
/// A read-only look at the driver's state (tests and diagnostics).
pub type InspectFn = Box<dyn FnOnce(&Target, &Stats) + Send>;
/// The recording sink.
pub type RecordSink = Recorder<Box<dyn Write + Send>>;

/// Control messages to the driver (from the RPC server, signal handlers and tests).
pub enum Control {
    Rpc {
        request: RpcRequest,
        reply: RpcReply,
    },
    Shutdown,
    Inspect(InspectFn),
    /// The peer address of every live connection.
    Peers(oneshot::Sender<BTreeMap<u64, std::net::SocketAddr>>),
}

/// Counters the driver keeps.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub inputs: u64,
    pub accepted: u64,
    pub marks: BTreeMap<Mark, u64>,
    /// The first `check_invariants` failure seen (with `DriverOptions::check_invariants`).
    pub invariant_failure: Option<Violation>,
    pub live_conns: usize,
}

impl Stats {
    pub fn mark(&self, m: Mark) -> u64 {
        self.marks.get(&m).copied().unwrap_or(0)
    }
}

/// How the driver runs.
#[derive(Default)]
pub struct DriverOptions {
    pub limits: Limits,
    /// Where to write the recording (`--record FILE`); the config line is written at start,
    /// after port-0 listeners are resolved.
    pub record: Option<Box<dyn Write + Send>>,
    /// Receives a copy of every output, in order (tests).
    pub output_tap: Option<mpsc::UnboundedSender<Output>>,
    /// Calls `check_invariants()` after every input (tests; costs time).
    pub check_invariants: bool,
}

/// What a finished driver reports.
#[derive(Debug, Clone)]
pub struct Summary {
    pub violation: Option<Violation>,
    pub stats: Stats,
    /// The shutdown RPC completed (false: it failed or timed out).
    pub clean: bool,
}

/// A handle for talking to the driver. Cheap to clone.
#[derive(Clone)]
pub struct DriverHandle {
    ctl: mpsc::UnboundedSender<Control>,
    latch: ShutdownLatch,
}

impl DriverHandle {
    /// Runs one core RPC.
    pub async fn rpc(&self, request: RpcRequest) -> Result<RpcResponse, RpcError> {
        let (reply, rx) = oneshot::channel();
        let gone = || RpcError {
            code: -108,
            message: "target is shut down".into(),
        };
        self.ctl
            .send(Control::Rpc { request, reply })
            .map_err(|_| gone())?;
        rx.await.unwrap_or_else(|_| Err(gone()))
    }

    /// Asks for a graceful shutdown (idempotent).
    pub fn shutdown(&self) {
        if self.latch.request() {
            let _ = self.ctl.send(Control::Shutdown);
        }
    }

    /// Runs `f` on the driver with read access to the target and the stats.
    pub async fn inspect<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Target, &Stats) -> R + Send + 'static,
    ) -> Option<R> {
        let (tx, rx) = oneshot::channel();
        let f: InspectFn = Box::new(move |t, s| {
            let _ = tx.send(f(t, s));
        });
        self.ctl.send(Control::Inspect(f)).ok()?;
        rx.await.ok()
    }

    pub fn latch(&self) -> &ShutdownLatch {
        &self.latch
    }
}

impl crate::rpc::Backend for DriverHandle {
    async fn core(&self, request: RpcRequest) -> Result<RpcResponse, RpcError> {
        self.rpc(request).await
    }
    async fn peers(&self) -> BTreeMap<u64, std::net::SocketAddr> {
        let (tx, rx) = oneshot::channel();
        if self.ctl.send(Control::Peers(tx)).is_err() {
            return BTreeMap::new();
        }
        rx.await.unwrap_or_default()
    }
    fn shutdown(&self) {
        DriverHandle::shutdown(self);
    }
}

/// A running target: the driver task plus the resolved listen addresses.
pub struct Server {
    pub handle: DriverHandle,
    /// The target config after port-0 listeners were resolved to real ports.
    pub config: TargetConfig,
    pub task: JoinHandle<Summary>,
}

impl Server {
    /// Binds the configured listeners (port 0 = any free port), creates the `Target` and
    /// spawns the driver.
    pub fn start(mut config: TargetConfig, mut opts: DriverOptions) -> std::io::Result<Server> {
        let limiter = ConnLimiter::new(opts.limits.max_connections);
        let (net_tx, net_rx) = mpsc::channel(4096);
        let (ctl_tx, ctl_rx) = mpsc::unbounded_channel();
        let mut listeners = BTreeMap::new();
        let configured = config.listeners.clone();
        for trid in configured {
            let (l, real) = tcp::bind(&trid)?;
            rename_trid(&mut config, &trid, &real);
            let task = tcp::spawn_acceptor(l, real.clone(), limiter.clone(), net_tx.clone());
            listeners.insert(real, task);
        }
        let recorder = match opts.record.take() {
            Some(sink) => Some(Recorder::new(sink, &config).map_err(std::io::Error::other)?),
            None => None,
        };
        let latch = ShutdownLatch::new();
        let driver = Driver {
            target: Target::new(config.clone()),
            start: tokio::time::Instant::now(),
            last: Instant::ZERO,
            last_wall: tokio::time::Instant::now(),
            transport_listens: listeners.keys().cloned().collect(),
            listeners,
            limiter,
            net_tx,
            conns: BTreeMap::new(),
            dirty: Vec::new(),
            written: Vec::new(),
            direct_io: tokio::runtime::Handle::current().runtime_flavor()
                == tokio::runtime::RuntimeFlavor::CurrentThread,
            rpcs: BTreeMap::new(),
            due: Vec::new(),
            next_conn: 1,
            next_rpc: 1,
            stats: Stats::default(),
            idle_ns: opts.limits.idle_timeout_ms.saturating_mul(1_000_000),
            idle_check: None,
            recorder,
            opts,
            latch: latch.clone(),
            shutdown_done: None,
        };
        let task = tokio::spawn(driver.run(net_rx, ctl_rx));
        Ok(Server {
            handle: DriverHandle { ctl: ctl_tx, latch },
            config,
            task,
        })
    }
}

fn rename_trid(config: &mut TargetConfig, from: &Trid, to: &Trid) {
    for t in config.listeners.iter_mut().chain(
        config
            .subsystems
            .iter_mut()
            .flat_map(|s| s.listeners.iter_mut()),
    ) {
        if t == from {
            *t = to.clone();
        }
    }
}

/// Why the driver is waiting for an RPC answer.
enum Pending {
    External {
        reply: RpcReply,
        syncs_listeners: bool,
    },
    ListenerSync,
    Shutdown,
}

struct Conn {
    handle: ConnHandle,
    /// PDUs the core sent since the last flush, in order (the buffer is kept).
    pending: Vec<PduBytes>,
    /// Close the connection if it is not ENABLED by then.
    idle_deadline: Option<Instant>,
    peer_closed: bool,
    peer: std::net::SocketAddr,
    /// When a read of this connection last brought bytes: within the busy-poll window it is
    /// read without waiting for readiness news (`Driver::read_sockets`).
    last_bytes: Option<Instant>,
}

struct Driver {
    target: Target,
    start: tokio::time::Instant,
    last: Instant,
    /// The clock reading `last` came from.
    last_wall: tokio::time::Instant,
    recorder: Option<RecordSink>,
    opts: DriverOptions,
    listeners: BTreeMap<Trid, JoinHandle<()>>,
    /// Trids listened on for the transport itself (config or `TransportListen`).
    transport_listens: BTreeSet<Trid>,
    limiter: ConnLimiter,
    net_tx: mpsc::Sender<NetEvent>,
    conns: BTreeMap<ConnId, Conn>,
    /// Connections with PDUs waiting in `Conn::pending`, in the order they got their first.
    dirty: Vec<ConnId>,
    /// PDUs `flush_out` wrote out, on their way back to the core (the buffer is kept).
    written: Vec<PduBytes>,
    /// Whether the driver reads and writes the connections' sockets itself (a current-thread
    /// runtime; `tcp::ConnHandle`) instead of through reader and writer tasks.
    direct_io: bool,
    rpcs: BTreeMap<RpcId, Pending>,
    /// `run_ready`'s buffer of due inputs, kept between passes.
    due: Vec<Input>,
    next_conn: u64,
    next_rpc: u64,
    stats: Stats,
    idle_ns: u64,
    /// No connection's idle deadline is earlier (a lower bound: deadlines are only ever
    /// cleared between the scans that recompute it); `None`: no connection has one.
    idle_check: Option<Instant>,
    latch: ShutdownLatch,
    /// Set when the shutdown RPC answered: whether it succeeded.
    shutdown_done: Option<bool>,
}

/// Messages handled per wakeup before the internal events run.
const BATCH: usize = 256;
/// Reads of one socket per turn of the step loop (`Driver::read_sockets`).
const READS_PER_TURN: usize = 4;
/// Connections read without waiting for readiness news per busy-poll turn
/// (`Driver::read_sockets`): each costs a system call when nothing came, so a turn spends at
/// most this many on them, and more active connections than this wait for readiness.
const EAGER_READS_MAX: usize = 4;
/// Internal events run per wakeup before yielding to the sockets.
const EVENT_BUDGET: usize = 50_000;
/// How long the teardown may take.
const SHUTDOWN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

fn crashed_error(violation: &str) -> RpcError {
    RpcError {
        code: -5,
        message: format!("target crashed: {violation}"),
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
