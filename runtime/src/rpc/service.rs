//! The RPC service: runs [`Call`]s against the backend (the driver), owns the RAM bdev table,
//! which bdev backs which namespace, and answers with
//! SPDK v26.05's error codes: a subsystem an RPC names must exist (-32602 "Invalid parameters",
//! each handler's `spdk_nvmf_tgt_find_subsystem` check; `nvmf_get_subsystems` answers -19 "No
//! such device"), a failure in the target after that is -32603 (SPDK's paused callbacks), a
//! namespace that cannot be added or removed is -32602. Invariant: the bdev claim table changes
//! only after the core accepted the namespace change.

use super::methods::invalid;
use super::{envelope, response, shape};
use super::{Call, JsonRpcError, INTERNAL_ERROR, INVALID_REQUEST, METHODS};
use crate::config::Bdev;
use fabcheck_core::nvmf::{RpcError, RpcRequest, RpcResponse, SubsystemInfo, TargetConfig};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Mutex;

pub trait Backend: Send + Sync {
    /// Runs one core RPC and waits for its answer.
    fn core(
        &self,
        request: RpcRequest,
    ) -> impl std::future::Future<Output = Result<RpcResponse, RpcError>> + Send;
    /// The peer address of every live connection (by `ConnId.0`).
    fn peers(&self) -> impl std::future::Future<Output = BTreeMap<u64, SocketAddr>> + Send;
    /// Asks for a graceful shutdown.
    fn shutdown(&self);
}

/// The runtime-side RPC state: RAM bdevs, which bdev backs which namespace, max namespaces.
#[derive(Debug, Default)]
pub struct RpcState {
    pub target: TargetConfig,
    pub bdevs: BTreeMap<String, Bdev>,
    pub claims: BTreeMap<(String, u32), String>,
    pub transport_created: bool,
}

/// The RPC service: parses calls, runs them against the backend, shapes SPDK results.
pub struct Service<B: Backend> {
    pub backend: B,
    pub state: Mutex<RpcState>,
}

fn state_lock(m: &Mutex<RpcState>) -> std::sync::MutexGuard<'_, RpcState> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn internal(e: RpcError) -> JsonRpcError {
    JsonRpcError::new(INTERNAL_ERROR, e.message)
}

fn unexpected(r: &RpcResponse) -> JsonRpcError {
    JsonRpcError::new(INTERNAL_ERROR, format!("unexpected core answer {r:?}"))
}

fn enodev() -> JsonRpcError {
    JsonRpcError::new(-19, "No such device")
}

impl<B: Backend> Service<B> {
    pub fn new(backend: B, state: RpcState) -> Self {
        Service {
            backend,
            state: Mutex::new(state),
        }
    }

    /// Answers one value from the framer: a request, or a batch (an array of requests,
    /// answered by one array of the non-notification answers, or nothing if all were
    /// notifications; an empty array is an invalid request). `None`: nothing to send.
    pub async fn answer(&self, v: Value) -> Option<Value> {
        let Value::Array(items) = v else {
            return self.answer_one(v).await;
        };
        if items.is_empty() {
            let e = JsonRpcError::new(INVALID_REQUEST, "Invalid request");
            return Some(response(Value::Null, Err(e)));
        }
        let mut out = Vec::new();
        for item in items {
            out.extend(self.answer_one(item).await);
        }
        (!out.is_empty()).then_some(Value::Array(out))
    }

    async fn answer_one(&self, v: Value) -> Option<Value> {
        match envelope(v) {
            Err((id, e)) => Some(response(id, Err(e))),
            Ok(env) => {
                let result = match Call::parse(&env.method, &env.params) {
                    Ok(call) => self.execute(call).await,
                    Err(e) => Err(e),
                };
                if let Err(e) = &result {
                    tracing::debug!(method = %env.method, code = e.code, "rpc failed: {}", e.message);
                }
                env.id.map(|id| response(id, result))
            }
        }
    }

    async fn core(&self, req: RpcRequest) -> Result<RpcResponse, RpcError> {
        self.backend.core(req).await
    }

