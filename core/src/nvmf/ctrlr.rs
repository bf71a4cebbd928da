//! Controllers (`struct spdk_nvmf_ctrlr`): creation on the poll group, the destruct chain
//! (`_nvmf_ctrlr_free_from_qpair` -> `nvmf_ctrlr_destruct` on the subsystem thread ->
//! `_nvmf_ctrlr_destruct` on the ctrlr thread, spinning while a CC reset/shutdown is in
//! progress), keep-alive expiry, CC reset/shutdown fan-out with its 100 ms re-poll, the
//! association timer, and AER/AEN delivery.
//!
//! Invariants kept: a controller is destroyed exactly once and only with an empty qpair mask,
//! after every qpair referencing it is gone (I3); its fields are touched on its thread (I6).
//!
//! Keeper: `Ctrlr` (private fields) owns its registers, qpair mask, AERs and destruct flags;
//! the time-driven steps are in ctrlr_events.rs. See docs/lifecycle.md and docs/invariants.md
//! (I3, I6).

use super::arena::{QpairH, ReqH, SubsysH};
use super::subsystem::SubsysListener;
use super::ThreadId;
use crate::time::Instant;
use serde::Serialize;
use std::collections::BTreeSet;

/// CSTS bits.
pub const CSTS_RDY: u32 = 1;
pub const CSTS_CFS: u32 = 1 << 1;
pub const CSTS_SHST_COMPLETE: u32 = 2 << 2;
/// CC bits.
pub const CC_EN: u32 = 1;
/// AEC bit 8: namespace attribute notices.
pub const AEC_NS_ATTR: u32 = 1 << 8;
/// SPDK's KATO rounding at CONNECT and Set Features: at least `min_kato`, else rounded up to
/// whole KAS units of `kas` x 100 ms (C `uint32_t` arithmetic: wraps, never traps). 0 stays 0.
pub fn round_kato(kato_ms: u32, min_kato: u32, kas: u16) -> u32 {
    let unit = u32::from(kas.max(1)) * 100;
    match kato_ms {
        0 => 0,
        k if k <= min_kato => min_kato,
        k => k.div_ceil(unit).wrapping_mul(unit),
    }
}
pub const CC_SHN_SHIFT: u32 = 14;

/// A controller: the only writer of its registers (CC/CSTS), its qpair mask, its AERs and
/// its destruct flags.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Ctrlr {
    subsys: SubsysH,
    /// 0 until `nvmf_subsystem_add_ctrlr` assigned one.
    cntlid: u16,
    /// The admin qpair's poll group thread.
    thread: ThreadId,
    admin_qpair: Option<QpairH>,
    /// Bit per qid of connected qpairs.
    qpair_mask: BTreeSet<u16>,
    /// Outstanding AERs (at most 4).
    aer: Vec<ReqH>,
    /// Events waiting for an AER (cdw0 values).
    pending_aens: Vec<u32>,
    /// The Changed Namespace List page and the namespace-attribute notice mask.
    ns_notice: super::log_page::NsNotice,
    kato_ms: u32,
    last_keep_alive: Instant,
    /// When the keep-alive poller was (re)registered: it runs every `kato_ms` from here.
    keep_alive_poller_since: Instant,
    cc: u32,
    csts: u32,
    /// Async event configuration (Set Features 0x0B).
    aec: u32,
    /// Volatile write cache feature (0x06): WCE, 1 from creation (write_cache.rs).
    vwc: u32,
    /// The host disabled SQ flow control in its admin CONNECT and the profile honours it
    /// (`ctrlr->sq_flow_control_disabled`, `Spdk::negotiates_sq_flow_control`). Fixed at
    /// creation; every qpair of the controller follows it.
    sq_flow_control_disabled: bool,
    in_destruct: bool,
    disconnect_in_progress: bool,
    disconnect_is_shn: bool,
    cc_timeout_at: Instant,
    hostnqn: String,
    hostid: [u8; 16],
    /// `ctrlr->listener` (None for a discovery controller, or once the listener is removed).
    listener: Option<SubsysListener>,
    /// In `subsystem->ctrlrs` (set on the subsystem thread).
    added: bool,
    /// Never reused (unlike the cntlid): the key of this controller's pollers.
    serial: u64,
    /// The I/O qids still in the qpair mask when the last CC reset/shutdown wrote its final
    /// status (RDY = 0 or SHST = COMPLETE) while the admin queue could still read it and SPDK
    /// had not given up with CSTS.CFS; empty when the status followed the queues (I12).
    status_with_io: BTreeSet<u16>,
}

