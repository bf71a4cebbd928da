//! Requests (`struct spdk_nvmf_request`): admission (`spdk_nvmf_request_exec` with
//! `nvmf_check_subsystem_active` and `nvmf_check_qpair_active`), the sgroup accounting, and the
//! two ways a request ends: one completion (`spdk_nvmf_request_complete`, forwarded to the
//! qpair's poll group) or a silent free with its dying qpair (`spdk_nvmf_request_free`).
//!
//! Invariants kept: every request ends exactly once (I4: a second completion finds a stale
//! handle); sgroup counters never underflow and count exactly the admitted, uncompleted
//! requests (I7); a PAUSING sgroup becomes PAUSED only here, once drained.
//!
//! Keeper of the request side of I7: `Request::counted` is private to this module and changes
//! only together with the sgroup counter (`check_subsystem_active`, `readmit_mgmt`,
//! `release_admission`, `request_end`). See docs/invariants.md (I4, I7).

use super::arena::{QpairH, ReqH, SubsysH};
use super::ownership::{foreign, Foreign};
use super::state::QpairState;
use super::state::SubState;
use super::thread::Msg;
use super::{ConnId, Instant, Target, ThreadId};
use crate::wire::{Command, ConnectData, Cqe, Sqe, Status, OPC_FABRICS};
use serde::Serialize;

/// Where a request is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Phase {
    /// A write waiting for H2CData after an R2T (transport only).
    AwaitingData,
    /// On `qpair->outstanding`, being executed.
    Executing,
    /// Admin CONNECT parked on the retry poller (still on `outstanding`).
    Parked,
    /// In `sgroup->queued`.
    Queued,
    /// Waiting for the RAM device.
    Device,
    /// TCP `NEED_BUFFER`: waiting on its poll group's data buffer queue (buffers.rs).
    NeedBuffer,
}

/// What a request holds of its poll group's data buffers (S7, buffers.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Buf {
    /// Needs none, or the pool is unbounded.
    None,
    /// Holds one (`req->data_from_pool`).
    Held,
    /// NEED_BUFFER: on the wait queue; `Next` is what follows HAVE_BUFFER.
    Waiting(Next),
    /// Taken off the wait queue by teardown and marked COMPLETED, not yet drained.
    Aborted,
}

/// TCP HAVE_BUFFER's next step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Next {
    /// A write: `nvmf_tcp_send_r2t_pdu` for this many bytes.
    R2t(u32),
    /// READY_TO_EXECUTE.
    Execute,
}

/// Which sgroup counter the request holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Counted {
    None,
    /// `sgroup->mgmt_io_outstanding` of this subsystem on the request's poll group.
    Mgmt(SubsysH),
    /// `ns_info[nsid-1].io_outstanding`.
    Io(SubsysH, u32),
}

/// One NVMe command.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Request {
    pub qpair: QpairH,
    pub conn: ConnId,
    pub pg: u16,
    pub sqe: Sqe,
    pub cmd: Command,
    /// In-capsule or H2C data (writes, CONNECT data).
    pub data: Vec<u8>,
    /// Expected data length for writes waiting for H2CData.
    pub data_len: u32,
    pub phase: Phase,
    /// The sgroup counter this request holds; written only by the admission functions below
    /// together with the counter itself (I7).
    counted: Counted,
    /// Retry-mode CONNECT: give-up deadline (`req->timeout_tsc`) and first park time.
    pub timeout_at: Option<Instant>,
    pub parked_at: Option<Instant>,
    /// Checker bookkeeping for L1: the CONNECT was parked at least once while its subsystem
    /// was not PAUSING/PAUSED (INACTIVE, DEACTIVATING: a BUSY answer is then not a pause's).
    pub parked_outside_pause: bool,
    pub rsp: Cqe,
    /// Data returned to the host (C2HData) before the CapsuleResp.
    pub rsp_data: Vec<u8>,
    /// `req->first_fused_req` of a fused pair's second half (the Compare it completes).
    pub first_fused: Option<ReqH>,
    /// The data buffer the request holds or waits for (S7, buffers.rs).
    pub buf: Buf,
    /// Its response write is deferred (zero-copy send): the TCP slot outlives the request
    /// until `_req_pdu_write_done` (tcp_slots.rs).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub write_pending: bool,
}

