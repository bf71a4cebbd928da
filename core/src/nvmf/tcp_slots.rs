//! S6: the TCP transport's per-qpair request slots, its receive state AWAIT_REQ, the TCP poll
//! group's two qpair lists and deferred response writes (zero-copy send), read from v24.01
//! `lib/nvmf/tcp.c` (v23.09 for the `spdk-3208` switch).
//!
//! - Slots: a qpair has `resource_count = max_queue_depth` `tcp_req`s
//!   (`nvmf_tcp_qpair_init_mem_resource`); a capsule takes one (`nvmf_tcp_req_get`) and it is
//!   put back when the request is freed (`nvmf_tcp_req_put`), which with a deferred write is
//!   only once the response PDU's write completed (`_req_pdu_write_done` ->
//!   `nvmf_tcp_request_free`).
//! - Receive state: every capsule header moves the qpair to AWAIT_REQ
//!   (`nvmf_tcp_pdu_psh_handle`); with a slot it leaves at once, without one it stays there,
//!   retried by the poll over `tgroup->await_req` (`nvmf_tcp_poll_group_poll`), only while a
//!   response write is pending (TRANSFERRING_CONTROLLER_TO_HOST or AWAITING_ZCOPY_RELEASE);
//!   otherwise the host sent more commands than the queue depth and the qpair goes QUIESCING
//!   (`nvmf_tcp_capsule_cmd_hdr_handle`). Every other receive state is `RecvState::Ready` here.
//! - Lists: `tgroup->qpairs` and `tgroup->await_req`; `nvmf_tcp_qpair_set_recv_state` moves a
//!   qpair between them when it enters or leaves AWAIT_REQ, `nvmf_tcp_poll_group_add` links it
//!   on `qpairs`, `nvmf_tcp_poll_group_remove` unlinks it (fixed 8cd4cc63d4: QUIESCING first).
//! - Writes: with `TargetConfig::zcopy` a response write completes later, as an event the
//!   driver delivers (`Input::Complete` with a write's id), only while the socket is in the
//!   sock group; `spdk_sock_close` aborts the rest (`spdk_sock_abort_requests` ->
//!   `_req_pdu_write_done(err)` -> QUIESCING). Off, a write completes as it is emitted.
//!
//! Invariant kept (I1, structural): every qpair on a TCP group list is live, on exactly one of
//! the two lists, and on `await_req` exactly when its receive state is AWAIT_REQ.

use super::arena::QpairH;
use super::thread::Msg;
use super::{BugId, DeviceIoId, InvariantId, Mark, Target, ThreadId, Violation};
use crate::wire::CapsuleCmd;
use serde::Serialize;

/// `tqpair->recv_state`, as far as the lists and the slot wait need it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
pub enum RecvState {
    /// Any state but AWAIT_REQ and QUIESCING.
    #[default]
    Ready,
    /// `NVME_TCP_PDU_RECV_STATE_AWAIT_REQ`: a capsule header waits for a request slot.
    AwaitReq,
    /// `NVME_TCP_PDU_RECV_STATE_QUIESCING`: nothing more is read.
    Quiescing,
}

/// The TCP side of a poll group (`struct spdk_nvmf_tcp_poll_group`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Default)]
pub struct TcpGroup {
    /// `tgroup->qpairs`, in list order.
    pub qpairs: Vec<QpairH>,
    /// `tgroup->await_req`, in list order.
    pub await_req: Vec<QpairH>,
    /// A poll of `await_req` is queued (the model runs it only after a slot was freed).
    poll_queued: bool,
}

/// The slot and write bookkeeping of one TCP qpair (part of `TcpConn`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
pub struct TcpSlots {
    pub recv: RecvState,
    /// `tcp_req`s off the free queue (`resource_count - state_cntr[FREE]`).
    pub used: u16,
    /// Response writes handed to the socket and not completed (`pdu_in_use` of requests in
    /// TRANSFERRING_CONTROLLER_TO_HOST).
    pub writes: u16,
    /// The capsule whose header left the qpair in AWAIT_REQ, and the bytes behind it.
    pub waiting: Option<CapsuleCmd>,
    pub stalled: Vec<u8>,
}

impl TcpSlots {
    /// Nothing held: the state every qpair has with zero-copy off between capsules.
    pub fn is_idle(&self) -> bool {
        self.recv == RecvState::Ready && self.used == 0 && self.writes == 0
    }

    /// Input arriving while the receive state machine does not read: kept behind the waiting
    /// capsule in AWAIT_REQ, dropped in QUIESCING. Returns whether `data` was held.
    pub fn hold_input(&mut self, data: &[u8]) -> bool {
        match self.recv {
            RecvState::Ready => false,
            RecvState::AwaitReq => {
                self.stalled.extend_from_slice(data);
                true
            }
            RecvState::Quiescing => true,
        }
    }
}

