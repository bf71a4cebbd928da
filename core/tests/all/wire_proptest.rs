//! Property tests: Repr -> bytes -> Repr round trips for every PDU (digests on and off), the
//! same stream split anywhere decodes to the same PDUs (and the same error), arbitrary and
//! mutated bytes never panic and never make the decoder buffer past its limit, and the SQE,
//! CQE, command, CONNECT data and Identify layers round trip.

use fabcheck_core::wire::{
    C2HData, CapsuleCmd, CapsuleResp, Command, Connect, ConnectData, Cqe, DecoderConfig, Digests,
    FatalErrorStatus, H2CData, IcReq, IcResp, IdentifyController, IdentifyNamespace, Pdu,
    PduDecoder, QueueKind, Role, SglDescriptor, Sqe, Status, TermReq, WireError, R2T,
};
use proptest::prelude::*;

const MAX_PDU: u32 = 16_384;

fn config(role: Role) -> DecoderConfig {
    DecoderConfig {
        role,
        max_pdu_len: MAX_PDU,
        max_data_len: 8192,
        digests: Digests::NONE,
    }
}

fn digests() -> impl Strategy<Value = Digests> {
    (any::<bool>(), any::<bool>()).prop_map(|(header, data)| Digests { header, data })
}

fn data(min: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::collection::vec(any::<u8>(), min..200),
        1 => prop::collection::vec(any::<u8>(), 4096..=4096),
    ]
}

fn fes() -> impl Strategy<Value = FatalErrorStatus> {
    (1u16..=6).prop_map(|v| FatalErrorStatus::from_u16(v).unwrap())
}

fn term_req() -> impl Strategy<Value = TermReq> {
    (
        fes(),
        any::<u32>(),
        prop::collection::vec(any::<u8>(), 0..=128),
    )
        .prop_map(|(fes, fei, data)| TermReq { fes, fei, data })
}

fn sgl() -> impl Strategy<Value = SglDescriptor> {
    (any::<u64>(), any::<u32>(), any::<u8>()).prop_map(|(addr, len, kind)| SglDescriptor {
        addr,
        len,
        kind,
    })
}

fn sqe() -> impl Strategy<Value = Sqe> {
    (
        any::<(u8, u8, u16, u32, u32, u32, u64)>(),
        sgl(),
        any::<[u32; 6]>(),
    )
        .prop_map(|((opc, flags, cid, nsid, cdw2, cdw3, mptr), sgl1, c)| Sqe {
            opc,
            flags,
            cid,
            nsid,
            cdw2,
            cdw3,
            mptr,
            sgl1,
            cdw10: c[0],
            cdw11: c[1],
            cdw12: c[2],
            cdw13: c[3],
            cdw14: c[4],
            cdw15: c[5],
        })
}

fn status() -> impl Strategy<Value = Status> {
    (0u8..8, any::<u8>(), 0u8..4, any::<bool>(), any::<bool>()).prop_map(
        |(sct, sc, crd, more, dnr)| Status {
            sct,
            sc,
            crd,
            more,
            dnr,
        },
    )
}

fn cqe() -> impl Strategy<Value = Cqe> {
    (any::<(u32, u32, u16, u16, u16)>(), status()).prop_map(
        |((cdw0, cdw1, sqhd, sqid, cid), status)| Cqe {
            cdw0,
            cdw1,
            sqhd,
            sqid,
            cid,
            status,
        },
    )
}

/// PDUs a host sends after ICReq.
fn h2c_pdu() -> impl Strategy<Value = Pdu> {
    prop_oneof![
        term_req().prop_map(Pdu::H2CTermReq),
        (sqe(), prop_oneof![Just(vec![]).boxed(), data(1).boxed()])
            .prop_map(|(sqe, data)| Pdu::CapsuleCmd(CapsuleCmd { sqe, data })),
        (any::<(u16, u16, u32, bool)>(), data(1)).prop_map(|((cccid, ttag, datao, last), data)| {
            Pdu::H2CData(H2CData {
                cccid,
                ttag,
                datao,
                last,
                data,
            })
        }),
    ]
}

