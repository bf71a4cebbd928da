//! Logical SPDK threads: per-thread FIFO message queues (`spdk_thread_send_msg`), the message
//! enum (one variant per SPDK hop, named after the SPDK function it runs), `Input::Run`
//! dispatch, and `spdk_for_each_channel` as an explicit fan-out object that visits poll groups
//! one at a time and moves on only when the current group calls continue.
//!
//! Invariants kept: a thread's queue is never reordered (I5's "after all its messages ran"
//! relies on it); `send_msg` is always deferred, even to the current thread; a fan-out's
//! completion runs exactly once, on the originating thread.

use super::arena::{CtrlrH, QpairH, ReqH, SubsysH};
use super::callbacks::StopListenCb;
use super::state::SubState;
use super::{InvariantId, RpcId, Target, ThreadId, Trid};
use serde::Serialize;
use std::collections::BTreeSet;

/// One deferred function call on a thread.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub enum Msg {
    /// `_nvmf_poll_group_add` (PG).
    PollGroupAdd { qpair: QpairH },
    /// `spdk_nvmf_qpair_disconnect` forwarded to the qpair's PG.
    QpairDisconnect { qpair: QpairH },
    /// `_nvmf_tcp_qpair_destroy` (PG self-message), then `_nvmf_transport_qpair_fini_complete`.
    TransportQpairDestroy {
        qpair: QpairH,
        ctrlr: Option<CtrlrH>,
    },
    /// `_nvmf_ctrlr_free_from_qpair` (ctrlr thread).
    CtrlrFreeFromQpair { ctrlr: CtrlrH, qid: u16 },
    /// `_nvmf_ctrlr_destruct` in nvmf.c (subsystem thread): remove from the subsystem.
    SubsystemRemoveCtrlr { ctrlr: CtrlrH },
    /// `_nvmf_ctrlr_destruct` in ctrlr.c (ctrlr thread): free, spinning while a CC
    /// reset/shutdown is in progress.
    CtrlrDestruct { ctrlr: CtrlrH },
    /// `_nvmf_subsystem_add_ctrlr` (subsystem thread).
    SubsystemAddCtrlr { req: ReqH, ctrlr: CtrlrH },
    /// `_nvmf_ctrlr_add_admin_qpair` (ctrlr thread).
    CtrlrAddAdminQpair { req: ReqH, ctrlr: CtrlrH },
    /// `_nvmf_ctrlr_add_io_qpair` (subsystem thread).
    SubsystemAddIoQpair {
        req: ReqH,
        subsys: SubsysH,
        cntlid: u16,
    },
    /// The rest of `_nvmf_ctrlr_add_io_qpair` after its admin-qpair check (subsystem thread):
    /// `qpair->ctrlr = ctrlr`, then the send to the admin qpair's group. Not a message in SPDK
    /// but the second half of one handler, split at the cross-thread read (`continue_msg`);
    /// `admin` and `group` are what the check read.
    SubsystemAddIoQpairSend {
        req: ReqH,
        ctrlr: CtrlrH,
        admin: QpairH,
        group: u16,
    },
    /// `_finish_unregister` of the target's io_device (app thread): `nvmf_tgt_destroy_cb`.
    TgtDestroyCb,
    /// `nvmf_ctrlr_add_io_qpair` (admin qpair's PG = ctrlr thread).
    CtrlrAddIoQpair { req: ReqH, ctrlr: CtrlrH },
    /// `nvmf_ctrlr_send_connect_rsp` (qpair's PG).
    SendConnectRsp { req: ReqH },
    /// `spdk_nvmf_request_complete` forwarded to the qpair's PG (`exec_msg`).
    RequestComplete { req: ReqH },
    /// A `for_each_channel` hop on a poll group.
    ChannelVisit { fan: u64 },
    /// A `for_each_channel` completion on the originating thread.
    ChannelDone { fan: u64 },
    /// `nvmf_poll_group_remove_subsystem_msg` re-polling itself (PG).
    RemoveSubsystemRepoll { fan: u64 },
    /// v24.01's `nvmf_stop_listen_disconnect_qpairs_msg` re-polling itself (PG).
    StopListenRepoll { fan: u64 },
    /// `_nvmf_tgt_disconnect_qpairs` re-polling itself (PG) during poll group destroy.
    PgDestroyRepoll { fan: u64 },
    /// `_nvmf_subsystem_destroy` re-sending itself while controllers remain (subsystem thread).
    SubsystemDestroy { subsys: SubsysH, rpc: Option<RpcId> },
    /// `nvmf_ctrlr_async_event_discovery_log_change_notice` (discovery ctrlr thread).
    DiscoveryLogChangeNotice { ctrlr: CtrlrH },
    /// `nvmf_get_discovery_log_page` (app thread).
    DiscoveryLogPage { req: ReqH },
    /// `_nvmf_tgt_disconnect_next_qpair` as the disconnect callback of the pre-0496a2af3b
    /// poll-group destroy walk (PG; `spdk-2765`, disconnect_cb.rs).
    TgtDisconnectNext { fan: u64 },
    /// `nvmf_tgt_destroy_poll_group` (PG): nvmf_tgt's shutdown destroys this poll group
    /// (`spdk_nvmf_poll_group_destroy` -> `_nvmf_tgt_disconnect_qpairs`).
    TgtDestroyPollGroup { fan: u64 },
    /// `_nvmf_tgt_destroy_poll_group_done` (app thread): one poll group less to wait for.
    TgtPollGroupDestroyed,
    /// `put_io_channel` (PG): the deferred half of `spdk_put_io_channel` that frees the poll
    /// group of a shutdown destroy walk (thread_life.rs).
    PutIoChannel { fan: u64 },
    /// Old teardown order (`spdk-2055`): `_nvmf_ctrlr_free_from_qpair` (ctrlr thread) before
    /// the qpair left its group; it sends `_nvmf_transport_qpair_fini` back to the qpair's PG.
    CtrlrFreeFromQpairFirst {
        ctrlr: CtrlrH,
        qid: u16,
        qpair: QpairH,
    },
    /// Old teardown order: `_nvmf_transport_qpair_fini` (PG): poll group remove, transport fini.
    TransportQpairFini { qpair: QpairH },
    /// `nvmf_tcp_poll_group_poll`'s walk of `tgroup->await_req` (PG), queued once a slot of
    /// a waiting qpair was freed (tcp_slots.rs).
    TcpAwaitReqPoll { pg: u16 },
}

