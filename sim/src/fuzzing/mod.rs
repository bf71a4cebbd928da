//! Fuzzing harnesses shared by the cargo-fuzz targets in `fuzz/` and the workspace test that
//! replays their committed corpus on the stable toolchain (feature `fuzzing`; pulls in
//! `arbitrary`, never libFuzzer).
//!
//! - `pdu`: the codec targets `pdu_decode` and `pdu_roundtrip`.
//! - `target_inputs` (+ `ops`, `rpc`): arbitrary peer bytes, RPCs, thread runs, completions,
//!   timer firings and time on a fixed-core target; the oracle holds after every op.
//! - `sim_choices`: the input is a `Bytes` chooser's stream for a built-in scenario; every
//!   input is one run and one `fc1:` seed string.
//! - `corpus`: turns real connections (simulator recordings, captured streams) into seeds.

pub mod corpus;
pub mod ops;
pub mod pdu;
mod rpc;
pub mod sim_choices;
pub mod target_inputs;

pub use ops::{FuzzInput, Op};
pub use rpc::template as rpc_template;
pub use target_inputs::{Finding, Harness};
