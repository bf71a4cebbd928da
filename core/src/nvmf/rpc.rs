//! Operator actions (SPDK's RPCs and C API) on the app thread, each answered exactly once
//! (`Output::RpcDone`), and the dispatch of the callbacks (callbacks.rs) that continue
//! multi-step RPCs (remove listener = pause -> `stop_listen_async(trid, subsystem)` -> resume).
//! The whole-target shutdown is in shutdown.rs.
//!
//! Invariants kept: every RPC gets one answer (I5: a second answer is a violation); errors use
//! SPDK's negative errno (-ENOENT unknown NQN/trid/conn, -EAGAIN wrong state, -EEXIST, -EINVAL).

use super::arena::SubsysH;
use super::callbacks::{StateCb, StopListenCb};
use super::state::SubState;
use super::subsystem::Subsystem;
use super::{
    ConnId, InvariantId, NamespaceConfig, NamespaceIds, Output, RpcError, RpcId, RpcRequest,
    RpcResponse, SubsystemConfig, SubsystemInfo, Target, ThreadId, Trid,
};

pub(super) const ENOENT: i32 = -2;
pub(super) const EEXIST: i32 = -17;
pub(super) const EINVAL: i32 = -22;
/// What the model answers an RPC whose read crashed the target (SPDK never answers it; the
/// run ends at the violation).
const EFAULT: i32 = -14;
pub(super) use super::subsystem::EALREADY;
const ESHUTDOWN: i32 = -108;

pub(super) type RpcResult = Result<RpcResponse, RpcError>;

pub(super) fn err(code: i32, message: &str) -> RpcResult {
    Err(RpcError {
        code,
        message: message.to_string(),
    })
}

impl Target {
    /// Opens the configured listeners, creates the configured subsystems, and runs start-up to
    /// completion (the target is up before the first input). Each configured listener is one
    /// reference of the discovery subsystem's listener on that port (SPDK's documented
    /// `nvmf_subsystem_add_listener discovery ...`, which every nvmf test script does); each
    /// subsystem listener takes one more (`spdk_nvmf_tgt_listen_ext`).
    pub(super) fn apply_initial_config(&mut self) {
        for trid in self.config.listeners.clone() {
            self.transport_listen(&trid);
        }
        if self.config.discovery {
            self.create_discovery_subsystem();
        }
        for cfg in self.config.subsystems.clone() {
            self.create_subsystem(&cfg, StateCb::None);
        }
        for n in self.config.namespace_ids.clone() {
            let s = self.find_subsystem(&n.nqn);
            let ns = s.and_then(|s| self.subsystems.get_mut(s)?.namespace_mut(n.nsid));
            if let Some(ns) = ns {
                ns.ids = n.ids;
            }
        }
        while let Some(i) = (0..self.queues.len()).find(|i| !self.queues[*i].is_empty()) {
            self.run_thread(super::thread::thread_of(i));
        }
        self.outputs.clear();
    }

    /// `Input::Rpc`: runs on the app thread; answered now or when its callback fires.
    pub(super) fn handle_rpc(&mut self, id: RpcId, request: RpcRequest) {
        super::ownership::enter(&mut self.current, ThreadId::App);
        if !self.rpcs_pending.insert(id) {
            self.outputs.push_back(Output::RpcDone {
                id,
                result: err(EINVAL, "duplicate RPC id"),
            });
            return;
        }
        if self.is_shut_down() {
            self.rpc_done(id, err(ESHUTDOWN, "target is shut down"));
            return;
        }
        if let Some(result) = self.rpc_dispatch(id, request) {
            self.rpc_done(id, result);
        }
    }

