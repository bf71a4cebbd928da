//! A subsystem listener points into the transport listener that existed when it was added
//! (`listener->trid = &tr_listener->trid`, subsys_listener.rs). When a stop frees that
//! transport listener while the subsystem listener stays, v24.01 reads freed memory at every
//! later read; v26.05 and master (dfdd45beeb) see a NULL trid, which most readers skip and the
//! unchecked ones dereference. A `listen` of the same trid does not repair the binding.

use crate::nvmf::{ConnId, Input, InvariantId, Mark, RpcRequest, Spdk, TargetConfig, Trid};
use crate::testkit::{config_for, pdu, trid, World, HOSTNQN, NQN};

/// The second port of the subsystem.
fn port_b() -> Trid {
    Trid::tcp("127.0.0.1", 4421)
}

/// `config_for(spdk)` with the subsystem on `port_b()` and then on `trid()`: the list is
/// head first, so `trid()`'s listener comes before `port_b()`'s in every walk.
fn two_ports(spdk: Spdk) -> TargetConfig {
    let mut cfg = config_for(spdk);
    cfg.subsystems[0].listeners = vec![port_b(), trid()];
    cfg
}

/// Drops both references on `trid()` (the discovery listener's and the subsystem's) with an
/// embedder's `stop_listen` without a subsystem: the transport listener is freed, the
/// subsystem listener stays.
fn free_port_a(w: &mut World) {
    for _ in 0..2 {
        w.rpc_now(RpcRequest::StopListenAsync {
            trid: trid(),
            nqn: None,
        });
    }
    assert_eq!(w.marked(Mark::ListenerFreed), 1);
}

/// A connection accepted on `port_b()` that has sent its ICReq.
fn accept_on_port_b(w: &mut World, conn: u64) -> ConnId {
    let c = ConnId(conn);
    w.input(Input::Accept {
        trid: port_b(),
        conn: c,
    });
    w.run_all();
    w.send(c, &pdu::icreq());
    c
}

fn violation_at(w: &World) -> Option<(InvariantId, String)> {
    w.violation().map(|v| (v.invariant, v.site.clone()))
}

/// A CONNECT on the other port walks past the stale listener
/// (`spdk_nvmf_subsystem_listener_allowed`): a use after free in v24.01, skipped since.
#[test]
fn a_connect_walks_past_a_freed_listener_in_every_profile() {
    for (spdk, mut w) in World::per_profile(two_ports) {
        w.expect_violation = spdk == Spdk::V24_01;
        let c = accept_on_port_b(&mut w, 1);
        free_port_a(&mut w);
        assert!(!w.closed(c), "{spdk}: a qpair on the other port stays");
        w.send(c, &pdu::connect(1, 0, NQN, HOSTNQN, 0xFFFF, 0));
        w.run_all();
        if spdk == Spdk::V24_01 {
            let site = "spdk_nvmf_subsystem_listener_allowed".to_string();
            assert_eq!(violation_at(&w), Some((InvariantId::I1, site)));
        } else {
            assert_eq!(violation_at(&w), None, "{spdk}");
            assert!(w.responses(c)[0].status.is_success(), "{spdk}");
        }
    }
}

/// A `listen` of the same trid makes a new transport listener; the old subsystem listener
/// still points at the freed one. `nvmf_subsystem_add_listener` then walks past it (v24.01:
/// use after free) or adds a second listener beside it (v26.05, master), and deleting the
/// subsystem removes the stale one with stop: `assert(nvmf_subsystem_listener_is_active)`
/// (story `fc1:random-peers@master:0000000000000005` on real SPDK master).
#[test]
fn a_relisten_does_not_repair_the_binding() {
    for (spdk, mut w) in World::per_profile(config_for) {
        w.expect_violation = true;
        free_port_a(&mut w);
        w.rpc_now(RpcRequest::TransportListen { trid: trid() });
        w.rpc(RpcRequest::SubsystemAddListener {
            nqn: NQN.into(),
            trid: trid(),
        });
        w.run_all();
        if spdk == Spdk::V24_01 {
            let site = "nvmf_subsystem_find_listener".to_string();
            assert_eq!(violation_at(&w), Some((InvariantId::I1, site)));
            continue;
        }
        assert_eq!(violation_at(&w), None, "{spdk}");
        let c = w.accept(5);
        w.send(c, &pdu::icreq());
        w.send(c, &pdu::connect(1, 0, NQN, HOSTNQN, 0xFFFF, 0));
        w.run_all();
        assert!(
            w.responses(c)[0].status.is_success(),
            "{spdk}: the new one serves"
        );
        w.rpc(RpcRequest::DeleteSubsystem { nqn: NQN.into() });
        w.run_all();
        let site = "_nvmf_subsystem_remove_listener".to_string();
        assert_eq!(violation_at(&w), Some((InvariantId::I1, site)), "{spdk}");
    }
}

