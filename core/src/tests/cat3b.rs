//! Structures of catalogue issue II added by helper cat3b, scripted in both profiles:
//! `qpair->group` (S3: set by `spdk_nvmf_poll_group_add`, NULL after
//! `spdk_nvmf_poll_group_remove`, read where SPDK reads it) and subsystem ids (S8: the lowest
//! free id on create, `group->sgroups` indexed by id, so a new subsystem inherits what the
//! last holder of its id left on `sgroup->queued`; `spdk-3467`).

use crate::nvmf::{BugId, BugSet, ConnId, Input, InvariantId, Mark, NamespaceConfig};
use crate::nvmf::{QpairState, RpcRequest, Spdk, SubState, SubsystemConfig, ThreadId};
use crate::testkit::{config_for, pdu, trid, World, HOSTNQN, NQN};

fn world(spdk: Spdk) -> World {
    World::new(config_for(spdk))
}

/// `qpair->group` is NULL before `_nvmf_poll_group_add`, the assigned group while the qpair
/// is on `group->qpairs`, and NULL again from `spdk_nvmf_poll_group_remove` (inside
/// `_nvmf_qpair_destroy`) until transport fini frees the qpair.
#[test]
fn qpair_group_is_set_by_poll_group_add_and_cleared_by_remove() {
    for spdk in Spdk::ALL {
        let mut w = world(spdk);
        let c = w.accept(1);
        assert_eq!(w.target.qpair_group(c), Some(None), "{spdk}: calloc'd NULL");
        w.run_all();
        let Some(Some(pg)) = w.target.qpair_group(c) else {
            panic!("{spdk}: no group after _nvmf_poll_group_add");
        };
        assert_eq!(w.target.qpair_thread(c), Some(ThreadId::PollGroup(pg)));
        let (c2, _) = w.connect_enabled(2, HOSTNQN);
        let pg2 = w.target.qpair_group(c2).flatten().expect("on its group");
        // The peer closes: disconnect -> _nvmf_qpair_destroy -> poll_group_remove run now;
        // transport fini waits on the group's queue.
        w.input(Input::PeerClosed { conn: c2 });
        assert_eq!(w.target.qpair_state(c2), Some(QpairState::Error), "{spdk}");
        assert_eq!(
            w.target.qpair_group(c2),
            Some(None),
            "{spdk}: NULL once removed"
        );
        assert_eq!(
            w.target.queued_messages(ThreadId::PollGroup(pg2)).last(),
            Some(&"_nvmf_tcp_qpair_destroy")
        );
        w.run_all();
        assert_eq!(w.target.qpair_group(c2), None, "{spdk}: freed");
        w.shutdown_and_check();
    }
}

/// Adds namespace 2 and runs the target until the resume fan-out's visit is queued on the
/// admin qpair's group (the controller thread); `close_first` then closes the host so that
/// its `_nvmf_qpair_destroy` runs before the visit. Returns the namespace-changed AENs sent.
fn ns_change_with_admin_removed(spdk: Spdk, close_first: bool) -> usize {
    let mut w = world(spdk);
    let (c, _) = w.connect_enabled(1, HOSTNQN);
    w.send(c, &pdu::enable_ns_aen(3));
    w.run_all();
    let pg = w.target.qpair_group(c).flatten().expect("on its group");
    let ns = NamespaceConfig {
        nsid: 2,
        block_size: 512,
        blocks: 64,
    };
    let id = w.rpc(RpcRequest::AddNamespace {
        nqn: NQN.into(),
        ns,
    });
    let thread = ThreadId::PollGroup(pg);
    while !(w.target.subsystem_state(NQN) == Some(SubState::Resuming)
        && w.target.queued_messages(thread).first() == Some(&"for_each_channel"))
    {
        let next = w
            .target
            .enabled_events()
            .into_iter()
            .find(|e| e.at.is_none());
        w.input(
            next.expect("the resume reaches the admin qpair's group")
                .input,
        );
    }
    if close_first {
        w.input(Input::PeerClosed { conn: c });
        assert_eq!(w.target.qpair_group(c), Some(None));
    }
    w.run_all();
    assert!(w.rpc_ok(id), "{spdk}: {:?}", w.rpc_results.get(&id));
    let aens = w.marked(Mark::NamespaceChangedAen);
    w.shutdown_and_check();
    aens
}