    /// Returns the answer, or None if it comes later from a callback.
    fn rpc_dispatch(&mut self, id: RpcId, request: RpcRequest) -> Option<RpcResult> {
        match request {
            RpcRequest::CreateSubsystem(cfg) => self.rpc_create_subsystem(id, &cfg),
            RpcRequest::DeleteSubsystem { nqn } => {
                self.rpc_state(id, &nqn, SubState::Inactive, 0, StateCb::Delete { rpc: id })
            }
            RpcRequest::StartSubsystem { nqn } | RpcRequest::ResumeSubsystem { nqn } => {
                self.rpc_state(id, &nqn, SubState::Active, 0, StateCb::Rpc(id))
            }
            RpcRequest::StopSubsystem { nqn } => {
                self.rpc_state(id, &nqn, SubState::Inactive, 0, StateCb::Rpc(id))
            }
            RpcRequest::PauseSubsystem { nqn, nsid } => {
                self.rpc_state(id, &nqn, SubState::Paused, nsid, StateCb::Rpc(id))
            }
            RpcRequest::AddHost { nqn, hostnqn } => Some(self.rpc_host(&nqn, &hostnqn, true)),
            RpcRequest::RemoveHost {
                nqn,
                hostnqn,
                timeout_ms,
            } => self.rpc_remove_host(id, &nqn, &hostnqn, timeout_ms),
            RpcRequest::AllowAnyHost { nqn, allow } => Some(self.rpc_allow_any(&nqn, allow)),
            RpcRequest::AddNamespace { nqn, ns } => self.rpc_add_ns(id, &nqn, ns, None),
            RpcRequest::AddNamespaceWithIds { nqn, ns, ids } => {
                self.rpc_add_ns(id, &nqn, ns, Some(ids))
            }
            RpcRequest::RemoveNamespace { nqn, nsid } => self.rpc_remove_ns(id, &nqn, nsid),
            RpcRequest::TransportListen { trid } => {
                self.transport_listen(&trid);
                Some(Ok(RpcResponse::Done))
            }
            RpcRequest::SubsystemAddListener { nqn, trid } => {
                self.rpc_listener_change(&nqn, StateCb::AddListener { rpc: id, trid })
            }
            RpcRequest::SubsystemRemoveListener { nqn, trid } => {
                self.rpc_listener_change(&nqn, StateCb::RemoveListener { rpc: id, trid })
            }
            RpcRequest::StopListenAsync { trid, nqn } => self.rpc_stop_listen(id, trid, nqn),
            RpcRequest::DisconnectQpair { conn } => Some(self.rpc_disconnect(conn)),
            RpcRequest::GetSubsystems => Some(self.subsystem_infos()),
            RpcRequest::GetControllers { nqn } => {
                self.rpc_query(&nqn, StateCb::GetControllers { rpc: id })
            }
            RpcRequest::GetQpairs { nqn } => self.rpc_query(&nqn, StateCb::GetQpairs { rpc: id }),
            RpcRequest::GetListeners { nqn } => {
                self.rpc_query(&nqn, StateCb::GetListeners { rpc: id })
            }
            RpcRequest::Shutdown => self.rpc_shutdown(id),
            RpcRequest::ResizeNamespace { nqn, nsid, blocks } => {
                self.rpc_resize_ns(id, &nqn, nsid, blocks)
            }
        }
    }

    /// Emits the single answer of an RPC.
    pub(super) fn rpc_done(&mut self, id: RpcId, result: RpcResult) {
        if !self.rpcs_pending.remove(&id) {
            self.crash_on(
                InvariantId::CallbackOnce,
                "rpc callback",
                vec![format!("rpc {}", id.0)],
                "RPC answered twice",
            );
            return;
        }
        self.outputs.push_back(Output::RpcDone { id, result });
    }

    pub(super) fn rpc_ok(&mut self, id: RpcId) {
        self.rpc_done(id, Ok(RpcResponse::Done));
    }

    fn rpc_create_subsystem(&mut self, id: RpcId, cfg: &SubsystemConfig) -> Option<RpcResult> {
        if self.find_subsystem(&cfg.nqn).is_some() {
            return Some(err(EEXIST, "subsystem already exists"));
        }
        if cfg.min_cntlid == 0 || cfg.min_cntlid > cfg.max_cntlid || cfg.max_cntlid > 0xFFEF {
            return Some(err(EINVAL, "invalid cntlid range"));
        }
        self.create_subsystem(cfg, StateCb::Rpc(id));
        None
    }

    fn rpc_state(
        &mut self,
        id: RpcId,
        nqn: &str,
        st: SubState,
        nsid: u32,
        cb: StateCb,
    ) -> Option<RpcResult> {
        let _ = id;
        let Some(s) = self.find_subsystem(nqn) else {
            return Some(err(ENOENT, "subsystem not found"));
        };
        self.subsystem_state_change(s, st, nsid, cb);
        None
    }

