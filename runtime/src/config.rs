//! The runtime's configuration: a TOML file (`--config FILE`) describing the target's limits,
//! RAM bdevs, subsystems (hosts, listeners, namespaces) and the RPC socket, turned into the
//! core's `TargetConfig` plus what only the runtime knows (bdev names, connection limits).
//!
//! Invariants kept: every namespace refers to a known bdev, nsids are unique per subsystem and
//! non-zero, nqns are unique, and `TargetConfig::listeners` contains every subsystem listener.
//!
//! ```toml
//! rpc_socket = "/var/tmp/fabcheck.sock"
//! listen = ["127.0.0.1:4420"]          # transport listeners
//! [target]                             # all optional
//! poll_groups = 2
//! spdk = "master"                     # or "v24.01" (the SPDK version modelled)
//! [limits]
//! max_connections = 1024
//! idle_timeout_ms = 10000
//! busy_poll_us = 200                   # keep polling this long after work before sleeping
//! [[bdev]]
//! name = "Malloc0"
//! num_blocks = 131072
//! block_size = 512
//! [[subsystem]]
//! nqn = "nqn.2016-06.io.spdk:cnode1"
//! hosts = []                           # allow_any_host defaults to hosts.is_empty()
//! listen = ["127.0.0.1:4420"]
//! namespaces = [{ bdev_name = "Malloc0", nsid = 1 }]   # optional: nguid, eui64, uuid
//! ```
//!
//! The target serves the discovery subsystem, as SPDK's nvmf_tgt does. A namespace's UUID and
//! NGUID default to its bdev's UUID (SPDK's `spdk_nvmf_subsystem_add_ns_ext`): give the bdev a
//! `uuid`, or the namespace `nguid` / `eui64` / `uuid`, to keep them across restarts.

use fabcheck_core::nvmf::{
    BadTrid, BugId, BugSet, NamespaceConfig, NamespaceIds, NamespaceIdsConfig, Spdk,
    SubsystemConfig, TargetConfig, Trid,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The default subsystem served with no config file.
pub const DEFAULT_NQN: &str = "nqn.2016-06.io.spdk:cnode1";
/// The default RPC socket (SPDK's is /var/tmp/spdk.sock).
pub const DEFAULT_RPC_SOCKET: &str = "/var/tmp/fabcheck.sock";
/// The default NVMe/TCP listener.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:4420";

/// A configuration that cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("parsing config: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("listen: {0}")]
    Address(#[from] BadTrid),
    #[error("unknown SPDK profile {0:?}: expected {names}", names = Spdk::names())]
    Spdk(String),
    #[error("subsystem {nqn}: namespace refers to unknown bdev {bdev:?}")]
    UnknownBdev { nqn: String, bdev: String },
    #[error("subsystem {nqn}: duplicate or zero nsid {nsid}")]
    BadNsid { nqn: String, nsid: u32 },
    #[error("duplicate subsystem {0}")]
    DuplicateNqn(String),
    #[error("duplicate bdev {0}")]
    DuplicateBdev(String),
    #[error("bdev {0}: block size must be a power of two >= 512 and num_blocks > 0")]
    BadBdev(String),
    #[error("bdev {0}: uuid must look like xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx")]
    BadUuid(String),
    #[error("subsystem {nqn}: namespace {bdev}: bad {field} (uuid: 8-4-4-4-12 hex digits; nguid: 32 hex digits; eui64: 16 hex digits)")]
    BadNsId {
        nqn: String,
        bdev: String,
        field: &'static str,
    },
    #[error("generating a bdev UUID: {0}")]
    Random(#[from] std::io::Error),
}

pub use crate::bdev::Bdev;

/// The default of `Limits::busy_poll_us`.
pub const DEFAULT_BUSY_POLL_US: u64 = 200;

/// Limits a real deployment needs beyond the core's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Connections accepted at once; more are closed at accept.
    pub max_connections: usize,
    /// A connection that has not completed CONNECT within this time is closed (0 = never).
    pub idle_timeout_ms: u64,
    /// After the driver did work, it keeps polling the sockets this long before it sleeps
    /// (0 = sleep at once); see docs/runtime.md, "Speed".
    pub busy_poll_us: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 1024,
            idle_timeout_ms: 10_000,
            busy_poll_us: DEFAULT_BUSY_POLL_US,
        }
    }
}

