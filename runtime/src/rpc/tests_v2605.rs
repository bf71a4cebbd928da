//! The answers where SPDK v26.05 and master differ, each checked against v26.05's code and
//! message (lib/nvmf/nvmf_rpc.c, lib/json/json_util.c at tag v26.05, commit d519b163): unknown
//! subsystems and targets, `nvmf_get_subsystems` on an unknown NQN, namespace identifiers that
//! fail the decode, `nvmf_create_subsystem`'s key set, and the relaxed decoders.

use super::tests::{block_on, call, fake_with_cnode1, Fake, CNODE1};
use super::*;

const NONE: &str = "nqn.2016-06.io.spdk:none";

fn svc(fake: &Fake) -> Service<&Fake> {
    Service::new(fake, RpcState::default())
}

fn ask(s: &Service<&Fake>, method: &str, params: Value) -> Value {
    block_on(s.answer(call(method, params))).expect("a request with an id is answered")
}

fn err(v: &Value) -> (i64, String) {
    let e = &v["error"];
    let msg = e["message"].as_str().unwrap_or_default().to_string();
    (e["code"].as_i64().unwrap_or(0), msg)
}

fn invalid_params() -> (i64, String) {
    (-32602, "Invalid parameters".into())
}

fn listen() -> Value {
    json!({"trtype": "TCP", "adrfam": "IPv4", "traddr": "127.0.0.1", "trsvcid": "4430"})
}

/// Every method that names a subsystem, on an unknown one (extra keys set per method).
fn on_unknown_subsystem() -> Vec<(&'static str, Value)> {
    vec![
        // nvmf_rpc.c:888-891 at v26.05
        (
            "nvmf_subsystem_add_listener",
            json!({"listen_address": listen()}),
        ),
        // :973-976
        (
            "nvmf_subsystem_remove_listener",
            json!({"listen_address": listen()}),
        ),
        // :1491-1494
        (
            "nvmf_subsystem_add_ns",
            json!({"namespace": {"bdev_name": "Nope"}}),
        ),
        // :1715-1718
        ("nvmf_subsystem_remove_ns", json!({"nsid": 1})),
        // :1911-1914
        (
            "nvmf_subsystem_add_host",
            json!({"host": "nqn.2016-06.io.spdk:h"}),
        ),
        // :1911-1914 comes before add_host_ext's "Internal error" for a bad host NQN (:1943-1945)
        ("nvmf_subsystem_add_host", json!({"host": "not a host nqn"})),
        // :2021-2024
        (
            "nvmf_subsystem_remove_host",
            json!({"host": "nqn.2016-06.io.spdk:h"}),
        ),
        // :2160-2163
        (
            "nvmf_subsystem_allow_any_host",
            json!({"allow_any_host": true}),
        ),
        // :569-571 -> :596 (`goto invalid`)
        ("nvmf_delete_subsystem", json!({})),
        // _rpc_nvmf_subsystem_query :3078-3082
        ("nvmf_subsystem_get_controllers", json!({})),
        ("nvmf_subsystem_get_qpairs", json!({})),
        ("nvmf_subsystem_get_listeners", json!({})),
    ]
}

#[test]
fn an_unknown_subsystem_is_invalid_parameters() {
    let fake = fake_with_cnode1();
    let s = svc(&fake);
    for (m, mut p) in on_unknown_subsystem() {
        p["nqn"] = json!(NONE);
        assert_eq!(err(&ask(&s, m, p.clone())), invalid_params(), "{m} {p}");
    }
    assert!(
        fake.seen
            .lock()
            .unwrap()
            .iter()
            .all(|r| matches!(r, fabcheck_core::nvmf::RpcRequest::GetSubsystems)),
        "nothing but lookups reached the target"
    );
}

#[test]
fn get_subsystems_on_an_unknown_nqn_is_enodev() {
    let fake = fake_with_cnode1();
    let s = svc(&fake);
    // nvmf_rpc.c:286-289 at v26.05: spdk_jsonrpc_send_error_response(request, -ENODEV,
    // spdk_strerror(ENODEV)); glibc's strerror(ENODEV) is "No such device".
    let r = ask(&s, "nvmf_get_subsystems", json!({"nqn": NONE}));
    assert_eq!(err(&r), (-19, "No such device".into()));
    let ok = ask(&s, "nvmf_get_subsystems", json!({"nqn": CNODE1}));
    assert_eq!(ok["result"][0]["nqn"], json!(CNODE1));
}

