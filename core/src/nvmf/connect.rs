//! CONNECT, hop by hop (`nvmf_ctrlr_cmd_connect`, `_nvmf_ctrlr_connect`,
//! `_nvmf_subsystem_add_ctrlr`, `_nvmf_ctrlr_add_admin_qpair`, `_nvmf_ctrlr_add_io_qpair`,
//! `nvmf_ctrlr_add_io_qpair`, `nvmf_ctrlr_send_connect_rsp`), with both park modes for a
//! subsystem that is not ACTIVE (retry poller in the v24.01 profile, `sgroup->queued` in master).
//!
//! Invariants kept: every CONNECT gets exactly one response (I8) unless its qpair dies first;
//! a check made before a thread hop is re-validated after it; the cntlid comes from the
//! subsystem's configured range (exhaustion fails the CONNECT on the subsystem thread, leaving
//! `qpair->ctrlr = NULL` while the error completion is in flight: the seed's second window).

use super::arena::{CtrlrH, ReqH, SubsysH};
use super::ctrlr::{Ctrlr, NewCtrlr};
use super::ownership::{foreign, Foreign};
use super::qpair::Qpair;
use super::request::Phase;
use super::state::QpairState;
use super::state::SubState;
use super::thread::Msg;
use super::{BugId, Mark, Target, ThreadId, Timer};
use crate::time::Duration;
use crate::wire::{status, Command, Connect, ConnectData, Status};

pub(super) const RETRY_PERIOD: Duration = Duration::from_micros(100);

/// CONNECT "invalid parameters" pointing at a data field (iattr 1) or SQE field (iattr 0).
pub(super) fn invalid_param(ipo: u16, data: bool) -> (Status, u32) {
    (
        status::CONNECT_INVALID_PARAMETERS,
        u32::from(ipo) | (u32::from(data) << 16),
    )
}

impl Target {
    /// `nvmf_ctrlr_cmd_connect` (PG): data checks, subsystem lookup, park if not ACTIVE,
    /// access checks, then `_nvmf_ctrlr_connect`.
    pub(super) fn cmd_connect(&mut self, r: ReqH) {
        let Some(req) = self.reqs.get(r) else { return };
        let Command::Connect(cmd) = req.cmd.clone() else {
            return;
        };
        if req.data.len() < 1024 {
            self.complete_with(r, status::INVALID_FIELD);
            return;
        }
        let Some(data) = req.connect_data() else {
            self.complete_connect_err(r, invalid_param(256, true));
            return;
        };
        let qh = req.qpair;
        let Some(s) = self.find_subsystem(&data.subnqn) else {
            self.complete_connect_err(r, invalid_param(256, true));
            return;
        };
        let trid = self.qpairs.get(qh).map(|q| q.trid().clone());
        let _found = foreign(Foreign::ConnectFindsSubsystem);
        let Some(sub) = self.live_ref(s, "nvmf_ctrlr_cmd_connect") else {
            return;
        };
        let state = sub.state();
        if !state.admits_connect() {
            self.park_connect(r, s, state);
            return;
        }
        // `nvmf_qpair_access_allowed`: the host, then the listener (a walk that reads the
        // subsystem's listeners, subsys_listener.rs); SPDK (deprecated, still served) lets the
        // discovery subsystem in on any listener.
        let host_ok = sub.host_allowed(&data.hostnqn);
        let listener_ok = host_ok && {
            let site = "spdk_nvmf_subsystem_listener_allowed";
            let found = match &trid {
                Some(t) => self.find_subsys_listener(s, t, site),
                None => Some(None),
            };
            let Some(found) = found else { return };
            found.is_some() || self.is_discovery(s)
        };
        if !listener_ok {
            self.complete_with(r, status::CONNECT_INVALID_HOST);
            return;
        }
        self.ctrlr_connect(r, s, &cmd, &data);
    }

    pub(super) fn complete_connect_err(&mut self, r: ReqH, (st, cdw0): (Status, u32)) {
        if let Some(req) = self.reqs.get_mut(r) {
            req.rsp.cdw0 = cdw0;
        }
        self.complete_with(r, st);
    }

