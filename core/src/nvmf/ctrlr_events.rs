//! What happens to a live controller over time: the keep-alive poller and its expiry
//! (`nvmf_ctrlr_keep_alive_poll`: CSTS.CFS, disconnect every qpair), a CC reset or shutdown
//! (`nvmf_prop_set_cc` -> disconnect the I/O qpairs -> `_nvmf_ctrlr_cc_reset_shn_done` with its
//! 100 ms re-poll and 10 s timeout), the association timer, and AER/AEN delivery. The
//! `Ctrlr` keeper in ctrlr.rs owns the registers these steps change.
//!
//! Invariants kept: these run on the controller's thread (I6, `ctrlr_on_thread`); CSTS.RDY is
//! cleared with CC.EN by a reset (I10).

use super::arena::{CtrlrH, QpairH, ReqH};
use super::ctrlr::CSTS_CFS;
use super::ownership::{foreign, Foreign};
use super::planted::Plant;
use super::poller::PollerOwner;
use super::thread::FanKind;
use super::{BugId, InvariantId, Mark, Target, Timer};
use crate::time::Duration;
use crate::wire::AsyncEvent;

impl Target {
    /// `nvmf_ctrlr_start_keep_alive_timer` (and Set Features KATO, which unregisters the old
    /// poller first): registers the keep-alive poller, every KATO, when KATO is not 0.
    pub(super) fn start_keep_alive(&mut self, h: CtrlrH) {
        let Some(c) = self.ctrlrs.get(h) else { return };
        let (ctrlr, kato) = (c.key(), c.kato_ms());
        if kato == 0 {
            return;
        }
        let period = Duration::from_millis(u64::from(kato));
        self.poller_register(
            Timer::KeepAlive { ctrlr },
            PollerOwner::Ctrlr(h),
            period,
            None,
        );
        self.arm_keep_alive(h);
    }

    /// Moves the registered keep-alive poller's deadline to the first of its runs whose outcome
    /// can differ: the poller runs every KATO from its registration, and expires the controller
    /// only when the run is strictly later than `last_keep_alive + kato`
    /// (`nvmf_ctrlr_keep_alive_poll`: `now > keep_alive_timeout_tick`). With CSTS.CFS set every
    /// run is idle. A controller without a keep-alive poller is left alone.
    pub(super) fn arm_keep_alive(&mut self, h: CtrlrH) {
        let Some(c) = self.ctrlrs.get(h) else { return };
        let timer = Timer::KeepAlive { ctrlr: c.key() };
        if c.kato_ms() == 0 || c.csts() & CSTS_CFS != 0 {
            self.poller_reschedule(timer, None);
            return;
        }
        let period = Duration::from_millis(u64::from(c.kato_ms()));
        let since = c.keep_alive_poller_since();
        let deadline = c.last_keep_alive() + period;
        let per = period.as_nanos().max(1);
        let runs = deadline.saturating_since(since).as_nanos() / per + 1;
        self.poller_reschedule(timer, Some(since + Duration(per * runs)));
    }

    /// `nvmf_ctrlr_keep_alive_poll`: on expiry set CSTS.CFS and disconnect every qpair of the
    /// controller on every poll group.
    pub(super) fn keep_alive_poll(&mut self, h: CtrlrH) {
        let now = self.now;
        let Some(c) = self.ctrlr_on_thread(h, "nvmf_ctrlr_keep_alive_poll") else {
            return;
        };
        if c.in_destruct() {
            // `nvmf_ctrlr_stop_keep_alive_timer`.
            let ctrlr = c.key();
            self.poller_unregister(Timer::KeepAlive { ctrlr });
            return;
        }
        if c.csts() & CSTS_CFS != 0 {
            self.arm_keep_alive(h);
            return;
        }
        let deadline = c.last_keep_alive() + Duration::from_millis(u64::from(c.kato_ms()));
        if now <= deadline {
            self.arm_keep_alive(h);
            return;
        }
        c.fail();
        let cntlid = c.cntlid();
        self.arm_keep_alive(h);
        self.mark(Mark::KeepAliveExpired, format!("cntlid={cntlid}"));
        self.for_each_channel(FanKind::CtrlrDisconnect {
            ctrlr: h,
            io_only: false,
        });
    }

    /// `nvmf_ctrlr_disconnect_(io_)qpairs_on_pg`.
    pub(super) fn ctrlr_disconnect_qpairs_on_pg(&mut self, pg: u16, h: CtrlrH, io_only: bool) {
        self.disconnect_qpairs_on_pg(pg, |_, q| {
            q.ctrlr() == Some(h) && (!io_only || q.qid() != 0)
        });
    }

