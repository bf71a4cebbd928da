//! Static configuration: the target (poll groups, SPDK profile, limits, timeouts), its
//! subsystems and namespaces, and the set of catalogue bugs switched on (`BugSet`, empty = the
//! fixed SPDK). Pure data; nothing here changes while the target runs.

use super::planted::Planted;
use super::{BugSet, Spdk, Trid};
use serde::{Deserialize, Serialize};

/// A RAM-backed namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NamespaceConfig {
    pub nsid: u32,
    pub block_size: u32,
    pub blocks: u64,
}

/// A namespace's identifiers as SPDK's `spdk_nvmf_ns_opts` holds them: Identify Namespace
/// NGUID and EUI64 and the Namespace Identification Descriptors (an all-zero one is not
/// reported).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NamespaceIds {
    pub nguid: [u8; 16],
    pub eui64: [u8; 8],
    pub uuid: [u8; 16],
}

impl NamespaceIds {
    /// `spdk_nvmf_subsystem_add_ns_ext`'s defaults: a null UUID becomes the bdev's UUID, an
    /// all-zero NGUID the bdev's UUID bytes; the EUI64 stays as given.
    pub fn with_bdev_defaults(mut self, bdev_uuid: [u8; 16]) -> Self {
        if self.uuid == [0; 16] {
            self.uuid = bdev_uuid;
        }
        if self.nguid == [0; 16] {
            self.nguid = bdev_uuid;
        }
        self
    }

    /// The identifiers of a namespace added without any (the simulator's RAM namespaces have
    /// no bdev UUID): SPDK's defaults for a bdev UUID derived from the subsystem NQN and the
    /// NSID (FNV-1a, RFC 9562 version 8), so namespaces of different subsystems differ and
    /// runs stay deterministic.
    pub fn derived(nqn: &str, nsid: u32) -> Self {
        let half = |seed: u64| {
            let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
            for b in nqn.bytes().chain(nsid.to_le_bytes()) {
                h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
            h.to_be_bytes()
        };
        let mut uuid = [0u8; 16];
        uuid[..8].copy_from_slice(&half(1));
        uuid[8..].copy_from_slice(&half(2));
        uuid[6] = (uuid[6] & 0x0F) | 0x80;
        uuid[8] = (uuid[8] & 0x3F) | 0x80;
        NamespaceIds::default().with_bdev_defaults(uuid)
    }
}

/// Identifiers for a namespace created at start-up (by `TargetConfig::subsystems`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NamespaceIdsConfig {
    pub nqn: String,
    pub nsid: u32,
    pub ids: NamespaceIds,
}

/// A subsystem created at start-up (or by `RpcRequest::CreateSubsystem`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SubsystemConfig {
    pub nqn: String,
    pub allow_any_host: bool,
    pub hosts: Vec<String>,
    pub listeners: Vec<Trid>,
    pub namespaces: Vec<NamespaceConfig>,
    pub min_cntlid: u16,
    pub max_cntlid: u16,
    pub serial: String,
    pub model: String,
    /// Start ACTIVE (true) or INACTIVE.
    pub start: bool,
    /// `subsystem->max_nsid`: the highest NSID the subsystem may have, set at creation from
    /// `nvmf_create_subsystem -m` (`max_namespaces`, 0 meaning the default) and reported as
    /// Identify Controller's NN; an add above it fails. Left out of the serialized form when
    /// it is the default, so recordings and traces read as before.
    #[serde(
        default = "default_max_namespaces",
        skip_serializing_if = "is_default_max_namespaces"
    )]
    pub max_namespaces: u32,
}

/// `NVMF_SUBSYSTEM_DEFAULT_NAMESPACES` (lib/nvmf/subsystem.c, every modelled version).
pub const DEFAULT_MAX_NAMESPACES: u32 = 32;

fn default_max_namespaces() -> u32 {
    DEFAULT_MAX_NAMESPACES
}

fn is_default_max_namespaces(n: &u32) -> bool {
    *n == DEFAULT_MAX_NAMESPACES
}

impl SubsystemConfig {
    /// An ACTIVE subsystem allowing any host, cntlid 1..=0xFFEF, no listeners or namespaces.
    pub fn new(nqn: &str) -> Self {
        SubsystemConfig {
            nqn: nqn.to_string(),
            allow_any_host: true,
            hosts: Vec::new(),
            listeners: Vec::new(),
            namespaces: Vec::new(),
            min_cntlid: 1,
            max_cntlid: 0xFFEF,
            serial: "FABCHECK0000000001".to_string(),
            model: "fabcheck target".to_string(),
            start: true,
            max_namespaces: DEFAULT_MAX_NAMESPACES,
        }
    }
}

