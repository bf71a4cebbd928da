//! Bounded stress: 32 hosts connect, do verified I/O and disconnect, over two listeners, while
//! an operator pauses, resumes, removes and re-adds a listener. At the end: no violation, no
//! broken invariant, every object freed, zero data mismatches.

use super::*;
use fabcheck_core::host::HostAction;
use fabcheck_runtime::client::Client;
use std::sync::atomic::AtomicU64;

const HOSTS: u32 = 32;
const RUN: Duration = Duration::from_secs(4);
/// Blocks per I/O and per host region (each host owns a disjoint region).
const BLOCKS: u64 = 8;
const REGION: u64 = 256;

#[derive(Default)]
struct Tally {
    sessions: AtomicU64,
    verified: AtomicU64,
    mismatches: AtomicU64,
}

/// One host's life: sessions of connect + verified I/O + disconnect until `end`. Errors
/// (disconnects by the operator, pauses outlasting a wait) just end the session; only a read
/// that succeeds with different data after a successful write in the same session counts.
async fn host_loop(n: u32, addrs: [SocketAddr; 2], end: tokio::time::Instant, tally: Arc<Tally>) {
    let mut round = 0u64;
    while tokio::time::Instant::now() < end {
        round += 1;
        let mut c = Client::new(addrs[(n as usize + round as usize) % 2], host(n));
        if c.connect().await.is_ok() && c.connect_io(1).await.is_ok() {
            tally.sessions.fetch_add(1, Ordering::Relaxed);
            for i in 0..4u64 {
                let slba = u64::from(n) * REGION + (round * 4 + i) % (REGION / BLOCKS) * BLOCKS;
                let d = fabcheck_runtime::perf::pattern(
                    slba ^ (round << 20),
                    1,
                    (BLOCKS * 512) as usize,
                );
                match c.write(1, 1, slba, d.clone()).await {
                    Ok(st) if st.is_success() => {}
                    _ => break,
                }
                match c.read(1, 1, slba, BLOCKS as u32).await {
                    Ok((st, got)) if st.is_success() => {
                        if got == d {
                            tally.verified.fetch_add(1, Ordering::Relaxed);
                        } else {
                            tally.mismatches.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    _ => break,
                }
            }
        }
        let _ = c.act(HostAction::DisconnectAll).await;
    }
}

async fn operator(h: &Harness, port_b: u16, end: tokio::time::Instant) -> u32 {
    let mut actions = 0;
    let b = || json!({"nqn": NQN, "listen_address": listen_address(port_b)});
    while tokio::time::Instant::now() < end {
        h.ok("fabcheck_subsystem_pause", json!({"nqn": NQN})).await;
        tokio::time::sleep(Duration::from_millis(30)).await;
        h.ok("fabcheck_subsystem_resume", json!({"nqn": NQN})).await;
        tokio::time::sleep(Duration::from_millis(150)).await;
        h.ok("nvmf_subsystem_remove_listener", b()).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        h.ok("nvmf_subsystem_add_listener", b()).await;
        tokio::time::sleep(Duration::from_millis(150)).await;
        actions += 4;
    }
    actions
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stress_32_hosts_with_operator_churn() {
    hosts_with_operator_churn().await;
}

/// The same on a current-thread runtime, where the driver writes to the sockets itself
/// (`tcp::ConnHandle`), as fabcheck-target does on one CPU.
#[tokio::test(flavor = "current_thread")]
async fn stress_32_hosts_with_operator_churn_on_one_thread() {
    hosts_with_operator_churn().await;
}

async fn hosts_with_operator_churn() {
    bounded(120, async {
        let port_b = free_port();
        let b = Trid::tcp("127.0.0.1", port_b);
        let h = harness(
            |c| {
                c.target.listeners.push(b.clone());
                c.target.subsystems[0].listeners.push(b.clone());
            },
            checked(),
        )
        .await;
        let addr_b: SocketAddr = format!("127.0.0.1:{port_b}").parse().unwrap();
        let end = tokio::time::Instant::now() + RUN;
        let tally = Arc::new(Tally::default());
        let hosts: Vec<_> = (1..=HOSTS)
            .map(|n| tokio::spawn(host_loop(n, [h.addr, addr_b], end, tally.clone())))
            .collect();
        let actions = operator(&h, port_b, end).await;
        for t in hosts {
            tokio::time::timeout(Duration::from_secs(60), t)
                .await
                .expect("host ends")
                .unwrap();
        }
        h.until("every object freed", |t, _| {
            t.qpair_count() == 0 && t.ctrlr_count() == 0 && t.request_count() == 0
        })
        .await;
        let (violation, broken) = h
            .inspect(|t, s| (t.violation().cloned(), s.invariant_failure.clone()))
            .await;
        assert!(
            violation.is_none() && broken.is_none(),
            "{violation:?} {broken:?}"
        );
        let sessions = tally.sessions.load(Ordering::Relaxed);
        let verified = tally.verified.load(Ordering::Relaxed);
        eprintln!(
            "stress: {sessions} sessions, {verified} verified I/Os, {actions} operator actions"
        );
        assert_eq!(
            tally.mismatches.load(Ordering::Relaxed),
            0,
            "data mismatches"
        );
        assert!(
            sessions >= u64::from(HOSTS),
            "every host got at least one session"
        );
        assert!(verified >= u64::from(HOSTS), "verified I/O happened");
        assert!(actions >= 4);
        let s = h.shutdown().await;
        assert!(
            s.clean && s.violation.is_none() && s.stats.invariant_failure.is_none(),
            "{s:?}"
        );
    })
    .await;
}
