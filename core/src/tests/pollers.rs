//! Pollers as objects (poller.rs): each registration has an owner, a thread and a period; the
//! controller's free unregisters its keep-alive and association pollers; P2 (no poller
//! outlives its owner) and P1 (no poller fires on a freed owner) find the planted slips.

use crate::nvmf::planted::{Plant, Planted};
use crate::nvmf::{Input, InvariantId, TargetConfig, Timer};
use crate::testkit::{config, pdu, World, HOSTNQN};

fn names(w: &World) -> Vec<Timer> {
    w.target
        .armed_timers()
        .into_iter()
        .map(|(t, _)| t)
        .collect()
}

fn planted(p: Plant) -> TargetConfig {
    TargetConfig {
        planted: Planted::one(p),
        ..config()
    }
}

/// Admin CONNECT with KATO 10 s, CC.EN = 1, then CC.EN = 0 (a reset that finishes at once:
/// no I/O queue) and CC.SHN (a shutdown after the reset). Returns the admin connection.
fn reset_then_shutdown(w: &mut World) -> crate::nvmf::ConnId {
    let (c, cqe) = w.connect_admin(1, HOSTNQN, 10_000);
    assert!(cqe.status.is_success(), "{cqe:?}");
    assert!(
        matches!(names(w)[..], [Timer::KeepAlive { .. }]),
        "{:?}",
        names(w)
    );
    w.send(c, &pdu::prop_set_cc(2, pdu::CC_ENABLE));
    w.run_all();
    w.send(c, &pdu::prop_set_cc(3, pdu::CC_ENABLE & !1));
    w.run_all();
    let after_reset = names(w);
    assert!(
        matches!(
            after_reset[..],
            [Timer::KeepAlive { .. }, Timer::Association { .. }]
        ),
        "the CC timeout is unregistered by the finished reset: {after_reset:?}"
    );
    w.send(c, &pdu::prop_set_cc(4, pdu::CC_SHUTDOWN & !1));
    w.run_all();
    c
}

#[test]
fn a_freed_controller_leaves_no_poller_registered() {
    let mut w = World::new(config());
    let c = reset_then_shutdown(&mut w);
    // The shutdown stopped the keep-alive poller and re-armed the association timer once.
    assert!(
        matches!(names(&w)[..], [Timer::Association { .. }]),
        "{:?}",
        names(&w)
    );
    assert_eq!(w.target.poller_count(), 1);
    w.input(Input::PeerClosed { conn: c });
    w.run_all();
    assert_eq!(w.target.ctrlr_count(), 0);
    assert_eq!(w.target.poller_count(), 0, "{:?}", names(&w));
    w.shutdown_and_check();
}

#[test]
fn an_association_timer_armed_twice_outlives_its_controller() {
    let mut w = World::new(planted(Plant::AssociationTimerArmedTwice));
    w.expect_violation = true;
    let c = reset_then_shutdown(&mut w);
    assert_eq!(w.target.poller_count(), 2, "{:?}", names(&w));
    assert_eq!(
        w.target.enabled_events().len(),
        1,
        "one Fire per poller name"
    );
    let mut due = Vec::new();
    w.target
        .push_due_inputs(w.now + crate::time::Duration::from_secs(3600), &mut due);
    assert!(
        matches!(due[..], [Input::Fire(Timer::Association { .. })]),
        "one due Fire per poller name: {due:?}"
    );
    assert_eq!(
        w.target.check_invariants(),
        Ok(()),
        "both owned by a live ctrlr"
    );
    w.input(Input::PeerClosed { conn: c });
    w.run_all();
    assert_eq!(w.target.ctrlr_count(), 0);
    let v = w.target.check_invariants().expect_err("P2");
    assert_eq!(v.invariant, InvariantId::P2, "{v}");
    assert!(v.detail.contains("Association"), "{v}");
}

#[test]
fn a_keep_alive_poller_kept_at_free_is_p2_then_p1_when_it_fires() {
    let mut w = World::new(planted(Plant::KeepAliveNotStoppedAtFree));
    w.expect_violation = true;
    let (c, cqe) = w.connect_admin(1, HOSTNQN, 10_000);
    assert!(cqe.status.is_success());
    w.input(Input::PeerClosed { conn: c });
    w.run_all();
    assert_eq!(w.target.ctrlr_count(), 0);
    let v = w.target.check_invariants().expect_err("P2");
    assert_eq!(v.invariant, InvariantId::P2, "{v}");
    // A driver that does not consult the oracle lets it fire: SPDK would run
    // `nvmf_ctrlr_keep_alive_poll` on freed memory.
    let ka = names(&w)[0];
    assert!(matches!(ka, Timer::KeepAlive { .. }), "{ka:?}");
    w.fire(ka);
    let v = w.target.violation().expect("P1");
    assert_eq!(v.invariant, InvariantId::P1, "{v}");
}

#[test]
fn the_same_story_on_the_fixed_core_fires_nothing_on_a_freed_owner() {
    let mut w = World::new(config());
    let (c, _) = w.connect_admin(1, HOSTNQN, 10_000);
    w.input(Input::PeerClosed { conn: c });
    w.run_all();
    assert_eq!(w.target.poller_count(), 0);
    assert_eq!(names(&w), vec![]);
    w.shutdown_and_check();
}