/// Static target configuration.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TargetConfig {
    pub poll_groups: u16,
    /// The SPDK version modelled (every version-dependent behaviour at once).
    pub spdk: Spdk,
    pub bugs: BugSet,
    /// Transport listeners opened at start (subsystem listeners are added to these).
    pub listeners: Vec<Trid>,
    pub subsystems: Vec<SubsystemConfig>,
    /// Keep-alive granularity in 100 ms units (SPDK transport option `kas`, default 100):
    /// KATO values are rounded up to whole units. A `min_kato_ms` below 10 s needs a smaller
    /// `kas`, as in SPDK.
    pub kas: u16,
    /// Minimum keep-alive timeout (SPDK default 10000 ms).
    pub min_kato_ms: u32,
    /// Maximum queue depth (CAP.MQES + 1).
    pub max_queue_depth: u16,
    /// Maximum I/O qpairs per controller.
    pub max_io_qpairs_per_ctrlr: u16,
    /// In-capsule data size (ioccsz = 4 + this / 16).
    pub in_capsule_data_size: u32,
    /// Maximum H2CData payload (ICResp maxh2cdata).
    pub max_h2c_data: u32,
    /// Maximum data transfer per command (bytes).
    pub max_io_size: u32,
    /// Association timeout after a CC reset/shutdown (SPDK default 120000 ms).
    pub association_timeout_ms: u32,
    /// TCP transport option `c2h_success` (SPDK default true): a successful read may end
    /// with a C2HData carrying SUCCESS instead of a CapsuleResp, when the profile's other
    /// conditions hold (`Spdk::c2h_success`).
    #[serde(default = "c2h_success_default")]
    pub c2h_success: bool,
    /// Create the discovery subsystem at start, as SPDK's nvmf_tgt does (discovery.rs).
    #[serde(default)]
    pub discovery: bool,
    /// Identifiers of start-up namespaces; others get `NamespaceIds::derived`.
    #[serde(default)]
    pub namespace_ids: Vec<NamespaceIdsConfig>,
    /// The transport's qpairs keep a reference to their listener (RDMA's
    /// `rqpair->listen_id`) instead of a copy of its trid (TCP); I14 checks that the listener
    /// outlives them (listener.rs).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub listener_ref: bool,
    /// Test-only planted slips (planted.rs); empty outside tests.
    #[doc(hidden)]
    #[serde(default, skip_serializing_if = "Planted::is_empty")]
    pub planted: Planted,
    /// Zero-copy send (`enable_zerocopy_send_server`, module/sock/posix): a response PDU's write
    /// completes on a later poll (a delivered event), its request slot held until then
    /// (tcp_slots.rs). Off (default): a write completes as it is emitted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub zcopy: bool,
    /// Turns the I17 thread-ownership check off (ownership.rs; `fabcheck bench` measures its
    /// cost with it). On by default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ownership_check_off: bool,
    /// Events (`Output::Event`) of the per-I/O path carry no detail text: formatting it costs
    /// a few percent of a 4 KiB I/O, and fabcheck-target only counts marks (its debug checks,
    /// `--check-invariants`, turn the details back on). Off by default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub event_details_off: bool,
    /// SPDK built with asserts (debug, as the differential harness builds it): a debug-only
    /// `assert` SPDK's release build compiles out is a crash (`Target::debug_assert_fails`).
    /// Off (default): the release build, which returns the error code after the assert.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub debug_asserts: bool,
    /// S7: data buffers per poll group (the transport's iobuf channel of each
    /// `spdk_nvmf_transport_poll_group`, buffers.rs); None = unbounded (every
    /// `nvmf_request_get_buffers` succeeds at once, the model before S7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg_buffers: Option<u32>,
}

/// `SPDK_NVMF_TCP_DEFAULT_SUCCESS_OPTIMIZATION`.
fn c2h_success_default() -> bool {
    true
}

impl Default for TargetConfig {
    fn default() -> Self {
        TargetConfig {
            poll_groups: 2,
            spdk: Spdk::Master,
            bugs: BugSet::default(),
            listeners: Vec::new(),
            subsystems: Vec::new(),
            kas: 100,
            min_kato_ms: 10_000,
            max_queue_depth: 128,
            max_io_qpairs_per_ctrlr: 127,
            in_capsule_data_size: 4096,
            max_h2c_data: 131_072,
            max_io_size: 131_072,
            association_timeout_ms: 120_000,
            c2h_success: c2h_success_default(),
            discovery: false,
            namespace_ids: Vec::new(),
            listener_ref: false,
            planted: Planted::default(),
            zcopy: false,
            ownership_check_off: false,
            event_details_off: false,
            debug_asserts: false,
            pg_buffers: None,
        }
    }
}

impl TargetConfig {
    /// The configuration for serving real hosts (fabcheck-target): without the I17 ownership
    /// check and the per-I/O event details unless `debug_checks` (`--check-invariants`). What
    /// is served on the wire is the same either way.
    pub fn for_serving(mut self, debug_checks: bool) -> TargetConfig {
        self.ownership_check_off = !debug_checks;
        self.event_details_off = !debug_checks;
        self
    }

    /// The configuration with every check and detail on (a replay of a recording checks what
    /// serving skipped).
    pub fn with_every_check(self) -> TargetConfig {
        self.for_serving(true)
    }
}
