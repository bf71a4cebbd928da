//! Wire conformance against Wireshark: a full NVMe/TCP session built with the codec is written
//! as a pcap (hand-made Ethernet/IPv4/TCP framing, both directions, port 4420, one admin and
//! one I/O connection, header and data digests on) and dissected by tshark, which must decode
//! every PDU as NVMe/TCP with the types and key fields we sent, find every digest correct and
//! report nothing malformed. If tshark is missing the test fails and says how to install it.

use fabcheck_core::wire::{
    C2HData, CapsuleCmd, CapsuleResp, Command, Connect, ConnectData, Cqe, Digests,
    FatalErrorStatus, H2CData, IcReq, IcResp, IdentifyController, Pdu, SglDescriptor, Status,
    TermReq, R2T,
};
use std::path::PathBuf;
use std::process::Command as Process;

// ---- pcap writer: libpcap format, Ethernet + IPv4 + TCP, one segment per record ----

/// One TCP connection between a host port and the target's port 4420.
struct Flow {
    host_port: u16,
    /// Next sequence number of each direction: [host to target, target to host].
    seq: [u32; 2],
}

struct Pcap {
    out: Vec<u8>,
    usec: u32,
}

const HOST_IP: [u8; 4] = [10, 0, 0, 1];
const TARGET_IP: [u8; 4] = [10, 0, 0, 2];
const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH_ACK: u8 = 0x18;

