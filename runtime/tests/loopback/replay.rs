//! A live session recorded with `--record` replays in-process to identical outputs.

use super::*;
use fabcheck_core::host::{HostAction, HostEvent};
use fabcheck_core::nvmf::{Input, Output};
use fabcheck_runtime::client::Client;
use fabcheck_runtime::record::{read_recording, replay};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_session_replays_to_identical_outputs() {
    bounded(60, async {
        let path = std::env::temp_dir().join(format!("fabcheck-rec-{}.jsonl", std::process::id()));
        let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let (tap, mut tapped) = tokio::sync::mpsc::unbounded_channel();
        let opts = DriverOptions {
            record: Some(Box::new(file)),
            output_tap: Some(tap),
            ..DriverOptions::default()
        };
        let h = harness(
            |c| {
                c.target.min_kato_ms = 100;
                c.target.kas = 1;
            },
            opts,
        )
        .await;
        let mut cfg = host(1);
        cfg.kato_ms = 1000;
        let mut c = Client::new(h.addr, cfg);
        c.connect().await.unwrap();
        c.connect_io(1).await.unwrap();
        for i in 0..4u64 {
            let d = data(i, 16);
            assert!(c.write(1, 1, i * 16, d.clone()).await.unwrap().is_success());
            assert!(c.read(1, 1, i * 16, 16).await.unwrap().1 == d);
        }
        h.ok("fabcheck_subsystem_pause", json!({"nqn": NQN})).await;
        h.ok("fabcheck_subsystem_resume", json!({"nqn": NQN})).await;
        // Stop Keep Alive: the target's keep-alive timer fires and drops the controller.
        c.act(HostAction::SetKeepAlive(false)).await.unwrap();
        c.wait(Duration::from_secs(5), |e| {
            matches!(e, HostEvent::QueueClosed { qid: 0 })
        })
        .await
        .unwrap();
        h.until("freed", |t, _| t.qpair_count() == 0 && t.ctrlr_count() == 0)
            .await;
        let s = h.shutdown().await;
        assert!(s.clean && s.violation.is_none());
        let mut live: Vec<Output> = Vec::new();
        while let Ok(o) = tapped.try_recv() {
            live.push(o);
        }
        let rec =
            read_recording(std::io::BufReader::new(std::fs::File::open(&path).unwrap())).unwrap();
        let _ = std::fs::remove_file(&path);
        let kinds = |f: fn(&Input) -> bool| rec.inputs.iter().filter(|(_, i)| f(i)).count();
        assert!(kinds(|i| matches!(i, Input::Accept { .. })) == 2);
        assert!(kinds(|i| matches!(i, Input::Bytes { .. })) > 10);
        assert!(kinds(|i| matches!(i, Input::Run(_))) > 10);
        assert!(
            kinds(|i| matches!(i, Input::Fire(_))) >= 1,
            "timers are recorded"
        );
        assert!(kinds(|i| matches!(i, Input::Rpc { .. })) >= 3);
        let (replayed, target) = replay(&rec);
        assert_eq!(replayed.len(), live.len());
        assert!(replayed == live, "replay diverged from the live run");
        assert!(target.is_shut_down() && target.violation().is_none());
    })
    .await;
}
