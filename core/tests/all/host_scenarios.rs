//! The sans-IO host against a scripted fake target: IC negotiation (and every ICResp
//! rejection), the init sequence order, keep-alive cadence, I/O queues, reads and writes,
//! reset, shutdown, AENs, protocol errors and split byte delivery.

use fabcheck_core::host::{
    local_status, CtrlPhase, HostAction, HostEvent, HostInput, HostOutput, QueueState,
};
use fabcheck_core::testkit::fake::{self, Knobs, CNTLID};
use fabcheck_core::testkit::{host_config, FakeWorld as World, BLOCK, HOSTNQN, NQN};
use fabcheck_core::wire::{
    feature, prop, status, AsyncEvent, Command, Digests, FatalErrorStatus, IcResp, Pdu, QueueKind,
    TermReq, SGL_IN_CAPSULE, SGL_TRANSPORT,
};
use fabcheck_core::{Duration, Instant};

fn ready_world(knobs: Knobs) -> World {
    let mut w = World::new(host_config(HOSTNQN), knobs);
    w.connect();
    assert!(w.host().is_ready(), "host not ready: {:?}", w.events());
    w
}

fn io_world(knobs: Knobs) -> World {
    let mut w = ready_world(knobs);
    w.act(HostAction::ConnectIo { qid: 1 });
    assert_eq!(w.host().queue_state(1), Some(QueueState::Live));
    w
}

fn io_done(w: &World, tag: u64) -> Vec<(fabcheck_core::wire::Status, Vec<u8>)> {
    w.events()
        .into_iter()
        .filter_map(|e| match e {
            HostEvent::IoDone {
                tag: t,
                status,
                data,
            } if t == tag => Some((status, data)),
            _ => None,
        })
        .collect()
}

