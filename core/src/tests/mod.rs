//! Multi-step target scenarios on the shared harness (`crate::testkit`).
//!
//! `testkit::World` wires a `Target` to in-memory raw peers (PDUs built with `testkit::pdu`,
//! so a test scripts the exact order of thread runs, byte deliveries, RPCs and timer firings)
//! and sans-IO hosts, checks the invariants after every step, and records outputs.

mod cat3a;
mod cat3b;
mod cat4a;
mod cat4b;
mod catalogue_i;
mod catalogue_ii;
mod diff4;
mod discovery;
mod edge;
mod fused;
mod happy;
mod hosts;
mod identity;
mod io_cmds;
mod listener_binding;
mod listener_rpcs;
mod log_pages;
mod own;
mod pollers;
mod profiles;
mod profiles_liveness;
mod profiles_v2401;
mod random;
mod recipe;
mod remove_host;
mod router;
mod rude;
mod seed;
mod serving;
mod shutdown;
mod split_read;
mod sq_flow_control;
