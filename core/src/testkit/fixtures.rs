//! Shared fixtures: the one subsystem NQN, host NQNs, the listener, the target configuration
//! every test starts from, host configurations, data patterns and host I/O actions. A test
//! that needs something else changes a copy of these, so the defaults live in one place.

use crate::host::{HostAction, HostConfig, Qid};
use crate::nvmf::{NamespaceConfig, Spdk, SubsystemConfig, TargetConfig, Trid};

/// The subsystem every fixture configures.
pub const NQN: &str = "nqn.2016-06.io.spdk:cnode1";
/// The first host.
pub const HOSTNQN: &str = "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-4000-8000-00000000000a";
/// A second host.
pub const HOSTNQN_B: &str = "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-4000-8000-00000000000b";
/// Block size of every fixture namespace.
pub const BLOCK: usize = 512;
/// Blocks in namespace 1 of `config()`.
pub const NS_BLOCKS: u64 = 64;

/// The one listener (transport and subsystem).
pub fn trid() -> Trid {
    Trid::tcp("127.0.0.1", 4420)
}

/// A namespace of `blocks` 512-byte blocks.
pub fn namespace(nsid: u32, blocks: u64) -> NamespaceConfig {
    NamespaceConfig {
        nsid,
        block_size: BLOCK as u32,
        blocks,
    }
}

/// `NQN` with one `NS_BLOCKS`-block RAM namespace, listening on `trid()`.
pub fn subsystem() -> SubsystemConfig {
    let mut s = SubsystemConfig::new(NQN);
    s.listeners.push(trid());
    s.namespaces.push(namespace(1, NS_BLOCKS));
    s
}

/// Default poll groups, one transport listener, `subsystem()`.
pub fn config() -> TargetConfig {
    TargetConfig {
        listeners: vec![trid()],
        subsystems: vec![subsystem()],
        ..TargetConfig::default()
    }
}

/// `config()` modelling SPDK version `spdk`.
pub fn config_for(spdk: Spdk) -> TargetConfig {
    TargetConfig { spdk, ..config() }
}

/// `config()` with namespace 1 resized to `blocks`.
pub fn config_with_blocks(blocks: u64) -> TargetConfig {
    let mut cfg = config();
    cfg.subsystems[0].namespaces[0].blocks = blocks;
    cfg
}

/// A sans-IO host `hostnqn` connecting to `NQN` with the host's defaults.
pub fn host_config(hostnqn: &str) -> HostConfig {
    HostConfig::new(hostnqn, NQN)
}

/// `len` bytes of a pattern that differs per `seed` and per offset.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(13).wrapping_add(seed))
        .collect()
}

/// A host write of `data` to namespace 1 at `slba`.
pub fn write(tag: u64, qid: Qid, slba: u64, data: Vec<u8>) -> HostAction {
    HostAction::Write {
        tag,
        qid,
        nsid: 1,
        slba,
        data,
    }
}

/// A host read of `nlb` blocks of namespace 1 at `slba`.
pub fn read(tag: u64, qid: Qid, slba: u64, nlb: u32) -> HostAction {
    HostAction::Read {
        tag,
        qid,
        nsid: 1,
        slba,
        nlb,
    }
}
