//! SPDK v26.05 dialect checks against the fake core: batches, the methods `rpc.py` setup scripts
//! call first, NQN rules, `-m`, strict parameter decoding, SPDK's error codes and result fields.

use super::tests::{block_on, call, fake_with_cnode1, Fake, CNODE1};
use super::*;

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

#[test]
fn batches_answer_one_array_and_skip_notifications() {
    let fake = fake_with_cnode1();
    let s = svc(&fake);
    let batch = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "framework_wait_init"},
        {"jsonrpc": "2.0", "method": "framework_wait_init"},
        {"jsonrpc": "2.0", "id": 2, "method": "nope"},
        5,
        {"jsonrpc": "2.0", "id": 3, "method": "bdev_malloc_create",
            "params": {"num_blocks": 8, "block_size": 512, "name": "B"}},
    ]);
    let out = block_on(s.answer(batch)).unwrap();
    let ids: Vec<Value> = out
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!(1), json!(2), Value::Null, json!(3)]);
    assert_eq!(out[0]["result"], json!(true));
    assert_eq!(out[1]["error"]["code"], json!(METHOD_NOT_FOUND));
    assert_eq!(out[2]["error"]["code"], json!(INVALID_REQUEST));
    assert_eq!(out[3]["result"], json!("B"));
    let empty = block_on(s.answer(json!([]))).unwrap();
    assert_eq!(empty["error"]["code"], json!(INVALID_REQUEST));
    let quiet = json!([{"jsonrpc": "2.0", "method": "framework_wait_init"}]);
    assert_eq!(
        block_on(s.answer(quiet)),
        None,
        "only notifications: no answer"
    );
}

#[test]
fn nqns_are_validated_as_spdk_does() {
    let fake = fake_with_cnode1();
    let s = svc(&fake);
    let long = format!("nqn.2016-06.io.spdk:{}", "x".repeat(280));
    for bad in ["bad nqn", "iqn.2016-06.io.spdk:cnode9", long.as_str()] {
        let r = ask(&s, "nvmf_create_subsystem", json!({"nqn": bad}));
        assert_eq!(
            err(&r),
            (-32603, format!("Unable to create subsystem {bad}"))
        );
    }
    assert_eq!(fake.subs.lock().unwrap().len(), 1, "nothing created");
    let host = json!({"nqn": CNODE1, "host": "not a host nqn"});
    assert_eq!(err(&ask(&s, "nvmf_subsystem_add_host", host)).0, -32603);
    let dup = ask(&s, "nvmf_create_subsystem", json!({"nqn": CNODE1}));
    assert_eq!(err(&dup).0, -32603, "an existing NQN");
}

#[test]
fn create_subsystem_checks_serial_model_and_cntlid_range() {
    let fake = fake_with_cnode1();
    let s = svc(&fake);
    let n = "nqn.2016-06.io.spdk:cnode2";
    let long_sn = json!({"nqn": n, "serial_number": "x".repeat(21)});
    assert_eq!(
        err(&ask(&s, "nvmf_create_subsystem", long_sn)),
        (-32602, "Invalid parameters".into())
    );
    let range = json!({"nqn": n, "min_cntlid": 10, "max_cntlid": 5});
    assert_eq!(
        err(&ask(&s, "nvmf_create_subsystem", range)),
        (-32602, "Invalid cntlid range [10-5]".into())
    );
    let ok = json!({"nqn": n, "serial_number": "SN2", "model_number": "M2", "max_namespaces": 2,
        "min_cntlid": 3, "max_cntlid": 9, "allow_any_host": false, "ana_reporting": false});
    assert_eq!(ask(&s, "nvmf_create_subsystem", ok)["result"], json!(true));
    let got = ask(&s, "nvmf_get_subsystems", json!({"nqn": n}));
    let sub = &got["result"][0];
    let fields = [
        "serial_number",
        "model_number",
        "max_namespaces",
        "min_cntlid",
        "max_cntlid",
    ];
    let vals: Vec<Value> = fields.iter().map(|f| sub[*f].clone()).collect();
    assert_eq!(
        vals,
        vec![json!("SN2"), json!("M2"), json!(2), json!(3), json!(9)]
    );
    assert_eq!(sub["subtype"], json!("NVMe"));
}

