//! Whole-target shutdown as nvmf_tgt's FINI states run it in each profile (shutdown.rs): when
//! the listen sockets close, that the poll groups are destroyed all at once, that a delete
//! drops its listeners' references, and `spdk-3273` (v24.01 as released keeps accepting while
//! it destroys the poll groups).

use crate::nvmf::{BugId, BugSet, RpcRequest, Spdk, TargetConfig, ThreadId};
use crate::testkit::{config, World, NQN};

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
