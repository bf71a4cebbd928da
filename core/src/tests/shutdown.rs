//! Whole-target shutdown as nvmf_tgt's FINI states run it in each profile (shutdown.rs): when
//! the listen sockets close, that the poll groups are destroyed all at once, that a delete
//! drops its listeners' references, and `spdk-3273` (v24.01 as released keeps accepting while
//! it destroys the poll groups), and v21.01's shapes of `spdk-1850`.

use crate::nvmf::{BugId, BugSet, InvariantId, RpcRequest, Spdk, TargetConfig, ThreadId};
use crate::testkit::{config, pdu, World, HOSTNQN, NQN};

fn cfg(spdk: Spdk, bugs: &[BugId]) -> TargetConfig {
    let mut c = config();
    c.spdk = spdk;
    c.bugs = BugSet(bugs.iter().copied().collect());
    c
}

/// Whether a connection made right after the shutdown RPC (before any thread message ran)
/// is accepted.
fn accepted_right_after_shutdown(spdk: Spdk, bugs: &[BugId]) -> bool {
    let mut w = World::new(cfg(spdk, bugs));
    w.rpc(RpcRequest::Shutdown);
    let conn = w.accept(50);
    !w.closed(conn)
}

/// v24.01 with 2cbc8aec37 (the profile with the switch off) stops listening before anything
/// else; v24.01 as released (`spdk-3273`) and master (which stops the subsystems first,
/// f5bebba058) still accept at that point.
#[test]
fn nvmf_tgt_stop_listen_comes_first_only_in_v24_01_with_the_fix() {
    assert!(!accepted_right_after_shutdown(Spdk::V24_01, &[]));
    assert!(accepted_right_after_shutdown(
        Spdk::V24_01,
        &[BugId::Spdk3273]
    ));
    assert!(accepted_right_after_shutdown(Spdk::Master, &[]));
}

/// Once the shutdown is done, every profile has closed its listen sockets.
#[test]
fn a_finished_shutdown_accepts_nothing() {
    for spdk in Spdk::ALL {
        let mut w = World::new(cfg(spdk, &[]));
        w.shutdown_and_check();
        let conn = w.accept(50);
        assert!(w.closed(conn), "{spdk}");
    }
}

/// `nvmf_tgt_destroy_poll_groups` sends `nvmf_tgt_destroy_poll_group` to every poll group
/// thread in one go: when the first group has it queued, so has every other.
#[test]
fn nvmf_tgt_destroys_every_poll_group_at_once() {
    for spdk in Spdk::ALL {
        let mut w = World::new(cfg(spdk, &[]));
        w.rpc(RpcRequest::Shutdown);
        let pgs: Vec<ThreadId> = (0..w.target.config().poll_groups)
            .map(ThreadId::PollGroup)
            .collect();
        assert!(pgs.len() > 1, "the fixture has several poll groups");
        let queued = |w: &World, t: ThreadId| {
            w.target
                .queued_messages(t)
                .contains(&"nvmf_tgt_destroy_poll_group")
        };
        let mut steps = 0;
        while !pgs.iter().any(|t| queued(&w, *t)) {
            let next = std::iter::once(ThreadId::App)
                .chain(pgs.iter().copied())
                .find(|t| w.target.queue_len(*t) > 0)
                .expect("the shutdown reaches DESTROY_POLL_GROUPS");
            w.run(next);
            steps += 1;
            assert!(steps < 1000, "{spdk}: no progress");
        }
        for t in &pgs {
            assert!(queued(&w, *t), "{spdk}: {t} has no destroy queued");
        }
    }
}

/// `rpc_nvmf_subsystem_stopped` removes the subsystem's listeners with stop
/// (`nvmf_subsystem_remove_all_listeners(subsystem, true)`): a port only that subsystem
/// listened on is closed by the delete.
#[test]
fn nvmf_delete_subsystem_stops_its_listeners() {
    for spdk in Spdk::ALL {
        // No discovery listener on the port: the subsystem's is its only reference.
        let mut c = cfg(spdk, &[]);
        c.listeners.clear();
        let mut w = World::new(c);
        let before = w.accept(40);
        assert!(!w.closed(before), "{spdk}: listening before the delete");
        let id = w.rpc(RpcRequest::DeleteSubsystem { nqn: NQN.into() });
        w.run_all();
        assert!(w.rpc_ok(id), "{spdk}: delete answered");
        let after = w.accept(41);
        assert!(
            w.closed(after),
            "{spdk}: the port is closed after the delete"
        );
    }
}

