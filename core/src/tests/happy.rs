//! Happy paths: a host connects, initializes, creates an I/O queue, writes and reads back,
//! keeps alive and shuts down; two hosts land on two poll groups; a namespace add sends an AEN.

use crate::nvmf::{Mark, QpairState, RpcRequest, ThreadId};
use crate::testkit::pdu;
use crate::testkit::{config, namespace, World, NQN};
use crate::testkit::{HOSTNQN, HOSTNQN_B};
use crate::wire::{feature, prop, AsyncEvent, IdentifyController, Pdu};

#[test]
fn host_initializes_like_a_real_initiator() {
    let mut w = World::new(config());
    let (c, cntlid) = w.connect_enabled(1, HOSTNQN);
    assert_eq!(cntlid, 1);
    w.send(c, &pdu::prop_get(3, prop::CSTS));
    w.send(c, &pdu::prop_get(4, prop::VS));
    w.send(c, &pdu::prop_get(5, prop::CAP));
    w.run_all();
    let r = w.responses(c);
    assert_eq!(r.len(), 3);
    assert_eq!(r[0].cdw0 & 1, 1, "CSTS.RDY after CC.EN");
    assert_eq!(r[1].cdw0, 0x0002_0000, "VS 2.0 on master (nvmf_ctrlr_init)");
    assert_eq!(r[2].cdw0 & 0xFFFF, 127, "CAP.MQES");
    w.send(c, &pdu::identify(6, 1, 0));
    w.run_all();
    let pdus = w.recv(c);
    let Some(Pdu::C2HData(d)) = pdus.first() else {
        panic!("identify data: {pdus:?}")
    };
    assert!(!d.success, "SUCCESS is never set on C2HData");
    let id = IdentifyController::parse(&d.data).expect("identify controller");
    assert_eq!((id.cntlid, id.subnqn.as_str(), id.icdoff), (cntlid, NQN, 0));
    assert_eq!(id.sgls & 1, 1);
    assert!(
        matches!(pdus.last(), Some(Pdu::CapsuleResp(r)) if r.cqe.cid == 6 && r.cqe.status.is_success())
    );
    w.send(
        c,
        &pdu::set_features(7, feature::NUMBER_OF_QUEUES, 0x0003_0003),
    );
    w.send(c, &pdu::keep_alive(8));
    w.send(c, &pdu::identify(9, 2, 0));
    w.run_all();
    let pdus = w.recv(c);
    assert_eq!(pdus.len(), 4, "{pdus:?}");
    let Pdu::C2HData(list) = &pdus[2] else {
        panic!("active ns list")
    };
    assert_eq!(&list.data[0..8], &[1, 0, 0, 0, 0, 0, 0, 0]);
    w.shutdown_and_check();
}

#[test]
fn host_writes_and_reads_back_through_an_io_queue() {
    let mut w = World::new(config());
    let (_a, cntlid) = w.connect_enabled(1, HOSTNQN);
    let (io, cqe) = w.connect_io(2, HOSTNQN, cntlid, 1);
    assert!(cqe.status.is_success(), "{cqe:?}");
    assert_eq!(w.target.qpair_state(io), Some(QpairState::Enabled));
    assert_eq!(w.target.qpair_thread(io), Some(ThreadId::PollGroup(1)));
    let small: Vec<u8> = (0..512).map(|i| i as u8).collect();
    w.send(io, &pdu::write(10, 1, 0, small.clone(), true));
    assert_eq!(
        w.target.pending_device_ios().len(),
        1,
        "waits for the device"
    );
    w.run_all();
    assert!(w.responses(io)[0].status.is_success());
    let big: Vec<u8> = (0..4096).map(|i| (i * 7) as u8).collect();
    w.send(io, &pdu::write_r2t(11, 1, 1, 4096));
    let pdus = w.recv(io);
    let Some(Pdu::R2T(r2t)) = pdus.first() else {
        panic!("R2T expected: {pdus:?}")
    };
    assert_eq!((r2t.cccid, r2t.r2to, r2t.r2tl), (11, 0, 4096));
    let ttag = r2t.ttag;
    w.send(io, &pdu::h2c(11, ttag, 0, big[..2048].to_vec(), false));
    w.send(io, &pdu::h2c(11, ttag, 2048, big[2048..].to_vec(), true));
    w.run_all();
    assert!(w.responses(io)[0].status.is_success());
    w.send(io, &pdu::read(12, 1, 0, 9));
    w.run_all();
    let pdus = w.recv(io);
    let Some(Pdu::C2HData(d)) = pdus.first() else {
        panic!("read data: {pdus:?}")
    };
    assert!(!d.success && d.last);
    assert_eq!(&d.data[..512], &small[..]);
    assert_eq!(&d.data[512..], &big[..]);
    assert!(matches!(pdus.last(), Some(Pdu::CapsuleResp(r)) if r.cqe.cid == 12));
    assert_eq!(w.marked(Mark::IoCompleted), 3);
    w.shutdown_and_check();
}

