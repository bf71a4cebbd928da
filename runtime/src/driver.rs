//! The single owner task of the sans-IO `Target`, driven quinn-style.
//!
//! Every step: take what arrived (accepted sockets, bytes, peer closes, RPCs, shutdown), feed
//! it with `handle(now, input)`, then run every enabled internal event whose time has come
//! (`Input::Run(thread)` for each thread with queued messages, `Input::Complete(io)`,
//! `Input::Fire(timer)` once due) until none is left, draining `poll_output()` after every
//! input, and finally sleep until the next timer deadline (`poll_timeout()`) or the next
//! message. Each thread's queue is run FIFO by the core; the driver only picks threads, round
//! robin by construction (one pass over the enabled list at a time).
//!
//! Invariants kept: `now` (nanoseconds since start on tokio's clock) never goes backwards;
//! every input fed is recorded first (when recording), so a recording replays to identical
//! outputs; every RPC gets exactly one reply; the listening sockets follow the core's listeners
//! (bound before an add reaches the core, closed once no subsystem or transport listen wants
//! them); a connection the core closed is never fed again.

use crate::config::Limits;
use crate::record::Recorder;
use crate::shared::{ConnLimiter, ShutdownLatch};
use crate::tcp::{self, ConnHandle, NetEvent};
use fabcheck_core::nvmf::{
    ConnId, Input, Mark, Output, QpairState, RpcError, RpcId, RpcRequest, RpcResponse, Target,
    TargetConfig, Trid, Violation,
};
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
            transport_listens: listeners.keys().cloned().collect(),
            listeners,
            limiter,
            net_tx,
            conns: BTreeMap::new(),
            pending_out: BTreeMap::new(),
            rpcs: BTreeMap::new(),
            next_conn: 1,
            next_rpc: 1,
            stats: Stats::default(),
            idle_ns: opts.limits.idle_timeout_ms.saturating_mul(1_000_000),
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
    /// Close the connection if it is not ENABLED by then.
    idle_deadline: Option<Instant>,
    peer_closed: bool,
    peer: std::net::SocketAddr,
}

struct Driver {
    target: Target,
    start: tokio::time::Instant,
    last: Instant,
    recorder: Option<RecordSink>,
    opts: DriverOptions,
    listeners: BTreeMap<Trid, JoinHandle<()>>,
    /// Trids listened on for the transport itself (config or `TransportListen`).
    transport_listens: BTreeSet<Trid>,
    limiter: ConnLimiter,
    net_tx: mpsc::Sender<NetEvent>,
    conns: BTreeMap<ConnId, Conn>,
    pending_out: BTreeMap<ConnId, tcp::Batch>,
    rpcs: BTreeMap<RpcId, Pending>,
    next_conn: u64,
    next_rpc: u64,
    stats: Stats,
    idle_ns: u64,
    latch: ShutdownLatch,
    /// Set when the shutdown RPC answered: whether it succeeded.
    shutdown_done: Option<bool>,
}

