//! Catalogue issue II, scripted on the v24.01 profile: SPDK's behaviour on the fixed core (a
//! stop of a PAUSED subsystem, a delete waiting for its controllers, the AER counter offset
//! and the completion-side recomputation of the sgroup counters, S4) and each switch breaking
//! its invariant at its SPDK site in the same order.

use crate::nvmf::{
    BugId, BugSet, Input, InvariantId, Mark, RpcRequest, Spdk, SubState, TargetConfig, ThreadId,
};
use crate::testkit::{config, pdu, World, HOSTNQN, NQN};
use crate::wire::status;

fn cfg(spdk: Spdk, bugs: &[BugId]) -> TargetConfig {
    let mut c = config();
    c.spdk = spdk;
    c.bugs = BugSet(bugs.iter().copied().collect());
    c
}

fn pause(w: &mut World) -> crate::nvmf::RpcId {
    let id = w.rpc(RpcRequest::PauseSubsystem {
        nqn: NQN.into(),
        nsid: 0,
    });
    w.run_all();
    id
}

/// Pause, then stop: the fixed `nvmf_subsystem_set_state` has the PAUSED -> DEACTIVATING edge.
#[test]
fn a_paused_subsystem_stops_in_both_profiles() {
    for spdk in Spdk::ALL {
        let mut w = World::new(cfg(spdk, &[]));
        w.connect_enabled(1, HOSTNQN);
        let p = pause(&mut w);
        assert!(w.rpc_ok(p), "{spdk}");
        let s = w.rpc(RpcRequest::StopSubsystem { nqn: NQN.into() });
        w.run_all();
        assert!(w.rpc_ok(s), "{spdk}: {:?}", w.rpc_results.get(&s));
        assert_eq!(w.target.subsystem_state(NQN), Some(SubState::Inactive));
        assert_eq!(w.marked(Mark::StoppedWhilePaused), 1, "{spdk}");
        w.shutdown_and_check();
    }
}

#[test]
fn spdk_paused_deactivate_fails_the_cas_of_a_paused_stop() {
    let mut w = World::new(cfg(Spdk::V24_01, &[BugId::SpdkPausedDeactivate]));
    w.expect_violation = true;
    w.connect_enabled(1, HOSTNQN);
    pause(&mut w);
    assert!(w.violation().is_none(), "pausing is fine");
    w.rpc(RpcRequest::StopSubsystem { nqn: NQN.into() });
    w.run_all();
    let v = w.violation().expect("the CAS assert");
    assert_eq!(
        (v.invariant, v.site.as_str()),
        (InvariantId::I10, "nvmf_subsystem_set_state")
    );
}

/// A connected host, then `nvmf_delete_subsystem`: the stop ends once the qpairs left their
/// groups, and `_nvmf_subsystem_destroy` meets the controller whose destruct is in flight.
fn delete_connected(bugs: &[BugId]) -> (World, crate::nvmf::RpcId) {
    let mut w = World::new(cfg(Spdk::V24_01, bugs));
    w.expect_violation = !bugs.is_empty();
    w.connect_enabled(1, HOSTNQN);
    let id = w.rpc(RpcRequest::DeleteSubsystem { nqn: NQN.into() });
    app_first(&mut w);
    w.run_all();
    (w, id)
}

/// Runs thread messages, the app (subsystem) thread's first whenever it has one and pg0's
/// (the host's qpairs and its controller thread) last: the stop completes and the destroy
/// runs before the controller's teardown messages on pg0 do.
fn app_first(w: &mut World) {
    loop {
        let runs: Vec<Input> = w
            .target
            .enabled_events()
            .into_iter()
            .map(|e| e.input)
            .filter(|i| matches!(i, Input::Run(_)))
            .collect();
        let app = runs.iter().find(|i| matches!(i, Input::Run(ThreadId::App)));
        let not_pg0 = runs
            .iter()
            .find(|i| !matches!(i, Input::Run(ThreadId::PollGroup(0))));
        match app.or(not_pg0).or(runs.first()) {
            Some(i) => w.input(i.clone()),
            None => return,
        }
        if w.violation().is_some() {
            return;
        }
    }
}

