//! Qpairs (`struct spdk_nvmf_qpair` + the TCP transport qpair): states, `_nvmf_poll_group_add`,
//! `spdk_nvmf_qpair_disconnect` (once only, forwarded to the owning poll group, drain),
//! `nvmf_qpair_free_aer` (the seed bug's site), `_nvmf_qpair_destroy` and transport fini, which
//! starts the controller destruct chain.
//!
//! Invariants kept: a qpair is destroyed exactly once and transport fini runs once (I2); its
//! state follows SPDK's table (I10); qpair fields are written on its poll group thread (I6),
//! except where SPDK itself writes `qpair->ctrlr` from another thread (CONNECT hops).
//!
//! Keeper: `Qpair` (private fields) owns its state (`set_state` checks the table in state.rs),
//! its controller link and `outstanding`. See docs/lifecycle.md and docs/invariants.md (I2, I10).

use super::arena::{CtrlrH, QpairH, ReqH};
use super::ownership::{foreign, Foreign};
use super::state::{IllegalTransition, QpairState};
use super::tcp::TcpConn;
use super::thread::Msg;
use super::{BugId, ConnId, InvariantId, Mark, Target, TargetConfig, ThreadId, Trid};
use serde::Serialize;

/// A qpair: the only writer of its state (SPDK's transition table), its controller link and
/// its `outstanding` list.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Qpair {
    conn: ConnId,
    /// The listen trid the connection arrived on.
    trid: Trid,
    pg: u16,
    /// `qpair->group`: Some(`pg`) from `spdk_nvmf_poll_group_add` until
    /// `spdk_nvmf_poll_group_remove` sets it NULL; None before and after (calloc default).
    group: Option<u16>,
    state: QpairState,
    /// invariant: None until the admin CONNECT created a controller (or an I/O CONNECT hop set it).
    ctrlr: Option<CtrlrH>,
    /// 0 until CONNECT says otherwise (calloc default): every pre-CONNECT qpair "is admin".
    qid: u16,
    sqsize: u16,
    connect_received: bool,
    disconnect_started: bool,
    /// `qpair->outstanding`: requests admitted and not completed or freed.
    outstanding: Vec<ReqH>,
    /// `qpair->connect_req`: an I/O CONNECT waiting on the duplicate-qid retry poller.
    connect_req: Option<ReqH>,
    /// `qpair->first_fused_req`: the first half of a fused pair, held (on `outstanding`,
    /// unanswered) until the second half arrives (fused.rs).
    first_fused: Option<ReqH>,
    /// Old teardown order only (`spdk-2055`): `_nvmf_ctrlr_free_from_qpair` already released
    /// this qpair's mask bit while the qpair is still allocated, so `qpair->ctrlr` may dangle
    /// (the controller can be freed first); only a read of it is a crash.
    ctrlr_released: bool,
    tcp: TcpConn,
}

impl Qpair {
    pub fn new(conn: ConnId, trid: Trid, pg: u16, config: &TargetConfig) -> Self {
        Qpair {
            conn,
            trid,
            pg,
            group: None,
            state: QpairState::Uninitialized,
            ctrlr: None,
            qid: 0,
            sqsize: 0,
            connect_received: false,
            disconnect_started: false,
            outstanding: Vec::new(),
            connect_req: None,
            first_fused: None,
            ctrlr_released: false,
            tcp: TcpConn::new(config),
        }
    }

    /// "qpair conn=3 qid=0" for violations and traces.
    pub fn label(&self) -> String {
        format!("qpair conn={} qid={}", self.conn.0, self.qid)
    }

    pub fn conn(&self) -> ConnId {
        self.conn
    }

    pub fn trid(&self) -> &Trid {
        &self.trid
    }

    /// The poll group the acceptor assigned (fixed for the qpair's life).
    pub fn pg(&self) -> u16 {
        self.pg
    }

    /// `qpair->group`: the poll group while the qpair is on its list, None (NULL) before
    /// `spdk_nvmf_poll_group_add` and after `spdk_nvmf_poll_group_remove`.
    pub fn group(&self) -> Option<u16> {
        self.group
    }

    pub fn state(&self) -> QpairState {
        self.state
    }

    pub fn ctrlr(&self) -> Option<CtrlrH> {
        self.ctrlr
    }

    pub fn qid(&self) -> u16 {
        self.qid
    }

    pub fn sqsize(&self) -> u16 {
        self.sqsize
    }

    pub fn disconnect_started(&self) -> bool {
        self.disconnect_started
    }

    /// `qpair->outstanding`, oldest first.
    pub fn outstanding(&self) -> &[ReqH] {
        &self.outstanding
    }

    /// The NVMe/TCP side (kept by the transport, tcp.rs).
    pub fn tcp(&self) -> &TcpConn {
        &self.tcp
    }

