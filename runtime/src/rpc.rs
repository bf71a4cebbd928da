//! JSON-RPC 2.0 on a Unix socket with SPDK's method and parameter names (the nvmf subset of
//! `scripts/rpc.py`), mapped onto `fabcheck_core::target::RpcRequest`.
//!
//! Owns: framing (a byte stream of concatenated JSON values, as SPDK's server reads it),
//! request validation, the method table ([`Call::parse`]), the RAM bdev table
//! (`bdev_malloc_create`/`bdev_malloc_delete`) and which bdev backs which namespace, and the
//! SPDK-shaped results. Invariants: malformed input never crashes the server (parse error
//! -32700, invalid request -32600, unknown method -32601, bad params -32602; core failures keep
//! the core's negative errno as the code); every request with an `id` gets exactly one answer,
//! notifications (no `id`) get none.

use crate::config::{lowest_free_nsid, parse_trid, Bdev};
use fabcheck_core::target::{
    ConnId, ControllerInfo, NamespaceConfig, QpairInfo, RpcError, RpcRequest, RpcResponse,
    SubsystemConfig, SubsystemInfo, TargetConfig, Trid,
};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Mutex;

pub const PARSE_ERROR: i32 = -32700;
pub const INVALID_REQUEST: i32 = -32600;
pub const METHOD_NOT_FOUND: i32 = -32601;
pub const INVALID_PARAMS: i32 = -32602;
pub const INTERNAL_ERROR: i32 = -32603;

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonRpcError {
    pub code: i32,
    pub message: String,
}

impl JsonRpcError {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        JsonRpcError {
            code,
            message: message.into(),
        }
    }

    fn params(message: impl Into<String>) -> Self {
        Self::new(INVALID_PARAMS, message)
    }
}

impl From<RpcError> for JsonRpcError {
    fn from(e: RpcError) -> Self {
        JsonRpcError::new(e.code, e.message)
    }
}

/// Splits a byte stream into JSON values; keeps an incomplete tail for the next read.
#[derive(Debug, Default)]
pub struct Framer {
    buf: Vec<u8>,
}

/// Upper bound on one buffered request (a larger one is a parse error).
pub const MAX_REQUEST_BYTES: usize = 1 << 20;

impl Framer {
    /// Adds bytes and returns every complete value (or parse error) now available.
    pub fn push(&mut self, data: &[u8]) -> Vec<Result<Value, JsonRpcError>> {
        self.buf.extend_from_slice(data);
        let mut out = Vec::new();
        let mut consumed = 0;
        let mut stream = serde_json::Deserializer::from_slice(&self.buf).into_iter::<Value>();
        loop {
            match stream.next() {
                None => {
                    consumed = self.buf.len();
                    break;
                }
                Some(Ok(v)) => {
                    consumed = stream.byte_offset();
                    out.push(Ok(v));
                }
                Some(Err(e)) if e.is_eof() && self.buf.len() <= MAX_REQUEST_BYTES => break,
                Some(Err(_)) => {
                    out.push(Err(JsonRpcError::new(PARSE_ERROR, "Parse error")));
                    consumed = self.buf.len();
                    break;
                }
            }
        }
        self.buf.drain(..consumed);
        out
    }
}

/// A validated request envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// `None` for a notification.
    pub id: Option<Value>,
    pub method: String,
    pub params: Value,
}

/// Checks the JSON-RPC 2.0 envelope. On error returns the id to answer with (Null if unknown).
pub fn envelope(v: Value) -> Result<Envelope, (Value, JsonRpcError)> {
    let invalid = |id: Value| (id, JsonRpcError::new(INVALID_REQUEST, "Invalid request"));
    let Value::Object(mut obj) = v else {
        return Err(invalid(Value::Null));
    };
    let id = obj.remove("id");
    let ok_id = matches!(
        id,
        None | Some(Value::Null | Value::Number(_) | Value::String(_))
    );
    if !ok_id || obj.get("jsonrpc") != Some(&Value::String("2.0".into())) {
        return Err(invalid(id.filter(|_| ok_id).unwrap_or(Value::Null)));
    }
    let Some(Value::String(method)) = obj.remove("method") else {
        return Err(invalid(id.unwrap_or(Value::Null)));
    };
    let params = obj.remove("params").unwrap_or(Value::Null);
    if !matches!(params, Value::Null | Value::Object(_)) {
        return Err(invalid(id.unwrap_or(Value::Null)));
    }
    Ok(Envelope { id, method, params })
}