impl Msg {
    /// The SPDK function this message runs.
    pub fn name(&self) -> &'static str {
        match self {
            Msg::PollGroupAdd { .. } => "_nvmf_poll_group_add",
            Msg::QpairDisconnect { .. } => "spdk_nvmf_qpair_disconnect",
            Msg::TransportQpairDestroy { .. } => "_nvmf_tcp_qpair_destroy",
            Msg::CtrlrFreeFromQpair { .. } => "_nvmf_ctrlr_free_from_qpair",
            Msg::SubsystemRemoveCtrlr { .. } => "nvmf_ctrlr_destruct",
            Msg::CtrlrDestruct { .. } => "_nvmf_ctrlr_destruct",
            Msg::SubsystemAddCtrlr { .. } => "_nvmf_subsystem_add_ctrlr",
            Msg::CtrlrAddAdminQpair { .. } => "_nvmf_ctrlr_add_admin_qpair",
            Msg::SubsystemAddIoQpair { .. } => "_nvmf_ctrlr_add_io_qpair",
            Msg::SubsystemAddIoQpairSend { .. } => "_nvmf_ctrlr_add_io_qpair:send",
            Msg::TgtDestroyCb => "nvmf_tgt_destroy_cb",
            Msg::CtrlrAddIoQpair { .. } => "nvmf_ctrlr_add_io_qpair",
            Msg::SendConnectRsp { .. } => "nvmf_ctrlr_send_connect_rsp",
            Msg::RequestComplete { .. } => "_nvmf_request_complete",
            Msg::ChannelVisit { .. } => "for_each_channel",
            Msg::ChannelDone { .. } => "for_each_channel_done",
            Msg::RemoveSubsystemRepoll { .. } => "nvmf_poll_group_remove_subsystem_msg",
            Msg::StopListenRepoll { .. } => "nvmf_stop_listen_disconnect_qpairs_msg",
            Msg::PgDestroyRepoll { .. } => "_nvmf_tgt_disconnect_qpairs",
            Msg::SubsystemDestroy { .. } => "_nvmf_subsystem_destroy",
            Msg::DiscoveryLogChangeNotice { .. } => {
                "nvmf_ctrlr_async_event_discovery_log_change_notice"
            }
            Msg::DiscoveryLogPage { .. } => "nvmf_get_discovery_log_page",
            Msg::TgtDisconnectNext { .. } => "_nvmf_tgt_disconnect_next_qpair",
            Msg::PutIoChannel { .. } => "put_io_channel",
            Msg::TgtDestroyPollGroup { .. } => "nvmf_tgt_destroy_poll_group",
            Msg::TgtPollGroupDestroyed => "_nvmf_tgt_destroy_poll_group_done",
            Msg::CtrlrFreeFromQpairFirst { .. } => "_nvmf_ctrlr_free_from_qpair",
            Msg::TransportQpairFini { .. } => "_nvmf_transport_qpair_fini",
            Msg::TcpAwaitReqPoll { .. } => "nvmf_tcp_poll_group_poll",
        }
    }
}