/// What a CC write (`nvmf_prop_set_cc`) asks the target to do after the registers changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CcEffects {
    /// EN 0 -> 1: CSTS.RDY set, association timer stopped.
    pub enabled: bool,
    /// EN 1 -> 0: start a controller reset.
    pub reset: bool,
    /// SHN 0 -> 1|2: start a shutdown.
    pub shutdown: bool,
    /// The write is answered with INVALID PARAMETERS (after the effects above, as SPDK does).
    pub invalid: bool,
}

/// The identity a new controller is created with (`nvmf_ctrlr_create`).
pub struct NewCtrlr {
    /// A number no other controller of this target ever had (its pollers' key).
    pub serial: u64,
    pub subsys: SubsysH,
    pub thread: ThreadId,
    pub kato_ms: u32,
    pub now: Instant,
    pub hostnqn: String,
    pub hostid: [u8; 16],
    pub listener: Option<SubsysListener>,
    /// `ctrlr->sq_flow_control_disabled` (`nvmf_ctrlr_create`).
    pub sq_flow_control_disabled: bool,
}

/// The most AERs a controller holds (SPDK_NVMF_MAX_ASYNC_EVENTS).
pub const MAX_AERS: usize = 4;

impl Ctrlr {
    pub fn new(n: NewCtrlr) -> Self {
        Ctrlr {
            subsys: n.subsys,
            cntlid: 0,
            thread: n.thread,
            admin_qpair: None,
            qpair_mask: BTreeSet::new(),
            aer: Vec::new(),
            pending_aens: Vec::new(),
            ns_notice: super::log_page::NsNotice::default(),
            kato_ms: n.kato_ms,
            last_keep_alive: n.now,
            keep_alive_poller_since: n.now,
            cc: 0,
            csts: 0,
            // `nvmf_ctrlr_create`: namespace attribute notices are on from the start.
            aec: AEC_NS_ATTR,
            vwc: 1,
            sq_flow_control_disabled: n.sq_flow_control_disabled,
            in_destruct: false,
            disconnect_in_progress: false,
            disconnect_is_shn: false,
            cc_timeout_at: n.now,
            hostnqn: n.hostnqn,
            hostid: n.hostid,
            listener: n.listener,
            added: false,
            serial: n.serial,
            status_with_io: BTreeSet::new(),
        }
    }

    /// The key of this controller's pollers (`Timer::KeepAlive { ctrlr }`, ...): they belong
    /// to this object, so a later controller reusing its cntlid never shares them.
    pub fn key(&self) -> u64 {
        self.serial
    }

    pub fn subsys(&self) -> SubsysH {
        self.subsys
    }

    pub fn cntlid(&self) -> u16 {
        self.cntlid
    }

    pub fn thread(&self) -> ThreadId {
        self.thread
    }

    pub fn admin_qpair(&self) -> Option<QpairH> {
        self.admin_qpair
    }

    pub fn qpair_mask(&self) -> &BTreeSet<u16> {
        &self.qpair_mask
    }

    /// Whether the controller's qpairs run without SQ flow control (SQHD reserved).
    pub fn sq_flow_control_disabled(&self) -> bool {
        self.sq_flow_control_disabled
    }

    pub fn kato_ms(&self) -> u32 {
        self.kato_ms
    }

    /// When the keep-alive poller was last registered (`nvmf_ctrlr_start_keep_alive_timer`,
    /// Set Features KATO).
    pub fn keep_alive_poller_since(&self) -> Instant {
        self.keep_alive_poller_since
    }

    pub fn last_keep_alive(&self) -> Instant {
        self.last_keep_alive
    }

    pub fn cc(&self) -> u32 {
        self.cc
    }

    pub fn csts(&self) -> u32 {
        self.csts
    }

    pub fn aec(&self) -> u32 {
        self.aec
    }

    pub fn in_destruct(&self) -> bool {
        self.in_destruct
    }

    pub fn disconnect_in_progress(&self) -> bool {
        self.disconnect_in_progress
    }

    pub fn hostnqn(&self) -> &str {
        &self.hostnqn
    }

    pub fn hostid(&self) -> [u8; 16] {
        self.hostid
    }

    pub fn added(&self) -> bool {
        self.added
    }

    /// I/O qids connected when the last reset/shutdown reported done (I12; see the field).
    pub fn status_with_io(&self) -> &BTreeSet<u16> {
        &self.status_with_io
    }