#[test]
fn host_shutdown_reports_shst_complete_and_teardown_frees_everything() {
    let mut w = World::new(config());
    let (a, cntlid) = w.connect_enabled(1, HOSTNQN);
    let (io, _) = w.connect_io(2, HOSTNQN, cntlid, 1);
    w.send(a, &pdu::prop_set_cc(20, pdu::CC_SHUTDOWN));
    w.run_all();
    assert_eq!(w.marked(Mark::CcShutdown), 1);
    assert!(w.closed(io), "I/O qpairs are disconnected by a shutdown");
    w.settle_until(w.now + crate::time::Duration::from_millis(100));
    w.send(a, &pdu::prop_get(21, prop::CSTS));
    w.run_all();
    let r = w.responses(a);
    assert_eq!((r.last().unwrap().cdw0 >> 2) & 3, 2, "SHST complete");
    w.input(crate::nvmf::Input::PeerClosed { conn: a });
    w.run_all();
    assert_eq!(w.target.qpair_count(), 0);
    assert_eq!(w.target.ctrlr_count(), 0);
    assert_eq!(w.marked(Mark::CtrlrDestroyed), 1);
    w.shutdown_and_check();
}

#[test]
fn two_hosts_land_on_two_poll_groups() {
    let mut w = World::new(config());
    let (a, ca) = w.connect_enabled(1, HOSTNQN);
    let (b, cb) = w.connect_enabled(2, HOSTNQN_B);
    assert_ne!(ca, cb);
    assert_eq!(w.target.qpair_thread(a), Some(ThreadId::PollGroup(0)));
    assert_eq!(w.target.qpair_thread(b), Some(ThreadId::PollGroup(1)));
    let id = w.rpc(RpcRequest::GetControllers { nqn: NQN.into() });
    w.run_all();
    let Some(Ok(crate::nvmf::RpcResponse::Controllers(cs))) = w.rpc_results.get(&id) else {
        panic!()
    };
    assert_eq!(cs.len(), 2);
    w.shutdown_and_check();
}

#[test]
fn namespace_add_goes_through_pause_and_sends_an_aen() {
    let mut w = World::new(config());
    let (a, _) = w.connect_enabled(1, HOSTNQN);
    w.send(a, &pdu::enable_ns_aen(3));
    w.send(a, &pdu::aer(4));
    w.run_all();
    assert_eq!(w.responses(a).len(), 1, "the AER stays outstanding");
    let ns = namespace(2, 8);
    let id = w.rpc(RpcRequest::AddNamespace {
        nqn: NQN.into(),
        ns,
    });
    w.run_all();
    assert!(w.rpc_ok(id));
    assert_eq!(w.marked(Mark::SubsystemPaused), 1);
    assert_eq!(w.marked(Mark::SubsystemResumed), 1);
    let r = w.responses(a);
    assert_eq!(r.len(), 1);
    assert_eq!(
        (r[0].cid, r[0].cdw0),
        (4, AsyncEvent::NAMESPACE_CHANGED.to_cdw0())
    );
    w.shutdown_and_check();
}

/// `nvmf_ctrlr_set_features_number_of_queues` (v24.01 and master): NCQR or NSQR 0xFFFF is
/// INVALID FIELD; once an I/O qpair is in the controller's mask the request is COMMAND
/// SEQUENCE ERROR (found by replaying hazard H-5's story on real v24.01).
#[test]
fn number_of_queues_is_refused_once_an_io_queue_exists() {
    use crate::wire::status;
    let mut w = World::new(config());
    let (c, cntlid) = w.connect_enabled(1, HOSTNQN);
    let set = |cid, cdw11| pdu::set_features(cid, feature::NUMBER_OF_QUEUES, cdw11);
    let (_, cqe) = w.exec(c, &set(3, 0x0003_0003));
    assert!(cqe.status.is_success(), "{cqe:?}");
    assert_eq!(
        cqe.cdw0 & 0xFFFF,
        126,
        "the configured count, not the host's"
    );
    let (_, cqe) = w.exec(c, &set(4, 0xFFFF_0003));
    assert_eq!(cqe.status, status::INVALID_FIELD);
    let (_io, io_cqe) = w.connect_io(2, HOSTNQN, cntlid, 1);
    assert!(io_cqe.status.is_success(), "{io_cqe:?}");
    let (_, cqe) = w.exec(c, &set(5, 0x0003_0003));
    assert_eq!(cqe.status, status::COMMAND_SEQUENCE_ERROR);
}
