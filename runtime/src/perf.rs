//! `fabcheck-perf`: a load generator on the sans-IO `Host`, one tokio task per controller
//! (admin queue + one I/O queue), each keeping `depth` reads/writes in flight until the time
//! is up.
//!
//! Owns: workload choice (random or sequential, read/write mix), the `--verify` bookkeeping and
//! latency statistics. Invariants: two in-flight I/Os never touch the same chunk; with verify,
//! a chunk is read-compared only against data whose write completed successfully, so any
//! difference is a real data mismatch; every worker's region is disjoint.

use fabcheck_core::host::{Host, HostAction, HostConfig, HostEvent, HostInput, HostOutput, Qid};
use fabcheck_core::Instant as VInstant;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Access pattern (`-w`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    RandRead,
    RandWrite,
    Read,
    Write,
    /// Random mix with `read_pct` reads.
    Rw,
}

impl std::str::FromStr for Workload {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "randread" => Workload::RandRead,
            "randwrite" => Workload::RandWrite,
            "read" => Workload::Read,
            "write" => Workload::Write,
            "rw" | "randrw" => Workload::Rw,
            other => return Err(format!("unknown workload {other:?}")),
        })
    }
}

impl Workload {
    fn random(self) -> bool {
        matches!(
            self,
            Workload::RandRead | Workload::RandWrite | Workload::Rw
        )
    }
    fn read_pct(self, mix: u8) -> u8 {
        match self {
            Workload::RandRead | Workload::Read => 100,
            Workload::RandWrite | Workload::Write => 0,
            Workload::Rw => mix.min(100),
        }
    }
}

/// One run's parameters.
#[derive(Debug, Clone)]
pub struct PerfConfig {
    pub target: SocketAddr,
    pub subnqn: String,
    pub depth: usize,
    pub io_size: u32,
    pub workload: Workload,
    pub read_pct: u8,
    pub duration: Duration,
    pub connections: usize,
    pub verify: bool,
    /// Bytes of the namespace used (split evenly between connections).
    pub range_bytes: u64,
    pub nsid: u32,
    pub kato_ms: u32,
}

/// Errors that stop a run.
#[derive(Debug, thiserror::Error)]
pub enum PerfError {
    #[error("connection {conn}: {msg}")]
    Setup { conn: usize, msg: String },
    #[error("bad parameters: {0}")]
    Params(String),
}

/// What a run measured.
#[derive(Debug, Clone, Default)]
pub struct PerfResult {
    pub ios: u64,
    pub bytes: u64,
    pub elapsed: Duration,
    /// Completion latencies in nanoseconds, sorted.
    pub latencies_ns: Vec<u64>,
    pub mismatches: u64,
    pub errors: u64,
}

impl PerfResult {
    pub fn iops(&self) -> f64 {
        self.ios as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
    pub fn mib_s(&self) -> f64 {
        self.bytes as f64 / (1 << 20) as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
    /// Latency percentile in microseconds (`q` in 0..=1).
    pub fn percentile_us(&self, q: f64) -> f64 {
        if self.latencies_ns.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies_ns.len() - 1) as f64 * q).round() as usize;
        self.latencies_ns[i] as f64 / 1000.0
    }
    pub fn mean_us(&self) -> f64 {
        if self.latencies_ns.is_empty() {
            return 0.0;
        }
        self.latencies_ns.iter().sum::<u64>() as f64 / self.latencies_ns.len() as f64 / 1000.0
    }
    /// The final summary lines.
    pub fn summary(&self, verify: bool) -> String {
        let mut s = format!(
            "IOPS: {:.0}\nMiB/s: {:.2}\nlatency us: mean {:.1} p50 {:.1} p99 {:.1} p99.9 {:.1}\nerrors: {}\n",
            self.iops(),
            self.mib_s(),
            self.mean_us(),
            self.percentile_us(0.50),
            self.percentile_us(0.99),
            self.percentile_us(0.999),
            self.errors
        );
        if verify {
            s.push_str(&format!("mismatches: {}\n", self.mismatches));
        }
        s
    }
}

/// Live counters for the progress line.
#[derive(Debug, Default)]
pub struct Progress {
    pub ios: AtomicU64,
    pub bytes: AtomicU64,
}

/// Runs the workload on `connections` controllers and merges their results.
pub async fn run(cfg: PerfConfig, progress: Arc<Progress>) -> Result<PerfResult, PerfError> {
    validate(&cfg)?;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..cfg.connections {
        let (cfg, progress) = (cfg.clone(), progress.clone());
        tasks.push(tokio::spawn(
            async move { Worker::run(i, cfg, progress).await },
        ));
    }
    let mut total = PerfResult::default();
    for t in tasks {
        let r = t.await.map_err(|e| PerfError::Setup {
            conn: 0,
            msg: e.to_string(),
        })??;
        total.ios += r.ios;
        total.bytes += r.bytes;
        total.mismatches += r.mismatches;
        total.errors += r.errors;
        total.latencies_ns.extend(r.latencies_ns);
    }
    total.elapsed = start
        .elapsed()
        .min(cfg.duration.max(Duration::from_millis(1)) * 2);
    total.elapsed = total.elapsed.max(Duration::from_millis(1));
    total.latencies_ns.sort_unstable();
    Ok(total)
}