/// The response text for one answered request.
pub fn response(id: Value, result: Result<Value, JsonRpcError>) -> Value {
    match result {
        Ok(v) => json!({"jsonrpc": "2.0", "id": id, "result": v}),
        Err(e) => json!({"jsonrpc": "2.0", "id": id,
            "error": {"code": e.code, "message": e.message}}),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ListenAddress {
    pub trtype: String,
    #[serde(default)]
    pub adrfam: Option<String>,
    pub traddr: String,
    pub trsvcid: String,
}

impl ListenAddress {
    fn trid(&self) -> Result<Trid, JsonRpcError> {
        if !self.trtype.eq_ignore_ascii_case("tcp") {
            return Err(JsonRpcError::params(format!(
                "Invalid trtype {:?}: only TCP is supported",
                self.trtype
            )));
        }
        if let Some(f) = &self.adrfam {
            if !f.eq_ignore_ascii_case("ipv4") {
                return Err(JsonRpcError::params(format!(
                    "Invalid adrfam {f:?}: only IPv4 is supported"
                )));
            }
        }
        parse_trid(&format!("{}:{}", self.traddr, self.trsvcid))
            .map_err(|e| JsonRpcError::params(e.to_string()))
    }
}

fn addr_json(t: &Trid) -> Value {
    json!({"trtype": "TCP", "adrfam": "IPv4", "traddr": t.traddr, "trsvcid": t.trsvcid})
}

#[derive(Debug, Deserialize)]
struct NqnP {
    nqn: String,
}
#[derive(Debug, Deserialize)]
struct OptNqnP {
    nqn: Option<String>,
}
#[derive(Debug, Deserialize)]
struct CreateSubsystemP {
    nqn: String,
    serial_number: Option<String>,
    model_number: Option<String>,
    #[serde(default)]
    allow_any_host: bool,
    min_cntlid: Option<u16>,
    max_cntlid: Option<u16>,
}
#[derive(Debug, Deserialize)]
struct ListenerP {
    nqn: String,
    listen_address: ListenAddress,
}
#[derive(Debug, Deserialize)]
struct NsSpec {
    bdev_name: String,
    nsid: Option<u32>,
}
#[derive(Debug, Deserialize)]
struct AddNsP {
    nqn: String,
    namespace: NsSpec,
}
#[derive(Debug, Deserialize)]
struct RemoveNsP {
    nqn: String,
    nsid: u32,
}
#[derive(Debug, Deserialize)]
struct HostP {
    nqn: String,
    host: String,
}
#[derive(Debug, Deserialize)]
struct AllowAnyP {
    nqn: String,
    allow_any_host: bool,
}
#[derive(Debug, Deserialize)]
struct MallocCreateP {
    num_blocks: u64,
    block_size: u32,
    name: Option<String>,
}
#[derive(Debug, Deserialize)]
struct NameP {
    name: String,
}
#[derive(Debug, Deserialize)]
struct TransportP {
    trtype: String,
}
#[derive(Debug, Deserialize)]
struct PauseP {
    nqn: String,
    #[serde(default)]
    nsid: u32,
}
#[derive(Debug, Deserialize)]
struct StopListenP {
    listen_address: ListenAddress,
    nqn: Option<String>,
}
#[derive(Debug, Deserialize)]
struct ListenP {
    listen_address: ListenAddress,
}
#[derive(Debug, Deserialize)]
struct ConnP {
    conn: u64,
}

/// Every supported method with its typed parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    CreateTransport {
        trtype: String,
    },
    GetTransports,
    /// A core request answered with `true`.
    Core(RpcRequest),
    GetSubsystems {
        nqn: Option<String>,
    },
    AddListener {
        nqn: String,
        trid: Trid,
    },
    AddNs {
        nqn: String,
        bdev: String,
        nsid: Option<u32>,
    },
    RemoveNs {
        nqn: String,
        nsid: u32,
    },
    DeleteSubsystem {
        nqn: String,
    },
    GetControllers {
        nqn: String,
    },
    GetQpairs {
        nqn: String,
    },
    GetListeners {
        nqn: String,
    },
    MallocCreate {
        name: Option<String>,
        bdev: Bdev,
    },
    MallocDelete {
        name: String,
    },
    GetMethods,
    GetVersion,
    Shutdown,
}