/// Balanced use stays clean: an embedder that stops only what it listened on leaves the
/// subsystem's reference, and the whole lifecycle runs to the shutdown without a violation.
#[test]
fn an_embedder_that_stops_its_own_reference_frees_nothing() {
    for (spdk, mut w) in World::per_profile(two_ports) {
        w.embedder_listen();
        w.rpc_now(RpcRequest::StopListenAsync {
            trid: trid(),
            nqn: None,
        });
        assert_eq!(w.marked(Mark::ListenerFreed), 0, "{spdk}");
        let (c, _) = w.connect_enabled(1, HOSTNQN);
        assert!(!w.closed(c), "{spdk}");
        w.input(Input::PeerClosed { conn: c });
        w.shutdown_and_check();
    }
}

/// A controller whose admin port was freed under it (a stop filtered to another subsystem
/// spares its queues) gets an I/O CONNECT on its other port: `nvmf_qpair_set_ctrlr` reads
/// `ctrlr->listener->trid` unchecked in v26.05 and master (e67cdcb4ea); v24.01's access check
/// already walks past the freed listener.
#[test]
fn an_io_connect_reads_its_controllers_freed_listener() {
    for (spdk, mut w) in World::per_profile(|spdk| {
        let mut cfg = two_ports(spdk);
        let mut other = crate::nvmf::SubsystemConfig::new("nqn.2016-06.io.spdk:other");
        other.start = true;
        cfg.subsystems.push(other);
        cfg
    }) {
        w.expect_violation = true;
        let (admin, cntlid) = w.connect_enabled(1, HOSTNQN);
        for _ in 0..2 {
            w.rpc_now(RpcRequest::StopListenAsync {
                trid: trid(),
                nqn: Some("nqn.2016-06.io.spdk:other".into()),
            });
        }
        assert_eq!(w.marked(Mark::ListenerFreed), 1, "{spdk}");
        assert!(
            !w.closed(admin),
            "{spdk}: the filter spared the controller's queues"
        );
        let io = accept_on_port_b(&mut w, 2);
        w.send(io, &pdu::connect(1, 1, NQN, HOSTNQN, cntlid, 0));
        w.run_all();
        let site = if spdk == Spdk::V24_01 {
            "spdk_nvmf_subsystem_listener_allowed"
        } else {
            "nvmf_qpair_set_ctrlr"
        };
        assert_eq!(
            violation_at(&w),
            Some((InvariantId::I1, site.to_string())),
            "{spdk}"
        );
    }
}

/// `nvmf_get_subsystems` (`dump_nvmf_subsystem`) reads every listener: v24.01 the freed one
/// (I1), v26.05 and master list only the active port.
#[test]
fn get_subsystems_reads_a_freed_listener_in_v24_01_and_omits_it_since() {
    for (spdk, mut w) in World::per_profile(two_ports) {
        w.expect_violation = spdk == Spdk::V24_01;
        free_port_a(&mut w);
        let id = w.rpc(RpcRequest::GetSubsystems);
        w.run_all();
        if spdk == Spdk::V24_01 {
            let site = "dump_nvmf_subsystem".to_string();
            assert_eq!(violation_at(&w), Some((InvariantId::I1, site)));
            continue;
        }
        let Some(Ok(crate::nvmf::RpcResponse::Subsystems(subs))) = w.rpc_results.get(&id) else {
            panic!("{spdk}: {:?}", w.rpc_results.get(&id));
        };
        let ours = subs.iter().find(|s| s.nqn == NQN).expect("the subsystem");
        assert_eq!(ours.listeners, vec![port_b()], "{spdk}");
    }
}