/// The switch: a host connecting while v24.01 (as released) destroys its poll groups lands
/// on a group that is freed under it (I15 at `nvmf_tgt_destroy_poll_group`, or at
/// `_nvmf_poll_group_add` when the add runs after the free). The connection is made when the
/// first group has emptied and put its channel.
#[test]
fn spdk_3273_a_connection_during_poll_group_destroy_meets_a_freed_group() {
    for (bugs, expect) in [(vec![BugId::Spdk3273], true), (vec![], false)] {
        let mut w = World::new(cfg(Spdk::V24_01, &bugs));
        w.expect_violation = expect;
        w.rpc(RpcRequest::Shutdown);
        let mut accepted = None;
        for _ in 0..1000 {
            let put = (0..w.target.config().poll_groups)
                .map(ThreadId::PollGroup)
                .find(|t| w.target.queued_messages(*t).first() == Some(&"put_io_channel"));
            if put.is_some() && accepted.is_none() {
                accepted = Some(w.accept(60));
            }
            let Some(e) = w.target.enabled_events().into_iter().next() else {
                break;
            };
            w.input(e.input);
            if w.violation().is_some() {
                break;
            }
        }
        let conn = accepted.expect("the walk reached put_io_channel");
        match w.violation() {
            Some(v) => {
                assert!(expect, "fixed core: {v:?}");
                assert_eq!(v.invariant, crate::nvmf::InvariantId::I15);
                assert!(
                    ["nvmf_tgt_destroy_poll_group", "_nvmf_poll_group_add"]
                        .contains(&v.site.as_str()),
                    "{v:?}"
                );
            }
            None => {
                assert!(!expect, "the switch must break I15");
                assert!(w.closed(conn), "fixed: the port was closed first");
            }
        }
    }
}

/// A controller on pg0 with an I/O qpair on pg1, then the target shutdown, with every thread
/// message run as soon as possible except pg0's (the controller thread runs only when nothing
/// else can). Returns the world once nothing runs or a violation was recorded.
fn shutdown_with_a_slow_ctrlr_thread(bugs: &[BugId]) -> World {
    let mut w = World::new(cfg(Spdk::V24_01, bugs));
    w.expect_violation = bugs.contains(&BugId::Spdk1850);
    let (admin, cqe) = w.connect_admin(1, HOSTNQN, 10_000);
    w.send(admin, &pdu::prop_set_cc(2, pdu::CC_ENABLE));
    w.run_all();
    let (io, cqe_io) = w.connect_io(2, HOSTNQN, cqe.cdw0 as u16, 1);
    assert!(cqe_io.status.is_success(), "I/O CONNECT: {cqe_io:?}");
    assert_eq!(w.target.qpair_thread(admin), Some(ThreadId::PollGroup(0)));
    assert_eq!(w.target.qpair_thread(io), Some(ThreadId::PollGroup(1)));
    w.rpc(RpcRequest::Shutdown);
    let order = [
        ThreadId::App,
        ThreadId::PollGroup(1),
        ThreadId::PollGroup(0),
    ];
    for _ in 0..1000 {
        let Some(t) = order.iter().find(|t| w.target.queue_len(**t) > 0) else {
            break;
        };
        w.run(*t);
        if w.violation().is_some() {
            break;
        }
    }
    w
}

/// `spdk-1850` (v21.01's shapes): pg1's remove-subsystem sees its I/O qpair gone (it left the
/// group before the controller round trip) and reports the stop done; the shutdown destroys
/// pg1, whose thread exits without waiting for its ring, before the controller thread sends
/// `_nvmf_transport_qpair_fini` back: I15 (sent to the exited thread, or lost with its ring).
/// Fixed v24.01, and the old round trip alone (`spdk-2055`, the qpair stays on its group
/// until the fini), finish the same schedule with everything freed.
#[test]
fn spdk_1850_the_stop_completes_before_the_teardown_round_trip() {
    let w = shutdown_with_a_slow_ctrlr_thread(&[BugId::Spdk1850]);
    let v = w.violation().expect("the round trip meets the exited pg1");
    assert_eq!(v.invariant, InvariantId::I15, "{v:?}");
    assert!(
        ["_nvmf_ctrlr_free_from_qpair", "_nvmf_transport_qpair_fini"].contains(&v.site.as_str()),
        "{v:?}"
    );
    for bugs in [vec![], vec![BugId::Spdk2055]] {
        let w = shutdown_with_a_slow_ctrlr_thread(&bugs);
        assert!(w.violation().is_none(), "{bugs:?}: {:?}", w.violation());
        assert!(w.target.is_shut_down(), "{bugs:?}");
        assert_eq!(w.target.qpair_count(), 0, "{bugs:?}");
        assert_eq!(w.target.ctrlr_count(), 0, "{bugs:?}");
        w.assert_quiescent();
    }
}

/// v21.01's nvmf_tgt FINI states (the `spdk-1850` switch): no STOP_LISTEN and no
/// DESTROY_SUBSYSTEMS, so a connection right after the shutdown RPC is still accepted and the
/// subsystems are destroyed only by the target's destroy; the shutdown still completes.
#[test]
fn spdk_1850_restores_the_v21_01_shutdown_order() {
    assert!(accepted_right_after_shutdown(
        Spdk::V24_01,
        &[BugId::Spdk1850]
    ));
    let mut w = World::new(cfg(Spdk::V24_01, &[BugId::Spdk1850]));
    w.shutdown_and_check();
}