/// The method names served, as `rpc_get_methods` lists them.
pub const METHODS: &[&str] = &[
    "nvmf_create_transport",
    "nvmf_get_transports",
    "nvmf_create_subsystem",
    "nvmf_delete_subsystem",
    "nvmf_get_subsystems",
    "nvmf_subsystem_add_listener",
    "nvmf_subsystem_remove_listener",
    "nvmf_subsystem_add_ns",
    "nvmf_subsystem_remove_ns",
    "nvmf_subsystem_add_host",
    "nvmf_subsystem_remove_host",
    "nvmf_subsystem_allow_any_host",
    "nvmf_subsystem_get_controllers",
    "nvmf_subsystem_get_qpairs",
    "nvmf_subsystem_get_listeners",
    "bdev_malloc_create",
    "bdev_malloc_delete",
    "rpc_get_methods",
    "spdk_get_version",
    "spdk_kill_instance",
    "fabcheck_subsystem_pause",
    "fabcheck_subsystem_resume",
    "fabcheck_subsystem_start",
    "fabcheck_subsystem_stop",
    "fabcheck_stop_listen",
    "fabcheck_transport_listen",
    "fabcheck_disconnect_qpair",
];

fn p<T: serde::de::DeserializeOwned>(params: &Value) -> Result<T, JsonRpcError> {
    let v = if params.is_null() {
        json!({})
    } else {
        params.clone()
    };
    serde_json::from_value(v).map_err(|e| JsonRpcError::params(format!("Invalid parameters: {e}")))
}

impl Call {
    /// Maps an SPDK method name and its params to a call.
    pub fn parse(method: &str, params: &Value) -> Result<Call, JsonRpcError> {
        if let Some(call) = Self::parse_nvmf(method, params)? {
            return Ok(call);
        }
        if let Some(call) = Self::parse_subsystem(method, params)? {
            return Ok(call);
        }
        Self::parse_other(method, params)
    }

    fn parse_nvmf(method: &str, params: &Value) -> Result<Option<Call>, JsonRpcError> {
        Ok(Some(match method {
            "nvmf_create_transport" => {
                let t: TransportP = p(params)?;
                Call::CreateTransport { trtype: t.trtype }
            }
            "nvmf_get_transports" => Call::GetTransports,
            "nvmf_create_subsystem" => {
                let c: CreateSubsystemP = p(params)?;
                let mut s = SubsystemConfig::new(&c.nqn);
                s.allow_any_host = c.allow_any_host;
                s.serial = c
                    .serial_number
                    .unwrap_or_else(|| "00000000000000000000".into());
                s.model = c
                    .model_number
                    .unwrap_or_else(|| "SPDK bdev Controller".into());
                s.min_cntlid = c.min_cntlid.unwrap_or(1);
                s.max_cntlid = c.max_cntlid.unwrap_or(0xFFEF);
                Call::Core(RpcRequest::CreateSubsystem(s))
            }
            "nvmf_delete_subsystem" => Call::DeleteSubsystem {
                nqn: p::<NqnP>(params)?.nqn,
            },
            "nvmf_get_subsystems" => Call::GetSubsystems {
                nqn: p::<OptNqnP>(params)?.nqn,
            },
            _ => return Ok(None),
        }))
    }

    fn parse_subsystem(method: &str, params: &Value) -> Result<Option<Call>, JsonRpcError> {
        Ok(Some(match method {
            "nvmf_subsystem_add_listener" => {
                let l: ListenerP = p(params)?;
                let trid = l.listen_address.trid()?;
                Call::AddListener { nqn: l.nqn, trid }
            }
            "nvmf_subsystem_remove_listener" => {
                let l: ListenerP = p(params)?;
                let trid = l.listen_address.trid()?;
                Call::Core(RpcRequest::SubsystemRemoveListener { nqn: l.nqn, trid })
            }
            "nvmf_subsystem_add_ns" => {
                let a: AddNsP = p(params)?;
                let nsid = a.namespace.nsid.filter(|n| *n != 0);
                Call::AddNs {
                    nqn: a.nqn,
                    bdev: a.namespace.bdev_name,
                    nsid,
                }
            }
            "nvmf_subsystem_remove_ns" => {
                let r: RemoveNsP = p(params)?;
                Call::RemoveNs {
                    nqn: r.nqn,
                    nsid: r.nsid,
                }
            }
            "nvmf_subsystem_add_host" => {
                let h: HostP = p(params)?;
                Call::Core(RpcRequest::AddHost {
                    nqn: h.nqn,
                    hostnqn: h.host,
                })
            }
            "nvmf_subsystem_remove_host" => {
                let h: HostP = p(params)?;
                Call::Core(RpcRequest::RemoveHost {
                    nqn: h.nqn,
                    hostnqn: h.host,
                })
            }
            "nvmf_subsystem_allow_any_host" => {
                let a: AllowAnyP = p(params)?;
                Call::Core(RpcRequest::AllowAnyHost {
                    nqn: a.nqn,
                    allow: a.allow_any_host,
                })
            }
            "nvmf_subsystem_get_controllers" => Call::GetControllers {
                nqn: p::<NqnP>(params)?.nqn,
            },
            "nvmf_subsystem_get_qpairs" => Call::GetQpairs {
                nqn: p::<NqnP>(params)?.nqn,
            },
            "nvmf_subsystem_get_listeners" => Call::GetListeners {
                nqn: p::<NqnP>(params)?.nqn,
            },
            _ => return Ok(None),
        }))
    }

