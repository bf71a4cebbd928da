//! The NVMe/TCP transport's fused ordering (`nvmf_tcp_check_fused_ordering` and the
//! READY_TO_EXECUTE step of `nvmf_tcp_req_process`): fused halves reach `request_exec` only
//! as a pair, first then second, one right after the other.
//!
//! - A new capsule after a first half (`tqpair->fused_first`): a second half pairs with it;
//!   anything else marks the first failed (answered at once if it is ready, else when its data
//!   is in). A second half with no first before it is marked failed.
//! - Ready to execute (data in): a failed half is answered "aborted, missing fused command"
//!   without reaching the controller; a half whose partner is not ready waits (unanswered,
//!   not on `outstanding`); when both are ready both are executed, first half first.
//! - A half answered before it was ready (a write too large for one R2T) fails its partner.
//! - Kept as SPDK has it: FUSE 11b is neither a first nor a second half, so it never pairs,
//!   is never marked failed and waits for ever (no answer until its qpair is destroyed); a
//!   first half that no capsule follows waits too. Both are freed with the qpair.
//!
//! Keeper: `TcpConn::fused_first` and `TcpConn::fused` (the links and flags of the halves
//! not yet executed) are written only here and freed with the transport qpair (qpair.rs).

use super::arena::{QpairH, ReqH};
use super::fused::ABORTED_MISSING_FUSED;
use super::Target;
use serde::Serialize;

const FUSE_FIRST: u8 = 1;
const FUSE_SECOND: u8 = 2;

/// A fused half in the transport (`tcp_req->fused_pair`, `fused_failed`, and whether it
/// reached READY_TO_EXECUTE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct TcpFused {
    pub req: ReqH,
    pub fuse: u8,
    pub pair: Option<ReqH>,
    pub failed: bool,
    pub ready: bool,
}

impl Target {
    fn tcp_fused_mut(&mut self, h: QpairH, r: ReqH) -> Option<&mut TcpFused> {
        let tcp = self.qpairs.get_mut(h)?.tcp_mut();
        tcp.fused.iter_mut().find(|f| f.req == r)
    }

    fn tcp_fused_get(&self, h: QpairH, r: ReqH) -> Option<TcpFused> {
        let tcp = self.qpairs.get(h)?.tcp();
        tcp.fused.iter().find(|f| f.req == r).copied()
    }

    fn tcp_fused_forget(&mut self, h: QpairH, r: ReqH) {
        if let Some(q) = self.qpairs.get_mut(h) {
            q.tcp_mut().fused.retain(|f| f.req != r);
        }
    }

    /// `nvmf_tcp_check_fused_ordering` for a new capsule `r` with FUSE bits `fuse`.
    pub(super) fn tcp_fused_new(&mut self, h: QpairH, r: ReqH, fuse: u8) {
        let Some(q) = self.qpairs.get_mut(h) else {
            return;
        };
        let last = q.tcp().fused_first;
        if last.is_none() && fuse == 0 {
            return;
        }
        if fuse != 0 {
            q.tcp_mut().fused.push(TcpFused {
                req: r,
                fuse,
                pair: None,
                failed: false,
                ready: false,
            });
        }
        if let Some(first) = last {
            if let Some(q) = self.qpairs.get_mut(h) {
                q.tcp_mut().fused_first = None;
            }
            if fuse == FUSE_SECOND {
                self.link(h, first, Some(r));
                self.link(h, r, Some(first));
                return;
            }
            self.fail_and_kick(h, first);
        }
        match fuse {
            FUSE_FIRST => {
                if let Some(q) = self.qpairs.get_mut(h) {
                    q.tcp_mut().fused_first = Some(r);
                }
            }
            FUSE_SECOND => {
                if let Some(f) = self.tcp_fused_mut(h, r) {
                    f.failed = true;
                }
            }
            _ => {}
        }
    }

    fn link(&mut self, h: QpairH, r: ReqH, pair: Option<ReqH>) {
        if let Some(f) = self.tcp_fused_mut(h, r) {
            f.pair = pair;
        }
    }

    /// Marks a half failed and answers it now if it was waiting ready.
    fn fail_and_kick(&mut self, h: QpairH, r: ReqH) {
        let Some(f) = self.tcp_fused_mut(h, r) else {
            return;
        };
        f.failed = true;
        f.pair = None;
        if f.ready {
            self.tcp_fused_forget(h, r);
            self.complete_unadmitted(h, r, ABORTED_MISSING_FUSED);
        }
    }

    /// READY_TO_EXECUTE: plain requests go to `request_exec`; fused halves as described above.
    pub(super) fn tcp_ready_to_execute(&mut self, h: QpairH, r: ReqH) {
        let Some(f) = self.tcp_fused_get(h, r) else {
            self.request_exec(r);
            return;
        };
        if f.failed {
            self.tcp_fused_forget(h, r);
            self.complete_unadmitted(h, r, ABORTED_MISSING_FUSED);
            return;
        }
        let partner = f.pair.and_then(|p| self.tcp_fused_get(h, p));
        let Some(partner) = partner.filter(|p| p.ready) else {
            if let Some(f) = self.tcp_fused_mut(h, r) {
                f.ready = true;
            }
            return;
        };
        self.tcp_fused_forget(h, r);
        self.tcp_fused_forget(h, partner.req);
        let (first, second) = if f.fuse == FUSE_SECOND {
            (partner.req, r)
        } else {
            (r, partner.req)
        };
        self.request_exec(first);
        self.request_exec(second);
    }

    /// A fused half answered before it was ready: its partner is no longer part of a pair.
    pub(super) fn tcp_fused_answered_early(&mut self, h: QpairH, r: ReqH) {
        let Some(f) = self.tcp_fused_get(h, r) else {
            return;
        };
        self.tcp_fused_forget(h, r);
        if let Some(q) = self.qpairs.get_mut(h) {
            if q.tcp().fused_first == Some(r) {
                q.tcp_mut().fused_first = None;
            }
        }
        if let Some(p) = f.pair {
            self.fail_and_kick(h, p);
        }
    }
}
