//! Golden bytes for every PDU type (smoltcp style): each PDU is emitted after three 0xa5
//! bytes of a dirty buffer, compared with hand-written bytes from the NVMe/TCP 1.0 layouts,
//! and parsed back by a decoder of the receiving role.

use fabcheck_core::wire::{
    crc32c, C2HData, CapsuleCmd, CapsuleResp, Command, Connect, ConnectData, Cqe, DecoderConfig,
    Digests, FatalErrorStatus, H2CData, IcReq, IcResp, Pdu, PduDecoder, Role, SglDescriptor,
    Status, TermReq, R2T,
};

const DIRTY: [u8; 3] = [0xa5; 3];

/// Emits `pdu` after dirty bytes and checks the prefix is untouched and the rest is `golden`.
fn assert_emits(pdu: &Pdu, d: Digests, golden: &[u8]) {
    let mut out = DIRTY.to_vec();
    pdu.emit(d, &mut out);
    assert_eq!(&out[..3], &DIRTY, "emit touched bytes before its PDU");
    assert_eq!(&out[3..], golden, "{pdu}");
    assert_eq!(pdu.encoded_len(d), golden.len());
    assert_eq!(pdu.to_bytes(d), golden);
}

/// Decodes `golden` as the receiver of `role` would, after the IC exchange when needed.
fn decode_as(role: Role, d: Digests, golden: &[u8]) -> Pdu {
    let mut dec = PduDecoder::new(DecoderConfig {
        role,
        max_pdu_len: 65_536,
        max_data_len: 32_768,
        digests: Digests::NONE,
    });
    let is_ic = golden[0] <= 1;
    if !is_ic {
        let ic = match role {
            Role::Target => Pdu::IcReq(IcReq {
                pfv: 0,
                hpda: 0,
                digests: d,
                maxr2t: 0,
            }),
            Role::Host => Pdu::IcResp(IcResp {
                pfv: 0,
                cpda: 0,
                digests: d,
                maxh2cdata: 4096,
            }),
        };
        dec.decode(&mut &ic.to_bytes(d)[..]).unwrap().unwrap();
        dec.set_digests(d);
    }
    let mut input = golden;
    let pdu = dec.decode(&mut input).unwrap().expect("whole PDU");
    assert!(input.is_empty());
    pdu
}

fn check(pdu: Pdu, role: Role, d: Digests, golden: &[u8]) {
    assert_emits(&pdu, d, golden);
    assert_eq!(decode_as(role, d, golden), pdu);
}

fn zeros(n: usize) -> Vec<u8> {
    vec![0; n]
}

#[test]
fn golden_icreq() {
    let mut g = vec![0x00, 0x00, 128, 0, 128, 0, 0, 0, 0, 0, 0, 0x03, 3, 0, 0, 0];
    g.extend(zeros(112));
    let pdu = Pdu::IcReq(IcReq {
        pfv: 0,
        hpda: 0,
        digests: Digests::BOTH,
        maxr2t: 3,
    });
    // IC PDUs never carry digests, whatever is in force.
    check(pdu.clone(), Role::Target, Digests::NONE, &g);
    assert_emits(&pdu, Digests::BOTH, &g);
}

#[test]
fn golden_icresp() {
    let mut g = vec![0x01, 0x00, 128, 0, 128, 0, 0, 0, 0, 0, 0, 0x01, 0, 0, 2, 0];
    g.extend(zeros(112));
    let digests = Digests {
        header: true,
        data: false,
    };
    let pdu = Pdu::IcResp(IcResp {
        pfv: 0,
        cpda: 0,
        digests,
        maxh2cdata: 131_072,
    });
    check(pdu, Role::Host, Digests::NONE, &g);
}

#[test]
fn golden_term_reqs() {
    let echoed = [4u8, 0, 72, 0, 0xff, 0xff, 0xff, 0xff];
    for (ty, role) in [(0x02u8, Role::Target), (0x03, Role::Host)] {
        let mut g = vec![ty, 0, 24, 0, 32, 0, 0, 0, 1, 0, 4, 0, 0, 0];
        g.extend(zeros(10));
        g.extend(echoed);
        let t = TermReq {
            fes: FatalErrorStatus::InvalidHeaderField,
            fei: 4,
            data: echoed.to_vec(),
        };
        let pdu = if ty == 2 {
            Pdu::H2CTermReq(t)
        } else {
            Pdu::C2HTermReq(t)
        };
        // TermReqs carry no digests either.
        check(pdu, role, Digests::BOTH, &g);
    }
}

