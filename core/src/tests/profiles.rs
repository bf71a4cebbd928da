//! One test per SPDK behaviour the version profiles pin (docs/spdk-profiles.md), named after
//! the behaviour, plus the two latent false alarms of the core before the profiles. Each was
//! written first and seen failing on the old core.

use crate::nvmf::{
    BugId, Input, Mark, QpairState, RpcRequest, Spdk, SubState, TargetConfig, ThreadId, Timer,
};
use crate::testkit::{config_for, namespace, pdu, trid, World, HOSTNQN, HOSTNQN_B, NQN, NS_BLOCKS};
use crate::time::Duration;
use crate::wire::{feature, status, Cqe};

/// `config_for(spdk)` with a second namespace (nsid 2).
fn two_ns_config(spdk: Spdk) -> TargetConfig {
    let mut cfg = config_for(spdk);
    cfg.subsystems[0].namespaces.push(namespace(2, NS_BLOCKS));
    cfg
}

/// `config_for(spdk)` whose subsystem has a single cntlid.
fn one_cntlid(spdk: Spdk) -> TargetConfig {
    let mut cfg = config_for(spdk);
    cfg.subsystems[0].max_cntlid = 1;
    cfg
}

/// `cfg` with SPDK #3738 switched back on.
fn with_3738(mut cfg: TargetConfig) -> TargetConfig {
    cfg.bugs.0.insert(BugId::Spdk3738);
    cfg
}

fn statuses(cqes: &[Cqe]) -> Vec<(u16, crate::wire::Status)> {
    cqes.iter().map(|c| (c.cid, c.status)).collect()
}

#[test]
fn connect_reruns_while_qpair_has_no_ctrlr() {
    for (spdk, mut w) in World::per_profile(one_cntlid) {
        let (a, ok) = w.connect_admin(1, HOSTNQN, 0);
        assert!(ok.status.is_success());
        let (b, full) = w.connect_admin(2, HOSTNQN_B, 0);
        assert_eq!(full.status, status::INTERNAL_DEVICE_ERROR, "{spdk}");
        w.input(Input::PeerClosed { conn: a });
        w.run_all();
        assert_eq!(w.target.ctrlr_count(), 0);
        // qpair->ctrlr is NULL again: SPDK runs the CONNECT handler a second time.
        w.send(b, &pdu::connect(2, 0, NQN, HOSTNQN_B, 0xFFFF, 0));
        w.run_all();
        let r = w.responses(b);
        assert!(r[0].status.is_success(), "{spdk}: {r:?}");
        w.shutdown_and_check();
    }
}

#[test]
fn connect_on_established_qpair_is_invalid_opcode() {
    for (_, mut w) in World::per_profile(config_for) {
        let (admin, io) = w.enabled_with_io(HOSTNQN);
        w.send(admin, &pdu::connect(7, 0, NQN, HOSTNQN, 0xFFFF, 0));
        w.send(io, &pdu::connect(8, 1, NQN, HOSTNQN, 1, 0));
        w.run_all();
        assert_eq!(
            statuses(&w.responses(admin)),
            vec![(7, status::INVALID_OPCODE)]
        );
        assert_eq!(
            statuses(&w.responses(io)),
            vec![(8, status::INVALID_OPCODE)]
        );
        w.shutdown_and_check();
    }
}

#[test]
fn pause_nsid_0_leaves_namespace_io_flowing() {
    for (spdk, mut w) in World::per_profile(config_for) {
        let (_, io) = w.enabled_with_io(HOSTNQN);
        w.pause(0);
        assert_eq!(w.target.subsystem_state(NQN), Some(SubState::Paused));
        w.send(io, &pdu::read(3, 1, 0, 1));
        w.run_all();
        let r = w.responses(io);
        assert_eq!(statuses(&r), vec![(3, status::SUCCESS)], "{spdk}");
        w.resume();
        w.shutdown_and_check();
    }
}

#[test]
fn io_gated_on_namespace_state_not_sgroup_state() {
    for (_, mut w) in World::per_profile(two_ns_config) {
        let (_, io) = w.enabled_with_io(HOSTNQN);
        w.pause(1);
        w.send(io, &pdu::read(3, 1, 0, 1));
        w.send(io, &pdu::read(4, 2, 0, 1));
        w.run_all();
        assert_eq!(statuses(&w.responses(io)), vec![(4, status::SUCCESS)]);
        w.resume();
        assert_eq!(statuses(&w.responses(io)), vec![(3, status::SUCCESS)]);
        w.shutdown_and_check();
    }
}

