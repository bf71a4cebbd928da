//! Controllers (`struct spdk_nvmf_ctrlr`): creation on the poll group, the destruct chain
//! (`_nvmf_ctrlr_free_from_qpair` -> `nvmf_ctrlr_destruct` on the subsystem thread ->
//! `_nvmf_ctrlr_destruct` on the ctrlr thread, spinning while a CC reset/shutdown is in
//! progress), keep-alive expiry, CC reset/shutdown fan-out with its 100 ms re-poll, the
//! association timer, and AER/AEN delivery.
//!
//! Invariants kept: a controller is destroyed exactly once and only with an empty qpair mask,
//! after every qpair referencing it is gone (I3); its fields are touched on its thread (I6).

use super::arena::{CtrlrH, QpairH, ReqH, SubsysH};
use super::thread::{FanKind, Msg};
use super::{InvariantId, Mark, Target, ThreadId, Timer, Trid};
use crate::time::{Duration, Instant};
use crate::wire::AsyncEvent;
use serde::Serialize;
use std::collections::BTreeSet;

/// CSTS bits.
pub const CSTS_RDY: u32 = 1;
pub const CSTS_CFS: u32 = 1 << 1;
pub const CSTS_SHST_COMPLETE: u32 = 2 << 2;
/// CC bits.
pub const CC_EN: u32 = 1;
pub const CC_SHN_SHIFT: u32 = 14;

/// A controller.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Ctrlr {
    pub subsys: SubsysH,
    /// 0 until `nvmf_subsystem_add_ctrlr` assigned one.
    pub cntlid: u16,
    /// The admin qpair's poll group thread.
    pub thread: ThreadId,
    pub admin_qpair: Option<QpairH>,
    /// Bit per qid of connected qpairs.
    pub qpair_mask: BTreeSet<u16>,
    /// Outstanding AERs (at most 4).
    pub aer: Vec<ReqH>,
    /// Events waiting for an AER (cdw0 values).
    pub pending_aens: Vec<u32>,
    pub kato_ms: u32,
    pub last_keep_alive: Instant,
    pub cc: u32,
    pub csts: u32,
    /// Async event configuration (Set Features 0x0B).
    pub aec: u32,
    pub in_destruct: bool,
    pub disconnect_in_progress: bool,
    pub disconnect_is_shn: bool,
    pub cc_timeout_at: Instant,
    pub hostnqn: String,
    pub hostid: [u8; 16],
    pub listener: Option<Trid>,
    /// In `subsystem->ctrlrs` (set on the subsystem thread).
    pub added: bool,
}

impl Ctrlr {
    /// The `Timer` key prefix of this controller.
    pub fn key(&self) -> (u32, u16) {
        (self.subsys.idx, self.cntlid)
    }
}

impl Target {
    /// The controller, or an I1 crash at `site` if `h` is stale.
    pub(super) fn live_ctrlr(&mut self, h: CtrlrH, site: &str) -> Option<&mut Ctrlr> {
        if !self.ctrlrs.contains(h) {
            self.crash_on(
                InvariantId::I1,
                site,
                vec![format!("{h}")],
                "freed controller dereferenced",
            );
            return None;
        }
        self.ctrlrs.get_mut(h)
    }

    /// The controller on its own thread (I1 + I6 checks).
    pub(super) fn ctrlr_on_thread(&mut self, h: CtrlrH, site: &str) -> Option<&mut Ctrlr> {
        let thread = self.live_ctrlr(h, site)?.thread;
        if !self.assert_thread(thread, site, format!("{h}")) {
            return None;
        }
        self.ctrlrs.get_mut(h)
    }

    /// `_nvmf_ctrlr_free_from_qpair` (ctrlr thread): clear the qid bit; when the mask is empty
    /// start the destruct chain.
    pub(super) fn ctrlr_free_from_qpair(&mut self, h: CtrlrH, qid: u16) {
        let Some(c) = self.ctrlr_on_thread(h, "_nvmf_ctrlr_free_from_qpair") else {
            return;
        };
        c.qpair_mask.remove(&qid);
        if !c.qpair_mask.is_empty() {
            return;
        }
        if c.in_destruct {
            self.crash_on(
                InvariantId::I3,
                "_nvmf_ctrlr_free_from_qpair",
                vec![format!("{h}")],
                "assert(!ctrlr->in_destruct): destructed twice",
            );
            return;
        }
        c.in_destruct = true;
        self.send_msg(ThreadId::App, Msg::SubsystemRemoveCtrlr { ctrlr: h });
    }

