//! The shared router itself (`crate::testkit`): it fails a test on a violation the test did
//! not expect, and lets a test that plants a bug see the violation instead.

use crate::nvmf::{BugId, InvariantId, RpcRequest, Spdk, TargetConfig};
use crate::testkit::{config_for, namespace, pdu, World, HOSTNQN, NQN, NS_BLOCKS};

/// SPDK #3738 switched on, two namespaces: with a read to ns 2 in flight, pausing ns 1 and
/// then removing ns 2 drops the poll group's counter under that read (I7).
fn broken_world(expect_violation: bool) -> World {
    let mut cfg: TargetConfig = config_for(Spdk::V24_01);
    cfg.subsystems[0].namespaces.push(namespace(2, NS_BLOCKS));
    cfg.bugs.0.insert(BugId::Spdk3738);
    let mut w = World::new(cfg);
    w.expect_violation = expect_violation;
    let (_, io) = w.enabled_with_io(HOSTNQN);
    w.send(io, &pdu::read(3, 2, 0, 1));
    w.run_threads();
    w.rpc(RpcRequest::PauseSubsystem {
        nqn: NQN.into(),
        nsid: 1,
    });
    w.run_threads();
    w.rpc(RpcRequest::RemoveNamespace {
        nqn: NQN.into(),
        nsid: 2,
    });
    w.run_threads();
    w.complete_device();
    w
}

#[test]
#[should_panic(expected = "invariant violated")]
fn an_unexpected_violation_fails_the_test() {
    broken_world(false);
}

#[test]
fn an_expected_violation_is_left_for_the_test_to_check() {
    let w = broken_world(true);
    let v = w.violation().expect("the planted bug is reported");
    assert_eq!(v.invariant, InvariantId::I7);
}