/// d123762feb: a namespace pause on an already PAUSED group drains that namespace.
#[test]
fn second_namespace_pause_drains_its_io() {
    for (spdk, bug) in Spdk::ALL.into_iter().flat_map(|p| [(p, false), (p, true)]) {
        let mut cfg = two_ns_config(spdk);
        if bug {
            cfg.bugs.0.insert(BugId::Spdk3738);
        }
        let mut w = World::new(cfg);
        let (_, io) = w.enabled_with_io(HOSTNQN);
        w.send(io, &pdu::read(3, 2, 0, 1));
        w.run_threads();
        assert_eq!(w.target.pending_device_ios().len(), 1);
        let p1 = w.rpc(RpcRequest::PauseSubsystem {
            nqn: NQN.into(),
            nsid: 1,
        });
        w.run_threads();
        assert!(w.rpc_ok(p1), "ns 1 has no I/O: paused at once");
        let p2 = w.rpc(RpcRequest::PauseSubsystem {
            nqn: NQN.into(),
            nsid: 2,
        });
        w.run_threads();
        assert_eq!(
            w.rpc_ok(p2),
            bug,
            "{spdk}: answered before ns 2 drained: {bug}"
        );
        w.complete_device();
        assert!(w.rpc_ok(p2));
        assert_eq!(statuses(&w.responses(io)), vec![(3, status::SUCCESS)]);
        w.resume();
        w.shutdown_and_check();
    }
}

/// The old core dropped ns 2's counter on resume while its read was in flight (I7).
#[test]
fn two_namespace_removes_with_io_in_flight_stay_silent() {
    for (spdk, mut w) in World::per_profile(two_ns_config) {
        let (_, io) = w.enabled_with_io(HOSTNQN);
        w.send(io, &pdu::read(3, 2, 0, 1));
        w.run_threads();
        let r1 = w.rpc(RpcRequest::RemoveNamespace {
            nqn: NQN.into(),
            nsid: 1,
        });
        let r2 = w.rpc(RpcRequest::RemoveNamespace {
            nqn: NQN.into(),
            nsid: 2,
        });
        w.run_threads();
        w.complete_device();
        assert!(w.rpc_ok(r1), "{spdk}: {:?}", w.rpc_results);
        // v24.01 refuses the second remove's pause with -EBUSY (no queue); master queues it.
        match spdk {
            Spdk::V26_05 | Spdk::Master => assert!(w.rpc_ok(r2), "{:?}", w.rpc_results),
            Spdk::V24_01 => {
                assert_eq!(w.rpc_results[&r2].as_ref().err().map(|e| e.code), Some(-16))
            }
        }
        assert_eq!(statuses(&w.responses(io)), vec![(3, status::SUCCESS)]);
        w.shutdown_and_check();
    }
}

/// With SPDK #3738 switched back on, the same story breaks I7 where SPDK asserts (master,
/// which queues the second remove; v24.01's window is in `profiles_v2401.rs`).
#[test]
fn spdk_3738_drops_the_counter_under_in_flight_io() {
    {
        let (spdk, mut w) = (
            Spdk::Master,
            World::new(with_3738(two_ns_config(Spdk::Master))),
        );
        w.expect_violation = true;
        let (_, io) = w.enabled_with_io(HOSTNQN);
        w.send(io, &pdu::read(3, 2, 0, 1));
        w.run_threads();
        for nsid in [1, 2] {
            w.rpc(RpcRequest::RemoveNamespace {
                nqn: NQN.into(),
                nsid,
            });
        }
        w.run_threads();
        w.complete_device();
        let v = w.violation().expect("I7 reported");
        assert_eq!(v.invariant, crate::nvmf::InvariantId::I7, "{spdk}: {v}");
        assert_eq!(v.site, "_nvmf_request_complete");
    }
}

/// The old core ran a resume queued behind a delete on the freed subsystem (I1).
#[test]
fn delete_then_queued_resume_stays_silent() {
    for (spdk, mut w) in World::per_profile(config_for) {
        w.pause(0);
        let del = w.rpc(RpcRequest::DeleteSubsystem { nqn: NQN.into() });
        let res = w.rpc(RpcRequest::ResumeSubsystem { nqn: NQN.into() });
        w.run_all();
        assert!(w.rpc_ok(del), "{spdk}");
        let code = w.rpc_results[&res].as_ref().map_err(|e| e.code).err();
        let want = if spdk != Spdk::V24_01 { -19 } else { -16 };
        assert_eq!(
            code,
            Some(want),
            "{spdk}: ENODEV (v26.05, master) / EBUSY (v24.01)"
        );
        assert_eq!(w.target.subsystem_count(), 0);
        w.shutdown_and_check();
    }
}

