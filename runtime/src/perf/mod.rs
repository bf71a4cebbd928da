//! `fabcheck-perf`: a load generator on the sans-IO `Host`, one tokio task per controller
//! (admin queue + one I/O queue), each keeping `depth` reads/writes in flight until the time
//! is up.
//!
//! Owns: workload choice (random or sequential, read/write mix), the `--verify` bookkeeping and
//! latency statistics. Invariants: two in-flight I/Os never touch the same chunk; with verify,
//! a chunk is read-compared only against data whose write completed successfully, so any
//! difference is a real data mismatch; every worker's region is disjoint.

mod worker;

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use worker::Worker;

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
    /// Ask for SQ flow control disabled in every CONNECT (`cattr.dissqfc`), as
    /// `spdk_nvme_perf --disable-sq-flow-control` does.
    pub disable_sq_flow_control: bool,
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
