//! Scenarios as data (serde; TOML or JSON files, and the built-ins under `sim/scenarios/`):
//! target threads, subsystems, listeners, namespaces, hosts with scripts, operator actions with
//! time windows, fault rates as integer ratios, the SPDK profile, catalogue switches, the step
//! bounds, the coverage marks a sweep must reach, and optional shape bounds the run's seed picks
//! the concrete shape within (`shape`).
//!
//! Invariants kept: a `Scenario` that passed `validate()` only names listeners, subsystems,
//! hosts, operator actions, marks and bugs that exist, so the world never has to fail on it.

use crate::catalogue;
use crate::coverage;
use fabcheck_core::nvmf::{BugSet, NamespaceConfig, Spdk, SubsystemConfig, TargetConfig, Trid};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;

mod random;
mod ratio;
mod shape;
pub use ratio::Ratio;
pub use shape::ShapeBounds;

/// A whole scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "default_poll_groups")]
    pub poll_groups: u16,
    /// The SPDK version modelled, `spdk = "v24.01"` or `"master"` (default).
    #[serde(default)]
    pub spdk: Spdk,
    /// Catalogue switches turned on, e.g. `["spdk-3302"]`.
    #[serde(default)]
    pub bugs: Vec<String>,
    /// Transport listeners opened at start, `"127.0.0.1:4420"`.
    #[serde(default)]
    pub listeners: Vec<String>,
    #[serde(default)]
    pub subsystems: Vec<SubsystemSpec>,
    #[serde(default)]
    pub hosts: Vec<HostSpec>,
    /// Operator actions, or `"random"` (one `OperatorRpc::Random` over the whole run).
    #[serde(default, deserialize_with = "random::operator")]
    pub operator: Vec<OperatorAction>,
    #[serde(default)]
    pub faults: Faults,
    /// Bound on the steps of the safety phase (PCT places change points in it).
    #[serde(default = "default_steps")]
    pub steps: u32,
    /// Bound on the steps of the liveness phase.
    #[serde(default = "default_liveness_steps")]
    pub liveness_steps: u32,
    /// Virtual ms ahead in which armed timers still count as safety-phase work: with 0 the
    /// safety phase ends as soon as nothing but timers is left; with e.g. 15000 a keep-alive
    /// timeout of a host that went silent still fires (and races) before the liveness phase.
    #[serde(default)]
    pub timer_horizon_ms: u64,
    /// Coverage marks (`Mark::name()`) a sweep of this scenario must reach.
    #[serde(default)]
    pub required_marks: Vec<String>,
    /// Bounds each run's seed picks the concrete shape within (`Scenario::shaped`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape: Option<ShapeBounds>,
    /// Qpairs keep a reference to their listener (RDMA-like) instead of a copy of its trid
    /// (TCP); `TargetConfig::listener_ref`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub listener_ref: bool,
    /// Data buffers per poll group (`TargetConfig::pg_buffers`); absent = unbounded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg_buffers: Option<u32>,
    /// The TCP transport's `max_queue_depth` (request slots per qpair, CAP.MQES + 1; default
    /// 128): `TargetConfig::max_queue_depth`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_queue_depth: Option<u16>,
    /// Zero-copy send: response writes complete later (`TargetConfig::zcopy`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub zcopy: bool,
    /// Test-only planted slips (`fabcheck_core::nvmf::planted`): set by tests in code, never
    /// read from a file or a seed string.
    #[doc(hidden)]
    #[serde(skip)]
    pub planted: fabcheck_core::nvmf::planted::Planted,
    /// Runs without the I17 thread-ownership check (`TargetConfig::ownership_check_off`): set
    /// in code only, by `fabcheck bench` to measure what the check costs.
    #[doc(hidden)]
    #[serde(skip)]
    pub ownership_check_off: bool,
    /// Models SPDK built with asserts (`TargetConfig::debug_asserts`): set in code only, by
    /// `fabcheck export-story` and `diff`, since the differential harness builds SPDK so.
    #[doc(hidden)]
    #[serde(skip)]
    pub debug_asserts: bool,
}