/// Every H2CTermReq the host sent on `qid` (each is sent on its own), read field by field.
fn term_reqs(w: &World, qid: u16) -> Vec<TermReq> {
    let mut terms = Vec::new();
    for out in w.outputs() {
        let HostOutput::Send { qid: q, data } = out else {
            continue;
        };
        if *q != qid || data.first() != Some(&0x02) {
            continue;
        }
        let plen = u32::from_le_bytes([data[4], data[5], data[6], data[7]]) as usize;
        assert_eq!(plen, data.len(), "TermReq plen");
        let fes = match u16::from_le_bytes([data[8], data[9]]) {
            1 => FatalErrorStatus::InvalidHeaderField,
            2 => FatalErrorStatus::PduSequenceError,
            3 => FatalErrorStatus::HeaderDigestError,
            4 => FatalErrorStatus::DataOutOfRange,
            5 => FatalErrorStatus::LimitExceeded,
            6 => FatalErrorStatus::UnsupportedParameter,
            other => panic!("bad fes {other}"),
        };
        terms.push(TermReq {
            fes,
            fei: u32::from_le_bytes([data[10], data[11], data[12], data[13]]),
            data: data[24..].to_vec(),
        });
    }
    terms
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

// ---- IC negotiation ----

#[test]
fn icreq_fields_and_icresp_accepted() {
    for digests in [
        Digests::default(),
        Digests {
            header: true,
            data: true,
        },
        Digests {
            header: true,
            data: false,
        },
    ] {
        let mut cfg = host_config(HOSTNQN);
        cfg.digests = digests;
        let mut w = World::new(cfg, Knobs::default());
        w.act(HostAction::OpenAdmin);
        let Pdu::IcReq(req) = &w.target.log[0].2 else {
            panic!("first PDU is not ICReq: {:?}", w.target.log[0]);
        };
        assert_eq!((req.pfv, req.hpda, req.maxr2t), (0, 0, 0));
        assert_eq!(req.digests, digests);
        assert_eq!(w.events(), vec![HostEvent::IcDone { qid: 0 }]);
        assert_eq!(w.host().queue_state(0), Some(QueueState::IcDone));
        // OpenAdmin stops after IC: no CONNECT until asked.
        assert_eq!(w.target.log.len(), 1);
        w.act(HostAction::ConnectAdmin);
        assert_eq!(
            w.events().last(),
            Some(&HostEvent::Connected {
                qid: 0,
                cntlid: CNTLID
            })
        );
        assert_eq!(w.host().phase(), CtrlPhase::Connected);
    }
}

fn rejected_icresp(cfg_digests: Digests, resp: IcResp, fei: u32) {
    let fes = if fei == 8 {
        FatalErrorStatus::UnsupportedParameter
    } else {
        FatalErrorStatus::InvalidHeaderField
    };
    let mut cfg = host_config(HOSTNQN);
    cfg.digests = cfg_digests;
    let knobs = Knobs {
        ic_resp: Some(resp.clone()),
        ..Knobs::default()
    };
    let mut w = World::new(cfg, knobs);
    w.act(HostAction::Connect);
    let events = w.events();
    assert!(
        matches!(&events[0], HostEvent::ProtocolError { qid: 0, .. }),
        "{resp:?}: {events:?}"
    );
    assert_eq!(events[1], HostEvent::QueueClosed { qid: 0 });
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(w.host_closed(), [0]);
    let terms = term_reqs(&w, 0);
    assert_eq!(terms.len(), 1, "{resp:?}");
    assert_eq!(terms[0].fes, fes, "{resp:?}");
    assert_eq!(terms[0].fei, fei, "{resp:?}");
    assert_eq!(terms[0].data.len(), 128, "TermReq echoes the ICResp header");
    assert_eq!(w.host().queue_state(0), Some(QueueState::Closed));
    assert_eq!(w.host().cntlid(), None);
}

const NO_DIGESTS: Digests = Digests {
    header: false,
    data: false,
};
const HDGST: Digests = Digests {
    header: true,
    data: false,
};
const BOTH: Digests = Digests {
    header: true,
    data: true,
};

fn icresp(pfv: u16, cpda: u8, digests: Digests, maxh2cdata: u32) -> IcResp {
    IcResp {
        pfv,
        cpda,
        digests,
        maxh2cdata,
    }
}

#[test]
fn icresp_field_rejections_like_linux() {
    // (pfv, cpda, maxh2cdata) -> fei of the offending field.
    let cases = [
        (1, 0, 8192, 8),
        (0, 1, 8192, 10),
        (0, 0, 4094, 12),
        (0, 0, 4098, 12),
        (0, 0, 2048, 12),
        (0, 0, 0, 12),
    ];
    for (pfv, cpda, max, fei) in cases {
        rejected_icresp(NO_DIGESTS, icresp(pfv, cpda, NO_DIGESTS, max), fei);
    }
    // The boundary value is accepted.
    let mut w = World::new(
        host_config(HOSTNQN),
        Knobs {
            ic_resp: Some(icresp(0, 0, NO_DIGESTS, 4096)),
            ..Knobs::default()
        },
    );
    w.act(HostAction::OpenAdmin);
    assert_eq!(w.events(), vec![HostEvent::IcDone { qid: 0 }]);
}

#[test]
fn icresp_digests_must_equal_requested() {
    // More, fewer, or different digests than requested.
    let cases = [
        (NO_DIGESTS, HDGST),
        (NO_DIGESTS, BOTH),
        (BOTH, HDGST),
        (HDGST, NO_DIGESTS),
        (
            HDGST,
            Digests {
                header: false,
                data: true,
            },
        ),
    ];
    for (asked, got) in cases {
        rejected_icresp(asked, icresp(0, 0, got, 8192), 11);
    }
}

#[test]
fn pdu_before_icresp_is_a_sequence_error() {
    let mut w = World::new(host_config(HOSTNQN), Knobs::default());
    w.target.silent = true;
    w.act(HostAction::OpenAdmin);
    let bytes = fake::resp(0, 0, status::SUCCESS, 0, 0).to_bytes(Digests::default());
    w.deliver(0, &bytes);
    w.pump();
    let terms = term_reqs(&w, 0);
    assert_eq!(terms.len(), 1);
    assert_eq!(terms[0].fes, FatalErrorStatus::PduSequenceError);
    assert!(w.host_closed().contains(&0));
}

// ---- init sequence ----

/// A readable name for each admin command, to compare sequences.
fn name(cmd: &Command) -> String {
    match cmd {
        Command::Connect(c) => format!("connect qid={}", c.qid),
        Command::PropertyGet { ofst, .. } => format!("get {ofst:#x}"),
        Command::PropertySet { ofst, value, .. } => format!("set {ofst:#x}={value:#x}"),
        Command::Identify { cns, nsid, .. } => format!("identify cns={cns} nsid={nsid}"),
        Command::GetFeatures { fid, .. } => format!("get-features {fid:#x}"),
        Command::SetFeatures { fid, .. } => format!("set-features {fid:#x}"),
        Command::AsyncEventRequest => "aer".into(),
        Command::KeepAlive => "keep-alive".into(),
        Command::GetLogPage { lid, .. } => format!("log {lid:#x}"),
        other => format!("{other:?}"),
    }
}

#[test]
fn init_sequence_in_linux_spdk_order() {
    let mut cfg = host_config(HOSTNQN);
    cfg.aers = 2;
    let knobs = Knobs {
        rdy_delay: 3,
        ..Knobs::default()
    };
    let w = {
        let mut w = World::new(cfg, knobs);
        w.connect();
        w
    };
    let names: Vec<String> = w.target.commands().iter().map(|(_, c)| name(c)).collect();
    let cc = 1 | (6 << 16) | (4 << 20);
    let expected = vec![
        "connect qid=0".to_string(),
        format!("get {:#x}", prop::VS),
        format!("get {:#x}", prop::CAP),
        format!("get {:#x}", prop::CC),
        format!("set {:#x}={cc:#x}", prop::CC),
        format!("get {:#x}", prop::CSTS),
        format!("get {:#x}", prop::CSTS),
        format!("get {:#x}", prop::CSTS),
        format!("get {:#x}", prop::CSTS),
        "identify cns=1 nsid=0".into(),
        format!("set-features {:#x}", feature::ASYNC_EVENT_CONFIG),
        "aer".into(),
        "aer".into(),
        format!("get-features {:#x}", feature::KEEP_ALIVE_TIMER),
        format!("set-features {:#x}", feature::NUMBER_OF_QUEUES),
        "identify cns=2 nsid=0".into(),
        "identify cns=0 nsid=1".into(),
    ];
    assert_eq!(names, expected);
    // CSTS re-polled every 10 ms of virtual time.
    let csts_times: Vec<Instant> = w
        .target
        .log
        .iter()
        .filter(|(_, _, p)| matches!(p, Pdu::CapsuleCmd(c) if c.sqe.opc == 0x7F && c.sqe.cdw11 == prop::CSTS))
        .map(|(t, _, _)| *t)
        .collect();
    assert_eq!(
        csts_times,
        vec![
            Instant(0),
            Instant(10_000_000),
            Instant(20_000_000),
            Instant(30_000_000)
        ]
    );
    assert_eq!(
        w.events().last(),
        Some(&HostEvent::Ready { cntlid: CNTLID })
    );
    assert_eq!(w.host().namespaces().collect::<Vec<_>>(), vec![(1, 512)]);
    assert_eq!(w.host().outstanding(0), 2, "two AERs stay outstanding");
}

#[test]
fn connect_capsule_carries_hostnqn_subnqn_kato_and_dynamic_cntlid() {
    let w = ready_world(Knobs::default());
    let Pdu::CapsuleCmd(c) = &w.target.log[1].2 else {
        panic!("second PDU is not a capsule");
    };
    assert_eq!(c.sqe.sgl1.kind, SGL_IN_CAPSULE);
    assert_eq!(c.sqe.sgl1.len, 1024);
    let Command::Connect(conn) = Command::parse(&c.sqe, fabcheck_core::wire::QueueKind::Admin)
    else {
        panic!("not a CONNECT");
    };
    assert_eq!((conn.qid, conn.kato_ms, conn.sqsize), (0, 10_000, 31));
    let data = fabcheck_core::wire::ConnectData::parse(&c.data).unwrap();
    assert_eq!(data.cntlid, 0xFFFF);
    assert_eq!(data.hostnqn, HOSTNQN);
    assert_eq!(data.subnqn, NQN);
}

#[test]
fn csts_rdy_never_set_gives_up_after_cap_to() {
    let knobs = Knobs {
        rdy_delay: u32::MAX,
        ..Knobs::default()
    };
    let mut w = World::new(host_config(HOSTNQN), knobs);
    w.act(HostAction::Connect);
    w.advance(Duration::from_secs(10));
    let events = w.events();
    assert!(
        matches!(events.last(), Some(HostEvent::ControllerFailed { .. })),
        "{events:?}"
    );
    assert_eq!(w.host().phase(), CtrlPhase::Failed);
    // CAP.TO = 2 -> (2 + 1) * 500 ms = 1.5 s: polls at 0, 10 ms, ..., 1500 ms.
    let polls = w
        .target
        .commands()
        .iter()
        .filter(|(_, c)| matches!(c, Command::PropertyGet { ofst, .. } if *ofst == prop::CSTS))
        .count();
    assert_eq!(polls, 151);
    assert_eq!(
        w.host().poll_timeout(),
        None,
        "no timer left after giving up"
    );
}

fn identify_rejected(identify: fabcheck_core::wire::IdentifyController, needle: &str) {
    let knobs = Knobs {
        identify,
        ..Knobs::default()
    };
    let mut w = World::new(host_config(HOSTNQN), knobs);
    w.connect();
    let events = w.events();
    match events.last() {
        Some(HostEvent::ControllerFailed { reason }) => {
            assert!(reason.contains(needle), "{reason}")
        }
        other => panic!("expected ControllerFailed, got {other:?}"),
    }
    assert!(!w.host().is_ready());
    // Nothing after Identify Controller.
    let last = w.target.commands().last().map(|(_, c)| name(c));
    assert_eq!(last.as_deref(), Some("identify cns=1 nsid=0"));
}

#[test]
fn identify_controller_checks_like_linux() {
    let base = Knobs::default().identify;
    identify_rejected(
        fabcheck_core::wire::IdentifyController {
            icdoff: 1,
            ..base.clone()
        },
        "icdoff",
    );
    identify_rejected(
        fabcheck_core::wire::IdentifyController {
            sgls: 0,
            ..base.clone()
        },
        "sgls",
    );
    identify_rejected(
        fabcheck_core::wire::IdentifyController {
            cntlid: CNTLID + 1,
            ..base
        },
        "cntlid",
    );
}

// ---- keep-alive ----

fn keep_alive_times(w: &World) -> Vec<u64> {
    w.target
        .log
        .iter()
        .filter(|(_, _, p)| matches!(p, Pdu::CapsuleCmd(c) if c.sqe.opc == 0x18))
        .map(|(t, _, _)| t.as_nanos() / 1_000_000)
        .collect()
}

#[test]
fn keep_alive_every_half_kato_and_stop_restart() {
    let mut w = ready_world(Knobs::default());
    let t0 = w.now.as_nanos() / 1_000_000;
    w.advance_to(Instant::ZERO + Duration::from_millis(t0 + 16_000));
    assert_eq!(
        keep_alive_times(&w),
        vec![t0 + 5_000, t0 + 10_000, t0 + 15_000]
    );
    w.act(HostAction::SetKeepAlive(false));
    assert!(!w.host().keep_alive_armed());
    assert_eq!(w.host().poll_timeout(), None);
    w.advance(Duration::from_secs(20));
    assert_eq!(keep_alive_times(&w).len(), 3, "stopped");
    w.act(HostAction::SetKeepAlive(true));
    let restart = w.now.as_nanos() / 1_000_000;
    w.advance(Duration::from_millis(5_001));
    assert_eq!(keep_alive_times(&w).last(), Some(&(restart + 5_000)));
    // A scripted extra Keep Alive goes out at once.
    w.act(HostAction::KeepAlive);
    assert_eq!(keep_alive_times(&w).len(), 5);
}

#[test]
fn kato_reported_by_target_sets_the_period() {
    let knobs = Knobs {
        kato_ms: 4_000,
        ..Knobs::default()
    };
    let mut w = ready_world(knobs);
    let t0 = w.now.as_nanos() / 1_000_000;
    w.advance(Duration::from_millis(4_100));
    assert_eq!(keep_alive_times(&w), vec![t0 + 2_000, t0 + 4_000]);
}

#[test]
fn no_keep_alive_when_kato_zero() {
    let mut cfg = host_config(HOSTNQN);
    cfg.kato_ms = 0;
    let mut w = World::new(cfg, Knobs::default());
    w.connect();
    assert!(w.host().is_ready());
    assert_eq!(w.host().poll_timeout(), None);
}

// ---- I/O queues, reads and writes ----

#[test]
fn io_queue_connect_uses_admin_cntlid() {
    let w = io_world(Knobs::default());
    let (qid, cmd) = w.target.commands().last().cloned().unwrap();
    assert_eq!(qid, 1);
    let Command::Connect(c) = cmd else {
        panic!("not CONNECT: {cmd:?}")
    };
    assert_eq!((c.qid, c.kato_ms, c.sqsize), (1, 0, 127));
    let connect_pdu = w.target.log.iter().rev().find(|(_, q, _)| *q == 1).unwrap();
    let Pdu::CapsuleCmd(capsule) = &connect_pdu.2 else {
        panic!()
    };
    let data = fabcheck_core::wire::ConnectData::parse(&capsule.data).unwrap();
    assert_eq!(data.cntlid, CNTLID);
    assert!(w.events().contains(&HostEvent::Connected {
        qid: 1,
        cntlid: CNTLID
    }));
    assert!(w.events().contains(&HostEvent::IcDone { qid: 1 }));
}

#[test]
fn in_capsule_write_then_read_back() {
    let mut w = io_world(Knobs::default());
    let data = pattern(4096, 7);
    w.act(HostAction::Write {
        tag: 1,
        qid: 1,
        nsid: 1,
        slba: 8,
        data: data.clone(),
    });
    let Some((_, _, Pdu::CapsuleCmd(c))) = w.target.log.iter().rev().find(|(_, q, _)| *q == 1)
    else {
        panic!("no write capsule")
    };
    assert_eq!(c.sqe.opc, 0x01);
    assert_eq!(c.sqe.sgl1.kind, SGL_IN_CAPSULE);
    assert_eq!(c.data, data);
    assert_eq!(io_done(&w, 1), vec![(status::SUCCESS, Vec::new())]);
    assert_eq!(&w.target.storage[8 * BLOCK..8 * BLOCK + 4096], &data[..]);
    w.act(HostAction::Read {
        tag: 2,
        qid: 1,
        nsid: 1,
        slba: 8,
        nlb: 8,
    });
    assert_eq!(io_done(&w, 2), vec![(status::SUCCESS, data)]);
    assert_eq!(w.host().outstanding(1), 0);
}

fn h2c_chunks(w: &World) -> Vec<(u32, usize, bool)> {
    w.target
        .log
        .iter()
        .filter_map(|(_, _, p)| match p {
            Pdu::H2CData(d) => Some((d.datao, d.data.len(), d.last)),
            _ => None,
        })
        .collect()
}

#[test]
fn r2t_write_in_maxh2cdata_chunks() {
    let mut w = io_world(Knobs {
        maxh2cdata: 4096,
        ..Knobs::default()
    });
    let data = pattern(16384, 3);
    w.act(HostAction::Write {
        tag: 9,
        qid: 1,
        nsid: 1,
        slba: 0,
        data: data.clone(),
    });
    let Some((_, _, Pdu::CapsuleCmd(c))) = w
        .target
        .log
        .iter()
        .find(|(_, q, p)| *q == 1 && matches!(p, Pdu::CapsuleCmd(c) if c.sqe.opc == 1))
    else {
        panic!("no write")
    };
    assert_eq!(c.sqe.sgl1.kind, SGL_TRANSPORT);
    assert_eq!(c.sqe.sgl1.len, 16384);
    assert!(c.data.is_empty());
    assert_eq!(
        h2c_chunks(&w),
        vec![
            (0, 4096, false),
            (4096, 4096, false),
            (8192, 4096, false),
            (12288, 4096, true)
        ]
    );
    assert_eq!(io_done(&w, 9), vec![(status::SUCCESS, Vec::new())]);
    assert_eq!(&w.target.storage[..16384], &data[..]);
}

#[test]
fn several_r2ts_each_end_with_last_pdu() {
    let mut w = io_world(Knobs {
        maxh2cdata: 4096,
        r2t_size: 6144,
        ..Knobs::default()
    });
    let data = pattern(16384, 11);
    w.act(HostAction::Write {
        tag: 4,
        qid: 1,
        nsid: 1,
        slba: 32,
        data: data.clone(),
    });
    assert_eq!(
        h2c_chunks(&w),
        vec![
            (0, 4096, false),
            (4096, 2048, true),
            (6144, 4096, false),
            (10240, 2048, true),
            (12288, 4096, true)
        ]
    );
    assert_eq!(io_done(&w, 4), vec![(status::SUCCESS, Vec::new())]);
    assert_eq!(&w.target.storage[32 * BLOCK..32 * BLOCK + 16384], &data[..]);
}

#[test]
fn write_over_in_capsule_max_uses_r2t() {
    let mut cfg = host_config(HOSTNQN);
    cfg.in_capsule_max = 1024;
    let mut w = World::new(cfg, Knobs::default());
    w.connect();
    w.act(HostAction::ConnectIo { qid: 1 });
    w.act(HostAction::Write {
        tag: 1,
        qid: 1,
        nsid: 1,
        slba: 0,
        data: pattern(2048, 1),
    });
    assert_eq!(h2c_chunks(&w), vec![(0, 2048, true)]);
    assert_eq!(io_done(&w, 1), vec![(status::SUCCESS, Vec::new())]);
}

#[test]
fn read_with_c2h_chunks_then_capsule_resp() {
    let mut w = io_world(Knobs {
        c2h_chunk: 1000,
        ..Knobs::default()
    });
    let data = pattern(8192, 5);
    w.target.storage[..8192].copy_from_slice(&data);
    w.act(HostAction::Read {
        tag: 3,
        qid: 1,
        nsid: 1,
        slba: 0,
        nlb: 16,
    });
    assert_eq!(io_done(&w, 3), vec![(status::SUCCESS, data)]);
}

#[test]
fn read_completed_by_c2h_success_flag() {
    let mut w = io_world(Knobs {
        c2h_success: true,
        ..Knobs::default()
    });
    let data = pattern(2048, 9);
    w.target.storage[BLOCK..BLOCK + 2048].copy_from_slice(&data);
    w.act(HostAction::Read {
        tag: 5,
        qid: 1,
        nsid: 1,
        slba: 1,
        nlb: 4,
    });
    assert_eq!(io_done(&w, 5), vec![(status::SUCCESS, data)]);
    assert_eq!(w.host().outstanding(1), 0);
    // Init's Identify commands were completed the same way.
    assert!(w.host().is_ready());
}

#[test]
fn commands_on_queues_that_are_not_ready_fail_as_values() {
    let mut w = World::new(host_config(HOSTNQN), Knobs::default());
    w.act(HostAction::Read {
        tag: 1,
        qid: 1,
        nsid: 1,
        slba: 0,
        nlb: 1,
    });
    w.act(HostAction::ConnectIo { qid: 1 });
    w.act(HostAction::Reset);
    w.act(HostAction::Shutdown);
    w.act(HostAction::Initialize);
    w.act(HostAction::KeepAlive);
    w.act(HostAction::Disconnect { qid: 3 });
    let events = w.events();
    assert_eq!(
        events[0],
        HostEvent::IoDone {
            tag: 1,
            status: local_status::HOST_PATH_ERROR,
            data: vec![]
        }
    );
    assert_eq!(
        events[1],
        HostEvent::ConnectFailed {
            qid: 1,
            status: local_status::HOST_PATH_ERROR
        }
    );
    assert!(matches!(events[2], HostEvent::Rejected { .. }));
    assert!(matches!(events[3], HostEvent::Rejected { .. }));
    assert!(matches!(events[4], HostEvent::Rejected { .. }));
    assert!(matches!(
        events[5],
        HostEvent::CommandFailed { opc: 0x18, .. }
    ));
    assert!(matches!(events[6], HostEvent::Rejected { .. }));
    assert!(w.target.log.is_empty(), "nothing reached the wire");
    // A misaligned write and a read on the admin queue fail locally too.
    let mut w = io_world(Knobs::default());
    w.act(HostAction::Write {
        tag: 7,
        qid: 1,
        nsid: 1,
        slba: 0,
        data: vec![1; 100],
    });
    w.act(HostAction::Read {
        tag: 8,
        qid: 0,
        nsid: 1,
        slba: 0,
        nlb: 1,
    });
    assert_eq!(io_done(&w, 7), vec![(status::INVALID_FIELD, vec![])]);
    assert_eq!(io_done(&w, 8), vec![(status::INVALID_FIELD, vec![])]);
}

#[test]
fn closing_a_queue_aborts_its_outstanding_io() {
    let mut w = io_world(Knobs::default());
    w.target.silent = true;
    w.act(HostAction::Read {
        tag: 1,
        qid: 1,
        nsid: 1,
        slba: 0,
        nlb: 1,
    });
    assert_eq!(w.host().outstanding(1), 1);
    w.host_input(0, HostInput::Closed { qid: 1 });
    assert_eq!(
        io_done(&w, 1),
        vec![(local_status::HOST_ABORTED, Vec::new())]
    );
    assert_eq!(w.events().last(), Some(&HostEvent::QueueClosed { qid: 1 }));
    assert!(
        !w.host_closed().contains(&1),
        "peer close needs no Close output"
    );
    // The qid can be connected again.
    w.target.silent = false;
    w.act(HostAction::ConnectIo { qid: 1 });
    assert_eq!(w.host().queue_state(1), Some(QueueState::Live));
}

// ---- reset, shutdown, AEN ----

#[test]
fn reset_writes_cc_en_0_polls_rdy_then_reinit() {
    let mut w = io_world(Knobs {
        shst_delay: 2,
        ..Knobs::default()
    });
    let before = w.target.commands().len();
    w.act(HostAction::Reset);
    w.advance(Duration::from_millis(100));
    let names: Vec<String> = w.target.commands()[before..]
        .iter()
        .map(|(_, c)| name(c))
        .collect();
    let cc = (6 << 16) | (4 << 20);
    assert_eq!(
        names,
        vec![
            format!("set {:#x}={cc:#x}", prop::CC),
            format!("get {:#x}", prop::CSTS),
            format!("get {:#x}", prop::CSTS),
            format!("get {:#x}", prop::CSTS),
        ]
    );
    assert_eq!(w.events().last(), Some(&HostEvent::ResetComplete));
    assert_eq!(w.host().phase(), CtrlPhase::Connected);
    w.act(HostAction::Initialize);
    w.advance(Duration::from_millis(100));
    assert!(w.host().is_ready());
}

#[test]
fn shutdown_sets_shn_and_polls_shst() {
    let mut w = ready_world(Knobs {
        shst_delay: 1,
        ..Knobs::default()
    });
    let before = w.target.commands().len();
    w.act(HostAction::Shutdown);
    w.advance(Duration::from_millis(50));
    let names: Vec<String> = w.target.commands()[before..]
        .iter()
        .map(|(_, c)| name(c))
        .collect();
    let cc = 1 | (1 << 14) | (6 << 16) | (4 << 20);
    assert_eq!(
        names,
        vec![
            format!("set {:#x}={cc:#x}", prop::CC),
            format!("get {:#x}", prop::CSTS),
            format!("get {:#x}", prop::CSTS),
        ]
    );
    assert_eq!(w.events().last(), Some(&HostEvent::ShutdownComplete));
    assert_eq!(w.host().phase(), CtrlPhase::ShutDown);
    assert!(!w.host().keep_alive_armed());
    w.act(HostAction::DisconnectAll);
    assert_eq!(w.host_closed(), [0]);
}

fn deliver_aen(w: &mut World, event: AsyncEvent) {
    let pdu = w.target.aen(event).expect("an AER is outstanding");
    let bytes = w.target.encode(0, &pdu);
    w.deliver(0, &bytes);
    w.pump();
}

#[test]
fn aen_is_reported_log_read_rescanned_and_aer_resubmitted() {
    let mut w = ready_world(Knobs::default());
    assert_eq!(w.target.aers.len(), 1);
    let before = w.target.commands().len();
    w.target.namespaces.push((2, 12));
    deliver_aen(&mut w, AsyncEvent::NAMESPACE_CHANGED);
    assert!(w
        .events()
        .contains(&HostEvent::Aen(AsyncEvent::NAMESPACE_CHANGED)));
    let names: Vec<String> = w.target.commands()[before..]
        .iter()
        .map(|(_, c)| name(c))
        .collect();
    assert_eq!(
        names,
        vec![
            "log 0x4",
            "aer",
            "identify cns=2 nsid=0",
            "identify cns=0 nsid=1",
            "identify cns=0 nsid=2"
        ]
    );
    assert_eq!(w.target.aers.len(), 1);
    assert_eq!(w.host().outstanding(0), 1);
    assert_eq!(
        w.host().namespaces().collect::<Vec<_>>(),
        vec![(1, 512), (2, 4096)]
    );
    // A removed namespace disappears on the next notice.
    w.target.namespaces.remove(0);
    deliver_aen(&mut w, AsyncEvent::NAMESPACE_CHANGED);
    assert_eq!(w.host().namespaces().collect::<Vec<_>>(), vec![(2, 4096)]);
}

#[test]
fn aen_without_log_page_only_resubmits() {
    let mut w = ready_world(Knobs::default());
    let before = w.target.commands().len();
    let event = AsyncEvent {
        event_type: 0,
        info: 1,
        log_page: 0,
    };
    deliver_aen(&mut w, event);
    assert!(w.events().contains(&HostEvent::Aen(event)));
    let names: Vec<String> = w.target.commands()[before..]
        .iter()
        .map(|(_, c)| name(c))
        .collect();
    assert_eq!(names, vec!["aer"]);
}

// ---- protocol errors ----

#[test]
fn garbage_bytes_give_protocol_error_termreq_close() {
    let mut w = io_world(Knobs::default());
    w.target.silent = true;
    w.act(HostAction::Read {
        tag: 1,
        qid: 1,
        nsid: 1,
        slba: 0,
        nlb: 1,
    });
    w.deliver(1, &[0xEE; 64]);
    w.pump();
    let events = w.events();
    assert!(events
        .iter()
        .any(|e| matches!(e, HostEvent::ProtocolError { qid: 1, .. })));
    assert_eq!(
        io_done(&w, 1),
        vec![(local_status::HOST_ABORTED, Vec::new())]
    );
    assert_eq!(term_reqs(&w, 1).len(), 1);
    assert!(w.host_closed().contains(&1));
    // The admin queue is untouched and later bytes on qid 1 are ignored.
    assert!(w.host().is_ready());
    let n = w.outputs().len();
    w.deliver(1, &[0; 10]);
    w.pump();
    assert_eq!(w.outputs().len(), n);
}

#[test]
fn unknown_cid_and_bad_data_offsets_are_violations() {
    let cases: Vec<(Pdu, FatalErrorStatus)> = vec![
        (
            fake::resp(1, 77, status::SUCCESS, 0, 0),
            FatalErrorStatus::InvalidHeaderField,
        ),
        (fake::r2t(0, 0, 512), FatalErrorStatus::DataOutOfRange),
        (
            Pdu::C2HData(fabcheck_core::wire::C2HData {
                cccid: 0,
                datao: 512,
                last: true,
                success: false,
                data: vec![0; 512],
            }),
            FatalErrorStatus::DataOutOfRange,
        ),
        (
            Pdu::C2HData(fabcheck_core::wire::C2HData {
                cccid: 0,
                datao: 0,
                last: true,
                success: false,
                data: vec![0; 1024],
            }),
            FatalErrorStatus::DataOutOfRange,
        ),
    ];
    for (pdu, fes) in cases {
        let mut w = io_world(Knobs::default());
        w.target.silent = true;
        // cid 0: a one-block read is outstanding.
        w.act(HostAction::Read {
            tag: 1,
            qid: 1,
            nsid: 1,
            slba: 0,
            nlb: 1,
        });
        let bytes = w.target.encode(1, &pdu);
        w.deliver(1, &bytes);
        w.pump();
        let terms = term_reqs(&w, 1);
        assert_eq!(terms.len(), 1, "{pdu:?}");
        assert_eq!(terms[0].fes, fes, "{pdu:?}");
        assert!(w.host_closed().contains(&1));
    }
}

#[test]
fn c2h_termreq_closes_without_answering() {
    let mut w = io_world(Knobs::default());
    let term = Pdu::C2HTermReq(TermReq {
        fes: FatalErrorStatus::HeaderDigestError,
        fei: 0,
        data: vec![],
    });
    let bytes = w.target.encode(1, &term);
    w.deliver(1, &bytes);
    w.pump();
    let events = w.events();
    assert!(events.contains(&HostEvent::TermReceived {
        qid: 1,
        fes: FatalErrorStatus::HeaderDigestError
    }));
    assert!(w.host_closed().contains(&1));
    assert!(term_reqs(&w, 1).is_empty());
}

// ---- split delivery and digests ----

fn full_session(split: usize, digests: Digests) -> Vec<HostEvent> {
    let mut cfg = host_config(HOSTNQN);
    cfg.digests = digests;
    let mut w = World::new(
        cfg,
        Knobs {
            c2h_chunk: 1536,
            maxh2cdata: 4096,
            ..Knobs::default()
        },
    );
    w.split = split;
    w.connect();
    w.act(HostAction::ConnectIo { qid: 1 });
    w.act(HostAction::Write {
        tag: 1,
        qid: 1,
        nsid: 1,
        slba: 0,
        data: pattern(4096, 1),
    });
    w.act(HostAction::Write {
        tag: 2,
        qid: 1,
        nsid: 1,
        slba: 8,
        data: pattern(12288, 2),
    });
    w.act(HostAction::Read {
        tag: 3,
        qid: 1,
        nsid: 1,
        slba: 0,
        nlb: 32,
    });
    let events = w.events();
    let mut want = pattern(4096, 1);
    want.extend(pattern(12288, 2));
    assert_eq!(io_done(&w, 3), vec![(status::SUCCESS, want)]);
    events
}

#[test]
fn byte_by_byte_delivery_matches_whole_pdus() {
    for digests in [
        Digests::default(),
        Digests {
            header: true,
            data: true,
        },
    ] {
        let whole = full_session(usize::MAX, digests);
        for split in [1, 3, 7, 100] {
            assert_eq!(full_session(split, digests), whole, "split {split}");
        }
        assert!(whole.contains(&HostEvent::Ready { cntlid: CNTLID }));
    }
}

// ---- a real peer ----

/// The raw target-to-host stream SPDK's `nvmf_tgt` sent to `spdk_nvme_identify`, cut into PDUs
/// by their `plen`.
fn spdk_identify_pdus() -> Vec<&'static [u8]> {
    let mut rest: &'static [u8] = include_bytes!("../data/host/spdk-identify.target-to-host.bin");
    let mut pdus = Vec::new();
    while rest.len() >= 8 {
        let plen = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
        let (pdu, tail) = rest.split_at(plen.min(rest.len()));
        pdus.push(pdu);
        rest = tail;
    }
    pdus
}

