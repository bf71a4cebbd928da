//! Every malformed input the decoder rejects, one test per case, with the fatal error status
//! (FES) and error information (FEI) the receiver puts in its TermReq. FEI is the byte offset
//! of the bad header field for "invalid header field" and "unsupported parameter", the
//! received header digest for "header digest error", and 0 otherwise.

use fabcheck_core::wire::{
    C2HData, CapsuleCmd, CapsuleResp, Command, Cqe, DecoderConfig, Digests,
    FatalErrorStatus::{self, *},
    H2CData, IcReq, IcResp, Pdu, PduDecoder, Role, SglDescriptor, TermReq, WireError, R2T,
};

const MAX_PDU: u32 = 8192;
const MAX_DATA: u32 = 4096;

fn decoder(role: Role) -> PduDecoder {
    PduDecoder::new(DecoderConfig {
        role,
        max_pdu_len: MAX_PDU,
        max_data_len: MAX_DATA,
        digests: Digests::NONE,
    })
}

fn icreq(d: Digests) -> Pdu {
    Pdu::IcReq(IcReq {
        pfv: 0,
        hpda: 0,
        digests: d,
        maxr2t: 0,
    })
}

fn icresp(d: Digests) -> Pdu {
    Pdu::IcResp(IcResp {
        pfv: 0,
        cpda: 0,
        digests: d,
        maxh2cdata: 131_072,
    })
}

/// A decoder of `role` that has completed the IC exchange with digests `d`.
fn connected(role: Role, d: Digests) -> PduDecoder {
    let mut dec = decoder(role);
    let ic = if role == Role::Target {
        icreq(d)
    } else {
        icresp(d)
    };
    dec.decode(&mut &ic.to_bytes(d)[..]).unwrap().unwrap();
    dec.set_digests(d);
    dec
}

/// Feeds `bytes` in one go and in single bytes; both must fail with the same error, the
/// error must be sticky, and the header echoed must be a prefix of the input.
fn reject(mut make: impl FnMut() -> PduDecoder, bytes: &[u8]) -> WireError {
    let mut dec = make();
    let mut input = bytes;
    let err = match dec.decode(&mut input) {
        Ok(Some(p)) => panic!("accepted {p}"),
        Ok(None) => panic!("incomplete, not rejected"),
        Err(e) => e,
    };
    assert_eq!(dec.decode(&mut &bytes[..]).unwrap_err(), err, "sticky");
    let mut dec = make();
    let split = bytes
        .chunks(1)
        .find_map(|b| dec.decode(&mut &b[..]).err())
        .expect("byte-by-byte also rejects");
    assert_eq!(split, err, "same error however the bytes are split");
    assert!(bytes.starts_with(&err.header) && err.header.len() <= 128);
    assert_eq!(err.term_req().fes, err.fes);
    err
}

fn expect(err: WireError, fes: FatalErrorStatus, fei: u32) {
    assert_eq!((err.fes, err.fei), (fes, fei), "{err}");
}

fn keep_alive() -> Pdu {
    Pdu::CapsuleCmd(CapsuleCmd {
        sqe: Command::KeepAlive.to_sqe(1),
        data: vec![],
    })
}

fn write_in_capsule(len: usize) -> Pdu {
    let sqe = Command::Write {
        nsid: 1,
        slba: 0,
        nlb: 0,
    }
    .to_sqe(1)
    .with_sgl(SglDescriptor::in_capsule(len as u32));
    Pdu::CapsuleCmd(CapsuleCmd {
        sqe,
        data: vec![7; len],
    })
}

fn h2c_data(len: usize) -> Pdu {
    Pdu::H2CData(H2CData {
        cccid: 1,
        ttag: 1,
        datao: 0,
        last: true,
        data: vec![3; len],
    })
}

fn c2h_data(len: usize) -> Pdu {
    Pdu::C2HData(C2HData {
        cccid: 1,
        datao: 0,
        last: true,
        success: false,
        data: vec![3; len],
    })
}

fn target(d: Digests) -> impl FnMut() -> PduDecoder {
    move || connected(Role::Target, d)
}

fn host(d: Digests) -> impl FnMut() -> PduDecoder {
    move || connected(Role::Host, d)
}

