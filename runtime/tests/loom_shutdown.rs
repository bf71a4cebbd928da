//! loom model of the shutdown handshake: two signal handlers race to request shutdown while
//! the driver waits for the request, tears down and finishes; a waiter watches the state.
#![cfg(loom)]

use fabcheck_runtime::shared::{ShutdownLatch, ShutdownState};
use loom::thread;

#[test]
fn exactly_one_request_wins_and_the_state_only_moves_forward() {
    loom::model(|| {
        let latch = ShutdownLatch::new();
        let signals: Vec<_> = (0..2)
            .map(|_| {
                let l = latch.clone();
                thread::spawn(move || l.request())
            })
            .collect();
        let driver = {
            let l = latch.clone();
            thread::spawn(move || {
                while l.state() == ShutdownState::Running {
                    thread::yield_now();
                }
                assert!(l.begin(), "the driver starts the teardown exactly once");
                assert!(!l.begin());
                assert!(l.finish());
            })
        };
        let watcher = {
            let l = latch.clone();
            thread::spawn(move || {
                let first = l.state();
                let second = l.state();
                assert!(
                    second >= first,
                    "state went backwards: {first:?} -> {second:?}"
                );
            })
        };
        let wins = signals
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|w| *w)
            .count();
        driver.join().unwrap();
        watcher.join().unwrap();
        assert_eq!(wins, 1, "exactly one signal handler wins the request");
        assert_eq!(latch.state(), ShutdownState::Done);
        assert!(!latch.request(), "no request after done");
    });
}
