//! End to end in memory: the sans-IO host wired to the real sans-IO target. Each host queue
//! connection gets a fresh target connection id; target threads, device completions and timers all run
//! in FIFO order as soon as they are enabled, and the target's invariants are checked after
//! every step.

use fabcheck_core::host::{HostAction, HostEvent};
use fabcheck_core::testkit::{
    config_with_blocks, host_config, pattern, read, write, World, HOSTNQN,
};
use fabcheck_core::wire::{status, Digests};
use fabcheck_core::Duration;

/// The target (256-block namespace) and one host (4 AERs, `digests`).
fn pair(digests: Digests) -> World {
    let mut w = World::new(config_with_blocks(256));
    let mut host = host_config(HOSTNQN);
    host.digests = digests;
    host.aers = 4;
    w.add_host(host);
    w
}

fn connect_init_write_read(digests: Digests) {
    connect_init_write_read_scheduled(digests, Vec::new());
}

fn connect_init_write_read_scheduled(digests: Digests, choices: Vec<u8>) {
    let mut p = pair(digests);
    p.choices = choices;
    p.act(HostAction::Connect);
    p.advance_to(p.now + Duration::from_millis(100));
    assert!(p.host().is_ready(), "{:?}", p.events());
    let cntlid = p.host().cntlid().unwrap();
    assert!(p.events().contains(&HostEvent::Ready { cntlid }));
    assert_eq!(p.host().namespaces().collect::<Vec<_>>(), vec![(1, 512)]);

    // Two I/O queues (on both poll groups) connect and write at the same time.
    p.act_many(vec![
        HostAction::ConnectIo { qid: 1 },
        HostAction::ConnectIo { qid: 2 },
    ]);
    assert!(p
        .events()
        .contains(&HostEvent::Connected { qid: 1, cntlid }));
    assert!(p
        .events()
        .contains(&HostEvent::Connected { qid: 2, cntlid }));
    let small = pattern(1024, 1);
    let big = pattern(16384, 2);
    let other = pattern(2048, 3);
    p.act_many(vec![
        write(1, 1, 0, small.clone()),
        write(2, 1, 2, big.clone()),
        write(5, 2, 100, other.clone()),
    ]);
    assert_eq!(p.io_done(1), Some((status::SUCCESS, Vec::new())));
    assert_eq!(p.io_done(2), Some((status::SUCCESS, Vec::new())));
    assert_eq!(p.io_done(5), Some((status::SUCCESS, Vec::new())));
    p.act_many(vec![read(3, 2, 0, 34), read(6, 1, 100, 4)]);
    let mut want = small;
    want.extend(big);
    assert_eq!(p.io_done(3), Some((status::SUCCESS, want)));
    assert_eq!(p.io_done(6), Some((status::SUCCESS, other)));

    // Keep-alive keeps the controller alive across several KATOs.
    p.advance_to(p.now + Duration::from_secs(35));
    p.act(HostAction::Read {
        tag: 4,
        qid: 1,
        nsid: 1,
        slba: 0,
        nlb: 1,
    });
    assert_eq!(p.io_done(4).map(|(s, _)| s), Some(status::SUCCESS));
    assert!(!p.events().iter().any(|e| matches!(
        e,
        HostEvent::ProtocolError { .. } | HostEvent::QueueClosed { .. }
    )));

    // Shutdown: the target drops the I/O queue, then reports SHST complete.
    p.act(HostAction::Shutdown);
    p.advance_to(p.now + Duration::from_secs(2));
    assert!(
        p.events().contains(&HostEvent::ShutdownComplete),
        "{:?}",
        p.events()
    );
    assert!(p.events().contains(&HostEvent::QueueClosed { qid: 1 }));
    assert!(p.events().contains(&HostEvent::QueueClosed { qid: 2 }));
    p.act(HostAction::DisconnectAll);
    p.advance_to(p.now + Duration::from_secs(1));
    assert_eq!(p.target.qpair_count(), 0);
    assert_eq!(p.target.ctrlr_count(), 0);
}

#[test]
fn host_and_target_connect_init_write_read_shutdown() {
    connect_init_write_read(Digests::default());
}

#[test]
fn host_and_target_with_digests() {
    connect_init_write_read(Digests {
        header: true,
        data: true,
    });
}

#[test]
fn host_without_keep_alive_is_disconnected_by_the_target() {
    let mut p = pair(Digests::default());
    p.act(HostAction::Connect);
    p.advance_to(p.now + Duration::from_millis(100));
    assert!(p.host().is_ready());
    p.act(HostAction::ConnectIo { qid: 1 });
    p.act(HostAction::SetKeepAlive(false));
    p.advance_to(p.now + Duration::from_secs(25));
    assert!(p.events().contains(&HostEvent::QueueClosed { qid: 0 }));
    assert!(p.events().contains(&HostEvent::QueueClosed { qid: 1 }));
    assert_eq!(p.host().cntlid(), None);
}

#[test]
fn reset_then_reinitialize_and_reconnect_io() {
    let mut p = pair(Digests::default());
    p.act(HostAction::Connect);
    p.advance_to(p.now + Duration::from_millis(100));
    p.act(HostAction::ConnectIo { qid: 1 });
    p.act(HostAction::Reset);
    p.advance_to(p.now + Duration::from_secs(1));
    assert!(
        p.events().contains(&HostEvent::ResetComplete),
        "{:?}",
        p.events()
    );
    assert!(
        p.events().contains(&HostEvent::QueueClosed { qid: 1 }),
        "CC.EN = 0 drops the I/O queues"
    );
    p.act(HostAction::Initialize);
    p.advance_to(p.now + Duration::from_millis(100));
    assert!(p.host().is_ready(), "{:?}", p.events());
    p.act(HostAction::ConnectIo { qid: 1 });
    p.act(HostAction::Write {
        tag: 1,
        qid: 1,
        nsid: 1,
        slba: 0,
        data: pattern(512, 9),
    });
    assert_eq!(p.io_done(1), Some((status::SUCCESS, Vec::new())));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Any order in which the target's threads and device completions run, the host's session
    /// (init, I/O, keep-alive, shutdown, teardown) ends the same way.
    #[test]
    fn any_target_schedule_gives_the_same_session(
        choices in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
    ) {
        connect_init_write_read_scheduled(Digests::default(), choices);
    }
}
