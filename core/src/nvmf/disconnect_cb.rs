//! Disconnect completion callbacks as SPDK had them before 0496a2af3b (structure S2 of
//! catalogue issue II) and the recursive poll-group destroy walk `_nvmf_tgt_disconnect_next_qpair`
//! that the `spdk-2765` switch puts back.
//!
//! Before 0496a2af3b (v23.01 and older), `spdk_nvmf_qpair_disconnect(qpair, cb_fn, ctx)`:
//! if `disconnect_started` was already set, called `cb_fn(ctx)` at once and returned 0;
//! otherwise it remembered the callback in the disconnect context and
//! `_nvmf_transport_qpair_fini_complete` sent it to the qpair's group thread after the
//! transport fini. The destroy walk took `TAILQ_FIRST(&group->qpairs)` and disconnected it with
//! itself as the callback, so a first qpair that was already disconnecting (draining I/O, or
//! its host gone) made the walk call itself synchronously on the same qpair, which stays on the
//! list until its teardown finishes: unbounded recursion, a stack overflow.
//!
//! Per profile (the switch off): v24.01 still takes `cb_fn` (deprecated) but a repeated
//! disconnect returns -EINPROGRESS without calling it, and lib/nvmf's own walks pass none
//! (`_nvmf_tgt_disconnect_qpairs` re-polls until the group is empty, poll_group.rs); master
//! removed the parameter. So with the switch off no callback is ever registered.
//!
//! Invariant kept: I16 (bounded re-entry): a callback that re-enters the walk synchronously
//! more than `REENTRY_BOUND` deep is recorded as a violation at `_nvmf_tgt_disconnect_next_qpair`
//! instead of recursing (the model's loop stands for SPDK's recursion; nothing changes between
//! two re-entries, so SPDK's recursion has no end).

use super::arena::QpairH;
use super::thread::Msg;
use super::{InvariantId, Mark, Target, ThreadId};

/// The deepest synchronous re-entry of a disconnect callback the model accepts (a stack of
/// this many nested frames is far below SPDK's reactor stack; a recursion that does not stop
/// passes it at once).
pub const REENTRY_BOUND: u32 = 64;

impl Target {
    /// `_nvmf_tgt_disconnect_next_qpair` (pre-0496a2af3b, `spdk-2765`): disconnect the group's
    /// first qpair with this walk as its callback; an empty group is destroyed.
    pub(super) fn tgt_disconnect_next_qpair(&mut self, fan: u64) {
        let Some(pg) = self.fanouts.get(&fan).map(|f| f.pg) else {
            return;
        };
        let mut depth = 0u32;
        loop {
            let Some(q) = self.pgs[usize::from(pg)].qpairs().first().copied() else {
                return self.pg_destroyed(fan, pg);
            };
            if !self.qpair_disconnect_with_cb(q, fan) {
                return;
            }
            // `cb_fn(ctx)` ran inside spdk_nvmf_qpair_disconnect: the walk re-entered itself.
            if depth == 0 {
                let label = self.qpairs.get(q).map(|x| x.label()).unwrap_or_default();
                self.mark(Mark::DestroyWalkMetDisconnecting, label);
            }
            depth += 1;
            if depth > REENTRY_BOUND {
                return self.reentry_overflow(q, pg, depth);
            }
        }
    }

    /// `spdk_nvmf_qpair_disconnect(qpair, cb, ctx)` before 0496a2af3b. Returns true when the
    /// callback was called synchronously (the qpair was already disconnecting); otherwise the
    /// callback is remembered and runs after the transport fini.
    fn qpair_disconnect_with_cb(&mut self, q: QpairH, fan: u64) -> bool {
        let Some(qp) = self.qpairs.get(q) else {
            return false;
        };
        if qp.disconnect_started() {
            return true;
        }
        self.lifetime.register_disconnect_cb(q, fan);
        self.qpair_disconnect(q);
        false
    }

    /// `_nvmf_transport_qpair_fini_complete`: `spdk_thread_send_msg(cb_thread, cb_fn, cb_arg)`
    /// for a callback registered with the disconnect (the qpair's group thread).
    pub(super) fn disconnect_cb_after_fini(&mut self, q: QpairH, pg: u16) {
        if let Some(fan) = self.lifetime.take_disconnect_cb(q) {
            self.send_msg(ThreadId::PollGroup(pg), Msg::TgtDisconnectNext { fan });
        }
    }

    fn reentry_overflow(&mut self, q: QpairH, pg: u16, depth: u32) {
        let label = self
            .qpairs
            .get(q)
            .map_or_else(|| format!("{q}"), |x| x.label());
        let detail = format!(
            "spdk_nvmf_qpair_disconnect called the callback synchronously on a qpair already \
             disconnecting; the walk re-entered itself {depth} deep on the same first qpair \
             (unbounded recursion: stack overflow)"
        );
        let handles = vec![label, format!("pg{pg}")];
        self.crash_on(
            InvariantId::BoundedReentry,
            "_nvmf_tgt_disconnect_next_qpair",
            handles,
            &detail,
        );
    }
}
