//! The method table: SPDK's nvmf RPC names and parameter names (as `scripts/rpc.py` sends
//! them) parsed into typed [`Call`]s. Invariant: parsing never touches the target; bad
//! parameters are `-32602`, unknown methods `-32601`.

use super::{JsonRpcError, METHOD_NOT_FOUND};
use crate::config::Bdev;
use fabcheck_core::nvmf::{ConnId, RpcRequest, SubsystemConfig, Trid};
use serde::Deserialize;
use serde_json::{json, Value};

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
        format!("{}:{}", self.traddr, self.trsvcid)
            .parse::<Trid>()
            .map_err(|e| JsonRpcError::params(e.to_string()))
    }
}

pub(super) fn addr_json(t: &Trid) -> Value {
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
            "nvmf_subsystem_add_host"
            | "nvmf_subsystem_remove_host"
            | "nvmf_subsystem_allow_any_host" => Self::parse_subsystem_hosts(method, params)?,
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

    /// The subsystem RPCs that change who may connect.
    fn parse_subsystem_hosts(method: &str, params: &Value) -> Result<Call, JsonRpcError> {
        Ok(match method {
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
            _ => {
                let a: AllowAnyP = p(params)?;
                Call::Core(RpcRequest::AllowAnyHost {
                    nqn: a.nqn,
                    allow: a.allow_any_host,
                })
            }
        })
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
