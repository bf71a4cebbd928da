//! The v24.01 profile's CONNECT retry poller (`retry_connect` in `nvmf_ctrlr_cmd_connect`): a
//! CONNECT parked on `qpair->outstanding` is re-run every 100 us until its subsystem is ACTIVE
//! or it gives up after 1 s. This module owns the poller's deadline (the time-jump rule of
//! docs/architecture.md) and its firing; parking itself is in `connect.rs`.

use super::arena::ReqH;
use super::connect::{invalid_param, RETRY_PERIOD};
use super::{ConnId, Target, ThreadId, Timer};
use crate::time::Instant;

impl Target {
    /// Re-computes every retry poller's deadline (the time-jump rule, docs/architecture.md):
    /// while the subsystem is not ACTIVE the 100 us re-poll cannot change anything, so the
    /// poller is due at the give-up moment; once ACTIVE it is due at its next 100 us tick.
    pub(super) fn refresh_connect_retry_deadlines(&mut self) {
        let entries: Vec<(ConnId, ReqH)> = self.retry_reqs.iter().map(|(c, r)| (*c, *r)).collect();
        for (conn, r) in entries {
            let Some(at) = self.retry_deadline(r) else {
                continue;
            };
            self.timers.insert(Timer::ConnectRetry { conn }, at);
        }
    }

    fn retry_deadline(&self, r: ReqH) -> Option<Instant> {
        let req = self.reqs.get(r)?;
        let (parked, timeout) = (req.parked_at?, req.timeout_at?);
        let active = req
            .connect_data()
            .and_then(|d| self.find_subsystem(&d.subnqn))
            .and_then(|s| self.subsystems.get(s))
            .is_some_and(|s| s.state().admits_connect());
        let period = RETRY_PERIOD.as_nanos();
        let ticks_to = |t: Instant| (t.as_nanos().saturating_sub(parked.as_nanos()) / period) + 1;
        let n = if active {
            ticks_to(self.now)
        } else {
            ticks_to(timeout)
        };
        Some(Instant(parked.as_nanos() + n * period))
    }

    /// `retry_connect` (PG poller): `mgmt_io_outstanding++`, run `nvmf_ctrlr_cmd_connect` again.
    pub(super) fn retry_connect(&mut self, conn: ConnId) {
        let Some(r) = self.retry_reqs.remove(&conn) else {
            return;
        };
        let Some(req) = self.reqs.get(r) else { return };
        self.current = ThreadId::PollGroup(req.pg);
        let pg = req.pg;
        let Some(s) = req
            .connect_data()
            .and_then(|d| self.find_subsystem(&d.subnqn))
        else {
            // "subsystem may be deleted during the retry"
            self.complete_connect_err(r, invalid_param(256, true));
            return;
        };
        let _ = pg;
        self.readmit_mgmt(r, s);
        self.cmd_connect(r);
    }
}