impl Target {
    /// Whether a peer close leaves the qpair connected for now. The receive state machine
    /// (`nvmf_tcp_sock_process`) sees the EOF only when it reads: not in AWAIT_REQ (it reads
    /// again once the capsule has a slot: `tcp_await_req_poll` disconnects then), and never
    /// again in QUIESCING entered with a PDU in progress. Likewise a peer close in the middle
    /// of a PDU whose common header was read moves AWAIT_PDU_PSH, AWAIT_REQ or
    /// AWAIT_PDU_PAYLOAD to QUIESCING without releasing the PDU in progress
    /// (`nvmf_tcp_qpair_set_recv_state` releases it only from AWAIT_PDU_CH), so
    /// `tcp_pdu_working_count` never reaches 0, the qpair never reaches ERROR and is never
    /// disconnected by its transport (SPDK issue #3437, open). Only a disconnect from above
    /// (keep-alive, a listener or subsystem teardown, shutdown) ends it.
    pub(super) fn eof_strands_pdu(&self, h: QpairH) -> bool {
        self.qpairs.get(h).is_some_and(|q| {
            let d = &q.tcp().decoder;
            let reading = q.tcp().slots.recv == RecvState::Ready;
            !reading || (d.error().is_none() && d.buffered() >= crate::wire::COMMON_HEADER_LEN)
        })
    }

    fn slots(&mut self, h: QpairH) -> Option<&mut TcpSlots> {
        self.qpairs.get_mut(h).map(|q| &mut q.tcp_mut().slots)
    }

    /// `nvmf_tcp_qpair_set_recv_state`: entering or leaving AWAIT_REQ moves the qpair between
    /// the group's lists (unlinked or not: `TAILQ_REMOVE` and `TAILQ_INSERT_TAIL` as written).
    pub(super) fn tcp_set_recv(&mut self, h: QpairH, state: RecvState) {
        let Some(q) = self.qpairs.get_mut(h) else {
            return;
        };
        let (pg, old) = (usize::from(q.pg()), q.tcp().slots.recv);
        if old == state {
            return;
        }
        q.tcp_mut().slots.recv = state;
        let g = &mut self.pgs[pg].tcp;
        if old == RecvState::AwaitReq {
            g.await_req.retain(|x| *x != h);
            g.qpairs.push(h);
        } else if state == RecvState::AwaitReq {
            g.qpairs.retain(|x| *x != h);
            g.await_req.push(h);
        }
    }

    /// `nvmf_tcp_pdu_psh_handle` (AWAIT_REQ) + `nvmf_tcp_capsule_cmd_hdr_handle`: takes a slot
    /// for a capsule (true), or leaves the qpair waiting in AWAIT_REQ (a write is pending) or
    /// QUIESCING (the host exceeded the queue depth).
    pub(super) fn tcp_capsule_slot(&mut self, h: QpairH, cap: &CapsuleCmd) -> bool {
        self.tcp_set_recv(h, RecvState::AwaitReq);
        let depth = self.config.max_queue_depth;
        let Some(q) = self.qpairs.get_mut(h) else {
            return false;
        };
        let s = &mut q.tcp_mut().slots;
        if s.used < depth {
            s.used += 1;
            self.tcp_set_recv(h, RecvState::Ready);
            return true;
        }
        if s.writes > 0 {
            s.waiting = Some(cap.clone());
            let label = q.label();
            self.mark(Mark::TcpAwaitReqWaited, label);
        } else {
            // "The host sent more commands than the maximum queue depth."
            self.tcp_set_recv(h, RecvState::Quiescing);
        }
        false
    }

    /// `nvmf_tcp_req_put`: a slot is free again; a qpair waiting in AWAIT_REQ is retried by the
    /// group's next poll of `tgroup->await_req`.
    pub(super) fn tcp_slot_put(&mut self, h: QpairH) {
        let Some(q) = self.qpairs.get_mut(h) else {
            return;
        };
        let pg = q.pg();
        let s = &mut q.tcp_mut().slots;
        s.used = s.used.saturating_sub(1);
        let g = &mut self.pgs[usize::from(pg)].tcp;
        if g.await_req.contains(&h) && !std::mem::replace(&mut g.poll_queued, true) {
            self.send_msg(ThreadId::PollGroup(pg), Msg::TcpAwaitReqPoll { pg });
        }
    }

    /// A response was handed to the socket: with zero-copy send its write completes later
    /// (`nvmf_tcp_qpair_write_req_pdu` sets `pdu_in_use`), holding the request's slot.
    /// Returns whether the write is deferred.
    pub(super) fn tcp_write_begin(&mut self, h: QpairH) -> bool {
        if !self.config.zcopy {
            return false;
        }
        let id = DeviceIoId(self.next_device_io);
        self.next_device_io += 1;
        let Some(s) = self.slots(h) else {
            return false;
        };
        s.writes += 1;
        self.tcp_writes.insert(id, h);
        true
    }

