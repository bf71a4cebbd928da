//! The discovery controller's lifecycle and log page (discovery.rs): connect on any listener,
//! no I/O queues, the admin command subset, KATO 0 -> 120 s without notices, the log page
//! with one record per visible listener, genctr and the masked change notice.

use crate::nvmf::{RpcRequest, TargetConfig, Timer, Trid, DISCOVERY_NQN};
use crate::testkit::{config, pdu, subsystem, trid, World, HOSTNQN, HOSTNQN_B, NQN};
use crate::time::Duration;
use crate::wire::{feature, status, IdentifyController, Status};

const INVALID_LOG_PAGE: Status = Status::new(1, 0x09);

fn disc_config() -> TargetConfig {
    TargetConfig {
        discovery: true,
        ..config()
    }
}

/// Accept, ICReq, CONNECT to the discovery NQN, CC.EN = 1; returns the connection.
fn connect_disc(w: &mut World, conn: u64, hostnqn: &str, kato_ms: u32) -> crate::nvmf::ConnId {
    let c = w.accept(conn);
    w.run_all();
    w.send(c, &pdu::icreq());
    w.send(
        c,
        &pdu::connect(1, 0, DISCOVERY_NQN, hostnqn, 0xFFFF, kato_ms),
    );
    w.run_all();
    let cqe = *w.responses(c).last().expect("CONNECT answered");
    assert!(cqe.status.is_success(), "discovery CONNECT: {cqe:?}");
    w.send(c, &pdu::prop_set_cc(2, pdu::CC_ENABLE));
    w.run_all();
    assert!(w.responses(c)[0].status.is_success());
    c
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// The records' (subnqn, traddr:trsvcid, portid) of a discovery log page.
fn records(page: &[u8]) -> Vec<(String, String, u16)> {
    let n = u64_at(page, 8) as usize;
    (0..n)
        .map(|i| {
            let e = &page[1024 + i * 1024..2048 + i * 1024];
            let text = |b: &[u8]| {
                String::from_utf8_lossy(b)
                    .trim_end_matches(['\0', ' '])
                    .to_string()
            };
            let addr = format!("{}:{}", text(&e[512..768]), text(&e[32..64]));
            (text(&e[256..512]), addr, u16::from_le_bytes([e[4], e[5]]))
        })
        .collect()
}

#[test]
fn discovery_controller_serves_only_discovery() {
    let mut w = World::new(disc_config());
    let c = connect_disc(&mut w, 1, HOSTNQN, 0);
    let armed = w.target.armed_timers();
    let ka = armed
        .iter()
        .find(|(t, _)| matches!(t, Timer::KeepAlive { .. }))
        .expect("keep-alive armed");
    assert_eq!(
        ka.1,
        w.now + Duration::from_millis(240_000),
        "KATO 0 -> 120 s: the poller (every KATO) first finds it expired at 2 x KATO"
    );
    let (data, cqe) = w.exec(c, &pdu::identify(3, 1, 0));
    assert!(cqe.status.is_success());
    let id = IdentifyController::parse(&data).unwrap();
    assert_eq!((id.cntrltype, id.subnqn.as_str()), (2, DISCOVERY_NQN));
    assert_eq!(id.oaes, 1 << 31, "discovery log change notices");
    assert_eq!(
        (id.sn.as_str(), id.nn, id.ioccsz),
        ("", 0, 0),
        "NVM fields reserved"
    );
    let (_, cqe) = w.exec(c, &pdu::identify(4, 0, 1));
    assert_eq!(cqe.status, status::INVALID_FIELD, "only CNS 1");
    let (_, cqe) = w.exec(c, &pdu::get_features(5, feature::NUMBER_OF_QUEUES));
    assert_eq!(cqe.status, status::INVALID_FIELD);
    let (_, cqe) = w.exec(c, &pdu::get_features(6, feature::KEEP_ALIVE_TIMER));
    assert_eq!((cqe.status, cqe.cdw0), (status::SUCCESS, 120_000));
    let (_, cqe) = w.exec(c, &pdu::get_features(7, feature::ASYNC_EVENT_CONFIG));
    assert_eq!(cqe.cdw0 >> 31, 0, "notices off with KATO 0");
    let (_, cqe) = w.exec(c, &pdu::raw(8, 0x08, 0));
    assert_eq!(
        cqe.status,
        status::INVALID_OPCODE,
        "Abort is not a discovery command"
    );
    let (_, cqe) = w.exec(c, &pdu::get_log_page(9, 0x02, 512, 0, false, 0));
    assert_eq!(cqe.status, INVALID_LOG_PAGE);
    let (page, cqe) = w.exec(c, &pdu::get_log_page(10, 0x00, 1024, 0, false, 0));
    assert!(cqe.status.is_success());
    assert_eq!(&page[0x70 * 4..0x70 * 4 + 4], &[1, 0, 1, 0]);
    let mut for_ns1 = pdu::get_log_page(11, 0x00, 1024, 0, false, 0);
    if let crate::wire::Pdu::CapsuleCmd(cmd) = &mut for_ns1 {
        cmd.sqe.nsid = 1;
    }
    let (_, cqe) = w.exec(c, &for_ns1);
    assert_eq!(
        cqe.status,
        status::INVALID_FIELD,
        "0x00 is of controller scope"
    );
    let c2 = w.accept(21);
    w.run_all();
    w.send(c2, &pdu::icreq());
    w.send(c2, &pdu::connect(1, 1, DISCOVERY_NQN, HOSTNQN, 1, 0));
    w.run_all();
    let cqe = *w.responses(c2).last().unwrap();
    assert_eq!(
        cqe.status,
        status::CONNECT_INVALID_PARAMETERS,
        "no I/O queue"
    );
    assert_eq!(cqe.cdw0, 42, "SPDK_NVMF_INVALID_CONNECT_CMD(qid)");
    w.shutdown_and_check();
}

#[test]
fn log_page_lists_the_listeners_a_host_may_see() {
    let mut cfg = disc_config();
    let mut private = subsystem();
    private.nqn = "nqn.2016-06.io.spdk:cnode0".into();
    private.allow_any_host = false;
    private.hosts = vec![HOSTNQN.into()];
    private.namespaces.clear();
    let mut stopped = subsystem();
    stopped.nqn = "nqn.2016-06.io.spdk:cnode9".into();
    stopped.start = false;
    cfg.subsystems.push(private);
    cfg.subsystems.push(stopped);
    let mut w = World::new(cfg);
    let a = connect_disc(&mut w, 1, HOSTNQN, 0);
    let b = connect_disc(&mut w, 2, HOSTNQN_B, 0);
    let (page, cqe) = w.exec(a, &pdu::get_log_page(3, 0x70, 4096, 0, false, 0));
    assert!(cqe.status.is_success());
    let addr = trid().to_string();
    assert_eq!(
        records(&page),
        vec![
            ("nqn.2016-06.io.spdk:cnode0".into(), addr.clone(), 0),
            (NQN.into(), addr.clone(), 0),
        ],
        "NQN order, inactive subsystem left out"
    );
    let genctr = u64_at(&page, 0);
    let (page, _) = w.exec(b, &pdu::get_log_page(3, 0x70, 4096, 0, false, 0));
    assert_eq!(
        records(&page),
        vec![(NQN.into(), addr, 0)],
        "host B not allowed"
    );
    assert_eq!(u64_at(&page, 0), genctr);
    let e = &page[1024..1040];
    assert_eq!(&e[..12], &[3, 1, 2, 2, 0, 0, 0xFF, 0xFF, 128, 0, 0, 0]);
    let (tail, cqe) = w.exec(b, &pdu::get_log_page(4, 0x70, 8, 1024 + 256, false, 0));
    assert!(cqe.status.is_success());
    assert_eq!(&tail, b"nqn.2016");
    let (_, cqe) = w.exec(b, &pdu::get_log_page(5, 0x70, 8, 2048, false, 0));
    assert_eq!(cqe.status, status::INVALID_FIELD, "offset past the page");
    let (ext, _) = w.exec(b, &pdu::get_log_page(6, 0x70, 4096, 0, false, 1));
    assert_eq!((ext[18], u64_at(&ext, 8)), (1, 1), "extended entries");
    assert_eq!(
        u32::from_le_bytes(ext[20..24].try_into().unwrap()),
        1024 + 1032
    );
    w.shutdown_and_check();
}

#[test]
fn listener_changes_bump_genctr_and_notify_once_until_read() {
    let mut w = World::new(disc_config());
    let c = connect_disc(&mut w, 1, HOSTNQN, 30_000);
    let (_, cqe) = w.exec(c, &pdu::get_features(3, feature::ASYNC_EVENT_CONFIG));
    assert_eq!(cqe.cdw0 >> 31, 1, "notices on with a KATO");
    let quiet = connect_disc(&mut w, 2, HOSTNQN_B, 0);
    w.send(c, &pdu::aer(4));
    w.send(quiet, &pdu::aer(4));
    w.run_all();
    let g0 = w.target.discovery_genctr();
    let second = Trid::tcp("127.0.0.1", 4421);
    let add = |w: &mut World, t: &Trid| {
        let id = w.rpc(RpcRequest::SubsystemAddListener {
            nqn: NQN.into(),
            trid: t.clone(),
        });
        w.run_all();
        assert!(w.rpc_ok(id));
    };
    add(&mut w, &second);
    assert_eq!(w.target.discovery_genctr(), g0 + 1);
    let aen = w.responses(c);
    assert_eq!(aen.len(), 1, "one AEN: {aen:?}");
    assert_eq!(aen[0].cdw0, 0x0070_F002, "notice, log change, page 0x70");
    assert!(w.responses(quiet).is_empty(), "KATO 0: no notices");
    w.send(c, &pdu::aer(5));
    w.run_all();
    add(&mut w, &Trid::tcp("127.0.0.1", 4422));
    assert!(w.responses(c).is_empty(), "masked until the page is read");
    let (page, _) = w.exec(c, &pdu::get_log_page(6, 0x70, 4096, 0, true, 0));
    assert_eq!(u64_at(&page, 0), g0 + 2);
    let ports: Vec<u16> = records(&page).iter().map(|r| r.2).collect();
    assert_eq!(
        ports,
        vec![2, 1, 0],
        "newest listener first, lowest free id"
    );
    let host = w.rpc(RpcRequest::AddHost {
        nqn: NQN.into(),
        hostnqn: HOSTNQN.into(),
    });
    w.run_all();
    assert!(w.rpc_ok(host));
    assert!(w.responses(c).is_empty(), "RAE kept the mask");
    w.exec(c, &pdu::get_log_page(7, 0x70, 16, 0, false, 0));
    let host = w.rpc(RpcRequest::RemoveHost {
        nqn: NQN.into(),
        hostnqn: HOSTNQN.into(),
        timeout_ms: 0,
    });
    w.settle_until(w.now + Duration::from_millis(5));
    assert!(w.rpc_ok(host));
    let aen = w.responses(c);
    assert_eq!(aen.iter().filter(|q| q.cid == 5).count(), 1, "{aen:?}");
    assert_eq!(w.target.discovery_genctr(), g0 + 4);
    w.shutdown_and_check();
}

#[test]
fn without_the_option_there_is_no_discovery_subsystem() {
    let mut w = World::new(config());
    assert_eq!(w.target.subsystem_count(), 1);
    let c = w.accept(1);
    w.run_all();
    w.send(c, &pdu::icreq());
    w.send(c, &pdu::connect(1, 0, DISCOVERY_NQN, HOSTNQN, 0xFFFF, 0));
    w.run_all();
    let cqe = *w.responses(c).last().unwrap();
    assert_eq!(cqe.status, status::CONNECT_INVALID_PARAMETERS);
    assert_eq!(cqe.cdw0, 256 | 1 << 16, "subnqn not found");
}

/// The log page reads every listener's trid (`nvmf_generate_discovery_log`): a listener whose
/// transport listener a stop freed (H-13) is freed memory in v24.01 and left out since
/// dfdd45beeb (v26.05, master).
#[test]
fn the_log_page_reads_a_freed_listener_in_v24_01_and_skips_it_since() {
    for spdk in crate::nvmf::Spdk::ALL {
        let mut cfg = disc_config();
        cfg.spdk = spdk;
        let port_b = Trid::tcp("127.0.0.1", 4421);
        cfg.subsystems[0].listeners = vec![port_b.clone(), trid()];
        let mut w = World::new(cfg);
        w.expect_violation = spdk == crate::nvmf::Spdk::V24_01;
        let c = connect_disc(&mut w, 1, HOSTNQN, 0);
        for _ in 0..2 {
            // Filtered to the data subsystem: the discovery controller's queue stays.
            w.rpc_now(RpcRequest::StopListenAsync {
                trid: trid(),
                nqn: Some(NQN.into()),
            });
        }
        assert!(!w.closed(c), "{spdk}");
        let get = pdu::get_log_page(3, 0x70, 4096, 0, false, 0);
        if spdk == crate::nvmf::Spdk::V24_01 {
            w.send(c, &get);
            w.run_all();
            let v = w.violation().expect("v24.01 reads the freed listener");
            assert_eq!(
                (v.invariant, v.site.as_str()),
                (crate::nvmf::InvariantId::I1, "nvmf_generate_discovery_log")
            );
            continue;
        }
        let (page, cqe) = w.exec(c, &get);
        assert!(cqe.status.is_success(), "{spdk}");
        assert_eq!(
            records(&page),
            vec![(NQN.into(), port_b.to_string(), 0)],
            "{spdk}: the inactive listener is left out"
        );
    }
}
