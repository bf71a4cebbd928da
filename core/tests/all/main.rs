//! fabcheck-core integration tests, one binary (the crate is linked once): the public driving
//! API of the target (`target_*`), the codec (`wire_*`) and the initiator (`host_*`).
//!
//! Shared harness and fixtures: `fabcheck_core::testkit` (the `testkit` feature, on for this
//! crate's tests; the same router the unit tests use), and the SPDK captures under
//! `core/tests/data/`.

mod host_e2e;
mod host_fuzz;
mod host_scenarios;
mod target_api;
mod target_replay;
mod wire_captures;
mod wire_golden;
mod wire_proptest;
mod wire_reject;
mod wire_tshark;