#[test]
fn stale_queued_requests_are_not_answered() {
    for (spdk, mut w) in World::per_profile(config_for) {
        w.pause(0);
        let c = w.start_connect(1, HOSTNQN, 0xFFFF, 0);
        w.run_all();
        w.rpc_now(RpcRequest::StopSubsystem { nqn: NQN.into() });
        assert!(w.responses(c).is_empty(), "{spdk}: no ABORTED on remove");
        w.rpc_now(RpcRequest::StartSubsystem { nqn: NQN.into() });
        assert!(w.responses(c).is_empty(), "{spdk}: not replayed on add");
        let report = w.target.quiescence_report();
        assert!(
            report.stuck.iter().any(|s| s.contains("never answered")),
            "{spdk}: the liveness report names the lost answer: {report:?}"
        );
        w.input(Input::PeerClosed { conn: c });
        let id = w.rpc(RpcRequest::Shutdown);
        w.settle_until(w.now + Duration::from_secs(200));
        assert!(w.rpc_ok(id) && w.target.request_count() == 0);
        let stuck = w.target.quiescence_report().stuck;
        assert_eq!(stuck.len(), 1, "{spdk}: only the lost answer: {stuck:?}");
    }
}

#[test]
fn cc_timeout_reads_admin_qpair() {
    let mut w = World::new(config_for(Spdk::Master));
    let (admin, io) = w.enabled_with_io(HOSTNQN);
    w.send(io, &pdu::read(3, 1, 0, 1));
    w.run_threads();
    w.send(admin, &pdu::prop_set_cc(4, 0));
    w.run_threads();
    w.skip(Duration::from_secs(10));
    let timer = w
        .armed_timer(|t| matches!(t, Timer::CcTimeout { .. }))
        .expect("CC timeout armed");
    w.fire(timer);
    assert_eq!(w.marked(Mark::CcTimeoutReset), 1, "namespace reset issued");
    w.complete_device();
    w.shutdown_and_check();
}

#[test]
fn cc_timeout_without_admin_qpair_does_nothing() {
    let mut w = World::new(config_for(Spdk::Master));
    let (admin, io) = w.enabled_with_io(HOSTNQN);
    w.send(io, &pdu::read(3, 1, 0, 1));
    w.run_threads();
    w.send(admin, &pdu::prop_set_cc(4, 0));
    w.run_threads();
    w.input(Input::PeerClosed { conn: admin });
    w.run_threads();
    let timer = w
        .armed_timer(|t| matches!(t, Timer::CcTimeout { .. }))
        .expect("CC timeout armed");
    w.fire(timer);
    assert_eq!(
        w.marked(Mark::CcTimeoutReset),
        0,
        "admin qpair gone: notice only"
    );
    w.complete_device();
    w.shutdown_and_check();
}

#[test]
fn admin_and_io_commands_need_cc_en() {
    for (spdk, mut w) in World::per_profile(config_for) {
        let (admin, cqe) = w.connect_admin(1, HOSTNQN, 0);
        assert!(cqe.status.is_success());
        w.send(admin, &pdu::identify(2, 1, 0));
        w.send(admin, &pdu::prop_get(3, crate::wire::prop::CSTS));
        w.run_all();
        assert_eq!(
            statuses(&w.responses(admin)),
            vec![(2, status::COMMAND_SEQUENCE_ERROR), (3, status::SUCCESS)],
            "{spdk}: admin commands need CC.EN, fabrics commands do not"
        );
        let (io, cqe) = w.connect_io(2, HOSTNQN, cqe.cdw0 as u16, 1);
        assert_eq!(cqe.status, status::CONNECT_INVALID_PARAMETERS, "{spdk}");
        let _ = io;
        w.shutdown_and_check();
    }
}

