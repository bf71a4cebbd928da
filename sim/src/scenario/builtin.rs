//! The built-in scenarios, kept as TOML files in `sim/scenarios/` so they double as examples.

use super::Scenario;

const BUILTINS: &[(&str, &str)] = &[
    ("seed-3302", include_str!("../../scenarios/seed-3302.toml")),
    (
        "seed-3302-ctrlr-add-fail",
        include_str!("../../scenarios/seed-3302-ctrlr-add-fail.toml"),
    ),
    ("churn", include_str!("../../scenarios/churn.toml")),
    ("rude-host", include_str!("../../scenarios/rude-host.toml")),
    (
        "ka-lapse-reconnect",
        include_str!("../../scenarios/ka-lapse-reconnect.toml"),
    ),
    (
        "admin-loss",
        include_str!("../../scenarios/admin-loss.toml"),
    ),
    (
        "reset-under-io",
        include_str!("../../scenarios/reset-under-io.toml"),
    ),
    (
        "listener-churn",
        include_str!("../../scenarios/listener-churn.toml"),
    ),
    (
        "long-pause",
        include_str!("../../scenarios/long-pause.toml"),
    ),
    (
        "monitoring",
        include_str!("../../scenarios/monitoring.toml"),
    ),
    (
        "subsystem-delete-under-connect",
        include_str!("../../scenarios/subsystem-delete-under-connect.toml"),
    ),
    (
        "listener-lifetime",
        include_str!("../../scenarios/listener-lifetime.toml"),
    ),
    ("peer-life", include_str!("../../scenarios/peer-life.toml")),
    ("cc-race", include_str!("../../scenarios/cc-race.toml")),
    (
        "random-peers",
        include_str!("../../scenarios/random-peers.toml"),
    ),
    (
        "operator-sequences",
        include_str!("../../scenarios/operator-sequences.toml"),
    ),
    ("aen-storm", include_str!("../../scenarios/aen-storm.toml")),
    (
        "shutdown-under-load",
        include_str!("../../scenarios/shutdown-under-load.toml"),
    ),
    (
        "namespace-churn",
        include_str!("../../scenarios/namespace-churn.toml"),
    ),
    (
        "subsystem-recreate",
        include_str!("../../scenarios/subsystem-recreate.toml"),
    ),
    (
        "teardown-race",
        include_str!("../../scenarios/teardown-race.toml"),
    ),
    (
        "qpair-teardown",
        include_str!("../../scenarios/qpair-teardown.toml"),
    ),
    (
        "buffer-starved-teardown",
        include_str!("../../scenarios/buffer-starved-teardown.toml"),
    ),
    (
        "queue-full-teardown",
        include_str!("../../scenarios/queue-full-teardown.toml"),
    ),
    (
        "host-removal-under-teardown",
        include_str!("../../scenarios/host-removal-under-teardown.toml"),
    ),
];

/// Names of the built-in scenarios.
pub fn builtin_names() -> Vec<&'static str> {
    BUILTINS.iter().map(|(n, _)| *n).collect()
}