/// `poll_group_update_subsystem` sends the namespace notice to a controller only when
/// `ctrlr->admin_qpair->group == group`: an admin qpair already removed from its group (its
/// transport fini not yet run, so `ctrlr->admin_qpair` still points at it) reads NULL there.
#[test]
fn a_namespace_notice_skips_an_admin_qpair_removed_from_its_group() {
    for spdk in Spdk::ALL {
        assert_eq!(ns_change_with_admin_removed(spdk, false), 1, "{spdk}");
        assert_eq!(ns_change_with_admin_removed(spdk, true), 0, "{spdk}");
    }
}

const OTHER: &str = "nqn.2016-06.io.spdk:cnode2";

/// S8 in both profiles: `NQN` (id 0) and `OTHER` (id 1); a CONNECT to `NQN` queued while it is
/// paused; `NQN` deleted; a subsystem under a new name created and started. Returns the world
/// after the create, and the CONNECT's connection.
fn reuse_id_with_a_queued_connect(spdk: Spdk, bugs: &[BugId]) -> (World, ConnId) {
    let mut cfg = config_for(spdk);
    cfg.bugs = BugSet(bugs.iter().copied().collect());
    let mut other = SubsystemConfig::new(OTHER);
    other.listeners.push(trid());
    cfg.subsystems.push(other);
    let mut w = World::new(cfg);
    w.expect_violation = !bugs.is_empty();
    assert_eq!(w.target.subsystem_id(NQN), Some(0));
    assert_eq!(w.target.subsystem_id(OTHER), Some(1));
    w.pause(0);
    let c = w.start_connect(1, HOSTNQN, 0xFFFF, 0);
    w.run_all();
    w.rpc_now(RpcRequest::DeleteSubsystem { nqn: NQN.into() });
    assert_eq!(w.target.subsystem_id(NQN), None);
    let left = w.target.quiescence_report().stuck;
    assert!(
        left.iter().any(|l| l.contains("freed subsystem id 0")
            && l.ends_with("never answered (_nvmf_subsystem_destroy)")),
        "{spdk}: the CONNECT stays on the freed id's sgroup: {left:?}"
    );
    let mut reuse = SubsystemConfig::new("nqn.2016-06.io.spdk:cnode3");
    reuse.listeners.push(trid());
    let id = w.rpc(RpcRequest::CreateSubsystem(reuse));
    w.run_all();
    if w.violation().is_none() {
        assert!(w.rpc_ok(id), "{spdk}: {:?}", w.rpc_results.get(&id));
        assert_eq!(
            w.target.subsystem_id("nqn.2016-06.io.spdk:cnode3"),
            Some(0),
            "{spdk}: the lowest free id"
        );
    }
    (w, c)
}

/// With every switch off the new holder of id 0 meets the old CONNECT on its sgroup and drops
/// it unanswered (v24.01 forgets it, master frees it: hazard H-1); its connection stays open.
#[test]
fn a_subsystem_reusing_an_id_meets_its_predecessors_queued_connect() {
    for spdk in Spdk::ALL {
        let (mut w, c) = reuse_id_with_a_queued_connect(spdk, &[]);
        assert_eq!(w.marked(Mark::StaleQueuedOnAdd), 1, "{spdk}");
        assert!(w.responses(c).is_empty(), "{spdk}: never answered");
        let stuck = w.target.quiescence_report().stuck;
        assert_eq!(stuck.len(), 1, "{spdk}: {stuck:?}");
        assert!(
            stuck[0].ends_with("on conn 1 never answered (nvmf_poll_group_add_subsystem)"),
            "{spdk}: {stuck:?}"
        );
    }
}

#[test]
fn spdk_3467_asserts_on_the_predecessors_queued_connect() {
    let (w, _) = reuse_id_with_a_queued_connect(Spdk::Master, &[BugId::Spdk3467]);
    let v = w.violation().expect("v24.05's assert");
    assert_eq!(
        (v.invariant, v.site.as_str()),
        (InvariantId::I4, "nvmf_poll_group_add_subsystem")
    );
}