    /// The write of `io` completed (true) when it is a TCP write, not a device I/O.
    pub(super) fn tcp_write_event(&mut self, io: DeviceIoId) -> bool {
        let Some(h) = self.tcp_writes.remove(&io) else {
            return false;
        };
        if let Some(pg) = self.qpairs.get(h).map(|q| q.pg()) {
            super::ownership::enter(&mut self.current, ThreadId::PollGroup(pg));
        }
        self.tcp_write_done(h, false);
        true
    }

    /// `_req_pdu_write_done`: the request leaves TRANSFERRING_CONTROLLER_TO_HOST; on success
    /// `nvmf_tcp_request_free` puts its slot back, on an error (the socket was closed) the
    /// qpair goes QUIESCING and the slot is drained by `nvmf_tcp_cleanup_all_states`.
    fn tcp_write_done(&mut self, h: QpairH, err: bool) {
        let Some(s) = self.slots(h) else {
            return;
        };
        s.writes = s.writes.saturating_sub(1);
        if err {
            self.tcp_set_recv(h, RecvState::Quiescing);
        } else {
            self.tcp_slot_put(h);
        }
    }

    /// `nvmf_tcp_poll_group_poll`'s loop over `tgroup->await_req`: each waiting qpair retries
    /// its capsule (`nvmf_tcp_sock_process` in AWAIT_REQ).
    pub(super) fn tcp_await_req_poll(&mut self, pg: u16) {
        let g = &mut self.pgs[usize::from(pg)].tcp;
        g.poll_queued = false;
        for h in g.await_req.clone() {
            let Some(cap) = self.slots(h).and_then(|s| s.waiting.take()) else {
                continue;
            };
            if !self.tcp_capsule_slot(h, &cap) {
                continue;
            }
            self.tcp_retry_capsule(h, cap);
        }
    }

    /// The capsule that got its slot runs, then the bytes behind it; a peer close that came
    /// meanwhile is seen now (the next read).
    fn tcp_retry_capsule(&mut self, h: QpairH, cap: CapsuleCmd) {
        let Some(q) = self.qpairs.get_mut(h) else {
            return;
        };
        if q.disconnect_started() {
            // Input after a disconnect started is ignored, as everywhere in this model.
            q.tcp_mut().slots.stalled.clear();
            self.tcp_slot_put(h);
            return;
        }
        let tcp = q.tcp_mut();
        let (eof, stalled) = (tcp.dead, std::mem::take(&mut tcp.slots.stalled));
        tcp.dead = false;
        self.handle_capsule_admitted(h, cap);
        self.process_bytes(h, &stalled);
        if !eof {
            return;
        }
        if let Some(q) = self.qpairs.get_mut(h) {
            q.tcp_mut().dead = true;
        }
        if !self.eof_strands_pdu(h) {
            self.qpair_disconnect(h);
        }
    }

    /// `TAILQ_INSERT_TAIL(&group->qpairs)` in `spdk_nvmf_poll_group_add`, and
    /// `nvmf_tcp_poll_group_add`'s `TAILQ_INSERT_TAIL(&tgroup->qpairs)`.
    pub(super) fn tcp_poll_group_add(&mut self, pg: u16, h: QpairH) {
        self.pgs[usize::from(pg)].add_qpair(h);
        self.pgs[usize::from(pg)].tcp.qpairs.push(h);
    }

    /// `TAILQ_REMOVE(&group->qpairs)` in `spdk_nvmf_poll_group_remove`, then
    /// `nvmf_tcp_poll_group_remove`: fixed (8cd4cc63d4), an AWAIT_REQ qpair goes QUIESCING
    /// first (back on `qpairs`, and no later state change moves it); then it is unlinked from
    /// `qpairs` and its socket leaves the sock group, so its pending writes complete only when
    /// `spdk_sock_close` aborts them.
    pub(super) fn tcp_poll_group_remove(&mut self, pg: u16, h: QpairH) {
        self.pgs[usize::from(pg)].remove_qpair(h);
        let recv = self.slots(h).map(|s| s.recv).unwrap_or_default();
        let awaiting = recv == RecvState::AwaitReq;
        if self.config.bugs.has(BugId::Spdk3208) {
            // v23.09: unlinked from the list its current state names; the state is unchanged.
            let g = &mut self.pgs[usize::from(pg)].tcp;
            let list = if awaiting {
                &mut g.await_req
            } else {
                &mut g.qpairs
            };
            list.retain(|x| *x != h);
        } else {
            if awaiting {
                self.tcp_set_recv(h, RecvState::Quiescing);
            }
            self.pgs[usize::from(pg)].tcp.qpairs.retain(|x| *x != h);
        }
        self.tcp_writes.retain(|_, q| *q != h);
    }