fn connect_capsule() -> (Pdu, Vec<u8>) {
    let cmd = Command::Connect(Connect {
        recfmt: 0,
        qid: 0,
        sqsize: 31,
        cattr: 0,
        kato_ms: 10_000,
    });
    let data = ConnectData {
        hostid: [0x42; 16],
        cntlid: 0xffff,
        subnqn: "nqn.2016-06.io.spdk:cnode1".into(),
        hostnqn: "nqn.2014-08.org.nvmexpress:uuid:1".into(),
    }
    .to_bytes();
    let sqe = cmd.to_sqe(1).with_sgl(SglDescriptor::in_capsule(1024));
    (
        Pdu::CapsuleCmd(CapsuleCmd {
            sqe,
            data: data.clone(),
        }),
        data,
    )
}

#[test]
fn golden_capsule_cmd_connect_in_capsule() {
    let (pdu, data) = connect_capsule();
    // plen = 72 + 1024 = 0x448; pdo = 72.
    let mut g = vec![0x04, 0x00, 72, 72, 0x48, 0x04, 0, 0];
    g.extend([0x7f, 0x40, 1, 0, 0x01, 0, 0, 0]); // opc, PSDT=01b, cid 1, fctype CONNECT
    g.extend(zeros(16)); // cdw2, cdw3, mptr
    g.extend([0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0x01]); // SGL: 1024 B in capsule
    g.extend([0, 0, 0, 0, 31, 0, 0, 0, 0x10, 0x27, 0, 0]); // recfmt qid sqsize cattr kato
    g.extend(zeros(12));
    g.extend(&data);
    check(pdu, Role::Target, Digests::NONE, &g);
}