    async fn subsystems(&self) -> Result<Vec<SubsystemInfo>, JsonRpcError> {
        match self
            .core(RpcRequest::GetSubsystems)
            .await
            .map_err(internal)?
        {
            RpcResponse::Subsystems(s) => Ok(s),
            other => Err(unexpected(&other)),
        }
    }

    /// `spdk_nvmf_tgt_find_subsystem` as v26.05's handlers use it: the subsystem, or -32602
    /// "Invalid parameters" (lib/nvmf/nvmf_rpc.c at v26.05: add_listener :891, remove_listener
    /// :976, add_ns :1494, remove_ns :1718, add_host :1914, remove_host :2024, allow_any_host
    /// :2163, delete_subsystem :569-571 -> :596, the get_controllers/qpairs/listeners query
    /// :3081-3082). The message names nothing: master's "Subsystem with NQN '...' not found"
    /// (`_rpc_nvmf_get_subsystem`) came after v26.05.
    async fn find_subsystem(&self, nqn: &str) -> Result<Option<SubsystemInfo>, JsonRpcError> {
        Ok(self.subsystems().await?.into_iter().find(|s| s.nqn == nqn))
    }

    async fn subsystem(&self, nqn: &str) -> Result<SubsystemInfo, JsonRpcError> {
        self.find_subsystem(nqn).await?.ok_or_else(invalid)
    }

    /// Runs one call.
    pub async fn execute(&self, call: Call) -> Result<Value, JsonRpcError> {
        match call {
            Call::FrameworkWaitInit => Ok(json!(true)),
            Call::Core(req) => self.core(req).await.map_err(internal).map(|_| json!(true)),
            Call::CreateTransport { trtype, asked } => self.create_transport(&trtype, &asked),
            Call::GetTransports { trtype } => self.transports(trtype),
            Call::CreateSubsystem { cfg } => {
                let nqn = cfg.nqn.clone();
                self.core(RpcRequest::CreateSubsystem(cfg))
                    .await
                    .map_err(|_| {
                        let msg = format!("Unable to create subsystem {nqn}");
                        JsonRpcError::new(INTERNAL_ERROR, msg)
                    })?;
                Ok(json!(true))
            }
            Call::OnSubsystem { nqn, req } => {
                self.subsystem(&nqn).await?;
                let listener = matches!(
                    req,
                    RpcRequest::SubsystemAddListener { .. }
                        | RpcRequest::SubsystemRemoveListener { .. }
                );
                self.core(req)
                    .await
                    .map_err(|e| match e.code {
                        // The paused callback's refusals of a listener the subsystem has (add)
                        // or lacks (remove): "Invalid parameters" (nvmf_rpc.c:747-751 and
                        // :766-771 at v26.05).
                        -17 | -2 if listener => invalid(),
                        _ => internal(e),
                    })
                    .map(|_| json!(true))
            }
            Call::FailOnSubsystem { nqn, error } => {
                Err(self.subsystem(&nqn).await.err().unwrap_or(error))
            }
            Call::GetSubsystems { nqn } => self.get_subsystems(nqn).await,
            Call::AddNs {
                nqn,
                bdev,
                nsid,
                ids,
            } => self.add_ns(nqn, bdev, nsid, ids).await,
            Call::RemoveNs { nqn, nsid } => {
                self.subsystem(&nqn).await?;
                self.remove_ns(nqn, nsid).await.map_err(|_| invalid())
            }
            Call::DeleteSubsystem { nqn } => self.delete_subsystem(nqn).await,
            other => self.execute_query(other).await,
        }
    }

    async fn execute_query(&self, call: Call) -> Result<Value, JsonRpcError> {
        match call {
            Call::GetControllers { nqn } => {
                self.subsystem(&nqn).await?;
                Ok(shape::controllers(&self.controllers(&nqn).await?))
            }
            Call::GetQpairs { nqn } => self.get_qpairs(nqn).await,
            Call::GetListeners { nqn } => {
                self.subsystem(&nqn).await?;
                match self.core(RpcRequest::GetListeners { nqn }).await {
                    Ok(RpcResponse::Listeners(l)) => Ok(shape::listeners(&l)),
                    Ok(other) => Err(unexpected(&other)),
                    Err(e) => Err(internal(e)),
                }
            }
            Call::MallocCreate { name, bdev, uuid } => self.malloc_create(name, bdev, uuid),
            Call::MallocDelete { name } => self.malloc_delete(name).await,
            Call::GetBdevs { name } => self.get_bdevs(name),
            Call::GetMethods => Ok(json!(METHODS)),
            Call::GetVersion => Ok(shape::version()),
            Call::Shutdown => {
                self.backend.shutdown();
                Ok(json!(true))
            }
            other => Err(JsonRpcError::new(
                INTERNAL_ERROR,
                format!("unrouted call {other:?}"),
            )),
        }
    }