/// What a `for_each_channel` walk does on each poll group.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub enum FanKind {
    /// `subsystem_state_change_on_pg`.
    StateChange {
        subsys: SubsysH,
        requested: SubState,
        nsid: u32,
    },
    /// `nvmf_stop_listen_disconnect_qpairs`.
    StopListen {
        trid: Trid,
        filter: Option<SubsysH>,
        /// Qpairs on `trid` that existed at the call (for I9 with no filter).
        existing: BTreeSet<QpairH>,
        /// Qpairs the filter matched when their group was visited (for I13).
        visited: BTreeSet<QpairH>,
        cb: StopListenCb,
    },
    /// `nvmf_ctrlr_disconnect_qpairs_on_pg` (keep-alive expiry, io_only = false) or
    /// `nvmf_ctrlr_disconnect_io_qpairs_on_pg` (CC reset/shutdown, io_only = true).
    CtrlrDisconnect { ctrlr: CtrlrH, io_only: bool },
    /// Poll group destroy during whole-target shutdown: one per group, sent to all at once
    /// (`nvmf_tgt_destroy_poll_groups`, shutdown.rs), not a for_each_channel walk.
    PgDestroy,
    /// `nvmf_subsystem_disconnect_host_for_each_qpair` after a host was removed.
    DisconnectHost {
        subsys: SubsysH,
        hostnqn: String,
        rpc: RpcId,
        /// The RPC's `timeout_ms` (`ctx->timeout_ms`; 0: the default).
        timeout_ms: u64,
    },
    /// `rpc_nvmf_get_qpairs`: each group's qpairs of `subsys`, gathered into `found`.
    GetQpairs {
        subsys: SubsysH,
        rpc: RpcId,
        found: Vec<super::QpairInfo>,
    },
    /// `nvmf_ctrlr_abort_on_pg`; `found` once a group had the qpair (the walk stopped).
    Abort {
        req: ReqH,
        ctrlr: CtrlrH,
        sqid: u16,
        cid: u16,
        found: bool,
    },
}

/// One `spdk_for_each_channel` in progress.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Fanout {
    pub kind: FanKind,
    pub origin: ThreadId,
    /// The poll group being visited.
    pub pg: u16,
}

/// Queue index of a thread.
pub fn thread_index(t: ThreadId) -> usize {
    match t {
        ThreadId::App => 0,
        ThreadId::PollGroup(n) => usize::from(n) + 1,
    }
}

