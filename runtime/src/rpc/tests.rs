use super::*;
use crate::config::Bdev;
use fabcheck_core::nvmf::ThreadId;
use fabcheck_core::nvmf::{
    ConnId, NamespaceConfig, NamespaceIds, QpairInfo, RpcRequest, RpcResponse, SubsystemInfo, Trid,
};
use std::sync::Mutex as StdMutex;

/// A fake core: records requests, answers from a small model of subsystems.
#[derive(Default)]
pub(super) struct Fake {
    pub(super) seen: StdMutex<Vec<RpcRequest>>,
    pub(super) subs: StdMutex<Vec<SubsystemInfo>>,
    pub(super) shutdowns: StdMutex<u32>,
}

/// A new subsystem as the core lists it.
fn info_of(cfg: &fabcheck_core::nvmf::SubsystemConfig) -> SubsystemInfo {
    SubsystemInfo {
        nqn: cfg.nqn.clone(),
        state: "active".into(),
        allow_any_host: cfg.allow_any_host,
        hosts: vec![],
        listeners: vec![],
        namespaces: vec![],
        serial: cfg.serial.clone(),
        model: cfg.model.clone(),
        min_cntlid: cfg.min_cntlid,
        max_cntlid: cfg.max_cntlid,
        namespace_ids: vec![],
        max_namespaces: cfg.max_namespaces,
    }
}

impl Backend for &Fake {
    async fn core(&self, request: RpcRequest) -> Result<RpcResponse, RpcError> {
        self.seen.lock().unwrap().push(request.clone());
        let mut subs = self.subs.lock().unwrap();
        let find =
            |subs: &mut Vec<SubsystemInfo>, nqn: &str| subs.iter().position(|s| s.nqn == nqn);
        let request = match request {
            RpcRequest::AddNamespace { nqn, ns } => RpcRequest::AddNamespaceWithIds {
                nqn,
                ns,
                ids: NamespaceIds::default(),
            },
            other => other,
        };
        match request {
            RpcRequest::GetSubsystems => Ok(RpcResponse::Subsystems(subs.clone())),
            RpcRequest::AddNamespaceWithIds { nqn, ns, ids } => {
                let i = find(&mut subs, &nqn).ok_or(rpc_error(-19, "no"))?;
                subs[i].namespaces.push(ns);
                subs[i].namespace_ids.push(ids);
                Ok(RpcResponse::Done)
            }
            RpcRequest::RemoveNamespace { nqn, nsid } => {
                let i = find(&mut subs, &nqn).ok_or(rpc_error(-19, "no"))?;
                subs[i].namespaces.retain(|n| n.nsid != nsid);
                Ok(RpcResponse::Done)
            }
            RpcRequest::DeleteSubsystem { nqn } if find(&mut subs, &nqn).is_none() => {
                Err(rpc_error(-2, "Unable to find subsystem"))
            }
            RpcRequest::CreateSubsystem(cfg) if find(&mut subs, &cfg.nqn).is_none() => {
                subs.push(info_of(&cfg));
                Ok(RpcResponse::Done)
            }
            RpcRequest::CreateSubsystem(_) => Err(rpc_error(-17, "exists")),
            RpcRequest::SubsystemAddListener { nqn, trid } => {
                listener_change(&mut subs, &nqn, trid, true)
            }
            RpcRequest::SubsystemRemoveListener { nqn, trid } => {
                listener_change(&mut subs, &nqn, trid, false)
            }
            RpcRequest::GetControllers { .. } => Ok(RpcResponse::Controllers(vec![
                fabcheck_core::nvmf::ControllerInfo {
                    cntlid: 1,
                    hostnqn: "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-4000-8000-0000000000ff"
                        .into(),
                    hostid: [0x11; 16],
                    num_io_qpairs: 2,
                },
            ])),
            RpcRequest::GetQpairs { .. } => Ok(RpcResponse::Qpairs(vec![QpairInfo {
                conn: ConnId(7),
                cntlid: Some(1),
                qid: 0,
                state: "enabled".into(),
                listen: Trid::tcp("127.0.0.1", 4420),
                thread: ThreadId::PollGroup(1),
            }])),
            _ => Ok(RpcResponse::Done),
        }
    }
    async fn peers(&self) -> std::collections::BTreeMap<u64, std::net::SocketAddr> {
        std::collections::BTreeMap::from([(7, "127.0.0.1:50000".parse().unwrap())])
    }
    fn shutdown(&self) {
        *self.shutdowns.lock().unwrap() += 1;
    }
}

