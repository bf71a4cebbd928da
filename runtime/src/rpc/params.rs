//! Parameter objects of every served method, with exactly the keys SPDK v26.05's decoders know
//! (schema/schema.yaml, `spdk_json_decode_object`): an unknown key, a duplicate key, a missing
//! required key or a wrongly typed value is "Invalid parameters" (-32602), as SPDK answers.
//! Methods v26.05 decodes "relaxed" (`nvmf_subsystem_add_listener`, `nvmf_subsystem_add_ns`,
//! `nvmf_subsystem_add_host`, `nvmf_create_transport`: the extra keys are transport-specific)
//! accept unknown top-level keys. Owns no state.

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenAddress {
    pub trtype: String,
    #[serde(default)]
    pub adrfam: Option<String>,
    pub traddr: String,
    #[serde(default)]
    pub trsvcid: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NqnP {
    pub nqn: String,
    pub tgt_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GetSubsystemsP {
    pub nqn: Option<String>,
    pub tgt_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateSubsystemP {
    pub nqn: String,
    pub tgt_name: Option<String>,
    pub serial_number: Option<String>,
    pub model_number: Option<String>,
    pub max_namespaces: Option<u32>,
    #[serde(default)]
    pub allow_any_host: bool,
    #[serde(default)]
    pub ana_reporting: bool,
    pub min_cntlid: Option<u16>,
    pub max_cntlid: Option<u16>,
    /// v26.05's deprecated spellings of dmrsl / wzsl (uint64 decoders, nvmf_rpc.c:377-378).
    pub max_discard_size_kib: Option<u64>,
    pub max_write_zeroes_size_kib: Option<u64>,
    pub dmrsl: Option<u32>,
    pub wzsl: Option<u8>,
    #[serde(default)]
    pub passthrough: bool,
    #[serde(default)]
    pub enable_nssr: bool,
}

/// Relaxed at the top level (SPDK's `spdk_json_decode_object_relaxed`).
#[derive(Debug, Deserialize)]
pub(super) struct AddListenerP {
    pub nqn: String,
    pub tgt_name: Option<String>,
    pub listen_address: ListenAddress,
    #[serde(default)]
    pub secure_channel: bool,
    pub ana_state: Option<String>,
    pub sock_impl: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RemoveListenerP {
    pub nqn: String,
    pub tgt_name: Option<String>,
    pub listen_address: ListenAddress,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NsSpec {
    pub bdev_name: String,
    pub nsid: Option<u32>,
    pub nguid: Option<String>,
    pub eui64: Option<String>,
    pub uuid: Option<String>,
    pub ptpl_file: Option<String>,
    pub anagrpid: Option<u32>,
    #[serde(default)]
    pub no_auto_visible: bool,
    /// No effect: RAM bdevs carry no metadata.
    #[allow(dead_code)]
    #[serde(default)]
    pub hide_metadata: bool,
}

/// Relaxed at the top level; the namespace object is strict.
#[derive(Debug, Deserialize)]
pub(super) struct AddNsP {
    pub nqn: String,
    pub namespace: NsSpec,
    pub tgt_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RemoveNsP {
    pub nqn: String,
    pub nsid: u32,
    pub tgt_name: Option<String>,
}

/// Relaxed (v26.05: `spdk_json_decode_object_relaxed`, lib/nvmf/nvmf_rpc.c:1895-1897; the
/// transports read their own keys, e.g. TCP's `psk`, from the same object).
#[derive(Debug, Deserialize)]
pub(super) struct AddHostP {
    pub nqn: String,
    pub host: String,
    pub tgt_name: Option<String>,
    pub psk: Option<String>,
    pub dhchap_key: Option<String>,
    pub dhchap_ctrlr_key: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RemoveHostP {
    pub nqn: String,
    pub host: String,
    pub tgt_name: Option<String>,
    #[allow(dead_code)]
    pub timeout_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AllowAnyP {
    pub nqn: String,
    pub allow_any_host: bool,
    pub tgt_name: Option<String>,
}

/// Layout hints (`optimal_io_boundary`, `physical_block_size`, `numa_id`) and PI details that
/// only matter with metadata are accepted and have no effect on a RAM bdev without metadata.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(super) struct MallocCreateP {
    pub name: Option<String>,
    pub block_size: u32,
    pub num_blocks: u64,
    pub uuid: Option<String>,
    pub optimal_io_boundary: Option<u32>,
    pub md_size: Option<u32>,
    #[serde(default)]
    pub md_interleave: bool,
    pub dif_type: Option<i32>,
    #[serde(default)]
    pub dif_is_head_of_md: bool,
    pub physical_block_size: Option<u32>,
    pub dif_pi_format: Option<u32>,
    pub numa_id: Option<i32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NameP {
    pub name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GetBdevsP {
    pub name: Option<String>,
    /// Waiting for a bdev to appear is not served: RAM bdevs appear at once.
    #[allow(dead_code)]
    pub timeout: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GetTransportsP {
    pub tgt_name: Option<String>,
    pub trtype: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GetMethodsP {
    /// Every method is callable in the current (RUNTIME) state: no effect.
    #[allow(dead_code)]
    #[serde(default)]
    pub current: bool,
    #[allow(dead_code)]
    #[serde(default)]
    pub include_aliases: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct KillP {
    pub sig_name: String,
}

/// `nvmf_create_transport`, relaxed as v26.05 decodes it (lib/nvmf/nvmf_rpc.c:2519-2520,
/// :2572-2573; the TCP transport's own keys relaxed again, lib/nvmf/tcp.c:763-765): the keys of
/// the generic decoder (:2423-2447) and of `tcp_transport_opts_decoder` (tcp.c:398-411) are
/// type-checked; any other key, the RDMA and vfio-user ones included, is ignored. Keys that
/// would change what the transport serves are checked against the served value by the caller.
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
pub(super) struct CreateTransportP {
    pub trtype: String,
    pub tgt_name: Option<String>,
    pub max_queue_depth: Option<u16>,
    pub max_io_qpairs_per_ctrlr: Option<u16>,
    pub in_capsule_data_size: Option<u32>,
    pub max_io_size: Option<u32>,
    pub io_unit_size: Option<u32>,
    pub max_aq_depth: Option<u32>,
    pub num_shared_buffers: Option<u32>,
    pub buf_cache_size: Option<u32>,
    pub iobuf_small_cache_size: Option<u32>,
    pub iobuf_large_cache_size: Option<u32>,
    pub dif_insert_or_strip: Option<bool>,
    pub abort_timeout_sec: Option<u32>,
    pub zcopy: Option<bool>,
    pub acceptor_poll_rate: Option<u32>,
    pub ack_timeout: Option<u32>,
    pub data_wr_pool_size: Option<u32>,
    pub disable_command_passthru: Option<bool>,
    pub kas: Option<u16>,
    pub min_kato: Option<u32>,
    pub masked_oncs: Option<serde_json::Value>,
    pub masked_fuses: Option<serde_json::Value>,
    // TCP's own keys (tcp.c:398-411).
    pub c2h_success: Option<bool>,
    pub control_msg_num: Option<u16>,
    pub sock_priority: Option<u32>,
}

// fabcheck's own methods (C-only operations in SPDK).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PauseP {
    pub nqn: String,
    #[serde(default)]
    pub nsid: u32,
}
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StopListenP {
    pub listen_address: ListenAddress,
    pub nqn: Option<String>,
}
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListenP {
    pub listen_address: ListenAddress,
}
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConnP {
    pub conn: u64,
}
