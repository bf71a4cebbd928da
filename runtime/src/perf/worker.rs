//! One `fabcheck-perf` worker: a sans-IO `Host` with an admin and one I/O queue on its own
//! sockets, keeping `depth` I/Os in flight on its disjoint region of chunks.
//!
//! Owns: the worker's chunk bookkeeping (`busy`, `gens`, `inflight`) and its share of the
//! result. Invariant: a chunk is in `busy` exactly while one I/O on it is in flight.

use super::{pattern, PerfConfig, PerfError, PerfResult, Progress};
use crate::host_socket::{self, SockEv};
use fabcheck_core::host::{Host, HostAction, HostConfig, HostEvent, HostInput, HostOutput, Qid};
use fabcheck_core::Instant as VInstant;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// xorshift64*: a tiny deterministic RNG (no global RNG).
struct Rng(u64);
impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

struct InFlight {
    chunk: u64,
    write_gen: Option<u32>,
    started: Instant,
}

pub(super) struct Worker {
    id: usize,
    cfg: PerfConfig,
    host: Host,
    t0: Instant,
    writers: BTreeMap<Qid, OwnedWriteHalf>,
    ev_tx: mpsc::UnboundedSender<SockEv>,
    rng: Rng,
    first_chunk: u64,
    chunks: u64,
    cursor: u64,
    gens: BTreeMap<u64, u32>,
    busy: BTreeSet<u64>,
    inflight: BTreeMap<u64, InFlight>,
    next_tag: u64,
    block_size: u32,
    events: Vec<HostEvent>,
    result: PerfResult,
    progress: Arc<Progress>,
    zero: Vec<u8>,
}

