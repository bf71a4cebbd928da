//! The `cfg(loom)` synchronization facade: every shared-state piece of the runtime (the
//! shutdown latch, the connection limiter, the recorder) takes its `Arc`, `Mutex` and atomics
//! from here, so `RUSTFLAGS="--cfg loom"` swaps in loom's model-checked versions and the loom
//! models in `tests/loom_*.rs` explore every interleaving of the real code.

#[cfg(loom)]
pub use loom::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
#[cfg(loom)]
pub use loom::sync::{Arc, Mutex, MutexGuard};

#[cfg(not(loom))]
pub use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
#[cfg(not(loom))]
pub use std::sync::{Arc, Mutex, MutexGuard};

/// Locks `m`, recovering the data if a holder panicked (the runtime never leaves shared state
/// half-updated across a panic point, so the data is still consistent).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}
