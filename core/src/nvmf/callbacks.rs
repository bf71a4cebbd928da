//! The continuations of multi-step operations, as data: what runs when a subsystem state
//! change completes (`StateCb`) and when a `stop_listen_async` completes (`StopListenCb`).
//! They live apart from the RPC code so the subsystem, thread and listener modules can carry
//! them without importing rpc.rs (no type cycle; see layering.rs).
//!
//! Invariant served: each callback value is consumed exactly once by the code that fires it
//! (I5, `InvariantId::CallbackOnce`).

use super::arena::SubsysH;
use super::{NamespaceConfig, RpcId, Trid};
use serde::Serialize;

/// What runs when a subsystem state change completes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub enum StateCb {
    None,
    Rpc(RpcId),
    /// Paused for `nvmf_subsystem_add_listener`: add, then resume.
    AddListener {
        rpc: RpcId,
        trid: Trid,
    },
    /// Paused for `nvmf_subsystem_remove_listener`: remove, stop_listen(trid, S), resume.
    RemoveListener {
        rpc: RpcId,
        trid: Trid,
    },
    /// Paused(nsid) for `nvmf_subsystem_add_ns`.
    AddNs {
        rpc: RpcId,
        ns: NamespaceConfig,
        ids: super::NamespaceIds,
    },
    /// Paused(nsid) for `nvmf_subsystem_remove_ns`.
    RemoveNs {
        rpc: RpcId,
        nsid: u32,
    },
    /// Stopped for `nvmf_delete_subsystem`: destroy.
    Delete {
        rpc: RpcId,
    },
    /// `nvmf_tgt_subsystem_stopped`: the shutdown stops the next subsystem.
    Shutdown,
    /// Paused for `nvmf_subsystem_get_controllers`: dump `subsystem->ctrlrs`, resume.
    GetControllers {
        rpc: RpcId,
    },
    /// Paused for `nvmf_subsystem_get_qpairs`: visit every poll group, answer, resume.
    GetQpairs {
        rpc: RpcId,
    },
    /// Paused for `nvmf_subsystem_get_listeners`: dump `subsystem->listeners`, resume.
    GetListeners {
        rpc: RpcId,
    },
    /// Paused (nsid 0) for `nvmf_ns_resize`: `_nvmf_ns_resize` sets the size, resumes.
    ResizeNs {
        rpc: RpcId,
        nsid: u32,
        blocks: u64,
    },
}

/// What runs when a `stop_listen_async` completes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub enum StopListenCb {
    Rpc(RpcId),
    /// `nvmf_rpc_stop_listen_async_done`: resume the subsystem, then answer.
    Resume {
        subsys: SubsysH,
        rpc: RpcId,
    },
}