fn default_poll_groups() -> u16 {
    2
}
fn default_steps() -> u32 {
    400
}
fn default_liveness_steps() -> u32 {
    2000
}

/// A subsystem created at start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubsystemSpec {
    pub nqn: String,
    #[serde(default = "yes")]
    pub allow_any_host: bool,
    #[serde(default)]
    pub hosts: Vec<String>,
    #[serde(default)]
    pub listeners: Vec<String>,
    #[serde(default)]
    pub namespaces: Vec<NamespaceSpec>,
    #[serde(default = "one")]
    pub min_cntlid: u16,
    #[serde(default = "max_cntlid")]
    pub max_cntlid: u16,
}

fn yes() -> bool {
    true
}
fn one() -> u16 {
    1
}
fn max_cntlid() -> u16 {
    0xFFEF
}

/// A RAM namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamespaceSpec {
    pub nsid: u32,
    #[serde(default = "block_size")]
    pub block_size: u32,
    #[serde(default = "blocks")]
    pub blocks: u64,
}

fn block_size() -> u32 {
    512
}
fn blocks() -> u64 {
    64
}

impl NamespaceSpec {
    pub fn to_config(self) -> NamespaceConfig {
        NamespaceConfig {
            nsid: self.nsid,
            block_size: self.block_size,
            blocks: self.blocks,
        }
    }
}

/// A scripted host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostSpec {
    pub hostnqn: String,
    pub subnqn: String,
    /// The listener it connects to, `"127.0.0.1:4420"`.
    pub listener: String,
    #[serde(default = "kato_ms")]
    pub kato_ms: u32,
    #[serde(default = "one_aer")]
    pub aers: u8,
    /// 0's based SQSIZE its CONNECTs ask for (default 127; the admin queue at most 31): at
    /// most `sqsize + 1` commands in flight per queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sqsize: Option<u16>,
    /// Ask for SQ flow control disabled in every CONNECT (`cattr.dissqfc`); master then
    /// reports no SQ head and ends reads with C2HData SUCCESS (docs/spdk-profiles.md).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disable_sq_flow_control: bool,
    /// The steps, or `"random"`: the seed picks every action (`HostStep::Random`).
    #[serde(deserialize_with = "random::script")]
    pub script: Vec<HostStep>,
}

fn kato_ms() -> u32 {
    10_000
}
fn one_aer() -> u8 {
    1
}