    pub fn tcp_mut(&mut self) -> &mut TcpConn {
        &mut self.tcp
    }

    /// `nvmf_qpair_set_state`, checked against SPDK's table.
    pub fn set_state(&mut self, new: QpairState) -> Result<(), IllegalTransition> {
        if !self.state.may_become(new) {
            return Err(IllegalTransition {
                from: self.state,
                to: new,
            });
        }
        self.state = new;
        Ok(())
    }

    /// `spdk_nvmf_poll_group_add`: CONNECTING (master) or ACTIVE at once (v24.01, `gate`
    /// false), no controller, not disconnecting; returns the bytes that arrived before the
    /// group saw the qpair.
    pub fn enter_poll_group(&mut self, gate: bool) -> Result<Vec<u8>, IllegalTransition> {
        let state = if gate {
            QpairState::Connecting
        } else {
            QpairState::Enabled
        };
        self.set_state(state)?;
        self.group = Some(self.pg);
        self.ctrlr = None;
        self.disconnect_started = false;
        Ok(std::mem::take(&mut self.tcp.rx_pending))
    }

    /// `spdk_nvmf_poll_group_remove`: ERROR and `qpair->group = NULL`.
    pub fn leave_poll_group(&mut self) -> Result<(), IllegalTransition> {
        self.set_state(QpairState::Error)?;
        self.group = None;
        Ok(())
    }

    /// `qpair->ctrlr = ctrlr` (CONNECT hops write it from the poll group, the subsystem thread
    /// and the controller thread, as SPDK does).
    pub fn connect_req(&self) -> Option<ReqH> {
        self.connect_req
    }

    /// Sets or clears `qpair->connect_req` (the duplicate-qid retry's request).
    pub fn set_connect_req(&mut self, r: Option<ReqH>) {
        self.connect_req = r;
    }

    pub fn set_ctrlr(&mut self, ctrlr: Option<CtrlrH>) {
        self.ctrlr = ctrlr;
    }

    /// `_nvmf_ctrlr_connect`: the CONNECT's qid and sqsize; `connect_received = true`. SPDK
    /// runs this again for a second CONNECT while `qpair->ctrlr` is NULL (after a failed add
    /// or while the first is parked).
    pub fn connect_received_for(&mut self, qid: u16, sqsize: u16) {
        self.qid = qid;
        self.sqsize = sqsize;
        self.connect_received = true;
    }

    /// `__atomic_test_and_set(&qpair->disconnect_started)`: false if it was already set.
    pub fn start_disconnect(&mut self) -> bool {
        debug_assert!(
            self.state.is_active(),
            "spdk_nvmf_qpair_disconnect: assert(spdk_nvmf_qpair_is_active(qpair))"
        );
        !std::mem::replace(&mut self.disconnect_started, true)
    }

    /// Sets or clears `qpair->first_fused_req`, returning the previous one.
    pub fn replace_first_fused(&mut self, r: Option<ReqH>) -> Option<ReqH> {
        std::mem::replace(&mut self.first_fused, r)
    }

    /// See `ctrlr_released` (old teardown order).
    pub fn ctrlr_released(&self) -> bool {
        self.ctrlr_released
    }

    /// `_nvmf_ctrlr_free_from_qpair` ran for this qpair before its fini (old teardown order).
    pub fn release_ctrlr(&mut self) {
        self.ctrlr_released = true;
    }

    /// A request joins `qpair->outstanding`.
    pub fn push_outstanding(&mut self, r: ReqH) {
        debug_assert!(
            !self.outstanding.contains(&r),
            "a request is on qpair->outstanding at most once"
        );
        self.outstanding.push(r);
    }

    /// A request leaves `qpair->outstanding` (no-op if it was not there).
    pub fn remove_outstanding(&mut self, r: ReqH) {
        self.outstanding.retain(|x| *x != r);
    }
}

impl Target {
    /// `nvmf_qpair_set_state` through the qpair's table: an illegal transition is an I10
    /// violation at `site`. Returns whether the state changed.
    pub(super) fn qpair_set_state(&mut self, h: QpairH, new: QpairState, site: &str) -> bool {
        let Some(q) = self.live(h, site) else {
            return false;
        };
        match q.set_state(new) {
            Ok(()) => true,
            Err(e) => {
                let label = q.label();
                let detail = format!("illegal qpair transition {:?} -> {:?}", e.from, e.to);
                self.crash_on(InvariantId::LegalTransitions, site, vec![label], &detail);
                false
            }
        }
    }