fn checksum(chunks: &[&[u8]]) -> u16 {
    let mut sum = 0u32;
    for b in chunks.iter().flat_map(|c| c.chunks(2)) {
        sum += u32::from(u16::from_be_bytes([b[0], *b.get(1).unwrap_or(&0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

impl Pcap {
    fn new() -> Pcap {
        let mut out = Vec::new();
        out.extend(0xa1b2_c3d4u32.to_le_bytes());
        out.extend(2u16.to_le_bytes());
        out.extend(4u16.to_le_bytes());
        out.extend([0u8; 8]); // thiszone, sigfigs
        out.extend(65_535u32.to_le_bytes());
        out.extend(1u32.to_le_bytes()); // LINKTYPE_ETHERNET
        Pcap { out, usec: 0 }
    }

    /// Writes one TCP segment; `to_target` picks the direction.
    fn segment(&mut self, flow: &mut Flow, to_target: bool, flags: u8, payload: &[u8]) {
        let (d, (sip, dip), (sp, dp)) = if to_target {
            (0, (HOST_IP, TARGET_IP), (flow.host_port, 4420))
        } else {
            (1, (TARGET_IP, HOST_IP), (4420, flow.host_port))
        };
        let ack = if flags & ACK != 0 { flow.seq[1 - d] } else { 0 };
        let mut tcp = Vec::with_capacity(20 + payload.len());
        tcp.extend(sp.to_be_bytes());
        tcp.extend(dp.to_be_bytes());
        tcp.extend(flow.seq[d].to_be_bytes());
        tcp.extend(ack.to_be_bytes());
        tcp.extend([0x50, flags, 0xff, 0xff, 0, 0, 0, 0]); // offset 5, window, csum, urg
        tcp.extend(payload);
        let tcp_len = (tcp.len() as u16).to_be_bytes();
        let pseudo = [&sip[..], &dip[..], &[0, 6], &tcp_len[..]].concat();
        let c = checksum(&[&pseudo, &tcp]);
        tcp[16..18].copy_from_slice(&c.to_be_bytes());
        let mut ip = vec![0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 6, 0, 0];
        ip[2..4].copy_from_slice(&((20 + tcp.len()) as u16).to_be_bytes());
        ip.extend(sip);
        ip.extend(dip);
        let c = checksum(&[&ip]);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        let frame = [
            &[2, 0, 0, 0, 0, 2 - d as u8][..],
            &[2, 0, 0, 0, 0, 1 + d as u8],
            &[8, 0],
            &ip,
            &tcp,
        ]
        .concat();
        self.record(&frame);
        let syn = u32::from(flags & SYN != 0);
        flow.seq[d] = flow.seq[d].wrapping_add(payload.len() as u32 + syn);
    }

    fn record(&mut self, frame: &[u8]) {
        self.usec += 100;
        self.out.extend(0u32.to_le_bytes());
        self.out.extend(self.usec.to_le_bytes());
        self.out.extend((frame.len() as u32).to_le_bytes());
        self.out.extend((frame.len() as u32).to_le_bytes());
        self.out.extend(frame);
    }

    fn handshake(&mut self, flow: &mut Flow) {
        self.segment(flow, true, SYN, &[]);
        self.segment(flow, false, SYN | ACK, &[]);
        self.segment(flow, true, ACK, &[]);
    }
}

// ---- the session ----

/// A session step: direction, PDU, whether it is split over two TCP segments, and the
/// tshark fields (beyond type, flags, plen and digest status) it must show.
struct Step {
    to_target: bool,
    pdu: Pdu,
    split: bool,
    expect: Vec<(&'static str, &'static str)>,
}

fn h(pdu: Pdu, expect: &[(&'static str, &'static str)]) -> Step {
    Step {
        to_target: true,
        pdu,
        split: false,
        expect: expect.to_vec(),
    }
}

fn t(pdu: Pdu, expect: &[(&'static str, &'static str)]) -> Step {
    Step {
        to_target: false,
        pdu,
        split: false,
        expect: expect.to_vec(),
    }
}

fn split(mut s: Step) -> Step {
    s.split = true;
    s
}

fn cmd(c: Command, cid: u16, sgl: SglDescriptor, data: Vec<u8>) -> Pdu {
    Pdu::CapsuleCmd(CapsuleCmd {
        sqe: c.to_sqe(cid).with_sgl(sgl),
        data,
    })
}

fn resp(cid: u16, cdw0: u32, cdw1: u32) -> Pdu {
    let cqe = Cqe {
        cdw0,
        cdw1,
        sqhd: cid,
        sqid: 0,
        cid,
        status: Status::new(0, 0),
    };
    Pdu::CapsuleResp(CapsuleResp { cqe })
}

fn ic_pair() -> [Step; 2] {
    let d = Digests::BOTH;
    [
        h(
            Pdu::IcReq(IcReq {
                pfv: 0,
                hpda: 0,
                digests: d,
                maxr2t: 0,
            }),
            &[("nvme-tcp.icreq.digest", "3")],
        ),
        t(
            Pdu::IcResp(IcResp {
                pfv: 0,
                cpda: 0,
                digests: d,
                maxh2cdata: 131_072,
            }),
            &[("nvme-tcp.icresp.maxdata", "131072")],
        ),
    ]
}

fn connect(qid: u16, cntlid: u16) -> Pdu {
    let kato_ms = if qid == 0 { 30_000 } else { 0 };
    let c = Command::Connect(Connect {
        recfmt: 0,
        qid,
        sqsize: 31,
        cattr: 0,
        kato_ms,
    });
    let data = ConnectData {
        hostid: [0x5a; 16],
        cntlid,
        subnqn: SUBNQN.into(),
        hostnqn: "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-4000-8000-0000000000fc".into(),
    };
    cmd(c, 1, SglDescriptor::in_capsule(1024), data.to_bytes())
}

const SUBNQN: &str = "nqn.2016-06.io.spdk:cnode1";
const CONNECT_SUBNQN: (&str, &str) = ("nvme.fabrics.cmd.connect.data.subnqn", SUBNQN);

fn identify_data() -> Vec<u8> {
    IdentifyController {
        vid: 0x1b36,
        sn: "FABCHECK0001".into(),
        mn: "fabcheck".into(),
        fr: "0.1".into(),
        cntlid: 1,
        ver: 0x0002_0000,
        sqes: 0x66,
        cqes: 0x44,
        nn: 1,
        sgls: 1,
        subnqn: "nqn.2016-06.io.spdk:cnode1".into(),
        ioccsz: 260,
        iorcsz: 1,
        ..Default::default()
    }
    .to_bytes()
}

fn admin_session() -> Vec<Step> {
    let none = SglDescriptor::default();
    let prop_get = Command::PropertyGet {
        attrib: 1,
        ofst: 0x00,
    };
    let prop_set = Command::PropertySet {
        attrib: 0,
        ofst: 0x14,
        value: 0x0046_0001,
    };
    let mut s: Vec<Step> = ic_pair().into();
    s.extend([
        h(
            connect(0, 0xffff),
            &[
                ("nvme.fabrics.cmd.fctype", "0x01"),
                ("nvme.fabrics.cmd.connect.qid", "0"),
                ("nvme.fabrics.cmd.connect.kato", "30000"),
                ("nvme.fabrics.cmd.connect.data.cntrlid", "0xffff"),
                CONNECT_SUBNQN,
            ],
        ),
        t(
            resp(1, 1, 0),
            &[
                ("nvme.cqe.cid", "0x0001"),
                ("nvme.fabrics.cqe.connect.cntrlid", "0x0001"),
            ],
        ),
        h(
            cmd(prop_get, 2, none, vec![]),
            &[
                ("nvme.fabrics.cmd.fctype", "0x04"),
                ("nvme.fabrics.cmd.prop_get_set.offset", "0x00000000"),
            ],
        ),
        t(
            resp(2, 0x0040_ff7f, 0x0000_0020),
            &[("nvme.cqe.cid", "0x0002")],
        ),
        h(
            cmd(prop_set, 3, none, vec![]),
            &[
                ("nvme.fabrics.cmd.fctype", "0x00"),
                ("nvme.fabrics.cmd.prop_get_set.offset", "0x00000014"),
            ],
        ),
        t(resp(3, 0, 0), &[("nvme.cqe.cid", "0x0003")]),
    ]);
    s.extend(admin_identify());
    s
}

fn admin_identify() -> Vec<Step> {
    let identify = Command::Identify {
        cns: 1,
        cntid: 0,
        nsid: 0,
    };
    let id_data = identify_data();
    vec![
        h(
            cmd(identify, 4, SglDescriptor::transport(4096), vec![]),
            &[("nvme.cmd.opc", "0x06"), ("nvme.cmd.cid", "0x0004")],
        ),
        t(
            Pdu::C2HData(C2HData {
                cccid: 4,
                datao: 0,
                last: true,
                success: false,
                data: id_data,
            }),
            &[
                ("nvme-tcp.data.length", "4096"),
                ("nvme.cmd.identify.ctrl.sn", "FABCHECK0001        "),
                ("nvme.cmd.identify.ctrl.subnqn", SUBNQN),
            ],
        ),
        t(
            resp(4, 0, 0),
            &[("nvme.cqe.cid", "0x0004"), ("nvme.cqe.status", "0x0000")],
        ),
    ]
}

const SLBA_8: (&str, &str) = ("nvme.cmd.slba", "0x0000000000000008");

fn write(cid: u16, nlb: u16, sgl: SglDescriptor, data: Vec<u8>) -> Pdu {
    cmd(
        Command::Write {
            nsid: 1,
            slba: 8,
            nlb,
        },
        cid,
        sgl,
        data,
    )
}

fn io_session() -> Vec<Step> {
    let mut s: Vec<Step> = ic_pair().into();
    s.extend([
        h(
            connect(1, 1),
            &[
                ("nvme.fabrics.cmd.connect.qid", "1"),
                ("nvme.fabrics.cmd.connect.data.cntrlid", "0x0001"),
                CONNECT_SUBNQN,
            ],
        ),
        t(resp(1, 0, 0), &[("nvme.cqe.cid", "0x0001")]),
        h(
            write(2, 0, SglDescriptor::in_capsule(512), vec![0x11; 512]),
            &[("nvme.cmd.opc", "0x01"), SLBA_8, ("nvme.cmd.nlb", "1")],
        ),
        t(resp(2, 0, 0), &[("nvme.cqe.cid", "0x0002")]),
    ]);
    s.extend(io_r2t_write());
    s.extend(io_read_and_term());
    s
}

fn io_r2t_write() -> Vec<Step> {
    let r2t = R2T {
        cccid: 3,
        ttag: 7,
        r2to: 0,
        r2tl: 8192,
    };
    let h2c = H2CData {
        cccid: 3,
        ttag: 7,
        datao: 0,
        last: true,
        data: vec![0x22; 8192],
    };
    vec![
        h(
            write(3, 15, SglDescriptor::transport(8192), vec![]),
            &[("nvme.cmd.opc", "0x01"), ("nvme.cmd.nlb", "16")],
        ),
        t(
            Pdu::R2T(r2t),
            &[("nvme-tcp.ttag", "0x0007"), ("nvme-tcp.r2t.length", "8192")],
        ),
        split(h(
            Pdu::H2CData(h2c),
            &[
                ("nvme-tcp.ttag", "0x0007"),
                ("nvme-tcp.data.length", "8192"),
            ],
        )),
        t(resp(3, 0, 0), &[("nvme.cqe.cid", "0x0003")]),
    ]
}

fn io_read_and_term() -> Vec<Step> {
    let read = Command::Read {
        nsid: 1,
        slba: 8,
        nlb: 7,
    };
    let c2h = C2HData {
        cccid: 4,
        datao: 0,
        last: true,
        success: true,
        data: vec![0x33; 4096],
    };
    let term = TermReq {
        fes: FatalErrorStatus::InvalidHeaderField,
        fei: 4,
        data: resp(9, 0, 0).to_bytes(Digests::NONE),
    };
    vec![
        h(
            cmd(read, 4, SglDescriptor::transport(4096), vec![]),
            &[("nvme.cmd.opc", "0x02"), SLBA_8],
        ),
        split(t(Pdu::C2HData(c2h), &[("nvme-tcp.data.length", "4096")])),
        t(
            Pdu::C2HTermReq(term),
            &[
                ("nvme-tcp.c2htermreq.fes", "0x0001"),
                ("nvme-tcp.c2htermreq.phfo", "0x00000004"),
            ],
        ),
    ]
}

fn write_pcap() -> PathBuf {
    let mut pcap = Pcap::new();
    for (port, steps) in [(40_000, admin_session()), (40_001, io_session())] {
        let mut flow = Flow {
            host_port: port,
            seq: [1000, 5000],
        };
        pcap.handshake(&mut flow);
        for (i, st) in steps.iter().enumerate() {
            let d = if i < 2 { Digests::NONE } else { Digests::BOTH };
            let bytes = st.pdu.to_bytes(d);
            let cut = if st.split {
                bytes.len() / 2
            } else {
                bytes.len()
            };
            pcap.segment(&mut flow, st.to_target, PSH_ACK, &bytes[..cut]);
            if cut < bytes.len() {
                pcap.segment(&mut flow, st.to_target, PSH_ACK, &bytes[cut..]);
            }
        }
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join("wire_tshark_session.pcap");
    std::fs::write(&path, &pcap.out).unwrap();
    path
}

fn tshark(args: &[&str]) -> String {
    let out = Process::new("tshark")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("tshark is needed for this test ({e}): run `apt-get install -y tshark`")
        });
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

const OPTS: [&str; 6] = [
    "-d",
    "tcp.port==4420,nvme-tcp",
    "-o",
    "nvme-tcp.check_hdgst:TRUE",
    "-o",
    "nvme-tcp.check_ddgst:TRUE",
];

const FIELDS: [&str; 4] = [
    "frame.number",
    "nvme-tcp.type",
    "nvme-tcp.flags",
    "nvme-tcp.plen",
];

/// Every field any step expects, plus the digest statuses and the malformed marker.
fn all_fields(steps: &[Step]) -> Vec<&'static str> {
    let mut f: Vec<&'static str> = FIELDS.to_vec();
    f.extend([
        "nvme-tcp.hdgst.status",
        "nvme-tcp.ddgst.status",
        "_ws.malformed",
    ]);
    for st in steps {
        for (name, _) in &st.expect {
            if !f.contains(name) {
                f.push(name);
            }
        }
    }
    f
}

/// One row per frame that carries an NVMe/TCP PDU: field name -> value.
fn dissect(file: &str, fields: &[&'static str]) -> Vec<Vec<(&'static str, String)>> {
    let mut args: Vec<&str> = vec!["-r", file];
    args.extend(OPTS);
    args.extend(["-T", "fields"]);
    for f in fields {
        args.extend(["-e", f]);
    }
    let text = tshark(&args);
    text.lines()
        .map(|l| {
            fields
                .iter()
                .copied()
                .zip(l.split('\t').map(String::from))
                .collect::<Vec<_>>()
        })
        .filter(|row| !row[1].1.is_empty())
        .collect()
}

fn get<'a>(row: &'a [(&'static str, String)], name: &str) -> &'a str {
    row.iter()
        .find(|(n, _)| *n == name)
        .map_or("", |(_, v)| v.as_str())
}

#[test]
fn tshark_decodes_every_pdu_with_its_fields() {
    let pcap = write_pcap();
    let file = pcap.to_str().unwrap();
    let steps: Vec<Step> = admin_session().into_iter().chain(io_session()).collect();
    let rows = dissect(file, &all_fields(&steps));
    assert_eq!(
        rows.len(),
        steps.len(),
        "one dissected NVMe/TCP PDU per PDU sent"
    );
    let mut digests_sent = 0;
    for (n, (st, row)) in steps.iter().zip(&rows).enumerate() {
        let d = if matches!(st.pdu, Pdu::IcReq(_) | Pdu::IcResp(_)) {
            Digests::NONE
        } else {
            Digests::BOTH
        };
        let bytes = st.pdu.to_bytes(d);
        let label = format!(
            "PDU #{n} ({}) in frame {}",
            st.pdu,
            get(row, "frame.number")
        );
        assert_eq!(get(row, "nvme-tcp.type"), (bytes[0]).to_string(), "{label}");
        assert_eq!(
            get(row, "nvme-tcp.flags"),
            format!("{:#04x}", bytes[1]),
            "{label}"
        );
        assert_eq!(
            get(row, "nvme-tcp.plen"),
            bytes.len().to_string(),
            "{label}"
        );
        for (flag, field) in [(1u8, "nvme-tcp.hdgst.status"), (2, "nvme-tcp.ddgst.status")] {
            let want = if bytes[1] & flag != 0 { "1" } else { "" };
            digests_sent += usize::from(!want.is_empty());
            assert_eq!(get(row, field), want, "{label}: {field} (1 = good)");
        }
        assert_eq!(get(row, "_ws.malformed"), "", "{label}");
        for (field, want) in &st.expect {
            assert_eq!(get(row, field), *want, "{label}: {field}");
        }
    }
    let verbose = tshark(&[&["-r", file, "-V"][..], &OPTS].concat());
    for bad in [
        "Malformed",
        "incorrect",
        "Bad",
        "Dissector bug",
        "Expert Info (Error",
        "Expert Info (Warn",
    ] {
        assert!(!verbose.contains(bad), "tshark -V reports {bad:?}");
    }
    assert_eq!(
        verbose.matches("[correct]").count(),
        digests_sent,
        "every digest checked"
    );
    assert_eq!(
        verbose.matches("Reassembled TCP Segments").count(),
        2,
        "split PDUs reassembled"
    );
}
