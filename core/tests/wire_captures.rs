//! Real-peer vectors: every PDU of every captured SPDK session decodes, both directions.
//!
//! The captures (copied from the shared capture set into `tests/data/captures/`) are sessions
//! between SPDK's initiator and SPDK's target. Host-to-target streams are decoded with
//! `Role::Target`, target-to-host streams with `Role::Host`; digests are switched on after the
//! IC exchange exactly as the peers negotiated them; a stream cut mid-PDU ends "incomplete".

use fabcheck_core::wire::{DecoderConfig, Digests, Pdu, PduDecoder, PduType, Role};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/captures")
}

/// The result of decoding one captured direction.
struct Decoded {
    pdus: Vec<Pdu>,
    /// Bytes of the cut-off last PDU left buffered.
    tail: usize,
}

fn decode_stream(file: &str, role: Role) -> Decoded {
    let bytes = std::fs::read(data_dir().join(file)).expect("capture file");
    let mut dec = PduDecoder::new(DecoderConfig {
        role,
        max_pdu_len: 1 << 20,
        max_data_len: 1 << 19,
        digests: Digests::NONE,
    });
    let mut input = &bytes[..];
    let mut pdus = Vec::new();
    while let Some(pdu) = dec
        .decode(&mut input)
        .unwrap_or_else(|e| panic!("{file}: PDU #{} rejected: {e}", pdus.len()))
    {
        if let Pdu::IcReq(ic) = &pdu {
            dec.set_digests(ic.digests);
        }
        if let Pdu::IcResp(ic) = &pdu {
            dec.set_digests(ic.digests);
        }
        pdus.push(pdu);
    }
    assert!(input.is_empty());
    Decoded {
        pdus,
        tail: dec.buffered(),
    }
}

fn counts(pdus: &[Pdu]) -> BTreeMap<PduType, usize> {
    let mut m = BTreeMap::new();
    for p in pdus {
        *m.entry(p.pdu_type()).or_default() += 1;
    }
    m
}

const CAPTURES: [(&str, usize); 4] = [
    ("spdk-identify", 1),
    ("spdk-perf-randread-4k-digests", 2),
    ("spdk-perf-randwrite-16k", 2),
    ("spdk-perf-rw-4k", 2),
];

#[test]
fn every_captured_pdu_decodes() {
    for (name, streams) in CAPTURES {
        for s in 0..streams {
            let h2c = decode_stream(
                &format!("{name}.stream{s}.host-to-target.bin"),
                Role::Target,
            );
            let c2h = decode_stream(&format!("{name}.stream{s}.target-to-host.bin"), Role::Host);
            eprintln!(
                "{name} stream{s}: h2c {:?} tail {} / c2h {:?} tail {}",
                counts(&h2c.pdus),
                h2c.tail,
                counts(&c2h.pdus),
                c2h.tail
            );
            assert!(matches!(h2c.pdus[0], Pdu::IcReq(_)));
            assert!(matches!(c2h.pdus[0], Pdu::IcResp(_)));
        }
    }
}