#[test]
fn delete_waits_for_the_controllers_last_qpair_teardown() {
    let (mut w, id) = delete_connected(&[]);
    assert!(w.rpc_ok(id), "{:?}", w.rpc_results.get(&id));
    assert!(w.marked(Mark::DestroyWaitedForCtrlrs) > 0);
    assert_eq!(w.marked(Mark::CtrlrDestroyed), 1);
    assert_eq!(w.target.subsystem_state(NQN), None);
    w.shutdown_and_check();
}

#[test]
fn spdk_double_destruct_destructs_a_controller_in_teardown() {
    let (w, _) = delete_connected(&[BugId::SpdkDoubleDestruct]);
    let v = w.violation().expect("a second destruct");
    assert_eq!(
        (v.invariant, v.site.as_str()),
        (InvariantId::I3, "_nvmf_subsystem_destroy")
    );
}

/// Five AERs (the fifth over SPDK's limit of 4), a pending namespace notice answered by a
/// new AER at once, and an AER while CC.EN = 0; then a pause, which must complete.
fn aers_then_pause(bugs: &[BugId], disabled: bool) -> World {
    let mut w = World::new(cfg(Spdk::V24_01, bugs));
    w.expect_violation = !bugs.is_empty();
    let c = if disabled {
        let (c, cqe) = w.connect_admin(1, HOSTNQN, 0);
        assert!(cqe.status.is_success());
        c
    } else {
        w.connect_enabled(1, HOSTNQN).0
    };
    for cid in 10..15 {
        w.send(c, &pdu::aer(cid));
    }
    w.run_all();
    let p = pause(&mut w);
    if w.violation().is_none() {
        assert!(
            w.rpc_ok(p),
            "the pause completes: {:?}",
            w.rpc_results.get(&p)
        );
    }
    w
}

#[test]
fn aers_answered_at_once_do_not_hold_the_pause() {
    let mut w = aers_then_pause(&[], false);
    assert_eq!(w.marked(Mark::AerLimitExceeded), 1);
    let r = w.responses(crate::nvmf::ConnId(1));
    assert!(r
        .iter()
        .any(|c| c.status == status::ASYNC_EVENT_LIMIT_EXCEEDED));
    w.shutdown_and_check();
    let mut w = aers_then_pause(&[], true);
    assert_eq!(w.marked(Mark::AerWhileDisabled), 5);
    w.shutdown_and_check();
}

#[test]
fn spdk_1552_the_limit_answer_keeps_its_count() {
    let w = aers_then_pause(&[BugId::Spdk1552], false);
    let v = w.violation().expect("the count is kept");
    assert_eq!(
        (v.invariant, v.site.as_str()),
        (InvariantId::I7, "_nvmf_request_complete")
    );
}

#[test]
fn spdk_2215_the_disabled_answer_keeps_its_count() {
    let w = aers_then_pause(&[BugId::Spdk2215], false);
    assert!(
        w.violation().is_none(),
        "the limit answer is offset since 43ad7febb2"
    );
    let w = aers_then_pause(&[BugId::Spdk2215], true);
    let v = w.violation().expect("the count is kept");
    assert_eq!(
        (v.invariant, v.site.as_str()),
        (InvariantId::I7, "_nvmf_request_complete")
    );
}

/// The core's random schedules (tests/random.rs) reach an admin AER that meets a qpair that
/// is not active (in the master profile: an AER racing its CONNECT's response, the qpair
/// still CONNECTING with its controller bound); with the switch on its count is kept.
#[test]
fn random_schedules_find_spdk_aer_inactive_qpair_with_the_switch_on() {
    let mut found = 0;
    for seed in 0..150 {
        let w = super::random::run(seed, cfg(Spdk::Master, &[BugId::SpdkAerInactiveQpair]));
        if let Some(v) = w.violation() {
            assert_eq!(
                (v.invariant, v.site.as_str()),
                (InvariantId::I7, "_nvmf_request_complete"),
                "seed {seed}: {v}"
            );
            found += 1;
        }
    }
    assert!(found > 0, "never found in 150 random schedules");
}