    /// `_nvmf_tcp_qpair_destroy`'s `spdk_sock_close`: pending writes are aborted
    /// (`spdk_sock_abort_requests` -> `_req_pdu_write_done(-ECANCELED)`) before the qpair is
    /// freed. Called just before the free.
    pub(super) fn tcp_sock_close(&mut self, h: QpairH) {
        self.tcp_writes.retain(|_, q| *q != h);
        let Some(q) = self.qpairs.get(h) else {
            return;
        };
        let (writes, label) = (q.tcp().slots.writes, q.label());
        for _ in 0..writes {
            self.mark(Mark::TcpWriteAbortedAtClose, label.clone());
            self.tcp_write_done(h, true);
        }
    }

    /// After `free(tqpair)`: a qpair still linked on a TCP group list is a use after free on
    /// the group's next walk of that list (SPDK #3208).
    pub(super) fn tcp_freed_unlinked(&mut self, h: QpairH, pg: u16, label: String) {
        let g = &self.pgs[usize::from(pg)].tcp;
        let list = if g.qpairs.contains(&h) {
            "tgroup->qpairs"
        } else if g.await_req.contains(&h) {
            "tgroup->await_req"
        } else {
            return;
        };
        self.crash_on(
            InvariantId::NoDanglingReference,
            "_nvmf_tcp_qpair_destroy",
            vec![label, format!("pg{pg}")],
            &format!("tqpair freed while still linked on {list} (use after free)"),
        );
    }
}

#[doc(hidden)]
impl Target {
    /// Test access: the receive state, slots in use and pending writes of `conn`'s qpair.
    pub fn tcp_slots_of(&self, conn: super::ConnId) -> Option<(RecvState, u16, u16)> {
        let q = self.qpairs.get(*self.conns.get(&conn)?)?;
        let s = &q.tcp().slots;
        Some((s.recv, s.used, s.writes))
    }

    /// Test access: the pending zero-copy writes whose completion may be delivered.
    pub fn pending_tcp_writes(&self) -> Vec<DeviceIoId> {
        self.tcp_writes.keys().copied().collect()
    }

    /// Test access: the connections on poll group `pg`'s `tgroup->qpairs` and
    /// `tgroup->await_req` (a freed qpair shows as `None`).
    pub fn tcp_lists(&self, pg: u16) -> (Vec<Option<super::ConnId>>, Vec<Option<super::ConnId>>) {
        let g = &self.pgs[usize::from(pg)].tcp;
        let conn = |h: &QpairH| self.qpairs.get(*h).map(|q| q.conn());
        (
            g.qpairs.iter().map(conn).collect(),
            g.await_req.iter().map(conn).collect(),
        )
    }
}

/// I1, structurally: every qpair on a TCP group list is live and on exactly one of the two
/// lists (the one its receive state names), and every qpair on `group->qpairs` is on one.
pub(super) fn check_tcp_group_lists(t: &Target) -> Result<(), Violation> {
    let bad = |site: &str, h: QpairH, pg: usize, detail: &str| {
        Err(Violation {
            invariant: InvariantId::NoDanglingReference,
            site: site.to_string(),
            handles: vec![format!("{h}"), format!("pg{pg}")],
            thread: ThreadId::App,
            detail: detail.to_string(),
        })
    };
    for (pg, g) in t.pgs.iter().enumerate() {
        let lists = [
            ("tgroup->qpairs", &g.tcp.qpairs),
            ("tgroup->await_req", &g.tcp.await_req),
        ];
        for (site, list) in lists {
            for &h in list.iter() {
                let Some(q) = t.qpairs.get(h) else {
                    return bad(site, h, pg, "freed qpair linked on a TCP poll group list");
                };
                let n = g.tcp.qpairs.iter().chain(&g.tcp.await_req);
                if n.filter(|x| **x == h).count() != 1 {
                    return bad(site, h, pg, "qpair linked more than once on the TCP lists");
                }
                let awaiting = q.tcp().slots.recv == RecvState::AwaitReq;
                if awaiting != (site == "tgroup->await_req") {
                    return bad(
                        site,
                        h,
                        pg,
                        "qpair on the list its receive state does not name",
                    );
                }
            }
        }
        for &h in g.qpairs() {
            if !g.tcp.qpairs.contains(&h) && !g.tcp.await_req.contains(&h) {
                return bad(
                    "tgroup->qpairs",
                    h,
                    pg,
                    "qpair on its group but on no TCP list",
                );
            }
        }
    }
    Ok(())
}