#[test]
fn replays_spdk_targets_answers_through_init() {
    // SPDK's host allocates the lowest free cid, as ours does, and its init order differs from
    // ours only by a CSTS read before the CC write and an Identify CNS 6 (PDU 11, skipped): the
    // target's real answers drive our host to Ready.
    let pdus = spdk_identify_pdus();
    let mut cfg = host_config(HOSTNQN);
    cfg.aers = 4;
    let mut w = World::new(cfg, Knobs::default());
    w.target.silent = true;
    w.act(HostAction::Connect);
    for (i, pdu) in pdus.iter().enumerate().take(15) {
        if i == 11 {
            continue;
        }
        if i == 7 {
            // Our first CSTS poll got SPDK's CC-write answer (0: not ready): poll again.
            w.advance(Duration::from_millis(10));
        }
        w.deliver(0, pdu);
        w.pump();
    }
    let events = w.events();
    assert_eq!(
        events,
        vec![
            HostEvent::IcDone { qid: 0 },
            HostEvent::Connected { qid: 0, cntlid: 1 },
            HostEvent::Ready { cntlid: 1 },
        ]
    );
    assert_eq!(w.host().namespaces().collect::<Vec<_>>(), vec![(1, 512)]);
    assert_eq!(w.host().outstanding(0), 4, "SPDK's AERL 3 allows 4 AERs");
    let names: Vec<String> = w.target.commands().iter().map(|(_, c)| name(c)).collect();
    assert_eq!(names.len(), 17, "{names:?}");
}