#[test]
fn io_command_after_cc_disable_is_sequence_error() {
    for (spdk, mut w) in World::per_profile(config_for) {
        let (admin, io) = w.enabled_with_io(HOSTNQN);
        w.send(admin, &pdu::prop_set_cc(4, 0));
        // EN is 0 at once; the I/O qpairs' disconnect fan-out has not run yet.
        w.send(io, &pdu::read(5, 1, 0, 1));
        let r = w.responses(io);
        assert_eq!(
            statuses(&r),
            vec![(5, status::COMMAND_SEQUENCE_ERROR)],
            "{spdk}"
        );
        w.run_all();
        w.shutdown_and_check();
    }
}

#[test]
fn reused_cntlid_keeps_new_ctrlr_timers() {
    let mut w = World::new(one_cntlid(Spdk::Master));
    let (admin, io) = w.enabled_with_io(HOSTNQN);
    w.send(io, &pdu::read(3, 1, 0, 1));
    w.run_threads();
    // CC reset while the read is at the device: the reset re-polls every 100 ms.
    w.send(admin, &pdu::prop_set_cc(4, 0));
    w.run_threads();
    assert_eq!(w.marked(Mark::CcRepolled), 1);
    w.input(Input::PeerClosed { conn: admin });
    w.complete_device();
    // The old controller left the subsystem (cntlid 1 is free) but spins in its destruct.
    assert_eq!(w.target.ctrlr_count(), 1);
    let (b, cntlid) = w.connect_enabled(10, HOSTNQN_B);
    assert_eq!(cntlid, 1, "cntlid reused");
    w.settle_until(w.now + Duration::from_millis(200));
    assert_eq!(
        w.target.ctrlr_count(),
        1,
        "old controller destructed, new one alive"
    );
    w.send(b, &pdu::prop_get(11, crate::wire::prop::CSTS));
    w.run_all();
    let csts = w.responses(b)[0].cdw0;
    assert_eq!(
        csts & 1,
        1,
        "the old controller's re-poll did not reset the new one"
    );
    w.shutdown_and_check();
}

#[test]
fn no_response_pdu_on_deactivating_qpair() {
    for (spdk, mut w) in World::per_profile(config_for) {
        let (_, io) = w.enabled_with_io(HOSTNQN);
        w.send(io, &pdu::read(3, 1, 0, 1));
        w.run_threads();
        let id = w.rpc(RpcRequest::DisconnectQpair { conn: io });
        w.run_threads();
        assert_eq!(w.target.qpair_state(io), Some(QpairState::Deactivating));
        w.complete_device();
        assert!(w.rpc_ok(id));
        assert!(
            w.responses(io).is_empty(),
            "{spdk}: completed without a PDU"
        );
        w.shutdown_and_check();
    }
}

#[test]
fn aer_completes_most_recent_first() {
    for (spdk, mut w) in World::per_profile(config_for) {
        let (admin, _) = w.connect_enabled(1, HOSTNQN);
        w.send(admin, &pdu::aer(20));
        w.send(admin, &pdu::aer(21));
        w.run_all();
        w.rpc_now(RpcRequest::AddNamespace {
            nqn: NQN.into(),
            ns: namespace(3, 8),
        });
        let r = w.responses(admin);
        assert_eq!(
            r.iter().map(|c| c.cid).collect::<Vec<_>>(),
            vec![21],
            "{spdk}"
        );
        w.shutdown_and_check();
    }
}

#[test]
fn aec_has_ns_attr_notice_at_creation() {
    for (spdk, mut w) in World::per_profile(config_for) {
        let (admin, _) = w.connect_enabled(1, HOSTNQN);
        w.send(admin, &pdu::get_features(5, feature::ASYNC_EVENT_CONFIG));
        w.run_all();
        let r = w.responses(admin);
        assert_eq!(r[0].cdw0 & (1 << 8), 1 << 8, "{spdk}");
        w.shutdown_and_check();
    }
}

#[test]
fn kato_rounds_up_to_kas_units() {
    for (spdk, mut w) in World::per_profile(config_for) {
        let (admin, cqe) = w.connect_admin(1, HOSTNQN, 15_000);
        assert!(cqe.status.is_success());
        w.send(admin, &pdu::prop_set_cc(2, pdu::CC_ENABLE));
        w.send(admin, &pdu::get_features(3, feature::KEEP_ALIVE_TIMER));
        w.send(
            admin,
            &pdu::set_features(4, feature::KEEP_ALIVE_TIMER, 20_001),
        );
        w.send(admin, &pdu::get_features(5, feature::KEEP_ALIVE_TIMER));
        w.run_all();
        let r = w.responses(admin);
        assert_eq!(r[1].cdw0, 20_000, "{spdk}: CONNECT KATO 15 s -> 20 s");
        assert_eq!(r[3].cdw0, 30_000, "{spdk}: Set Features 20.001 s -> 30 s");
        w.shutdown_and_check();
    }
}