#[test]
fn an_unknown_target_is_internal_error_with_v2605s_message() {
    let fake = fake_with_cnode1();
    let s = svc(&fake);
    let dot = "Unable to find a target.";
    let mut cases: Vec<(&str, Value, &str)> = vec![
        ("nvmf_get_subsystems", json!({}), dot), // :277-280
        ("nvmf_get_transports", json!({}), dot), // :2648-2651
        ("nvmf_create_transport", json!({"trtype": "TCP"}), dot), // :2528-2532
    ];
    for (m, p) in on_unknown_subsystem() {
        // The subsystem queries drop the period (:3069-3073); everything else has it.
        let msg = if m.starts_with("nvmf_subsystem_get_") {
            "Unable to find a target"
        } else {
            dot
        };
        cases.push((m, p, msg));
    }
    for (m, mut p, msg) in cases {
        p["tgt_name"] = json!("other");
        if m != "nvmf_get_subsystems" && m != "nvmf_get_transports" && p.get("trtype").is_none() {
            p["nqn"] = json!(CNODE1);
        }
        assert_eq!(err(&ask(&s, m, p.clone())), (-32603, msg.into()), "{m} {p}");
    }
    // nvmf_create_subsystem keeps its own message (:425-429).
    let c = json!({"nqn": "nqn.2016-06.io.spdk:c9", "tgt_name": "other"});
    assert_eq!(
        err(&ask(&s, "nvmf_create_subsystem", c)),
        (-32603, "Unable to find target other".into())
    );
}

#[test]
fn a_bad_namespace_identifier_fails_the_decode_before_any_lookup() {
    let fake = fake_with_cnode1();
    let s = svc(&fake);
    // decode_ns_nguid / decode_ns_eui64 (nvmf_rpc.c:117-145 at v26.05, exactly 32 / 16 hex
    // digits) and spdk_json_decode_uuid run inside the relaxed decode (:1470-1473): -32602
    // "Invalid parameters" even for an unknown target or subsystem.
    let bad = [
        json!({"nguid": "12"}),
        json!({"nguid": "zz0102030405060708090a0b0c0d0e0f"}),
        json!({"eui64": "01020304050607"}),
        json!({"eui64": "010203040506070809"}),
        json!({"uuid": "not-a-uuid"}),
    ];
    for ids in bad {
        let mut ns = ids.clone();
        ns["bdev_name"] = json!("Nope");
        for (nqn, tgt) in [(CNODE1, "nvmf_tgt"), (NONE, "nvmf_tgt"), (CNODE1, "other")] {
            let p = json!({"nqn": nqn, "tgt_name": tgt, "namespace": ns});
            let r = ask(&s, "nvmf_subsystem_add_ns", p.clone());
            assert_eq!(err(&r), invalid_params(), "{p}");
        }
    }
    assert!(fake.seen.lock().unwrap().is_empty(), "no lookup was made");
}

#[test]
fn create_subsystem_takes_v2605s_keys() {
    let fake = fake_with_cnode1();
    let s = svc(&fake);
    let create = |extra: Value| {
        let mut p = extra;
        p["nqn"] = json!("nqn.2016-06.io.spdk:k");
        ask(&s, "nvmf_create_subsystem", p)
    };
    // No `admin_label` decoder at v26.05 (nvmf_rpc.c:367-383): an unknown key, -32602 (:417-421).
    assert_eq!(err(&create(json!({"admin_label": "x"}))), invalid_params());
    // The KiB keys are uint64 (:377-378): a string or a negative number fails the decode.
    assert_eq!(
        err(&create(json!({"max_discard_size_kib": "1"}))),
        invalid_params()
    );
    assert_eq!(
        err(&create(json!({"max_write_zeroes_size_kib": -8}))),
        invalid_params()
    );
    // max_write_zeroes_size_kib must be 0 or a power of two >= 8 (:438-458).
    for kib in [3u64, 4, 12] {
        let r = create(json!({"max_write_zeroes_size_kib": kib}));
        let msg = format!("Invalid max_write_zeroes_size_kib {kib}");
        assert_eq!(err(&r), (-32602, msg));
    }
    // A limit that converts to a nonzero dmrsl / wzsl is one fabcheck-target does not serve.
    for p in [
        json!({"max_discard_size_kib": 4}),
        json!({"max_write_zeroes_size_kib": 8}),
    ] {
        let (code, msg) = err(&create(p));
        assert_eq!(code, -32602);
        assert!(msg.contains("does not serve dmrsl / wzsl"), "{msg}");
    }
    assert_eq!(fake.subs.lock().unwrap().len(), 1, "nothing created yet");
    // 0 converts to 0 (no limit), and overrides a dmrsl / wzsl given beside it (:433-450);
    // UINT64_MAX means "not given" (:413-414).
    let ok = json!({"max_discard_size_kib": 0, "max_write_zeroes_size_kib": 0, "dmrsl": 7,
        "wzsl": 2});
    assert_eq!(create(ok)["result"], json!(true));
    let got = ask(
        &s,
        "nvmf_get_subsystems",
        json!({"nqn": "nqn.2016-06.io.spdk:k"}),
    );
    assert_eq!(
        (
            got["result"][0]["dmrsl"].clone(),
            got["result"][0]["wzsl"].clone()
        ),
        (json!(0), json!(0))
    );
    let max = json!({"nqn": "nqn.2016-06.io.spdk:m", "max_discard_size_kib": u64::MAX,
        "max_write_zeroes_size_kib": u64::MAX});
    assert_eq!(ask(&s, "nvmf_create_subsystem", max)["result"], json!(true));
}