    fn parse_other(method: &str, params: &Value) -> Result<Call, JsonRpcError> {
        Ok(match method {
            "bdev_malloc_create" => {
                let m: MallocCreateP = p(params)?;
                let bdev = Bdev {
                    block_size: m.block_size,
                    num_blocks: m.num_blocks,
                };
                bdev.validate(m.name.as_deref().unwrap_or("Malloc"))
                    .map_err(|e| JsonRpcError::params(e.to_string()))?;
                Call::MallocCreate { name: m.name, bdev }
            }
            "bdev_malloc_delete" => Call::MallocDelete {
                name: p::<NameP>(params)?.name,
            },
            "rpc_get_methods" => Call::GetMethods,
            "spdk_get_version" => Call::GetVersion,
            "spdk_kill_instance" => Call::Shutdown,
            "fabcheck_subsystem_pause" => {
                let x: PauseP = p(params)?;
                Call::Core(RpcRequest::PauseSubsystem {
                    nqn: x.nqn,
                    nsid: x.nsid,
                })
            }
            "fabcheck_subsystem_resume" => Call::Core(RpcRequest::ResumeSubsystem {
                nqn: p::<NqnP>(params)?.nqn,
            }),
            "fabcheck_subsystem_start" => Call::Core(RpcRequest::StartSubsystem {
                nqn: p::<NqnP>(params)?.nqn,
            }),
            "fabcheck_subsystem_stop" => Call::Core(RpcRequest::StopSubsystem {
                nqn: p::<NqnP>(params)?.nqn,
            }),
            "fabcheck_stop_listen" => {
                let s: StopListenP = p(params)?;
                let trid = s.listen_address.trid()?;
                Call::Core(RpcRequest::StopListenAsync { trid, nqn: s.nqn })
            }
            "fabcheck_transport_listen" => {
                let trid = p::<ListenP>(params)?.listen_address.trid()?;
                Call::Core(RpcRequest::TransportListen { trid })
            }
            "fabcheck_disconnect_qpair" => Call::Core(RpcRequest::DisconnectQpair {
                conn: ConnId(p::<ConnP>(params)?.conn),
            }),
            other => {
                return Err(JsonRpcError::new(
                    METHOD_NOT_FOUND,
                    format!("Method not found: {other}"),
                ))
            }
        })
    }
}

/// What the RPC layer needs from the rest of the runtime.
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

/// Serves JSON-RPC on a Unix socket at `path` (a stale socket file is replaced) until the
/// returned task is aborted.
pub fn serve_unix<B: Backend + 'static>(
    path: &std::path::Path,
    service: std::sync::Arc<Service<B>>,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    if path.exists() && std::os::unix::net::UnixStream::connect(path).is_err() {
        std::fs::remove_file(path)?;
    }
    let listener = tokio::net::UnixListener::bind(path)?;
    tracing::info!(path = %path.display(), "rpc listening");
    Ok(tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(serve_client(stream, service.clone()));
                }
                Err(e) => {
                    tracing::warn!("rpc accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            }
        }
    }))
}

async fn serve_client<B: Backend>(
    mut stream: tokio::net::UnixStream,
    service: std::sync::Arc<Service<B>>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut framer = Framer::default();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        for item in framer.push(&buf[..n]) {
            let answer = match item {
                Ok(v) => service.answer(v).await,
                Err(e) => Some(response(Value::Null, Err(e))),
            };
            if let Some(a) = answer {
                let mut text = a.to_string().into_bytes();
                text.push(b'\n');
                if stream.write_all(&text).await.is_err() {
                    return;
                }
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
