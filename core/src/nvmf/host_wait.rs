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
use super::profile::RemoveHostWait;
use super::rpc::err;
use super::{RpcId, Target, Timer};
use crate::time::{Duration, Instant};
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
    /// When the poller was registered: it runs at `started + k * 5 ms`.
    started: Instant,
    timeout_at: Instant,
}

impl HostWait {
    /// The poller's first run at or after `now` (its first run is one period after it was
    /// registered).
    fn tick_at_or_after(&self, now: Instant) -> Instant {
        let p = POLL_PERIOD.as_nanos();
        let k = now
            .saturating_since(self.started)
            .as_nanos()
            .div_ceil(p)
            .max(1);
        self.started + Duration(k * p)
    }
}

impl Target {
    /// `nvmf_subsystem_disconnect_host_fini` after a walk without error
    /// (`Spdk::remove_host_wait`): v24.01 answers; v26.05 reads `ctx->subsystem` for its
    /// re-walk and answers (the re-walk is not modelled, docs/spdk-profiles.md); master starts
    /// the poller on the subsystem thread (`spdk_thread_exec_msg(ctx->subsystem->thread, ..)`,
    /// the app thread the walk finishes on, so it runs at once).
    pub(super) fn disconnect_host_walked(
        &mut self,
        rpc: RpcId,
        subsys: SubsysH,
        hostnqn: String,
        timeout_ms: u64,
    ) {
        let wait = self.config.spdk.remove_host_wait();
        // v26.05 and master read `ctx->subsystem` here, which a delete that ran during the
        // walk has freed (docs/hazards.md, H-11).
        if wait != RemoveHostWait::None
            && self
                .live_ref(subsys, "nvmf_subsystem_disconnect_host_fini")
                .is_none()
        {
            return;
        }
        if wait != RemoveHostWait::CtrlrsGone {
            self.rpc_ok(rpc);
            return;
        }
        // `spdk_nvmf_subsystem_disconnect_host`: `timeout_ms == 0 ? NVMF_CTRLR_RESET_SHN_TIMEOUT_IN_MS
        // : timeout_ms`, counted from the poller's start (`ctx->timeout_tsc`).
        let timeout = match timeout_ms {
            0 => TIMEOUT,
            ms => Duration::from_millis(ms),
        };
        let (started, timeout_at) = (self.now, self.now + timeout);
        self.host_waits.insert(
            rpc,
            HostWait {
                subsys,
                hostnqn,
                started,
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
            self.disconnect_host_complete(
                rpc,
                err(ETIMEDOUT, "Timeout reached during host removal"),
            );
        } else {
            // Idle (SPDK_POLLER_IDLE): every run finds the same until a controller of the
            // subsystem leaves, the subsystem is freed (`host_waits_recheck`) or the timeout.
            self.poller_reschedule(Timer::DisconnectHost { rpc }, Some(w.timeout_at));
        }
    }

    /// The time-jump rule for the waits' pollers (poller.rs): an idle poll's next useful run
    /// is the timeout's; a controller of `s` leaving `subsystem->ctrlrs`, or `s` being freed,
    /// makes the next 5 ms run useful again.
    pub(super) fn host_waits_recheck(&mut self, s: SubsysH) {
        let now = self.now;
        let due: Vec<(RpcId, Instant)> = self
            .host_waits
            .iter()
            .filter(|(_, w)| w.subsys == s)
            .map(|(rpc, w)| (*rpc, w.tick_at_or_after(now)))
            .collect();
        for (rpc, at) in due {
            self.poller_reschedule(Timer::DisconnectHost { rpc }, Some(at));
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

    /// Whether `rpc` is a remove_host whose poller is registered: its answer comes by the
    /// timeout at the latest, so the quiescence report does not call it stuck.
    pub(super) fn host_wait_bounded(&self, rpc: RpcId) -> bool {
        self.host_wait_live(rpc) && self.pollers.slot(Timer::DisconnectHost { rpc }).is_some()
    }

    /// Whether a poller owned by the wait of `rpc` still has its context.
    pub(super) fn host_wait_live(&self, rpc: RpcId) -> bool {
        self.host_waits.contains_key(&rpc)
    }
}
