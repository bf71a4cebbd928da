//! Every PDU the decoder accepts re-encodes to bytes that parse back to the same PDU, in any
//! chunking (harness: `fabcheck_sim::fuzzing::pdu`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fabcheck_sim::fuzzing::pdu::pdu_roundtrip(data));