    /// Runs `cb` now if the subsystem is INACTIVE, else after pause(nsid).
    pub(super) fn paused_op(&mut self, s: SubsysH, nsid: u32, cb: StateCb) {
        let inactive = self
            .subsystems
            .get(s)
            .is_some_and(|s| s.state() == SubState::Inactive);
        if inactive {
            self.state_cb(s, cb, Ok(()));
        } else {
            self.subsystem_state_change(s, SubState::Paused, nsid, cb);
        }
    }

    /// The subsystem an RPC names, or the "not found" answer.
    pub(super) fn rpc_subsystem(&self, nqn: &str) -> Result<(SubsysH, &Subsystem), RpcResult> {
        self.find_subsystem(nqn)
            .and_then(|s| Some((s, self.subsystems.get(s)?)))
            .ok_or_else(|| err(ENOENT, "subsystem not found"))
    }

    fn rpc_add_ns(
        &mut self,
        id: RpcId,
        nqn: &str,
        ns: NamespaceConfig,
        ids: Option<NamespaceIds>,
    ) -> Option<RpcResult> {
        let s = match self.rpc_subsystem(nqn) {
            Ok((s, _)) => s,
            Err(e) => return Some(e),
        };
        if ns.nsid == 0 || !ns.block_size.is_power_of_two() || ns.block_size < 512 {
            return Some(err(EINVAL, "invalid namespace"));
        }
        // SPDK checks the nsid only once paused (`nvmf_rpc_ns_paused`), not here.
        let ids = ids.unwrap_or_else(|| NamespaceIds::derived(nqn, ns.nsid));
        let nsid = ns.nsid;
        self.paused_op(s, nsid, StateCb::AddNs { rpc: id, ns, ids });
        None
    }

    fn rpc_remove_ns(&mut self, id: RpcId, nqn: &str, nsid: u32) -> Option<RpcResult> {
        // SPDK checks the nsid only once paused (`nvmf_rpc_remove_ns_paused`), not here.
        let s = match self.rpc_subsystem(nqn) {
            Ok((s, _)) => s,
            Err(e) => return Some(e),
        };
        self.paused_op(s, nsid, StateCb::RemoveNs { rpc: id, nsid });
        None
    }

    /// `nvmf_ns_resize` (bdev resize event): pause with nsid 0 (a namespace only grows, so
    /// I/O is not quiesced), `_nvmf_ns_resize` on completion. Only growth is accepted, as
    /// bdev modules refuse to shrink a bdev that is open.
    fn rpc_resize_ns(&mut self, id: RpcId, nqn: &str, nsid: u32, blocks: u64) -> Option<RpcResult> {
        let s = match self.rpc_subsystem(nqn) {
            Ok((s, sub)) => match sub.namespace(nsid) {
                Some(ns) if blocks >= ns.cfg.blocks => s,
                Some(_) => return Some(err(EINVAL, "a namespace can only grow")),
                None => return Some(err(ENOENT, "namespace not found")),
            },
            Err(e) => return Some(e),
        };
        self.paused_op(
            s,
            0,
            StateCb::ResizeNs {
                rpc: id,
                nsid,
                blocks,
            },
        );
        None
    }

    /// `spdk_nvmf_transport_stop_listen_async`: the walk runs whether or not the trid is
    /// listened on; `nvmf_stop_listen_fini` reports a missing listener (`stop_listen_callback`).
    fn rpc_stop_listen(&mut self, id: RpcId, trid: Trid, nqn: Option<String>) -> Option<RpcResult> {
        let filter = match nqn {
            None => None,
            Some(n) => match self.find_subsystem(&n) {
                Some(s) => Some(s),
                None => return Some(err(ENOENT, "subsystem not found")),
            },
        };
        self.stop_listen_async(&trid, filter, StopListenCb::Rpc(id));
        None
    }

    fn rpc_disconnect(&mut self, conn: ConnId) -> RpcResult {
        let Some(h) = self.conns.get(&conn).copied() else {
            return err(ENOENT, "no qpair on this connection");
        };
        self.qpair_disconnect(h);
        Ok(RpcResponse::Done)
    }