#[test]
fn max_namespaces_bounds_nsids() {
    let fake = fake_with_cnode1();
    let s = svc(&fake);
    let n = "nqn.2016-06.io.spdk:small";
    ask(
        &s,
        "nvmf_create_subsystem",
        json!({"nqn": n, "max_namespaces": 1}),
    );
    for b in ["A", "B", "C"] {
        ask(
            &s,
            "bdev_malloc_create",
            json!({"num_blocks": 8, "block_size": 512, "name": b}),
        );
    }
    let add = |b: &str, nsid: Option<u32>| {
        let mut ns = json!({"bdev_name": b});
        if let Some(id) = nsid {
            ns["nsid"] = json!(id);
        }
        ask(
            &s,
            "nvmf_subsystem_add_ns",
            json!({"nqn": n, "namespace": ns}),
        )
    };
    assert_eq!(
        err(&add("A", Some(2))),
        (-32602, "Invalid parameters".into()),
        "nsid > max"
    );
    assert_eq!(add("A", None)["result"], json!(1));
    assert_eq!(err(&add("B", None)).0, -32602, "no free nsid under max 1");
    // Default (32) on cnode1: nsid 32 fits, 33 does not.
    let big = |b: &str, id: u32| {
        let p = json!({"nqn": CNODE1, "namespace": {"bdev_name": b, "nsid": id}});
        ask(&s, "nvmf_subsystem_add_ns", p)
    };
    assert_eq!(err(&big("B", 33)).0, -32602);
    assert_eq!(big("B", 32)["result"], json!(32));
}

#[test]
fn add_ns_names_the_missing_subsystem_before_the_missing_bdev() {
    let fake = fake_with_cnode1();
    let s = svc(&fake);
    let p = json!({"nqn": "nqn.2016-06.io.spdk:none", "namespace": {"bdev_name": "Nope"}});
    let r = ask(&s, "nvmf_subsystem_add_ns", p);
    // v26.05 names nothing: lib/nvmf/nvmf_rpc.c:1491-1494 at v26.05.
    assert_eq!(err(&r), (-32602, "Invalid parameters".into()));
    let p = json!({"nqn": CNODE1, "namespace": {"bdev_name": "Nope"}});
    assert_eq!(
        err(&ask(&s, "nvmf_subsystem_add_ns", p)),
        (-32602, "Invalid parameters".into())
    );
    // A bad nguid fails v26.05's decode (nvmf_rpc.c:1316, :1470-1473 at v26.05).
    let bad_nguid = json!({"nqn": CNODE1, "namespace": {"bdev_name": "X", "nguid": "12"}});
    assert_eq!(
        err(&ask(&s, "nvmf_subsystem_add_ns", bad_nguid)),
        (-32602, "Invalid parameters".into())
    );
}

#[test]
fn unknown_parameters_are_rejected_as_spdks_decoder_does() {
    let fake = fake_with_cnode1();
    let s = svc(&fake);
    let cases = [
        (
            "nvmf_create_subsystem",
            json!({"nqn": "nqn.2016-06.io.spdk:z", "colour": 1}),
        ),
        ("nvmf_get_subsystems", json!({"bogus": true})),
        (
            "nvmf_subsystem_get_controllers",
            json!({"nqn": CNODE1, "x": 1}),
        ),
        (
            "nvmf_subsystem_add_ns",
            json!({"nqn": CNODE1, "namespace": {"bdev_name": "M", "x": 1}}),
        ),
        (
            "nvmf_subsystem_remove_ns",
            json!({"nqn": CNODE1, "nsid": 1, "x": 1}),
        ),
        (
            "bdev_malloc_create",
            json!({"num_blocks": 8, "block_size": 512, "x": 1}),
        ),
        ("nvmf_get_subsystems", json!(["array", "params"])),
        ("spdk_kill_instance", json!({})),
        ("spdk_get_version", json!({})),
    ];
    for (m, p) in cases {
        assert_eq!(err(&ask(&s, m, p.clone())).0, -32602, "{m} {p}");
    }
    // SPDK decodes add_listener/add_ns relaxed at the top level (transport-specific keys);
    // nvmf_create_transport and nvmf_subsystem_add_host too (tests_v2605).
    let l = json!({"nqn": CNODE1, "extra": 1, "listen_address":
        {"trtype": "TCP", "adrfam": "IPv4", "traddr": "127.0.0.1", "trsvcid": "4425"}});
    assert_eq!(
        ask(&s, "nvmf_subsystem_add_listener", l)["result"],
        json!(true)
    );
    assert_eq!(*fake.shutdowns.lock().unwrap(), 0);
}