    /// A CONNECT to a subsystem that is not ACTIVE: `mgmt_io_outstanding--`, then retry poller
    /// (stays on `outstanding`, up to 1 s, then CONTROLLER_BUSY) or `sgroup->queued`.
    fn park_connect(&mut self, r: ReqH, s: SubsysH, state: SubState) {
        let now = self.now;
        let retry = self.retry_parking();
        let Some(req) = self.live(r, "nvmf_ctrlr_cmd_connect") else {
            return;
        };
        let (pg, qh, conn) = (req.pg, req.qpair, req.conn);
        if !matches!(state, SubState::Pausing | SubState::Paused) {
            req.parked_outside_pause = true;
        }
        if retry {
            let timeout = *req.timeout_at.get_or_insert(now + Duration::from_secs(1));
            req.parked_at.get_or_insert(now);
            if now > timeout {
                self.mark(Mark::ConnectRetryGaveUp, format!("conn={}", conn.0));
                self.record_busy_connect(r, s);
                self.complete_with(r, status::CONTROLLER_BUSY);
                return;
            }
            req.phase = Phase::Parked;
            self.release_admission(r);
            self.retry_reqs.insert(conn, r);
            let owner = super::poller::PollerOwner::Req(r);
            self.poller_register(Timer::ConnectRetry { conn }, owner, RETRY_PERIOD, None);
            self.refresh_connect_retry_deadlines();
        } else {
            req.phase = Phase::Queued;
            if let Some(q) = self.qpairs.get_mut(qh) {
                q.remove_outstanding(r);
            }
            self.release_admission(r);
            self.pgs[usize::from(pg)].sgroup_mut(s).queue(r);
        }
        self.mark(Mark::ConnectParked, format!("conn={} {state:?}", conn.0));
        if state == SubState::Pausing {
            self.mark(Mark::ConnectParkedWhilePausing, format!("conn={}", conn.0));
        }
    }

    /// `_nvmf_ctrlr_connect`: SQE checks, qid, then controller create (admin) or the subsystem
    /// thread hop (I/O).
    fn ctrlr_connect(&mut self, r: ReqH, s: SubsysH, cmd: &Connect, data: &ConnectData) {
        let max_depth = self.config.max_queue_depth;
        if cmd.recfmt != 0 {
            self.complete_with(r, status::CONNECT_INCOMPATIBLE_FORMAT);
            return;
        }
        if cmd.sqsize == 0 || cmd.sqsize >= max_depth {
            self.complete_connect_err(r, invalid_param(44, false));
            return;
        }
        if cmd.qid == 0 && data.cntlid != 0xFFFF {
            self.complete_connect_err(r, invalid_param(16, true));
            return;
        }
        let Some(req) = self.live(r, "_nvmf_ctrlr_connect") else {
            return;
        };
        let qh = req.qpair;
        let Some(q) = self.qpairs.get_mut(qh) else {
            return;
        };
        q.connect_received_for(cmd.qid, cmd.sqsize);
        if cmd.qid == 0 {
            self.ctrlr_create(r, s, cmd, data);
        } else {
            let cntlid = data.cntlid;
            self.send_msg(
                ThreadId::App,
                Msg::SubsystemAddIoQpair {
                    req: r,
                    subsys: s,
                    cntlid,
                },
            );
        }
    }

    /// `nvmf_ctrlr_create` (PG): the controller is born on this thread, `qpair->ctrlr` is set,
    /// then `_nvmf_subsystem_add_ctrlr` on the subsystem thread.
    fn ctrlr_create(&mut self, r: ReqH, s: SubsysH, cmd: &Connect, data: &ConnectData) {
        let now = self.now;
        let min_kato = self.config.min_kato_ms;
        let Some(req) = self.live(r, "nvmf_ctrlr_create") else {
            return;
        };
        let (qh, pg) = (req.qpair, req.pg);
        // `ctrlr->listener = nvmf_subsystem_find_listener(...)` for NVMe subsystems (the
        // access check found it in this same step, so this walk cannot crash or miss).
        let trid = self.qpairs.get(qh).map(|q| q.trid().clone());
        let listener = match trid {
            Some(t) if !self.is_discovery(s) => self
                .find_subsys_listener(s, &t, "nvmf_ctrlr_create")
                .flatten(),
            _ => None,
        };
        let kato_ms = super::ctrlr::round_kato(cmd.kato_ms, min_kato, self.config.kas);
        let disc = self.discovery_kato(s, kato_ms);
        let kato_ms = disc.map_or(kato_ms, |d| d.0);
        let serial = self.history.ctrlrs_created + 1;
        let sq_flow_control_disabled = self.config.spdk.negotiates_sq_flow_control()
            && cmd.cattr & crate::wire::CATTR_DISSQFC != 0;
        let ctrlr = Ctrlr::new(NewCtrlr {
            serial,
            subsys: s,
            thread: ThreadId::PollGroup(pg),
            kato_ms,
            now,
            hostnqn: data.hostnqn.clone(),
            hostid: data.hostid,
            listener,
            sq_flow_control_disabled,
        });
        if self.live(qh, "nvmf_ctrlr_create").is_none() {
            return;
        }
        let c = self.ctrlrs.insert(ctrlr);
        if let (Some((_, aec)), Some(ctrlr)) = (disc, self.ctrlrs.get_mut(c)) {
            ctrlr.set_aec(aec);
        }
        self.history.ctrlrs_created += 1;
        self.ctrlr_keys.insert(serial, c);
        if let Some(q) = self.qpairs.get_mut(qh) {
            q.set_ctrlr(Some(c));
        }
        self.wake(ThreadId::PollGroup(pg));
        self.mark(Mark::AdminConnectStarted, format!("{c} pg{pg}"));
        self.send_msg(ThreadId::App, Msg::SubsystemAddCtrlr { req: r, ctrlr: c });
    }

