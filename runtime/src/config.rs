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
//! [[bdev]]
//! name = "Malloc0"
//! num_blocks = 131072
//! block_size = 512
//! [[subsystem]]
//! nqn = "nqn.2016-06.io.spdk:cnode1"
//! hosts = []                           # allow_any_host defaults to hosts.is_empty()
//! listen = ["127.0.0.1:4420"]
//! namespaces = [{ bdev_name = "Malloc0", nsid = 1 }]
//! ```

use fabcheck_core::nvmf::{
    BugId, BugSet, NamespaceConfig, Spdk, SubsystemConfig, TargetConfig, Trid,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddrV4;
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
    #[error("bad listen address {0:?}: expected IPV4:PORT")]
    Address(String),
    #[error("unknown SPDK profile {0:?}: expected \"v24.01\" or \"master\"")]
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
}

/// A RAM block device held by the runtime (`bdev_malloc_create`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bdev {
    pub block_size: u32,
    pub num_blocks: u64,
}

impl Bdev {
    pub fn validate(&self, name: &str) -> Result<(), ConfigError> {
        if self.block_size < 512 || !self.block_size.is_power_of_two() || self.num_blocks == 0 {
            return Err(ConfigError::BadBdev(name.to_string()));
        }
        Ok(())
    }
}