fn validate(cfg: &PerfConfig) -> Result<(), PerfError> {
    if cfg.depth == 0 || cfg.connections == 0 || cfg.io_size == 0 {
        return Err(PerfError::Params(
            "depth, connections and io size must be > 0".into(),
        ));
    }
    let per = cfg.range_bytes / cfg.connections as u64 / u64::from(cfg.io_size);
    if per < cfg.depth as u64 {
        return Err(PerfError::Params(format!(
            "range {} B gives {per} chunks per connection, fewer than the queue depth",
            cfg.range_bytes
        )));
    }
    Ok(())
}

/// xorshift64*: a tiny deterministic RNG (no global RNG).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// The verify pattern of `chunk` at write generation `gen`.
pub fn pattern(chunk: u64, gen: u32, len: usize) -> Vec<u8> {
    let mut x = chunk.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (u64::from(gen) << 1 | 1);
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x >> 33;
        x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

struct InFlight {
    chunk: u64,
    write_gen: Option<u32>,
    started: Instant,
}

enum SockEv {
    Data(Qid, Vec<u8>),
    Closed(Qid),
}

struct Worker {
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

async fn read_socket(
    qid: Qid,
    mut rd: tokio::net::tcp::OwnedReadHalf,
    tx: mpsc::UnboundedSender<SockEv>,
) {
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match rd.read(&mut buf).await {
            Ok(0) | Err(_) => {
                let _ = tx.send(SockEv::Closed(qid));
                return;
            }
            Ok(n) => {
                if tx.send(SockEv::Data(qid, buf[..n].to_vec())).is_err() {
                    return;
                }
            }
        }
    }
}

/// How long connecting and initializing may take.
const SETUP_TIMEOUT: Duration = Duration::from_secs(10);

impl Worker {
    fn new(
        id: usize,
        cfg: PerfConfig,
        progress: Arc<Progress>,
        ev_tx: mpsc::UnboundedSender<SockEv>,
    ) -> Self {
        let chunks = cfg.range_bytes / cfg.connections as u64 / u64::from(cfg.io_size);
        let mut hc = HostConfig::new(&format!("nqn.2014-08.org.fabcheck:perf-{id}"), &cfg.subnqn);
        hc.hostid[..8].copy_from_slice(&(id as u64 + 1).to_le_bytes());
        hc.kato_ms = cfg.kato_ms;
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

    async fn run(
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

    fn vnow(&self) -> VInstant {
        VInstant(u64::try_from(self.t0.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }

    async fn act(&mut self, a: HostAction) -> Result<(), PerfError> {
        let now = self.vnow();
        self.host.handle(now, HostInput::Do(a));
        self.pump().await
    }

    fn pick_block_size(&mut self) -> Result<(), PerfError> {
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
    async fn wait_for(
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
    async fn step(
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

    fn on_sock(&mut self, ev: SockEv) {
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
    async fn pump(&mut self) -> Result<(), PerfError> {
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

    async fn open(&mut self, qid: Qid) -> Result<(), PerfError> {
        let stream = TcpStream::connect(self.cfg.target)
            .await
            .map_err(|e| setup_err(self.id, format!("connect {}: {e}", self.cfg.target)))?;
        let _ = stream.set_nodelay(true);
        let (rd, wr) = stream.into_split();
        tokio::spawn(read_socket(qid, rd, self.ev_tx.clone()));
        self.writers.insert(qid, wr);
        let now = self.vnow();
        self.host.handle(now, HostInput::Opened { qid });
        Ok(())
    }

    fn on_events(&mut self, deadline: Instant) -> Result<(), PerfError> {
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

    fn pick_chunk(&mut self) -> u64 {
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

    fn submit(&mut self) {
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
        let action = if read {
            HostAction::Read {
                tag,
                qid: 1,
                nsid,
                slba,
                nlb,
            }
        } else {
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
            self.inflight.insert(
                tag,
                InFlight {
                    chunk,
                    write_gen: Some(gen),
                    started: Instant::now(),
                },
            );
            self.busy.insert(chunk);
            let now = self.vnow();
            self.host.handle(
                now,
                HostInput::Do(HostAction::Write {
                    tag,
                    qid: 1,
                    nsid,
                    slba,
                    data,
                }),
            );
            return;
        };
        self.inflight.insert(
            tag,
            InFlight {
                chunk,
                write_gen: None,
                started: Instant::now(),
            },
        );
        self.busy.insert(chunk);
        let now = self.vnow();
        self.host.handle(now, HostInput::Do(action));
    }

    fn complete(&mut self, tag: u64, ok: bool, data: &[u8]) {
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

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn patterns_differ_by_chunk_and_generation() {
        let a = pattern(1, 1, 4096);
        assert_eq!(a.len(), 4096);
        assert_eq!(a, pattern(1, 1, 4096));
        assert_ne!(a, pattern(2, 1, 4096));
        assert_ne!(a, pattern(1, 2, 4096));
    }

    #[test]
    fn percentiles_and_summary() {
        let r = PerfResult {
            ios: 1000,
            bytes: 1000 * 4096,
            elapsed: Duration::from_secs(1),
            latencies_ns: (1..=1000).map(|i| i * 1000).collect(),
            mismatches: 0,
            errors: 0,
        };
        assert_eq!(r.percentile_us(0.5), 501.0);
        assert_eq!(r.percentile_us(0.99), 990.0);
        let s = r.summary(true);
        assert!(s.contains("IOPS: 1000\n"), "{s}");
        assert!(s.contains("mismatches: 0"), "{s}");
        assert!("randread".parse::<Workload>().is_ok() && "bogus".parse::<Workload>().is_err());
    }
}