const N: Digests = Digests::NONE;
const B: Digests = Digests::BOTH;

#[test]
fn reserved_pdu_type_0x08() {
    let mut b = keep_alive().to_bytes(N);
    b[0] = 0x08;
    expect(reject(target(N), &b), InvalidHeaderField, 0);
}

#[test]
fn reserved_pdu_type_above_r2t() {
    let mut b = keep_alive().to_bytes(N);
    b[0] = 0x0a;
    expect(reject(host(N), &b), InvalidHeaderField, 0);
}

#[test]
fn controller_to_host_types_sent_to_a_target() {
    let c2h = [
        icresp(N),
        Pdu::CapsuleResp(CapsuleResp {
            cqe: Cqe::default(),
        }),
        c2h_data(8),
        Pdu::R2T(R2T {
            cccid: 1,
            ttag: 1,
            r2to: 0,
            r2tl: 8,
        }),
        Pdu::C2HTermReq(TermReq {
            fes: PduSequenceError,
            fei: 0,
            data: vec![],
        }),
    ];
    for p in c2h {
        expect(reject(target(N), &p.to_bytes(N)), InvalidHeaderField, 0);
    }
}

#[test]
fn host_to_controller_types_sent_to_a_host() {
    let h2c = [
        icreq(N),
        keep_alive(),
        h2c_data(8),
        Pdu::H2CTermReq(TermReq {
            fes: PduSequenceError,
            fei: 0,
            data: vec![],
        }),
    ];
    for p in h2c {
        expect(reject(host(N), &p.to_bytes(N)), InvalidHeaderField, 0);
    }
}

#[test]
fn capsule_before_icreq_is_a_sequence_error() {
    let e = reject(|| decoder(Role::Target), &keep_alive().to_bytes(N));
    expect(e, PduSequenceError, 0);
}

#[test]
fn data_before_icresp_is_a_sequence_error() {
    expect(
        reject(|| decoder(Role::Host), &c2h_data(4).to_bytes(N)),
        PduSequenceError,
        0,
    );
}

#[test]
fn term_req_before_ic_is_accepted() {
    // SPDK's target answers a bad ICReq with a C2HTermReq instead of an ICResp.
    let t = Pdu::C2HTermReq(TermReq {
        fes: InvalidHeaderField,
        fei: 10,
        data: vec![0; 8],
    });
    let mut dec = decoder(Role::Host);
    assert_eq!(dec.decode(&mut &t.to_bytes(N)[..]).unwrap(), Some(t));
}

#[test]
fn second_icreq_is_a_sequence_error() {
    expect(
        reject(target(N), &icreq(N).to_bytes(N)),
        PduSequenceError,
        0,
    );
}

#[test]
fn second_icresp_is_a_sequence_error() {
    expect(reject(host(N), &icresp(N).to_bytes(N)), PduSequenceError, 0);
}

#[test]
fn wrong_hlen() {
    let mut b = keep_alive().to_bytes(N);
    b[2] = 24;
    expect(reject(target(N), &b), InvalidHeaderField, 2);
}

#[test]
fn header_digest_flag_without_negotiation() {
    let b = keep_alive().to_bytes(Digests {
        header: true,
        data: false,
    });
    expect(reject(target(N), &b), InvalidHeaderField, 1);
}

#[test]
fn header_digest_flag_missing_when_negotiated() {
    expect(
        reject(target(B), &keep_alive().to_bytes(N)),
        InvalidHeaderField,
        1,
    );
}

#[test]
fn header_digest_mismatch_reports_the_received_digest() {
    let mut b = Pdu::CapsuleResp(CapsuleResp {
        cqe: Cqe::new(4, Default::default(), 0),
    })
    .to_bytes(B);
    b[12] ^= 0x40; // a CQE bit, covered by the digest
    let got = u32::from_le_bytes([b[24], b[25], b[26], b[27]]);
    let e = reject(host(B), &b);
    expect(e.clone(), HeaderDigestError, got);
    assert_eq!(
        e.header,
        b[..24],
        "the header, without its digest, is echoed"
    );
}

