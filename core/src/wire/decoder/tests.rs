//! Unit tests of `decoder` (they use its private items).

use super::*;
use crate::wire::{
    status, C2HData, CapsuleCmd, CapsuleResp, Command, Cqe, H2CData, IcReq, IcResp, SglDescriptor,
    TermReq, R2T,
};

fn cfg(role: Role, digests: Digests) -> DecoderConfig {
    DecoderConfig {
        role,
        max_pdu_len: 1 << 20,
        max_data_len: 1 << 19,
        digests,
    }
}

fn host_to_target() -> Vec<Pdu> {
    let sqe = Command::Write {
        nsid: 1,
        slba: 8,
        nlb: 0,
    }
    .to_sqe(7)
    .with_sgl(SglDescriptor::in_capsule(512));
    vec![
        Pdu::CapsuleCmd(CapsuleCmd {
            sqe,
            data: vec![0x5a; 512],
        }),
        Pdu::CapsuleCmd(CapsuleCmd {
            sqe: Command::KeepAlive.to_sqe(8),
            data: vec![],
        }),
        Pdu::H2CData(H2CData {
            cccid: 7,
            ttag: 3,
            datao: 0,
            last: true,
            data: vec![1; 100],
        }),
        Pdu::H2CTermReq(TermReq {
            fes: FatalErrorStatus::PduSequenceError,
            fei: 0,
            data: vec![9; 24],
        }),
    ]
}

fn target_to_host() -> Vec<Pdu> {
    vec![
        Pdu::CapsuleResp(CapsuleResp {
            cqe: Cqe::new(7, status::SUCCESS, 1),
        }),
        Pdu::R2T(R2T {
            cccid: 7,
            ttag: 3,
            r2to: 0,
            r2tl: 8192,
        }),
        Pdu::C2HData(C2HData {
            cccid: 9,
            datao: 4096,
            last: true,
            success: true,
            data: vec![2; 4096],
        }),
    ]
}

fn stream(first: Pdu, rest: &[Pdu], d: Digests) -> (Vec<Pdu>, Vec<u8>) {
    let mut pdus = vec![first];
    pdus.extend_from_slice(rest);
    let mut bytes = Vec::new();
    for (i, p) in pdus.iter().enumerate() {
        p.emit(if i == 0 { Digests::NONE } else { d }, &mut bytes);
    }
    (pdus, bytes)
}

fn decode_all(dec: &mut PduDecoder, mut input: &[u8], digests: Digests) -> Vec<Pdu> {
    let mut out = Vec::new();
    while let Some(p) = dec.decode(&mut input).unwrap() {
        if out.is_empty() {
            dec.set_digests(digests);
        }
        out.push(p);
    }
    assert!(input.is_empty());
    out
}

fn both_roles() -> Vec<(Role, Pdu, Vec<Pdu>)> {
    let icreq = Pdu::IcReq(IcReq {
        pfv: 0,
        hpda: 0,
        digests: Digests::BOTH,
        maxr2t: 0,
    });
    let icresp = Pdu::IcResp(IcResp {
        pfv: 0,
        cpda: 0,
        digests: Digests::BOTH,
        maxh2cdata: 131_072,
    });
    vec![
        (Role::Target, icreq, host_to_target()),
        (Role::Host, icresp, target_to_host()),
    ]
}

#[test]
fn whole_and_byte_by_byte_decode_agree() {
    for d in [Digests::NONE, Digests::BOTH] {
        for (role, first, rest) in both_roles() {
            let (pdus, bytes) = stream(first, &rest, d);
            let mut dec = PduDecoder::new(cfg(role, Digests::NONE));
            assert_eq!(decode_all(&mut dec, &bytes, d), pdus);
            let mut dec = PduDecoder::new(cfg(role, Digests::NONE));
            let mut got = Vec::new();
            for b in bytes.chunks(1) {
                let mut input = b;
                if let Some(p) = dec.decode(&mut input).unwrap() {
                    if got.is_empty() {
                        dec.set_digests(d);
                    }
                    got.push(p);
                }
                assert!(input.is_empty());
            }
            assert_eq!(got, pdus);
            assert_eq!(dec.buffered(), 0);
        }
    }
}