/// Thread of a queue index.
pub fn thread_of(i: usize) -> ThreadId {
    if i == 0 {
        ThreadId::App
    } else {
        ThreadId::PollGroup((i - 1) as u16)
    }
}

impl Target {
    /// `spdk_thread_send_msg`: always deferred, FIFO per destination.
    pub(super) fn send_msg(&mut self, to: ThreadId, msg: Msg) {
        debug_assert!(
            thread_index(to) < self.queues.len(),
            "spdk_thread_send_msg to a thread that does not exist: {to}"
        );
        if !self.send_allowed(to, &msg) {
            return;
        }
        if let Some(q) = self.queues.get_mut(thread_index(to)) {
            q.push_back(msg);
        }
    }

    /// The rest of the running handler, split at a read of another thread's object: it runs as
    /// `on`'s very next step (the head of its queue, before anything queued earlier), so no
    /// message of `on` comes between the two halves while other threads may run between them,
    /// as they do on their own cores in SPDK (docs/invariants.md, "Reads split into steps").
    pub(super) fn continue_msg(&mut self, on: ThreadId, msg: Msg) {
        if let Some(q) = self.queues.get_mut(thread_index(on)) {
            q.push_front(msg);
        }
    }

    /// A message that re-sends itself until a condition holds (`nvmf_poll_group_remove_
    /// subsystem_msg`, `_nvmf_tgt_disconnect_qpairs`, `_nvmf_subsystem_destroy`,
    /// `_nvmf_ctrlr_destruct`) is parked instead of spinning: each spin could only change its
    /// outcome after some other event, so it is re-queued (at the tail, FIFO kept) when that
    /// event happens (`wake`). This is the time-jump rule (docs/architecture.md) for busy
    /// re-polls: no livelock, no step per spin.
    pub(super) fn park_msg(&mut self, on: ThreadId, msg: Msg) {
        if let Some(p) = self.parked.get_mut(thread_index(on)) {
            p.push(msg);
        }
    }

    /// Re-queues every message parked on `thread`.
    pub(super) fn wake(&mut self, thread: ThreadId) {
        let i = thread_index(thread);
        let msgs = std::mem::take(&mut self.parked[i]);
        self.queues[i].extend(msgs);
    }

    /// Runs the head message of `thread`'s queue (no-op if empty).
    pub(super) fn run_thread(&mut self, thread: ThreadId) {
        let Some(msg) = self
            .queues
            .get_mut(thread_index(thread))
            .and_then(|q| q.pop_front())
        else {
            return;
        };
        super::ownership::enter(&mut self.current, thread);
        super::ownership::set_site(msg.name());
        if self.run_allowed(thread, &msg) {
            self.dispatch(msg);
        }
        self.ran_on(thread);
    }

