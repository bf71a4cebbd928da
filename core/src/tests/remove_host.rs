//! `nvmf_subsystem_remove_host`'s answer, per profile (host_wait.rs): v24.01 and v26.05 (as
//! modelled) answer after the disconnect walk; master answers when a 5 ms poll finds no
//! controller of the host left on the subsystem, or -ETIMEDOUT after 15 s. The poller's
//! context keeps a plain pointer to the subsystem (`subsystem.c:1412-1470`), so a delete that
//! frees the subsystem while the poller still waits makes the next poll read freed memory.

use crate::nvmf::{InvariantId, RpcRequest, Spdk, SubState, Timer};
use crate::testkit::{config_for, pdu, World, HOSTNQN, NQN};
use crate::time::Duration;

/// Adds `HOSTNQN` to the subsystem's hosts (so it can be removed) and connects it with an I/O
/// qpair that has a read its namespace has not completed.
fn host_with_a_read(w: &mut World) {
    let add = w.rpc(RpcRequest::AddHost {
        nqn: NQN.into(),
        hostnqn: HOSTNQN.into(),
    });
    assert!(w.rpc_ok(add));
    let (_, io) = w.enabled_with_io(HOSTNQN);
    w.send(io, &pdu::read(3, 1, 0, 1));
    w.run_threads();
}

fn remove_host(w: &mut World) -> crate::nvmf::RpcId {
    remove_host_within(w, 0)
}

fn remove_host_within(w: &mut World, timeout_ms: u64) -> crate::nvmf::RpcId {
    w.rpc(RpcRequest::RemoveHost {
        nqn: NQN.into(),
        hostnqn: HOSTNQN.into(),
        timeout_ms,
    })
}

/// master: polls every 5 ms until remove_host `id` is answered (or 20 s passed).
fn poll_until_answered(w: &mut World, id: crate::nvmf::RpcId) {
    while !w.rpc_results.contains_key(&id)
        && w.now < crate::time::Instant::ZERO + Duration::from_secs(20)
    {
        w.fire(Timer::DisconnectHost { rpc: id });
        w.run_threads();
    }
}

/// The walk disconnects the host's qpairs, but the I/O qpair (and so the controller) stays
/// until the read completes.
#[test]
fn remove_host_answers_after_the_walk_or_once_the_controllers_are_gone() {
    for (spdk, mut w) in World::per_profile(config_for) {
        host_with_a_read(&mut w);
        let id = remove_host(&mut w);
        w.run_threads();
        let waits = spdk == Spdk::Master;
        assert_eq!(
            w.rpc_ok(id),
            !waits,
            "{spdk}: answered by the walk {:?}",
            w.rpc_results
        );
        if waits {
            w.fire(Timer::DisconnectHost { rpc: id });
            w.run_threads();
            assert!(!w.rpc_ok(id), "the controller is still on the subsystem");
            assert_eq!(w.target.ctrlr_count(), 1);
            w.complete_device();
            w.run_all();
            assert_eq!(w.target.ctrlr_count(), 0);
            assert!(!w.rpc_ok(id), "only a poll answers");
            w.fire(Timer::DisconnectHost { rpc: id });
            assert!(w.rpc_ok(id), "no controller left at this poll");
        }
        assert!(w.violation().is_none(), "{spdk}: {:?}", w.violation());
        w.shutdown_and_check();
    }
}

/// master: a controller that outlives `NVMF_CTRLR_RESET_SHN_TIMEOUT_IN_MS` (its read never
/// completes) makes the RPC fail with -ETIMEDOUT, and the poller goes with its context.
#[test]
fn master_remove_host_times_out_after_15_s() {
    let mut w = World::new(config_for(Spdk::Master));
    host_with_a_read(&mut w);
    let id = remove_host(&mut w);
    w.run_threads();
    // Poll every 5 ms while the read (and so the controller) stays.
    poll_until_answered(&mut w, id);
    assert_eq!(w.target.ctrlr_count(), 1, "the controller stayed");
    assert!(
        w.now >= crate::time::Instant::ZERO + Duration::from_secs(15),
        "{}",
        w.now
    );
    let code = w.rpc_results[&id].as_ref().err().map(|e| e.code);
    assert_eq!(code, Some(-110), "{:?}", w.rpc_results[&id]);
    assert!(
        !w.target
            .armed_timers()
            .iter()
            .any(|(t, _)| matches!(t, Timer::DisconnectHost { .. })),
        "the poller is unregistered"
    );
    assert!(w.violation().is_none(), "{:?}", w.violation());
}