impl Request {
    /// A request fresh from a capsule: executing, holding no sgroup counter.
    pub fn new(
        qpair: QpairH,
        conn: ConnId,
        pg: u16,
        sqe: Sqe,
        cmd: Command,
        data: Vec<u8>,
    ) -> Self {
        Request {
            qpair,
            conn,
            pg,
            sqe,
            cmd,
            data,
            data_len: 0,
            phase: Phase::Executing,
            counted: Counted::None,
            timeout_at: None,
            parked_at: None,
            parked_outside_pause: false,
            rsp: Cqe::default(),
            rsp_data: Vec::new(),
            first_fused: None,
            buf: Buf::None,
            write_pending: false,
        }
    }

    /// The sgroup counter this request holds.
    pub fn counted(&self) -> Counted {
        self.counted
    }

    pub fn is_connect(&self) -> bool {
        matches!(self.cmd, Command::Connect(_))
    }

    pub fn is_fabrics(&self) -> bool {
        self.sqe.opc == OPC_FABRICS
    }

    /// Parsed CONNECT data, if this is a CONNECT with valid data.
    pub fn connect_data(&self) -> Option<ConnectData> {
        if !self.is_connect() || self.data.len() < 1024 {
            return None;
        }
        ConnectData::parse(&self.data).ok()
    }

    /// Sets the response status.
    pub fn set_status(&mut self, status: Status) {
        self.rsp.status = status;
    }
}

impl Target {
    /// The sgroup a request is admitted against: the controller's subsystem, or for a CONNECT
    /// the subsystem named in its data (`nvmf_subsystem_pg_from_connect_cmd`).
    fn request_sgroup(&mut self, r: ReqH) -> Option<SubsysH> {
        let req = self.reqs.get(r)?;
        let q = self.qpairs.get(req.qpair)?;
        if let Some(c) = q.ctrlr() {
            let _fixed = foreign(Foreign::FixedFields);
            return self
                .live_ref(c, "nvmf_check_subsystem_active")
                .map(|c| c.subsys());
        }
        let nqn = req.connect_data()?.subnqn;
        self.find_subsystem(&nqn)
    }

    /// `spdk_nvmf_request_exec` on the qpair's poll group.
    pub(super) fn request_exec(&mut self, r: ReqH) {
        let Some(req) = self.live(r, "spdk_nvmf_request_exec") else {
            return;
        };
        let pg = ThreadId::PollGroup(req.pg);
        if !self.assert_thread_with(pg, "spdk_nvmf_request_exec", || format!("{r}")) {
            return;
        }
        let sgroup = self.request_sgroup(r);
        if self.violation.is_some() {
            return;
        }
        if let Some(s) = sgroup {
            if !self.check_subsystem_active(r, s) {
                return;
            }
        }
        let Some(req) = self.reqs.get_mut(r) else {
            return;
        };
        req.phase = Phase::Executing;
        let (qh, is_connect) = (req.qpair, req.is_connect());
        let Some(q) = self.qpairs.get_mut(qh) else {
            return;
        };
        q.push_outstanding(r);
        // master: `nvmf_check_qpair_active`; v24.01 checks the qpair state only when the
        // request found an sgroup (inside `nvmf_check_subsystem_active`).
        let checked = self.config.spdk.connecting_gate() || sgroup.is_some();
        let admitted = match q.state() {
            QpairState::Connecting => is_connect,
            QpairState::Enabled => true,
            _ => !checked,
        };
        if !admitted {
            let (connecting, aer) = (q.state() == QpairState::Connecting, self.is_admin_aer(r));
            if connecting {
                self.mark(super::Mark::AdminBeforeConnect, format!("{r}"));
            }
            // 70f7d5ea70: an admin AER refused here never reaches the offset in
            // `nvmf_ctrlr_process_admin_cmd`, so it is offset here.
            if aer && !self.bug(super::BugId::SpdkAerInactiveQpair) {
                self.release_admission(r);
            }
            if aer {
                self.mark(super::Mark::AerOnInactiveQpair, format!("{r}"));
            }
            self.complete_with(r, crate::wire::status::COMMAND_SEQUENCE_ERROR);
            return;
        }
        self.dispatch_request(r);
    }

