//! The target's inputs and outputs as values: RPC requests and answers (named after SPDK's RPCs),
//! the `Input`s a driver feeds (`Accept`, `Bytes`, `Run(thread)`, `Fire(timer)`, ...), the
//! `EnabledEvent`s it chooses among, the `Timer` keys and the `Output`s it drains. The calling
//! order is in mod.rs and docs/architecture.md.

use super::{ConnId, Mark, NamespaceConfig, SubsystemConfig, ThreadId, Trid};
use crate::time::Instant;
use serde::{Deserialize, Serialize};

/// Identifies an RPC call so its single answer can be matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RpcId(pub u64);

/// Operator actions, named after SPDK's RPCs and C API.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RpcRequest {
    CreateSubsystem(SubsystemConfig),
    /// `nvmf_delete_subsystem`: stop, then destroy.
    DeleteSubsystem {
        nqn: String,
    },
    StartSubsystem {
        nqn: String,
    },
    StopSubsystem {
        nqn: String,
    },
    /// `spdk_nvmf_subsystem_pause(nsid)`; nsid 0 = all.
    PauseSubsystem {
        nqn: String,
        nsid: u32,
    },
    ResumeSubsystem {
        nqn: String,
    },
    AddHost {
        nqn: String,
        hostnqn: String,
    },
    RemoveHost {
        nqn: String,
        hostnqn: String,
        /// `timeout_ms` of `nvmf_subsystem_remove_host`: how long the wait after the
        /// disconnect walk may take (0: SPDK's default, `NVMF_CTRLR_RESET_SHN_TIMEOUT_IN_MS`).
        #[serde(default)]
        timeout_ms: u64,
    },
    AllowAnyHost {
        nqn: String,
        allow: bool,
    },
    /// Through pause(nsid) -> add -> resume.
    AddNamespace {
        nqn: String,
        ns: NamespaceConfig,
    },
    /// `nvmf_subsystem_add_ns` with the namespace's NGUID, EUI64 and UUID (SPDK's defaults
    /// already applied: `NamespaceIds::with_bdev_defaults`); `AddNamespace` derives them.
    AddNamespaceWithIds {
        nqn: String,
        ns: NamespaceConfig,
        ids: super::NamespaceIds,
    },
    /// Through pause(nsid) -> remove -> resume.
    RemoveNamespace {
        nqn: String,
        nsid: u32,
    },
    /// Transport listen (refcounted).
    TransportListen {
        trid: Trid,
    },
    /// `nvmf_subsystem_add_listener`: transport listen + subsystem listener, under pause.
    SubsystemAddListener {
        nqn: String,
        trid: Trid,
    },
    /// `nvmf_subsystem_remove_listener`: pause, `stop_listen_async(trid, subsystem)`, resume.
    SubsystemRemoveListener {
        nqn: String,
        trid: Trid,
    },
    /// `spdk_nvmf_transport_stop_listen_async(trid, subsystem or none)` as an embedder calls it.
    StopListenAsync {
        trid: Trid,
        nqn: Option<String>,
    },
    /// `spdk_nvmf_qpair_disconnect` on the qpair of this connection.
    DisconnectQpair {
        conn: ConnId,
    },
    GetSubsystems,
    GetControllers {
        nqn: String,
    },
    GetQpairs {
        nqn: String,
    },
    GetListeners {
        nqn: String,
    },
    /// Whole-target teardown: stop subsystems, stop listeners, destroy subsystems, destroy poll
    /// groups, destroy target.
    Shutdown,
    /// The namespace's bdev grew to `blocks` (SPDK's `SPDK_BDEV_EVENT_RESIZE`, e.g. after
    /// `bdev_null_resize`): `nvmf_ns_resize` pauses the subsystem with nsid 0, records the
    /// change, resumes; the resume sends the namespace-attribute AEN.
    ResizeNamespace {
        nqn: String,
        nsid: u32,
        blocks: u64,
    },
}

