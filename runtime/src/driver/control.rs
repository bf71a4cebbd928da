//! The driver's control side: RPCs (each answered exactly once), the listening sockets that
//! follow the core's listeners, shutdown and the final summary.

use super::*;

impl Driver {
    /// Returns true when a shutdown starts.
    pub(super) fn on_control(&mut self, c: Control) -> bool {
        match c {
            Control::Rpc { request, reply } => {
                self.on_rpc(request, reply);
                false
            }
            Control::Inspect(f) => {
                f(&self.target, &self.stats);
                false
            }
            Control::Peers(reply) => {
                let peers = self.conns.iter().map(|(id, c)| (id.0, c.peer));
                let _ = reply.send(peers.collect());
                false
            }
            Control::Shutdown => {
                if !self.latch.begin() {
                    // A shutdown without a request through the handle (tests): take both steps.
                    let _ = self.latch.request();
                    if !self.latch.begin() {
                        return false;
                    }
                }
                tracing::info!("shutting down");
                if self.target.violation().is_some() {
                    self.shutdown_done = Some(false);
                    return false;
                }
                self.submit(RpcRequest::Shutdown, Pending::Shutdown);
                true
            }
        }
    }

    pub(super) fn submit(&mut self, request: RpcRequest, pending: Pending) {
        let id = RpcId(self.next_rpc);
        self.next_rpc += 1;
        self.rpcs.insert(id, pending);
        self.tick();
        self.feed(Input::Rpc { id, request });
    }

    pub(super) fn on_rpc(&mut self, request: RpcRequest, reply: RpcReply) {
        if self.shutdown_done.is_some()
            || self.latch.state() >= crate::shared::ShutdownState::Draining
        {
            let _ = reply.send(Err(RpcError {
                code: -108,
                message: "target is shutting down".into(),
            }));
            return;
        }
        if let Some(v) = self.target.violation() {
            let _ = reply.send(Err(crashed_error(&v.to_string())));
            return;
        }
        if let Some(trid) = listen_target(&request) {
            if let Err(e) = self.ensure_listening(&trid) {
                let _ = reply.send(Err(RpcError {
                    code: -(e.raw_os_error().unwrap_or(22)),
                    message: format!("cannot listen on {trid}: {e}"),
                }));
                return;
            }
            if matches!(request, RpcRequest::TransportListen { .. }) {
                self.transport_listens.insert(trid);
            }
        }
        if let RpcRequest::StopListenAsync { trid, nqn: None } = &request {
            self.transport_listens.remove(trid);
        }
        let syncs_listeners = matches!(
            request,
            RpcRequest::SubsystemAddListener { .. }
                | RpcRequest::SubsystemRemoveListener { .. }
                | RpcRequest::StopListenAsync { .. }
                | RpcRequest::DeleteSubsystem { .. }
        );
        let pending = Pending::External {
            reply,
            syncs_listeners,
        };
        self.submit(request, pending);
    }

    pub(super) fn on_rpc_done(&mut self, id: RpcId, result: Result<RpcResponse, RpcError>) {
        match self.rpcs.remove(&id) {
            Some(Pending::External {
                reply,
                syncs_listeners,
            }) => {
                let failed_add = result.is_err();
                let _ = reply.send(result);
                if syncs_listeners || failed_add {
                    self.submit(RpcRequest::GetSubsystems, Pending::ListenerSync);
                }
            }
            Some(Pending::ListenerSync) => {
                if let Ok(RpcResponse::Subsystems(subs)) = result {
                    let mut wanted = self.transport_listens.clone();
                    wanted.extend(subs.into_iter().flat_map(|s| s.listeners));
                    self.close_unwanted_listeners(&wanted);
                }
            }
            Some(Pending::Shutdown) => {
                if let Err(e) = &result {
                    tracing::error!("target shutdown failed: {e}");
                }
                self.shutdown_done = Some(result.is_ok());
            }
            None => tracing::warn!(id = id.0, "answer to an unknown rpc"),
        }
    }

    pub(super) fn ensure_listening(&mut self, trid: &Trid) -> std::io::Result<()> {
        if self.listeners.contains_key(trid) {
            return Ok(());
        }
        let (l, real) = tcp::bind(trid)?;
        let task = tcp::spawn_acceptor(l, real, self.limiter.clone(), self.net_tx.clone());
        self.listeners.insert(trid.clone(), task);
        tracing::info!(%trid, "listening");
        Ok(())
    }

    pub(super) fn close_unwanted_listeners(&mut self, wanted: &BTreeSet<Trid>) {
        let gone: Vec<Trid> = self
            .listeners
            .keys()
            .filter(|t| !wanted.contains(*t))
            .cloned()
            .collect();
        for trid in gone {
            if let Some(task) = self.listeners.remove(&trid) {
                task.abort();
                tracing::info!(%trid, "stopped listening");
            }
        }
    }

    pub(super) fn finish(mut self, clean: bool) -> Summary {
        self.run_ready();
        self.flush_out();
        for (_, task) in std::mem::take(&mut self.listeners) {
            task.abort();
        }
        self.conns.clear();
        self.stats.live_conns = 0;
        if let Some(rec) = self.recorder.take() {
            if let Err(e) = rec.finish() {
                tracing::error!("finishing the recording: {e}");
            }
        }
        for (_, p) in std::mem::take(&mut self.rpcs) {
            if let Pending::External { reply, .. } = p {
                let _ = reply.send(Err(RpcError {
                    code: -108,
                    message: "target is shut down".into(),
                }));
            }
        }
        self.latch.finish();
        Summary {
            violation: self.target.violation().cloned(),
            stats: self.stats,
            clean,
        }
    }
}

/// The address an RPC wants a socket for (bound before the RPC reaches the core).
fn listen_target(request: &RpcRequest) -> Option<Trid> {
    match request {
        RpcRequest::TransportListen { trid } | RpcRequest::SubsystemAddListener { trid, .. } => {
            Some(trid.clone())
        }
        _ => None,
    }
}