    fn dispatch(&mut self, msg: Msg) {
        match msg {
            Msg::PollGroupAdd { qpair } => self.poll_group_add(qpair),
            Msg::QpairDisconnect { qpair } => self.qpair_disconnect(qpair),
            Msg::TransportQpairDestroy { qpair, ctrlr } => {
                self.transport_qpair_destroy(qpair, ctrlr)
            }
            Msg::CtrlrFreeFromQpair { ctrlr, qid } => self.ctrlr_free_from_qpair(ctrlr, qid),
            Msg::SubsystemRemoveCtrlr { ctrlr } => self.subsystem_remove_ctrlr(ctrlr),
            Msg::CtrlrDestruct { ctrlr } => self.ctrlr_destruct(ctrlr),
            Msg::SubsystemAddCtrlr { req, ctrlr } => self.subsystem_add_ctrlr(req, ctrlr),
            Msg::CtrlrAddAdminQpair { req, ctrlr } => self.ctrlr_add_admin_qpair(req, ctrlr),
            Msg::SubsystemAddIoQpair {
                req,
                subsys,
                cntlid,
            } => self.subsystem_add_io_qpair(req, subsys, cntlid),
            Msg::SubsystemAddIoQpairSend {
                req,
                ctrlr,
                admin,
                group,
            } => self.subsystem_add_io_qpair_send(req, ctrlr, admin, group),
            Msg::TgtDestroyCb => self.shutdown_destroy_target(),
            Msg::CtrlrAddIoQpair { req, ctrlr } => self.ctrlr_add_io_qpair(req, ctrlr),
            Msg::SendConnectRsp { req } => self.send_connect_rsp(req),
            Msg::RequestComplete { req } => self.request_complete_local(req),
            Msg::ChannelVisit { fan } => self.channel_visit(fan),
            Msg::ChannelDone { fan } => self.channel_done(fan),
            Msg::RemoveSubsystemRepoll { fan } => self.remove_subsystem_poll(fan),
            Msg::StopListenRepoll { fan } => self.stop_listen_visit(fan),
            Msg::PgDestroyRepoll { fan } => self.pg_destroy_poll(fan),
            Msg::SubsystemDestroy { subsys, rpc } => self.subsystem_destroy_poll(subsys, rpc),
            Msg::DiscoveryLogChangeNotice { ctrlr } => self.discovery_log_change_notice(ctrlr),
            Msg::DiscoveryLogPage { req } => self.discovery_log_page_msg(req),
            Msg::TgtDisconnectNext { fan } => self.tgt_disconnect_next_qpair(fan),
            Msg::PutIoChannel { fan } => self.pg_channel_put(fan),
            Msg::TgtDestroyPollGroup { fan } => self.pg_destroy_poll(fan),
            Msg::TgtPollGroupDestroyed => self.shutdown_poll_group_done(),
            Msg::CtrlrFreeFromQpairFirst { ctrlr, qid, qpair } => {
                self.ctrlr_free_from_qpair_first(ctrlr, qid, qpair)
            }
            Msg::TransportQpairFini { qpair } => self.transport_qpair_fini_old(qpair),
            Msg::TcpAwaitReqPoll { pg } => self.tcp_await_req_poll(pg),
        }
    }

    /// `spdk_for_each_channel(fn, done)` started from the current thread.
    pub(super) fn for_each_channel(&mut self, kind: FanKind) -> u64 {
        let origin = self.current;
        // The first thread with a channel (every poll group until shutdown destroys them).
        let first = self.pgs.iter().position(|g| !g.is_destroyed());
        let pg = first.map_or(self.pgs.len(), |i| i) as u16;
        let fan = self.new_fanout(Fanout { kind, origin, pg });
        match first {
            Some(_) => self.send_msg(ThreadId::PollGroup(pg), Msg::ChannelVisit { fan }),
            None => self.send_msg(origin, Msg::ChannelDone { fan }),
        }
        fan
    }

    /// Registers a fan-out context under a fresh id.
    pub(super) fn new_fanout(&mut self, f: Fanout) -> u64 {
        let fan = self.next_fanout;
        self.next_fanout += 1;
        self.fanouts.insert(fan, f);
        fan
    }

    /// `spdk_for_each_channel_continue`: move to the next poll group or finish.
    pub(super) fn channel_continue(&mut self, fan: u64) {
        let npg = self.pgs.len() as u16;
        let Some(f) = self.fanouts.get_mut(&fan) else {
            self.crash_on(
                InvariantId::CallbackOnce,
                "spdk_for_each_channel_continue",
                vec![format!("fanout {fan}")],
                "continue on a finished fan-out",
            );
            return;
        };
        f.pg += 1;
        // The next thread that still has the channel (a destroyed poll group has none).
        while f.pg < npg && self.pgs[usize::from(f.pg)].is_destroyed() {
            f.pg += 1;
        }
        if f.pg < npg {
            let pg = f.pg;
            self.send_msg(ThreadId::PollGroup(pg), Msg::ChannelVisit { fan });
        } else {
            let origin = f.origin;
            self.send_msg(origin, Msg::ChannelDone { fan });
        }
    }