    /// `nvmf_subsystem_add_ctrlr` succeeded: the cntlid, and the controller is in
    /// `subsystem->ctrlrs`.
    pub fn assign_cntlid(&mut self, cntlid: u16) {
        debug_assert!(
            !self.added,
            "nvmf_subsystem_add_ctrlr runs once per controller"
        );
        self.cntlid = cntlid;
        self.added = true;
    }

    /// `nvmf_subsystem_remove_ctrlr`: returns whether it was in `subsystem->ctrlrs`.
    pub fn mark_removed(&mut self) -> bool {
        std::mem::replace(&mut self.added, false)
    }

    /// `_nvmf_ctrlr_add_admin_qpair`: admin qpair, keep-alive start, mask bit 0.
    pub fn add_admin_qpair(&mut self, q: QpairH, now: Instant) {
        debug_assert!(
            self.admin_qpair.is_none() && !self.qpair_mask.contains(&0),
            "_nvmf_ctrlr_add_admin_qpair: a controller gets one admin qpair"
        );
        self.admin_qpair = Some(q);
        self.last_keep_alive = now;
        self.keep_alive_poller_since = now;
        self.qpair_mask.insert(0);
    }

    /// `nvmf_ctrlr_add_io_qpair`: mask bit `qid` (the caller checked it was clear).
    pub fn add_io_qpair(&mut self, qid: u16) {
        debug_assert!(
            qid != 0 && !self.qpair_mask.contains(&qid),
            "nvmf_ctrlr_add_io_qpair: spdk_bit_array_get(ctrlr->qpair_mask, qid) is clear"
        );
        self.qpair_mask.insert(qid);
    }

    /// `_nvmf_transport_qpair_fini_complete` of any qid 0 qpair of this controller:
    /// `ctrlr->admin_qpair = NULL` (SPDK does not compare the pointer).
    pub fn clear_admin_qpair(&mut self) {
        self.admin_qpair = None;
    }

    /// `_nvmf_ctrlr_free_from_qpair`: clears the qid bit; returns whether the mask is empty.
    pub fn remove_qpair(&mut self, qid: u16) -> bool {
        self.qpair_mask.remove(&qid);
        self.qpair_mask.is_empty()
    }

    /// `ctrlr->in_destruct = true`; Err if it already was (destructed twice, I3).
    pub fn begin_destruct(&mut self) -> Result<(), ()> {
        if std::mem::replace(&mut self.in_destruct, true) {
            return Err(());
        }
        Ok(())
    }

    /// Keep Alive (or a kato change) restarts the keep-alive period.
    pub fn keep_alive(&mut self, now: Instant) {
        self.last_keep_alive = now;
    }

    /// Set Features Keep Alive Timer.
    pub fn set_kato(&mut self, kato_ms: u32, now: Instant) {
        self.kato_ms = kato_ms;
        self.last_keep_alive = now;
        self.keep_alive_poller_since = now;
    }

    /// Set Features Asynchronous Event Configuration.
    pub fn set_aec(&mut self, aec: u32) {
        self.aec = aec;
    }

    /// Feature 0x06 (`ctrlr->feat.volatile_write_cache.raw`).
    pub fn vwc(&self) -> u32 {
        self.vwc
    }

    /// Set Features 0x06 as v24.01 stores it (reserved bits cleared).
    pub fn set_vwc(&mut self, vwc: u32) {
        self.vwc = vwc & 1;
    }

    /// The controller failed (CSTS.CFS): keep-alive expiry or a CC timeout.
    pub fn fail(&mut self) {
        self.csts |= CSTS_CFS;
    }

    /// `ctrlr->listener`.
    pub fn listener(&self) -> Option<&SubsysListener> {
        self.listener.as_ref()
    }

    /// The controller is forgetting a listener the subsystem removed.
    pub fn forget_listener(&mut self, l: &SubsysListener) {
        if self.listener.as_ref() == Some(l) {
            self.listener = None;
        }
    }

    /// `nvmf_prop_set_cc`'s register part: applies the write and says what must follow.
    pub fn write_cc(&mut self, new: u32) -> Option<CcEffects> {
        let diff = new ^ self.cc;
        let shn = (new >> CC_SHN_SHIFT) & 3;
        if diff & (0x3FF << 4) != 0 {
            // CSS, MPS or AMS changed: not supported.
            return None;
        }
        let mut fx = CcEffects::default();
        self.cc = (self.cc & !(0xFF << 16)) | (new & (0xFF << 16));
        if diff & CC_EN != 0 {
            if new & CC_EN != 0 {
                self.cc |= CC_EN;
                self.csts |= CSTS_RDY;
                fx.enabled = true;
            } else if !self.disconnect_in_progress {
                self.cc &= !CC_EN;
                fx.reset = true;
            }
        }
        if diff & (3 << CC_SHN_SHIFT) != 0 {
            let busy = self.disconnect_in_progress || fx.reset;
            match shn {
                1 | 2 if !busy => {
                    self.cc = (self.cc & !(3 << CC_SHN_SHIFT)) | (shn << CC_SHN_SHIFT);
                    fx.shutdown = true;
                }
                1 | 2 => {}
                0 => self.cc &= !(3 << CC_SHN_SHIFT),
                _ => fx.invalid = true,
            }
        }
        Some(fx)
    }

