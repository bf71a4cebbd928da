//! Every PDU the decoder accepts re-encodes to bytes that parse back to the same PDU
//! (parse -> emit -> parse), and decoding the whole stream in one chunk or in small chunks
//! gives the same PDUs and the same error.
#![no_main]

use fabcheck_core::wire::{Digests, Pdu, PduDecoder, WireError};
use libfuzzer_sys::fuzz_target;

mod common;

fn run(s: &common::Setup, chunk: usize) -> (Vec<Pdu>, Option<WireError>) {
    let mut dec = PduDecoder::new(s.config);
    let mut pdus = Vec::new();
    for c in s.stream.chunks(chunk) {
        let mut input = c;
        loop {
            match dec.decode(&mut input) {
                Ok(Some(p)) => {
                    pdus.push(p);
                    dec.set_digests(s.digests);
                }
                Ok(None) => break,
                Err(e) => return (pdus, Some(e)),
            }
        }
    }
    (pdus, None)
}

fuzz_target!(|data: &[u8]| {
    let Some(s) = common::setup(data) else { return };
    let whole = run(&s, s.stream.len().max(1));
    assert_eq!(whole, run(&s, s.chunk), "chunking changed the result");
    for (i, p) in whole.0.iter().enumerate() {
        let d = if i == 0 { Digests::NONE } else { s.digests };
        let again = Pdu::parse(&p.to_bytes(d), s.role, s.digests).expect("re-encoded PDU parses");
        assert_eq!(&again, p);
    }
});
