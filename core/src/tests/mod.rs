//! Multi-step target scenarios with a quinn-style harness (owned by the target work).
//!
//! `harness::World` wires a `Target` to in-memory peers (raw PDU peers built with the codec in
//! `pdu`, so a test scripts the exact order of thread runs, byte deliveries, RPCs and timer
//! firings), checks the invariants after every step, and records outputs.

mod discovery;
mod edge;
mod happy;
pub mod harness;
mod hosts;
mod identity;
mod io_cmds;
pub mod pdu;
mod profiles;
mod random;
mod seed;
