//! The target wired to real sans-IO hosts (`fabcheck_core::host::Host`) in memory: a full
//! session (connect, initialize, I/O queue, write and read back, keep alive for a minute of
//! virtual time, shutdown), two hosts on two poll groups, a namespace-changed AEN, and a
//! keep-alive expiry when the host stops sending Keep Alive.

use crate::host::{HostAction, HostEvent};
use crate::nvmf::{Mark, RpcRequest, ThreadId};
use crate::testkit::{config, host_config, namespace, World, NQN};
use crate::testkit::{HOSTNQN, HOSTNQN_B};
use crate::time::Duration;
use crate::wire::AsyncEvent;

fn io_done(w: &World, h: usize, tag: u64) -> Option<(bool, Vec<u8>)> {
    let first = w.io_dones(h, tag).into_iter().next();
    first.map(|(status, data)| (status.is_success(), data))
}

fn connected_host(w: &mut World, hostnqn: &str) -> usize {
    let mut cfg = host_config(hostnqn);
    cfg.aers = 4;
    let h = w.add_host(cfg);
    w.host_do(h, HostAction::Connect);
    w.advance_to(w.now + Duration::from_millis(10));
    assert!(
        w.ready_cntlid(h).is_some(),
        "host ready: {:?}",
        w.host_events(h)
    );
    h
}

#[test]
fn sans_io_host_full_session() {
    let mut w = World::new(config());
    let h = connected_host(&mut w, HOSTNQN);
    w.host_do(h, HostAction::ConnectIo { qid: 1 });
    w.advance_to(w.now + Duration::from_millis(10));
    let small: Vec<u8> = (0..1024).map(|i| i as u8).collect();
    let big: Vec<u8> = (0..8192).map(|i| (i / 3) as u8).collect();
    w.host_do(
        h,
        HostAction::Write {
            tag: 1,
            qid: 1,
            nsid: 1,
            slba: 0,
            data: small.clone(),
        },
    );
    w.host_do(
        h,
        HostAction::Write {
            tag: 2,
            qid: 1,
            nsid: 1,
            slba: 2,
            data: big.clone(),
        },
    );
    w.advance_to(w.now + Duration::from_millis(10));
    assert_eq!(io_done(&w, h, 1).map(|d| d.0), Some(true));
    assert_eq!(io_done(&w, h, 2).map(|d| d.0), Some(true));
    w.host_do(
        h,
        HostAction::Read {
            tag: 3,
            qid: 1,
            nsid: 1,
            slba: 0,
            nlb: 18,
        },
    );
    w.advance_to(w.now + Duration::from_millis(10));
    let (ok, data) = io_done(&w, h, 3).expect("read done");
    assert!(ok);
    assert_eq!(&data[..1024], &small[..]);
    assert_eq!(&data[1024..], &big[..]);
    // A minute of virtual time: the host's Keep Alives keep the controller alive.
    w.advance_to(w.now + Duration::from_secs(60));
    assert_eq!(w.marked(Mark::KeepAliveExpired), 0);
    w.host_do(h, HostAction::Shutdown);
    w.advance_to(w.now + Duration::from_secs(1));
    assert!(
        w.host_events(h).contains(&HostEvent::ShutdownComplete),
        "{:?}",
        w.host_events(h)
    );
    w.host_do(h, HostAction::DisconnectAll);
    w.advance_to(w.now + Duration::from_millis(10));
    assert_eq!((w.target.qpair_count(), w.target.ctrlr_count()), (0, 0));
    w.shutdown_and_check();
}

#[test]
fn two_sans_io_hosts_use_both_poll_groups_and_get_the_aen() {
    let mut w = World::new(config());
    let a = connected_host(&mut w, HOSTNQN);
    let b = connected_host(&mut w, HOSTNQN_B);
    assert_ne!(w.ready_cntlid(a), w.ready_cntlid(b));
    let threads: Vec<_> = w
        .hosts
        .iter()
        .map(|s| w.target.qpair_thread(s.conns[&0]))
        .collect();
    assert_eq!(
        threads,
        vec![Some(ThreadId::PollGroup(0)), Some(ThreadId::PollGroup(1))]
    );
    let ns = namespace(2, 16);
    let id = w.rpc(RpcRequest::AddNamespace {
        nqn: NQN.into(),
        ns,
    });
    w.advance_to(w.now + Duration::from_millis(10));
    assert!(w.rpc_ok(id));
    for h in [a, b] {
        assert!(
            w.host_events(h)
                .contains(&HostEvent::Aen(AsyncEvent::NAMESPACE_CHANGED)),
            "{:?}",
            w.host_events(h)
        );
    }
    w.shutdown_and_check();
}

#[test]
fn a_silent_sans_io_host_expires() {
    let mut w = World::new(config());
    let h = connected_host(&mut w, HOSTNQN);
    w.host_do(h, HostAction::SetKeepAlive(false));
    w.advance_to(w.now + Duration::from_secs(30));
    assert_eq!(w.marked(Mark::KeepAliveExpired), 1);
    assert!(w
        .host_events(h)
        .iter()
        .any(|e| matches!(e, HostEvent::QueueClosed { qid: 0 })));
    assert_eq!(w.target.ctrlr_count(), 0);
    w.shutdown_and_check();
}