/// PDUs a controller sends after ICResp.
fn c2h_pdu() -> impl Strategy<Value = Pdu> {
    prop_oneof![
        term_req().prop_map(Pdu::C2HTermReq),
        cqe().prop_map(|cqe| Pdu::CapsuleResp(CapsuleResp { cqe })),
        (any::<(u16, u32, bool, bool)>(), data(1)).prop_map(|((cccid, datao, last, s), data)| {
            Pdu::C2HData(C2HData {
                cccid,
                datao,
                last,
                success: s && last,
                data,
            })
        }),
        (any::<(u16, u16, u32)>(), 1u32..).prop_map(|((cccid, ttag, r2to), r2tl)| {
            Pdu::R2T(R2T {
                cccid,
                ttag,
                r2to,
                r2tl,
            })
        }),
    ]
}

fn icreq() -> impl Strategy<Value = Pdu> {
    (0u8..=31, digests(), any::<u32>()).prop_map(|(hpda, digests, maxr2t)| {
        Pdu::IcReq(IcReq {
            pfv: 0,
            hpda,
            digests,
            maxr2t,
        })
    })
}

fn icresp() -> impl Strategy<Value = Pdu> {
    (0u8..=31, digests(), 1024u32..(1 << 28)).prop_map(|(cpda, digests, m)| {
        Pdu::IcResp(IcResp {
            pfv: 0,
            cpda,
            digests,
            maxh2cdata: m * 4,
        })
    })
}

/// A session direction: the IC PDU, then up to 8 more, with the digests in force after IC.
fn session() -> impl Strategy<Value = (Role, Digests, Vec<Pdu>)> {
    let target = (icreq(), digests(), prop::collection::vec(h2c_pdu(), 0..8))
        .prop_map(|(ic, d, rest)| (Role::Target, d, [vec![ic], rest].concat()));
    let host = (icresp(), digests(), prop::collection::vec(c2h_pdu(), 0..8))
        .prop_map(|(ic, d, rest)| (Role::Host, d, [vec![ic], rest].concat()));
    prop_oneof![target, host]
}

fn encode(pdus: &[Pdu], d: Digests) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, p) in pdus.iter().enumerate() {
        p.emit(if i == 0 { Digests::NONE } else { d }, &mut out);
    }
    out
}

