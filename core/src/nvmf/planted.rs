//! Test-only planted defects: small, deliberate breaks of SPDK's behaviour that prove a search
//! feature can find a defect of that kind. They are not catalogue entries (no SPDK history
//! behind them), are off unless a test switches them on with `Target::plant`, and are hidden
//! from the docs.
//!
//! Invariant kept: with `Planted::default()` (every planted defect off) the target behaves
//! exactly as without this module.

use super::arena::{CtrlrH, QpairH};
use super::state::QpairState;
use super::Target;
use serde::{Deserialize, Serialize};

/// The planted defects, each off by default.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Planted {
    /// `nvmf_ctrlr_add_qpair` accepts an I/O CONNECT whose qid belongs to another qpair of
    /// the controller that is still enabled (SPDK answers INVALID_QUEUE_IDENTIFIER after the
    /// 1 ms `_retry_qid_check`). Only a host that reuses a live qid reaches it: a reconnecting
    /// host's old qpair is already leaving ENABLED.
    pub dup_qid_accepted: bool,
}

impl Target {
    /// Switches planted defects on (tests only).
    #[doc(hidden)]
    pub fn plant(&mut self, planted: Planted) {
        self.planted = planted;
    }

    /// The planted duplicate-qid defect: whether `qh`'s CONNECT for `qid` on `c` is taken
    /// although another enabled qpair of `c` holds `qid`.
    pub(super) fn planted_dup_qid(&self, c: CtrlrH, qh: QpairH, qid: u16) -> bool {
        self.planted.dup_qid_accepted
            && self.qpairs.iter().any(|(h, q)| {
                h != qh
                    && q.ctrlr() == Some(c)
                    && q.qid() == qid
                    && q.state() == QpairState::Enabled
            })
    }
}