#[test]
fn first_pdu_must_be_ic() {
    let resp = Pdu::CapsuleResp(CapsuleResp {
        cqe: Cqe::default(),
    });
    let mut dec = PduDecoder::new(cfg(Role::Host, Digests::NONE));
    let bytes = resp.to_bytes(Digests::NONE);
    let err = dec.decode(&mut &bytes[..]).unwrap_err();
    assert_eq!((err.fes, err.fei), (FatalErrorStatus::PduSequenceError, 0));
    assert_eq!(err.header, bytes[..8]);
    assert_eq!(dec.decode(&mut &[][..]).unwrap_err(), err, "sticky");
}

#[test]
fn data_digest_mismatch_is_fatal_or_tolerated() {
    let (_, mut bytes) = stream(both_roles()[1].1.clone(), &target_to_host(), Digests::BOTH);
    let n = bytes.len();
    bytes[n - 5] ^= 1;
    let mut dec = PduDecoder::new(cfg(Role::Host, Digests::NONE));
    let mut input = &bytes[..];
    for _ in 0..3 {
        dec.decode(&mut input).unwrap().unwrap();
        dec.set_digests(Digests::BOTH);
    }
    let err = dec.decode(&mut input).unwrap_err();
    assert_eq!((err.fes, err.fei), (FatalErrorStatus::HeaderDigestError, 0));
    assert_eq!(err.header.len(), 24);
    let mut dec = PduDecoder::new(cfg(Role::Host, Digests::NONE));
    let mut input = &bytes[..];
    for _ in 0..3 {
        dec.decode_tolerant(&mut input).unwrap().unwrap();
        dec.set_digests(Digests::BOTH);
    }
    let d = dec.decode_tolerant(&mut input).unwrap().unwrap();
    assert!(!d.data_digest_ok);
    assert_eq!(d.pdu.pdu_type(), PduType::C2HData);
}

#[test]
fn data_split_across_reads_decodes_as_whole_with_padding() {
    let pdu = Pdu::H2CData(H2CData {
        cccid: 3,
        ttag: 1,
        datao: 0,
        last: true,
        data: (0..200u8).collect(),
    });
    let mut plain = Vec::new();
    pdu.emit(Digests::NONE, &mut plain);
    // Four bytes of padding between the 24-byte header and the data: pdo 28.
    let mut padded = plain[..24].to_vec();
    padded.extend([0; 4]);
    padded.extend_from_slice(&plain[24..]);
    padded[3] = 28;
    let plen = u32::try_from(padded.len()).unwrap();
    padded[4..8].copy_from_slice(&plen.to_le_bytes());
    for at in 0..=padded.len() {
        let mut dec = PduDecoder::with_ic_done(cfg(Role::Target, Digests::NONE), true);
        let (mut first, mut second) = padded.split_at(at);
        let early = dec.decode(&mut first).unwrap();
        let got = match early {
            Some(p) => p,
            None => dec
                .decode(&mut second)
                .unwrap()
                .expect("whole after the rest"),
        };
        assert_eq!(got, pdu, "split at {at}");
        assert_eq!(dec.buffered(), 0);
    }
}

#[test]
fn a_data_digest_mismatch_is_found_however_the_data_is_split() {
    let (_, mut bytes) = stream(both_roles()[1].1.clone(), &target_to_host(), Digests::BOTH);
    let n = bytes.len();
    bytes[n - 5] ^= 1;
    for step in [1, 3, 7, 100] {
        for tolerant in [false, true] {
            let mut dec = PduDecoder::new(cfg(Role::Host, Digests::NONE));
            let mut last = None;
            for piece in bytes.chunks(step) {
                let mut input = piece;
                while !input.is_empty() {
                    let r = if tolerant {
                        dec.decode_tolerant(&mut input)
                    } else {
                        dec.decode(&mut input).map(|p| {
                            p.map(|pdu| Decoded {
                                pdu,
                                data_digest_ok: true,
                            })
                        })
                    };
                    match r {
                        Ok(Some(d)) => {
                            dec.set_digests(Digests::BOTH);
                            last = Some(Ok(d));
                        }
                        Ok(None) => {}
                        Err(e) => {
                            last = Some(Err(e));
                            break;
                        }
                    }
                }
            }
            match last.expect("something decoded") {
                Ok(d) => {
                    assert!(tolerant, "step {step}: tolerated only when asked");
                    assert!(!d.data_digest_ok);
                    assert_eq!(d.pdu.pdu_type(), PduType::C2HData);
                }
                Err(e) => {
                    assert!(!tolerant, "step {step}: fatal only when not tolerated");
                    assert_eq!(
                        (e.fes, e.header.len()),
                        (FatalErrorStatus::HeaderDigestError, 24)
                    );
                }
            }
        }
    }
}
