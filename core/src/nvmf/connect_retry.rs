//! The CONNECT retry poller of v21.07 .. v24.01 (`retry_connect` in `nvmf_ctrlr_cmd_connect`),
//! switched on by catalogue entry `spdk-3095` in the v24.01 profile (with the switch off the
//! v24.01 profile parks in `sgroup->queued`, as v24.01.x does with the backport 0276a8e631): a
//! CONNECT parked on `qpair->outstanding` is re-run every 100 us until its subsystem is ACTIVE
//! or it gives up after 1 s with CONTROLLER_BUSY. This module owns the poller's deadline (the
//! time-jump rule of docs/architecture.md), its firing, and the L1 bookkeeping of BUSY
//! answers; parking itself is in `connect.rs`.
//!
//! Invariant served: L1 (a BUSY answer to a CONNECT that only waited for a pause is recorded
//! and reported once its subsystem is ACTIVE again).

use super::arena::{ReqH, SubsysH};
use super::catalogue::BugId;
use super::connect::{invalid_param, RETRY_PERIOD};
use super::{ConnId, InvariantId, Target, ThreadId, Timer};
use crate::time::Instant;
use serde::Serialize;

/// A CONNECT answered CONTROLLER_BUSY by the retry poller's give-up, while its qpair was live
/// and it had waited only for a pause (checker bookkeeping for L1).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct BusyConnect {
    pub conn: ConnId,
    pub subsys: SubsysH,
}

impl Target {
    /// Re-computes every retry poller's deadline (the time-jump rule, docs/architecture.md):
    /// while the subsystem is not ACTIVE the 100 us re-poll cannot change anything, so the
    /// poller is due at the give-up moment; once ACTIVE it is due at its next 100 us tick.
    pub(super) fn refresh_connect_retry_deadlines(&mut self) {
        // The time-jump rule's bookkeeping: SPDK's poller just ticks on its own thread.
        let _index = super::ownership::bookkeeping();
        let entries: Vec<(ConnId, ReqH)> = self.retry_reqs.iter().map(|(c, r)| (*c, *r)).collect();
        for (conn, r) in entries {
            let Some(at) = self.retry_deadline(r) else {
                continue;
            };
            self.poller_reschedule(Timer::ConnectRetry { conn }, Some(at));
        }
    }

    fn retry_deadline(&self, r: ReqH) -> Option<Instant> {
        let req = self.reqs.get(r)?;
        let (parked, timeout) = (req.parked_at?, req.timeout_at?);
        // A deleted subsystem changes what the next 100 us tick does ("subsystem may be
        // deleted during the retry"), so the poller is due at its next tick then too.
        let active = req
            .connect_data()
            .and_then(|d| self.find_subsystem(&d.subnqn))
            .and_then(|s| self.subsystems.get(s))
            .is_none_or(|s| s.state().admits_connect());
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
        super::ownership::enter(&mut self.current, ThreadId::PollGroup(req.pg));
        let Some(s) = req
            .connect_data()
            .and_then(|d| self.find_subsystem(&d.subnqn))
        else {
            if self.bug(BugId::Spdk3100Deleted) {
                // Before e1602892a1: `sgroup->mgmt_io_outstanding++` with no NULL check.
                let handles = vec![format!("conn={}", conn.0), "sgroup NULL".to_string()];
                let detail = "mgmt_io_outstanding++ through the sgroup of a deleted subsystem";
                self.crash_on(InvariantId::I1, "retry_connect", handles, detail);
                return;
            }
            // "subsystem may be deleted during the retry": nvmf_ctrlr_cmd_connect answers
            // that the subsystem does not exist.
            self.complete_connect_err(r, invalid_param(256, true));
            return;
        };
        self.readmit_mgmt(r, s);
        self.cmd_connect(r);
    }

    /// Whether CONNECTs park on the 100 us retry poller: the v24.01 profile with `spdk-3095`
    /// (v24.01 as released); otherwise `sgroup->queued`.
    pub(super) fn retry_parking(&self) -> bool {
        self.config.spdk.retry_parking() && self.bug(BugId::Spdk3095)
    }

    /// Records a BUSY answer for L1 if the CONNECT waited only for a pause and its qpair is
    /// live (a disconnecting qpair's host never sees the answer).
    pub(super) fn record_busy_connect(&mut self, r: ReqH, s: SubsysH) {
        let Some(req) = self.reqs.get(r) else { return };
        let live = self
            .qpairs
            .get(req.qpair)
            .is_some_and(|q| q.state().is_active() && !q.disconnect_started());
        if live && !req.parked_outside_pause {
            let busy = BusyConnect {
                conn: req.conn,
                subsys: s,
            };
            self.history.busy_connects.push(busy);
        }
    }
}