/// A listener added to or removed from a subsystem of the fake, refused as the core's paused
/// callback refuses it (core/src/nvmf/rpc.rs): -17 for one it has, -2 for one it lacks.
fn listener_change(
    subs: &mut [SubsystemInfo],
    nqn: &str,
    trid: Trid,
    add: bool,
) -> Result<RpcResponse, RpcError> {
    let sub = subs
        .iter_mut()
        .find(|s| s.nqn == nqn)
        .expect("checked by the service");
    let at = sub.listeners.iter().position(|t| *t == trid);
    match (add, at) {
        (true, None) => sub.listeners.push(trid),
        (false, Some(i)) => {
            sub.listeners.remove(i);
        }
        (true, Some(_)) => return Err(rpc_error(-17, "listener already exists")),
        (false, None) => return Err(rpc_error(-2, "listener not found")),
    }
    Ok(RpcResponse::Done)
}

pub(super) fn fake_with_cnode1() -> Fake {
    let f = Fake::default();
    f.subs.lock().unwrap().push(SubsystemInfo {
        nqn: "nqn.2016-06.io.spdk:cnode1".into(),
        state: "active".into(),
        allow_any_host: true,
        hosts: vec![],
        listeners: vec![Trid::tcp("127.0.0.1", 4420)],
        namespaces: vec![],
        serial: "SPDK00000000000001".into(),
        model: "SPDK bdev Controller".into(),
        min_cntlid: 1,
        max_cntlid: 0xFFEF,
        namespace_ids: vec![],
        max_namespaces: fabcheck_core::nvmf::DEFAULT_MAX_NAMESPACES,
    });
    f
}

pub(super) const CNODE1: &str = "nqn.2016-06.io.spdk:cnode1";

pub(super) fn call(method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
}

pub(super) fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn framer_handles_split_concatenated_and_garbage_input() {
    let mut f = Framer::default();
    assert!(f.push(b"{\"a\":").is_empty(), "incomplete value waits");
    let got = f.push(b"1}{\"b\":2} {\"c\"");
    assert_eq!(got, vec![Ok(json!({"a":1})), Ok(json!({"b":2}))]);
    assert_eq!(f.push(b":3}"), vec![Ok(json!({"c":3}))]);
    let bad = f.push(b"}}not json");
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].as_ref().unwrap_err().code, PARSE_ERROR);
    // The framer recovers after a parse error.
    assert_eq!(f.push(b"[1]"), vec![Ok(json!([1]))]);
}

#[test]
fn envelope_validation_follows_json_rpc_2() {
    assert_eq!(envelope(json!([1])).unwrap_err().1.code, INVALID_REQUEST);
    // SPDK's decoder: "jsonrpc" may be absent, but must be "2.0" when present.
    assert!(envelope(json!({"id": 3, "method": "x"})).is_ok());
    assert_eq!(
        envelope(json!({"jsonrpc": "1.0", "id": 3, "method": "x"})).unwrap_err(),
        (
            json!(3),
            JsonRpcError::new(INVALID_REQUEST, "Invalid request")
        )
    );
    let extra = json!({"jsonrpc": "2.0", "id": 5, "method": "x", "extra": 1});
    assert_eq!(envelope(extra).unwrap_err().1.code, INVALID_REQUEST);
    let arr = json!({"jsonrpc": "2.0", "id": 6, "method": "x", "params": [1]});
    assert!(envelope(arr).is_ok(), "array params reach the method");
    let bad_params = json!({"jsonrpc": "2.0", "id": 4, "method": "x", "params": 5});
    assert_eq!(envelope(bad_params).unwrap_err().0, json!(4));
    let note = envelope(json!({"jsonrpc": "2.0", "method": "m"})).unwrap();
    assert_eq!(note.id, None);
}

#[test]
fn spdk_param_names_map_to_core_requests() {
    let l = Call::parse(
        "nvmf_subsystem_add_listener",
        &json!({"nqn": "n1", "listen_address": {"trtype": "tcp", "adrfam": "ipv4", "traddr": "127.0.0.1", "trsvcid": "4421"}}),
    )
    .unwrap();
    assert_eq!(
        l,
        Call::OnSubsystem {
            nqn: "n1".into(),
            req: RpcRequest::SubsystemAddListener {
                nqn: "n1".into(),
                trid: Trid::tcp("127.0.0.1", 4421)
            }
        }
    );
    let r = Call::parse(
        "nvmf_subsystem_remove_listener",
        &json!({"nqn": "n1", "listen_address": {"trtype": "TCP", "traddr": "127.0.0.1", "trsvcid": "4421"}}),
    )
    .unwrap();
    assert_eq!(
        r,
        Call::OnSubsystem {
            nqn: "n1".into(),
            req: RpcRequest::SubsystemRemoveListener {
                nqn: "n1".into(),
                trid: Trid::tcp("127.0.0.1", 4421)
            }
        }
    );
}