#[test]
fn corrupted_plen_is_caught_by_the_header_digest_first() {
    let mut b = h2c_data(16).to_bytes(B);
    b[4] = 0xff;
    let e = reject(target(B), &b);
    assert_eq!(e.fes, HeaderDigestError);
}

#[test]
fn plen_above_the_limit_is_rejected_before_buffering() {
    let mut b = h2c_data(16).to_bytes(N);
    b[4..8].copy_from_slice(&(MAX_PDU + 1).to_le_bytes());
    expect(reject(target(N), &b), InvalidHeaderField, 4);
    // Only the header is ever buffered for it.
    let mut dec = connected(Role::Target, N);
    let mut input = &b[..23];
    assert_eq!(dec.decode(&mut input).unwrap(), None);
    assert_eq!(dec.buffered(), 23);
}

#[test]
fn plen_of_a_fixed_size_pdu_wrong() {
    let mut b = keep_alive().to_bytes(N);
    b[4] = 73;
    b.push(0);
    expect(reject(target(N), &b), InvalidHeaderField, 4);
}

#[test]
fn icreq_plen_not_128() {
    let mut b = icreq(N).to_bytes(N);
    b[4] = 132;
    b.extend([0; 4]);
    expect(reject(|| decoder(Role::Target), &b), InvalidHeaderField, 4);
}

#[test]
fn pdo_set_on_a_pdu_without_data() {
    let mut b = Pdu::R2T(R2T {
        cccid: 1,
        ttag: 1,
        r2to: 0,
        r2tl: 8,
    })
    .to_bytes(N);
    b[3] = 24;
    expect(reject(host(N), &b), InvalidHeaderField, 3);
}

#[test]
fn pdo_inside_the_header() {
    let mut b = h2c_data(16).to_bytes(B);
    b[3] = 24; // header plus digest is 28 bytes
    let hd = fabcheck_core::wire::crc32c(&b[..24]);
    b[24..28].copy_from_slice(&hd.to_le_bytes());
    expect(reject(target(B), &b), InvalidHeaderField, 3);
}

#[test]
fn pdo_beyond_the_largest_padding() {
    let mut b = write_in_capsule(512).to_bytes(N);
    b[3] = 72 + 129;
    expect(reject(target(N), &b), InvalidHeaderField, 3);
}

#[test]
fn data_pdu_without_data() {
    let mut b = h2c_data(4).to_bytes(N);
    b[4] = 24; // plen = pdo
    b[16] = 0;
    b.truncate(24);
    expect(reject(target(N), &b), InvalidHeaderField, 4);
}

#[test]
fn datal_disagrees_with_plen() {
    let mut b = c2h_data(64).to_bytes(N);
    b[16] = 63;
    expect(reject(host(N), &b), InvalidHeaderField, 16);
}

#[test]
fn h2c_data_beyond_the_data_limit() {
    let b = h2c_data(MAX_DATA as usize + 4).to_bytes(N);
    expect(reject(target(N), &b), LimitExceeded, 0);
}

#[test]
fn in_capsule_data_beyond_the_data_limit() {
    let b = write_in_capsule(MAX_DATA as usize + 1).to_bytes(N);
    expect(reject(target(N), &b), LimitExceeded, 0);
}

#[test]
fn data_digest_flag_without_negotiation() {
    let b = write_in_capsule(8).to_bytes(Digests {
        header: false,
        data: true,
    });
    expect(reject(target(N), &b), InvalidHeaderField, 1);
}

#[test]
fn data_digest_flag_on_a_capsule_without_data() {
    let mut b = keep_alive().to_bytes(B);
    b[1] |= 0x02;
    let hd = fabcheck_core::wire::crc32c(&b[..72]);
    b[72..76].copy_from_slice(&hd.to_le_bytes());
    expect(reject(target(B), &b), InvalidHeaderField, 1);
}

#[test]
fn c2h_success_without_last_pdu() {
    let mut b = c2h_data(8).to_bytes(N);
    b[1] = 0x08;
    expect(reject(host(N), &b), InvalidHeaderField, 1);
}

#[test]
fn r2t_of_zero_bytes() {
    let b = Pdu::R2T(R2T {
        cccid: 1,
        ttag: 1,
        r2to: 0,
        r2tl: 0,
    })
    .to_bytes(N);
    expect(reject(host(N), &b), InvalidHeaderField, 16);
}

