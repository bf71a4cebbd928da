//! The checks SPDK makes on a method's parameters before it touches the target, for the
//! methods with more than a lookup: `nvmf_create_subsystem` (NQN, serial and model number,
//! cntlid range, max namespaces), `nvmf_create_transport`, `nvmf_subsystem_add_ns` (NGUID,
//! EUI64, UUID) and `bdev_malloc_create`. Owns no state.

use super::methods::{invalid, tgt, unsupported, Call, NsIds, TGT_NAME};
use super::params::{AddNsP, CreateSubsystemP, CreateTransportP, MallocCreateP};
use super::{JsonRpcError, INTERNAL_ERROR};
use crate::bdev::{parse_hex, parse_uuid};
use crate::config::Bdev;
use fabcheck_core::nvmf::nqn::nqn_is_valid;
use fabcheck_core::nvmf::SubsystemConfig;

/// `nvmf_subsystem_copy_sn` / `_mn`: at most `max` printable ASCII characters.
fn ascii_field(s: &str, max: usize) -> Result<String, JsonRpcError> {
    if s.len() > max || !s.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        return Err(invalid());
    }
    Ok(s.to_string())
}

/// The dmrsl and wzsl v26.05 would set: `max_discard_size_kib` and `max_write_zeroes_size_kib`
/// (UINT64_MAX: not given) replace them after the target lookup (lib/nvmf/nvmf_rpc.c:433-459 at
/// v26.05): dmrsl = KiB << 1 (512-byte blocks, stored in a uint32), wzsl = log2(KiB >> 2) for a
/// power of two >= 8, 0 for 0, anything else -32602 "Invalid max_write_zeroes_size_kib N".
fn limits(c: &CreateSubsystemP) -> Result<(u32, u8), JsonRpcError> {
    let given = |v: Option<u64>| v.filter(|k| *k != u64::MAX);
    let dmrsl = match given(c.max_discard_size_kib) {
        Some(kib) => (kib << 1) as u32,
        None => c.dmrsl.unwrap_or(0),
    };
    let wzsl = match given(c.max_write_zeroes_size_kib) {
        Some(0) => 0,
        Some(kib) if kib >= 8 && kib.is_power_of_two() => (kib >> 2).trailing_zeros() as u8,
        Some(kib) => {
            let msg = format!("Invalid max_write_zeroes_size_kib {kib}");
            return Err(JsonRpcError::params(msg));
        }
        None => c.wzsl.unwrap_or(0),
    };
    Ok((dmrsl, wzsl))
}

pub(super) fn create_subsystem(c: CreateSubsystemP) -> Result<Call, JsonRpcError> {
    if let Some(n) = &c.tgt_name {
        if n != TGT_NAME {
            let msg = format!("Unable to find target {n}");
            return Err(JsonRpcError::new(INTERNAL_ERROR, msg));
        }
    }
    let (dmrsl, wzsl) = limits(&c)?;
    if c.ana_reporting || c.passthrough || c.enable_nssr {
        return Err(unsupported("ANA reporting, passthrough or NSSR"));
    }
    if dmrsl != 0 || wzsl != 0 {
        return Err(unsupported("dmrsl / wzsl limits"));
    }
    let mut s = SubsystemConfig::new(&c.nqn);
    s.allow_any_host = c.allow_any_host;
    s.serial = ascii_field(
        c.serial_number.as_deref().unwrap_or("00000000000000000000"),
        20,
    )?;
    s.model = ascii_field(
        c.model_number.as_deref().unwrap_or("SPDK bdev Controller"),
        40,
    )?;
    s.min_cntlid = c.min_cntlid.unwrap_or(1);
    s.max_cntlid = c.max_cntlid.unwrap_or(0xFFEF);
    if !nqn_is_valid(&c.nqn) {
        let msg = format!("Unable to create subsystem {}", c.nqn);
        return Err(JsonRpcError::new(INTERNAL_ERROR, msg));
    }
    if s.min_cntlid == 0 || s.max_cntlid > 0xFFEF || s.min_cntlid > s.max_cntlid {
        let (lo, hi) = (s.min_cntlid, s.max_cntlid);
        return Err(JsonRpcError::params(format!(
            "Invalid cntlid range [{lo}-{hi}]"
        )));
    }
    s.max_namespaces = match c.max_namespaces {
        None | Some(0) => fabcheck_core::nvmf::DEFAULT_MAX_NAMESPACES,
        Some(n) => n,
    };
    Ok(Call::CreateSubsystem { cfg: s })
}

