//! What a poller runs when it fires (`Input::Fire(timer)`): the keep-alive poll, the
//! association timer, the CC re-poll and CC timeout on the controller's thread; the CONNECT
//! retry on the request's poll group and the duplicate-qid retry on the controller's thread.
//! Registration, periods and the fire-on-freed-owner check are in poller.rs.
//!
//! Invariant kept: a poller runs only while registered, at or after its deadline, on the thread
//! it was registered on.

use super::poller::PollerOwner;
use super::{Target, Timer};

impl Target {
    /// Runs the handler of a due, registered poller whose owner is live.
    pub(super) fn run_poller(&mut self, timer: Timer, owner: PollerOwner) {
        match (timer, owner) {
            (
                Timer::KeepAlive { .. }
                | Timer::Association { .. }
                | Timer::CcRepoll { .. }
                | Timer::CcTimeout { .. },
                PollerOwner::Ctrlr(h),
            ) => self.fire_ctrlr_timer(timer, h),
            (Timer::ConnectRetry { conn }, _) => {
                self.poller_unregister(timer);
                self.retry_connect(conn);
            }
            (Timer::QidRetry { conn }, _) => {
                self.poller_unregister(timer);
                self.qid_retry(conn);
            }
            (Timer::DisconnectHost { rpc }, _) => self.disconnect_host_poll(rpc),
            _ => {}
        }
    }
}