fn setup_err(conn: usize, msg: impl Into<String>) -> PerfError {
    PerfError::Setup {
        conn,
        msg: msg.into(),
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// How long connecting and initializing may take.
const SETUP_TIMEOUT: Duration = Duration::from_secs(10);

impl Worker {
    pub(super) fn new(
        id: usize,
        cfg: PerfConfig,
        progress: Arc<Progress>,
        ev_tx: mpsc::UnboundedSender<SockEv>,
    ) -> Self {
        let chunks = cfg.range_bytes / cfg.connections as u64 / u64::from(cfg.io_size);
        let mut hc = HostConfig::new(&format!("nqn.2014-08.org.fabcheck:perf-{id}"), &cfg.subnqn);
        hc.hostid[..8].copy_from_slice(&(id as u64 + 1).to_le_bytes());
        hc.kato_ms = cfg.kato_ms;
        hc.disable_sq_flow_control = cfg.disable_sq_flow_control;
        hc.sqsize = u16::try_from(cfg.depth + 1).unwrap_or(u16::MAX).max(31);
        let zero = vec![0u8; cfg.io_size as usize];
        Worker {
            id,
            host: Host::new(hc),
            t0: Instant::now(),
            writers: BTreeMap::new(),
            ev_tx,
            rng: Rng(0x9E37_79B9_7F4A_7C15 ^ (id as u64 + 1)),
            first_chunk: chunks * id as u64,
            chunks,
            cursor: 0,
            gens: BTreeMap::new(),
            busy: BTreeSet::new(),
            inflight: BTreeMap::new(),
            next_tag: 1,
            block_size: 512,
            events: Vec::new(),
            result: PerfResult::default(),
            progress,
            zero,
            cfg,
        }
    }

    pub(super) async fn run(
        id: usize,
        cfg: PerfConfig,
        progress: Arc<Progress>,
    ) -> Result<PerfResult, PerfError> {
        let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
        let mut w = Worker::new(id, cfg, progress, ev_tx);
        w.act(HostAction::Connect).await?;
        let setup = Instant::now() + SETUP_TIMEOUT;
        w.wait_for(&mut ev_rx, setup, |e| matches!(e, HostEvent::Ready { .. }))
            .await?;
        w.pick_block_size()?;
        w.act(HostAction::ConnectIo { qid: 1 }).await?;
        w.wait_for(&mut ev_rx, setup, |e| {
            matches!(e, HostEvent::Connected { qid: 1, .. })
        })
        .await?;
        let deadline = Instant::now() + w.cfg.duration;
        for _ in 0..w.cfg.depth {
            w.submit();
        }
        w.pump().await?;
        while Instant::now() < deadline || !w.inflight.is_empty() {
            w.step(&mut ev_rx, Some(deadline).filter(|d| Instant::now() < *d))
                .await?;
            w.pump().await?;
            w.on_events(deadline)?;
            w.pump().await?;
            if Instant::now() > deadline + SETUP_TIMEOUT {
                return Err(setup_err(w.id, "I/O did not drain"));
            }
        }
        w.act(HostAction::DisconnectAll).await?;
        Ok(w.result)
    }

    pub(super) fn vnow(&self) -> VInstant {
        VInstant(u64::try_from(self.t0.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }

    pub(super) async fn act(&mut self, a: HostAction) -> Result<(), PerfError> {
        let now = self.vnow();
        self.host.handle(now, HostInput::Do(a));
        self.pump().await
    }

    pub(super) fn pick_block_size(&mut self) -> Result<(), PerfError> {
        let nsid = self.cfg.nsid;
        let bs = self
            .host
            .namespaces()
            .find(|(n, _)| *n == nsid)
            .map(|(_, b)| b);
        let bs = bs.ok_or_else(|| setup_err(self.id, format!("namespace {nsid} not found")))?;
        if bs == 0 || !self.cfg.io_size.is_multiple_of(bs) {
            return Err(setup_err(
                self.id,
                format!("io size is not a multiple of the {bs} B block"),
            ));
        }
        self.block_size = bs;
        Ok(())
    }

    /// Waits (bounded) for an event matching `want`; failures end the wait with an error.
    pub(super) async fn wait_for(
        &mut self,
        rx: &mut mpsc::UnboundedReceiver<SockEv>,
        until: Instant,
        want: impl Fn(&HostEvent) -> bool,
    ) -> Result<(), PerfError> {
        loop {
            for e in std::mem::take(&mut self.events) {
                if want(&e) {
                    return Ok(());
                }
                if let Some(msg) = failure(&e) {
                    return Err(setup_err(self.id, msg));
                }
            }
            if Instant::now() >= until {
                return Err(setup_err(self.id, "timed out connecting"));
            }
            self.step(rx, Some(until)).await?;
            self.pump().await?;
        }
    }

    /// Waits for one socket event, a host timer or `wake`, and feeds what came.
    pub(super) async fn step(
        &mut self,
        rx: &mut mpsc::UnboundedReceiver<SockEv>,
        wake: Option<Instant>,
    ) -> Result<(), PerfError> {
        let timer = self
            .host
            .poll_timeout()
            .map(|t| self.t0 + Duration::from_nanos(t.0));
        tokio::select! {
            ev = rx.recv() => {
                if let Some(ev) = ev { self.on_sock(ev); }
                while let Ok(ev) = rx.try_recv() { self.on_sock(ev); }
            }
            () = sleep_until(timer) => {
                let now = self.vnow();
                self.host.handle_timeout(now);
            }
            () = sleep_until(wake) => {}
        }
        Ok(())
    }

    pub(super) fn on_sock(&mut self, ev: SockEv) {
        let now = self.vnow();
        match ev {
            SockEv::Data(qid, data) => self.host.handle(now, HostInput::Bytes { qid, data }),
            SockEv::Closed(qid) => {
                self.writers.remove(&qid);
                self.host.handle(now, HostInput::Closed { qid });
            }
        }
    }

    /// Carries out the host's outputs: opens, sends (coalesced per queue), closes, events.
    pub(super) async fn pump(&mut self) -> Result<(), PerfError> {
        let mut out: BTreeMap<Qid, Vec<u8>> = BTreeMap::new();
        while let Some(o) = self.host.poll_output() {
            match o {
                HostOutput::Open { qid } => self.open(qid).await?,
                HostOutput::Send { qid, data } => {
                    out.entry(qid).or_default().extend_from_slice(&data)
                }
                HostOutput::Close { qid } => {
                    if let (Some(data), Some(w)) = (out.remove(&qid), self.writers.get_mut(&qid)) {
                        let _ = w.write_all(&data).await;
                    }
                    self.writers.remove(&qid);
                }
                HostOutput::Event(e) => self.events.push(e),
            }
        }
        for (qid, data) in out {
            if let Some(w) = self.writers.get_mut(&qid) {
                if let Err(e) = w.write_all(&data).await {
                    tracing::debug!(qid, "write failed: {e}");
                }
            }
        }
        Ok(())
    }

    pub(super) async fn open(&mut self, qid: Qid) -> Result<(), PerfError> {
        let target = self.cfg.target;
        let wr = host_socket::open(target, qid, self.ev_tx.clone())
            .await
            .map_err(|e| setup_err(self.id, format!("connect {target}: {e}")))?;
        self.writers.insert(qid, wr);
        let now = self.vnow();
        self.host.handle(now, HostInput::Opened { qid });
        Ok(())
    }

    pub(super) fn on_events(&mut self, deadline: Instant) -> Result<(), PerfError> {
        for e in std::mem::take(&mut self.events) {
            match e {
                HostEvent::IoDone { tag, status, data } => {
                    self.complete(tag, status.is_success(), &data);
                    if Instant::now() < deadline {
                        self.submit();
                    }
                }
                other => {
                    if let Some(msg) = failure(&other) {
                        return Err(setup_err(self.id, msg));
                    }
                }
            }
        }
        Ok(())
    }

    pub(super) fn pick_chunk(&mut self) -> u64 {
        loop {
            let c = if self.cfg.workload.random() {
                self.rng.next() % self.chunks
            } else {
                let c = self.cursor;
                self.cursor = (self.cursor + 1) % self.chunks;
                c
            };
            if !self.busy.contains(&c) {
                return c;
            }
        }
    }

    pub(super) fn submit(&mut self) {
        let chunk = self.pick_chunk();
        let pct = self.cfg.workload.read_pct(self.cfg.read_pct);
        let mut read = (self.rng.next() % 100) < u64::from(pct);
        if self.cfg.verify && read && !self.gens.contains_key(&chunk) {
            read = false;
        }
        let abs = self.first_chunk + chunk;
        let slba = abs * u64::from(self.cfg.io_size) / u64::from(self.block_size);
        let nlb = self.cfg.io_size / self.block_size;
        let (tag, nsid) = (self.next_tag, self.cfg.nsid);
        self.next_tag += 1;
        let (action, write_gen) = if read {
            let read = HostAction::Read {
                tag,
                qid: 1,
                nsid,
                slba,
                nlb,
            };
            (read, None)
        } else {
            let (data, gen) = self.write_data(chunk, abs);
            let write = HostAction::Write {
                tag,
                qid: 1,
                nsid,
                slba,
                data,
            };
            (write, Some(gen))
        };
        self.inflight.insert(
            tag,
            InFlight {
                chunk,
                write_gen,
                started: Instant::now(),
            },
        );
        self.busy.insert(chunk);
        let now = self.vnow();
        self.host.handle(now, HostInput::Do(action));
    }

    /// The next generation of `chunk` and its data (the verify pattern, or zeros); the chunk's
    /// last completed generation is forgotten until this write completes.
    fn write_data(&mut self, chunk: u64, abs: u64) -> (Vec<u8>, u32) {
        let gen = self
            .gens
            .get(&chunk)
            .copied()
            .unwrap_or(0)
            .wrapping_add(1)
            .max(1);
        let data = if self.cfg.verify {
            pattern(abs, gen, self.cfg.io_size as usize)
        } else {
            self.zero.clone()
        };
        self.gens.remove(&chunk);
        (data, gen)
    }

    pub(super) fn complete(&mut self, tag: u64, ok: bool, data: &[u8]) {
        let Some(f) = self.inflight.remove(&tag) else {
            return;
        };
        self.busy.remove(&f.chunk);
        self.result
            .latencies_ns
            .push(u64::try_from(f.started.elapsed().as_nanos()).unwrap_or(u64::MAX));
        if !ok {
            self.result.errors += 1;
            return;
        }
        self.result.ios += 1;
        self.result.bytes += u64::from(self.cfg.io_size);
        self.progress.ios.fetch_add(1, Ordering::Relaxed);
        self.progress
            .bytes
            .fetch_add(u64::from(self.cfg.io_size), Ordering::Relaxed);
        match f.write_gen {
            Some(gen) => {
                self.gens.insert(f.chunk, gen);
            }
            None if self.cfg.verify => {
                if let Some(gen) = self.gens.get(&f.chunk) {
                    let abs = self.first_chunk + f.chunk;
                    if data != pattern(abs, *gen, self.cfg.io_size as usize).as_slice() {
                        self.result.mismatches += 1;
                    }
                }
            }
            None => {}
        }
    }
}

/// Events that end a worker.
fn failure(e: &HostEvent) -> Option<String> {
    match e {
        HostEvent::ConnectFailed { qid, status } => {
            Some(format!("CONNECT on qid {qid} failed: {status:?}"))
        }
        HostEvent::ControllerFailed { reason } => Some(format!("controller failed: {reason}")),
        HostEvent::ProtocolError { qid, reason } => {
            Some(format!("protocol error on qid {qid}: {reason}"))
        }
        HostEvent::TermReceived { qid, fes } => {
            Some(format!("target terminated qid {qid}: {fes:?}"))
        }
        HostEvent::QueueClosed { qid } => Some(format!("queue {qid} closed")),
        HostEvent::CommandFailed { qid, opc, status } => Some(format!(
            "admin command {opc:#x} on qid {qid} failed: {status:?}"
        )),
        _ => None,
    }
}
