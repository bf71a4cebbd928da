//! The method table: SPDK's method names and parameter objects (see `params`) parsed into
//! typed [`Call`]s, with the checks SPDK makes before touching the target (NQN validity, serial
//! and model number, cntlid range, target name). Invariant: parsing never touches the target;
//! bad parameters are `-32602`, unknown methods `-32601`, and an SPDK option fabcheck-target
//! cannot honour is refused (-32602, naming it) rather than silently ignored.

use super::checks::{add_ns, create_subsystem, create_transport, malloc_create};
use super::params::*;
use super::{JsonRpcError, INTERNAL_ERROR, METHOD_NOT_FOUND};
use crate::config::Bdev;
use fabcheck_core::nvmf::nqn::nqn_is_valid;

use fabcheck_core::nvmf::{ConnId, RpcRequest, SubsystemConfig, Trid};
use serde_json::{json, Value};

pub use super::params::ListenAddress;

/// The name of SPDK's default (only) target object.
pub const TGT_NAME: &str = "nvmf_tgt";

impl ListenAddress {
    pub(super) fn trid(&self) -> Result<Trid, JsonRpcError> {
        let fam_ok = self
            .adrfam
            .as_ref()
            .is_none_or(|f| f.eq_ignore_ascii_case("ipv4"));
        let port = self.trsvcid.as_deref().unwrap_or("");
        if !self.trtype.eq_ignore_ascii_case("tcp") || !fam_ok {
            return Err(unsupported("transports other than TCP/IPv4"));
        }
        format!("{}:{port}", self.traddr)
            .parse::<Trid>()
            .map_err(|_| invalid())
    }
}

pub(super) fn addr_json(t: &Trid) -> Value {
    json!({"trtype": "TCP", "adrfam": "IPv4", "traddr": t.traddr, "trsvcid": t.trsvcid})
}

/// SPDK's generic "Invalid parameters" (-32602).
pub(super) fn invalid() -> JsonRpcError {
    JsonRpcError::params("Invalid parameters")
}

pub(super) fn unsupported(what: &str) -> JsonRpcError {
    JsonRpcError::params(format!(
        "Invalid parameters: fabcheck-target does not serve {what}"
    ))
}

/// The namespace identifiers an `add_ns` asked for (None: not given).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NsIds {
    pub nguid: Option<[u8; 16]>,
    pub eui64: Option<[u8; 8]>,
    pub uuid: Option<[u8; 16]>,
}

/// Every supported method with its typed parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    FrameworkWaitInit,
    CreateTransport {
        trtype: String,
        asked: Vec<(&'static str, Value)>,
    },
    GetTransports {
        trtype: Option<String>,
    },
    CreateSubsystem {
        cfg: SubsystemConfig,
    },
    /// A core request on the subsystem `nqn`, which must exist (-32602 otherwise); a core
    /// failure is -32603, as SPDK's paused callbacks answer.
    OnSubsystem {
        nqn: String,
        req: RpcRequest,
    },
    /// A call SPDK fails only after its subsystem lookup: -32602 if the subsystem `nqn` is
    /// missing, `error` otherwise.
    FailOnSubsystem {
        nqn: String,
        error: JsonRpcError,
    },
    GetSubsystems {
        nqn: Option<String>,
    },
    AddNs {
        nqn: String,
        bdev: String,
        nsid: Option<u32>,
        ids: NsIds,
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
        uuid: Option<[u8; 16]>,
    },
    MallocDelete {
        name: String,
    },
    GetBdevs {
        name: Option<String>,
    },
    GetMethods,
    GetVersion,
    Shutdown,
    /// fabcheck's own operations: a core request answered with `true`.
    Core(RpcRequest),
}