/// Decodes `bytes` fed in chunks ending at `cuts`; returns the PDUs and the first error.
fn decode_chunked(
    role: Role,
    d: Digests,
    bytes: &[u8],
    cuts: &[usize],
) -> (Vec<Pdu>, Option<WireError>) {
    let mut dec = PduDecoder::new(config(role));
    let mut pdus = Vec::new();
    let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    bounds.push(0);
    bounds.push(bytes.len());
    bounds.sort_unstable();
    for w in bounds.windows(2) {
        let mut input = &bytes[w[0]..w[1]];
        loop {
            match dec.decode(&mut input) {
                Ok(Some(p)) => {
                    pdus.push(p);
                    dec.set_digests(d);
                }
                Ok(None) => break,
                Err(e) => return (pdus, Some(e)),
            }
            assert!(dec.buffered() < MAX_PDU as usize);
        }
        assert!(input.is_empty());
    }
    assert_eq!(dec.buffered(), 0, "a whole stream leaves nothing buffered");
    (pdus, None)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_pdu_round_trips((role, d, pdus) in session()) {
        let bytes = encode(&pdus, d);
        let lens: usize = pdus.iter().enumerate()
            .map(|(i, p)| p.encoded_len(if i == 0 { Digests::NONE } else { d })).sum();
        prop_assert_eq!(lens, bytes.len());
        let (got, err) = decode_chunked(role, d, &bytes, &[]);
        prop_assert_eq!(err, None);
        prop_assert_eq!(&got, &pdus);
        for (i, p) in pdus.iter().enumerate() {
            let di = if i == 0 { Digests::NONE } else { d };
            prop_assert_eq!(&Pdu::parse(&p.to_bytes(di), role, d).unwrap(), p);
        }
    }

    #[test]
    fn split_anywhere_gives_the_same_pdus(
        (role, d, pdus) in session(),
        cuts in prop::collection::vec(any::<usize>(), 0..24),
    ) {
        let bytes = encode(&pdus, d);
        let (got, err) = decode_chunked(role, d, &bytes, &cuts);
        prop_assert_eq!(err, None);
        prop_assert_eq!(got, pdus);
    }

    #[test]
    fn a_corrupted_stream_fails_the_same_way_however_split(
        (role, d, pdus) in session(),
        at in any::<usize>(),
        xor in 1u8..,
        cuts in prop::collection::vec(any::<usize>(), 0..24),
    ) {
        let mut bytes = encode(&pdus, d);
        let at = at % bytes.len();
        bytes[at] ^= xor;
        let whole = decode_chunked_lenient(role, d, &bytes, &[]);
        let split = decode_chunked_lenient(role, d, &bytes, &cuts);
        prop_assert_eq!(whole, split);
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        role in prop_oneof![Just(Role::Target), Just(Role::Host)],
        d in digests(),
        prefix_ic in any::<bool>(),
        junk in prop::collection::vec(any::<u8>(), 0..600),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let mut bytes = Vec::new();
        if prefix_ic {
            let ic = match role {
                Role::Target => Pdu::IcReq(IcReq { pfv: 0, hpda: 0, digests: d, maxr2t: 0 }),
                Role::Host => Pdu::IcResp(IcResp { pfv: 0, cpda: 0, digests: d, maxh2cdata: 4096 }),
            };
            ic.emit(Digests::NONE, &mut bytes);
        }
        bytes.extend(junk);
        let _ = decode_chunked_lenient(role, d, &bytes, &cuts);
    }

    #[test]
    fn sqe_and_cqe_round_trip(s in sqe(), c in cqe()) {
        prop_assert_eq!(Sqe::parse(&s.to_bytes()), s);
        prop_assert_eq!(Cqe::parse(&c.to_bytes()), c);
        prop_assert_eq!(Status::from_u16(c.status.to_u16()), c.status);
    }

    #[test]
    fn commands_round_trip((cmd, queue) in command(), cid in any::<u16>()) {
        let sqe = cmd.to_sqe(cid);
        prop_assert_eq!(sqe.cid, cid);
        prop_assert_eq!(Command::parse(&sqe, queue), cmd);
    }

    #[test]
    fn connect_data_round_trips(
        hostid in any::<[u8; 16]>(),
        cntlid in any::<u16>(),
        subnqn in "[a-z0-9.:-]{0,223}",
        hostnqn in "[a-z0-9.:-]{0,223}",
    ) {
        let cd = ConnectData { hostid, cntlid, subnqn, hostnqn };
        let b = cd.to_bytes();
        prop_assert_eq!(b.len(), 1024);
        prop_assert_eq!(ConnectData::parse(&b).unwrap(), cd);
    }

    #[test]
    fn identify_round_trips(
        nums in any::<(u16, u16, u8, u16, u32, u32)>(),
        nums2 in any::<(u8, u8, u16, u8, u8, u16)>(),
        more in any::<(u32, u32, u32, u32, u16, u8)>(),
        strings in ("[A-Za-z0-9]{0,20}", "[A-Za-z0-9 ]{0,39}[A-Za-z0-9]", "[0-9.]{0,8}", "[a-z0-9.:]{0,200}"),
        ns in any::<(u64, u64, u64, u8, u8, u8)>(),
    ) {
        let (vid, ssvid, mdts, cntlid, ver, oaes) = nums;
        let (cntrltype, aerl, kas, sqes, cqes, maxcmd) = nums2;
        let (nn, sgls, ioccsz, iorcsz, icdoff, msdbd) = more;
        let (sn, mn, fr, subnqn) = strings;
        let id = IdentifyController {
            vid, ssvid, sn, mn, fr, mdts, cntlid, ver, oaes, cntrltype, aerl, kas, sqes, cqes,
            maxcmd, nn, sgls, subnqn, ioccsz, iorcsz, icdoff, msdbd,
        };
        prop_assert_eq!(IdentifyController::parse(&id.to_bytes()), Some(id));
        let (nsze, ncap, nuse, nlbaf, flbas, lbads) = ns;
        let n = IdentifyNamespace { nsze, ncap, nuse, nlbaf, flbas, lbads };
        prop_assert_eq!(IdentifyNamespace::parse(&n.to_bytes()), Some(n));
    }
}