    /// `nvmf_ctrlr_destruct` (subsystem thread): `nvmf_subsystem_remove_ctrlr`, then the free
    /// on the ctrlr thread.
    pub(super) fn subsystem_remove_ctrlr(&mut self, h: CtrlrH) {
        let Some(c) = self.live_ctrlr(h, "nvmf_subsystem_remove_ctrlr") else {
            return;
        };
        let (s, cntlid, thread, added) = (c.subsys, c.cntlid, c.thread, c.added);
        c.added = false;
        if added {
            if let Some(sub) = self.live_subsystem(s, "nvmf_subsystem_remove_ctrlr") {
                sub.ctrlrs.remove(&cntlid);
            }
            self.wake(ThreadId::App);
        }
        self.send_msg(thread, Msg::CtrlrDestruct { ctrlr: h });
    }

    /// `_nvmf_ctrlr_destruct` (ctrlr thread): spin while a CC reset/shutdown is in progress,
    /// then stop the pollers and free.
    pub(super) fn ctrlr_destruct(&mut self, h: CtrlrH) {
        let Some(c) = self.ctrlr_on_thread(h, "_nvmf_ctrlr_destruct") else {
            return;
        };
        if c.disconnect_in_progress {
            let thread = c.thread;
            self.park_msg(thread, Msg::CtrlrDestruct { ctrlr: h });
            return;
        }
        let users: Vec<String> = self
            .qpairs
            .iter()
            .filter(|(_, q)| q.ctrlr == Some(h))
            .map(|(_, q)| q.label())
            .collect();
        if !users.is_empty() {
            self.crash_on(
                InvariantId::I3,
                "_nvmf_ctrlr_destruct",
                users,
                "controller freed while a qpair still references it",
            );
            return;
        }
        let c = self.ctrlrs.remove(h).expect("checked live");
        self.stop_ctrlr_timers(c.key());
        self.ctrlr_keys.remove(&c.key());
        for r in c.aer {
            self.request_free(r);
        }
        self.history.ctrlrs_destroyed += 1;
        self.mark(Mark::CtrlrDestroyed, format!("cntlid={}", c.cntlid));
    }

    fn stop_ctrlr_timers(&mut self, (subsys, cntlid): (u32, u16)) {
        self.timers.remove(&Timer::KeepAlive { subsys, cntlid });
        self.timers.remove(&Timer::Association { subsys, cntlid });
        self.timers.remove(&Timer::CcRepoll { subsys, cntlid });
        self.timers.remove(&Timer::CcTimeout { subsys, cntlid });
    }

    /// Arms (or re-arms) the keep-alive poller at the next moment its outcome can differ:
    /// `last_keep_alive + kato`.
    pub(super) fn arm_keep_alive(&mut self, h: CtrlrH) {
        let Some(c) = self.ctrlrs.get(h) else { return };
        let (subsys, cntlid) = c.key();
        let timer = Timer::KeepAlive { subsys, cntlid };
        if c.kato_ms == 0 || c.csts & CSTS_CFS != 0 {
            self.timers.remove(&timer);
            return;
        }
        let at = c.last_keep_alive + Duration::from_millis(u64::from(c.kato_ms));
        self.timers.insert(timer, at);
    }

    /// `nvmf_ctrlr_keep_alive_poll`: on expiry set CSTS.CFS and disconnect every qpair of the
    /// controller on every poll group.
    pub(super) fn keep_alive_poll(&mut self, h: CtrlrH) {
        let now = self.now;
        let Some(c) = self.ctrlr_on_thread(h, "nvmf_ctrlr_keep_alive_poll") else {
            return;
        };
        if c.in_destruct || c.csts & CSTS_CFS != 0 {
            return;
        }
        let deadline = c.last_keep_alive + Duration::from_millis(u64::from(c.kato_ms));
        if now < deadline {
            self.arm_keep_alive(h);
            return;
        }
        c.csts |= CSTS_CFS;
        let cntlid = c.cntlid;
        self.mark(Mark::KeepAliveExpired, format!("cntlid={cntlid}"));
        self.for_each_channel(FanKind::CtrlrDisconnect {
            ctrlr: h,
            io_only: false,
        });
    }

    /// `nvmf_ctrlr_disconnect_(io_)qpairs_on_pg`.
    pub(super) fn ctrlr_disconnect_qpairs_on_pg(&mut self, pg: u16, h: CtrlrH, io_only: bool) {
        let qpairs: Vec<QpairH> = self.pgs[usize::from(pg)]
            .qpairs
            .iter()
            .copied()
            .filter(|q| {
                self.qpairs
                    .get(*q)
                    .is_some_and(|q| q.ctrlr == Some(h) && (!io_only || q.qid != 0))
            })
            .collect();
        for q in qpairs {
            self.qpair_disconnect(q);
        }
    }

