//! Namespace identity (NGUID, EUI64, UUID in Identify Namespace and the CNS 03h descriptor
//! list; unique per subsystem by default, as given when given) and the 128-bit host
//! identifier (CTRATT.HIDS, Get Features 0x81).

use crate::nvmf::{NamespaceConfig, NamespaceIds, NamespaceIdsConfig, RpcRequest, TargetConfig};
use crate::testkit::{config, pdu, subsystem, World, HOSTNQN, NQN};
use crate::wire::{status, IdentifyController, Pdu};

/// The (NIDT, value) pairs of a descriptor list.
fn descriptors(d: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 4 <= d.len() && d[at] != 0 {
        let len = usize::from(d[at + 1]);
        out.push((d[at], d[at + 4..at + 4 + len].to_vec()));
        at += 4 + len;
    }
    out
}

fn ns_ids_of(w: &mut World, c: crate::nvmf::ConnId, nsid: u32) -> (Vec<u8>, Vec<(u8, Vec<u8>)>) {
    let (ns, cqe) = w.exec(c, &pdu::identify(10, 0, nsid));
    assert!(cqe.status.is_success());
    let (list, cqe) = w.exec(c, &pdu::identify(11, 3, nsid));
    assert!(cqe.status.is_success(), "{cqe:?}");
    (ns[104..128].to_vec(), descriptors(&list))
}

#[test]
fn namespaces_of_two_subsystems_have_different_ids() {
    let mut cfg = config();
    let mut second = subsystem();
    second.nqn = "nqn.2016-06.io.spdk:cnode2".into();
    cfg.subsystems.push(second);
    let mut w = World::new(cfg);
    let (a, _) = w.connect_enabled(1, HOSTNQN);
    let (ids_a, list_a) = ns_ids_of(&mut w, a, 1);
    assert_eq!(list_a.len(), 2, "NGUID and UUID, no EUI64: {list_a:?}");
    assert_eq!((list_a[0].0, list_a[1].0), (2, 3));
    assert_eq!(
        &ids_a[..16],
        &list_a[0].1[..],
        "Identify NGUID = descriptor"
    );
    assert_eq!(&ids_a[16..], &[0; 8], "no EUI64");
    let want = NamespaceIds::derived(NQN, 1);
    assert_eq!(list_a[1].1, want.uuid.to_vec());
    let other = NamespaceIds::derived("nqn.2016-06.io.spdk:cnode2", 1);
    assert_ne!(want.uuid, other.uuid);
    let (_, cqe) = w.exec(a, &pdu::identify(12, 3, 5));
    assert_eq!(cqe.status, status::INVALID_FIELD, "inactive nsid");
    let (_, cqe) = w.exec(a, &pdu::identify(13, 3, 0));
    assert_eq!(cqe.status, status::INVALID_NAMESPACE);
    w.shutdown_and_check();
}

#[test]
fn given_ids_are_served_as_given() {
    let given = NamespaceIds {
        nguid: [0x11; 16],
        eui64: [0x22; 8],
        uuid: [0x33; 16],
    };
    let cfg = TargetConfig {
        namespace_ids: vec![NamespaceIdsConfig {
            nqn: NQN.into(),
            nsid: 1,
            ids: given,
        }],
        ..config()
    };
    let mut w = World::new(cfg);
    let (a, _) = w.connect_enabled(1, HOSTNQN);
    let (ids, list) = ns_ids_of(&mut w, a, 1);
    assert_eq!(ids, [[0x11; 16].as_slice(), &[0x22; 8]].concat());
    let types: Vec<u8> = list.iter().map(|d| d.0).collect();
    assert_eq!(types, vec![1, 2, 3], "EUI64, NGUID, UUID");
    assert_eq!(list[2].1, vec![0x33; 16]);
    let added = NamespaceIds {
        nguid: [0x44; 16],
        eui64: [0; 8],
        uuid: [0x55; 16],
    };
    let id = w.rpc(RpcRequest::AddNamespaceWithIds {
        nqn: NQN.into(),
        ns: NamespaceConfig {
            nsid: 2,
            block_size: 512,
            blocks: 8,
        },
        ids: added,
    });
    w.run_all();
    assert!(w.rpc_ok(id));
    let (ids, list) = ns_ids_of(&mut w, a, 2);
    assert_eq!(&ids[..16], &[0x44; 16]);
    assert_eq!(list, vec![(2, vec![0x44; 16]), (3, vec![0x55; 16])]);
    w.shutdown_and_check();
}

#[test]
fn the_host_identifier_is_the_connects_128_bit_host_id() {
    let mut w = World::new(config());
    let (a, _) = w.connect_enabled(1, HOSTNQN);
    let (data, cqe) = w.exec(a, &pdu::identify(3, 1, 0));
    assert!(cqe.status.is_success());
    assert_eq!(data[96] & 1, 1, "CTRATT.HIDS");
    assert!(IdentifyController::parse(&data).is_some());
    let mut get = pdu::get_features(4, 0x81);
    if let Pdu::CapsuleCmd(c) = &mut get {
        c.sqe.cdw11 = 1; // EXHID
        c.sqe.sgl1.len = 16;
    }
    let (hostid, cqe) = w.exec(a, &get);
    assert!(cqe.status.is_success(), "{cqe:?}");
    assert_eq!(hostid, vec![7; 16], "pdu::connect's host ID");
    let (_, cqe) = w.exec(a, &pdu::get_features(5, 0x81));
    assert_eq!(cqe.status, status::INVALID_FIELD, "EXHID 0");
    let (_, cqe) = w.exec(a, &pdu::set_features(6, 0x81, 1));
    assert_eq!(cqe.status, status::COMMAND_SEQUENCE_ERROR);
    w.shutdown_and_check();
}

/// Identify Controller's NN is `subsystem->max_nsid`, set at creation (`nvmf_create_subsystem
/// -m`, default 32), not the highest NSID present; an add above it fails, an add at it works.
#[test]
fn nn_is_the_subsystems_max_namespaces_and_bounds_the_nsids() {
    let nn_of = |w: &mut World, a| {
        let (data, cqe) = w.exec(a, &pdu::identify(40, 1, 0));
        assert!(cqe.status.is_success(), "{cqe:?}");
        IdentifyController::parse(&data).expect("identify data").nn
    };
    let mut w = World::new(config());
    let (a, _) = w.connect_enabled(1, HOSTNQN);
    assert_eq!(nn_of(&mut w, a), 32, "SPDK's default with one namespace");
    let mut sub = subsystem();
    sub.max_namespaces = 4;
    let mut w = World::new(TargetConfig {
        subsystems: vec![sub],
        ..config()
    });
    let (a, _) = w.connect_enabled(1, HOSTNQN);
    assert_eq!(nn_of(&mut w, a), 4);
    let add = |w: &mut World, nsid| {
        let id = w.rpc(RpcRequest::AddNamespace {
            nqn: NQN.into(),
            ns: NamespaceConfig {
                nsid,
                block_size: 512,
                blocks: 8,
            },
        });
        w.run_all();
        w.rpc_ok(id)
    };
    assert!(!add(&mut w, 5), "nsid 5 is above max_namespaces 4");
    assert!(add(&mut w, 4));
    assert_eq!(nn_of(&mut w, a), 4, "NN does not follow the namespaces");
    let (_, cqe) = w.exec(a, &pdu::identify(41, 3, 5));
    assert_eq!(cqe.status, status::INVALID_NAMESPACE, "CNS 03h past NN");
    w.shutdown_and_check();
}
