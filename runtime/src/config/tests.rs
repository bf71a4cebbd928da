//! Unit tests of `config` (they use its private items).

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
busy_poll_us = 7
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
    assert_eq!(c.limits.busy_poll_us, 7);
    let no_limits = RuntimeConfig::from_toml(&SAMPLE.replace("busy_poll_us = 7\n", "")).unwrap();
    assert_eq!(no_limits.limits.busy_poll_us, DEFAULT_BUSY_POLL_US);
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
fn the_default_listener_is_default_listen() {
    let c = RuntimeConfig::default_with(&[]).unwrap();
    assert_eq!(c.target.listeners, vec![DEFAULT_LISTEN.parse().unwrap()]);
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
    let c = RuntimeConfig::from_toml(include_str!("../../fabcheck-target.example.toml")).unwrap();
    assert_eq!(c.target.subsystems.len(), 2);
    assert!(c.target.subsystems[0].allow_any_host);
    assert!(!c.target.subsystems[1].allow_any_host);
    assert_eq!(c.target.subsystems[1].namespaces[0].block_size, 4096);
    assert_eq!(c.target.listeners.len(), 2);
}

#[test]
fn default_config_serves_cnode1_with_64_mib() {
    let c = RuntimeConfig::default_with(&[]).unwrap();
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

#[test]
fn namespace_ids_come_from_the_section_or_the_bdev_uuid() {
    let text = r#"
[[bdev]]
name = "M0"
num_blocks = 8
uuid = "11111111-2222-3333-4444-555555555555"
[[bdev]]
name = "M1"
num_blocks = 8
[[subsystem]]
nqn = "nqn.2016-06.io.spdk:cnode1"
namespaces = [
  { bdev_name = "M0" },
  { bdev_name = "M1", nguid = "000102030405060708090A0B0C0D0E0F", eui64 = "0011223344556677", uuid = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee" },
]
"#;
    let c = RuntimeConfig::from_toml(text).unwrap();
    assert!(c.target.discovery, "the discovery subsystem is served");
    let ids = &c.target.namespace_ids;
    assert_eq!(ids.len(), 2);
    let bdev0 = crate::bdev::parse_uuid("11111111-2222-3333-4444-555555555555").unwrap();
    assert_eq!(
        (ids[0].nsid, ids[0].ids.uuid, ids[0].ids.nguid),
        (1, bdev0, bdev0)
    );
    assert_eq!(ids[0].ids.eui64, [0; 8], "no EUI64 unless given");
    assert_eq!(ids[1].ids.nguid[15], 0x0F);
    assert_eq!(
        ids[1].ids.eui64,
        [0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77]
    );
    assert_eq!(ids[1].ids.uuid[0], 0xaa);
    let again = RuntimeConfig::from_toml(text).unwrap();
    assert_eq!(again.target.namespace_ids, c.target.namespace_ids, "stable");
    let bad = text.replace("0011223344556677", "00112233");
    assert!(matches!(
        RuntimeConfig::from_toml(&bad),
        Err(ConfigError::BadNsId { field: "eui64", .. })
    ));
    let a = RuntimeConfig::default_with(&[])
        .unwrap()
        .target
        .namespace_ids;
    let b = RuntimeConfig::default_with(&[])
        .unwrap()
        .target
        .namespace_ids;
    assert_ne!(a[0].ids.uuid, b[0].ids.uuid, "two instances differ");
}