#[test]
fn v24_01_admits_commands_before_connect() {
    for (spdk, mut w) in World::per_profile(config_for) {
        let c = w.accept(1);
        w.run_all();
        let want = if spdk == Spdk::V24_01 {
            QpairState::Enabled
        } else {
            QpairState::Connecting
        };
        assert_eq!(w.target.qpair_state(c), Some(want), "{spdk}");
        w.send(c, &pdu::icreq());
        w.send(c, &pdu::keep_alive(1));
        w.run_all();
        let r = w.responses(c);
        assert_eq!(statuses(&r), vec![(1, status::COMMAND_SEQUENCE_ERROR)]);
        w.shutdown_and_check();
    }
}

#[test]
fn v24_01_answers_connect_on_the_ctrlr_thread() {
    for (spdk, mut w) in World::per_profile(config_for) {
        let (_, cntlid) = w.connect_enabled(1, HOSTNQN);
        let c = w.start_connect(2, HOSTNQN, cntlid, 1);
        let pg = w.target.qpair_thread(c).expect("I/O qpair");
        let mut seen = Vec::new();
        while let Some(t) = [
            ThreadId::App,
            ThreadId::PollGroup(0),
            ThreadId::PollGroup(1),
        ]
        .into_iter()
        .find(|t| w.target.queue_len(*t) > 0)
        {
            w.run(t);
            seen.extend(w.target.queued_messages(pg));
        }
        let want = if spdk != Spdk::V24_01 {
            "nvmf_ctrlr_send_connect_rsp"
        } else {
            "_nvmf_request_complete"
        };
        assert!(seen.contains(&want), "{spdk}: {seen:?}");
        assert!(w.responses(c)[0].status.is_success());
        w.shutdown_and_check();
    }
}

#[test]
fn v24_01_stop_listen_repolls_until_qpairs_gone() {
    for (spdk, mut w) in World::per_profile(config_for) {
        let (_, io) = w.enabled_with_io(HOSTNQN);
        w.send(io, &pdu::read(3, 1, 0, 1));
        w.run_threads();
        w.embedder_listen();
        let id = w.rpc(RpcRequest::StopListenAsync {
            trid: trid(),
            nqn: None,
        });
        w.run_threads();
        // master continues the fan-out at once; v24.01 re-polls the group until the
        // disconnected qpairs are gone (here: until the read completes).
        assert_eq!(w.rpc_ok(id), spdk != Spdk::V24_01, "{spdk}");
        w.complete_device();
        assert!(w.rpc_ok(id));
        w.shutdown_and_check();
    }
}

#[test]
fn duplicate_io_qid_retries_once_then_fails() {
    for (spdk, mut w) in World::per_profile(config_for) {
        let (_, cntlid) = w.connect_enabled(1, HOSTNQN);
        let (_, ok) = w.connect_io(2, HOSTNQN, cntlid, 1);
        assert!(ok.status.is_success());
        let c = w.start_connect(3, HOSTNQN, cntlid, 1);
        w.run_all();
        assert!(
            w.responses(c).is_empty(),
            "{spdk}: parked in qpair->connect_req"
        );
        w.fire_next_timer();
        w.run_all();
        let r = w.responses(c);
        assert_eq!(r[0].status, status::INVALID_QUEUE_IDENTIFIER, "{spdk}");
        w.shutdown_and_check();
    }
}

#[test]
fn duplicate_io_qid_succeeds_once_the_old_qpair_is_gone() {
    for (spdk, mut w) in World::per_profile(config_for) {
        let (_, cntlid) = w.connect_enabled(1, HOSTNQN);
        let (old, ok) = w.connect_io(2, HOSTNQN, cntlid, 1);
        assert!(ok.status.is_success());
        let c = w.start_connect(3, HOSTNQN, cntlid, 1);
        w.run_all();
        w.input(Input::PeerClosed { conn: old });
        w.run_all();
        w.fire_next_timer();
        w.run_all();
        assert!(w.responses(c)[0].status.is_success(), "{spdk}");
        w.shutdown_and_check();
    }
}
