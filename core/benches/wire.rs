//! Decode throughput of the NVMe/TCP codec: a mixed stream of capsules and 4 KiB data PDUs,
//! with and without digests, in both directions (host side: CapsuleResp + C2HData reads;
//! target side: CapsuleCmd + H2CData writes). Reported twice: as bytes/s (GB/s) and as
//! elements/s (PDUs/s). Run with `cargo bench -p fabcheck-core --bench wire`.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use fabcheck_core::wire::{
    C2HData, CapsuleCmd, CapsuleResp, Command, Cqe, DecoderConfig, Digests, H2CData, IcReq, IcResp,
    Pdu, PduDecoder, Role, SglDescriptor, Status,
};
use std::time::Duration;

/// I/Os per stream: each is one capsule and one 4 KiB data PDU, and every fourth I/O adds a
/// lone capsule (a keep-alive or its response) so the mix is not perfectly regular.
const IOS: u16 = 256;

fn host_side() -> Vec<Pdu> {
    let mut pdus = vec![Pdu::IcResp(IcResp {
        pfv: 0,
        cpda: 0,
        digests: Digests::BOTH,
        maxh2cdata: 131_072,
    })];
    for cid in 0..IOS {
        let data = vec![cid as u8; 4096];
        pdus.push(Pdu::C2HData(C2HData {
            cccid: cid,
            datao: 0,
            last: true,
            success: false,
            data,
        }));
        pdus.push(Pdu::CapsuleResp(CapsuleResp {
            cqe: Cqe::new(cid, Status::new(0, 0), 0),
        }));
        if cid % 4 == 0 {
            pdus.push(Pdu::CapsuleResp(CapsuleResp {
                cqe: Cqe::new(999, Status::new(0, 0), 0),
            }));
        }
    }
    pdus
}

fn target_side() -> Vec<Pdu> {
    let mut pdus = vec![Pdu::IcReq(IcReq {
        pfv: 0,
        hpda: 0,
        digests: Digests::BOTH,
        maxr2t: 0,
    })];
    for cid in 0..IOS {
        let sqe = Command::Write {
            nsid: 1,
            slba: u64::from(cid) * 8,
            nlb: 7,
        }
        .to_sqe(cid)
        .with_sgl(SglDescriptor::transport(4096));
        pdus.push(Pdu::CapsuleCmd(CapsuleCmd { sqe, data: vec![] }));
        let data = vec![cid as u8; 4096];
        pdus.push(Pdu::H2CData(H2CData {
            cccid: cid,
            ttag: cid,
            datao: 0,
            last: true,
            data,
        }));
        if cid % 4 == 0 {
            let sqe = Command::KeepAlive.to_sqe(999);
            pdus.push(Pdu::CapsuleCmd(CapsuleCmd { sqe, data: vec![] }));
        }
    }
    pdus
}

fn encode(pdus: &[Pdu], d: Digests) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, p) in pdus.iter().enumerate() {
        p.emit(if i == 0 { Digests::NONE } else { d }, &mut out);
    }
    out
}

/// Decodes the whole stream, as a connection would; returns the PDU count.
fn decode_stream(role: Role, d: Digests, bytes: &[u8]) -> usize {
    let mut dec = PduDecoder::new(DecoderConfig {
        role,
        max_pdu_len: 1 << 20,
        max_data_len: 131_072,
        digests: Digests::NONE,
    });
    let mut input = bytes;
    let mut n = 0;
    while let Some(pdu) = dec.decode(&mut input).expect("valid stream") {
        if n == 0 {
            dec.set_digests(d);
        }
        black_box(&pdu);
        n += 1;
    }
    n
}

fn cases() -> Vec<(String, Role, Digests, Vec<u8>, usize)> {
    let mut v = Vec::new();
    for (side, role, pdus) in [
        ("host", Role::Host, host_side()),
        ("target", Role::Target, target_side()),
    ] {
        for (dname, d) in [("no-digests", Digests::NONE), ("digests", Digests::BOTH)] {
            let bytes = encode(&pdus, d);
            v.push((format!("{side}/{dname}"), role, d, bytes, pdus.len()));
        }
    }
    v
}

fn bench_decode(c: &mut Criterion) {
    for (unit, by_bytes) in [("bytes", true), ("pdus", false)] {
        let mut g = c.benchmark_group(format!("wire_decode_{unit}"));
        g.sample_size(20)
            .measurement_time(Duration::from_secs(2))
            .warm_up_time(Duration::from_millis(500));
        for (name, role, d, bytes, n) in cases() {
            assert_eq!(decode_stream(role, d, &bytes), n);
            let tp = if by_bytes {
                Throughput::Bytes(bytes.len() as u64)
            } else {
                Throughput::Elements(n as u64)
            };
            g.throughput(tp);
            g.bench_with_input(BenchmarkId::from_parameter(&name), &bytes, |b, bytes| {
                b.iter(|| decode_stream(role, d, black_box(bytes)));
            });
        }
        g.finish();
    }
}

/// What the machine can do at all: copying 4 KiB into a fresh `Vec` (what decoding a data PDU
/// must do, as `Pdu` owns its data) and CRC32C over 4 KiB (what a data digest costs).
fn bench_baseline(c: &mut Criterion) {
    let mut g = c.benchmark_group("wire_baseline_4k");
    g.sample_size(20)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    g.throughput(Throughput::Bytes(4096));
    let block = vec![0x5au8; 4096];
    g.bench_function("copy_to_vec", |b| {
        b.iter(|| black_box(black_box(&block[..]).to_vec()))
    });
    g.bench_function("crc32c", |b| {
        b.iter(|| fabcheck_core::wire::crc32c(black_box(&block)))
    });
    g.finish();
}

criterion_group!(benches, bench_decode, bench_baseline);
criterion_main!(benches);
