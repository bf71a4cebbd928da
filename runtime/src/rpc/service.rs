//! The RPC service: runs [`Call`]s against the backend (the driver), owns the RAM bdev table and
//! which bdev backs which namespace, and shapes SPDK-style results. Invariant: the bdev claim
//! table changes only after the core accepted the namespace change.

use super::methods::addr_json;
use super::{envelope, response};
use super::{Call, JsonRpcError, INTERNAL_ERROR, METHODS};
use crate::config::{lowest_free_nsid, Bdev};
use fabcheck_core::nvmf::{
    ControllerInfo, NamespaceConfig, QpairInfo, RpcError, RpcRequest, RpcResponse, SubsystemInfo,
    TargetConfig, Trid,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Mutex;

pub trait Backend: Send + Sync {
    /// Runs one core RPC and waits for its answer.
    fn core(
        &self,
        request: RpcRequest,
    ) -> impl std::future::Future<Output = Result<RpcResponse, RpcError>> + Send;
    /// Asks for a graceful shutdown.
    fn shutdown(&self);
}

/// The runtime-side RPC state: RAM bdevs and which bdev backs which namespace.
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

fn bad_state(code: i32, message: String) -> JsonRpcError {
    JsonRpcError::new(code, message)
}

impl<B: Backend> Service<B> {
    pub fn new(backend: B, state: RpcState) -> Self {
        Service {
            backend,
            state: Mutex::new(state),
        }
    }

    /// Answers one raw value from the framer: `None` for notifications.
    pub async fn answer(&self, v: Value) -> Option<Value> {
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

    async fn core(&self, req: RpcRequest) -> Result<RpcResponse, JsonRpcError> {
        self.backend.core(req).await.map_err(JsonRpcError::from)
    }

    /// Runs one call.
    pub async fn execute(&self, call: Call) -> Result<Value, JsonRpcError> {
        match call {
            Call::Core(req) => self.core(req).await.map(|_| json!(true)),
            Call::CreateTransport { trtype } => self.create_transport(&trtype),
            Call::GetTransports => Ok(self.transports()),
            Call::GetSubsystems { nqn } => self.get_subsystems(nqn).await,
            Call::AddListener { nqn, trid } => {
                let req = RpcRequest::SubsystemAddListener { nqn, trid };
                self.core(req).await.map(|_| json!(true))
            }
            Call::AddNs { nqn, bdev, nsid } => self.add_ns(nqn, bdev, nsid).await,
            Call::RemoveNs { nqn, nsid } => self.remove_ns(nqn, nsid).await,
            Call::DeleteSubsystem { nqn } => self.delete_subsystem(nqn).await,
            Call::GetControllers { nqn } => {
                match self.core(RpcRequest::GetControllers { nqn }).await? {
                    RpcResponse::Controllers(c) => Ok(controllers_json(&c)),
                    other => Err(unexpected(&other)),
                }
            }
            Call::GetQpairs { nqn } => match self.core(RpcRequest::GetQpairs { nqn }).await? {
                RpcResponse::Qpairs(q) => Ok(qpairs_json(&q)),
                other => Err(unexpected(&other)),
            },
            Call::GetListeners { nqn } => {
                match self.core(RpcRequest::GetListeners { nqn }).await? {
                    RpcResponse::Listeners(l) => Ok(listeners_json(&l)),
                    other => Err(unexpected(&other)),
                }
            }
            Call::MallocCreate { name, bdev } => self.malloc_create(name, bdev),
            Call::MallocDelete { name } => self.malloc_delete(name).await,
            Call::GetMethods => Ok(json!(METHODS)),
            Call::GetVersion => Ok(version_json()),
            Call::Shutdown => {
                self.backend.shutdown();
                Ok(json!(true))
            }
        }
    }

    fn create_transport(&self, trtype: &str) -> Result<Value, JsonRpcError> {
        if !trtype.eq_ignore_ascii_case("tcp") {
            return Err(JsonRpcError::params(format!(
                "Transport type '{trtype}' is not supported"
            )));
        }
        let mut st = state_lock(&self.state);
        if st.transport_created {
            return Err(JsonRpcError::params("Transport type 'TCP' already exists"));
        }
        st.transport_created = true;
        Ok(json!(true))
    }

    fn transports(&self) -> Value {
        let st = state_lock(&self.state);
        let t = &st.target;
        json!([{
            "trtype": "TCP",
            "max_queue_depth": t.max_queue_depth,
            "max_io_qpairs_per_ctrlr": t.max_io_qpairs_per_ctrlr,
            "in_capsule_data_size": t.in_capsule_data_size,
            "max_io_size": t.max_io_size,
            "io_unit_size": t.max_h2c_data,
            "num_shared_buffers": 0,
            "c2h_success": true,
            "sock_priority": 0,
        }])
    }

    async fn subsystems(&self) -> Result<Vec<SubsystemInfo>, JsonRpcError> {
        match self.core(RpcRequest::GetSubsystems).await? {
            RpcResponse::Subsystems(s) => Ok(s),
            other => Err(unexpected(&other)),
        }
    }

    async fn get_subsystems(&self, nqn: Option<String>) -> Result<Value, JsonRpcError> {
        let subs = self.subsystems().await?;
        let st = state_lock(&self.state);
        let shown: Vec<Value> = subs
            .iter()
            .filter(|s| nqn.as_ref().is_none_or(|n| *n == s.nqn))
            .map(|s| subsystem_json(s, &st.claims))
            .collect();
        if let (Some(n), true) = (&nqn, shown.is_empty()) {
            return Err(bad_state(-19, format!("subsystem {n} not found")));
        }
        Ok(Value::Array(shown))
    }

    async fn add_ns(
        &self,
        nqn: String,
        bdev_name: String,
        nsid: Option<u32>,
    ) -> Result<Value, JsonRpcError> {
        let bdev = state_lock(&self.state)
            .bdevs
            .get(&bdev_name)
            .cloned()
            .ok_or_else(|| JsonRpcError::params(format!("bdev {bdev_name} not found")))?;
        if state_lock(&self.state)
            .claims
            .values()
            .any(|b| *b == bdev_name)
        {
            return Err(bad_state(-1, format!("bdev {bdev_name} already claimed")));
        }
        let nsid = match nsid {
            Some(n) => n,
            None => {
                let subs = self.subsystems().await?;
                let sub = subs.iter().find(|s| s.nqn == nqn).ok_or_else(|| {
                    JsonRpcError::params(format!("Unable to find subsystem with NQN {nqn}"))
                })?;
                lowest_free_nsid(&sub.namespaces)
            }
        };
        let ns = NamespaceConfig {
            nsid,
            block_size: bdev.block_size,
            blocks: bdev.num_blocks,
        };
        self.core(RpcRequest::AddNamespace {
            nqn: nqn.clone(),
            ns,
        })
        .await?;
        state_lock(&self.state)
            .claims
            .insert((nqn, nsid), bdev_name);
        Ok(json!(nsid))
    }

    async fn remove_ns(&self, nqn: String, nsid: u32) -> Result<Value, JsonRpcError> {
        self.core(RpcRequest::RemoveNamespace {
            nqn: nqn.clone(),
            nsid,
        })
        .await?;
        state_lock(&self.state).claims.remove(&(nqn, nsid));
        Ok(json!(true))
    }

    async fn delete_subsystem(&self, nqn: String) -> Result<Value, JsonRpcError> {
        self.core(RpcRequest::DeleteSubsystem { nqn: nqn.clone() })
            .await?;
        state_lock(&self.state).claims.retain(|(n, _), _| *n != nqn);
        Ok(json!(true))
    }

    fn malloc_create(&self, name: Option<String>, bdev: Bdev) -> Result<Value, JsonRpcError> {
        let mut st = state_lock(&self.state);
        let name = name.unwrap_or_else(|| {
            (0..)
                .map(|i| format!("Malloc{i}"))
                .find(|n| !st.bdevs.contains_key(n))
                .unwrap_or_default()
        });
        if st.bdevs.contains_key(&name) {
            return Err(bad_state(-17, format!("bdev {name} already exists")));
        }
        st.bdevs.insert(name.clone(), bdev);
        Ok(json!(name))
    }

    /// Deleting a bdev that backs namespaces hot-removes them first (as SPDK does).
    async fn malloc_delete(&self, name: String) -> Result<Value, JsonRpcError> {
        let users: Vec<(String, u32)> = {
            let st = state_lock(&self.state);
            if !st.bdevs.contains_key(&name) {
                return Err(bad_state(-19, format!("bdev {name} not found")));
            }
            st.claims
                .iter()
                .filter(|(_, b)| **b == name)
                .map(|(k, _)| k.clone())
                .collect()
        };
        for (nqn, nsid) in users {
            self.remove_ns(nqn, nsid).await?;
        }
        state_lock(&self.state).bdevs.remove(&name);
        Ok(json!(true))
    }
}

fn unexpected(r: &RpcResponse) -> JsonRpcError {
    JsonRpcError::new(INTERNAL_ERROR, format!("unexpected core answer {r:?}"))
}

fn subsystem_json(s: &SubsystemInfo, claims: &BTreeMap<(String, u32), String>) -> Value {
    let namespaces: Vec<Value> = s
        .namespaces
        .iter()
        .map(|n| {
            let bdev = claims
                .get(&(s.nqn.clone(), n.nsid))
                .cloned()
                .unwrap_or_else(|| format!("ns{}", n.nsid));
            json!({"nsid": n.nsid, "bdev_name": bdev, "name": bdev,
                "block_size": n.block_size, "num_blocks": n.blocks})
        })
        .collect();
    json!({
        "nqn": s.nqn,
        "subtype": "NVMe",
        "state": s.state,
        "listen_addresses": s.listeners.iter().map(addr_json).collect::<Vec<_>>(),
        "allow_any_host": s.allow_any_host,
        "hosts": s.hosts.iter().map(|h| json!({"nqn": h})).collect::<Vec<_>>(),
        "namespaces": namespaces,
    })
}

fn hex_uuid(id: &[u8; 16]) -> String {
    let h: String = id.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn controllers_json(c: &[ControllerInfo]) -> Value {
    Value::Array(
        c.iter()
            .map(|c| {
                json!({"cntlid": c.cntlid, "hostnqn": c.hostnqn, "hostid": hex_uuid(&c.hostid),
                    "num_io_qpairs": c.num_io_qpairs})
            })
            .collect(),
    )
}

fn qpairs_json(q: &[QpairInfo]) -> Value {
    Value::Array(
        q.iter()
            .map(|q| {
                json!({"cntlid": q.cntlid, "qid": q.qid, "state": q.state,
                    "thread": q.thread.to_string(), "conn": q.conn.0,
                    "listen_address": addr_json(&q.listen)})
            })
            .collect(),
    )
}

fn listeners_json(l: &[Trid]) -> Value {
    Value::Array(
        l.iter()
            .map(|t| {
                json!({"address": addr_json(t),
                    "ana_states": [{"ana_group": 1, "ana_state": "optimized"}]})
            })
            .collect(),
    )
}

fn version_json() -> Value {
    json!({
        "version": concat!("SPDK v24.01 (fabcheck ", env!("CARGO_PKG_VERSION"), ")"),
        "fields": {"major": 24, "minor": 1, "patch": 0, "suffix": "-fabcheck"},
    })
}