/// An RPC's single answer on success.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RpcResponse {
    Done,
    Subsystems(Vec<SubsystemInfo>),
    Controllers(Vec<ControllerInfo>),
    Qpairs(Vec<QpairInfo>),
    Listeners(Vec<Trid>),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SubsystemInfo {
    pub nqn: String,
    /// SPDK's state name, e.g. "active", "paused".
    pub state: String,
    pub allow_any_host: bool,
    pub hosts: Vec<String>,
    pub listeners: Vec<Trid>,
    pub namespaces: Vec<NamespaceConfig>,
    /// Identify Controller SN / MN and the cntlid range, as `nvmf_get_subsystems` shows them.
    #[serde(default)]
    pub serial: String,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub min_cntlid: u16,
    #[serde(default)]
    pub max_cntlid: u16,
    /// Each namespace's identifiers, in the order of `namespaces`.
    #[serde(default)]
    pub namespace_ids: Vec<super::NamespaceIds>,
    /// `subsystem->max_nsid` (`SubsystemConfig::max_namespaces`; 0 for discovery).
    #[serde(default)]
    pub max_namespaces: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ControllerInfo {
    pub cntlid: u16,
    pub hostnqn: String,
    pub hostid: [u8; 16],
    pub num_io_qpairs: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct QpairInfo {
    pub conn: ConnId,
    pub cntlid: Option<u16>,
    pub qid: u16,
    /// SPDK's state name, e.g. "enabled".
    pub state: String,
    pub listen: Trid,
    pub thread: ThreadId,
}

/// An RPC failure, with SPDK-like errno semantics.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
#[error("{message} (code {code})")]
pub struct RpcError {
    /// Negative errno as SPDK returns it (-ENOENT not found, -EAGAIN wrong state, -EINVAL, ...).
    pub code: i32,
    pub message: String,
}

/// A pending RAM device completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DeviceIoId(pub u64);

/// Everything that can be fed to the target.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Input {
    /// A new connection on the listener `trid`. Unknown trid: the target closes `conn`.
    Accept {
        trid: Trid,
        conn: ConnId,
    },
    Bytes {
        conn: ConnId,
        data: Vec<u8>,
    },
    PeerClosed {
        conn: ConnId,
    },
    Rpc {
        id: RpcId,
        request: RpcRequest,
    },
    /// Run the head message of this thread's queue.
    Run(ThreadId),
    /// Deliver a device completion.
    Complete(DeviceIoId),
    /// Fire this timer (the driver sets `now` to its deadline or later).
    Fire(Timer),
}

/// An internal event that may run next, with the earliest time it may run (`None` = now).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EnabledEvent {
    pub input: Input,
    pub at: Option<Instant>,
}

/// Timers (pollers) of the model, keyed so they expire in a deterministic order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Timer {
    /// Keep-alive poller of the controller with this serial (controller pollers belong to
    /// the controller object; serials are never reused, cntlids are).
    KeepAlive { ctrlr: u64 },
    /// Association timer after CC reset/shutdown.
    Association { ctrlr: u64 },
    /// 100 ms re-poll while a CC reset/shutdown waits for I/O qpairs.
    CcRepoll { ctrlr: u64 },
    /// 10 s CC timeout (`nvmf_ctrlr_cc_timeout`).
    CcTimeout { ctrlr: u64 },
    /// Retry-mode CONNECT re-poll (100 us, 1 s give-up) of the CONNECT on this connection.
    ConnectRetry { conn: ConnId },
    /// Duplicate-qid retry (1000 us).
    QidRetry { conn: ConnId },
    /// A connection that never sent ICReq or CONNECT.
    IdleConnection { conn: ConnId },
    /// master's 5 ms poll of a `remove_host` waiting for the host's controllers to go
    /// (`nvmf_subsystem_disconnect_host_poll`, host_wait.rs).
    DisconnectHost { rpc: RpcId },
}

/// Everything the target produces.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Output {
    /// One encoded PDU (its data, if any, in its own part: `PduBytes`).
    Send {
        conn: ConnId,
        data: crate::wire::PduBytes,
    },
    Close {
        conn: ConnId,
    },
    RpcDone {
        id: RpcId,
        result: Result<RpcResponse, RpcError>,
    },
    Event(TargetEvent),
}

/// Lifecycle events for traces and coverage.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TargetEvent {
    pub thread: ThreadId,
    pub mark: Mark,
    /// Human detail, e.g. "qpair conn=3 qid=0".
    pub detail: String,
}