#[test]
fn create_transport_decodes_relaxed() {
    let fake = fake_with_cnode1();
    let s = svc(&fake);
    // spdk_json_decode_object_relaxed (nvmf_rpc.c:2519-2523, :2572-2576 at v26.05; `relaxed`
    // skips the "Decoder not found" failure, lib/json/json_util.c:360-363): unknown keys, and
    // RDMA's keys on a TCP transport, are ignored whatever their type.
    let p = json!({"trtype": "TCP", "x": 1, "num_cqe": "many", "no_srq": 3});
    assert_eq!(ask(&s, "nvmf_create_transport", p)["result"], json!(true));
    // Known keys are still type-checked: -32602 "Invalid parameters" (:2574-2576).
    for bad in [
        json!({"trtype": "TCP", "max_queue_depth": "128"}),
        json!({"trtype": "TCP", "kas": 70000}),
        json!({"trtype": "TCP", "zcopy": 1}),
        json!({"trtype": 5}),
        json!({"max_queue_depth": 128}),
    ] {
        let r = ask(&s, "nvmf_create_transport", bad.clone());
        assert_eq!(err(&r), invalid_params(), "{bad}");
    }
}

#[test]
fn add_host_decodes_relaxed() {
    let fake = fake_with_cnode1();
    let s = svc(&fake);
    // spdk_json_decode_object_relaxed (nvmf_rpc.c:1895-1900 at v26.05).
    let p = json!({"nqn": CNODE1, "host": "nqn.2016-06.io.spdk:h1", "x": [1]});
    assert_eq!(ask(&s, "nvmf_subsystem_add_host", p)["result"], json!(true));
    // Known keys are still type-checked (:1877-1881): -32602 "Invalid parameters".
    for bad in [
        json!({"nqn": CNODE1, "host": 7}),
        json!({"nqn": CNODE1, "host": "nqn.2016-06.io.spdk:h2", "dhchap_key": 1}),
        json!({"nqn": CNODE1}),
    ] {
        let r = ask(&s, "nvmf_subsystem_add_host", bad.clone());
        assert_eq!(err(&r), invalid_params(), "{bad}");
    }
    // remove_host stays strict (spdk_json_decode_object, :2001-2005).
    let strict = json!({"nqn": CNODE1, "host": "nqn.2016-06.io.spdk:h1", "x": 1});
    assert_eq!(
        err(&ask(&s, "nvmf_subsystem_remove_host", strict)),
        invalid_params()
    );
}

/// A listener the subsystem already has (add) or lacks (remove) is refused by the paused
/// callback with "Invalid parameters" (nvmf_rpc.c:747-751 and :766-771 at v26.05).
#[test]
fn listener_refusals_are_invalid_parameters() {
    let fake = fake_with_cnode1();
    let s = svc(&fake);
    let params = json!({"nqn": CNODE1, "listen_address": listen()});
    assert_eq!(
        ask(&s, "nvmf_subsystem_add_listener", params.clone())["result"],
        json!(true)
    );
    let again = ask(&s, "nvmf_subsystem_add_listener", params.clone());
    assert_eq!(err(&again), invalid_params());
    assert_eq!(
        ask(&s, "nvmf_subsystem_remove_listener", params.clone())["result"],
        json!(true)
    );
    let missing = ask(&s, "nvmf_subsystem_remove_listener", params);
    assert_eq!(err(&missing), invalid_params());
}