/// One scripted host step. A step is enabled once the host reached what it needs (see
/// `world::host`): e.g. `connect_io` waits for the controller to be ready.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case", deny_unknown_fields)]
pub enum HostStep {
    /// Open the admin connection, ICReq, CONNECT, init sequence.
    Connect,
    /// Open the admin connection and send ICReq only (a host that stalls before CONNECT).
    OpenAdmin,
    /// Send the admin CONNECT.
    ConnectAdmin,
    /// Run the init sequence after CONNECT.
    Initialize,
    ConnectIo {
        qid: u16,
    },
    Read {
        qid: u16,
        nsid: u32,
        slba: u64,
        nlb: u32,
    },
    Write {
        qid: u16,
        nsid: u32,
        slba: u64,
        blocks: u32,
    },
    KeepAlive,
    StopKeepAlive,
    Reset,
    Shutdown,
    Disconnect {
        qid: u16,
    },
    DisconnectAll,
    /// Misbehave: send admin command `opc` (0x0C AER, 0x06 Identify, 0x18 Keep Alive, 0x02 Get
    /// Log Page, ...) on the admin queue after ICResp and before CONNECT; without `opc` the
    /// run's seed picks one of those four. Enabled while the admin queue is negotiated and its
    /// CONNECT not yet sent.
    AdminBeforeConnect {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        opc: Option<u8>,
    },
    /// Misbehave: open I/O queue `qid` with the last cntlid the host learned, without waiting
    /// for its view of the controller (after a keep-alive lapse, after the admin queue closed).
    /// Enabled once any admin CONNECT succeeded and `qid` is not open.
    ConnectIoStale {
        qid: u16,
    },
    /// Close only the admin connection; the I/O queues stay connected.
    CloseAdmin,
    /// Do nothing for `ms` plus a chosen `0..=jitter_ms` virtual ms (the run's seed picks
    /// it): the next step becomes enabled then.
    Wait {
        ms: u64,
        #[serde(default)]
        jitter_ms: u32,
    },
    /// Misbehave: Property Set CC with EN = `en` and SHN = `shn` (0 none, 1 normal, 2 abrupt,
    /// 3 reserved) outside the host's reset/shutdown sequence; what is left out the seed picks.
    /// Enabled while the admin queue is connected.
    WriteCc {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        en: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        shn: Option<u8>,
    },
    /// Misbehave: a second CONNECT on the connected queue `qid`.
    ConnectAgain {
        qid: u16,
    },
    /// Misbehave: a new connection whose I/O CONNECT names `qid` (in use or not) with the
    /// current cntlid. Enabled once the host learned a cntlid.
    ConnectDupQid {
        qid: u16,
    },
    /// Connect and disconnect `times` times as fast as the host can (expands to `times` x
    /// `connect`, `disconnect_all`, each disconnect as soon as the admin connection opened).
    ReconnectStorm {
        times: u16,
    },
    /// Vanish without FIN: the host stops reading and sending, its connections stay half-open
    /// until the target closes them (keep-alive timeout). Ends the host's script.
    HalfOpen,
    /// Misbehave: an H2CData PDU on `qid` for the last command the target sent an R2T for
    /// (completed or aborted by now). Enabled while `qid` is connected.
    StaleH2cData {
        qid: u16,
    },
    /// `steps` actions each picked by the seed from everything this host can put on the wire
    /// now, legal or not (`script = "random"` is one of these with the default count).
    Random {
        #[serde(default = "random::default_steps")]
        steps: u32,
    },
    /// Misbehave: send `count` AERs now (beyond the 4 SPDK accepts, or while a reset has
    /// CC.EN at 0). Enabled once the admin queue is connected.
    Aers {
        count: u8,
    },
    /// Misbehave: an AER on the admin queue right behind the admin CONNECT, before its answer
    /// (a host pipelining its first commands); if the CONNECT was answered first, an AER on
    /// the live queue. Enabled once the admin CONNECT is sent.
    AerBehindConnect,
}

/// An operator RPC with its time window (in virtual ms since start).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorAction {
    /// Enabled from this time on.
    #[serde(default)]
    pub from_ms: u64,
    /// Skipped if still not issued after this time.
    #[serde(default)]
    pub to_ms: Option<u64>,
    /// Enabled only after operator action `after` got its answer.
    #[serde(default)]
    pub after: Option<usize>,
    pub rpc: OperatorRpc,
}

