//! Peer bytes on several connections, RPCs, thread runs, device completions, timer firings and
//! time passing, into a fixed-core target set up from a built-in scenario's configuration: no
//! panic, no violation apart from recorded hazards (docs/hazards.md; the input ends there),
//! invariants and the driver contract hold after every op (harness:
//! `fabcheck_sim::fuzzing::target_inputs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(finding) = fabcheck_sim::fuzzing::target_inputs::run(data) {
        panic!("target_inputs finding {finding}");
    }
});
