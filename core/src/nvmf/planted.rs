//! Planted defects: test-only switches that re-create a small slip of the kind a checker
//! feature exists to find, so a test can prove the feature finds it (and that the fixed core is
//! silent over the same runs). They are NOT catalogue entries: no SPDK release had them, and no
//! scenario, CLI flag or seed string can turn them on; only code building a `TargetConfig` (or a
//! `Scenario`) by hand can. Nothing here changes what the fixed core does.

use super::arena::{CtrlrH, QpairH};
use super::state::QpairState;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One planted slip.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Plant {
    /// `_nvmf_ctrlr_destruct` frees the controller without `nvmf_ctrlr_stop_keep_alive_timer`:
    /// its keep-alive poller outlives it (P2, then P1 when it fires).
    KeepAliveNotStoppedAtFree,
    /// `_nvmf_ctrlr_cc_reset_shn_done` registers the association timer without stopping the one
    /// already set ("Association timer already set"): a poller armed twice, the first
    /// registration orphaned (P2 when the controller is freed).
    AssociationTimerArmedTwice,
    /// `spdk_nvmf_transport_stop_listen_async` drops the listener's reference at the call
    /// instead of in `nvmf_stop_listen_fini`, so the last one frees it under the qpairs the
    /// fan-out is about to disconnect (I14 in the reference form).
    ListenerFreedEarly,
    /// The stop-listen visit disconnects only the qpairs that matched at the call, as if it
    /// walked a list copied then (I13; I9 cannot see it).
    StopListenSnapshot,
    /// `nvmf_ctrlr_add_qpair` accepts an I/O CONNECT whose qid belongs to another qpair of the
    /// controller that is still enabled (SPDK answers INVALID_QUEUE_IDENTIFIER after the 1 ms
    /// `_retry_qid_check`). Only a host that reuses a live qid reaches it: a reconnecting
    /// host's old qpair is already leaving ENABLED.
    DupQidAccepted,
    /// `_nvmf_transport_qpair_fini_complete` clears the qpair's bit in `ctrlr->qpair_mask`
    /// itself, on the qpair's poll group, instead of leaving it to `_nvmf_ctrlr_free_from_qpair`
    /// on the controller's thread: a controller field written off its thread (I17). Only an
    /// I/O qpair on another group than its admin qpair shows it.
    CtrlrMaskClearedOnGroup,
    /// `_nvmf_ctrlr_add_io_qpair` reads `admin_qpair->group` again for the send after checking
    /// it, as v24.01 does (`ctrlr.c:695,705`; cc2f6634b7 keeps the value it checked): the
    /// admin qpair's poll group may remove it in between (I1). Only the split of that handler
    /// at its cross-thread read (`continue_msg`) lets another thread run in between.
    AdminGroupReread,
}

/// The planted slips switched on (empty: the fixed core).
#[doc(hidden)]
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Planted(pub BTreeSet<Plant>);

impl Planted {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn one(p: Plant) -> Self {
        Planted([p].into_iter().collect())
    }

    pub fn contains(&self, p: Plant) -> bool {
        self.0.contains(&p)
    }
}

impl super::Target {
    /// The planted duplicate-qid slip: whether `qh`'s CONNECT for `qid` on `c` is taken
    /// although another enabled qpair of `c` holds `qid`.
    pub(super) fn planted_dup_qid(&self, c: CtrlrH, qh: QpairH, qid: u16) -> bool {
        self.planted(Plant::DupQidAccepted)
            && self.qpairs.iter().any(|(h, q)| {
                h != qh
                    && q.ctrlr() == Some(c)
                    && q.qid() == qid
                    && q.state() == QpairState::Enabled
            })
    }
}
