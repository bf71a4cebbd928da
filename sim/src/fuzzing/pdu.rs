//! The codec harnesses `pdu_decode` and `pdu_roundtrip`. The first input byte picks the role,
//! the digests and the chunk size the stream is fed in (bit 7: start with a valid IC PDU so
//! the later PDU types are reached); the rest is the byte stream.

use fabcheck_core::wire::{
    DecoderConfig, Digests, IcReq, IcResp, Pdu, PduDecoder, Role, WireError,
};

/// A decoded codec fuzz input.
pub struct Setup {
    pub role: Role,
    pub digests: Digests,
    pub chunk: usize,
    pub config: DecoderConfig,
    pub stream: Vec<u8>,
}

fn ic_pdu(role: Role, digests: Digests) -> Pdu {
    match role {
        Role::Target => Pdu::IcReq(IcReq {
            pfv: 0,
            hpda: 0,
            digests,
            maxr2t: 0,
        }),
        Role::Host => Pdu::IcResp(IcResp {
            pfv: 0,
            cpda: 0,
            digests,
            maxh2cdata: 4096,
        }),
    }
}

pub fn setup(data: &[u8]) -> Option<Setup> {
    let (&ctl, rest) = data.split_first()?;
    let role = if ctl & 1 == 0 {
        Role::Target
    } else {
        Role::Host
    };
    let digests = Digests {
        header: ctl & 2 != 0,
        data: ctl & 4 != 0,
    };
    let config = DecoderConfig {
        role,
        max_pdu_len: 65_536,
        max_data_len: 32_768,
        digests: Digests::NONE,
    };
    let mut stream = Vec::new();
    if ctl & 0x80 != 0 {
        ic_pdu(role, digests).emit(Digests::NONE, &mut stream);
    }
    stream.extend_from_slice(rest);
    Some(Setup {
        role,
        digests,
        chunk: 1 + usize::from((ctl >> 3) & 0x0f) * 7,
        config,
        stream,
    })
}

/// Arbitrary bytes, fed in chunks, never panic the decoder, never make it buffer more than
/// `max_pdu_len`, and every error is sticky.
pub fn pdu_decode(data: &[u8]) {
    let Some(s) = setup(data) else { return };
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
}

fn decode_all(s: &Setup, chunk: usize) -> (Vec<Pdu>, Option<WireError>) {
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

/// Every PDU the decoder accepts re-encodes to bytes that parse back to the same PDU, and
/// decoding the stream in one chunk or in small chunks gives the same PDUs and error.
pub fn pdu_roundtrip(data: &[u8]) {
    let Some(s) = setup(data) else { return };
    let whole = decode_all(&s, s.stream.len().max(1));
    assert_eq!(
        whole,
        decode_all(&s, s.chunk),
        "chunking changed the result"
    );
    for (i, p) in whole.0.iter().enumerate() {
        let d = if i == 0 { Digests::NONE } else { s.digests };
        let again = Pdu::parse(&p.to_bytes(d), s.role, s.digests).expect("re-encoded PDU parses");
        assert_eq!(&again, p);
    }
}