    /// `nvmf_prop_set_cc` EN 1->0 or SHN: disconnect the I/O qpairs, then finish in
    /// `cc_reset_shn_done`.
    pub(super) fn ctrlr_start_reset_shn(&mut self, h: CtrlrH, shn: bool) {
        let now = self.now;
        let Some(c) = self.ctrlrs.get_mut(h) else {
            return;
        };
        c.disconnect_in_progress = true;
        c.disconnect_is_shn = shn;
        c.cc_timeout_at = now + Duration::from_millis(12_500);
        let (subsys, cntlid) = c.key();
        self.timers.insert(
            Timer::CcTimeout { subsys, cntlid },
            now + Duration::from_secs(10),
        );
        if shn {
            self.timers.remove(&Timer::KeepAlive { subsys, cntlid });
        }
        let mark = if shn { Mark::CcShutdown } else { Mark::CcReset };
        self.mark(mark, format!("cntlid={cntlid}"));
        self.for_each_channel(FanKind::CtrlrDisconnect {
            ctrlr: h,
            io_only: true,
        });
    }

    /// `_nvmf_ctrlr_cc_reset_shn_done` (ctrlr thread): re-poll every 100 ms while I/O qpairs
    /// remain (until the CC timeout: CFS), then reset registers or report shutdown complete,
    /// arm the association timer and clear `disconnect_in_progress`.
    pub(super) fn cc_reset_shn_done(&mut self, h: CtrlrH) {
        let now = self.now;
        let assoc = self.config.association_timeout_ms;
        let Some(c) = self.ctrlr_on_thread(h, "_nvmf_ctrlr_cc_reset_shn_done") else {
            return;
        };
        let (subsys, cntlid) = c.key();
        if c.qpair_mask.len() > 1 {
            if now < c.cc_timeout_at {
                let at = now + Duration::from_millis(100);
                self.timers.insert(Timer::CcRepoll { subsys, cntlid }, at);
                self.mark(Mark::CcRepolled, format!("cntlid={cntlid}"));
                return;
            }
            c.csts |= CSTS_CFS;
        }
        if c.disconnect_is_shn {
            c.csts = (c.csts & !(3 << 2)) | CSTS_SHST_COMPLETE;
            c.disconnect_is_shn = false;
        } else {
            c.cc = 0;
            c.csts = 0;
        }
        c.disconnect_in_progress = false;
        let thread = c.thread;
        self.wake(thread);
        self.timers.remove(&Timer::CcTimeout { subsys, cntlid });
        if assoc > 0 {
            let at = now + Duration::from_millis(u64::from(assoc));
            self.timers
                .insert(Timer::Association { subsys, cntlid }, at);
        }
    }

    /// `nvmf_ctrlr_association_remove`: disconnect the admin qpair.
    pub(super) fn association_remove(&mut self, h: CtrlrH) {
        let Some(c) = self.ctrlr_on_thread(h, "nvmf_ctrlr_association_remove") else {
            return;
        };
        if c.in_destruct {
            return;
        }
        let admin = c.admin_qpair;
        let cntlid = c.cntlid;
        self.mark(Mark::AssociationExpired, format!("cntlid={cntlid}"));
        if let Some(q) = admin {
            self.qpair_disconnect(q);
        }
    }

    /// `nvmf_ctrlr_async_event_*_notice`: complete an outstanding AER, or queue the event.
    /// Only sent if the host enabled the notice in the AEC (bit 8 for namespace attributes).
    pub(super) fn ctrlr_async_event(&mut self, h: CtrlrH, ev: AsyncEvent) {
        let Some(c) = self.ctrlr_on_thread(h, "nvmf_ctrlr_async_event_ns_notice") else {
            return;
        };
        if ev == AsyncEvent::NAMESPACE_CHANGED && c.aec & (1 << 8) == 0 {
            return;
        }
        let cdw0 = ev.to_cdw0();
        let cntlid = c.cntlid;
        let aer = if c.aer.is_empty() {
            c.pending_aens.push(cdw0);
            None
        } else {
            Some(c.aer.remove(0))
        };
        self.mark(Mark::NamespaceChangedAen, format!("cntlid={cntlid}"));
        if let Some(r) = aer {
            self.complete_aer(r, cdw0);
        }
    }

    /// Completes one AER with an event.
    pub(super) fn complete_aer(&mut self, r: ReqH, cdw0: u32) {
        if let Some(req) = self.reqs.get_mut(r) {
            req.rsp.cdw0 = cdw0;
        }
        self.mark(Mark::AenCompleted, format!("{r}"));
        self.request_complete(r);
    }

    /// Handles a controller timer (keep-alive, association, CC re-poll, CC timeout).
    pub(super) fn fire_ctrlr_timer(&mut self, timer: Timer, key: (u32, u16)) {
        let Some(h) = self.ctrlr_keys.get(&key).copied() else {
            return;
        };
        let Some(thread) = self.ctrlrs.get(h).map(|c| c.thread) else {
            return;
        };
        self.current = thread;
        match timer {
            Timer::KeepAlive { .. } => self.keep_alive_poll(h),
            Timer::Association { .. } => self.association_remove(h),
            Timer::CcRepoll { .. } => self.cc_reset_shn_done(h),
            _ => {}
        }
    }
}
