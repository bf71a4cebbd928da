//! fabcheck-runtime: the tokio NVMe/TCP target and initiator driving the sans-IO core (see
//! docs/architecture.md).
//!
//! - `driver`: the single owner task of the `Target` (feed inputs, run internal events, drain
//!   outputs, arm the next timeout), and the listener/connection bookkeeping.
//! - `tcp`: listeners and per-connection reader/writer tasks moving bytes over channels.
//! - `rpc`: SPDK-compatible JSON-RPC 2.0 on a Unix socket.
//! - `bdev`: RAM bdevs (geometry, UUID); `config`: the TOML config; `record`: `--record FILE` and in-process replay.
//! - `perf`: the load generator on the sans-IO `Host`; `client`: a scripted `Host` on tokio
//!   sockets (used by the loopback tests); `host_socket`: their one socket-reader loop.
//! - `alloc`: glibc heap thresholds the binaries set at start (measured: docs/runtime.md).
//! - `sync` + `shared`: the `cfg(loom)` facade and the small shared-state pieces loom checks.

pub mod alloc;
pub mod bdev;
pub mod config;
pub mod record;
pub mod shared;
pub mod sync;

#[cfg(not(loom))]
pub mod client;
#[cfg(not(loom))]
pub mod driver;
#[cfg(not(loom))]
pub mod host_socket;
#[cfg(not(loom))]
pub mod perf;
#[cfg(not(loom))]
pub mod rpc;
#[cfg(not(loom))]
pub mod tcp;
