//! The one in-memory test harness of fabcheck-core, shared by the crate's unit tests
//! (`src/tests/`) and its integration tests (`tests/all/`, through the `testkit` feature that
//! core's dev-dependency on itself turns on). Not part of the crate's API.
//!
//! One router (`router::Router`) steps a target end wired to initiator ends in virtual time:
//! - target ends (`router::TargetEnd`): the real sans-IO `Target` (`World`, invariants
//!   checked after every step) or the scripted `FakeTarget` (`FakeWorld`, for host tests);
//! - initiator ends: raw PDU peers (`World::accept` / `send` / `recv`, PDUs from `pdu`) and
//!   real sans-IO `Host`s (`Router::add_host`), in any mix.
//!
//! `fixtures` holds what every test starts from (NQNs, listener, target and host
//! configurations, data patterns). docs/architecture.md (Testing) says how the tests use it.

pub mod fake;
pub mod fake_world;
pub mod fixtures;
pub mod hosts;
pub mod pdu;
pub mod router;
pub mod world;

pub use fake::{FakeTarget, Knobs};
pub use fake_world::FakeWorld;
pub use fixtures::*;
pub use router::{HostSlot, Peer, Router, TargetEnd};
pub use world::World;