    /// `_nvmf_poll_group_add` on the chosen poll group: CONNECTING, ctrlr NULL, in
    /// `group->qpairs`; then any bytes that arrived early are processed.
    pub(super) fn poll_group_add(&mut self, h: QpairH) {
        let pg = match self.qpairs.get(h) {
            Some(q) => q.pg(),
            // The connection died (peer close) before the group saw it: already finalized.
            None => return,
        };
        if !self.assert_thread(
            ThreadId::PollGroup(pg),
            "_nvmf_poll_group_add",
            format!("{h}"),
        ) {
            return;
        }
        let gate = self.config.spdk.connecting_gate();
        let Some(q) = self.qpairs.get_mut(h) else {
            return;
        };
        let pending = match q.enter_poll_group(gate) {
            Ok(pending) => pending,
            Err(e) => {
                let (label, detail) = (q.label(), format!("{:?} -> {:?}", e.from, e.to));
                let site = "spdk_nvmf_poll_group_add";
                self.crash_on(InvariantId::LegalTransitions, site, vec![label], &detail);
                return;
            }
        };
        let dead = q.tcp().dead;
        self.tcp_poll_group_add(pg, h);
        self.wake(ThreadId::PollGroup(pg));
        if dead {
            // The socket group's first poll reads what arrived before the peer closed (an
            // ICReq is answered) and only then sees the EOF.
            self.process_bytes_before_eof(h, &pending);
            if !self.eof_strands_pdu(h) {
                self.qpair_disconnect(h);
            }
        } else if !pending.is_empty() {
            self.process_bytes(h, &pending);
        }
    }

    /// Bytes that arrived before a peer close, processed as a live connection would.
    fn process_bytes_before_eof(&mut self, h: QpairH, pending: &[u8]) {
        if pending.is_empty() {
            return;
        }
        if let Some(q) = self.qpairs.get_mut(h) {
            q.tcp_mut().dead = false;
        }
        self.process_bytes(h, pending);
        if let Some(q) = self.qpairs.get_mut(h) {
            q.tcp_mut().dead = true;
        }
    }

    /// `spdk_nvmf_qpair_disconnect`.
    pub(super) fn qpair_disconnect(&mut self, h: QpairH) {
        let _any = foreign(Foreign::DisconnectFromAnyThread);
        let Some(q) = self.qpairs.get_mut(h) else {
            // A forwarded disconnect for a qpair that finished meanwhile: SPDK would touch freed
            // memory here only if the qpair could be freed with a disconnect message pending.
            return;
        };
        if q.disconnect_started() {
            return;
        }
        let pg = q.pg();
        if q.state() == QpairState::Uninitialized {
            // SPDK finalizes an UNINITIALIZED qpair in the transport at once. Here its
            // `_nvmf_poll_group_add` is always already queued, so the qpair is marked dead and
            // that message disconnects it (same outcome, no freed qpair left on the queue).
            q.tcp_mut().dead = true;
            return;
        }
        if self.current != ThreadId::PollGroup(pg) {
            self.send_msg(ThreadId::PollGroup(pg), Msg::QpairDisconnect { qpair: h });
            return;
        }
        self.qpair_disconnect_on_pg(h);
    }

    fn qpair_disconnect_on_pg(&mut self, h: QpairH) {
        let Some(q) = self.qpairs.get_mut(h) else {
            return;
        };
        if !q.state().is_active() {
            let label = q.label();
            let state = q.state();
            self.crash_on(
                InvariantId::LegalTransitions,
                "spdk_nvmf_qpair_disconnect",
                vec![label],
                &format!("assert(spdk_nvmf_qpair_is_active) in state {state:?}"),
            );
            return;
        }
        q.start_disconnect();
        let label = q.label();
        let outstanding = !q.outstanding().is_empty();
        if !self.qpair_set_state(h, QpairState::Deactivating, "spdk_nvmf_qpair_disconnect") {
            return;
        }
        self.mark(Mark::QpairDisconnectStarted, label.clone());
        if outstanding {
            self.mark(Mark::DisconnectWithOutstanding, label);
            self.qpair_free_aer(h);
        } else {
            self.qpair_destroy(h);
        }
    }

    /// `nvmf_qpair_free_aer`: frees the AERs of the admin qpair of a present controller without
    /// completing them. With `spdk-3302` on, the controller guard is missing (v24.01): a
    /// pre-CONNECT qpair (qid 0, ctrlr NULL) dereferences NULL.
    pub(super) fn qpair_free_aer(&mut self, h: QpairH) {
        let Some(q) = self.qpairs.get(h) else { return };
        let (qid, ctrlr, label) = (q.qid(), q.ctrlr(), q.label());
        if ctrlr.is_none() && qid == 0 {
            self.mark(Mark::FreeAerWithoutCtrlr, label.clone());
        }
        let ctrlr = if self.bug(BugId::Spdk3302) {
            if qid != 0 {
                return;
            }
            let Some(c) = ctrlr else {
                self.crash_on(
                    InvariantId::NoDanglingReference,
                    "free_aer",
                    vec![label, "ctrlr NULL".to_string()],
                    "NULL controller dereferenced in nvmf_qpair_free_aer (ctrlr->thread)",
                );
                return;
            };
            c
        } else {
            match ctrlr {
                Some(c) if qid == 0 => c,
                _ => return,
            }
        };
        self.ctrlr_free_aers(ctrlr, h);
    }

