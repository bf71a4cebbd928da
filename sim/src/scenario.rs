//! Scenarios as data (serde; TOML or JSON files, and the built-ins under `sim/scenarios/`):
//! target threads, subsystems, listeners, namespaces, hosts with scripts, operator actions with
//! time windows, fault rates as integer ratios, the SPDK profile, catalogue switches, the step
//! bounds, and the coverage marks a sweep must reach.
//!
//! Invariants kept: a `Scenario` that passed `validate()` only names listeners, subsystems,
//! hosts, operator actions, marks and bugs that exist, so the world never has to fail on it.

use crate::catalogue;
use crate::coverage;
use fabcheck_core::nvmf::{BugSet, NamespaceConfig, Spdk, SubsystemConfig, TargetConfig, Trid};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;

mod ratio;
pub use ratio::Ratio;

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
    #[serde(default)]
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
    /// At most this many conn_reset / stop_keep_alive / disconnect_mid_connect faults per run.
    #[serde(default = "max_faults")]
    pub max: u32,
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
mod validate;
pub use builtin::{builtin, builtin_names};

/// Parses `"addr:port"`.
pub fn parse_trid(s: &str) -> Option<Trid> {
    let (addr, port) = s.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    (!addr.is_empty()).then(|| Trid::tcp(addr, port))
}

impl Scenario {
    pub fn from_toml_str(text: &str, path: &str) -> Result<Scenario, ScenarioError> {
        let s: Scenario = toml::from_str(text).map_err(|e| ScenarioError::Parse {
            path: path.to_string(),
            reason: e.message().replace('\n', " "),
        })?;
        s.validate()?;
        Ok(s)
    }

    pub fn from_json_str(text: &str, path: &str) -> Result<Scenario, ScenarioError> {
        let s: Scenario = serde_json::from_str(text).map_err(|e| ScenarioError::Parse {
            path: path.to_string(),
            reason: e.to_string(),
        })?;
        s.validate()?;
        Ok(s)
    }

    /// Loads a `.toml` or `.json` file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError::Read {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        if path.extension().is_some_and(|e| e == "json") {
            Scenario::from_json_str(&text, &shown)
        } else {
            Scenario::from_toml_str(&text, &shown)
        }
    }

    /// A built-in name, or else a path to a `.toml`/`.json` file.
    pub fn resolve(name_or_path: &str) -> Result<Scenario, ScenarioError> {
        if let Some(s) = builtin(name_or_path) {
            return Ok(s);
        }
        let path = Path::new(name_or_path);
        let looks_like_file = name_or_path.ends_with(".toml") || name_or_path.ends_with(".json");
        if looks_like_file || path.exists() {
            return Scenario::load(path);
        }
        Err(ScenarioError::Unknown(name_or_path.to_string()))
    }

    /// Turns on catalogue switches by name (added to the scenario's own).
    pub fn with_bugs(mut self, names: &[String]) -> Result<Scenario, ScenarioError> {
        for n in names {
            if catalogue::by_name(n).is_none() {
                return Err(ScenarioError::UnknownBug(n.clone()));
            }
            if !self.bugs.contains(n) {
                self.bugs.push(n.clone());
            }
        }
        Ok(self)
    }

    /// The seed-string key: the name, `@<profile>`, then `+<bug>` per switch, sorted
    /// (`seed-3302@v24.01+spdk-3302`).
    pub fn key(&self) -> String {
        let mut bugs = self.bugs.clone();
        bugs.sort();
        bugs.dedup();
        std::iter::once(format!("{}@{}", self.name, self.spdk))
            .chain(bugs)
            .collect::<Vec<_>>()
            .join("+")
    }

    /// The scenario a seed-string key names. `file` is a scenario loaded from a file, used
    /// when its name matches (file scenarios are not built in). A key without `@<profile>`
    /// (seed strings from before profiles) runs the scenario's own profile.
    pub fn from_key(key: &str, file: Option<&Scenario>) -> Result<Scenario, ScenarioError> {
        let mut parts = key.split('+');
        let head = parts.next().unwrap_or_default();
        let bugs: Vec<String> = parts.map(str::to_string).collect();
        let (name, profile) = match head.split_once('@') {
            Some((n, p)) => (n, Some(p)),
            None => (head, None),
        };
        let base = match file {
            Some(f) if f.name == name => f.clone(),
            _ => builtin(name).ok_or_else(|| ScenarioError::Unknown(name.to_string()))?,
        };
        let base = match profile {
            Some(p) => base.with_spdk(p)?,
            None => base,
        };
        base.fixed().with_bugs(&bugs)
    }

    /// The same scenario in another profile, by name ("v24.01", "master").
    pub fn with_spdk(mut self, name: &str) -> Result<Scenario, ScenarioError> {
        self.spdk = Spdk::from_name(name).ok_or_else(|| ScenarioError::UnknownSpdk(name.into()))?;
        Ok(self)
    }

    /// The same scenario with every catalogue switch off (the fixed core).
    pub fn fixed(mut self) -> Scenario {
        self.bugs.clear();
        self
    }

    /// The switches as a core `BugSet` (names were validated).
    pub fn bug_set(&self) -> BugSet {
        BugSet(
            self.bugs
                .iter()
                .filter_map(|n| catalogue::by_name(n))
                .map(|b| b.id)
                .collect(),
        )
    }

    /// The target configuration this scenario starts from.
    pub fn target_config(&self) -> TargetConfig {
        TargetConfig {
            poll_groups: self.poll_groups,
            spdk: self.spdk,
            bugs: self.bug_set(),
            listeners: self
                .listeners
                .iter()
                .filter_map(|l| parse_trid(l))
                .collect(),
            subsystems: self
                .subsystems
                .iter()
                .map(SubsystemSpec::to_config)
                .collect(),
            ..TargetConfig::default()
        }
    }

    /// Number of droppable items: operator actions, hosts, then every host step.
    pub fn droppable_items(&self) -> usize {
        self.operator.len()
            + self.hosts.len()
            + self.hosts.iter().map(|h| h.script.len()).sum::<usize>()
    }
}

