//! Catalogue issue I, scripted on the v24.01 profile: each switch breaks its invariant at its
//! SPDK site in the exact order, and the same order is clean with the switch off
//! (`spdk-2299-null`, `spdk-2299-precision`, `spdk-3100-deleted`, `spdk-3391`; `spdk-3095` is
//! swept by tests/random.rs and the simulator's long-pause scenario).

use crate::nvmf::{
    BugId, BugSet, InvariantId, QpairState, RpcRequest, RpcResponse, Spdk, SubState, TargetConfig,
};
use crate::testkit::pdu;
use crate::testkit::HOSTNQN;
use crate::testkit::{config, trid, World, NQN};

fn v24(bugs: &[BugId]) -> TargetConfig {
    let mut c = config();
    c.spdk = Spdk::V24_01;
    c.bugs = BugSet(bugs.iter().copied().collect());
    c
}

/// A connection that sent ICReq but no CONNECT (no controller yet), then
/// `stop_listen_async(T, S)` on every poll group.
fn stop_listen_filtered_with_a_fresh_qpair(bugs: &[BugId]) -> World {
    let mut w = World::new(v24(bugs));
    w.expect_violation = !bugs.is_empty();
    let c = w.accept(1);
    w.run_all();
    w.send(c, &pdu::icreq());
    w.run_all();
    w.embedder_listen();
    w.rpc(RpcRequest::StopListenAsync {
        trid: trid(),
        nqn: Some(NQN.into()),
    });
    w.run_all();
    w
}

#[test]
fn fixed_filter_leaves_a_qpair_without_controller_alone() {
    let mut w = stop_listen_filtered_with_a_fresh_qpair(&[]);
    assert_eq!(
        w.target.qpair_state(crate::nvmf::ConnId(1)),
        Some(QpairState::Enabled)
    );
    assert!(w.target.check_invariants().is_ok());
    w.shutdown_and_check();
}

#[test]
fn spdk_2299_null_dereferences_the_missing_controller() {
    let w = stop_listen_filtered_with_a_fresh_qpair(&[BugId::Spdk2299Null]);
    let v = w.violation().expect("the NULL controller is read");
    assert_eq!(
        (v.invariant, v.site.as_str()),
        (InvariantId::I1, "nvmf_stop_listen_disconnect_qpairs")
    );
    assert!(v.handles.iter().any(|h| h == "ctrlr NULL"), "{v}");
}

#[test]
fn spdk_2299_precision_disconnects_it_and_breaks_i11() {
    let w = stop_listen_filtered_with_a_fresh_qpair(&[BugId::Spdk2299Precision]);
    assert!(w.violation().is_none(), "no crash, a wrong disconnect");
    let v = w.target.check_invariants().expect_err("I11");
    assert_eq!(
        (v.invariant, v.site.as_str()),
        (InvariantId::I11, "nvmf_stop_listen_disconnect_qpairs")
    );
}

/// One connected host and one connection without a controller, then get_qpairs.
fn get_qpairs(bugs: &[BugId]) -> (World, crate::nvmf::RpcId) {
    let mut w = World::new(v24(bugs));
    w.expect_violation = !bugs.is_empty();
    w.connect_enabled(1, HOSTNQN);
    let c = w.accept(2);
    w.run_all();
    w.send(c, &pdu::icreq());
    w.run_all();
    let id = w.rpc(RpcRequest::GetQpairs { nqn: NQN.into() });
    w.run_all();
    (w, id)
}

#[test]
fn get_qpairs_lists_the_controllers_qpairs_and_resumes() {
    let (mut w, id) = get_qpairs(&[]);
    let Some(Ok(RpcResponse::Qpairs(qs))) = w.rpc_results.get(&id) else {
        panic!("{:?}", w.rpc_results.get(&id))
    };
    assert_eq!(
        qs.len(),
        1,
        "the admin qpair, not the fresh connection: {qs:?}"
    );
    assert_eq!(w.target.subsystem_state(NQN), Some(SubState::Active));
    w.shutdown_and_check();
}

#[test]
fn spdk_3391_get_qpairs_dereferences_the_missing_controller() {
    let (w, _) = get_qpairs(&[BugId::Spdk3391]);
    let v = w.violation().expect("the NULL controller is read");
    assert_eq!(
        (v.invariant, v.site.as_str()),
        (InvariantId::I1, "rpc_nvmf_get_qpairs")
    );
}

/// v24.01 as released (retry parking): an admin CONNECT parks while the subsystem pauses; the
/// subsystem is deleted; the retry poller's next tick runs `retry_connect`.
fn retry_after_delete(bugs: &[BugId]) -> (World, crate::nvmf::ConnId) {
    let mut all = vec![BugId::Spdk3095];
    all.extend_from_slice(bugs);
    let mut w = World::new(v24(&all));
    w.expect_violation = !bugs.is_empty();
    let c = w.accept(1);
    w.run_all();
    w.send(c, &pdu::icreq());
    w.rpc(RpcRequest::PauseSubsystem {
        nqn: NQN.into(),
        nsid: 0,
    });
    w.send(c, &pdu::connect(1, 0, NQN, HOSTNQN, 0xFFFF, 0));
    w.run_all();
    let del = w.rpc(RpcRequest::DeleteSubsystem { nqn: NQN.into() });
    w.run_all();
    assert!(w.rpc_ok(del), "deleted while the CONNECT is parked");
    assert_eq!(w.target.subsystem_state(NQN), None);
    w.fire_next_timer();
    w.run_all();
    (w, c)
}

#[test]
fn retry_connect_answers_subsystem_not_found_after_a_delete() {
    let (mut w, c) = retry_after_delete(&[]);
    let rsp = w.responses(c);
    assert_eq!(rsp.len(), 1);
    assert!(!rsp[0].status.is_success());
    assert!(w.violation().is_none());
}

#[test]
fn spdk_3100_deleted_writes_through_the_null_sgroup() {
    let (w, _) = retry_after_delete(&[BugId::Spdk3100Deleted]);
    let v = w
        .violation()
        .expect("retry_connect reads the deleted subsystem's sgroup");
    assert_eq!(
        (v.invariant, v.site.as_str()),
        (InvariantId::I1, "retry_connect")
    );
}
