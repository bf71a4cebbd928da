//! fabcheck-sim: the deterministic simulator (see docs/architecture.md).
//!
//! A `World` drives the sans-IO target and scripted sans-IO hosts through byte pipes under a
//! `Chooser`; every choice is recorded, so a seed string replays a run byte for byte and the
//! shrinker can minimise it. `sweep` runs many seeds in parallel with results independent of
//! the thread count; `coverage` checks that sweeps reach the windows they are meant to reach.

pub mod catalogue;
pub mod chooser;
pub mod coverage;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod hazard;
pub mod net;
pub mod recording;
pub mod run;
pub mod scenario;
pub mod seed;
pub mod shrink;
pub mod strategy;
pub mod sweep;
pub mod trace;
pub mod world;

pub use run::{run, RunReport};
pub use scenario::Scenario;
pub use seed::SeedString;
pub use world::Failure;