impl SubsystemSpec {
    pub fn to_config(&self) -> SubsystemConfig {
        SubsystemConfig {
            allow_any_host: self.allow_any_host,
            hosts: self.hosts.clone(),
            listeners: self
                .listeners
                .iter()
                .filter_map(|l| parse_trid(l))
                .collect(),
            namespaces: self.namespaces.iter().map(|n| n.to_config()).collect(),
            min_cntlid: self.min_cntlid,
            max_cntlid: self.max_cntlid,
            ..SubsystemConfig::new(&self.nqn)
        }
    }
}

impl fmt::Display for HostStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostStep::Connect => write!(f, "connect"),
            HostStep::OpenAdmin => write!(f, "open admin queue (ICReq only)"),
            HostStep::ConnectAdmin => write!(f, "admin CONNECT"),
            HostStep::Initialize => write!(f, "initialize controller"),
            HostStep::ConnectIo { qid } => write!(f, "connect I/O queue {qid}"),
            HostStep::Read {
                qid,
                nsid,
                slba,
                nlb,
            } => {
                write!(f, "read q{qid} ns{nsid} lba {slba}+{nlb}")
            }
            HostStep::Write {
                qid,
                nsid,
                slba,
                blocks,
            } => {
                write!(f, "write q{qid} ns{nsid} lba {slba}+{blocks}")
            }
            HostStep::KeepAlive => write!(f, "keep alive"),
            HostStep::StopKeepAlive => write!(f, "stop keep-alives"),
            HostStep::Reset => write!(f, "reset controller (CC.EN=0)"),
            HostStep::Shutdown => write!(f, "shut down controller (CC.SHN)"),
            HostStep::Disconnect { qid } => write!(f, "disconnect q{qid}"),
            HostStep::DisconnectAll => write!(f, "disconnect all queues"),
        }
    }
}

impl fmt::Display for OperatorRpc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OperatorRpc::Pause { nqn, nsid } => write!(f, "pause {nqn} nsid={nsid}"),
            OperatorRpc::Resume { nqn } => write!(f, "resume {nqn}"),
            OperatorRpc::StopListen { listener, nqn } => match nqn {
                Some(n) => write!(f, "stop_listen_async {listener} subsystem={n}"),
                None => write!(f, "stop_listen_async {listener} subsystem=none"),
            },
            OperatorRpc::AddListener { nqn, listener } => {
                write!(f, "add listener {listener} to {nqn}")
            }
            OperatorRpc::RemoveListener { nqn, listener } => {
                write!(f, "remove listener {listener} from {nqn}")
            }
            OperatorRpc::AddNamespace { nqn, ns } => {
                write!(f, "add namespace {} to {nqn}", ns.nsid)
            }
            OperatorRpc::RemoveNamespace { nqn, nsid } => {
                write!(f, "remove namespace {nsid} from {nqn}")
            }
            OperatorRpc::StartSubsystem { nqn } => write!(f, "start {nqn}"),
            OperatorRpc::StopSubsystem { nqn } => write!(f, "stop {nqn}"),
            OperatorRpc::DeleteSubsystem { nqn } => write!(f, "delete {nqn}"),
            OperatorRpc::DisconnectQpair { host, qid } => {
                write!(f, "disconnect qpair of host {host} q{qid}")
            }
            OperatorRpc::Shutdown => write!(f, "shut the target down"),
        }
    }
}

impl HostSpec {
    /// Whether this host's listener is the given one.
    pub fn trid(&self) -> Trid {
        parse_trid(&self.listener).unwrap_or_else(|| Trid::tcp("0.0.0.0", 0))
    }
}

/// Checks a mark name (used by validation and by tests).
pub fn known_mark(name: &str) -> bool {
    coverage::mark_by_name(name).is_some()
}