#[test]
fn spdk_namespace_bdev_and_host_params_map_to_calls() {
    let ns = Call::parse(
        "nvmf_subsystem_add_ns",
        &json!({"nqn": "n1", "namespace": {"bdev_name": "Malloc0", "nsid": 3}}),
    )
    .unwrap();
    assert_eq!(
        ns,
        Call::AddNs {
            nqn: "n1".into(),
            bdev: "Malloc0".into(),
            nsid: Some(3),
            ids: NsIds::default()
        }
    );
    let m = Call::parse(
        "bdev_malloc_create",
        &json!({"num_blocks": 2048, "block_size": 512, "name": "M"}),
    )
    .unwrap();
    assert_eq!(
        m,
        Call::MallocCreate {
            name: Some("M".into()),
            bdev: Bdev {
                block_size: 512,
                num_blocks: 2048,
                uuid: [0; 16]
            },
            uuid: None
        }
    );
    let h = Call::parse(
        "nvmf_subsystem_allow_any_host",
        &json!({"nqn": "n1", "allow_any_host": false}),
    )
    .unwrap();
    assert_eq!(
        h,
        Call::OnSubsystem {
            nqn: "n1".into(),
            req: RpcRequest::AllowAnyHost {
                nqn: "n1".into(),
                allow: false
            }
        }
    );
    let s = Call::parse(
        "fabcheck_stop_listen",
        &json!({"listen_address": {"trtype": "TCP", "traddr": "127.0.0.1", "trsvcid": "4420"}}),
    )
    .unwrap();
    assert_eq!(
        s,
        Call::Core(RpcRequest::StopListenAsync {
            trid: Trid::tcp("127.0.0.1", 4420),
            nqn: None
        })
    );
}

/// `nvmf_subsystem_remove_host`'s optional `timeout_ms` reaches the core (0 without it: SPDK's
/// default, lib/nvmf/nvmf_rpc.c:1980 and :2040 at v26.05).
#[test]
fn remove_host_passes_its_timeout_to_the_core() {
    let host = "nqn.2014-08.org.nvmexpress:uuid:5b4a7a4e-6d1c-4b5e-9f0e-2a7c3d8e9f10";
    for (params, timeout_ms) in [
        (json!({"nqn": "n1", "host": host}), 0),
        (json!({"nqn": "n1", "host": host, "timeout_ms": 250}), 250),
    ] {
        let call = Call::parse("nvmf_subsystem_remove_host", &params).unwrap();
        let req = RpcRequest::RemoveHost {
            nqn: "n1".into(),
            hostnqn: host.into(),
            timeout_ms,
        };
        assert_eq!(
            call,
            Call::OnSubsystem {
                nqn: "n1".into(),
                req
            }
        );
    }
}

#[test]
fn spdk_create_subsystem_params_map_to_a_config() {
    let c = Call::parse(
        "nvmf_create_subsystem",
        &json!({"nqn": "nqn.2016-06.io.spdk:n2", "serial_number": "SPDK01",
            "allow_any_host": true, "max_namespaces": 4}),
    )
    .unwrap();
    let Call::CreateSubsystem { cfg } = c else {
        panic!("{c:?}")
    };
    assert_eq!(
        (
            cfg.nqn.as_str(),
            cfg.serial.as_str(),
            cfg.allow_any_host,
            cfg.start,
            cfg.max_namespaces
        ),
        ("nqn.2016-06.io.spdk:n2", "SPDK01", true, true, 4)
    );
}

#[test]
fn bad_params_and_unknown_methods_are_json_rpc_errors() {
    assert_eq!(
        Call::parse("nope", &Value::Null).unwrap_err().code,
        METHOD_NOT_FOUND
    );
    assert_eq!(
        Call::parse("nvmf_subsystem_add_ns", &json!({"nqn": "n"}))
            .unwrap_err()
            .code,
        INVALID_PARAMS
    );
    let rdma = json!({"nqn": "n", "listen_address": {"trtype": "RDMA", "traddr": "1.2.3.4", "trsvcid": "1"}});
    assert_eq!(
        Call::parse("nvmf_subsystem_add_listener", &rdma)
            .unwrap_err()
            .code,
        INVALID_PARAMS
    );
    let bad_bs = json!({"num_blocks": 8, "block_size": 100});
    assert_eq!(
        Call::parse("bdev_malloc_create", &bad_bs).unwrap_err().code,
        INVALID_PARAMS
    );
}