/// Messages handled per wakeup before the internal events run.
const BATCH: usize = 256;
/// Internal events run per wakeup before yielding to the sockets.
const EVENT_BUDGET: usize = 50_000;
/// How long the teardown may take.
const SHUTDOWN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl Driver {
    async fn run(
        mut self,
        mut net: mpsc::Receiver<NetEvent>,
        mut ctl: mpsc::UnboundedReceiver<Control>,
    ) -> Summary {
        let mut deadline = None;
        let mut more = false;
        loop {
            if more {
                // Internal events are still runnable: only let other tasks run, do not sleep.
                tokio::task::yield_now().await;
            } else {
                self.wait(&mut net, &mut ctl, &mut deadline).await;
            }
            for _ in 0..BATCH {
                match net.try_recv() {
                    Ok(ev) => self.on_net(ev),
                    Err(_) => break,
                }
            }
            while let Ok(c) = ctl.try_recv() {
                self.control(c, &mut deadline);
            }
            self.expire_idle();
            more = self.run_ready();
            self.flush_out();
            if let Some(clean) = self.shutdown_done {
                return self.finish(clean);
            }
        }
    }

    /// Sleeps until a socket event, a control message, the next timer or the shutdown bound.
    async fn wait(
        &mut self,
        net: &mut mpsc::Receiver<NetEvent>,
        ctl: &mut mpsc::UnboundedReceiver<Control>,
        deadline: &mut Option<tokio::time::Instant>,
    ) {
        let wake = self.next_wake();
        let bound = *deadline;
        tokio::select! {
            Some(ev) = net.recv() => self.on_net(ev),
            Some(c) = ctl.recv() => self.control(c, deadline),
            () = sleep_until(wake) => {}
            () = sleep_until(bound), if bound.is_some() => {
                tracing::error!("shutdown did not finish in {SHUTDOWN_TIMEOUT:?}");
                self.shutdown_done = Some(false);
            }
        }
    }

    fn control(&mut self, c: Control, deadline: &mut Option<tokio::time::Instant>) {
        if self.on_control(c) {
            *deadline = Some(tokio::time::Instant::now() + SHUTDOWN_TIMEOUT);
        }
    }

    fn next_wake(&self) -> Option<tokio::time::Instant> {
        let idle = self.conns.values().filter_map(|c| c.idle_deadline).min();
        let next = match (self.target.poll_timeout(), idle) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }?;
        Some(self.start + std::time::Duration::from_nanos(next.0))
    }

    fn now(&mut self) -> Instant {
        let ns = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.last = self.last.max(Instant(ns));
        self.last
    }

    /// Records and feeds one input, then drains the outputs.
    fn feed(&mut self, input: Input) {
        let now = self.now();
        if let Some(rec) = &self.recorder {
            if let Err(e) = rec.record(now, &input) {
                tracing::error!("recording failed, stopping it: {e}");
                self.recorder = None;
            }
        }
        self.stats.inputs += 1;
        let crashed = self.target.violation().is_some();
        self.target.handle(now, input);
        self.drain();
        if !crashed && self.target.violation().is_some() {
            self.on_crash();
        }
        if self.opts.check_invariants && self.stats.invariant_failure.is_none() {
            if let Err(v) = self.target.check_invariants() {
                tracing::error!("invariant broken: {v}");
                self.stats.invariant_failure = Some(v);
            }
        }
    }

    /// The core crashed (a sticky violation): it ignores every later input, so answer the
    /// pending RPCs now, and let a shutdown finish at once.
    fn on_crash(&mut self) {
        let v = self.target.violation().cloned();
        let msg = v.map_or_else(String::new, |v| v.to_string());
        tracing::error!("the target crashed (later inputs are ignored): {msg}");
        for (_, p) in std::mem::take(&mut self.rpcs) {
            match p {
                Pending::External { reply, .. } => {
                    let _ = reply.send(Err(crashed_error(&msg)));
                }
                Pending::Shutdown => self.shutdown_done = Some(false),
                Pending::ListenerSync => {}
            }
        }
    }

    /// Runs every internal event that is due, pass after pass, until none is left. Returns
    /// true when the budget ran out with events still runnable.
    fn run_ready(&mut self) -> bool {
        let mut budget = EVENT_BUDGET;
        while budget > 0 {
            let now = self.now();
            let due: Vec<Input> = self
                .target
                .enabled_events()
                .into_iter()
                .filter(|e| e.at.is_none_or(|at| at <= now))
                .map(|e| e.input)
                .collect();
            if due.is_empty() {
                return false;
            }
            budget = budget.saturating_sub(due.len());
            for input in due {
                self.feed(input);
            }
        }
        // Out of budget: let the sockets in, then continue at once.
        tracing::trace!("event budget exhausted; yielding");
        true
    }

    fn drain(&mut self) {
        while let Some(out) = self.target.poll_output() {
            if let Some(tap) = &self.opts.output_tap {
                let _ = tap.send(out.clone());
            }
            match out {
                Output::Send { conn, data } => {
                    if self.conns.contains_key(&conn) {
                        self.pending_out.entry(conn).or_default().push(data);
                    }
                }
                Output::Close { conn } => self.close_conn(conn),
                Output::RpcDone { id, result } => self.on_rpc_done(id, result),
                Output::Event(e) => {
                    tracing::debug!(thread = %e.thread, mark = e.mark.name(), "{}", e.detail);
                    *self.stats.marks.entry(e.mark).or_default() += 1;
                }
            }
        }
    }

    fn flush_out(&mut self) {
        for (conn, data) in std::mem::take(&mut self.pending_out) {
            if let Some(c) = self.conns.get(&conn) {
                let _ = c.handle.out.send(data);
            }
        }
    }

    fn close_conn(&mut self, conn: ConnId) {
        let data = self.pending_out.remove(&conn);
        if let Some(c) = self.conns.remove(&conn) {
            if let Some(data) = data {
                let _ = c.handle.out.send(data);
            }
            tracing::debug!(conn = conn.0, "closed by target");
        }
        self.stats.live_conns = self.conns.len();
    }

    fn on_net(&mut self, ev: NetEvent) {
        match ev {
            NetEvent::Accepted {
                trid,
                stream,
                peer,
                permit,
            } => {
                let conn = ConnId(self.next_conn);
                self.next_conn += 1;
                let handle = tcp::spawn_connection(conn, stream, peer, permit, self.net_tx.clone());
                let now = self.now();
                let idle_deadline = (self.idle_ns > 0).then(|| Instant(now.0 + self.idle_ns));
                self.conns.insert(
                    conn,
                    Conn {
                        handle,
                        idle_deadline,
                        peer_closed: false,
                        peer,
                    },
                );
                self.stats.accepted += 1;
                self.stats.live_conns = self.conns.len();
                let _span = tracing::info_span!("conn", id = conn.0, %peer).entered();
                tracing::info!(%trid, "accepted");
                self.feed(Input::Accept { trid, conn });
            }
            NetEvent::Bytes { conn, data } => {
                if self.conns.contains_key(&conn) {
                    let _span = tracing::trace_span!("conn", id = conn.0).entered();
                    self.feed(Input::Bytes { conn, data });
                }
            }
            NetEvent::PeerClosed { conn } => {
                let _span = tracing::debug_span!("conn", id = conn.0).entered();
                self.on_peer_closed(conn);
            }
        }
    }

    fn on_peer_closed(&mut self, conn: ConnId) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if std::mem::replace(&mut c.peer_closed, true) {
            return;
        }
        c.idle_deadline = None;
        tracing::debug!(conn = conn.0, "peer closed");
        self.feed(Input::PeerClosed { conn });
    }

    /// Connections that are not ENABLED by their deadline are closed as if the peer left.
    fn expire_idle(&mut self) {
        let now = self.now();
        let expired: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.idle_deadline.is_some_and(|d| d <= now))
            .map(|(id, _)| *id)
            .collect();
        for conn in expired {
            if self.target.qpair_state(conn) == Some(QpairState::Enabled) {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.idle_deadline = None;
                }
                continue;
            }
            tracing::info!(
                conn = conn.0,
                "no ICReq/CONNECT before the idle timeout; closing"
            );
            if let Some(c) = self.conns.remove(&conn) {
                drop(c);
                self.stats.live_conns = self.conns.len();
                self.feed(Input::PeerClosed { conn });
            }
        }
    }

    /// Returns true when a shutdown starts.
    fn on_control(&mut self, c: Control) -> bool {
        match c {
            Control::Rpc { request, reply } => {
                self.on_rpc(request, reply);
                false
            }
            Control::Inspect(f) => {
                f(&self.target, &self.stats);
                false
            }
            Control::Peers(reply) => {
                let peers = self.conns.iter().map(|(id, c)| (id.0, c.peer));
                let _ = reply.send(peers.collect());
                false
            }
            Control::Shutdown => {
                if !self.latch.begin() {
                    // A shutdown without a request through the handle (tests): take both steps.
                    let _ = self.latch.request();
                    if !self.latch.begin() {
                        return false;
                    }
                }
                tracing::info!("shutting down");
                if self.target.violation().is_some() {
                    self.shutdown_done = Some(false);
                    return false;
                }
                self.submit(RpcRequest::Shutdown, Pending::Shutdown);
                true
            }
        }
    }

    fn submit(&mut self, request: RpcRequest, pending: Pending) {
        let id = RpcId(self.next_rpc);
        self.next_rpc += 1;
        self.rpcs.insert(id, pending);
        self.feed(Input::Rpc { id, request });
    }

    fn on_rpc(&mut self, request: RpcRequest, reply: RpcReply) {
        if self.shutdown_done.is_some()
            || self.latch.state() >= crate::shared::ShutdownState::Draining
        {
            let _ = reply.send(Err(RpcError {
                code: -108,
                message: "target is shutting down".into(),
            }));
            return;
        }
        if let Some(v) = self.target.violation() {
            let _ = reply.send(Err(crashed_error(&v.to_string())));
            return;
        }
        if let Some(trid) = listen_target(&request) {
            if let Err(e) = self.ensure_listening(&trid) {
                let _ = reply.send(Err(RpcError {
                    code: -(e.raw_os_error().unwrap_or(22)),
                    message: format!("cannot listen on {trid}: {e}"),
                }));
                return;
            }
            if matches!(request, RpcRequest::TransportListen { .. }) {
                self.transport_listens.insert(trid);
            }
        }
        if let RpcRequest::StopListenAsync { trid, nqn: None } = &request {
            self.transport_listens.remove(trid);
        }
        let syncs_listeners = matches!(
            request,
            RpcRequest::SubsystemAddListener { .. }
                | RpcRequest::SubsystemRemoveListener { .. }
                | RpcRequest::StopListenAsync { .. }
                | RpcRequest::DeleteSubsystem { .. }
        );
        let pending = Pending::External {
            reply,
            syncs_listeners,
        };
        self.submit(request, pending);
    }

    fn on_rpc_done(&mut self, id: RpcId, result: Result<RpcResponse, RpcError>) {
        match self.rpcs.remove(&id) {
            Some(Pending::External {
                reply,
                syncs_listeners,
            }) => {
                let failed_add = result.is_err();
                let _ = reply.send(result);
                if syncs_listeners || failed_add {
                    self.submit(RpcRequest::GetSubsystems, Pending::ListenerSync);
                }
            }
            Some(Pending::ListenerSync) => {
                if let Ok(RpcResponse::Subsystems(subs)) = result {
                    let mut wanted = self.transport_listens.clone();
                    wanted.extend(subs.into_iter().flat_map(|s| s.listeners));
                    self.close_unwanted_listeners(&wanted);
                }
            }
            Some(Pending::Shutdown) => {
                if let Err(e) = &result {
                    tracing::error!("target shutdown failed: {e}");
                }
                self.shutdown_done = Some(result.is_ok());
            }
            None => tracing::warn!(id = id.0, "answer to an unknown rpc"),
        }
    }

    fn ensure_listening(&mut self, trid: &Trid) -> std::io::Result<()> {
        if self.listeners.contains_key(trid) {
            return Ok(());
        }
        let (l, real) = tcp::bind(trid)?;
        let task = tcp::spawn_acceptor(l, real, self.limiter.clone(), self.net_tx.clone());
        self.listeners.insert(trid.clone(), task);
        tracing::info!(%trid, "listening");
        Ok(())
    }

    fn close_unwanted_listeners(&mut self, wanted: &BTreeSet<Trid>) {
        let gone: Vec<Trid> = self
            .listeners
            .keys()
            .filter(|t| !wanted.contains(*t))
            .cloned()
            .collect();
        for trid in gone {
            if let Some(task) = self.listeners.remove(&trid) {
                task.abort();
                tracing::info!(%trid, "stopped listening");
            }
        }
    }

    fn finish(mut self, clean: bool) -> Summary {
        self.run_ready();
        self.flush_out();
        for (_, task) in std::mem::take(&mut self.listeners) {
            task.abort();
        }
        self.conns.clear();
        self.stats.live_conns = 0;
        if let Some(rec) = self.recorder.take() {
            if let Err(e) = rec.finish() {
                tracing::error!("finishing the recording: {e}");
            }
        }
        for (_, p) in std::mem::take(&mut self.rpcs) {
            if let Pending::External { reply, .. } = p {
                let _ = reply.send(Err(RpcError {
                    code: -108,
                    message: "target is shut down".into(),
                }));
            }
        }
        self.latch.finish();
        Summary {
            violation: self.target.violation().cloned(),
            stats: self.stats,
            clean,
        }
    }
}

fn crashed_error(violation: &str) -> RpcError {
    RpcError {
        code: -5,
        message: format!("target crashed: {violation}"),
    }
}

/// The address an RPC wants a socket for (bound before the RPC reaches the core).
fn listen_target(request: &RpcRequest) -> Option<Trid> {
    match request {
        RpcRequest::TransportListen { trid } | RpcRequest::SubsystemAddListener { trid, .. } => {
            Some(trid.clone())
        }
        _ => None,
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