/// A built-in scenario by name.
pub fn builtin(name: &str) -> Option<Scenario> {
    let (_, text) = BUILTINS.iter().find(|(n, _)| *n == name)?;
    let s = Scenario::from_toml_str(text, name)
        .unwrap_or_else(|e| panic!("built-in scenario {name} is broken: {e}"));
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{OperatorRpc, ScenarioError};

    #[test]
    fn every_builtin_parses_validates_and_round_trips_through_json_and_toml() {
        for name in builtin_names() {
            let s = builtin(name).unwrap();
            assert_eq!(s.name, name);
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(Scenario::from_json_str(&json, "x.json").unwrap(), s);
            let toml = toml::to_string(&s).unwrap();
            assert_eq!(Scenario::from_toml_str(&toml, "x.toml").unwrap(), s);
            assert!(!s.required_marks.is_empty(), "{name} declares no coverage");
        }
    }

    #[test]
    fn seed_3302_is_the_embedder_stop_listen_story() {
        let s = builtin("seed-3302").unwrap();
        assert_eq!(s.spdk, fabcheck_core::nvmf::Spdk::V24_01);
        assert!(
            s.bugs.is_empty(),
            "built-ins run the fixed core unless --bug is given"
        );
        assert!(s
            .operator
            .iter()
            .any(|a| matches!(&a.rpc, OperatorRpc::Pause { .. })));
        assert!(s
            .operator
            .iter()
            .any(|a| matches!(&a.rpc, OperatorRpc::StopListen { nqn: None, .. })));
        for m in [
            "connect_parked_while_pausing",
            "stop_listen_met_qpair_without_ctrlr",
        ] {
            assert!(s.required_marks.iter().any(|r| r == m));
        }
        let cfg = s.target_config();
        assert_eq!(cfg.subsystems.len(), 1);
        assert_eq!(cfg.listeners.len(), 1);
    }

    #[test]
    fn ctrlr_add_fail_has_a_cntlid_range_of_one() {
        let s = builtin("seed-3302-ctrlr-add-fail").unwrap();
        let sub = &s.subsystems[0];
        assert_eq!(sub.min_cntlid, sub.max_cntlid);
        assert!(s.hosts.len() >= 2);
    }

    #[test]
    fn bad_scenarios_are_rejected_with_a_reason() {
        let base = builtin("seed-3302").unwrap();
        let mut s = base.clone();
        s.operator[0].rpc = OperatorRpc::Resume { nqn: "nope".into() };
        let e = s.validate().unwrap_err().to_string();
        assert!(e.contains("unknown subsystem 'nope'"), "{e}");
        let mut s = base.clone();
        s.required_marks.push("no_such_mark".into());
        assert!(s
            .validate()
            .unwrap_err()
            .to_string()
            .contains("no_such_mark"));
        let mut s = base.clone();
        s.bugs.push("spdk-1".into());
        assert_eq!(
            s.validate(),
            Err(ScenarioError::UnknownBug("spdk-1".into()))
        );
        let mut s = base.clone();
        s.hosts[0].listener = "nocolon".into();
        assert!(s.validate().is_err());
        let mut s = base;
        s.operator[0].after = Some(0);
        assert!(s.validate().is_err());
        assert!(matches!(
            Scenario::from_toml_str("name = 1", "f.toml"),
            Err(ScenarioError::Parse { .. })
        ));
        assert!(matches!(
            Scenario::resolve("no-such-builtin"),
            Err(ScenarioError::Unknown(_))
        ));
        assert!(matches!(
            Scenario::resolve("/nonexistent/x.toml"),
            Err(ScenarioError::Read { .. })
        ));
    }

    #[test]
    fn keys_name_the_scenario_and_its_switches() {
        let s = builtin("seed-3302")
            .unwrap()
            .with_bugs(&["spdk-3302".into()])
            .unwrap();
        assert_eq!(s.key(), "seed-3302@v24.01+spdk-3302");
        assert_eq!(Scenario::from_key(&s.key(), None).unwrap(), s);
        assert_eq!(
            Scenario::from_key("seed-3302+spdk-3302", None).unwrap(),
            s,
            "keys from before profiles run the scenario's own profile"
        );
        assert_eq!(
            Scenario::from_key("churn", None).unwrap().key(),
            "churn@master"
        );
        let v24 = Scenario::from_key("churn@v24.01", None).unwrap();
        assert_eq!(v24.spdk, fabcheck_core::nvmf::Spdk::V24_01);
        assert_eq!(v24.key(), "churn@v24.01");
        let v26 = Scenario::from_key("churn@v26.05", None).unwrap();
        assert_eq!(v26.spdk, fabcheck_core::nvmf::Spdk::V26_05);
        assert_eq!(
            Scenario::from_key("churn@v26.06", None),
            Err(ScenarioError::UnknownSpdk("v26.06".into()))
        );
        assert_eq!(
            Scenario::from_key("churn+spdk-9", None),
            Err(ScenarioError::UnknownBug("spdk-9".into()))
        );
        assert_eq!(
            Scenario::from_key("mine", None),
            Err(ScenarioError::Unknown("mine".into()))
        );
        let mut mine = builtin("churn").unwrap();
        mine.name = "mine".into();
        assert_eq!(Scenario::from_key("mine", Some(&mine)).unwrap(), mine);
    }

    #[test]
    fn bugs_are_added_by_name() {
        let s = builtin("seed-3302").unwrap();
        let on = s.clone().with_bugs(&["spdk-3302".into()]).unwrap();
        assert_eq!(on.bug_set().0.len(), 1);
        assert!(on.fixed().bug_set().0.is_empty());
        assert_eq!(
            s.with_bugs(&["bogus".into()]),
            Err(ScenarioError::UnknownBug("bogus".into()))
        );
    }
}
