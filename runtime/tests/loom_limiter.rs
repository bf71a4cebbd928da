//! loom model of the maximum-connections limiter: acceptors race for slots; the number of
//! held permits never exceeds the limit and every permit comes back.
#![cfg(loom)]

use fabcheck_runtime::shared::ConnLimiter;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;

#[test]
fn permits_never_exceed_the_limit_and_all_return() {
    loom::model(|| {
        let lim = ConnLimiter::new(1);
        let held = Arc::new(AtomicUsize::new(0));
        let admitted = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let lim = lim.clone();
                let held = held.clone();
                let admitted = admitted.clone();
                thread::spawn(move || {
                    if let Some(permit) = lim.try_acquire() {
                        let now = held.fetch_add(1, Ordering::SeqCst) + 1;
                        assert!(now <= 1, "{now} permits held with a limit of 1");
                        admitted.fetch_add(1, Ordering::SeqCst);
                        held.fetch_sub(1, Ordering::SeqCst);
                        drop(permit);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(lim.live(), 0, "every permit was returned");
        assert!(admitted.load(Ordering::SeqCst) >= 1, "someone got in");
        assert!(lim.try_acquire().is_some());
    });
}