    fn channel_visit(&mut self, fan: u64) {
        let Some(f) = self.fanouts.get(&fan).cloned() else {
            self.crash_on(
                InvariantId::CallbackOnce,
                "for_each_channel",
                vec![format!("fanout {fan}")],
                "visit of a finished fan-out",
            );
            return;
        };
        if self.pgs[usize::from(f.pg)].is_destroyed() {
            // `_call_channel`: the channel was deleted before this message ran; skip it.
            self.channel_continue(fan);
            return;
        }
        match f.kind {
            FanKind::StateChange {
                subsys,
                requested,
                nsid,
            } => self.state_change_on_pg(fan, f.pg, subsys, requested, nsid),
            FanKind::StopListen { .. } => self.stop_listen_visit(fan),
            FanKind::CtrlrDisconnect { ctrlr, io_only } => {
                self.ctrlr_disconnect_qpairs_on_pg(f.pg, ctrlr, io_only);
                self.channel_continue(fan);
            }
            FanKind::PgDestroy => self.pg_destroy_poll(fan),
            FanKind::DisconnectHost {
                subsys, hostnqn, ..
            } => {
                self.disconnect_host_on_pg(f.pg, subsys, &hostnqn);
                self.channel_continue(fan);
            }
            FanKind::GetQpairs { subsys, .. } => self.get_qpairs_on_pg(fan, f.pg, subsys),
            FanKind::Abort {
                req,
                ctrlr,
                sqid,
                cid,
                ..
            } => {
                if self.abort_on_pg(f.pg, req, ctrlr, sqid, cid) {
                    self.channel_stop(fan);
                } else {
                    self.channel_continue(fan);
                }
            }
        }
    }

    fn channel_done(&mut self, fan: u64) {
        let Some(f) = self.fanouts.remove(&fan) else {
            self.crash_on(
                InvariantId::CallbackOnce,
                "for_each_channel_done",
                vec![format!("fanout {fan}")],
                "completion fired twice",
            );
            return;
        };
        self.history.fanouts_done += 1;
        match f.kind {
            FanKind::StateChange { subsys, .. } => self.state_change_done(subsys),
            FanKind::StopListen {
                trid,
                filter,
                existing,
                visited,
                cb,
            } => {
                let fan = StopListenFan {
                    trid,
                    filter,
                    existing,
                    visited,
                };
                self.stop_listen_fini(fan, cb)
            }
            FanKind::CtrlrDisconnect { ctrlr, io_only } => {
                if io_only {
                    self.cc_reset_shn_done(ctrlr);
                }
            }
            // The shutdown's poll-group destroy is not a for_each_channel (shutdown.rs).
            FanKind::PgDestroy => {}
            FanKind::DisconnectHost {
                rpc,
                subsys,
                hostnqn,
                timeout_ms,
            } => self.disconnect_host_walked(rpc, subsys, hostnqn, timeout_ms),
            FanKind::GetQpairs { subsys, rpc, found } => self.get_qpairs_done(subsys, rpc, found),
            // `nvmf_ctrlr_abort_done`: no qpair matched the SQID.
            FanKind::Abort {
                req, found: false, ..
            } => self.request_complete(req),
            FanKind::Abort { .. } => {}
        }
    }

    /// `spdk_for_each_channel_continue(i, -1)`: skip the remaining poll groups (an Abort that
    /// found its qpair), straight to the completion.
    fn channel_stop(&mut self, fan: u64) {
        let last = (self.pgs.len() as u16).saturating_sub(1);
        if let Some(f) = self.fanouts.get_mut(&fan) {
            f.pg = last;
            if let FanKind::Abort { found, .. } = &mut f.kind {
                *found = true;
            }
        }
        self.channel_continue(fan);
    }
}

/// What a finished stop-listen fan-out hands to `nvmf_stop_listen_fini`.
pub struct StopListenFan {
    pub trid: Trid,
    pub filter: Option<SubsysH>,
    /// Qpairs that matched at the call (I9).
    pub existing: BTreeSet<QpairH>,
    /// Qpairs the filter matched when their group was visited (I13).
    pub visited: BTreeSet<QpairH>,
}
