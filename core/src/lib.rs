//! fabcheck-core: a sans-IO model of an SPDK-style NVMe-oF target, the NVMe/TCP wire codec and a
//! sans-IO NVMe/TCP initiator.
//!
//! No sockets, clocks or threads: every input is passed in with the current virtual time, every
//! output is polled out. docs/architecture.md describes the data flow, docs/lifecycle.md the
//! nvmf model and docs/invariants.md what it checks.

pub mod host;
pub mod nvmf;
pub mod record;
pub mod time;
pub mod wire;

#[cfg(test)]
mod tests;

#[cfg(any(test, feature = "testkit"))]
#[doc(hidden)]
pub mod testkit;

pub use time::{Duration, Instant};