    /// `_nvmf_subsystem_add_ctrlr` (subsystem thread): allocate a cntlid in the range. On
    /// failure SPDK frees the controller, writes `qpair->ctrlr = NULL` from this thread and
    /// sends the error completion to the poll group.
    pub(super) fn subsystem_add_ctrlr(&mut self, r: ReqH, c: CtrlrH) {
        let _handed = foreign(Foreign::SubsystemThreadAddsCtrlr);
        let Some(ctrlr) = self.live(c, "_nvmf_subsystem_add_ctrlr") else {
            return;
        };
        let s = ctrlr.subsys();
        let Some(sub) = self.live(s, "nvmf_subsystem_add_ctrlr") else {
            return;
        };
        let Some(cntlid) = sub.add_ctrlr(c) else {
            if let Some(gone) = self.ctrlrs.remove(c) {
                self.ctrlr_keys.remove(&gone.key());
            }
            self.history.ctrlrs_destroyed += 1;
            let qh = self.reqs.get(r).map(|req| req.qpair);
            if let Some(q) = qh.and_then(|q| self.qpairs.get_mut(q)) {
                q.set_ctrlr(None);
            }
            self.mark(Mark::CtrlrAddFailed, format!("{s}"));
            self.complete_with(r, status::INTERNAL_DEVICE_ERROR);
            return;
        };
        let Some(ctrlr) = self.live(c, "nvmf_subsystem_add_ctrlr") else {
            return;
        };
        ctrlr.assign_cntlid(cntlid);
        let thread = ctrlr.thread();
        self.mark(Mark::CtrlrCreated, format!("cntlid={cntlid}"));
        self.send_msg(thread, Msg::CtrlrAddAdminQpair { req: r, ctrlr: c });
    }

    /// `_nvmf_ctrlr_add_admin_qpair` (ctrlr thread): admin qpair, keep-alive, mask bit 0.
    pub(super) fn ctrlr_add_admin_qpair(&mut self, r: ReqH, c: CtrlrH) {
        let Some(req) = self.live(r, "_nvmf_ctrlr_add_admin_qpair") else {
            return;
        };
        let qh = req.qpair;
        let now = self.now;
        let Some(ctrlr) = self.ctrlr_on_thread(c, "_nvmf_ctrlr_add_admin_qpair") else {
            return;
        };
        ctrlr.add_admin_qpair(qh, now);
        let cntlid = ctrlr.cntlid();
        self.start_keep_alive(c);
        let Some(req) = self.live(r, "_nvmf_ctrlr_add_admin_qpair") else {
            return;
        };
        req.rsp.cdw0 = u32::from(cntlid);
        let pg = req.pg;
        self.connect_rsp(pg, r);
    }

