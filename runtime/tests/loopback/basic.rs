//! Connect, initialize, write, read back; two initiators; keep-alive; limits; shutdown.

use super::*;
use fabcheck_core::host::{HostAction, HostEvent};
use fabcheck_core::nvmf::Mark;
use fabcheck_runtime::client::Client;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initiator_connects_writes_and_reads_back() {
    connects_writes_and_reads_back().await;
}

/// The same on a current-thread runtime, where the driver writes to the sockets itself
/// (`tcp::ConnHandle`), as fabcheck-target does on one CPU.
#[tokio::test(flavor = "current_thread")]
async fn initiator_connects_writes_and_reads_back_on_one_thread() {
    connects_writes_and_reads_back().await;
}

async fn connects_writes_and_reads_back() {
    bounded(60, async {
        let h = harness(|_| {}, checked()).await;
        let mut c = Client::new(h.addr, host(1));
        let cntlid = c.connect().await.unwrap();
        assert!(cntlid >= 1);
        assert_eq!(c.host.namespaces().collect::<Vec<_>>(), vec![(1, 512)]);
        c.connect_io(1).await.unwrap();
        // In-capsule (4 KiB) and R2T (64 KiB) writes, then reads of both.
        for (slba, blocks) in [(100u64, 8usize), (4096, 128)] {
            let d = data(slba, blocks);
            assert!(c.write(1, 1, slba, d.clone()).await.unwrap().is_success());
            let (st, got) = c.read(1, 1, slba, blocks as u32).await.unwrap();
            assert!(st.is_success());
            assert!(got == d, "read back differs at slba {slba}");
        }
        let (st, _) = c.read(1, 1, 131_072, 1).await.unwrap();
        assert!(!st.is_success(), "a read past the end must fail");
        let qpairs = h.ok("nvmf_subsystem_get_qpairs", json!({"nqn": NQN})).await;
        assert_eq!(qpairs.as_array().unwrap().len(), 2, "{qpairs}");
        for q in qpairs.as_array().unwrap() {
            assert_eq!(q["hostnqn"], json!("nqn.2014-08.org.fabcheck:test-host-1"));
            assert_eq!(q["peer_address"]["traddr"], json!("127.0.0.1"), "{q}");
            assert_ne!(q["peer_address"]["trsvcid"], q["listen_address"]["trsvcid"]);
        }
        let ctrlrs = h
            .ok("nvmf_subsystem_get_controllers", json!({"nqn": NQN}))
            .await;
        assert_eq!(ctrlrs[0]["cntlid"], json!(cntlid));
        assert_eq!(ctrlrs[0]["cntrltype"], json!("io"));
        // SPDK counts every bit of the qpair mask: the admin queue and the one I/O queue.
        assert_eq!(ctrlrs[0]["num_io_qpairs"], json!(2));
        assert_eq!(
            ctrlrs[0]["hostnqn"],
            json!("nqn.2014-08.org.fabcheck:test-host-1")
        );
        c.act(HostAction::DisconnectAll).await.unwrap();
        h.until("everything freed", |t, _| {
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
async fn two_initiators_see_each_others_writes() {
    bounded(60, async {
        let h = harness(|_| {}, checked()).await;
        let (mut a, mut b) = (Client::new(h.addr, host(1)), Client::new(h.addr, host(2)));
        let (ca, cb) = tokio::join!(a.connect(), b.connect());
        assert_ne!(ca.unwrap(), cb.unwrap(), "distinct controllers");
        let (ia, ib) = tokio::join!(a.connect_io(1), b.connect_io(1));
        ia.unwrap();
        ib.unwrap();
        let (da, db) = (data(1, 16), data(2, 16));
        let (wa, wb) = tokio::join!(
            a.write(1, 1, 0, da.clone()),
            b.write(1, 1, 1000, db.clone())
        );
        assert!(wa.unwrap().is_success() && wb.unwrap().is_success());
        let (ra, rb) = tokio::join!(a.read(1, 1, 1000, 16), b.read(1, 1, 0, 16));
        assert!(ra.unwrap().1 == db, "a reads b's data");
        assert!(rb.unwrap().1 == da, "b reads a's data");
        let s = h.shutdown().await;
        assert!(s.clean && s.violation.is_none() && s.stats.invariant_failure.is_none());
        // The teardown disconnected both hosts.
        let ea = a
            .wait(Duration::from_secs(5), |e| {
                matches!(e, HostEvent::QueueClosed { qid: 0 })
            })
            .await;
        assert!(ea.is_ok(), "host a saw its admin queue close");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_keeps_a_controller_and_its_absence_expires_it() {
    bounded(60, async {
        let h = harness(
            |c| {
                c.target.min_kato_ms = 100;
                c.target.kas = 1;
            },
            checked(),
        )
        .await;
        let mut cfg = host(1);
        cfg.kato_ms = 1000;
        let mut c = Client::new(h.addr, cfg);
        c.connect().await.unwrap();
        c.connect_io(1).await.unwrap();
        c.idle(Duration::from_millis(2500)).await.unwrap();
        let (st, _) = c.read(1, 1, 0, 1).await.unwrap();
        assert!(
            st.is_success(),
            "alive after 2+ KATO periods thanks to Keep Alive"
        );
        assert_eq!(h.inspect(|_, s| s.mark(Mark::KeepAliveExpired)).await, 0);
        c.act(HostAction::SetKeepAlive(false)).await.unwrap();
        c.wait(Duration::from_secs(5), |e| {
            matches!(e, HostEvent::QueueClosed { qid: 0 })
        })
        .await
        .expect("the target drops a silent controller");
        assert!(h.inspect(|_, s| s.mark(Mark::KeepAliveExpired)).await >= 1);
        h.until("controller freed", |t, _| {
            t.ctrlr_count() == 0 && t.qpair_count() == 0
        })
        .await;
        let s = h.shutdown().await;
        assert!(s.violation.is_none() && s.stats.invariant_failure.is_none());
    })
    .await;
}

/// Reads until EOF or `limit`; returns the bytes and whether EOF came.
pub async fn read_until_eof(s: &mut tokio::net::TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    let mut all = Vec::new();
    let mut buf = vec![0u8; 4096];
    let end = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(end, s.read(&mut buf)).await {
            Err(_) => return (all, false),
            Ok(Ok(0)) | Ok(Err(_)) => return (all, true),
            Ok(Ok(n)) => all.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_and_connection_limit_are_enforced() {
    bounded(60, async {
        let h = harness(
            |c| {
                c.limits.idle_timeout_ms = 300;
                c.limits.max_connections = 2;
            },
            checked(),
        )
        .await;
        let mut idle = tokio::net::TcpStream::connect(h.addr).await.unwrap();
        let mut second = tokio::net::TcpStream::connect(h.addr).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut third = tokio::net::TcpStream::connect(h.addr).await.unwrap();
        let (_, eof3) = read_until_eof(&mut third, Duration::from_millis(1000)).await;
        assert!(eof3, "a connection over the limit is closed at once");
        let (_, eof1) = read_until_eof(&mut idle, Duration::from_secs(3)).await;
        assert!(
            eof1,
            "a connection that never sends ICReq is closed after the idle timeout"
        );
        let (_, eof2) = read_until_eof(&mut second, Duration::from_secs(3)).await;
        assert!(eof2);
        h.until("qpairs freed", |t, _| t.qpair_count() == 0).await;
        drop((idle, second, third));
        // Closed sockets hold their slot while they linger (draining input).
        tokio::time::sleep(fabcheck_runtime::tcp::CLOSE_LINGER + Duration::from_millis(200)).await;
        // With the slots free again, a real host still gets in.
        let mut c = Client::new(h.addr, host(1));
        c.connect().await.unwrap();
        let s = h.shutdown().await;
        assert!(s.violation.is_none() && s.stats.invariant_failure.is_none());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_socket_survives_malformed_json() {
    bounded(30, async {
        let h = harness(|_| {}, DriverOptions::default()).await;
        let r = raw_rpc(&h.rpc_path, b"{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": }").await;
        assert_eq!(r[0]["error"]["code"], json!(-32700));
        let two = b"{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"nope\"}{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"spdk_get_version\"}";
        let r = raw_rpc_n(&h.rpc_path, two, 2).await;
        assert_eq!((r[0]["id"].clone(), r[0]["error"]["code"].clone()), (json!(7), json!(-32601)));
        assert_eq!(r[1]["id"], json!(8));
        assert!(r[1]["result"]["version"].as_str().unwrap().contains("SPDK"));
        let missing = h.rpc("nvmf_subsystem_add_host", json!({"nqn": "nqn.none", "host": "h"})).await;
        assert!(missing["error"]["code"].as_i64().unwrap() < 0, "{missing}");
        let s = h.shutdown().await;
        assert!(s.clean);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_outside_the_allow_list_get_invalid_host() {
    bounded(60, async {
        let allowed = host(1).hostnqn;
        let h = harness(
            move |c| {
                let sub = &mut c.target.subsystems[0];
                sub.allow_any_host = false;
                sub.hosts = vec![allowed];
            },
            checked(),
        )
        .await;
        let mut stranger = Client::new(h.addr, host(2));
        let err = stranger.connect().await.unwrap_err();
        let invalid_host = fabcheck_core::wire::status::CONNECT_INVALID_HOST;
        assert!(
            stranger.seen.iter().any(|e| matches!(e,
                HostEvent::ConnectFailed { qid: 0, status } if status.sct == invalid_host.sct && status.sc == invalid_host.sc)),
            "{err}"
        );
        let mut friend = Client::new(h.addr, host(1));
        friend.connect().await.unwrap();
        // The operator opens the subsystem to everyone: the stranger gets in.
        h.ok("nvmf_subsystem_allow_any_host", json!({"nqn": NQN, "allow_any_host": true})).await;
        let mut again = Client::new(h.addr, host(2));
        again.connect().await.unwrap();
        let s = h.shutdown().await;
        assert!(s.clean && s.violation.is_none() && s.stats.invariant_failure.is_none(), "{s:?}");
    })
    .await;
}
