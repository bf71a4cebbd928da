//! loom model of the recorder: two producers record while a third thread finishes the
//! recording. Lines are never interleaved, timestamps never go backwards, every accepted line
//! is in the flushed output and nothing is written after `finish`.
#![cfg(loom)]

use fabcheck_core::nvmf::{Input, TargetConfig, ThreadId};
use fabcheck_core::Instant;
use fabcheck_runtime::record::{read_recording, Recorder};
use loom::sync::Arc;
use loom::thread;
use std::sync::Mutex;

#[test]
fn concurrent_records_and_finish_keep_the_file_well_formed() {
    loom::model(|| {
        let rec = Recorder::new(Vec::new(), &TargetConfig::default()).unwrap();
        let finished: Arc<Mutex<Option<Vec<u8>>>> = Arc::new(Mutex::new(None));
        let producers: Vec<_> = [(5, ThreadId::App), (3, ThreadId::PollGroup(0))]
            .into_iter()
            .map(|(at, t)| {
                let rec = rec.clone();
                thread::spawn(move || rec.record(Instant(at), &Input::Run(t)).is_ok())
            })
            .collect();
        let closer = {
            let rec = rec.clone();
            let finished = finished.clone();
            thread::spawn(move || {
                *finished.lock().unwrap() = rec.finish().unwrap();
            })
        };
        let accepted = producers
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|ok| *ok)
            .count();
        closer.join().unwrap();
        let bytes = finished
            .lock()
            .unwrap()
            .take()
            .expect("finish returns the writer once");
        let parsed = read_recording(&bytes[..]).expect("whole, parseable lines");
        assert_eq!(
            parsed.inputs.len(),
            accepted,
            "accepted lines are all flushed"
        );
        let times: Vec<u64> = parsed.inputs.iter().map(|(at, _)| at.0).collect();
        assert!(
            times.windows(2).all(|w| w[0] <= w[1]),
            "monotonic: {times:?}"
        );
        assert!(rec.finish().unwrap().is_none());
    });
}