/// Everything the runtime needs to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeConfig {
    pub target: TargetConfig,
    pub bdevs: BTreeMap<String, Bdev>,
    /// Which bdev backs (nqn, nsid).
    pub claims: BTreeMap<(String, u32), String>,
    pub limits: Limits,
    pub rpc_socket: PathBuf,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    rpc_socket: Option<PathBuf>,
    #[serde(default)]
    listen: Vec<String>,
    #[serde(default)]
    target: TargetSection,
    #[serde(default)]
    limits: LimitsSection,
    #[serde(default)]
    bdev: Vec<BdevSection>,
    #[serde(default)]
    subsystem: Vec<SubsystemSection>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetSection {
    poll_groups: Option<u16>,
    spdk: Option<String>,
    bugs: Option<Vec<BugId>>,
    kas: Option<u16>,
    min_kato_ms: Option<u32>,
    max_queue_depth: Option<u16>,
    max_io_qpairs_per_ctrlr: Option<u16>,
    in_capsule_data_size: Option<u32>,
    max_h2c_data: Option<u32>,
    max_io_size: Option<u32>,
    association_timeout_ms: Option<u32>,
    c2h_success: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsSection {
    max_connections: Option<usize>,
    idle_timeout_ms: Option<u64>,
    busy_poll_us: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BdevSection {
    name: String,
    num_blocks: u64,
    #[serde(default = "default_block_size")]
    block_size: u32,
    /// Fixed bdev UUID (stable across restarts); random when absent.
    uuid: Option<String>,
}

fn default_block_size() -> u32 {
    512
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SubsystemSection {
    nqn: String,
    allow_any_host: Option<bool>,
    #[serde(default)]
    hosts: Vec<String>,
    #[serde(default)]
    listen: Vec<String>,
    #[serde(default)]
    namespaces: Vec<NamespaceSection>,
    serial_number: Option<String>,
    model_number: Option<String>,
    min_cntlid: Option<u16>,
    max_cntlid: Option<u16>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NamespaceSection {
    bdev_name: String,
    nsid: Option<u32>,
    nguid: Option<String>,
    eui64: Option<String>,
    uuid: Option<String>,
}

impl NamespaceSection {
    /// The identifiers given here, SPDK's defaults from the bdev's UUID for the others.
    fn ids(&self, nqn: &str, bdev: &Bdev) -> Result<NamespaceIds, ConfigError> {
        let bad = |field| ConfigError::BadNsId {
            nqn: nqn.to_string(),
            bdev: self.bdev_name.clone(),
            field,
        };
        let mut ids = NamespaceIds::default();
        if let Some(s) = &self.nguid {
            ids.nguid = crate::bdev::parse_hex::<16>(s).ok_or_else(|| bad("nguid"))?;
        }
        if let Some(s) = &self.eui64 {
            ids.eui64 = crate::bdev::parse_hex::<8>(s).ok_or_else(|| bad("eui64"))?;
        }
        if let Some(s) = &self.uuid {
            ids.uuid = crate::bdev::parse_uuid(s).ok_or_else(|| bad("uuid"))?;
        }
        Ok(ids.with_bdev_defaults(bdev.uuid))
    }
}

impl RuntimeConfig {
    /// The built-in default: one subsystem `DEFAULT_NQN` (any host) with a 64 MiB namespace of
    /// 512-byte blocks (bdev `Malloc0`) on `listen` (default 127.0.0.1:4420).
    /// Fails only when the OS random source (for the bdev's UUID) cannot be read.
    pub fn default_with(listen: &[Trid]) -> std::io::Result<Self> {
        let listen = if listen.is_empty() {
            vec![Trid::tcp("127.0.0.1", 4420)]
        } else {
            listen.to_vec()
        };
        let mut sub = SubsystemConfig::new(DEFAULT_NQN);
        sub.listeners = listen.clone();
        sub.namespaces.push(NamespaceConfig {
            nsid: 1,
            block_size: 512,
            blocks: 131_072,
        });
        let bdev = Bdev::new(512, 131_072, None)?;
        let target = TargetConfig {
            listeners: listen,
            subsystems: vec![sub],
            discovery: true,
            namespace_ids: vec![NamespaceIdsConfig {
                nqn: DEFAULT_NQN.to_string(),
                nsid: 1,
                ids: NamespaceIds::default().with_bdev_defaults(bdev.uuid),
            }],
            ..TargetConfig::default()
        };
        Ok(RuntimeConfig {
            target,
            bdevs: BTreeMap::from([("Malloc0".to_string(), bdev)]),
            claims: BTreeMap::from([((DEFAULT_NQN.to_string(), 1), "Malloc0".to_string())]),
            limits: Limits::default(),
            rpc_socket: PathBuf::from(DEFAULT_RPC_SOCKET),
        })
    }

    /// Reads and validates a TOML config file.
    pub fn from_file(path: &std::path::Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text)
    }

    /// Parses and validates TOML text.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let file: FileConfig = toml::from_str(text)?;
        let mut target = target_section(&file.target)?;
        let bdevs = bdev_sections(&file.bdev)?;
        let mut claims = BTreeMap::new();
        let mut listeners = file
            .listen
            .iter()
            .map(|s| s.parse::<Trid>())
            .collect::<Result<Vec<_>, _>>()?;
        for section in &file.subsystem {
            if target.subsystems.iter().any(|s| s.nqn == section.nqn) {
                return Err(ConfigError::DuplicateNqn(section.nqn.clone()));
            }
            let sub = subsystem_section(section, &bdevs, &mut claims, &mut target)?;
            for trid in &sub.listeners {
                push_unique(&mut listeners, trid.clone());
            }
            target.subsystems.push(sub);
        }
        target.listeners = listeners;
        let defaults = Limits::default();
        let limits = Limits {
            max_connections: file
                .limits
                .max_connections
                .unwrap_or(defaults.max_connections),
            idle_timeout_ms: file
                .limits
                .idle_timeout_ms
                .unwrap_or(defaults.idle_timeout_ms),
            busy_poll_us: file.limits.busy_poll_us.unwrap_or(defaults.busy_poll_us),
        };
        Ok(RuntimeConfig {
            target,
            bdevs,
            claims,
            limits,
            rpc_socket: file
                .rpc_socket
                .unwrap_or_else(|| PathBuf::from(DEFAULT_RPC_SOCKET)),
        })
    }

    /// Replaces the transport listeners (`--listen`); with the built-in default config the
    /// default subsystem listens there too.
    pub fn override_listeners(&mut self, listen: &[Trid], default_config: bool) {
        if listen.is_empty() {
            return;
        }
        if default_config {
            for sub in &mut self.target.subsystems {
                sub.listeners = listen.to_vec();
            }
        }
        let mut all = listen.to_vec();
        for sub in &self.target.subsystems {
            for trid in &sub.listeners {
                push_unique(&mut all, trid.clone());
            }
        }
        self.target.listeners = all;
    }
}

fn push_unique(v: &mut Vec<Trid>, trid: Trid) {
    if !v.contains(&trid) {
        v.push(trid);
    }
}

fn parse_spdk(s: &str) -> Result<Spdk, ConfigError> {
    Spdk::from_name(s).ok_or_else(|| ConfigError::Spdk(s.to_string()))
}

fn target_section(t: &TargetSection) -> Result<TargetConfig, ConfigError> {
    let d = TargetConfig::default();
    Ok(TargetConfig {
        poll_groups: t.poll_groups.unwrap_or(d.poll_groups).max(1),
        spdk: t.spdk.as_deref().map_or(Ok(d.spdk), parse_spdk)?,
        bugs: t
            .bugs
            .clone()
            .map_or(d.bugs, |b| BugSet(b.into_iter().collect())),
        listeners: Vec::new(),
        subsystems: Vec::new(),
        kas: t.kas.unwrap_or(d.kas),
        min_kato_ms: t.min_kato_ms.unwrap_or(d.min_kato_ms),
        max_queue_depth: t.max_queue_depth.unwrap_or(d.max_queue_depth),
        max_io_qpairs_per_ctrlr: t
            .max_io_qpairs_per_ctrlr
            .unwrap_or(d.max_io_qpairs_per_ctrlr),
        in_capsule_data_size: t.in_capsule_data_size.unwrap_or(d.in_capsule_data_size),
        max_h2c_data: t.max_h2c_data.unwrap_or(d.max_h2c_data),
        max_io_size: t.max_io_size.unwrap_or(d.max_io_size),
        association_timeout_ms: t.association_timeout_ms.unwrap_or(d.association_timeout_ms),
        c2h_success: t.c2h_success.unwrap_or(d.c2h_success),
        discovery: true,
        namespace_ids: Vec::new(),
        ..d
    })
}

fn bdev_sections(sections: &[BdevSection]) -> Result<BTreeMap<String, Bdev>, ConfigError> {
    let mut bdevs = BTreeMap::new();
    for b in sections {
        let uuid = match &b.uuid {
            Some(u) => Some(
                crate::bdev::parse_uuid(u).ok_or_else(|| ConfigError::BadUuid(b.name.clone()))?,
            ),
            None => None,
        };
        let bdev = Bdev::new(b.block_size, b.num_blocks, uuid)?;
        bdev.validate(&b.name)?;
        if bdevs.insert(b.name.clone(), bdev).is_some() {
            return Err(ConfigError::DuplicateBdev(b.name.clone()));
        }
    }
    Ok(bdevs)
}

fn subsystem_section(
    s: &SubsystemSection,
    bdevs: &BTreeMap<String, Bdev>,
    claims: &mut BTreeMap<(String, u32), String>,
    target: &mut TargetConfig,
) -> Result<SubsystemConfig, ConfigError> {
    let mut sub = SubsystemConfig::new(&s.nqn);
    sub.hosts = s.hosts.clone();
    sub.allow_any_host = s.allow_any_host.unwrap_or(s.hosts.is_empty());
    sub.listeners = s
        .listen
        .iter()
        .map(|a| a.parse::<Trid>())
        .collect::<Result<_, _>>()?;
    if let Some(sn) = &s.serial_number {
        sub.serial = sn.clone();
    }
    if let Some(mn) = &s.model_number {
        sub.model = mn.clone();
    }
    sub.min_cntlid = s.min_cntlid.unwrap_or(sub.min_cntlid);
    sub.max_cntlid = s.max_cntlid.unwrap_or(sub.max_cntlid);
    for ns in &s.namespaces {
        let bdev = bdevs
            .get(&ns.bdev_name)
            .ok_or_else(|| ConfigError::UnknownBdev {
                nqn: s.nqn.clone(),
                bdev: ns.bdev_name.clone(),
            })?;
        let nsid = ns.nsid.unwrap_or_else(|| lowest_free_nsid(&sub.namespaces));
        if nsid == 0 || sub.namespaces.iter().any(|n| n.nsid == nsid) {
            return Err(ConfigError::BadNsid {
                nqn: s.nqn.clone(),
                nsid,
            });
        }
        sub.namespaces.push(NamespaceConfig {
            nsid,
            block_size: bdev.block_size,
            blocks: bdev.num_blocks,
        });
        claims.insert((s.nqn.clone(), nsid), ns.bdev_name.clone());
        target.namespace_ids.push(NamespaceIdsConfig {
            nqn: s.nqn.clone(),
            nsid,
            ids: ns.ids(&s.nqn, bdev)?,
        });
    }
    Ok(sub)
}

/// The smallest nsid >= 1 not used by `namespaces` (SPDK's choice when nsid is 0 or absent).
pub fn lowest_free_nsid(namespaces: &[NamespaceConfig]) -> u32 {
    (1..)
        .find(|n| namespaces.iter().all(|ns| ns.nsid != *n))
        .unwrap_or(1)
}

#[cfg(all(test, not(loom)))]
mod tests;