    /// `nvmf_check_subsystem_active`: queue if the sgroup (or namespace) is not ACTIVE, else
    /// count the request. Returns whether execution continues.
    fn check_subsystem_active(&mut self, r: ReqH, s: SubsysH) -> bool {
        let io_nsid = self.io_nsid(r);
        let Some(req) = self.live(r, "nvmf_check_subsystem_active") else {
            return false;
        };
        debug_assert_eq!(
            req.counted,
            Counted::None,
            "nvmf_check_subsystem_active: a request is admitted once"
        );
        let (pg, qh) = (usize::from(req.pg), req.qpair);
        let sg = self.pgs[pg].sgroup_mut(s);
        let ns_state = io_nsid.map(|n| sg.ns_state(n));
        // Admin and fabrics commands are gated on the group's state, I/O on its namespace's
        // state only (`nvmf_check_subsystem_active`).
        let counted = match ns_state {
            None if sg.state() != SubState::Active => None,
            None => {
                sg.admit_mgmt();
                Some(Counted::Mgmt(s))
            }
            Some(None) => {
                if let Some(q) = self.live(qh, "nvmf_check_subsystem_active") {
                    q.push_outstanding(r);
                }
                self.complete_with(r, crate::wire::status::INVALID_NAMESPACE);
                return false;
            }
            Some(Some(st)) if st != SubState::Active => None,
            Some(Some(_)) => io_nsid
                .filter(|n| sg.admit_io(*n))
                .map(|n| Counted::Io(s, n)),
        };
        let queue = counted.is_none();
        if queue {
            sg.queue(r);
        }
        if let Some(req) = self.reqs.get_mut(r) {
            match counted {
                Some(c) => req.counted = c,
                None => req.phase = Phase::Queued,
            }
        }
        !queue
    }

    /// `retry_connect`'s re-admission: `mgmt_io_outstanding++` on the request's sgroup of `s`
    /// without looking at the group's state (v24.01 does exactly this).
    pub(super) fn readmit_mgmt(&mut self, r: ReqH, s: SubsysH) {
        let Some(req) = self.live(r, "retry_connect") else {
            return;
        };
        debug_assert_eq!(
            req.counted,
            Counted::None,
            "a parked CONNECT holds no counter"
        );
        req.counted = Counted::Mgmt(s);
        req.phase = Phase::Executing;
        let pg = usize::from(req.pg);
        self.pgs[pg].sgroup_mut(s).admit_mgmt();
    }

    /// Gives back the request's sgroup counter while it stays alive (a parked CONNECT, a
    /// stored AER): the counter and `counted` change together (I7).
    pub(super) fn release_admission(&mut self, r: ReqH) {
        let Some(req) = self.reqs.get_mut(r) else {
            return;
        };
        let (pg, counted) = (req.pg, std::mem::replace(&mut req.counted, Counted::None));
        self.uncount(pg, counted);
    }

    /// The namespace of an I/O command (None for admin and fabrics commands).
    fn io_nsid(&self, r: ReqH) -> Option<u32> {
        let req = self.reqs.get(r)?;
        let q = self.qpairs.get(req.qpair)?;
        if q.qid() == 0 || req.is_fabrics() {
            return None;
        }
        Some(req.sqe.nsid)
    }

    /// Completes with `status` and no data.
    pub(super) fn complete_with(&mut self, r: ReqH, status: Status) {
        if let Some(req) = self.reqs.get_mut(r) {
            req.set_status(status);
        }
        self.request_complete(r);
    }