pub(super) fn create_transport(t: CreateTransportP) -> Result<Call, JsonRpcError> {
    tgt(&t.tgt_name)?;
    if t.zcopy == Some(true) || t.dif_insert_or_strip == Some(true) {
        return Err(unsupported("zero-copy or DIF insert/strip"));
    }
    let mut asked = Vec::new();
    let mut ask = |k: &'static str, v: Option<serde_json::Value>| {
        if let Some(v) = v {
            asked.push((k, v));
        }
    };
    ask("max_queue_depth", t.max_queue_depth.map(Into::into));
    ask(
        "max_io_qpairs_per_ctrlr",
        t.max_io_qpairs_per_ctrlr.map(Into::into),
    );
    ask(
        "in_capsule_data_size",
        t.in_capsule_data_size.map(Into::into),
    );
    ask("max_io_size", t.max_io_size.map(Into::into));
    ask("c2h_success", t.c2h_success.map(Into::into));
    Ok(Call::CreateTransport {
        trtype: t.trtype,
        asked,
    })
}

pub(super) fn add_ns(a: AddNsP) -> Result<Call, JsonRpcError> {
    let n = a.namespace;
    // v26.05 decodes nguid, eui64 (`decode_ns_nguid`/`decode_ns_eui64`, exact-length hex) and
    // uuid inside `spdk_json_decode_object_relaxed`: a bad one fails the decode, -32602
    // "Invalid parameters", before the target or subsystem lookup (lib/nvmf/nvmf_rpc.c:117-145,
    // :1316-1318, :1470-1473 at v26.05).
    let ids = NsIds {
        nguid: n.nguid.as_deref().map(parse_hex).transpose_invalid()?,
        eui64: n.eui64.as_deref().map(parse_hex).transpose_invalid()?,
        uuid: n.uuid.as_deref().map(parse_uuid).transpose_invalid()?,
    };
    tgt(&a.tgt_name)?;
    if n.ptpl_file.is_some() || n.anagrpid.unwrap_or(0) != 0 || n.no_auto_visible {
        return Err(unsupported("reservations, ANA groups or namespace masking"));
    }
    let nsid = n.nsid.filter(|n| *n != 0);
    Ok(Call::AddNs {
        nqn: a.nqn,
        bdev: n.bdev_name,
        nsid,
        ids,
    })
}

/// An optional identifier that failed to parse is SPDK's decode error.
trait TransposeInvalid<T> {
    fn transpose_invalid(self) -> Result<Option<T>, JsonRpcError>;
}

impl<T> TransposeInvalid<T> for Option<Option<T>> {
    fn transpose_invalid(self) -> Result<Option<T>, JsonRpcError> {
        match self {
            None => Ok(None),
            Some(v) => v.map(Some).ok_or_else(invalid),
        }
    }
}

pub(super) fn malloc_create(m: MallocCreateP) -> Result<Call, JsonRpcError> {
    if m.md_size.unwrap_or(0) != 0 || m.dif_type.unwrap_or(0) != 0 || m.md_interleave {
        return Err(unsupported("metadata or protection information"));
    }
    let uuid = match &m.uuid {
        Some(s) => Some(parse_uuid(s).ok_or_else(invalid)?),
        None => None,
    };
    // The UUID is drawn (or taken) when the service creates the bdev.
    let bdev = Bdev {
        block_size: m.block_size,
        num_blocks: m.num_blocks,
        uuid: [0; 16],
    };
    bdev.validate(m.name.as_deref().unwrap_or("Malloc"))
        .map_err(|_| invalid())?;
    Ok(Call::MallocCreate {
        name: m.name,
        bdev,
        uuid,
    })
}