// ---- scripted steps, failures and teardown ----

#[test]
fn connect_failure_is_reported_and_the_queue_closed() {
    let mut w = World::new(
        host_config(HOSTNQN),
        Knobs {
            connect_status: Some(status::CONTROLLER_BUSY),
            ..Knobs::default()
        },
    );
    w.act(HostAction::Connect);
    assert_eq!(
        w.events(),
        vec![
            HostEvent::IcDone { qid: 0 },
            HostEvent::ConnectFailed {
                qid: 0,
                status: status::CONTROLLER_BUSY
            },
            HostEvent::QueueClosed { qid: 0 },
        ]
    );
    assert_eq!(w.host_closed(), [0]);
    assert_eq!(w.host().cntlid(), None);
    assert_eq!(w.host().phase(), CtrlPhase::Down);
    // The host may try again from scratch.
    w.target.knobs.connect_status = None;
    w.connect();
    assert!(w.host().is_ready());
}

#[test]
fn connect_admin_while_ic_in_flight_waits_for_icresp() {
    let mut w = World::new(host_config(HOSTNQN), Knobs::default());
    w.target.silent = true;
    w.act(HostAction::OpenAdmin);
    w.act(HostAction::ConnectAdmin);
    w.act(HostAction::Initialize);
    assert_eq!(w.host().queue_state(0), Some(QueueState::AwaitingIcResp));
    assert!(w.events().is_empty());
    // A stalled host: time passes, nothing is sent.
    w.advance(Duration::from_secs(30));
    assert_eq!(w.target.log.len(), 1);
    w.target.silent = false;
    let icresp = Pdu::IcResp(IcResp {
        pfv: 0,
        cpda: 0,
        digests: Digests::default(),
        maxh2cdata: 8192,
    });
    let bytes = w.target.encode(0, &icresp);
    w.deliver(0, &bytes);
    w.pump();
    assert!(w.host().is_ready(), "{:?}", w.events());
}

