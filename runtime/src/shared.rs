//! Small lock-free pieces shared between the runtime's tasks.
//!
//! - [`ShutdownLatch`]: the shutdown handshake between signal handlers (any number, any
//!   thread) and the driver. Invariants: the state only moves forward
//!   `Running -> Requested -> Draining -> Done`; exactly one `request()` call wins; `Done` is
//!   reached only after `Draining`, which is reached only after `Requested`.
//! - [`ConnLimiter`]: the maximum-connections limit. Invariant: the number of held permits
//!   never exceeds the limit, and every permit is returned exactly once (on drop).
//!
//! Both use the `sync` facade so the loom models check them.

use crate::sync::{Arc, AtomicU8, AtomicUsize, Ordering};

/// Where the shutdown handshake is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ShutdownState {
    /// Serving.
    Running = 0,
    /// A signal (or an API call) asked for shutdown; the driver has not started it yet.
    Requested = 1,
    /// The driver is running the target's teardown.
    Draining = 2,
    /// Teardown finished; the process may exit.
    Done = 3,
}

impl ShutdownState {
    fn from_u8(v: u8) -> Self {
        match v {
            0 => ShutdownState::Running,
            1 => ShutdownState::Requested,
            2 => ShutdownState::Draining,
            _ => ShutdownState::Done,
        }
    }
}

/// The shutdown handshake (see the module doc). Cheap to clone.
#[derive(Debug, Clone)]
pub struct ShutdownLatch {
    state: Arc<AtomicU8>,
}

impl Default for ShutdownLatch {
    fn default() -> Self {
        ShutdownLatch {
            state: Arc::new(AtomicU8::new(ShutdownState::Running as u8)),
        }
    }
}

impl ShutdownLatch {
    pub fn new() -> Self {
        Self::default()
    }

    /// The current state.
    pub fn state(&self) -> ShutdownState {
        ShutdownState::from_u8(self.state.load(Ordering::Acquire))
    }

    /// Asks for shutdown. Returns true for the one caller that moved `Running -> Requested`.
    pub fn request(&self) -> bool {
        self.advance(ShutdownState::Running, ShutdownState::Requested)
    }

    /// The driver starts the teardown. Returns true exactly once, and only after a request.
    pub fn begin(&self) -> bool {
        self.advance(ShutdownState::Requested, ShutdownState::Draining)
    }

    /// The driver finished the teardown. Returns true exactly once, and only after `begin`.
    pub fn finish(&self) -> bool {
        self.advance(ShutdownState::Draining, ShutdownState::Done)
    }

    fn advance(&self, from: ShutdownState, to: ShutdownState) -> bool {
        self.state
            .compare_exchange(from as u8, to as u8, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }
}

/// Counts live connections against a maximum. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ConnLimiter {
    live: Arc<AtomicUsize>,
    max: usize,
}

/// One admitted connection; returns its slot when dropped.
#[derive(Debug)]
pub struct ConnPermit {
    live: Arc<AtomicUsize>,
}

impl ConnLimiter {
    pub fn new(max: usize) -> Self {
        ConnLimiter {
            live: Arc::new(AtomicUsize::new(0)),
            max,
        }
    }

    /// Takes a slot if fewer than `max` are held.
    pub fn try_acquire(&self) -> Option<ConnPermit> {
        let mut cur = self.live.load(Ordering::Acquire);
        loop {
            if cur >= self.max {
                return None;
            }
            match self
                .live
                .compare_exchange_weak(cur, cur + 1, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    return Some(ConnPermit {
                        live: self.live.clone(),
                    })
                }
                Err(now) => cur = now,
            }
        }
    }

    /// Slots currently held.
    pub fn live(&self) -> usize {
        self.live.load(Ordering::Acquire)
    }

    pub fn max(&self) -> usize {
        self.max
    }
}

impl Drop for ConnPermit {
    fn drop(&mut self) {
        let before = self.live.fetch_sub(1, Ordering::AcqRel);
        debug_assert!(before > 0, "a connection permit was returned twice");
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn latch_moves_forward_only_once() {
        let l = ShutdownLatch::new();
        assert!(!l.begin(), "begin before request must fail");
        assert!(l.request());
        assert!(!l.request());
        assert_eq!(l.state(), ShutdownState::Requested);
        assert!(!l.finish());
        assert!(l.begin());
        assert!(l.finish());
        assert_eq!(l.state(), ShutdownState::Done);
    }

    #[test]
    fn limiter_caps_and_releases() {
        let lim = ConnLimiter::new(2);
        let a = lim.try_acquire().unwrap();
        let _b = lim.try_acquire().unwrap();
        assert!(lim.try_acquire().is_none());
        drop(a);
        assert_eq!(lim.live(), 1);
        assert!(lim.try_acquire().is_some());
    }
}
