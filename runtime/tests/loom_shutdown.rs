//! loom model of the shutdown handshake: two signal handlers race to request shutdown while
//! the driver waits for the request, tears down and finishes.
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
                assert_eq!(
                    l.state(),
                    ShutdownState::Requested,
                    "nobody else moves it on"
                );
                assert!(l.begin(), "the driver starts the teardown exactly once");
                assert!(!l.begin());
                assert!(l.finish());
            })
        };
        let wins = signals
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|w| *w)
            .count();
        driver.join().unwrap();
        assert_eq!(wins, 1, "exactly one signal handler wins the request");
        assert_eq!(latch.state(), ShutdownState::Done);
        assert!(!latch.request(), "no request after done");
    });
}

/// The model has teeth: a check-then-set latch (load, then store) lets both signal handlers
/// win, and loom finds that interleaving.
#[test]
fn a_check_then_set_latch_is_caught() {
    use loom::sync::atomic::{AtomicU8, Ordering};
    use loom::sync::Arc;
    let found = std::panic::catch_unwind(|| {
        loom::model(|| {
            let state = Arc::new(AtomicU8::new(0));
            let handles: Vec<_> = (0..2)
                .map(|_| {
                    let s = state.clone();
                    thread::spawn(move || {
                        if s.load(Ordering::Acquire) == 0 {
                            s.store(1, Ordering::Release);
                            return true;
                        }
                        false
                    })
                })
                .collect();
            let wins = handles
                .into_iter()
                .map(|h| h.join().unwrap())
                .filter(|w| *w)
                .count();
            assert_eq!(wins, 1, "two handlers both won the shutdown request");
        });
    });
    assert!(found.is_err(), "loom must find the double win");
}