#[test]
fn one_keep_alive_in_flight_at_a_time() {
    let mut w = ready_world(Knobs::default());
    w.target.silent = true;
    w.advance(Duration::from_secs(21));
    assert_eq!(
        keep_alive_times(&w).len(),
        1,
        "unanswered KA is not repeated"
    );
    assert!(w.host().keep_alive_armed());
}

#[test]
fn admin_close_disarms_timers_and_forgets_the_controller() {
    let mut w = io_world(Knobs::default());
    w.host_input(0, HostInput::Closed { qid: 0 });
    assert_eq!(w.host().cntlid(), None);
    assert_eq!(w.host().phase(), CtrlPhase::Down);
    assert_eq!(w.host().poll_timeout(), None);
    assert_eq!(w.host().outstanding(0), 0, "AERs dropped with the queue");
    // The I/O queue stays until the target closes it.
    assert_eq!(w.host().queue_state(1), Some(QueueState::Live));
}

#[test]
fn disconnect_and_disconnect_all() {
    let mut w = io_world(Knobs::default());
    w.act(HostAction::ConnectIo { qid: 2 });
    w.act(HostAction::Disconnect { qid: 2 });
    assert_eq!(w.host_closed(), [2]);
    assert_eq!(w.events().last(), Some(&HostEvent::QueueClosed { qid: 2 }));
    w.act(HostAction::DisconnectAll);
    assert_eq!(w.host_closed(), [2, 1, 0], "I/O queues first, admin last");
    assert_eq!(w.host().queue_state(0), Some(QueueState::Closed));
    assert_eq!(w.host().poll_timeout(), None);
}