    /// A subsystem state change finished (`rc` is 0 or a negative errno).
    pub(super) fn state_cb(&mut self, s: SubsysH, cb: StateCb, rc: Result<(), i32>) {
        if let (Err(code), Some(rpc)) = (rc, cb_rpc(&cb)) {
            self.rpc_done(rpc, err(code, "subsystem state change failed"));
            return;
        }
        match cb {
            StateCb::None => {}
            StateCb::Rpc(id) => self.rpc_ok(id),
            StateCb::AddListener { rpc, trid } => self.add_listener_paused(s, rpc, &trid),
            StateCb::RemoveListener { rpc, trid } => self.remove_listener_paused(s, rpc, &trid),
            StateCb::AddNs { rpc, ns, ids } => self.add_ns_paused(s, rpc, ns, ids),
            StateCb::RemoveNs { rpc, nsid } => self.remove_ns_paused(s, rpc, nsid),
            StateCb::Delete { rpc } => self.delete_stopped(s, rpc),
            StateCb::Shutdown => self.shutdown_subsystem_stopped(),
            StateCb::GetControllers { rpc } => self.get_controllers_paused(s, rpc),
            StateCb::GetListeners { rpc } => self.get_listeners_paused(s, rpc),
            StateCb::GetQpairs { rpc } => self.get_qpairs_paused(s, rpc),
            StateCb::ResizeNs { rpc, nsid, blocks } => {
                let ns = self
                    .subsystems
                    .get_mut(s)
                    .and_then(|s| s.namespace_mut(nsid));
                if let Some(ns) = ns {
                    ns.cfg.blocks = blocks;
                }
                self.resume_then(s, rpc);
            }
        }
    }

    /// `nvmf_rpc_ns_paused`: add the namespace and answer after the resume; an nsid in use
    /// is answered with an error at once, and the subsystem is resumed all the same.
    fn add_ns_paused(&mut self, s: SubsysH, rpc: RpcId, ns: NamespaceConfig, ids: NamespaceIds) {
        let Some(sub) = self.subsystems.get_mut(s) else {
            return self.rpc_done(rpc, err(ENOENT, "subsystem not found"));
        };
        if sub.namespace(ns.nsid).is_some() {
            self.rpc_done(rpc, err(EEXIST, "namespace already exists"));
            return self.resume_unanswered(s);
        }
        // `spdk_nvmf_subsystem_add_ns_ext`: "Cannot add namespace with nsid > max_nsid".
        if ns.nsid > sub.max_nsid() {
            self.rpc_done(
                rpc,
                err(EINVAL, "nsid above the subsystem's max_namespaces"),
            );
            return self.resume_unanswered(s);
        }
        let nsid = ns.nsid;
        sub.add_namespace(ns, ids);
        self.subsystem_ns_changed(s, nsid);
        self.resume_then(s, rpc);
    }

    /// `nvmf_rpc_remove_ns_paused`: remove the namespace and answer after the resume; an
    /// unknown nsid is answered with an error at once, and the subsystem is resumed all the
    /// same.
    fn remove_ns_paused(&mut self, s: SubsysH, rpc: RpcId, nsid: u32) {
        let Some(sub) = self.subsystems.get_mut(s) else {
            return self.rpc_done(rpc, err(ENOENT, "subsystem not found"));
        };
        if sub.namespace(nsid).is_none() {
            self.rpc_done(rpc, err(ENOENT, "namespace not found"));
            return self.resume_unanswered(s);
        }
        sub.remove_namespace(nsid);
        self.subsystem_ns_changed(s, nsid);
        self.resume_then(s, rpc);
    }

    /// `nvmf_subsystem_ns_changed`: every controller of the subsystem notes `nsid` in its
    /// Changed Namespace List (the notice itself goes out from the poll groups at resume).
    fn subsystem_ns_changed(&mut self, s: SubsysH, nsid: u32) {
        let ctrlrs: Vec<_> = self
            .subsystems
            .get(s)
            .map_or(Vec::new(), |sub| sub.ctrlrs().collect());
        let _notes = super::ownership::foreign(super::ownership::Foreign::SubsystemNotesNsChange);
        for c in ctrlrs {
            if let Some(ctrlr) = self.ctrlrs.get_mut(c) {
                ctrlr.ns_notice_mut().changed(nsid);
            }
        }
    }

