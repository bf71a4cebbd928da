//! Arbitrary bytes, fed in chunks, never panic the decoder, never make it buffer more than
//! `max_pdu_len`, and every error is sticky (harness: `fabcheck_sim::fuzzing::pdu`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fabcheck_sim::fuzzing::pdu::pdu_decode(data));
