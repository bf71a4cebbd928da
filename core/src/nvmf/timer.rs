//! Pollers and timers in virtual time: `Input::Fire(timer)` runs one armed timer on its thread
//! (keep-alive, association, CC re-poll, CC timeout on the controller's thread; CONNECT retry on
//! the qpair's poll group). A timer is disarmed before it runs; handlers re-arm it if needed.
//!
//! Invariant kept: a timer fires only at or after its deadline; spurious fires are no-ops.

use super::{Target, Timer};

impl Target {
    /// Fires `timer` if it is armed and due.
    pub(super) fn fire_timer(&mut self, timer: Timer) {
        let Some(at) = self.timers.get(&timer).copied() else {
            return;
        };
        if self.now < at {
            return;
        }
        self.timers.remove(&timer);
        match timer {
            Timer::KeepAlive { ctrlr }
            | Timer::Association { ctrlr }
            | Timer::CcRepoll { ctrlr }
            | Timer::CcTimeout { ctrlr } => {
                self.fire_ctrlr_timer(timer, ctrlr);
            }
            Timer::ConnectRetry { conn } => self.retry_connect(conn),
            Timer::QidRetry { conn } => self.qid_retry(conn),
            Timer::IdleConnection { .. } => {}
        }
    }
}
