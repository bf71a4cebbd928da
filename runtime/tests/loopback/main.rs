//! End-to-end tests on loopback: the real target (driver + sockets + JSON-RPC) against the
//! sans-IO host on tokio sockets. 127.0.0.1 only, random free ports, every wait bounded.

mod bad_input;
mod basic;
mod c2h_success;
mod operator;
mod replay;
mod stress;

use fabcheck_core::host::HostConfig;
use fabcheck_core::nvmf::{Target, Trid};
use fabcheck_runtime::config::{RuntimeConfig, DEFAULT_NQN};
use fabcheck_runtime::driver::{DriverHandle, DriverOptions, Server, Stats, Summary};
use fabcheck_runtime::rpc::{serve_unix, Framer, RpcState, Service};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const NQN: &str = DEFAULT_NQN;

/// A running target with its RPC socket.
pub struct Harness {
    pub handle: DriverHandle,
    pub addr: SocketAddr,
    pub rpc_path: PathBuf,
    task: tokio::task::JoinHandle<Summary>,
    rpc_task: tokio::task::JoinHandle<()>,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Starts the default target (cnode1, 64 MiB) on a free port, after `tweak`.
pub async fn harness(tweak: impl FnOnce(&mut RuntimeConfig), mut opts: DriverOptions) -> Harness {
    let mut cfg = RuntimeConfig::default_with(&[Trid::tcp("127.0.0.1", 0)]).unwrap();
    tweak(&mut cfg);
    opts.limits = cfg.limits.clone();
    let server = Server::start(cfg.target.clone(), opts).expect("start target");
    let l = &server.config.listeners[0];
    let addr: SocketAddr = format!("{}:{}", l.traddr, l.trsvcid).parse().unwrap();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let rpc_path =
        std::env::temp_dir().join(format!("fabcheck-test-{}-{n}.sock", std::process::id()));
    let state = RpcState {
        target: server.config.clone(),
        bdevs: cfg.bdevs.clone(),
        claims: cfg.claims.clone(),
        transport_created: false,
    };
    let service = Arc::new(Service::new(server.handle.clone(), state));
    let rpc_task = serve_unix(&rpc_path, service).expect("rpc socket");
    Harness {
        handle: server.handle.clone(),
        addr,
        rpc_path,
        task: server.task,
        rpc_task,
    }
}

/// Options that check invariants after every input.
pub fn checked() -> DriverOptions {
    DriverOptions {
        check_invariants: true,
        ..DriverOptions::default()
    }
}

impl Harness {
    /// One JSON-RPC call over the Unix socket; returns the whole response object.
    pub async fn rpc(&self, method: &str, params: Value) -> Value {
        let req = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        raw_rpc(&self.rpc_path, req.to_string().as_bytes())
            .await
            .remove(0)
    }

    /// Like `rpc` but expects success and returns `result`.
    pub async fn ok(&self, method: &str, params: Value) -> Value {
        let r = self.rpc(method, params.clone()).await;
        assert!(r.get("error").is_none(), "{method} {params} failed: {r}");
        r["result"].clone()
    }

    /// Reads the target state.
    pub async fn inspect<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Target, &Stats) -> R + Send + 'static,
    ) -> R {
        self.handle.inspect(f).await.expect("driver alive")
    }

    /// Waits (bounded) until `pred` holds on the target.
    pub async fn until(
        &self,
        what: &str,
        pred: impl Fn(&Target, &Stats) -> bool + Send + Sync + Clone + 'static,
    ) {
        for _ in 0..200 {
            let p = pred.clone();
            if self.inspect(move |t, s| p(t, s)).await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("timed out waiting for: {what}");
    }

    /// Graceful shutdown; returns the driver's summary.
    pub async fn shutdown(self) -> Summary {
        self.handle.shutdown();
        let s = tokio::time::timeout(Duration::from_secs(15), self.task)
            .await
            .expect("shutdown bounded")
            .expect("driver task");
        self.rpc_task.abort();
        let _ = std::fs::remove_file(&self.rpc_path);
        s
    }
}

/// Sends raw bytes to the RPC socket and collects `expect` responses.
pub async fn raw_rpc_n(path: &std::path::Path, bytes: &[u8], expect: usize) -> Vec<Value> {
    let mut s = tokio::net::UnixStream::connect(path)
        .await
        .expect("rpc connect");
    s.write_all(bytes).await.unwrap();
    let mut framer = Framer::default();
    let mut out = Vec::new();
    let mut buf = vec![0u8; 65536];
    while out.len() < expect {
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
            .await
            .expect("rpc answer in time")
            .unwrap();
        assert!(n > 0, "rpc socket closed early");
        out.extend(framer.push(&buf[..n]).into_iter().map(|v| v.unwrap()));
    }
    out
}

pub async fn raw_rpc(path: &std::path::Path, bytes: &[u8]) -> Vec<Value> {
    raw_rpc_n(path, bytes, 1).await
}

/// A host config with a distinct host NQN and hostid.
pub fn host(n: u32) -> HostConfig {
    let mut c = HostConfig::new(&format!("nqn.2014-08.org.fabcheck:test-host-{n}"), NQN);
    c.hostid[0] = n as u8;
    c.hostid[15] = 0xA5;
    c
}

/// Deterministic data for `blocks` 512-byte blocks.
pub fn data(seed: u64, blocks: usize) -> Vec<u8> {
    fabcheck_runtime::perf::pattern(seed, 1, blocks * 512)
}

/// A free loopback port (bind port 0, read it, release it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn listen_address(port: u16) -> Value {
    json!({"trtype": "TCP", "adrfam": "IPv4", "traddr": "127.0.0.1", "trsvcid": port.to_string()})
}

/// Runs a test body with a hard time bound.
pub async fn bounded<F: std::future::Future>(secs: u64, f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .expect("test timed out")
}