/// master: the RPC's `timeout_ms` replaces the 15 s default (`ctx->timeout_ms`, counted from
/// the poller's start), shorter or longer.
#[test]
fn master_remove_host_times_out_after_its_timeout_ms() {
    for ms in [40, 16_000] {
        let mut w = World::new(config_for(Spdk::Master));
        host_with_a_read(&mut w);
        let id = remove_host_within(&mut w, ms);
        w.run_threads();
        let started = w.now;
        poll_until_answered(&mut w, id);
        let waited = w.now.saturating_since(started);
        assert!(
            waited >= Duration::from_millis(ms) && waited <= Duration::from_millis(ms + 5),
            "timeout_ms {ms}: answered after {} ms",
            waited.as_millis()
        );
        let code = w.rpc_results[&id].as_ref().err().map(|e| e.code);
        assert_eq!(code, Some(-110), "{:?}", w.rpc_results[&id]);
        assert!(w.violation().is_none(), "{:?}", w.violation());
    }
}

/// master: remove_host, then delete the subsystem. The delete destroys the subsystem once the
/// host's controller is gone, before the remove_host poller's next 5 ms poll, which then reads
/// `ctx->subsystem` (`nvmf_subsystem_has_ctrlr`): freed memory. The releases answer remove_host
/// after its walk and have no poller.
#[test]
fn a_delete_during_master_remove_host_wait_leaves_the_poller_a_freed_subsystem() {
    for (spdk, mut w) in World::per_profile(config_for) {
        host_with_a_read(&mut w);
        let id = remove_host(&mut w);
        w.run_threads();
        let del = w.rpc(RpcRequest::DeleteSubsystem { nqn: NQN.into() });
        w.run_threads();
        w.complete_device();
        if spdk == Spdk::Master {
            w.expect_violation = true;
        }
        w.run_all();
        assert!(w.rpc_ok(del), "{spdk}: {:?}", w.rpc_results.get(&del));
        assert_eq!(w.target.subsystem_state(NQN), None::<SubState>, "{spdk}");
        if spdk != Spdk::Master {
            assert!(w.rpc_ok(id), "{spdk}");
            assert!(w.violation().is_none(), "{spdk}: {:?}", w.violation());
            continue;
        }
        assert!(!w.rpc_results.contains_key(&id), "still waiting");
        w.fire(Timer::DisconnectHost { rpc: id });
        let v = w.violation().expect("the poll reads the freed subsystem");
        assert_eq!(v.invariant, InvariantId::NoDanglingReference, "{v}");
        assert_eq!(v.site, "nvmf_subsystem_has_ctrlr", "{v}");
    }
}

/// `nvmf_subsystem_add_host` refuses a host NQN SPDK's `nvmf_nqn_is_valid` rejects (-EINVAL,
/// in every profile) and keeps the host list as it was; a valid one of either form is added.
#[test]
fn add_host_refuses_an_invalid_host_nqn_in_every_profile() {
    let add = |w: &mut World, hostnqn: &str| {
        w.rpc(RpcRequest::AddHost {
            nqn: NQN.into(),
            hostnqn: hostnqn.into(),
        })
    };
    for (spdk, mut w) in World::per_profile(config_for) {
        for bad in [
            "nqn.2014-08.org.nvmexpress:uuid:host1",
            "iqn.2016-06.io.spdk:host1",
            "bad nqn",
        ] {
            let id = add(&mut w, bad);
            let code = w.rpc_results[&id].as_ref().err().map(|e| e.code);
            assert_eq!(code, Some(-22), "{spdk}: {bad}: {:?}", w.rpc_results[&id]);
            let gone = w.rpc(RpcRequest::RemoveHost {
                nqn: NQN.into(),
                hostnqn: bad.into(),
                timeout_ms: 0,
            });
            let code = w.rpc_results[&gone].as_ref().err().map(|e| e.code);
            assert_eq!(code, Some(-2), "{spdk}: {bad} was not added");
        }
        for good in [HOSTNQN, "nqn.2016-06.io.spdk:host1"] {
            let id = add(&mut w, good);
            assert!(w.rpc_ok(id), "{spdk}: {good}: {:?}", w.rpc_results[&id]);
        }
        assert!(w.violation().is_none(), "{spdk}: {:?}", w.violation());
    }
}