#[test]
fn golden_capsule_cmd_with_both_digests() {
    let sqe = Command::Write {
        nsid: 1,
        slba: 0x10,
        nlb: 0,
    }
    .to_sqe(9)
    .with_sgl(SglDescriptor::in_capsule(8));
    let data = b"ABCDEFGH".to_vec();
    let pdu = Pdu::CapsuleCmd(CapsuleCmd {
        sqe,
        data: data.clone(),
    });
    // plen = 72 + 4 + 8 + 4 = 88; pdo = 76; flags HDGSTF|DDGSTF.
    let mut g = vec![0x04, 0x03, 72, 76, 88, 0, 0, 0];
    g.extend([0x01, 0x40, 9, 0, 1, 0, 0, 0]);
    g.extend(zeros(16));
    g.extend([0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0x01]);
    g.extend([0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // slba, nlb 0
    g.extend(zeros(12));
    let hd = crc32c(&g[..72]);
    g.extend(hd.to_le_bytes());
    g.extend(&data);
    g.extend(crc32c(&data).to_le_bytes());
    check(pdu, Role::Target, Digests::BOTH, &g);
}

#[test]
fn golden_capsule_cmd_without_data_has_no_data_digest() {
    let pdu = Pdu::CapsuleCmd(CapsuleCmd {
        sqe: Command::KeepAlive.to_sqe(2),
        data: vec![],
    });
    let mut g = vec![0x04, 0x01, 72, 0, 76, 0, 0, 0, 0x18, 0x40, 2, 0];
    g.extend(zeros(60));
    let hd = crc32c(&g[..72]);
    g.extend(hd.to_le_bytes());
    check(pdu, Role::Target, Digests::BOTH, &g);
}

#[test]
fn golden_capsule_resp() {
    let cqe = Cqe {
        cdw0: 1,
        cdw1: 0,
        sqhd: 5,
        sqid: 0,
        cid: 1,
        status: Status::new(0, 0),
    };
    let pdu = Pdu::CapsuleResp(CapsuleResp { cqe });
    let g = [
        5, 0, 24, 0, 24, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0,
    ];
    check(pdu, Role::Host, Digests::NONE, &g);
    let busy = Pdu::CapsuleResp(CapsuleResp {
        cqe: Cqe {
            status: Status::new(1, 0x81).with_dnr(),
            ..cqe
        },
    });
    let mut g = vec![
        5, 1, 24, 0, 28, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 1, 0,
    ];
    g.extend([0x02, 0x83]); // SC 0x81 << 1, SCT 1 << 9, DNR << 15
    let hd = crc32c(&g);
    g.extend(hd.to_le_bytes());
    check(busy, Role::Host, Digests::BOTH, &g);
}

#[test]
fn golden_h2c_data() {
    let data = vec![0xd7; 6];
    let pdu = Pdu::H2CData(H2CData {
        cccid: 3,
        ttag: 0x0102,
        datao: 4096,
        last: true,
        data,
    });
    // Header digest only: flags HDGSTF|LAST_PDU, pdo 28, plen 34.
    let mut g = vec![
        6, 0x05, 24, 28, 34, 0, 0, 0, 3, 0, 2, 1, 0, 0x10, 0, 0, 6, 0, 0, 0,
    ];
    g.extend(zeros(4));
    let hd = crc32c(&g);
    g.extend(hd.to_le_bytes());
    g.extend([0xd7; 6]);
    check(
        pdu,
        Role::Target,
        Digests {
            header: true,
            data: false,
        },
        &g,
    );
}

#[test]
fn golden_c2h_data_success() {
    let data = vec![1, 2, 3, 4];
    let pdu = Pdu::C2HData(C2HData {
        cccid: 7,
        datao: 0,
        last: true,
        success: true,
        data,
    });
    // Data digest only: flags DDGSTF|LAST_PDU|SUCCESS, pdo 24, plen 32.
    let mut g = vec![
        7, 0x0e, 24, 24, 32, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0,
    ];
    g.extend(zeros(4));
    g.extend([1, 2, 3, 4]);
    g.extend(crc32c(&[1, 2, 3, 4]).to_le_bytes());
    check(
        pdu,
        Role::Host,
        Digests {
            header: false,
            data: true,
        },
        &g,
    );
}

#[test]
fn golden_r2t() {
    let pdu = Pdu::R2T(R2T {
        cccid: 0x0a,
        ttag: 0x0b,
        r2to: 0x2000,
        r2tl: 0x4000,
    });
    let mut g = vec![
        9, 0, 24, 0, 24, 0, 0, 0, 0x0a, 0, 0x0b, 0, 0, 0x20, 0, 0, 0, 0x40, 0, 0,
    ];
    g.extend(zeros(4));
    check(pdu, Role::Host, Digests::NONE, &g);
}

#[test]
fn display_shows_meaning() {
    let (connect, _) = connect_capsule();
    assert_eq!(
        connect.to_string(),
        "CapsuleCmd cid=1 CONNECT qid=0 sqsize=31 cattr=0x0 kato=10000ms cntlid=0xffff \
         subnqn=nqn.2016-06.io.spdk:cnode1 hostnqn=nqn.2014-08.org.nvmexpress:uuid:1"
    );
    let resp = Pdu::CapsuleResp(CapsuleResp {
        cqe: Cqe::new(3, Status::new(0, 0), 0),
    });
    assert_eq!(
        resp.to_string(),
        "CapsuleResp cid=3 status=SUCCESS cdw0=0x0 sqhd=0"
    );
    let read = Command::Read {
        nsid: 1,
        slba: 8,
        nlb: 7,
    };
    let pdu = Pdu::CapsuleCmd(CapsuleCmd {
        sqe: read.to_sqe(4),
        data: vec![],
    });
    assert!(pdu
        .to_string()
        .starts_with("CapsuleCmd cid=4 opc=0x02 nsid=1"));
    let named = pdu
        .display(Some(fabcheck_core::wire::QueueKind::Io))
        .to_string();
    assert_eq!(named, "CapsuleCmd cid=4 READ nsid=1 slba=8 nlb=7");
    let get = Command::PropertyGet { attrib: 1, ofst: 0 };
    assert_eq!(get.to_string(), "PROPERTY_GET CAP size=8");
}
