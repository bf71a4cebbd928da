//! Structures of catalogue issue II added by helper cat3b, scripted in both profiles:
//! `qpair->group` (S3: set by `spdk_nvmf_poll_group_add`, NULL after
//! `spdk_nvmf_poll_group_remove`, read where SPDK reads it).

use crate::nvmf::ThreadId;
use crate::nvmf::{Input, Mark, NamespaceConfig, QpairState, RpcRequest, Spdk, SubState};
use crate::testkit::{config_for, pdu, World, HOSTNQN, NQN};

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
