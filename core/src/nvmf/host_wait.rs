//! What `nvmf_subsystem_remove_host` waits for after its disconnect walk before it answers
//! (`Spdk::remove_host_waits_for_ctrlrs`). master (30652f6374, `subsystem.c:1395-1522`):
//! `nvmf_subsystem_disconnect_host_fini` runs `nvmf_subsystem_disconnect_host_start_poller` on
//! the subsystem thread, which registers a 5 ms poller; each poll answers once no controller of
//! the host is left on `subsystem->ctrlrs` (`nvmf_subsystem_has_ctrlr`), or -ETIMEDOUT once
//! `NVMF_CTRLR_RESET_SHN_TIMEOUT_IN_MS` (15 s) passed. The poller's context keeps the
//! subsystem pointer without a reference, so a poll after the subsystem was freed reads freed
//! memory: the model reports it (I1 at `nvmf_subsystem_has_ctrlr`) as SPDK would crash.
//!
//! Owns: the context of each waiting `remove_host` (`HostWait`, keyed by its RPC; the poller's
//! owner). Invariant kept: a context lives exactly as long as its poller, and the RPC is
//! answered once, when the context goes.

use super::arena::SubsysH;
use super::poller::PollerOwner;
use super::rpc::err;
use super::{RpcId, Target, Timer};
use crate::time::Duration;
use serde::Serialize;

/// `NVMF_SUBSYSTEM_DISCONNECT_HOST_POLL_PERIOD_US`.
const POLL_PERIOD: Duration = Duration::from_micros(5000);
/// `NVMF_CTRLR_RESET_SHN_TIMEOUT_IN_MS` (`NVMF_CC_RESET_SHN_TIMEOUT_IN_MS` + 5000).
const TIMEOUT: Duration = Duration::from_millis(15_000);
const ETIMEDOUT: i32 = -110;

/// `struct nvmf_subsystem_disconnect_host_ctx` (master).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct HostWait {
    /// `ctx->subsystem`: a plain pointer, no reference held.
    subsys: SubsysH,
    hostnqn: String,
    timeout_at: crate::time::Instant,
}

impl Target {
    /// `nvmf_subsystem_disconnect_host_fini` after a walk without error: v24.01 and v26.05
    /// answer now (v26.05's re-walk is not modelled, docs/spdk-profiles.md); master starts
    /// the poller on the subsystem thread (`spdk_thread_exec_msg(ctx->subsystem->thread, ..)`,
    /// the app thread the walk finishes on, so it runs at once).
    pub(super) fn disconnect_host_walked(&mut self, rpc: RpcId, subsys: SubsysH, hostnqn: String) {
        if !self.config.spdk.remove_host_waits_for_ctrlrs() {
            self.rpc_ok(rpc);
            return;
        }
        if self
            .live_ref(subsys, "nvmf_subsystem_disconnect_host_fini")
            .is_none()
        {
            return;
        }
        let timeout_at = self.now + TIMEOUT;
        self.host_waits.insert(
            rpc,
            HostWait {
                subsys,
                hostnqn,
                timeout_at,
            },
        );
        let what = Timer::DisconnectHost { rpc };
        self.poller_register(what, PollerOwner::Rpc(rpc), POLL_PERIOD, None);
    }

    /// `nvmf_subsystem_disconnect_host_poll`.
    pub(super) fn disconnect_host_poll(&mut self, rpc: RpcId) {
        let Some(w) = self.host_waits.get(&rpc).cloned() else {
            return;
        };
        if self
            .live_ref(w.subsys, "nvmf_subsystem_has_ctrlr")
            .is_none()
        {
            return;
        }
        if !self.subsystem_has_ctrlr(w.subsys, &w.hostnqn) {
            self.disconnect_host_complete(rpc, Ok(super::RpcResponse::Done));
        } else if self.now >= w.timeout_at {
            self.disconnect_host_complete(rpc, err(ETIMEDOUT, "disconnect_host timeout"));
        }
    }

    /// `nvmf_subsystem_has_ctrlr`: a controller of `hostnqn` on `subsystem->ctrlrs`.
    fn subsystem_has_ctrlr(&self, s: SubsysH, hostnqn: &str) -> bool {
        let _walk = super::ownership::bookkeeping();
        self.ctrlrs
            .iter()
            .any(|(_, c)| c.subsys() == s && c.added() && c.hostnqn() == hostnqn)
    }

    /// `nvmf_subsystem_disconnect_host_complete`: unregister the poller, answer, free the
    /// context.
    fn disconnect_host_complete(&mut self, rpc: RpcId, result: super::rpc::RpcResult) {
        self.poller_unregister(Timer::DisconnectHost { rpc });
        self.host_waits.remove(&rpc);
        self.pollers_owner_freed(PollerOwner::Rpc(rpc));
        self.rpc_done(rpc, result);
    }

    /// Whether a poller owned by the wait of `rpc` still has its context.
    pub(super) fn host_wait_live(&self, rpc: RpcId) -> bool {
        self.host_waits.contains_key(&rpc)
    }
}