/// Like `decode_chunked` but for streams that may be bad: returns PDUs and the error.
fn decode_chunked_lenient(
    role: Role,
    d: Digests,
    bytes: &[u8],
    cuts: &[usize],
) -> (Vec<Pdu>, Option<WireError>, usize) {
    let mut dec = PduDecoder::new(config(role));
    let mut pdus = Vec::new();
    let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    bounds.push(0);
    bounds.push(bytes.len());
    bounds.sort_unstable();
    for w in bounds.windows(2) {
        let mut input = &bytes[w[0]..w[1]];
        loop {
            match dec.decode(&mut input) {
                Ok(Some(p)) => {
                    if pdus.is_empty() {
                        dec.set_digests(d);
                    }
                    pdus.push(p);
                }
                Ok(None) => break,
                Err(e) => {
                    assert_eq!(dec.decode(&mut &b"x"[..]).unwrap_err(), e, "sticky");
                    return (pdus, Some(e), 0);
                }
            }
            assert!(
                dec.buffered() <= MAX_PDU as usize,
                "buffer bounded by max_pdu_len"
            );
        }
    }
    (pdus, None, dec.buffered())
}

/// A command together with the queue kind on which its opcode means it.
fn command() -> impl Strategy<Value = (Command, QueueKind)> {
    use QueueKind::{Admin, Io};
    let connect =
        (any::<(u16, u16, u16, u8, u32)>()).prop_map(|(recfmt, qid, sqsize, cattr, kato_ms)| {
            Command::Connect(Connect {
                recfmt,
                qid,
                sqsize,
                cattr,
                kato_ms,
            })
        });
    let admin = prop_oneof![
        connect,
        (any::<u8>(), any::<u32>())
            .prop_map(|(attrib, ofst)| Command::PropertyGet { attrib, ofst }),
        any::<(u8, u32, u64)>().prop_map(|(attrib, ofst, value)| Command::PropertySet {
            attrib,
            ofst,
            value
        }),
        any::<(u8, u16, u32)>().prop_map(|(cns, cntid, nsid)| Command::Identify {
            cns,
            cntid,
            nsid
        }),
        (any::<u8>(), 0u8..8, any::<u32>()).prop_map(|(fid, sel, cdw11)| Command::GetFeatures {
            fid,
            sel,
            cdw11
        }),
        any::<(u8, bool, u32)>().prop_map(|(fid, save, cdw11)| Command::SetFeatures {
            fid,
            save,
            cdw11
        }),
        Just(Command::AsyncEventRequest),
        Just(Command::KeepAlive),
        any::<(u8, u32, u64, u32)>().prop_map(|(lid, numd, offset, nsid)| Command::GetLogPage {
            lid,
            numd,
            offset,
            nsid
        }),
        prop::sample::select(vec![0x00u8, 0x01, 0x04, 0x05, 0x08, 0x10, 0x80, 0xc0])
            .prop_map(|opc| Command::Other { opc, fctype: None }),
        prop::sample::select(vec![0x02u8, 0x03, 0x05, 0x06, 0x7f]).prop_map(|t| Command::Other {
            opc: 0x7f,
            fctype: Some(t)
        }),
    ];
    let io = prop_oneof![
        any::<(u32, u64, u16)>().prop_map(|(nsid, slba, nlb)| Command::Read { nsid, slba, nlb }),
        any::<(u32, u64, u16)>().prop_map(|(nsid, slba, nlb)| Command::Write { nsid, slba, nlb }),
        any::<u32>().prop_map(|nsid| Command::Flush { nsid }),
        prop::sample::select(vec![0x04u8, 0x05, 0x08, 0x09, 0x80])
            .prop_map(|opc| Command::Other { opc, fctype: None }),
    ];
    prop_oneof![admin.prop_map(|c| (c, Admin)), io.prop_map(|c| (c, Io))]
}