    /// `nvmf_ctrlr_cc_reset_shn` started: `disconnect_in_progress`, CC timeout at `timeout`.
    pub fn begin_reset_shn(&mut self, shn: bool, timeout: Instant) {
        debug_assert!(
            !self.disconnect_in_progress,
            "nvmf_prop_set_cc starts a reset/shutdown only when none is in progress"
        );
        self.disconnect_in_progress = true;
        self.disconnect_is_shn = shn;
        self.cc_timeout_at = timeout;
        self.status_with_io.clear();
    }

    /// Whether the CC reset/shutdown may still wait for I/O qpairs at `now`.
    pub fn reset_shn_may_wait(&self, now: Instant) -> bool {
        now < self.cc_timeout_at
    }

    /// `_nvmf_ctrlr_cc_reset_shn_done`: shutdown complete (SHST) or registers reset;
    /// `disconnect_in_progress` cleared.
    pub fn finish_reset_shn(&mut self) {
        debug_assert!(
            self.disconnect_in_progress,
            "_nvmf_ctrlr_cc_reset_shn_done runs for a reset/shutdown in progress"
        );
        // I12's record: SPDK's give-up (CFS) and a controller whose admin queue is gone (no
        // host can read CSTS any more) are the exceptions.
        let gave_up = self.csts & CSTS_CFS != 0;
        self.status_with_io = if gave_up || self.admin_qpair.is_none() {
            BTreeSet::new()
        } else {
            self.qpair_mask
                .iter()
                .copied()
                .filter(|q| *q != 0)
                .collect()
        };
        if self.disconnect_is_shn {
            self.csts = (self.csts & !(3 << 2)) | CSTS_SHST_COMPLETE;
            self.disconnect_is_shn = false;
        } else {
            self.cc = 0;
            self.csts = 0;
        }
        self.disconnect_in_progress = false;
    }

    /// Stores an AER; Err if the controller already holds `MAX_AERS`.
    pub fn push_aer(&mut self, r: ReqH) -> Result<(), ()> {
        if self.aer.len() >= MAX_AERS {
            return Err(());
        }
        self.aer.push(r);
        Ok(())
    }

    /// The most recent stored AER (`ctrlr->aer_req[--ctrlr->nr_aer_reqs]`).
    pub fn take_aer(&mut self) -> Option<ReqH> {
        self.aer.pop()
    }

    /// The stored AERs, oldest first.
    pub fn aers(&self) -> &[ReqH] {
        &self.aer
    }

    /// `nvmf_qpair_abort_aer`: forget one stored AER; false if it is not stored.
    pub fn remove_aer(&mut self, r: ReqH) -> bool {
        let before = self.aer.len();
        self.aer.retain(|a| *a != r);
        self.aer.len() != before
    }

    /// Every stored AER (`nvmf_qpair_free_aer`, controller free).
    pub fn take_aers(&mut self) -> Vec<ReqH> {
        std::mem::take(&mut self.aer)
    }

    /// Queues an event no AER can carry yet.
    pub fn push_pending_aen(&mut self, cdw0: u32) {
        self.pending_aens.push(cdw0);
    }

    /// The oldest event waiting for an AER.
    pub fn take_pending_aen(&mut self) -> Option<u32> {
        (!self.pending_aens.is_empty()).then(|| self.pending_aens.remove(0))
    }

    /// The Changed Namespace List and its notice mask (`nvmf_ctrlr_ns_changed`,
    /// `nvmf_ctrlr_mask_aen`, `nvmf_get_changed_ns_list_log_page`).
    pub fn ns_notice_mut(&mut self) -> &mut super::log_page::NsNotice {
        &mut self.ns_notice
    }
}

/// I17: a controller belongs to `ctrlr->thread`.
impl super::arena::Owned for Ctrlr {
    fn owner(&self) -> Option<ThreadId> {
        Some(self.thread)
    }
}
