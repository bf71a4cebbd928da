//! Behaviours the differential replay on real SPDK showed the model lacked (docs/differential.md).

use crate::nvmf::{Input, Mark, RpcRequest, ThreadId, Timer};
use crate::testkit::pdu;
use crate::testkit::{config, namespace, World, HOSTNQN, NQN};
use crate::wire::{status, AsyncEvent, Digests};

/// `nvmf_ctrlr_async_event_ns_notice` masks the namespace-attribute notice
/// (`nvmf_ctrlr_mask_aen`) until the host reads the Changed Namespace List with RAE clear
/// (`nvmf_get_changed_ns_list_log_page`); a second change meanwhile only joins the list, so a
/// re-posted AER waits instead of carrying a second notice. Same code in v24.01 and master.
#[test]
fn nvmf_ctrlr_ns_notice_is_masked_until_the_changed_ns_list_is_read() {
    let mut w = World::new(config());
    let (a, _) = w.connect_enabled(1, HOSTNQN);
    w.send(a, &pdu::enable_ns_aen(3));
    w.send(a, &pdu::aer(4));
    w.run_all();
    assert_eq!(w.responses(a).len(), 1, "the AER stays outstanding");
    let add = |w: &mut World, nsid| {
        let id = w.rpc(RpcRequest::AddNamespace {
            nqn: NQN.into(),
            ns: namespace(nsid, 8),
        });
        w.run_all();
        assert!(w.rpc_ok(id));
    };
    add(&mut w, 2);
    let r = w.responses(a);
    assert_eq!(
        (r[0].cid, r[0].cdw0),
        (4, AsyncEvent::NAMESPACE_CHANGED.to_cdw0())
    );
    add(&mut w, 3);
    assert_eq!(
        w.marked(Mark::NamespaceChangedAen),
        1,
        "masked: no second notice"
    );
    // The host reads the page and re-posts the AER in the same bytes, as an initiator does.
    let (page, cqe) = w.exec(a, &pdu::get_log_page(5, 0x04, 12, 0, false, 0));
    assert!(cqe.status.is_success());
    assert_eq!(
        page,
        [2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0],
        "both changes, in order"
    );
    w.send(a, &pdu::aer(6));
    w.run_all();
    assert!(
        w.responses(a).is_empty(),
        "no pending notice: the AER waits"
    );
    let (page, _) = w.exec(a, &pdu::get_log_page(7, 0x04, 4, 0, false, 0));
    assert_eq!(page, [0; 4], "the read cleared the page");
    add(&mut w, 4);
    let r = w.responses(a);
    assert_eq!(
        (r[0].cid, r[0].cdw0),
        (6, AsyncEvent::NAMESPACE_CHANGED.to_cdw0())
    );
    w.shutdown_and_check();
}

/// A host that closes its connection in the middle of a PDU whose common header arrived
/// strands the qpair: `nvmf_tcp_sock_process` moves from AWAIT_PDU_PAYLOAD to QUIESCING
/// without releasing the PDU in progress, so it never reaches ERROR and the transport never
/// disconnects the qpair (SPDK issue #3437, v24.01 and master). A close between PDUs, or
/// inside a common header, disconnects it as usual. Real SPDK does the same in the
/// differential harness (docs/differential.md).
#[test]
fn nvmf_tcp_sock_process_strands_a_qpair_closed_mid_capsule() {
    let mut w = World::new(config());
    let connect = pdu::connect(1, 0, NQN, HOSTNQN, 0xFFFF, 0).to_bytes(Digests::default());
    let open = |w: &mut World, conn: u64, cut: usize| {
        let c = w.accept(conn);
        w.send(c, &pdu::icreq());
        w.input(Input::Bytes {
            conn: c,
            data: connect[..cut].to_vec(),
        });
        w.run_all();
        w.input(Input::PeerClosed { conn: c });
        w.run_all();
        c
    };
    let mid_data = open(&mut w, 1, connect.len() - 100);
    assert!(!w.closed(mid_data), "SPDK never closes it");
    assert_eq!(w.target.qpair_count(), 1, "the qpair stays");
    let mid_header = open(&mut w, 2, 5);
    assert!(
        w.closed(mid_header),
        "inside the common header: released, disconnected"
    );
    let between = open(&mut w, 3, 0);
    assert!(w.closed(between));
    assert_eq!(w.target.qpair_count(), 1, "only the stranded qpair is left");
    w.shutdown_and_check();
    assert_eq!(w.target.qpair_count(), 0, "target shutdown still frees it");
}

/// `_nvmf_ctrlr_add_io_qpair` (the subsystem thread's first look at an I/O CONNECT) refuses a
/// controller being destroyed or an admin qpair no longer active with
/// `SPDK_NVMF_INVALID_CONNECT_CMD(rsp, qid)`: INVALID PARAMETERS naming the command's QID
/// (offset 42, IATTR 0), not the data's cntlid (v24.01 and master).
#[test]
fn nvmf_ctrlr_add_io_qpair_refuses_an_inactive_admin_qpair_naming_the_qid() {
    let mut w = World::new(config());
    let (a, cqe) = w.connect_admin(1, HOSTNQN, 10_000);
    let cntlid = cqe.cdw0 as u16;
    w.send(a, &pdu::prop_set_cc(2, pdu::CC_ENABLE));
    w.run_all();
    let io = w.start_connect(2, HOSTNQN, cntlid, 1);
    assert_eq!(
        w.target.queued_messages(ThreadId::App),
        vec!["_nvmf_ctrlr_add_io_qpair"]
    );
    let ka = w
        .armed_timer(|t| matches!(t, Timer::KeepAlive { .. }))
        .expect("keep-alive poller");
    w.fire(ka);
    while w.run(ThreadId::PollGroup(0)) || w.run(ThreadId::PollGroup(1)) {}
    assert_eq!(
        w.target.queued_messages(ThreadId::App).first(),
        Some(&"_nvmf_ctrlr_add_io_qpair")
    );
    w.run(ThreadId::App);
    assert_eq!(
        w.marked(Mark::IoConnectRejected),
        1,
        "refused before the hop"
    );
    w.run_all();
    let r = w.responses(io);
    assert_eq!(
        (r[0].status, r[0].cdw0),
        (status::CONNECT_INVALID_PARAMETERS, 42)
    );
    w.shutdown_and_check();
}
