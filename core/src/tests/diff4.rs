//! Behaviours the differential replay on real SPDK showed the model lacked (docs/differential.md).

use crate::nvmf::{Mark, RpcRequest};
use crate::testkit::pdu;
use crate::testkit::{config, namespace, World, HOSTNQN, NQN};
use crate::wire::AsyncEvent;

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
