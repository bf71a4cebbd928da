//! The v24.01 behaviours issue #9 left to the profile after the first pass, one test per SPDK
//! behaviour (docs/spdk-profiles.md): v24.01 refuses a concurrent subsystem state change with
//! -EBUSY where master queues it, v24.01 ends a successful C2H transfer with a C2HData carrying
//! SUCCESS where master sends a CapsuleResp, and SPDK #3738's window as v24.01 reaches it (a
//! namespace pause landing on a subsystem another path left PAUSED). Each was seen failing on
//! the core before the change.

use crate::nvmf::{BugId, InvariantId, Mark, RpcRequest, Spdk, SubState, TargetConfig};
use crate::testkit::{config_for, namespace, pdu, World, HOSTNQN, NQN, NS_BLOCKS};
use crate::wire::{status, Pdu};

/// `config_for(spdk)` with a second namespace (nsid 2).
fn two_ns_config(spdk: Spdk) -> TargetConfig {
    let mut cfg = config_for(spdk);
    cfg.subsystems[0].namespaces.push(namespace(2, NS_BLOCKS));
    cfg
}

fn pause_rpc(nsid: u32) -> RpcRequest {
    RpcRequest::PauseSubsystem {
        nqn: NQN.into(),
        nsid,
    }
}

fn error_code(w: &World, id: crate::nvmf::RpcId) -> Option<i32> {
    w.rpc_results.get(&id)?.as_ref().err().map(|e| e.code)
}

/// `nvmf_subsystem_state_change` (v24.01): `changing_state` is set while a change runs; a
/// second request returns -EBUSY at once and its callback never runs. master queues it.
#[test]
fn v24_01_refuses_a_concurrent_state_change_with_ebusy() {
    for (spdk, mut w) in World::per_profile(config_for) {
        let (_, io) = w.enabled_with_io(HOSTNQN);
        w.send(io, &pdu::read(3, 1, 0, 1));
        w.run_threads();
        let first = w.rpc(pause_rpc(1));
        w.run_threads();
        assert_eq!(w.target.subsystem_state(NQN), Some(SubState::Pausing));
        let second = w.rpc(RpcRequest::ResumeSubsystem { nqn: NQN.into() });
        w.run_threads();
        match spdk {
            Spdk::V24_01 => {
                assert_eq!(error_code(&w, second), Some(-16), "answered at once");
                assert_eq!(w.marked(Mark::StateChangeBusy), 1);
            }
            Spdk::V26_05 | Spdk::Master => {
                assert!(
                    !w.rpc_results.contains_key(&second),
                    "queued behind the pause"
                );
                assert_eq!(w.marked(Mark::StateChangeQueued), 1);
            }
        }
        w.complete_device();
        assert!(w.rpc_ok(first), "{spdk}");
        let end = match spdk {
            Spdk::V24_01 => SubState::Paused,
            Spdk::V26_05 | Spdk::Master => SubState::Active,
        };
        assert_eq!(w.target.subsystem_state(NQN), Some(end), "{spdk}");
        if spdk == Spdk::Master {
            assert!(w.rpc_ok(second));
        } else {
            w.resume();
        }
        w.shutdown_and_check();
    }
}

/// `rpc_nvmf_subsystem_remove_ns` (v24.01): the pause returns -EBUSY, the RPC answers
/// "subsystem busy, retry later" and nothing changes; the namespace stays.
#[test]
fn v24_01_rpc_answers_ebusy_and_changes_nothing() {
    let mut w = World::new(two_ns_config(Spdk::V24_01));
    let (_, io) = w.enabled_with_io(HOSTNQN);
    w.send(io, &pdu::read(3, 1, 0, 1));
    w.run_threads();
    let pause = w.rpc(pause_rpc(1));
    w.run_threads();
    let remove = w.rpc(RpcRequest::RemoveNamespace {
        nqn: NQN.into(),
        nsid: 2,
    });
    assert_eq!(error_code(&w, remove), Some(-16));
    w.complete_device();
    assert!(w.rpc_ok(pause));
    w.resume();
    // ns 2 is still there: a read of it succeeds.
    w.send(io, &pdu::read(4, 2, 0, 1));
    w.run_threads();
    w.complete_device();
    let r: Vec<_> = w.responses(io).iter().map(|c| (c.cid, c.status)).collect();
    assert_eq!(r, vec![(3, status::SUCCESS), (4, status::SUCCESS)]);
    w.shutdown_and_check();
}

