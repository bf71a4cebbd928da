//! C2HData SUCCESS on the wire: a `spdk = "v24.01"` target ends every successful read with a
//! C2HData carrying SUCCESS and no CapsuleResp (`_nvmf_tcp_send_c2h_data`); a master target
//! does so only for a host that disabled SQ flow control in its CONNECT (`dissqfc`,
//! 00c2f8cd49). The sans-IO host and `fabcheck-perf` take that C2HData as the read's
//! completion, as SPDK's host and Linux do.

use super::*;
use fabcheck_core::nvmf::Spdk;
use fabcheck_runtime::client::Client;
use fabcheck_runtime::perf::{self, PerfConfig, Progress, Workload};

/// A 50/50 verified mix on one connection.
fn perf_config(addr: SocketAddr, disable_sq_flow_control: bool) -> PerfConfig {
    PerfConfig {
        target: addr,
        subnqn: NQN.to_string(),
        depth: 4,
        io_size: 4096,
        workload: Workload::Rw,
        read_pct: 50,
        duration: Duration::from_millis(300),
        connections: 1,
        verify: true,
        range_bytes: 1 << 20,
        nsid: 1,
        kato_ms: 10_000,
        disable_sq_flow_control,
    }
}

/// Writes, reads back through the host, then runs a verified perf mix.
async fn write_read_and_perf(addr: SocketAddr, disable_sq_flow_control: bool) {
    let mut hc = host(1);
    hc.disable_sq_flow_control = disable_sq_flow_control;
    let mut c = Client::new(addr, hc);
    c.connect().await.unwrap();
    c.connect_io(1).await.unwrap();
    let d = data(64, 8);
    assert!(c.write(1, 1, 64, d.clone()).await.unwrap().is_success());
    let (st, got) = c.read(1, 1, 64, 8).await.unwrap();
    assert!(st.is_success() && got == d, "read back");
    let r = perf::run(
        perf_config(addr, disable_sq_flow_control),
        Arc::new(Progress::default()),
    )
    .await
    .unwrap();
    assert!(r.ios > 0, "{r:?}");
    assert_eq!((r.errors, r.mismatches), (0, 0), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v24_01_reads_complete_by_c2h_success_for_host_and_perf() {
    bounded(60, async {
        let h = harness(|c| c.target.spdk = Spdk::V24_01, checked()).await;
        write_read_and_perf(h.addr, false).await;
        let s = h.shutdown().await;
        assert!(s.clean && s.violation.is_none(), "{s:?}");
    })
    .await;
}

/// master with hosts that disable SQ flow control: reads end with C2HData SUCCESS (the core
/// test `master_honours_dissqfc_and_releases_ignore_it` pins the PDUs), and the host and
/// `fabcheck-perf` complete them with verified data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_reads_complete_by_c2h_success_when_the_host_disables_sq_flow_control() {
    bounded(60, async {
        let h = harness(|c| c.target.spdk = Spdk::Master, checked()).await;
        write_read_and_perf(h.addr, true).await;
        let s = h.shutdown().await;
        assert!(s.clean && s.violation.is_none(), "{s:?}");
    })
    .await;
}

/// `fabcheck-target --spdk NAME` picks the profile (here visible as the answer to a duplicate
/// `nvmf_subsystem_add_host`: an error in master, success in v24.01,
/// `Spdk::refuses_duplicate_host`); an unknown name is a one-line error and exit status 2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_takes_the_profile_from_spdk() {
    bounded(60, async {
        let bin = env!("CARGO_BIN_EXE_fabcheck-target");
        for (profile, refused) in [
            (None, true),
            (Some("v24.01"), false),
            (Some("v26.05"), true),
            (Some("master"), true),
        ] {
            let sock = std::env::temp_dir().join(format!(
                "fabcheck-spdk-{}-{refused}-{profile:?}.sock",
                std::process::id()
            ));
            let mut cmd = std::process::Command::new(bin);
            cmd.args(["--listen", &format!("127.0.0.1:{}", free_port())])
                .arg("--rpc-socket")
                .arg(&sock);
            if let Some(p) = profile {
                cmd.args(["--spdk", p]);
            }
            let mut child = cmd.stderr(std::process::Stdio::null()).spawn().unwrap();
            for _ in 0..200 {
                if sock.exists() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            let add = |id: u32| {
                json!({"jsonrpc": "2.0", "id": id, "method": "nvmf_subsystem_add_host",
                    "params": {"nqn": NQN, "host": "nqn.2014-08.org.fabcheck:twice"}})
                .to_string()
            };
            let req = format!("{}{}", add(1), add(2));
            let answer = raw_rpc_n(&sock, req.as_bytes(), 2).await;
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_file(&sock);
            assert_eq!(answer[0]["result"], Value::Bool(true), "{answer:?}");
            assert_eq!(
                answer[1].get("error").is_some(),
                refused,
                "{profile:?}: {answer:?}"
            );
        }
        let out = std::process::Command::new(bin)
            .args(["--spdk", "v26.06", "--listen", "127.0.0.1:1"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("v26.06") && err.contains("v24.01, v26.05 or master"),
            "{err}"
        );
    })
    .await;
}
