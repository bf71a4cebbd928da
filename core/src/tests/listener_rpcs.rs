//! `nvmf_subsystem_add_listener` / `nvmf_subsystem_remove_listener` check the subsystem's
//! listeners once the subsystem is paused, as SPDK's paused callbacks do
//! (`nvmf_rpc_listen_paused` in v24.01 and v26.05, `rpc_nvmf_add_listener_paused` /
//! `rpc_nvmf_remove_listener_paused` in master): every call pauses and resumes the subsystem,
//! and the answer comes from the callback, not from the RPC's arrival.

use crate::nvmf::{Mark, RpcRequest, Spdk, SubState, Trid};
use crate::testkit::{config_for, World, NQN};

fn pauses_and_resumes(w: &World) -> (usize, usize) {
    (
        w.marked(Mark::SubsystemPaused),
        w.marked(Mark::SubsystemResumed),
    )
}

/// A listener the subsystem already has: v24.01 skips it and answers success after the resume;
/// since ee9e3438f7 (v24.05) the paused callback refuses it and the subsystem resumes.
#[test]
fn adding_an_existing_listener_pauses_then_succeeds_in_v24_01_and_fails_since() {
    for (spdk, mut w) in World::per_profile(config_for) {
        let trid = Trid::tcp("127.0.0.1", 4421);
        let add = |w: &mut World| {
            w.rpc(RpcRequest::SubsystemAddListener {
                nqn: NQN.into(),
                trid: trid.clone(),
            })
        };
        let first = add(&mut w);
        w.run_all();
        assert!(w.rpc_ok(first), "{spdk}: {:?}", w.rpc_results.get(&first));
        let again = add(&mut w);
        assert!(
            !w.rpc_results.contains_key(&again),
            "{spdk}: answered before the pause"
        );
        w.run_all();
        let code = w.rpc_results[&again].as_ref().err().map(|e| e.code);
        let expected = (spdk != Spdk::V24_01).then_some(-17);
        assert_eq!(code, expected, "{spdk}: {:?}", w.rpc_results[&again]);
        assert_eq!(pauses_and_resumes(&w), (2, 2), "{spdk}");
        assert_eq!(w.target.subsystem_state(NQN), Some(SubState::Active));
        assert!(w.violation().is_none(), "{spdk}: {:?}", w.violation());
        w.shutdown_and_check();
    }
}

/// A listener the subsystem does not have: `spdk_nvmf_subsystem_remove_listener` fails in the
/// paused callback, the error is answered and the subsystem resumes, in every profile.
#[test]
fn removing_a_missing_listener_pauses_fails_and_resumes() {
    for (spdk, mut w) in World::per_profile(config_for) {
        let id = w.rpc(RpcRequest::SubsystemRemoveListener {
            nqn: NQN.into(),
            trid: Trid::tcp("127.0.0.1", 4499),
        });
        assert!(!w.rpc_results.contains_key(&id), "{spdk}: answered at once");
        w.run_all();
        let code = w.rpc_results[&id].as_ref().err().map(|e| e.code);
        assert_eq!(code, Some(-2), "{spdk}: {:?}", w.rpc_results[&id]);
        assert_eq!(pauses_and_resumes(&w), (1, 1), "{spdk}");
        assert_eq!(w.target.subsystem_state(NQN), Some(SubState::Active));
        assert!(w.violation().is_none(), "{spdk}: {:?}", w.violation());
        w.shutdown_and_check();
    }
}

/// `nvmf_subsystem_get_listeners` is one of `_rpc_nvmf_subsystem_query`'s RPCs: it pauses the
/// subsystem, dumps the listeners in the paused callback, answers and resumes (every profile).
#[test]
fn get_listeners_pauses_dumps_and_resumes() {
    for (spdk, mut w) in World::per_profile(config_for) {
        let id = w.rpc(RpcRequest::GetListeners { nqn: NQN.into() });
        assert!(
            !w.rpc_results.contains_key(&id),
            "{spdk}: answered before the pause"
        );
        w.run_all();
        let got = w.rpc_results[&id].as_ref().ok().cloned();
        assert_eq!(
            got,
            Some(crate::nvmf::RpcResponse::Listeners(vec![
                crate::testkit::trid()
            ])),
            "{spdk}"
        );
        assert_eq!(pauses_and_resumes(&w), (1, 1), "{spdk}");
        assert_eq!(w.target.subsystem_state(NQN), Some(SubState::Active));
        w.shutdown_and_check();
    }
}