    /// Frees the stored AERs of `ctrlr` (they never complete on their own) and drains.
    fn ctrlr_free_aers(&mut self, ctrlr: CtrlrH, h: QpairH) {
        let Some(c) = self.live(ctrlr, "nvmf_qpair_free_aer") else {
            return;
        };
        let thread = c.thread();
        let aers = c.take_aers();
        if !self.assert_thread(thread, "nvmf_qpair_free_aer", format!("{ctrlr}")) {
            return;
        }
        for r in aers {
            self.request_free(r);
        }
        self.qpair_request_cleanup(h);
    }

    /// `nvmf_qpair_request_cleanup`: a DEACTIVATING qpair whose last request left is destroyed.
    pub(super) fn qpair_request_cleanup(&mut self, h: QpairH) {
        let Some(q) = self.qpairs.get(h) else { return };
        if q.state() == QpairState::Deactivating && q.outstanding().is_empty() {
            self.qpair_destroy(h);
        }
    }

    /// `_nvmf_qpair_destroy`: purge queued requests, remove from the poll group (ERROR), then
    /// transport fini (a TCP self-message).
    pub(super) fn qpair_destroy(&mut self, h: QpairH) {
        let Some(q) = self.qpairs.get(h) else { return };
        let label = q.label();
        if !self.assert_thread(ThreadId::PollGroup(q.pg()), "_nvmf_qpair_destroy", label) {
            return;
        }
        let Some(q) = self.qpairs.get(h) else { return };
        if q.state() != QpairState::Deactivating {
            let label = q.label();
            self.crash_on(
                InvariantId::QpairDestroyedOnce,
                "_nvmf_qpair_destroy",
                vec![label],
                "qpair destroyed twice or while not DEACTIVATING",
            );
            return;
        }
        let (pg, ctrlr, qid) = (q.pg(), q.ctrlr(), q.qid());
        self.purge_queued_requests(h, pg, ctrlr);
        if self.free_from_qpair_first(h, ctrlr, qid) {
            return;
        }
        if !self.poll_group_remove(h) {
            return;
        }
        self.tcp_close_qpair(h, pg, ctrlr);
    }

    /// `nvmf_tcp_close_qpair` -> `nvmf_tcp_qpair_destroy`: since 3056c8ac02 (v22.05, #2471)
    /// the free is a self-message (`_nvmf_tcp_qpair_destroy`), so it never runs from a socket
    /// callback; v21.01 (the `spdk-1850` switch) freed the qpair at once.
    pub(super) fn tcp_close_qpair(&mut self, h: QpairH, pg: u16, ctrlr: Option<CtrlrH>) {
        if self.bug(BugId::Spdk1850) {
            self.transport_qpair_destroy(h, ctrlr);
            return;
        }
        let msg = Msg::TransportQpairDestroy { qpair: h, ctrlr };
        self.send_msg(ThreadId::PollGroup(pg), msg);
    }

    /// Peer closed the TCP connection: the transport disconnects the qpair.
    pub(super) fn handle_peer_closed(&mut self, conn: ConnId) {
        let Some(h) = self.conns.get(&conn).copied() else {
            return;
        };
        let Some(q) = self.qpairs.get_mut(h) else {
            return;
        };
        q.tcp_mut().dead = true;
        let pg = q.pg();
        let initialized = q.state() != QpairState::Uninitialized;
        super::ownership::enter(&mut self.current, ThreadId::PollGroup(pg));
        self.mark(Mark::PeerClosed, format!("conn={}", conn.0));
        if initialized && !self.eof_strands_pdu(h) {
            self.qpair_disconnect(h);
        }
    }

    /// Whether a catalogue bug is switched on.
    pub(super) fn bug(&self, bug: BugId) -> bool {
        self.config.bugs.has(bug)
    }

    /// Whether a test-only planted slip is switched on (planted.rs).
    pub(super) fn planted(&self, p: super::planted::Plant) -> bool {
        self.config.planted.contains(p)
    }
}

/// I17: a qpair belongs to its poll group's thread.
impl super::arena::Owned for Qpair {
    fn owner(&self) -> Option<ThreadId> {
        Some(ThreadId::PollGroup(self.pg))
    }
}