#[test]
fn service_adds_namespace_from_a_malloc_bdev_and_shows_it() {
    let fake = fake_with_cnode1();
    let svc = Service::new(&fake, RpcState::default());
    block_on(async {
        let name = svc
            .answer(call(
                "bdev_malloc_create",
                json!({"num_blocks": 4096, "block_size": 4096, "uuid": "11111111-2222-3333-4444-555555555555"}),
            ))
            .await
            .unwrap();
        assert_eq!(name["result"], json!("Malloc0"));
        let add = call(
            "nvmf_subsystem_add_ns",
            json!({"nqn": CNODE1, "namespace": {"bdev_name": "Malloc0"}}),
        );
        assert_eq!(
            svc.answer(add).await.unwrap()["result"],
            json!(1),
            "lowest free nsid"
        );
        let again = call(
            "nvmf_subsystem_add_ns",
            json!({"nqn": CNODE1, "namespace": {"bdev_name": "Malloc0"}}),
        );
        assert_eq!(
            svc.answer(again).await.unwrap()["error"],
            json!({"code": INVALID_PARAMS, "message": "Invalid parameters"}),
            "bdev already claimed"
        );
        let subs = svc
            .answer(call("nvmf_get_subsystems", Value::Null))
            .await
            .unwrap();
        let ns = &subs["result"][0]["namespaces"][0];
        assert_eq!(
            (ns["nsid"].clone(), ns["bdev_name"].clone()),
            (json!(1), json!("Malloc0"))
        );
        assert_eq!(
            subs["result"][0]["listen_addresses"][0]["trsvcid"],
            json!("4420")
        );
        // Deleting the bdev hot-removes the namespace first.
        let del = svc
            .answer(call("bdev_malloc_delete", json!({"name": "Malloc0"})))
            .await
            .unwrap();
        assert_eq!(del["result"], json!(true));
        assert!(fake.subs.lock().unwrap()[0].namespaces.is_empty());
    });
    let seen = fake.seen.lock().unwrap();
    let bdev_uuid = crate::bdev::parse_uuid("11111111-2222-3333-4444-555555555555").unwrap();
    assert!(seen.contains(&RpcRequest::AddNamespaceWithIds {
        nqn: "nqn.2016-06.io.spdk:cnode1".into(),
        ns: NamespaceConfig {
            nsid: 1,
            block_size: 4096,
            blocks: 4096
        },
        ids: NamespaceIds {
            nguid: bdev_uuid,
            eui64: [0; 8],
            uuid: bdev_uuid,
        },
    }));
    assert!(seen.contains(&RpcRequest::RemoveNamespace {
        nqn: "nqn.2016-06.io.spdk:cnode1".into(),
        nsid: 1
    }));
}

#[test]
fn service_answers_spdk_codes_and_handles_notifications() {
    let fake = fake_with_cnode1();
    let svc = Service::new(&fake, RpcState::default());
    block_on(async {
        let r = svc
            .answer(call("nvmf_delete_subsystem", json!({"nqn": "missing"})))
            .await
            .unwrap();
        assert_eq!(
            r["error"],
            // v26.05: `goto invalid` (lib/nvmf/nvmf_rpc.c:569-571 -> :596 at v26.05).
            json!({"code": INVALID_PARAMS, "message": "Invalid parameters"})
        );
        assert_eq!(r["id"], json!(1));
        let note = json!({"jsonrpc": "2.0", "method": "spdk_kill_instance", "params": {"sig_name": "SIGTERM"}});
        assert_eq!(svc.answer(note).await, None, "notifications get no answer");
        let q = svc
            .answer(call("nvmf_subsystem_get_qpairs", json!({"nqn": CNODE1})))
            .await
            .unwrap();
        assert_eq!(
            q["result"][0]["peer_address"],
            json!({"trtype": "TCP", "adrfam": "IPv4", "traddr": "127.0.0.1", "trsvcid": "50000"})
        );
        assert_eq!(
            q["result"][0]["listen_address"]["traddr"],
            json!("127.0.0.1")
        );
        assert_eq!(q["result"][0]["thread"], json!("pg1"));
        let t = svc
            .answer(call("nvmf_create_transport", json!({"trtype": "TCP"})))
            .await
            .unwrap();
        assert_eq!(t["result"], json!(true));
        let t2 = svc
            .answer(call("nvmf_create_transport", json!({"trtype": "TCP"})))
            .await
            .unwrap();
        assert_eq!(t2["error"]["code"], json!(INVALID_PARAMS));
        let v = svc
            .answer(call("spdk_get_version", Value::Null))
            .await
            .unwrap();
        assert!(v["result"]["version"].as_str().unwrap().starts_with("SPDK"));
    });
    assert_eq!(*fake.shutdowns.lock().unwrap(), 1);
}

fn rpc_error(code: i32, message: &str) -> RpcError {
    RpcError {
        code,
        message: message.into(),
    }
}