/// The method names served, as `rpc_get_methods` lists them.
pub const METHODS: &[&str] = &[
    "framework_wait_init",
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
    "bdev_get_bdevs",
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

/// Decodes a params object (SPDK: `null` or absent params decode as no keys; an array, or a
/// key the method does not know, is "Invalid parameters").
fn p<T: serde::de::DeserializeOwned>(params: &Value) -> Result<T, JsonRpcError> {
    let v = match params {
        Value::Null => json!({}),
        // serde would fill a struct from an array by position; SPDK's decoder takes objects
        // only (`_json_decode_object`: not OBJECT_BEGIN -> -1).
        Value::Object(_) => params.clone(),
        _ => return Err(invalid()),
    };
    serde_json::from_value(v).map_err(|e| {
        tracing::debug!("rpc params rejected: {e}");
        invalid()
    })
}

/// `spdk_nvmf_get_tgt(name)`: only the default target exists. v26.05's handlers answer an
/// unknown name with -32603 "Unable to find a target." (lib/nvmf/nvmf_rpc.c at v26.05:
/// get_subsystems :279-280, delete_subsystem :564-565, add_listener :881-882, remove_listener
/// :966-967, add_ns :1485-1486, remove_ns :1706-1707, add_host :1906-1907, remove_host
/// :2014-2015, allow_any_host :2154-2155, create_transport :2531-2532, get_transports
/// :2650-2651); `nvmf_create_subsystem` has its own message (`checks::create_subsystem`) and
/// the subsystem queries drop the period ([`tgt_query`]).
pub(super) fn tgt(name: &Option<String>) -> Result<(), JsonRpcError> {
    tgt_or(name, "Unable to find a target.")
}

/// `_rpc_nvmf_subsystem_query` (get_controllers/qpairs/listeners): -32603 "Unable to find a
/// target", without the period (lib/nvmf/nvmf_rpc.c:3072-3073 at v26.05).
pub(super) fn tgt_query(name: &Option<String>) -> Result<(), JsonRpcError> {
    tgt_or(name, "Unable to find a target")
}

fn tgt_or(name: &Option<String>, msg: &str) -> Result<(), JsonRpcError> {
    match name {
        Some(n) if n != TGT_NAME => Err(JsonRpcError::new(INTERNAL_ERROR, msg)),
        _ => Ok(()),
    }
}

fn on_subsystem(
    nqn: String,
    tgt_name: &Option<String>,
    req: RpcRequest,
) -> Result<Call, JsonRpcError> {
    tgt(tgt_name)?;
    Ok(Call::OnSubsystem { nqn, req })
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
        if let Some(call) = Self::parse_app(method, params)? {
            return Ok(call);
        }
        Self::parse_fabcheck(method, params)
    }

    fn parse_nvmf(method: &str, params: &Value) -> Result<Option<Call>, JsonRpcError> {
        Ok(Some(match method {
            "nvmf_create_transport" => create_transport(p(params)?)?,
            "nvmf_get_transports" => {
                let t: GetTransportsP = p(params)?;
                tgt(&t.tgt_name)?;
                Call::GetTransports { trtype: t.trtype }
            }
            "nvmf_create_subsystem" => create_subsystem(p(params)?)?,
            "nvmf_delete_subsystem" => {
                let d: NqnP = p(params)?;
                tgt(&d.tgt_name)?;
                Call::DeleteSubsystem { nqn: d.nqn }
            }
            "nvmf_get_subsystems" => {
                let g: GetSubsystemsP = p(params)?;
                tgt(&g.tgt_name)?;
                Call::GetSubsystems { nqn: g.nqn }
            }
            "nvmf_subsystem_get_controllers"
            | "nvmf_subsystem_get_qpairs"
            | "nvmf_subsystem_get_listeners" => {
                let g: NqnP = p(params)?;
                tgt_query(&g.tgt_name)?;
                let nqn = g.nqn;
                match method {
                    "nvmf_subsystem_get_controllers" => Call::GetControllers { nqn },
                    "nvmf_subsystem_get_qpairs" => Call::GetQpairs { nqn },
                    _ => Call::GetListeners { nqn },
                }
            }
            _ => return Ok(None),
        }))
    }

    fn parse_subsystem(method: &str, params: &Value) -> Result<Option<Call>, JsonRpcError> {
        Ok(Some(match method {
            "nvmf_subsystem_add_listener" => {
                let l: AddListenerP = p(params)?;
                // v26.05: decode, target, subsystem, then the address (nvmf_rpc.c:869-899).
                tgt(&l.tgt_name)?;
                if l.secure_channel || l.ana_state.is_some() {
                    return Err(unsupported("secure channels or ANA states"));
                }
                if l.sock_impl.as_deref().is_some_and(|s| s != "posix") {
                    return Err(unsupported("socket implementations other than posix"));
                }
                let trid = l.listen_address.trid()?;
                let req = RpcRequest::SubsystemAddListener {
                    nqn: l.nqn.clone(),
                    trid,
                };
                on_subsystem(l.nqn, &l.tgt_name, req)?
            }
            "nvmf_subsystem_remove_listener" => {
                let l: RemoveListenerP = p(params)?;
                tgt(&l.tgt_name)?;
                let trid = l.listen_address.trid()?;
                let req = RpcRequest::SubsystemRemoveListener {
                    nqn: l.nqn.clone(),
                    trid,
                };
                on_subsystem(l.nqn, &l.tgt_name, req)?
            }
            "nvmf_subsystem_add_ns" => add_ns(p(params)?)?,
            "nvmf_subsystem_remove_ns" => {
                let r: RemoveNsP = p(params)?;
                tgt(&r.tgt_name)?;
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
                let h: AddHostP = p(params)?;
                if h.psk.is_some() || h.dhchap_key.is_some() || h.dhchap_ctrlr_key.is_some() {
                    return Err(unsupported("TLS PSKs or DH-HMAC-CHAP keys"));
                }
                let req = RpcRequest::AddHost {
                    nqn: h.nqn.clone(),
                    hostnqn: h.host.clone(),
                };
                if !nqn_is_valid(&h.host) {
                    // spdk_nvmf_subsystem_add_host_ext fails: "Internal error", after the
                    // subsystem lookup (lib/nvmf/nvmf_rpc.c:1911-1914, :1943-1945 at v26.05).
                    tgt(&h.tgt_name)?;
                    let error = JsonRpcError::new(INTERNAL_ERROR, "Internal error");
                    return Ok(Call::FailOnSubsystem { nqn: h.nqn, error });
                }
                on_subsystem(h.nqn, &h.tgt_name, req)?
            }
            "nvmf_subsystem_remove_host" => {
                let h: RemoveHostP = p(params)?;
                let req = RpcRequest::RemoveHost {
                    nqn: h.nqn.clone(),
                    hostnqn: h.host,
                    timeout_ms: h.timeout_ms.unwrap_or(0),
                };
                on_subsystem(h.nqn, &h.tgt_name, req)?
            }
            _ => {
                let a: AllowAnyP = p(params)?;
                let req = RpcRequest::AllowAnyHost {
                    nqn: a.nqn.clone(),
                    allow: a.allow_any_host,
                };
                on_subsystem(a.nqn, &a.tgt_name, req)?
            }
        })
    }

    fn parse_app(method: &str, params: &Value) -> Result<Option<Call>, JsonRpcError> {
        let no_params = |name: &str| {
            if params.is_null() {
                Ok(())
            } else {
                Err(JsonRpcError::params(format!(
                    "{name} method requires no parameters"
                )))
            }
        };
        Ok(Some(match method {
            "framework_wait_init" => Call::FrameworkWaitInit,
            "bdev_malloc_create" => malloc_create(p(params)?)?,
            "bdev_malloc_delete" => Call::MallocDelete {
                name: p::<NameP>(params)?.name,
            },
            "bdev_get_bdevs" => {
                // SPDK answers a decode failure here with -32603.
                let g: GetBdevsP = p(params).map_err(|_| {
                    JsonRpcError::new(INTERNAL_ERROR, "spdk_json_decode_object failed")
                })?;
                Call::GetBdevs { name: g.name }
            }
            "rpc_get_methods" => {
                let _: GetMethodsP = p(params)?;
                Call::GetMethods
            }
            "spdk_get_version" => {
                no_params("spdk_get_version")?;
                Call::GetVersion
            }
            "spdk_kill_instance" => {
                let k: KillP = p(params)?;
                let known = [
                    "SIGINT", "SIGTERM", "SIGQUIT", "SIGHUP", "SIGKILL", "SIGUSR1",
                ];
                if !known.contains(&k.sig_name.as_str()) {
                    return Err(invalid());
                }
                Call::Shutdown
            }
            _ => return Ok(None),
        }))
    }

    fn parse_fabcheck(method: &str, params: &Value) -> Result<Call, JsonRpcError> {
        let nqn = |params: &Value| -> Result<String, JsonRpcError> { Ok(p::<NqnP>(params)?.nqn) };
        Ok(match method {
            "fabcheck_subsystem_pause" => {
                let x: PauseP = p(params)?;
                Call::Core(RpcRequest::PauseSubsystem {
                    nqn: x.nqn,
                    nsid: x.nsid,
                })
            }
            "fabcheck_subsystem_resume" => {
                Call::Core(RpcRequest::ResumeSubsystem { nqn: nqn(params)? })
            }
            "fabcheck_subsystem_start" => {
                Call::Core(RpcRequest::StartSubsystem { nqn: nqn(params)? })
            }
            "fabcheck_subsystem_stop" => {
                Call::Core(RpcRequest::StopSubsystem { nqn: nqn(params)? })
            }
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
            _ => return Err(JsonRpcError::new(METHOD_NOT_FOUND, "Method not found")),
        })
    }
}