    /// Disconnects the qpairs on poll group `pg`'s list that `matches` picks, in list order.
    pub(super) fn disconnect_qpairs_on_pg(
        &mut self,
        pg: u16,
        matches: impl Fn(&Target, &super::qpair::Qpair) -> bool,
    ) {
        let qpairs: Vec<QpairH> = self.pgs[usize::from(pg)]
            .qpairs()
            .iter()
            .copied()
            .filter(|q| self.qpairs.get(*q).is_some_and(|q| matches(self, q)))
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
        c.begin_reset_shn(shn, now + Duration::from_millis(12_500));
        let ctrlr = c.key();
        let ten_s = Duration::from_secs(10);
        self.poller_register(
            Timer::CcTimeout { ctrlr },
            PollerOwner::Ctrlr(h),
            ten_s,
            None,
        );
        if shn {
            // "From the time a shutdown is initiated the controller shall disable Keep Alive".
            self.poller_unregister(Timer::KeepAlive { ctrlr });
        }
        let mark = if shn { Mark::CcShutdown } else { Mark::CcReset };
        self.mark(mark, format!("ctrlr={ctrlr}"));
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
        // `spdk-2199`: before 534e2e7c04 the status was written as soon as the disconnect
        // fan-out finished, whatever the mask held.
        let waits = !self.bug(BugId::Spdk2199);
        let Some(c) = self.ctrlr_on_thread(h, "_nvmf_ctrlr_cc_reset_shn_done") else {
            return;
        };
        let ctrlr = c.key();
        let (wait, may_wait) = (c.qpair_mask().len() > 1, c.reset_shn_may_wait(now));
        self.poller_unregister(Timer::CcRepoll { ctrlr });
        if waits && wait {
            if may_wait {
                let (what, owner) = (Timer::CcRepoll { ctrlr }, PollerOwner::Ctrlr(h));
                self.poller_register(what, owner, Duration::from_millis(100), None);
                self.mark(Mark::CcRepolled, format!("ctrlr={ctrlr}"));
                return;
            }
            if let Some(c) = self.ctrlrs.get_mut(h) {
                c.fail();
            }
        }
        let Some(c) = self.ctrlrs.get_mut(h) else {
            return;
        };
        c.finish_reset_shn();
        let thread = c.thread();
        self.wake(thread);
        self.poller_unregister(Timer::CcTimeout { ctrlr });
        // "Association timer already set": stopped before the new one is registered.
        if !self.planted(Plant::AssociationTimerArmedTwice) {
            self.poller_unregister(Timer::Association { ctrlr });
        }
        if assoc > 0 {
            let period = Duration::from_millis(u64::from(assoc));
            let owner = PollerOwner::Ctrlr(h);
            self.poller_register(Timer::Association { ctrlr }, owner, period, None);
        }
    }

    /// `nvmf_ctrlr_association_remove`: disconnect the admin qpair.
    pub(super) fn association_remove(&mut self, h: CtrlrH) {
        let Some(c) = self.ctrlr_on_thread(h, "nvmf_ctrlr_association_remove") else {
            return;
        };
        if c.in_destruct() {
            return;
        }
        let admin = c.admin_qpair();
        let cntlid = c.cntlid();
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
        if ev == AsyncEvent::NAMESPACE_CHANGED && c.aec() & super::ctrlr::AEC_NS_ATTR == 0 {
            return;
        }
        // `nvmf_ctrlr_mask_aen`: one notice until the host reads the Changed Namespace List.
        if ev == AsyncEvent::NAMESPACE_CHANGED && !c.ns_notice_mut().mask() {
            return;
        }
        let cdw0 = ev.to_cdw0();
        let cntlid = c.cntlid();
        let aer = c.take_aer();
        if aer.is_none() {
            c.push_pending_aen(cdw0);
        }
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

    /// Runs a controller poller (keep-alive, association, CC re-poll, CC timeout) on the
    /// controller's thread; the one-shot ones unregister themselves first, as SPDK's do.
    pub(super) fn fire_ctrlr_timer(&mut self, timer: Timer, h: CtrlrH) {
        match timer {
            Timer::KeepAlive { .. } => self.keep_alive_poll(h),
            Timer::Association { .. } => {
                self.poller_unregister(timer);
                self.association_remove(h);
            }
            Timer::CcRepoll { .. } => self.cc_reset_shn_done(h),
            Timer::CcTimeout { .. } => {
                self.poller_unregister(timer);
                self.cc_timeout(h);
            }
            _ => {}
        }
    }

    /// `nvmf_ctrlr_cc_timeout` (ctrlr thread): with no admin qpair only a notice; else the
    /// admin qpair's poll group (`assert(group != NULL)`) resets every namespace's bdev
    /// through its channel there (RAM namespaces complete the reset at once).
    fn cc_timeout(&mut self, h: CtrlrH) {
        let site = "nvmf_ctrlr_cc_timeout";
        let Some(c) = self.ctrlr_on_thread(h, site) else {
            return;
        };
        let (admin, s) = (c.admin_qpair(), c.subsys());
        let Some(admin) = admin else {
            // cc2f6634b7: "admin qpair disconnected", nothing to reset. v24.01 as released
            // (`spdk-admin-qpair-gone`) reads `ctrlr->admin_qpair->group` first.
            if self.bug(BugId::SpdkAdminQpairGone) {
                let detail = "CC timeout reads ctrlr->admin_qpair->group with admin_qpair NULL";
                let handles = vec![format!("{h}"), "admin_qpair NULL".to_string()];
                self.crash_on(InvariantId::NoDanglingReference, site, handles, detail);
            }
            return;
        };
        let Some(q) = self.live(admin, site) else {
            return;
        };
        let (group, label) = (q.group(), q.label());
        if group.is_none() {
            let detail = "admin qpair has no poll group (qpair->group NULL)";
            self.crash_on(InvariantId::NoDanglingReference, site, vec![label], detail);
            return;
        }
        let _read = foreign(Foreign::CcTimeoutReadsNamespaces);
        let nsids: Vec<u32> = match self.live_ref(s, site) {
            Some(sub) => sub.namespaces().map(|n| n.cfg.nsid).collect(),
            None => return,
        };
        for nsid in nsids {
            self.mark(Mark::CcTimeoutReset, format!("{h} nsid={nsid}"));
        }
    }
}