    /// The resume of an RPC that already answered (`response_sent`): nothing more is sent.
    pub(super) fn resume_unanswered(&mut self, s: SubsysH) {
        let paused = self
            .subsystems
            .get(s)
            .is_some_and(|s| s.state() == SubState::Paused);
        if paused {
            self.subsystem_state_change(s, SubState::Active, 0, StateCb::None);
        }
    }

    /// Resume a paused subsystem and answer `rpc` when done (answer now if INACTIVE).
    pub(super) fn resume_then(&mut self, s: SubsysH, rpc: RpcId) {
        let paused = self
            .subsystems
            .get(s)
            .is_some_and(|s| s.state() == SubState::Paused);
        if paused {
            self.subsystem_state_change(s, SubState::Active, 0, StateCb::Rpc(rpc));
        } else {
            self.rpc_ok(rpc);
        }
    }

    /// `rpc_nvmf_subsystem_stopped`: `nvmf_subsystem_remove_all_listeners(subsystem, true)`,
    /// then `spdk_nvmf_subsystem_destroy`; answered now unless it must wait (-EINPROGRESS).
    fn delete_stopped(&mut self, s: SubsysH, rpc: RpcId) {
        self.remove_all_listeners(s, true);
        match self.subsystem_destroy(s, Some(rpc)) {
            Ok(super::subsystem_destroy::DestroyRc::Freed) => self.rpc_ok(rpc),
            Ok(super::subsystem_destroy::DestroyRc::InProgress) => {}
            Err(code) => self.rpc_done(rpc, err(code, "subsystem cannot be destroyed")),
        }
    }

    /// A stop_listen completed on the caller's thread.
    /// `stopped` is false when `nvmf_stop_listen_fini` found no transport listener (-ENOENT).
    pub(super) fn stop_listen_callback(&mut self, cb: StopListenCb, stopped: bool) {
        let refused = || err(ENOENT, "not listening on this trid");
        match cb {
            StopListenCb::Rpc(id) if stopped => self.rpc_ok(id),
            StopListenCb::Rpc(id) => self.rpc_done(id, refused()),
            StopListenCb::Resume { subsys, rpc } if stopped => self.resume_then(subsys, rpc),
            // `nvmf_rpc_stop_listen_async_done`: "error stopping listener", then the resume.
            StopListenCb::Resume { subsys, rpc } => {
                self.rpc_done(rpc, refused());
                self.resume_unanswered(subsys);
            }
        }
    }

    /// `rpc_nvmf_get_subsystems` (`dump_nvmf_subsystem`): each subsystem's listeners are
    /// read (subsys_listener.rs).
    fn subsystem_infos(&mut self) -> RpcResult {
        let mut infos = Vec::new();
        for h in self.subsystems.handles() {
            let Some(listeners) = self.read_subsys_listeners(h, "dump_nvmf_subsystem") else {
                return err(EFAULT, "target crashed");
            };
            let Some(s) = self.subsystems.get(h) else {
                continue;
            };
            infos.push(SubsystemInfo {
                nqn: s.nqn().to_string(),
                state: s.state().name().to_string(),
                allow_any_host: s.allow_any_host(),
                hosts: s.hosts().cloned().collect(),
                listeners: listeners.into_iter().map(|l| l.trid).collect(),
                namespaces: s.namespaces().map(|n| n.cfg.clone()).collect(),
                serial: s.serial().to_string(),
                model: s.model().to_string(),
                min_cntlid: s.cntlid_range().0,
                max_cntlid: s.cntlid_range().1,
                namespace_ids: s.namespaces().map(|n| n.ids).collect(),
                max_namespaces: s.max_nsid(),
            });
        }
        Ok(RpcResponse::Subsystems(infos))
    }
}

fn cb_rpc(cb: &StateCb) -> Option<RpcId> {
    match cb {
        StateCb::Rpc(rpc)
        | StateCb::AddListener { rpc, .. }
        | StateCb::RemoveListener { rpc, .. }
        | StateCb::AddNs { rpc, .. }
        | StateCb::RemoveNs { rpc, .. }
        | StateCb::Delete { rpc }
        | StateCb::GetControllers { rpc }
        | StateCb::GetQpairs { rpc }
        | StateCb::GetListeners { rpc }
        | StateCb::ResizeNs { rpc, .. } => Some(*rpc),
        StateCb::None | StateCb::Shutdown => None,
    }
}