/// What the operator can do (SPDK RPCs and the embedder's C API).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum OperatorRpc {
    Pause {
        nqn: String,
        #[serde(default)]
        nsid: u32,
    },
    Resume {
        nqn: String,
    },
    /// `stop_listen_async(trid, subsystem or none)`.
    StopListen {
        listener: String,
        #[serde(default)]
        nqn: Option<String>,
    },
    AddListener {
        nqn: String,
        listener: String,
    },
    RemoveListener {
        nqn: String,
        listener: String,
    },
    AddNamespace {
        nqn: String,
        ns: NamespaceSpec,
    },
    RemoveNamespace {
        nqn: String,
        nsid: u32,
    },
    StartSubsystem {
        nqn: String,
    },
    StopSubsystem {
        nqn: String,
    },
    DeleteSubsystem {
        nqn: String,
    },
    /// `spdk_nvmf_qpair_disconnect` on host `host`'s queue `qid` (skipped if not open).
    DisconnectQpair {
        host: usize,
        qid: u16,
    },
    Shutdown,
    /// `nvmf_create_subsystem` with the `[[subsystems]]` entry of that NQN (re-creates a
    /// deleted subsystem; answered -EEXIST while it still exists).
    CreateSubsystem {
        nqn: String,
    },
    /// `nvmf_subsystem_get_qpairs`: pause, walk every poll group, answer, resume.
    GetQpairs {
        nqn: String,
    },
    /// `nvmf_subsystem_get_controllers`: pause, dump the controllers, answer, resume.
    GetControllers {
        nqn: String,
    },
    /// `nvmf_subsystem_remove_host`: drop `hostnqn` from the allowed hosts and disconnect
    /// that host's controllers.
    RemoveHost {
        nqn: String,
        hostnqn: String,
    },
    /// `nvmf_subsystem_add_host`.
    AddHost {
        nqn: String,
        hostnqn: String,
    },
    /// `nvmf_subsystem_listen` on the transport only (`spdk_nvmf_tgt_listen_ext`): opens a
    /// transport listener, e.g. a second trid a later `add_listener` names.
    Listen {
        listener: String,
    },
    /// The namespace's bdev grows to `blocks` (`bdev_*_resize`): SPDK pauses the subsystem
    /// with nsid 0, records the new size and resumes with a namespace-attribute AEN.
    ResizeNamespace {
        nqn: String,
        nsid: u32,
        blocks: u64,
    },
    /// `actions` RPCs each picked by the seed from every RPC the scenario's names allow
    /// (subsystems, listeners, hosts), in this action's time window (`operator = "random"`).
    Random {
        #[serde(default = "random::default_steps")]
        actions: u32,
    },
}

/// Fault rates per opportunity, as integer ratios, and a cap per run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// A connection is reset (both sides see it closed).
    #[serde(default)]
    pub conn_reset: Ratio,
    /// A host stops sending keep-alives.
    #[serde(default)]
    pub stop_keep_alive: Ratio,
    /// A host closes its admin connection while its CONNECT is unanswered.
    #[serde(default)]
    pub disconnect_mid_connect: Ratio,
    /// A pipe delivery is split at a chosen byte.
    #[serde(default)]
    pub pdu_split: Ratio,
    /// At most this many conn_reset / stop_keep_alive / disconnect_mid_connect /
    /// device_stall faults per run.
    #[serde(default = "max_faults")]
    pub max: u32,
    /// A pending device I/O is held for `device_stall_ms` (a slow or stuck bdev).
    #[serde(default, skip_serializing_if = "is_never")]
    pub device_stall: Ratio,
    #[serde(default = "device_stall_ms", skip_serializing_if = "is_default_stall")]
    pub device_stall_ms: u64,
}

fn device_stall_ms() -> u64 {
    12_000
}

fn is_never(r: &Ratio) -> bool {
    r.is_never()
}

fn is_default_stall(ms: &u64) -> bool {
    *ms == device_stall_ms()
}

fn max_faults() -> u32 {
    2
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            conn_reset: Ratio::NEVER,
            stop_keep_alive: Ratio::NEVER,
            disconnect_mid_connect: Ratio::NEVER,
            pdu_split: Ratio::NEVER,
            max: max_faults(),
            device_stall: Ratio::NEVER,
            device_stall_ms: device_stall_ms(),
        }
    }
}

/// Why a scenario cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    #[error("unknown scenario '{0}' (see `fabcheck scenarios`)")]
    Unknown(String),
    #[error("cannot read scenario file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("cannot parse scenario {path}: {reason}")]
    Parse { path: String, reason: String },
    #[error("invalid scenario '{scenario}': {reason}")]
    Invalid { scenario: String, reason: String },
    #[error("unknown bug '{0}' (see `fabcheck bugs`)")]
    UnknownBug(String),
    #[error("unknown SPDK profile '{0}': expected \"v24.01\" or \"master\"")]
    UnknownSpdk(String),
}

mod builtin;
mod load;
mod validate;
pub use builtin::{builtin, builtin_names};

/// Checks a mark name (used by validation and by tests).
pub fn known_mark(name: &str) -> bool {
    coverage::mark_by_name(name).is_some()
}