/// SPDK #3738 under v24.01's -EBUSY: two removes cannot queue, so the window is a namespace
/// pause landing on a subsystem already PAUSED by another path (here the operator's pause of
/// ns 1). With the switch on, `remove_ns(2)` gets its callback at once, removes ns 2 under its
/// in-flight read and the resume clears the counter (I7 at the completion); with the fix
/// (d123762feb) the pause drains ns 2 first. Both profiles reach it.
#[test]
fn spdk_3738_window_is_a_namespace_pause_of_a_paused_subsystem() {
    for spdk in Spdk::ALL {
        for bug in [false, true] {
            let mut cfg = two_ns_config(spdk);
            if bug {
                cfg.bugs.0.insert(BugId::Spdk3738);
            }
            let mut w = World::new(cfg);
            w.expect_violation = bug;
            let (_, io) = w.enabled_with_io(HOSTNQN);
            w.send(io, &pdu::read(3, 2, 0, 1));
            w.run_threads();
            let pause = w.rpc(pause_rpc(1));
            w.run_threads();
            assert!(w.rpc_ok(pause), "ns 1 has no I/O: paused at once");
            assert_eq!(
                w.target.pending_device_ios().len(),
                1,
                "ns 2's read in flight"
            );
            let remove = w.rpc(RpcRequest::RemoveNamespace {
                nqn: NQN.into(),
                nsid: 2,
            });
            w.run_threads();
            assert_eq!(w.rpc_ok(remove), bug, "{spdk}: removed before ns 2 drained");
            w.complete_device();
            if bug {
                let v = w.violation().expect("I7 reported");
                assert_eq!(v.invariant, InvariantId::I7, "{spdk}: {v}");
                assert_eq!(v.site, "_nvmf_request_complete");
                continue;
            }
            assert!(w.rpc_ok(remove), "{spdk}");
            let r: Vec<_> = w.responses(io).iter().map(|c| (c.cid, c.status)).collect();
            assert_eq!(r, vec![(3, status::SUCCESS)], "{spdk}");
            assert_eq!(w.target.subsystem_state(NQN), Some(SubState::Active));
            w.shutdown_and_check();
        }
    }
}

/// `_nvmf_tcp_send_c2h_data` + `nvmf_tcp_pdu_c2h_data_complete`: v24.01 (transport option
/// `c2h_success` on by default) sends a successful read as one C2HData with LAST_PDU and
/// SUCCESS and no CapsuleResp; master requires SQ flow control disabled for that, so it sends
/// C2HData then CapsuleResp.
#[test]
fn v24_01_read_ends_with_c2h_success_and_no_capsule_resp() {
    for (spdk, mut w) in World::per_profile(config_for) {
        let (_, io) = w.enabled_with_io(HOSTNQN);
        w.send(io, &pdu::read(3, 1, 0, 1));
        w.run_threads();
        w.complete_device();
        let pdus = w.recv(io);
        let shape: Vec<_> = pdus
            .iter()
            .map(|p| match p {
                Pdu::C2HData(d) => format!("C2HData last={} success={}", d.last, d.success),
                Pdu::CapsuleResp(r) => format!("CapsuleResp cid={}", r.cqe.cid),
                other => format!("{other:?}"),
            })
            .collect();
        let want = match spdk {
            Spdk::V24_01 | Spdk::V26_05 => vec!["C2HData last=true success=true".to_string()],
            Spdk::Master => vec![
                "C2HData last=true success=false".to_string(),
                "CapsuleResp cid=3".to_string(),
            ],
        };
        assert_eq!(shape, want, "{spdk}");
        w.shutdown_and_check();
    }
}

/// The same holds for an admin command's data (Identify): v24.01 completes it by C2HData
/// SUCCESS alone, and the SQ head still advances for it (`request_transfer_out` runs first),
/// so the next CapsuleResp reports two steps since the one before.
#[test]
fn v24_01_identify_ends_with_c2h_success_and_sq_head_still_advances() {
    for (spdk, mut w) in World::per_profile(config_for) {
        let (admin, _) = w.enabled_with_io(HOSTNQN);
        let before = w.exec(admin, &pdu::keep_alive(10)).1.sqhd;
        w.send(admin, &pdu::identify(11, 1, 0));
        w.run_all();
        let pdus = w.recv(admin);
        let success = pdus
            .iter()
            .any(|p| matches!(p, Pdu::C2HData(d) if d.success && d.last && d.cccid == 11));
        let resp = pdus.iter().any(|p| matches!(p, Pdu::CapsuleResp(_)));
        assert_eq!(
            (success, resp),
            (spdk != Spdk::Master, spdk == Spdk::Master)
        );
        let after = w.exec(admin, &pdu::keep_alive(12)).1.sqhd;
        assert_eq!(after, before + 2, "{spdk}: one head step per response");
        w.shutdown_and_check();
    }
}

/// `rpc_nvmf_subsystem_add_ns` / `_remove_ns` (both versions) check the nsid only once the
/// subsystem is paused (`nvmf_rpc_ns_paused`, `nvmf_rpc_remove_ns_paused`): an nsid in use
/// (or unknown) is answered with an error, and the subsystem is resumed all the same, so a
/// subsystem the operator had paused ends ACTIVE.
#[test]
fn namespace_rpcs_check_the_nsid_once_paused_and_resume_anyway() {
    for (spdk, mut w) in World::per_profile(config_for) {
        w.pause(0);
        let add = w.rpc(RpcRequest::AddNamespace {
            nqn: NQN.into(),
            ns: namespace(1, NS_BLOCKS),
        });
        w.run_all();
        assert_eq!(error_code(&w, add), Some(-17), "{spdk}");
        assert_eq!(w.target.subsystem_state(NQN), Some(SubState::Active));
        w.pause(0);
        let remove = w.rpc(RpcRequest::RemoveNamespace {
            nqn: NQN.into(),
            nsid: 9,
        });
        w.run_all();
        assert_eq!(error_code(&w, remove), Some(-2), "{spdk}");
        assert_eq!(w.target.subsystem_state(NQN), Some(SubState::Active));
        w.shutdown_and_check();
    }
}