    /// `spdk_nvmf_request_complete`: `exec_msg` to the qpair's poll group.
    pub(super) fn request_complete(&mut self, r: ReqH) {
        let any = foreign(Foreign::CompleteFromAnyThread);
        let Some(req) = self.live_ref(r, "spdk_nvmf_request_complete") else {
            return;
        };
        let pg = ThreadId::PollGroup(req.pg);
        drop(any);
        if self.current == pg {
            self.request_complete_local(r);
        } else {
            self.send_msg(pg, Msg::RequestComplete { req: r });
        }
    }

    /// `_nvmf_request_complete` on the poll group: respond, leave `outstanding`, uncount,
    /// finish a pause if this was the last request, then drain-check the qpair.
    pub(super) fn request_complete_local(&mut self, r: ReqH) {
        let Some(req) = self.live(r, "_nvmf_request_complete") else {
            return;
        };
        let (qh, pg) = (req.qpair, ThreadId::PollGroup(req.pg));
        if !self.assert_thread_with(pg, "_nvmf_request_complete", || format!("{r}")) {
            return;
        }
        if self.live(qh, "_nvmf_request_complete").is_none() {
            return;
        }
        let released = self.completion_counter(r);
        self.send_response(r);
        self.request_end_with(r, released);
        self.qpair_request_cleanup(qh);
    }

    /// `request_transfer_out` for a request the transport fails before
    /// `spdk_nvmf_request_exec` (READY_TO_COMPLETE straight from the TCP state machine): the
    /// response goes out, but `_nvmf_request_complete` never runs, so no sgroup counter is
    /// released (none was taken).
    pub(super) fn transport_complete(&mut self, r: ReqH, status: Status) {
        let Some(req) = self.reqs.get_mut(r) else {
            return;
        };
        req.set_status(status);
        let qh = req.qpair;
        self.send_response(r);
        self.request_end(r);
        self.qpair_request_cleanup(qh);
    }

    /// A request dropped without an answer while its qpair is still active (SPDK frees or
    /// forgets it): freed here, and remembered so the liveness report names the lost answer.
    pub(super) fn request_lost(&mut self, r: ReqH, site: &str) {
        let Some(req) = self.reqs.get(r) else { return };
        let alive = self
            .qpairs
            .get(req.qpair)
            .is_some_and(|q| q.state().is_active());
        if alive {
            let line = format!("request {r} on conn {} never answered ({site})", req.conn.0);
            self.history.lost_answers.push(line);
        }
        self.request_free(r);
    }

    /// `spdk_nvmf_request_free`: the request ends without a completion to the host.
    pub(super) fn request_free(&mut self, r: ReqH) {
        if self.live(r, "spdk_nvmf_request_free").is_none() {
            return;
        }
        self.history.requests_freed += 1;
        self.request_end(r);
    }

    /// Leaves `outstanding`, releases the sgroup counter the request holds, frees it.
    fn request_end(&mut self, r: ReqH) {
        self.request_end_with(r, None);
    }

    /// `request_end` releasing `released` (SPDK's recomputed counter) instead of the tag.
    fn request_end_with(&mut self, r: ReqH, released: Option<Counted>) {
        let Some(req) = self.reqs.remove(r) else {
            return;
        };
        self.pollers_owner_freed(super::poller::PollerOwner::Req(r));
        if let Some(q) = self.qpairs.get_mut(req.qpair) {
            q.remove_outstanding(r);
            q.tcp_mut().decoder.recycle(req.data);
        }
        if !req.write_pending {
            self.tcp_slot_put(req.qpair);
        }
        self.uncount(req.pg, released.unwrap_or(req.counted));
        // `nvmf_tcp_req_process` COMPLETED: `spdk_nvmf_request_free_buffers`.
        if req.buf == Buf::Held {
            self.buf_put(req.pg);
        }
    }
}

/// I17: a request belongs to its qpair's poll group.
impl super::arena::Owned for Request {
    fn owner(&self) -> Option<super::ThreadId> {
        Some(super::ThreadId::PollGroup(self.pg))
    }
}
