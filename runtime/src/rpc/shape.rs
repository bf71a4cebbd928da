//! SPDK-shaped JSON results (the field names and order of lib/nvmf/nvmf_rpc.c's `dump_*`
//! functions, lib/nvmf/transport.c's `nvmf_transport_dump_opts` and lib/bdev/bdev_rpc.c's
//! `rpc_dump_bdev_info`). Every field printed is a value the target really serves; SPDK fields
//! that describe features fabcheck-target lacks are left out. Owns no state.

use super::methods::addr_json;
use crate::bdev::fmt_uuid;
use crate::config::Bdev;
use fabcheck_core::nvmf::{
    ControllerInfo, NamespaceIds, QpairInfo, SubsystemInfo, TargetConfig, Trid, DISCOVERY_NQN,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// One `nvmf_get_subsystems` entry (`dump_nvmf_subsystem`).
pub fn subsystem(s: &SubsystemInfo, bdev_of: &dyn Fn(u32) -> String) -> Value {
    if s.nqn == DISCOVERY_NQN {
        return json!({
            "nqn": s.nqn,
            "subtype": "Discovery",
            "listen_addresses": s.listeners.iter().map(addr_json).collect::<Vec<_>>(),
            "allow_any_host": s.allow_any_host,
            "hosts": s.hosts.iter().map(|h| json!({"nqn": h})).collect::<Vec<_>>(),
        });
    }
    let namespaces: Vec<Value> = s
        .namespaces
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let bdev = bdev_of(n.nsid);
            let mut v = json!({"nsid": n.nsid, "bdev_name": bdev, "name": bdev});
            if let Some(ids) = s.namespace_ids.get(i) {
                namespace_ids(&mut v, ids);
            }
            v
        })
        .collect();
    json!({
        "nqn": s.nqn,
        "subtype": "NVMe",
        "listen_addresses": s.listeners.iter().map(addr_json).collect::<Vec<_>>(),
        "allow_any_host": s.allow_any_host,
        "hosts": s.hosts.iter().map(|h| json!({"nqn": h})).collect::<Vec<_>>(),
        "serial_number": s.serial,
        "model_number": s.model,
        "max_namespaces": s.max_namespaces,
        "passthrough": false,
        "min_cntlid": s.min_cntlid,
        "max_cntlid": s.max_cntlid,
        "dmrsl": 0,
        "wzsl": 0,
        "namespaces": namespaces,
        // Not in SPDK's dump: the subsystem state, which fabcheck's operators watch.
        "state": s.state,
    })
}

/// `nguid` and `eui64` (upper-case hex, as `spdk_json_write_bytearray`) and `uuid`, each
/// only when not all zero.
fn namespace_ids(v: &mut Value, ids: &NamespaceIds) {
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02X}")).collect::<String>();
    if ids.nguid != [0; 16] {
        v["nguid"] = json!(hex(&ids.nguid));
    }
    if ids.eui64 != [0; 8] {
        v["eui64"] = json!(hex(&ids.eui64));
    }
    if ids.uuid != [0; 16] {
        v["uuid"] = json!(fmt_uuid(&ids.uuid));
    }
}

/// `nvmf_get_transports` (`nvmf_transport_dump_opts` + the TCP `dump_opts`).
pub fn transport(t: &TargetConfig) -> Value {
    json!({
        "trtype": "TCP",
        "max_queue_depth": t.max_queue_depth,
        "max_io_qpairs_per_ctrlr": t.max_io_qpairs_per_ctrlr,
        "in_capsule_data_size": t.in_capsule_data_size,
        "max_io_size": t.max_io_size,
        "max_aq_depth": t.max_queue_depth,
        "dif_insert_or_strip": false,
        "zcopy": false,
        // The transport option, as SPDK reports it: it permits C2HData SUCCESS, which master
        // sends only to hosts that disabled SQ flow control (`Spdk::c2h_success`).
        "c2h_success": t.c2h_success,
        "sock_priority": 0,
        "kas": 10,
        "min_kato": t.min_kato_ms,
    })
}

/// `nvmf_subsystem_get_controllers` (`dump_nvmf_ctrlr`); every controller is an I/O one.
pub fn controllers(c: &[ControllerInfo]) -> Value {
    Value::Array(
        c.iter()
            .map(|c| {
                json!({"cntlid": c.cntlid, "cntrltype": "io", "hostnqn": c.hostnqn,
                    "hostid": fmt_uuid(&c.hostid), "num_io_qpairs": c.num_io_qpairs})
            })
            .collect(),
    )
}

/// `nvmf_subsystem_get_qpairs` (`dump_nvmf_qpair`), plus fabcheck's `conn` id (the handle
/// `fabcheck_disconnect_qpair` takes).
pub fn qpairs(
    q: &[QpairInfo],
    hostnqn: &BTreeMap<u16, String>,
    peers: &BTreeMap<u64, std::net::SocketAddr>,
) -> Value {
    Value::Array(
        q.iter()
            .map(|q| {
                let host = q
                    .cntlid
                    .and_then(|c| hostnqn.get(&c))
                    .cloned()
                    .unwrap_or_default();
                let mut v = json!({"cntlid": q.cntlid, "qid": q.qid, "state": q.state,
                    "thread": q.thread.to_string(), "hostnqn": host,
                    "listen_address": addr_json(&q.listen)});
                if let Some(p) = peers.get(&q.conn.0) {
                    let peer = Trid::tcp(&p.ip().to_string(), p.port());
                    v["peer_address"] = addr_json(&peer);
                }
                v["conn"] = json!(q.conn.0);
                v
            })
            .collect(),
    )
}

/// `nvmf_subsystem_get_listeners` (`dump_nvmf_subsystem_listener`; no ANA states: ANA
/// reporting is off).
pub fn listeners(l: &[Trid]) -> Value {
    Value::Array(l.iter().map(|t| json!({"address": addr_json(t)})).collect())
}

/// One `bdev_get_bdevs` entry for a RAM bdev (`rpc_dump_bdev_info`, malloc module).
pub fn bdev(name: &str, b: &Bdev, claimed: bool) -> Value {
    let io = |ok: bool| json!(ok);
    let mut v = json!({
        "name": name,
        "aliases": [],
        "product_name": "Malloc disk",
        "block_size": b.block_size,
        "num_blocks": b.num_blocks,
        "uuid": fmt_uuid(&b.uuid),
        "assigned_rate_limits": {"rw_ios_per_sec": 0, "rw_mbytes_per_sec": 0,
            "r_mbytes_per_sec": 0, "w_mbytes_per_sec": 0},
        "claimed": claimed,
        "zoned": false,
        "supported_io_types": {"read": io(true), "write": io(true), "unmap": io(false),
            "flush": io(false), "reset": io(false), "compare": io(false),
            "compare_and_write": io(false), "write_zeroes": io(false)},
        "driver_specific": {},
    });
    if claimed {
        v["claim_type"] = json!("exclusive_write");
    }
    v
}

/// `spdk_get_version`: the RPC dialect served is SPDK v26.05's.
pub fn version() -> Value {
    json!({
        "version": concat!("SPDK v26.05 (fabcheck-target ", env!("CARGO_PKG_VERSION"), ")"),
        "fields": {"major": 26, "minor": 5, "patch": 0, "suffix": "-fabcheck"},
    })
}