    /// `_nvmf_ctrlr_add_io_qpair` (subsystem thread): find the controller by cntlid, reject
    /// in_destruct and a missing or inactive admin qpair, set `qpair->ctrlr`, hop to the
    /// controller thread.
    pub(super) fn subsystem_add_io_qpair(&mut self, r: ReqH, s: SubsysH, cntlid: u16) {
        let _checks = foreign(Foreign::SubsystemThreadChecksIoConnect);
        let Some(sub) = self.live(s, "_nvmf_ctrlr_add_io_qpair") else {
            return;
        };
        let Some(c) = sub.ctrlr(cntlid) else {
            self.io_connect_reject(r, invalid_param(16, true));
            return;
        };
        let Some(ctrlr) = self.live_ref(c, "_nvmf_ctrlr_add_io_qpair") else {
            return;
        };
        let (in_destruct, admin) = (ctrlr.in_destruct(), ctrlr.admin_qpair());
        if !in_destruct && self.admin_qpair_gone(r, admin, "_nvmf_ctrlr_add_io_qpair") {
            return;
        }
        let admin_group = self.active_admin_group(admin);
        let admin_ok = admin_group.is_some();
        // SPDK_NVMF_INVALID_CONNECT_CMD(rsp, qid): the command's QID (offset 42), not the
        // data's cntlid, for a destructing controller or an inactive admin qpair.
        if in_destruct || !admin_ok {
            self.io_connect_reject(r, invalid_param(42, false));
            return;
        }
        let (Some(admin), Some(group)) = (admin, admin_group) else {
            return;
        };
        // The admin qpair's state and group were read from its poll group's object; SPDK's
        // thread goes on while that poll group runs on its own core.
        let rest = Msg::SubsystemAddIoQpairSend {
            req: r,
            ctrlr: c,
            admin,
            group,
        };
        self.continue_msg(ThreadId::App, rest);
    }

    fn io_connect_reject(&mut self, r: ReqH, err: (Status, u32)) {
        self.mark(Mark::IoConnectRejected, format!("{r}"));
        self.complete_connect_err(r, err);
    }

    /// `nvmf_ctrlr_add_io_qpair` (ctrlr thread): `qpair->ctrlr = NULL`, re-check everything,
    /// then set the mask bit and answer on the I/O qpair's poll group.
    pub(super) fn ctrlr_add_io_qpair(&mut self, r: ReqH, c: CtrlrH) {
        let _handed = foreign(Foreign::CtrlrThreadAddsIoQpair);
        let max_io = self.config.max_io_qpairs_per_ctrlr;
        let Some(req) = self.live(r, "nvmf_ctrlr_add_io_qpair") else {
            return;
        };
        let qh = req.qpair;
        let Some(q) = self.live(qh, "nvmf_ctrlr_add_io_qpair") else {
            return;
        };
        q.set_ctrlr(None);
        let qid = q.qid();
        // "I/O connect not allowed on discovery controller".
        let discovery = self.ctrlr_is_discovery(c);
        let Some(ctrlr) = self.ctrlr_on_thread(c, "nvmf_ctrlr_add_io_qpair") else {
            return;
        };
        let enabled = ctrlr.cc() & super::ctrlr::CC_EN != 0;
        let (in_destruct, admin) = (ctrlr.in_destruct() || discovery, ctrlr.admin_qpair());
        // `spdk-2220`: the check after the hop (92f62deefc) is missing.
        let checked = !self.bug(BugId::Spdk2220);
        if checked
            && !in_destruct
            && enabled
            && self.admin_qpair_gone(r, admin, "nvmf_ctrlr_add_io_qpair")
        {
            return;
        }
        let admin_group = self.active_admin_group(admin);
        let admin_ok = admin_group.is_some();
        // SPDK_NVMF_INVALID_CONNECT_CMD(rsp, qid) for a destructing or disabled controller or
        // an inactive admin qpair; INVALID_QUEUE_IDENTIFIER past the mask's capacity.
        if in_destruct || !enabled || (checked && !admin_ok) {
            self.io_connect_reject(r, invalid_param(42, false));
            return;
        }
        if qid > max_io {
            self.io_connect_reject_qid(r);
            return;
        }
        self.ctrlr_add_qpair(r, c);
    }