#[test]
fn term_req_longer_than_152() {
    let mut b = Pdu::H2CTermReq(TermReq {
        fes: LimitExceeded,
        fei: 0,
        data: vec![1; 128],
    })
    .to_bytes(N);
    b[4] = 153;
    b.push(0);
    expect(reject(target(N), &b), InvalidHeaderField, 4);
}

#[test]
fn term_req_shorter_than_its_header() {
    let mut b = Pdu::H2CTermReq(TermReq {
        fes: LimitExceeded,
        fei: 0,
        data: vec![],
    })
    .to_bytes(N);
    b[4] = 20;
    expect(reject(target(N), &b), InvalidHeaderField, 4);
}

#[test]
fn term_req_with_reserved_fes() {
    let mut b = Pdu::C2HTermReq(TermReq {
        fes: LimitExceeded,
        fei: 0,
        data: vec![],
    })
    .to_bytes(N);
    b[8] = 7;
    expect(reject(host(N), &b), InvalidHeaderField, 8);
}

#[test]
fn icreq_with_unsupported_pfv() {
    let b = Pdu::IcReq(IcReq {
        pfv: 1,
        hpda: 0,
        digests: N,
        maxr2t: 0,
    })
    .to_bytes(N);
    expect(
        reject(|| decoder(Role::Target), &b),
        UnsupportedParameter,
        8,
    );
}

#[test]
fn icreq_with_hpda_above_31() {
    let b = Pdu::IcReq(IcReq {
        pfv: 0,
        hpda: 32,
        digests: N,
        maxr2t: 0,
    })
    .to_bytes(N);
    expect(reject(|| decoder(Role::Target), &b), InvalidHeaderField, 10);
}

#[test]
fn icresp_with_cpda_above_31() {
    let b = Pdu::IcResp(IcResp {
        pfv: 0,
        cpda: 40,
        digests: N,
        maxh2cdata: 8192,
    })
    .to_bytes(N);
    expect(reject(|| decoder(Role::Host), &b), InvalidHeaderField, 10);
}

#[test]
fn icresp_with_maxh2cdata_below_4096() {
    let b = Pdu::IcResp(IcResp {
        pfv: 0,
        cpda: 0,
        digests: N,
        maxh2cdata: 4092,
    })
    .to_bytes(N);
    expect(reject(|| decoder(Role::Host), &b), InvalidHeaderField, 12);
}

#[test]
fn icresp_with_maxh2cdata_not_dword_multiple() {
    let b = Pdu::IcResp(IcResp {
        pfv: 0,
        cpda: 0,
        digests: N,
        maxh2cdata: 8190,
    })
    .to_bytes(N);
    expect(reject(|| decoder(Role::Host), &b), InvalidHeaderField, 12);
}

#[test]
fn data_digest_mismatch_is_fatal_in_decode() {
    let mut b = h2c_data(32).to_bytes(B);
    let n = b.len();
    b[n - 1] ^= 0x80;
    let e = reject(target(B), &b);
    expect(e.clone(), HeaderDigestError, 0);
    assert_eq!(e.header, b[..24]);
}

#[test]
fn data_digest_mismatch_is_reported_by_decode_tolerant() {
    let mut b = write_in_capsule(32).to_bytes(B);
    b[80] ^= 1; // a data byte
    let mut dec = connected(Role::Target, B);
    let d = dec.decode_tolerant(&mut &b[..]).unwrap().unwrap();
    assert!(!d.data_digest_ok);
    // The stream stays usable: the next PDU decodes.
    let next = keep_alive();
    assert_eq!(dec.decode(&mut &next.to_bytes(B)[..]).unwrap(), Some(next));
}

#[test]
fn padding_before_data_is_accepted() {
    // A peer honouring a CPDA/HPDA may put padding between header and data.
    let mut b = c2h_data(8).to_bytes(N);
    b[3] = 32;
    b[4] = 40;
    b.splice(24..24, [0xee; 8]);
    let mut dec = connected(Role::Host, N);
    assert_eq!(dec.decode(&mut &b[..]).unwrap(), Some(c2h_data(8)));
}
