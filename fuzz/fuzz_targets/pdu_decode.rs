//! Arbitrary bytes, fed in chunks, never panic the decoder, never make it buffer more than
//! `max_pdu_len`, and every error is sticky.
#![no_main]

use fabcheck_core::wire::PduDecoder;
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let Some(s) = common::setup(data) else { return };
    let mut dec = PduDecoder::new(s.config);
    for chunk in s.stream.chunks(s.chunk) {
        let mut input = chunk;
        loop {
            match dec.decode(&mut input) {
                Ok(Some(pdu)) => {
                    let _ = pdu.to_string();
                    dec.set_digests(s.digests);
                }
                Ok(None) => break,
                Err(e) => {
                    assert!(e.header.len() <= 128);
                    assert_eq!(dec.decode(&mut &b"x"[..]).unwrap_err(), e);
                    return;
                }
            }
            assert!(dec.buffered() <= s.config.max_pdu_len as usize);
        }
    }
});