#[test]
fn transports_bdevs_and_controllers_show_what_is_served() {
    let fake = fake_with_cnode1();
    let s = svc(&fake);
    let t = &ask(&s, "nvmf_get_transports", Value::Null)["result"][0];
    assert_eq!(
        (t["trtype"].clone(), t["c2h_success"].clone()),
        (json!("TCP"), json!(true))
    );
    let off = json!({"trtype": "TCP", "c2h_success": false});
    let (code, msg) = err(&ask(&s, "nvmf_create_transport", off));
    assert_eq!(code, -32602);
    assert!(msg.contains("serves c2h_success = true"), "{msg}");
    assert_eq!(
        err(&ask(&s, "nvmf_get_transports", json!({"trtype": "RDMA"}))).0,
        -19
    );
    let wrong = json!({"trtype": "TCP", "max_queue_depth": 7});
    assert_eq!(err(&ask(&s, "nvmf_create_transport", wrong)).0, -32602);
    let u = "0b7a3d5e-1c2f-4a6b-8d9e-0f1a2b3c4d5e";
    ask(
        &s,
        "bdev_malloc_create",
        json!({"num_blocks": 8, "block_size": 512, "name": "U", "uuid": u}),
    );
    ask(
        &s,
        "bdev_malloc_create",
        json!({"num_blocks": 8, "block_size": 512, "name": "R"}),
    );
    let all = ask(&s, "bdev_get_bdevs", Value::Null)["result"].clone();
    let uuids: Vec<Value> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["uuid"].clone())
        .collect();
    assert_eq!(uuids.len(), 2);
    assert_ne!(uuids[0], uuids[1], "random UUIDs are unique");
    assert!(uuids.contains(&json!(u)));
    let one = ask(&s, "bdev_get_bdevs", json!({"name": "U"}));
    assert_eq!(one["result"][0]["product_name"], json!("Malloc disk"));
    assert_eq!(
        err(&ask(&s, "bdev_get_bdevs", json!({"name": "gone"}))),
        (-19, "No such device".into())
    );
    let c = &ask(&s, "nvmf_subsystem_get_controllers", json!({"nqn": CNODE1}))["result"][0];
    assert_eq!(c["cntrltype"], json!("io"));
    assert_eq!(c["hostid"], json!("11111111-1111-1111-1111-111111111111"));
    let q = &ask(&s, "nvmf_subsystem_get_qpairs", json!({"nqn": CNODE1}))["result"][0];
    assert_eq!(
        q["hostnqn"],
        json!("nqn.2014-08.org.nvmexpress:uuid:00000000-0000-4000-8000-0000000000ff")
    );
    let gone = ask(
        &s,
        "nvmf_subsystem_get_qpairs",
        json!({"nqn": "nqn.2016-06.io.spdk:x"}),
    );
    assert_eq!(err(&gone).0, -32602);
    assert_eq!(
        ask(&s, "framework_wait_init", Value::Null)["result"],
        json!(true)
    );
    // lib/nvmf/nvmf_rpc.c:277-280 at v26.05.
    let tgt = json!({"tgt_name": "other"});
    assert_eq!(
        err(&ask(&s, "nvmf_get_subsystems", tgt)),
        (-32603, "Unable to find a target.".into())
    );
}

#[test]
fn add_ns_takes_nguid_eui64_and_uuid_as_spdk_names_them() {
    let fake = fake_with_cnode1();
    let s = svc(&fake);
    let bdev = json!({"num_blocks": 8, "block_size": 512, "name": "M"});
    ask(&s, "bdev_malloc_create", bdev);
    let ns = json!({"bdev_name": "M", "nguid": "000102030405060708090a0b0c0d0e0f",
        "eui64": "0102030405060708", "uuid": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"});
    let r = ask(
        &s,
        "nvmf_subsystem_add_ns",
        json!({"nqn": CNODE1, "namespace": ns}),
    );
    assert_eq!(r["result"], json!(1), "{r}");
    let subs = ask(&s, "nvmf_get_subsystems", Value::Null);
    let shown = &subs["result"][0]["namespaces"][0];
    assert_eq!(shown["nguid"], json!("000102030405060708090A0B0C0D0E0F"));
    assert_eq!(shown["eui64"], json!("0102030405060708"));
    assert_eq!(shown["uuid"], json!("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"));
}
