//! RPC changes while hosts are connected, and signals to the real binary.

use super::basic::read_until_eof;
use super::*;
use fabcheck_core::host::{HostAction, HostEvent};
use fabcheck_core::nvmf::Mark;
use fabcheck_core::wire::{Digests, IcReq, Pdu};
use fabcheck_runtime::client::Client;

fn ic_req() -> Vec<u8> {
    Pdu::IcReq(IcReq {
        pfv: 0,
        hpda: 0,
        digests: Digests::default(),
        maxr2t: 0,
    })
    .to_bytes(Digests::default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listeners_added_and_removed_while_connected() {
    bounded(60, async {
        let h = harness(|_| {}, checked()).await;
        let mut a = Client::new(h.addr, host(1));
        a.connect().await.unwrap();
        a.connect_io(1).await.unwrap();
        let port = free_port();
        let b_addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        h.ok(
            "nvmf_subsystem_add_listener",
            json!({"nqn": NQN, "listen_address": listen_address(port)}),
        )
        .await;
        let listeners = h
            .ok("nvmf_subsystem_get_listeners", json!({"nqn": NQN}))
            .await;
        assert_eq!(listeners.as_array().unwrap().len(), 2, "{listeners}");
        let mut b = Client::new(b_addr, host(2));
        b.connect().await.unwrap();
        b.connect_io(1).await.unwrap();
        h.ok(
            "nvmf_subsystem_remove_listener",
            json!({"nqn": NQN, "listen_address": listen_address(port)}),
        )
        .await;
        b.wait(Duration::from_secs(5), |e| {
            matches!(e, HostEvent::QueueClosed { .. })
        })
        .await
        .expect("the host on the removed listener is disconnected");
        // The host on the other listener is untouched.
        let (st, _) = a.read(1, 1, 0, 8).await.unwrap();
        assert!(st.is_success());
        // The port is closed once no subsystem uses it.
        let mut refused = false;
        for _ in 0..40 {
            if tokio::net::TcpStream::connect(b_addr).await.is_err() {
                refused = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert!(refused, "removed listener still accepts connections");
        let s = h.shutdown().await;
        assert!(
            s.clean && s.violation.is_none() && s.stats.invariant_failure.is_none(),
            "{s:?}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_changes_send_aens_and_pause_holds_io_until_resume() {
    bounded(60, async {
        let h = harness(|_| {}, checked()).await;
        let mut a = Client::new(h.addr, host(1));
        a.connect().await.unwrap();
        a.connect_io(1).await.unwrap();
        let name = h
            .ok(
                "bdev_malloc_create",
                json!({"num_blocks": 2048, "block_size": 4096, "name": "Extra"}),
            )
            .await;
        assert_eq!(name, json!("Extra"));
        let nsid = h
            .ok(
                "nvmf_subsystem_add_ns",
                json!({"nqn": NQN, "namespace": {"bdev_name": "Extra"}}),
            )
            .await;
        assert_eq!(nsid, json!(2));
        a.wait(Duration::from_secs(5), |e| matches!(e, HostEvent::Aen(_)))
            .await
            .expect("AEN on add");
        let subs = h.ok("nvmf_get_subsystems", json!({"nqn": NQN})).await;
        assert_eq!(
            subs[0]["namespaces"][1]["bdev_name"],
            json!("Extra"),
            "{subs}"
        );
        h.ok("nvmf_subsystem_remove_ns", json!({"nqn": NQN, "nsid": 2}))
            .await;
        let aens = |c: &Client| {
            c.seen
                .iter()
                .filter(|e| matches!(e, HostEvent::Aen(_)))
                .count()
        };
        let before = aens(&a);
        let got_second = a
            .wait(Duration::from_secs(5), |e| matches!(e, HostEvent::Aen(_)))
            .await;
        assert!(
            got_second.is_ok() || aens(&a) > before,
            "AEN on remove: {:?}",
            a.seen
        );
        assert!(h.inspect(|_, s| s.mark(Mark::NamespaceChangedAen)).await >= 2);
        pause_holds_io_until_resume(&h, &mut a).await;
        let s = h.shutdown().await;
        assert!(
            s.clean && s.violation.is_none() && s.stats.invariant_failure.is_none(),
            "{s:?}"
        );
    })
    .await;
}

/// Pause: I/O waits; resume: it completes.
async fn pause_holds_io_until_resume(h: &Harness, a: &mut Client) {
    // nsid 0xFFFFFFFF pauses every namespace (nsid 0 pauses none, as in SPDK).
    h.ok(
        "fabcheck_subsystem_pause",
        json!({"nqn": NQN, "nsid": 4294967295u32}),
    )
    .await;
    let subs = h.ok("nvmf_get_subsystems", json!({"nqn": NQN})).await;
    assert_eq!(subs[0]["state"], json!("paused"));
    let tag = a.tag();
    a.act(HostAction::Read {
        tag,
        qid: 1,
        nsid: 1,
        slba: 0,
        nlb: 8,
    })
    .await
    .unwrap();
    let early = a
        .wait(Duration::from_millis(300), |e| {
            matches!(e, HostEvent::IoDone { .. })
        })
        .await;
    assert!(early.is_err(), "I/O completed while paused: {early:?}");
    h.ok("fabcheck_subsystem_resume", json!({"nqn": NQN})).await;
    let (st, _) = a.io_done(tag).await.unwrap();
    assert!(st.is_success(), "queued I/O completes after resume");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_listen_without_subsystem_while_a_connection_has_not_sent_connect() {
    bounded(60, async {
        let h = harness(|_| {}, checked()).await;
        let mut a = Client::new(h.addr, host(1));
        a.connect().await.unwrap();
        let mut raw = tokio::net::TcpStream::connect(h.addr).await.unwrap();
        raw.write_all(&ic_req()).await.unwrap();
        let mut resp = vec![0u8; 128];
        tokio::time::timeout(Duration::from_secs(5), raw.read_exact(&mut resp))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(resp[0], 0x01, "ICResp");
        h.until("both qpairs exist", |t, _| t.qpair_count() == 2)
            .await;
        let port: u16 = h.addr.port();
        // A balanced embedder: it stops the reference it took, not one a subsystem listener
        // holds (that would leave the listener pointing at a freed port, hazard H-13).
        h.ok(
            "fabcheck_transport_listen",
            json!({"listen_address": listen_address(port)}),
        )
        .await;
        h.ok(
            "fabcheck_stop_listen",
            json!({"listen_address": listen_address(port)}),
        )
        .await;
        let (_, eof) = read_until_eof(&mut raw, Duration::from_secs(5)).await;
        assert!(eof, "the connection without CONNECT is closed");
        a.wait(Duration::from_secs(5), |e| {
            matches!(e, HostEvent::QueueClosed { qid: 0 })
        })
        .await
        .expect("no filter: every qpair on the listener goes");
        assert!(
            h.inspect(|_, s| s.mark(Mark::StopListenMetQpairWithoutCtrlr))
                .await
                >= 1
        );
        h.until("all freed", |t, _| {
            t.qpair_count() == 0 && t.ctrlr_count() == 0
        })
        .await;
        let s = h.shutdown().await;
        assert!(
            s.clean && s.violation.is_none() && s.stats.invariant_failure.is_none(),
            "{s:?}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_shuts_down_gracefully_on_sigterm_and_sigint() {
    bounded(60, async {
        for sig in ["-TERM", "-INT"] {
            let sock = std::env::temp_dir()
                .join(format!("fabcheck-bin-{}-{sig}.sock", std::process::id()));
            let port = free_port();
            let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fabcheck-target"))
                .args(["--listen", &format!("127.0.0.1:{port}"), "--rpc-socket"])
                .arg(&sock)
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
            let mut c = None;
            for _ in 0..100 {
                if tokio::net::TcpStream::connect(addr).await.is_ok() {
                    c = Some(Client::new(addr, host(1)));
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let mut c = c.expect("binary listens");
            c.connect().await.unwrap();
            let pid = child.id().to_string();
            let st = std::process::Command::new("kill")
                .args([sig, &pid])
                .status()
                .unwrap();
            assert!(st.success());
            let mut exit = None;
            for _ in 0..300 {
                exit = child.try_wait().unwrap();
                if exit.is_some() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let exit = exit.expect("the binary exits within 15 s");
            assert!(exit.success(), "{sig}: exit status {exit:?}");
            c.wait(Duration::from_secs(5), |e| {
                matches!(e, HostEvent::QueueClosed { qid: 0 })
            })
            .await
            .expect("the teardown disconnected the host");
            assert!(!sock.exists(), "the RPC socket file is removed");
        }
    })
    .await;
}
