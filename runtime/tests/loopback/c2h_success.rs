//! v24.01's C2H success optimization on the wire: a `spdk = "v24.01"` target ends every
//! successful read with a C2HData carrying SUCCESS and no CapsuleResp
//! (`_nvmf_tcp_send_c2h_data`); the sans-IO host and `fabcheck-perf` take that C2HData as the
//! read's completion, as SPDK's host and Linux do.

use super::*;
use fabcheck_core::nvmf::Spdk;
use fabcheck_runtime::client::Client;
use fabcheck_runtime::perf::{self, PerfConfig, Progress, Workload};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v24_01_reads_complete_by_c2h_success_for_host_and_perf() {
    bounded(60, async {
        let h = harness(|c| c.target.spdk = Spdk::V24_01, checked()).await;
        let mut c = Client::new(h.addr, host(1));
        c.connect().await.unwrap();
        c.connect_io(1).await.unwrap();
        let d = data(64, 8);
        assert!(c.write(1, 1, 64, d.clone()).await.unwrap().is_success());
        let (st, got) = c.read(1, 1, 64, 8).await.unwrap();
        assert!(
            st.is_success() && got == d,
            "read back through C2HData SUCCESS"
        );
        let cfg = PerfConfig {
            target: h.addr,
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
        };
        let r = perf::run(cfg, Arc::new(Progress::default())).await.unwrap();
        assert!(r.ios > 0, "{r:?}");
        assert_eq!((r.errors, r.mismatches), (0, 0), "{r:?}");
        let s = h.shutdown().await;
        assert!(s.clean && s.violation.is_none(), "{s:?}");
    })
    .await;
}

/// `fabcheck-target --spdk NAME` picks the profile (here visible as the transport's
/// `c2h_success`); an unknown name is a one-line error and exit status 2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_takes_the_profile_from_spdk() {
    bounded(60, async {
        let bin = env!("CARGO_BIN_EXE_fabcheck-target");
        for (profile, c2h) in [
            (None, false),
            (Some("v24.01"), true),
            (Some("master"), false),
        ] {
            let sock = std::env::temp_dir().join(format!(
                "fabcheck-spdk-{}-{c2h}-{profile:?}.sock",
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
            let req = br#"{"jsonrpc":"2.0","id":1,"method":"nvmf_get_transports"}"#;
            let answer = raw_rpc_n(&sock, req, 1).await;
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_file(&sock);
            assert_eq!(
                answer[0]["result"][0]["c2h_success"],
                Value::Bool(c2h),
                "{profile:?}: {answer:?}"
            );
        }
        let out = std::process::Command::new(bin)
            .args(["--spdk", "v26.05", "--listen", "127.0.0.1:1"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("v26.05") && err.contains("master or v24.01"),
            "{err}"
        );
    })
    .await;
}