/// S5, the teardown order before 478f652436 (`spdk-2055`): the admin qpair of a host frees
/// its controller's mask bit first and is finalized later; `ctrlr->admin_qpair` is never
/// cleared. The host closes right when the namespace add's pause has finished on every group
/// (its done message heads the app thread, the resume comes next); the admin qpair's teardown
/// runs on its group, and the resume's visit reaches the group before the subsystem thread
/// removes the controller, so `poll_group_update_subsystem` meets the controller with its
/// admin qpair freed. In the fixed order the same schedule finds `admin_qpair` NULL.
fn close_during_namespace_add(bugs: &[BugId]) -> World {
    let mut cfg = config_for(Spdk::V24_01);
    cfg.bugs = BugSet(bugs.iter().copied().collect());
    let mut w = World::new(cfg);
    w.expect_violation = !bugs.is_empty();
    let (c, _) = w.connect_enabled(1, HOSTNQN);
    w.send(c, &pdu::enable_ns_aen(3));
    w.run_all();
    let pg = ThreadId::PollGroup(w.target.qpair_group(c).flatten().expect("grouped"));
    let ns = NamespaceConfig {
        nsid: 2,
        block_size: 512,
        blocks: 64,
    };
    w.rpc(RpcRequest::AddNamespace {
        nqn: NQN.into(),
        ns,
    });
    while w.target.queued_messages(ThreadId::App).first() != Some(&"for_each_channel_done") {
        let next = w
            .target
            .enabled_events()
            .into_iter()
            .find(|e| e.at.is_none());
        w.input(next.expect("the pause finishes").input);
    }
    w.input(Input::PeerClosed { conn: c });
    while w.violation().is_none() && w.run(pg) {}
    // The pause's done message starts the resume: its visit reaches the group while the
    // controller's removal (`nvmf_ctrlr_destruct`) still waits on the subsystem thread.
    w.run(ThreadId::App);
    assert_eq!(
        w.target.queued_messages(ThreadId::App).first(),
        Some(&"nvmf_ctrlr_destruct")
    );
    while w.violation().is_none() && w.run(pg) {}
    w.run_all();
    w
}

#[test]
fn the_fixed_order_clears_admin_qpair_before_the_controller_is_removed() {
    let mut w = close_during_namespace_add(&[]);
    assert_eq!(w.marked(Mark::NamespaceChangedAen), 0);
    assert_eq!(w.marked(Mark::CtrlrDestroyed), 1);
    w.shutdown_and_check();
}

#[test]
fn spdk_2055_a_namespace_change_reads_the_freed_admin_qpair() {
    let w = close_during_namespace_add(&[BugId::Spdk2055]);
    let v = w.violation().expect("the use after free");
    assert_eq!(
        (v.invariant, v.site.as_str()),
        (InvariantId::I1, "poll_group_update_subsystem")
    );
}

/// A controller whose last qpair is an I/O qpair on the other poll group: its fini runs after
/// the subsystem thread and the controller thread freed the controller (old order only).
fn io_qpair_last(bugs: &[BugId]) -> World {
    let mut cfg = config_for(Spdk::V24_01);
    cfg.bugs = BugSet(bugs.iter().copied().collect());
    let mut w = World::new(cfg);
    w.expect_violation = bugs.contains(&BugId::Spdk1819);
    let (admin, io) = w.enabled_with_io(HOSTNQN);
    let io_pg = ThreadId::PollGroup(w.target.qpair_group(io).flatten().expect("grouped"));
    w.input(Input::PeerClosed { conn: admin });
    w.run_all();
    w.input(Input::PeerClosed { conn: io });
    // The controller thread and the subsystem thread run first; the I/O qpair's group last.
    loop {
        let runs: Vec<Input> = w
            .target
            .enabled_events()
            .into_iter()
            .filter(|e| e.at.is_none())
            .map(|e| e.input)
            .collect();
        let pick = runs
            .iter()
            .find(|i| **i != Input::Run(io_pg))
            .or(runs.first());
        match pick {
            Some(i) => w.input(i.clone()),
            None => break,
        }
        if w.violation().is_some() {
            break;
        }
    }
    w
}

#[test]
fn the_old_order_alone_lets_a_qpair_outlive_its_controller_unread() {
    let mut w = io_qpair_last(&[BugId::Spdk2055]);
    assert_eq!(w.marked(Mark::PollGroupRemoveAfterCtrlrFree), 1);
    assert!(w.violation().is_none());
    w.shutdown_and_check();
    let mut w = io_qpair_last(&[]);
    assert_eq!(w.marked(Mark::PollGroupRemoveAfterCtrlrFree), 0);
    w.shutdown_and_check();
}

#[test]
fn spdk_1819_poll_group_remove_reads_the_freed_controller() {
    let w = io_qpair_last(&[BugId::Spdk1819]);
    let v = w.violation().expect("the use after free");
    assert_eq!(
        (v.invariant, v.site.as_str()),
        (InvariantId::I1, "spdk_nvmf_poll_group_remove")
    );
}