    /// `nvmf_ctrlr_add_qpair` (master) / `ctrlr_add_qpair_and_send_rsp` (v24.01) for an I/O
    /// qpair, on the controller thread: a qid still in the mask parks the request in
    /// `qpair->connect_req` with `qpair->ctrlr` set and a 1000 us poller (the old qpair may be
    /// going away); found again on the retry, INVALID_QUEUE_IDENTIFIER.
    pub(super) fn ctrlr_add_qpair(&mut self, r: ReqH, c: CtrlrH) {
        let site = "nvmf_ctrlr_add_qpair";
        let Some(req) = self.live(r, site) else {
            return;
        };
        let (qh, pg, conn) = (req.qpair, req.pg, req.conn);
        let Some(q) = self.live(qh, site) else {
            return;
        };
        let (qid, waiting) = (q.qid(), q.connect_req().is_some());
        let Some(ctrlr) = self.live(c, site) else {
            return;
        };
        let (duplicate, admin) = (ctrlr.qpair_mask().contains(&qid), ctrlr.admin_qpair());
        // cc2f6634b7 (both profiles; v24.01 as released with `spdk-admin-qpair-gone`).
        if admin.is_none() {
            if !self.admin_qpair_gone(r, admin, "ctrlr_add_qpair_and_send_rsp") {
                self.clear_connect_req(qh);
                self.io_connect_reject(r, invalid_param(42, false));
            }
            return;
        }
        if !self.assert_admin_on_group(admin, waiting) {
            return;
        }
        if duplicate && waiting {
            self.clear_connect_req(qh);
            self.io_connect_reject_qid(r);
            return;
        }
        // Both ways on set `qpair->ctrlr` (`nvmf_qpair_set_ctrlr`).
        if !self.describe_ctrlr_listener(c) {
            return;
        }
        if duplicate && !self.planted_dup_qid(c, qh, qid) {
            self.park_for_qid_retry(r, c, (qh, pg, conn));
            return;
        }
        let Some(ctrlr) = self.live(c, site) else {
            return;
        };
        // Only the planted duplicate-qid defect gets here with the bit already set.
        if !ctrlr.qpair_mask().contains(&qid) {
            ctrlr.add_io_qpair(qid);
        }
        let cntlid = ctrlr.cntlid();
        if let Some(q) = self.qpairs.get_mut(qh) {
            q.set_connect_req(None);
            q.set_ctrlr(Some(c));
        }
        self.wake(ThreadId::PollGroup(pg));
        if let Some(req) = self.reqs.get_mut(r) {
            req.rsp.cdw0 = u32::from(cntlid);
        }
        self.mark(
            Mark::IoConnectAccepted,
            format!("cntlid={cntlid} qid={qid}"),
        );
        self.connect_rsp(pg, r);
    }

    fn io_connect_reject_qid(&mut self, r: ReqH) {
        self.mark(Mark::IoConnectRejected, format!("{r}"));
        self.complete_with(r, status::INVALID_QUEUE_IDENTIFIER);
    }

    /// The CONNECT response from the controller thread: master sends
    /// `nvmf_ctrlr_send_connect_rsp` to the qpair's group; v24.01 completes it right here
    /// (`spdk_nvmf_request_complete` hops to the group).
    fn connect_rsp(&mut self, pg: u16, r: ReqH) {
        if self.config.spdk.connect_rsp_on_qpair_group() {
            self.send_msg(ThreadId::PollGroup(pg), Msg::SendConnectRsp { req: r });
            return;
        }
        let label = self
            .reqs
            .get(r)
            .and_then(|req| self.qpairs.get(req.qpair))
            .map(Qpair::label)
            .unwrap_or_default();
        self.mark(Mark::ConnectResponded, label);
        self.complete_with(r, status::SUCCESS);
    }

    /// `nvmf_ctrlr_send_connect_rsp` (PG): ENABLED if still CONNECTING (a qpair disconnected
    /// meanwhile is answered but not enabled), then complete.
    pub(super) fn send_connect_rsp(&mut self, r: ReqH) {
        let Some(req) = self.live(r, "nvmf_ctrlr_send_connect_rsp") else {
            return;
        };
        let qh = req.qpair;
        let Some(q) = self.live(qh, "nvmf_ctrlr_send_connect_rsp") else {
            return;
        };
        match q.state() {
            QpairState::Connecting => {
                if !self.qpair_set_state(qh, QpairState::Enabled, "nvmf_ctrlr_send_connect_rsp") {
                    return;
                }
            }
            QpairState::Deactivating => {}
            other => {
                let label = q.label();
                self.crash_on(
                    super::InvariantId::LegalTransitions,
                    "nvmf_ctrlr_send_connect_rsp",
                    vec![label],
                    &format!("assert(CONNECTING || DEACTIVATING) in {other:?}"),
                );
                return;
            }
        }
        let label = self.qpairs.get(qh).map(Qpair::label).unwrap_or_default();
        self.mark(Mark::ConnectResponded, label);
        // "SQHD is 0xFFFF when SQ flow control is disabled" (`request_transfer_out` then
        // leaves it).
        if self.sq_flow_control_of(qh) == Some(true) {
            if let Some(req) = self.reqs.get_mut(r) {
                req.rsp.sqhd = 0xFFFF;
            }
        }
        self.complete_with(r, status::SUCCESS);
    }
}