#[test]
fn header_digest_error_sends_termreq() {
    let mut cfg = host_config(HOSTNQN);
    cfg.digests = Digests {
        header: true,
        data: false,
    };
    let mut w = World::new(cfg, Knobs::default());
    w.connect();
    w.act(HostAction::ConnectIo { qid: 1 });
    w.target.silent = true;
    w.act(HostAction::Read {
        tag: 1,
        qid: 1,
        nsid: 1,
        slba: 0,
        nlb: 1,
    });
    let mut bytes = w.target.encode(1, &fake::resp(1, 0, status::SUCCESS, 0, 0));
    assert_eq!(bytes.len(), 28, "CapsuleResp + HDGST");
    bytes[26] ^= 0xFF;
    w.deliver(1, &bytes);
    w.pump();
    let terms = term_reqs(&w, 1);
    assert_eq!(terms.len(), 1);
    assert_eq!(terms[0].fes, FatalErrorStatus::HeaderDigestError);
    assert_eq!(
        io_done(&w, 1),
        vec![(local_status::HOST_ABORTED, Vec::new())]
    );
}

/// Cuts a raw stream into PDUs by `plen` (a truncated tail is dropped).
fn cut_pdus(mut rest: &'static [u8]) -> Vec<&'static [u8]> {
    let mut pdus = Vec::new();
    while rest.len() >= 8 {
        let plen = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
        if plen > rest.len() {
            break;
        }
        let (pdu, tail) = rest.split_at(plen);
        pdus.push(pdu);
        rest = tail;
    }
    pdus
}

/// The I/O commands SPDK's host sent (after ICReq and CONNECT), as host actions; R2T
/// writes take their data from SPDK's H2CData PDUs. Stops at the first write whose data the
/// capture cut off.
fn spdk_io_actions(h2t: &'static [u8], digests: Digests) -> Vec<HostAction> {
    let mut out: Vec<HostAction> = Vec::new();
    let mut writes_by_cid = std::collections::BTreeMap::new();
    for (i, raw) in cut_pdus(h2t).into_iter().enumerate().skip(2) {
        let pdu = Pdu::parse(raw, fabcheck_core::wire::Role::Target, digests).unwrap();
        let c = match pdu {
            Pdu::CapsuleCmd(c) => c,
            Pdu::H2CData(d) => {
                if let Some(HostAction::Write { data, .. }) = out.get_mut(writes_by_cid[&d.cccid]) {
                    data.extend_from_slice(&d.data);
                }
                continue;
            }
            other => panic!("unexpected {other:?}"),
        };
        let tag = i as u64;
        out.push(match Command::parse(&c.sqe, QueueKind::Io) {
            Command::Read { nsid, slba, nlb } => HostAction::Read {
                tag,
                qid: 1,
                nsid,
                slba,
                nlb: u32::from(nlb) + 1,
            },
            Command::Write { nsid, slba, .. } => {
                writes_by_cid.insert(c.sqe.cid, out.len());
                HostAction::Write {
                    tag,
                    qid: 1,
                    nsid,
                    slba,
                    data: c.data.clone(),
                }
            }
            other => panic!("unexpected {other:?}"),
        });
    }
    let complete = out
        .iter()
        .take_while(|a| !matches!(a, HostAction::Write { data, .. } if data.is_empty() || data.len() % 512 != 0))
        .count();
    out.truncate(complete);
    out
}

/// Replays the I/O queue of a `spdk_nvme_perf -q 4` capture: our host issues the same
/// commands four deep and gets SPDK's target's real answers, one PDU at a time. SPDK's
/// target completes in order, so our lowest-free cids equal SPDK's round robin, and every
/// PDU our host sends (capsules, H2CData, digests included) must equal SPDK's host's bytes.
/// Returns how many PDUs were compared.
fn replay_spdk_io(h2t: &'static [u8], t2h: &'static [u8], digests: Digests) -> usize {
    let spdk_sent = cut_pdus(h2t);
    let answers = cut_pdus(t2h);
    let mut cfg = host_config(HOSTNQN);
    cfg.digests = digests;
    let mut w = World::new(cfg, Knobs::default());
    w.connect();
    w.target.silent = true;
    w.act(HostAction::ConnectIo { qid: 1 });
    w.deliver(1, answers[0]);
    w.deliver(1, answers[1]);
    w.pump();
    assert_eq!(w.host().queue_state(1), Some(QueueState::Live));
    let mut next = spdk_io_actions(h2t, digests).into_iter();
    for a in next.by_ref().take(4) {
        w.act(a);
    }
    for raw in &answers[2..] {
        let before = w.host().outstanding(1);
        w.deliver(1, raw);
        w.pump();
        if w.host().outstanding(1) < before {
            // SPDK issued its next command here; past the last one we can rebuild, later
            // answers may be for commands we never sent.
            let Some(a) = next.next() else { break };
            w.act(a);
        }
    }
    let all: Vec<&Vec<u8>> = w
        .outputs()
        .iter()
        .filter_map(|o| match o {
            HostOutput::Send { qid: 1, data } => Some(data),
            _ => None,
        })
        .collect();
    assert_eq!(&all[0][..], spdk_sent[0], "ICReq equals SPDK's");
    // PDU 1 is CONNECT: its NQNs and host id differ by design.
    let ours = &all[2..];
    for (i, (mine, theirs)) in ours.iter().zip(&spdk_sent[2..]).enumerate() {
        assert_eq!(&mine[..], *theirs, "PDU {} differs from SPDK's host", i + 2);
    }
    let events = w.events();
    assert!(events
        .iter()
        .all(|e| !matches!(e, HostEvent::ProtocolError { .. })));
    let failed = events
        .iter()
        .filter(|e| matches!(e, HostEvent::IoDone { status, .. } if !status.is_success()))
        .count();
    assert_eq!(failed, 0);
    ours.len().min(spdk_sent.len() - 2)
}

#[test]
fn replays_spdk_perf_mixed_4k_byte_for_byte() {
    let n = replay_spdk_io(
        include_bytes!("../data/host/spdk-perf-rw-4k.io.host-to-target.bin"),
        include_bytes!("../data/host/spdk-perf-rw-4k.io.target-to-host.bin"),
        Digests::default(),
    );
    assert_eq!(n, 84, "every PDU SPDK's host sent on the I/O queue");
}

#[test]
fn replays_spdk_perf_r2t_writes_byte_for_byte() {
    let n = replay_spdk_io(
        include_bytes!("../data/host/spdk-perf-randwrite-16k.io.host-to-target.bin"),
        include_bytes!("../data/host/spdk-perf-randwrite-16k.io.target-to-host.bin"),
        Digests::default(),
    );
    assert!(
        n >= 68,
        "{n} PDUs compared (the capture cuts the last write)"
    );
}

#[test]
fn replays_spdk_perf_reads_with_digests_byte_for_byte() {
    let n = replay_spdk_io(
        include_bytes!("../data/host/spdk-perf-randread-4k-digests.io.host-to-target.bin"),
        include_bytes!("../data/host/spdk-perf-randread-4k-digests.io.target-to-host.bin"),
        Digests {
            header: true,
            data: true,
        },
    );
    assert_eq!(n, 84, "every PDU, digests included");
}