/// Limits a real deployment needs beyond the core's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Connections accepted at once; more are closed at accept.
    pub max_connections: usize,
    /// A connection that has not completed CONNECT within this time is closed (0 = never).
    pub idle_timeout_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 1024,
            idle_timeout_ms: 10_000,
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
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsSection {
    max_connections: Option<usize>,
    idle_timeout_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BdevSection {
    name: String,
    num_blocks: u64,
    #[serde(default = "default_block_size")]
    block_size: u32,
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
}

/// Parses `ADDR:PORT` (IPv4) into a transport id.
pub fn parse_trid(s: &str) -> Result<Trid, ConfigError> {
    let addr: SocketAddrV4 = s.parse().map_err(|_| ConfigError::Address(s.to_string()))?;
    Ok(Trid::tcp(&addr.ip().to_string(), addr.port()))
}

impl RuntimeConfig {
    /// The built-in default: one subsystem `DEFAULT_NQN` (any host) with a 64 MiB namespace of
    /// 512-byte blocks (bdev `Malloc0`) on `listen` (default 127.0.0.1:4420).
    pub fn default_with(listen: &[Trid]) -> Self {
        let listen = if listen.is_empty() {
            vec![parse_trid(DEFAULT_LISTEN).expect("default address parses")]
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
        let target = TargetConfig {
            listeners: listen,
            subsystems: vec![sub],
            ..TargetConfig::default()
        };
        let bdev = Bdev {
            block_size: 512,
            num_blocks: 131_072,
        };
        RuntimeConfig {
            target,
            bdevs: BTreeMap::from([("Malloc0".to_string(), bdev)]),
            claims: BTreeMap::from([((DEFAULT_NQN.to_string(), 1), "Malloc0".to_string())]),
            limits: Limits::default(),
            rpc_socket: PathBuf::from(DEFAULT_RPC_SOCKET),
        }
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
            .map(|s| parse_trid(s))
            .collect::<Result<Vec<_>, _>>()?;
        for section in &file.subsystem {
            if target.subsystems.iter().any(|s| s.nqn == section.nqn) {
                return Err(ConfigError::DuplicateNqn(section.nqn.clone()));
            }
            let sub = subsystem_section(section, &bdevs, &mut claims)?;
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
    })
}

fn bdev_sections(sections: &[BdevSection]) -> Result<BTreeMap<String, Bdev>, ConfigError> {
    let mut bdevs = BTreeMap::new();
    for b in sections {
        let bdev = Bdev {
            block_size: b.block_size,
            num_blocks: b.num_blocks,
        };
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
) -> Result<SubsystemConfig, ConfigError> {
    let mut sub = SubsystemConfig::new(&s.nqn);
    sub.hosts = s.hosts.clone();
    sub.allow_any_host = s.allow_any_host.unwrap_or(s.hosts.is_empty());
    sub.listeners = s
        .listen
        .iter()
        .map(|a| parse_trid(a))
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
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
rpc_socket = "/tmp/x.sock"
listen = ["127.0.0.1:4421"]
[target]
poll_groups = 3
spdk = "v24.01"
bugs = ["Spdk3302"]
[limits]
max_connections = 8
idle_timeout_ms = 500
[[bdev]]
name = "Malloc0"
num_blocks = 2048
block_size = 4096
[[subsystem]]
nqn = "nqn.2016-06.io.spdk:cnode2"
hosts = ["nqn.host:a"]
listen = ["127.0.0.1:4422"]
namespaces = [{ bdev_name = "Malloc0" }]
"#;

    #[test]
    fn file_config_maps_to_target_config() {
        let c = RuntimeConfig::from_toml(SAMPLE).unwrap();
        assert_eq!(c.target.poll_groups, 3);
        assert_eq!(c.target.spdk, Spdk::V24_01);
        assert!(c.target.bugs.has(BugId::Spdk3302));
        assert_eq!(c.limits.max_connections, 8);
        assert_eq!(c.limits.idle_timeout_ms, 500);
        assert_eq!(c.rpc_socket, PathBuf::from("/tmp/x.sock"));
        let sub = &c.target.subsystems[0];
        assert!(!sub.allow_any_host, "hosts listed => allow-list enforced");
        assert_eq!(sub.hosts, vec!["nqn.host:a".to_string()]);
        assert_eq!(
            sub.namespaces,
            vec![NamespaceConfig {
                nsid: 1,
                block_size: 4096,
                blocks: 2048
            }]
        );
        assert_eq!(
            c.target.listeners,
            vec![Trid::tcp("127.0.0.1", 4421), Trid::tcp("127.0.0.1", 4422)]
        );
        assert_eq!(
            c.claims[&("nqn.2016-06.io.spdk:cnode2".to_string(), 1)],
            "Malloc0"
        );
    }

    #[test]
    fn bad_configs_are_errors() {
        let unknown = "[[subsystem]]\nnqn = \"n\"\nnamespaces = [{ bdev_name = \"nope\" }]\n";
        assert!(matches!(
            RuntimeConfig::from_toml(unknown),
            Err(ConfigError::UnknownBdev { .. })
        ));
        assert!(matches!(
            RuntimeConfig::from_toml("listen = [\"localhost\"]"),
            Err(ConfigError::Address(_))
        ));
        assert!(matches!(
            RuntimeConfig::from_toml("bogus = 1"),
            Err(ConfigError::Toml(_))
        ));
        let bad_bs = "[[bdev]]\nname = \"b\"\nnum_blocks = 1\nblock_size = 1000\n";
        assert!(matches!(
            RuntimeConfig::from_toml(bad_bs),
            Err(ConfigError::BadBdev(_))
        ));
        let dup = "[[subsystem]]\nnqn = \"n\"\n[[subsystem]]\nnqn = \"n\"\n";
        assert!(matches!(
            RuntimeConfig::from_toml(dup),
            Err(ConfigError::DuplicateNqn(_))
        ));
    }

    #[test]
    fn the_shipped_example_config_is_valid() {
        let c = RuntimeConfig::from_toml(include_str!("../fabcheck-target.example.toml")).unwrap();
        assert_eq!(c.target.subsystems.len(), 2);
        assert!(c.target.subsystems[0].allow_any_host);
        assert!(!c.target.subsystems[1].allow_any_host);
        assert_eq!(c.target.subsystems[1].namespaces[0].block_size, 4096);
        assert_eq!(c.target.listeners.len(), 2);
    }

    #[test]
    fn default_config_serves_cnode1_with_64_mib() {
        let c = RuntimeConfig::default_with(&[]);
        let sub = &c.target.subsystems[0];
        assert_eq!(sub.nqn, DEFAULT_NQN);
        assert!(sub.allow_any_host);
        let ns = &sub.namespaces[0];
        assert_eq!(u64::from(ns.block_size) * ns.blocks, 64 << 20);
        assert_eq!(c.target.listeners, vec![Trid::tcp("127.0.0.1", 4420)]);
        let mut c2 = c.clone();
        c2.override_listeners(&[Trid::tcp("127.0.0.1", 5000)], true);
        assert_eq!(
            c2.target.subsystems[0].listeners,
            vec![Trid::tcp("127.0.0.1", 5000)]
        );
        assert_eq!(c2.target.listeners, vec![Trid::tcp("127.0.0.1", 5000)]);
    }
}