    fn create_transport(
        &self,
        trtype: &str,
        asked: &[(&'static str, Value)],
    ) -> Result<Value, JsonRpcError> {
        if !trtype.eq_ignore_ascii_case("tcp") {
            return Err(JsonRpcError::params(format!(
                "Transport type '{trtype}' is not supported"
            )));
        }
        let mut st = state_lock(&self.state);
        let t = &st.target;
        let served: [(&str, Value); 5] = [
            ("max_queue_depth", t.max_queue_depth.into()),
            ("max_io_qpairs_per_ctrlr", t.max_io_qpairs_per_ctrlr.into()),
            ("in_capsule_data_size", t.in_capsule_data_size.into()),
            ("max_io_size", t.max_io_size.into()),
            ("c2h_success", t.c2h_success.into()),
        ];
        for (k, v) in asked {
            if let Some((_, have)) = served.iter().find(|(n, h)| n == k && h != v) {
                return Err(JsonRpcError::params(format!(
                    "Invalid parameters: fabcheck-target serves {k} = {have} (set it in the config)"
                )));
            }
        }
        if st.transport_created {
            return Err(JsonRpcError::params("Transport type 'TCP' already exists"));
        }
        st.transport_created = true;
        Ok(json!(true))
    }

    /// The TCP transport exists from start-up (the listeners of the config use it).
    fn transports(&self, trtype: Option<String>) -> Result<Value, JsonRpcError> {
        if trtype.is_some_and(|t| !t.eq_ignore_ascii_case("tcp")) {
            return Err(enodev());
        }
        Ok(json!([shape::transport(&state_lock(&self.state).target)]))
    }

    async fn get_subsystems(&self, nqn: Option<String>) -> Result<Value, JsonRpcError> {
        // v26.05 answers an unknown NQN with -ENODEV and spdk_strerror(ENODEV)
        // (lib/nvmf/nvmf_rpc.c:286-289 at v26.05), not with -32602.
        let subs = match &nqn {
            Some(n) => vec![self.find_subsystem(n).await?.ok_or_else(enodev)?],
            None => self.subsystems().await?,
        };
        let st = state_lock(&self.state);
        let shown = subs.iter().map(|s| {
            let bdev_of = |nsid: u32| {
                st.claims
                    .get(&(s.nqn.clone(), nsid))
                    .cloned()
                    .unwrap_or_else(|| format!("ns{nsid}"))
            };
            shape::subsystem(s, &bdev_of)
        });
        Ok(Value::Array(shown.collect()))
    }

    async fn controllers(
        &self,
        nqn: &str,
    ) -> Result<Vec<fabcheck_core::nvmf::ControllerInfo>, JsonRpcError> {
        let nqn = nqn.to_string();
        match self.core(RpcRequest::GetControllers { nqn }).await {
            Ok(RpcResponse::Controllers(c)) => Ok(c),
            Ok(other) => Err(unexpected(&other)),
            Err(e) => Err(internal(e)),
        }
    }

    async fn get_qpairs(&self, nqn: String) -> Result<Value, JsonRpcError> {
        self.subsystem(&nqn).await?;
        let hostnqn: BTreeMap<u16, String> = self
            .controllers(&nqn)
            .await?
            .into_iter()
            .map(|c| (c.cntlid, c.hostnqn))
            .collect();
        let qpairs = match self.core(RpcRequest::GetQpairs { nqn }).await {
            Ok(RpcResponse::Qpairs(q)) => q,
            Ok(other) => return Err(unexpected(&other)),
            Err(e) => return Err(internal(e)),
        };
        let peers = self.backend.peers().await;
        Ok(shape::qpairs(&qpairs, &hostnqn, &peers))
    }
}

mod bdevs;
